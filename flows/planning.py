"""Turning canonical contacts into planned writes, and keeping shadows."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from flows.context import SyncContext
from mapping.plan import UNREAD, plan_fields
from state import repository as repo
from state.models import OutboxRow
from state.working_set import WorkingSet

# Marks a planned create in the outbox payload; never sent.
CREATE = "_create"


def plan_contacts(
    ctx: SyncContext, work: WorkingSet, contact_ids: Iterable[int]
) -> list[OutboxRow]:
    """Put the writes that bring every system up to each contact into the outbox."""
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
            shadow = link.shadow if link is not None else None
            payload: dict[str, Any] = dict(plan_fields(ctx.config, system, state, shadow))
            if link is None:
                payload.setdefault(CREATE, True)  # a record to create, even with no fields
            planned.append(
                repo.PlannedWrite(
                    system=system,
                    contact_id=contact_id,
                    email=address_in(ctx, system, contact.email, shadow),
                    external_id=link.external_id if link is not None else None,
                    payload=payload,
                )
            )
    return repo.replace_pending_writes(work.session, planned, ctx.run_id)


def address_in(ctx: SyncContext, system: str, email: str, shadow: Mapping[str, Any] | None) -> str:
    """The address a system knows the record by: after an email change in one
    system, the other still files the record under the old one."""
    if shadow is None:
        return email
    known = shadow.get(ctx.config.identity_binding(system).field)
    return str(known).strip() if known else email


def shadow_of(
    ctx: SyncContext,
    system: str,
    fields: Mapping[str, Any],
    base: Mapping[str, Any] | None = None,
    unread: Collection[str] | None = None,
) -> dict[str, Any]:
    """The mapped vendor fields of a record, over the previous shadow.

    `unread` names fields Baton could not read from this copy (None: keep the
    previous list). They stay out of the shadow, so they count as a change
    once the mapping can read them, and are listed under `UNREAD` so that no
    write overwrites a value Baton has not seen.
    """
    if unread is None:
        unread = list((base or {}).get(UNREAD, ()))
    wanted = [k for k in ctx.config.vendor_fields(system) if k not in unread]
    shadow = {k: v for k, v in (base or {}).items() if k in wanted}
    shadow.update({k: fields[k] for k in wanted if k in fields})
    if unread:
        shadow[UNREAD] = sorted(unread)
    return shadow
