"""Batch subscribe / unsubscribe: ``POST /3.0/lists/{list_id}``.

Two layers of refusal, as Mailchimp has them: a body its schema rejects (not
an array of members, more than 500, a status value outside the enum, the
empty string included) is a 400 for the whole request; everything about one
member (no status at all, a bad address, an existing member without
``update_existing``, a compliance state, a merge value outside a dropdown's
choices, the same address twice) is that member's entry in the 200 body's
``errors`` with its ``error_code``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.mc_rules import WRITABLE_STATUSES, McError, invalid, status_problems
from sandbox.pipeline import BadRequest, mailchimp_error
from sandbox.records import McMember
from sandbox.store import SandboxStore

BATCH_MAX = 500


def _members(body: Any) -> list[dict[str, Any]]:
    """The body's members, or the request-level refusal."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    members = body.get("members")
    if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
        raise BadRequest("members must be an array of objects.")
    if len(members) > BATCH_MAX:
        raise BadRequest(f"You may only submit up to {BATCH_MAX} members per request.")
    return members


def _schema_problems(members: list[dict[str, Any]]) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    for index, item in enumerate(members):
        problems += status_problems(
            item, ("status", "status_if_new"), WRITABLE_STATUSES, prefix=f"members.item:{index}."
        )
    return problems


def _entry(item: dict[str, Any], exc: McError) -> dict[str, Any]:
    first = exc.errors[0] if exc.errors else {}
    compliance = exc.title == "Member In Compliance State"
    error = f"{exc.title}: {exc.detail}" if compliance else exc.detail
    return {
        "email_address": str(item.get("email_address") or ""),
        "error": error,
        "error_code": exc.code,
        "field": first.get("field", ""),
        "field_message": first.get("message", ""),
    }


def _duplicate(email: str) -> McError:
    return McError(
        400,
        "Invalid Resource",
        f"{email} appears more than once in this request.",
        [{"field": "email_address", "message": "Duplicate email address in the request."}],
    )


def batch_subscribe(request: Request, store: SandboxStore, payload: Any) -> Response:
    list_id = request.path_params["list_id"]
    if list_id != store.config.list_id:
        return mailchimp_error(
            404, "Resource Not Found", "The requested resource could not be found."
        )
    members = _members(payload)
    problems = _schema_problems(members)
    if problems:
        exc = invalid(problems)
        return mailchimp_error(exc.status, exc.title, exc.detail, errors=exc.errors)
    update_existing = payload.get("update_existing") is True
    skip_duplicates = request.query_params.get("skip_duplicate_check", "").lower() == "true"
    created: list[McMember] = []
    updated: list[McMember] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    with store.lock:
        for item in members:
            email = str(item.get("email_address") or "").strip().lower()
            try:
                if email and email in seen:
                    if skip_duplicates:
                        continue  # "the status of the first appearance is saved"
                    raise _duplicate(email)
                seen.add(email)
                is_new, member = store.mailchimp.subscribe_one(item, update_existing)
            except McError as exc:
                errors.append(_entry(item, exc))
                continue
            # The same member body sent again counts as a duplicate write (see Stats).
            body = json.dumps([item, update_existing], sort_keys=True, default=str)
            store.stats.record_write("mailchimp", member.id, body)
            (created if is_new else updated).append(member)
        tags = store.mailchimp.fields.tags
        render = [
            [m.to_json(list_id, store.mailchimp.tag_ids, tags) for m in group]
            for group in (created, updated)
        ]
    return JSONResponse(
        {
            "new_members": render[0],
            "updated_members": render[1],
            "errors": errors,
            "total_created": len(created),
            "total_updated": len(updated),
            "error_count": len(errors),
        }
    )
