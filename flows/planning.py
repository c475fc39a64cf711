"""Turning canonical contacts into planned writes, and keeping shadows."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from flows.context import SyncContext
from mapping.config import MappingConfig
from mapping.identity import address_change
from mapping.plan import plan_fields
from state import repository as repo
from state.working_set import WorkingSet


def plan_contacts(
    ctx: SyncContext, work: WorkingSet, contact_ids: Iterable[int]
) -> list[repo.PlannedWrite]:
    """Put the writes that bring every system up to each contact into the outbox;
    returns those writes.

    A contact with no record in a system plans a create there (even with no
    fields), if the mapping lets Baton write the identity there.
    """
    planned: list[repo.PlannedWrite] = []
    for contact_id in sorted(contact_ids):
        contact = work.contact(contact_id)
        if contact is None:
            continue
        state = repo.contact_state(contact)
        for system in ctx.systems:
            link = work.link_of(system, contact_id)
            if link is None and not ctx.config.identity_binding(system).pushes:
                continue
            if link is None and work.retired_of(system, contact_id) is not None:
                continue  # its record there was merged, unlinked or archived: none is re-created
            shadow = link.shadow if link is not None else None
            rules = ctx.connectors[system].rules
            payload = plan_fields(
                ctx.config,
                system,
                state,
                shadow,
                unread=link.unread if link is not None else (),
                rules=rules,
            )
            identity = ctx.config.identity_binding(system)
            moved = address_change(identity.field, contact.email, shadow, rules)
            if moved is not None and identity.pushes:
                # The address changed in another system: this one's record follows.
                payload[identity.field] = moved
            planned.append(
                repo.PlannedWrite(
                    system=system,
                    contact_id=contact_id,
                    email=address_in(ctx, system, contact.email, shadow),
                    external_id=link.external_id if link is not None else None,
                    payload=payload,
                )
            )
    repo.replace_pending_writes(work.session, planned, ctx.run_id)
    return [p for p in planned if p.payload or p.creates]


def address_in(ctx: SyncContext, system: str, email: str, shadow: Mapping[str, Any] | None) -> str:
    """The address a system knows the record by: after an email change in one
    system, the other still files the record under the old one."""
    if shadow is None:
        return email
    known = shadow.get(ctx.config.identity_binding(system).field)
    return str(known).strip() if known else email


def shadow_of(
    config: MappingConfig,
    system: str,
    fields: Mapping[str, Any],
    base: Mapping[str, Any] | None = None,
    unread: Collection[str] = (),
) -> dict[str, Any]:
    """The mapped vendor fields of a record, over the previous shadow.

    Fields in `unread` (Baton could not read them from this copy) stay out of
    the shadow, so they count as a change once the mapping can read them.
    """
    wanted = [k for k in config.vendor_fields(system) if k not in unread]
    shadow = {k: v for k, v in (base or {}).items() if k in wanted}
    shadow.update({k: fields[k] for k in wanted if k in fields})
    return shadow
