"""Batch-subscribe member bodies that follow Mailchimp's status rules.

Mailchimp refuses a batch-subscribe member that carries neither ``status``
nor ``status_if_new`` (updates of existing members included) and refuses an
empty ``status`` outright. ``status_if_new`` only matters when the address is
new to the audience, so it is on every member; ``status`` changes an existing
member's subscription, so it goes out only for an actual withdrawal. Nothing
else may move a member's status: resubscribing is the person's own act.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.contract import FieldValue, unflatten

# A member this connector has to create without being told a status: no
# marketing permission the person never gave (transactional mail only).
STATUS_IF_NEW_DEFAULT = "transactional"
WITHDRAWALS = frozenset({"unsubscribed"})


class StatusRefused(ValueError):
    """A write that would change an existing member's status other than by withdrawal."""


def member_body(email: str, fields: Mapping[str, FieldValue], *, existing: bool) -> dict[str, Any]:
    """The batch-subscribe entry for one write; raises `StatusRefused`."""
    body = unflatten(fields)
    status = _status(body, existing=existing)
    body["email_address"] = email
    body["status_if_new"] = status or STATUS_IF_NEW_DEFAULT
    if existing and status is not None:
        body["status"] = status
    return body


def move_body(new_email: str, fields: Mapping[str, FieldValue]) -> dict[str, Any]:
    """The `PATCH …/members/{old hash}` body that gives a member a new address,
    with the write's other fields; raises `StatusRefused`."""
    body = unflatten(fields)
    status = _status(body, existing=True)
    body["email_address"] = new_email
    if status is not None:
        body["status"] = status
    return body


def _status(body: dict[str, Any], *, existing: bool) -> str | None:
    """Take the status out of `body`; refuse any change of an existing member's
    status other than a withdrawal."""
    raw = body.pop("status", None)
    body.pop("status_if_new", None)
    status = str(raw) if raw not in (None, "") else None
    if existing and status is not None and status not in WITHDRAWALS:
        raise StatusRefused(
            f"status {status!r}: Baton changes an existing member's status only to withdraw "
            "consent (unsubscribed); the person resubscribes themselves"
        )
    return status
