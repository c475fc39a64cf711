"""Mailchimp's member-status rules, shared by every member write the sandbox serves.

Where Mailchimp's documentation leaves a point open, the sandbox takes the
stricter reading (see docs/sandbox.md):

- ``status`` / ``status_if_new`` must be one of the values the operation's
  schema lists; an empty string or ``null`` is not one of them.
- A batch-subscribe member needs ``status`` or ``status_if_new``, updates of
  existing members included (the current OpenAPI's ``anyOf``).
- A member that unsubscribed or bounced (``unsubscribed`` / ``cleaned``) is in
  a compliance state: it may only be moved to ``pending`` (the person confirms
  by email) or to ``unsubscribed``; anything else is 400 "Member In Compliance
  State". An archived member keeps the state it was archived in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

WRITABLE_STATUSES = frozenset({"subscribed", "unsubscribed", "cleaned", "pending", "transactional"})
# PATCH's schema has no "transactional".
PATCH_STATUSES = frozenset({"subscribed", "unsubscribed", "cleaned", "pending"})
COMPLIANCE_STATUSES = frozenset({"unsubscribed", "cleaned"})
FROM_COMPLIANCE = frozenset({"pending", "unsubscribed"})
ARCHIVED = "archived"
# Members whose address may not be changed: the app lets only a contact that can
# be mailed have its address edited; the stricter reading refuses the API too.
LOCKED_ADDRESS_STATUSES = frozenset({"unsubscribed", "cleaned", ARCHIVED})
NOT_VALIDATED = (
    "The resource submitted could not be validated. For field-specific details, "
    "see the 'errors' array."
)


@dataclass
class McError(Exception):
    """A refused member write, rendered as problem+json (or a batch ``errors`` entry)."""

    status: int
    title: str
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)
    code: str = "ERROR_GENERIC"


def invalid(errors: list[dict[str, str]]) -> McError:
    return McError(400, "Invalid Resource", NOT_VALIDATED, errors)


def blank(key: str) -> McError:
    return invalid([{"field": key, "message": "This value should not be blank."}])


def not_accepted(key: str, allowed: Collection[str]) -> dict[str, str]:
    return {
        "field": key,
        "message": "Data presented is not one of the accepted values: "
        + ", ".join(sorted(allowed))
        + ".",
    }


def status_problems(
    body: Mapping[str, Any], keys: Iterable[str], allowed: Collection[str], prefix: str = ""
) -> list[dict[str, str]]:
    """One error per status key present in `body` whose value the schema does not list."""
    return [
        not_accepted(prefix + key, allowed)
        for key in keys
        if key in body and body[key] not in allowed
    ]


def check_statuses(body: Mapping[str, Any], keys: Iterable[str], allowed: Collection[str]) -> None:
    problems = status_problems(body, keys, allowed)
    if problems:
        raise invalid(problems)


def standing(status: str, archived_from: str) -> str:
    """The status that compliance rules see: an archived member's status before archiving."""
    return archived_from if status == ARCHIVED and archived_from else status


def check_transition(email: str, current: str, new: str) -> None:
    """Refuse moving a member out of a compliance state other than to re-confirmation."""
    if current in COMPLIANCE_STATUSES and new != current and new not in FROM_COMPLIANCE:
        raise McError(
            400,
            "Member In Compliance State",
            f"{email} is already a list member in compliance state due to unsubscribe, "
            "bounce, or compliance review and cannot be subscribed.",
        )
