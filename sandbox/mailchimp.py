"""Mailchimp-style Marketing API routes under ``/3.0``: ping, members, batch subscribe,
merge fields and tags."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.mc_batch import batch_subscribe
from sandbox.mc_fields import MergeFieldRefused
from sandbox.mc_state import McError
from sandbox.pipeline import BadRequest, mailchimp_error, mailchimp_route
from sandbox.records import McMember
from sandbox.store import SandboxStore
from sandbox.timefmt import parse_iso

LIST = "/3.0/lists/{list_id}"
MEMBER = LIST + "/members/{subscriber_hash}"
COUNT_MAX = 1000
SORT_FIELDS = frozenset({"timestamp_opt", "timestamp_signup", "last_changed"})


def _error(exc: McError) -> JSONResponse:
    return mailchimp_error(exc.status, exc.title, exc.detail, errors=exc.errors or None)


def _list_missing(request: Request, store: SandboxStore) -> JSONResponse | None:
    if request.path_params["list_id"] != store.config.list_id:
        return mailchimp_error(
            404, "Resource Not Found", "The requested resource could not be found."
        )
    return None


def _member_missing() -> JSONResponse:
    return mailchimp_error(404, "Resource Not Found", "The requested resource could not be found.")


def _render(store: SandboxStore, member: McMember) -> dict[str, Any]:
    return member.to_json(
        store.config.list_id, store.mailchimp.tag_ids, store.mailchimp.fields.tags
    )


def _body(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadRequest("The request body must be a JSON object.")
    return raw


# -- fields / exclude_fields ---------------------------------------------------
def _split(raw: str | None) -> list[list[str]]:
    return [part.strip().split(".") for part in (raw or "").split(",") if part.strip()]


def _include(value: Any, paths: list[list[str]]) -> Any:
    if any(len(p) == 0 for p in paths):
        return value
    if isinstance(value, list):
        return [_include(v, paths) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        subs = [p[1:] for p in paths if p and p[0] == key]
        if subs:
            out[key] = _include(item, subs)
    return out


def _exclude(value: Any, paths: list[list[str]]) -> Any:
    if isinstance(value, list):
        return [_exclude(v, paths) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        subs = [p[1:] for p in paths if p and p[0] == key]
        if any(len(s) == 0 for s in subs):
            continue
        out[key] = _exclude(item, subs) if subs else item
    return out


def trim_fields(body: dict[str, Any], fields: str | None, exclude: str | None) -> Any:
    """Apply Mailchimp's ``fields`` / ``exclude_fields`` dot-path trimming."""
    if fields:
        return _include(body, _split(fields))
    if exclude:
        return _exclude(body, _split(exclude))
    return body


# -- handlers ------------------------------------------------------------------
def ping(request: Request, store: SandboxStore, payload: Any) -> Response:
    return JSONResponse({"health_status": "Everything's Chimpy!"})


def _int(raw: str | None, default: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer.") from exc


def _when(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an ISO 8601 date-time.") from exc


def list_members(request: Request, store: SandboxStore, payload: Any) -> Response:
    missing = _list_missing(request, store)
    if missing is not None:
        return missing
    q = request.query_params
    count = _int(q.get("count"), 10, "count")
    offset = _int(q.get("offset"), 0, "offset")
    if count < 0 or count > COUNT_MAX:
        raise BadRequest(f"count must be between 0 and {COUNT_MAX}.")
    if offset < 0:
        raise BadRequest("offset must not be negative.")
    sort_field = q.get("sort_field")
    if sort_field and sort_field not in SORT_FIELDS:
        raise BadRequest(f"sort_field must be one of {', '.join(sorted(SORT_FIELDS))}.")
    if q.get("fields") and q.get("exclude_fields"):
        raise BadRequest("fields and exclude_fields are mutually exclusive.")
    with store.lock:
        matches = store.mailchimp.query(
            q.get("status") or None,
            _when(q.get("since_last_changed"), "since_last_changed"),
            _when(q.get("before_last_changed"), "before_last_changed"),
            sort_field,
            q.get("sort_dir", "ASC").upper() == "DESC",
        )
        page = [_render(store, m) for m in matches[offset : offset + count]]
        body = {"members": page, "list_id": store.config.list_id, "total_items": len(matches)}
    return JSONResponse(trim_fields(body, q.get("fields"), q.get("exclude_fields")))


def get_member(request: Request, store: SandboxStore, payload: Any) -> Response:
    missing = _list_missing(request, store)
    if missing is not None:
        return missing
    with store.lock:
        member = store.mailchimp.get(request.path_params["subscriber_hash"])
        if member is None:
            return _member_missing()
        body = _render(store, member)
    q = request.query_params
    return JSONResponse(trim_fields(body, q.get("fields"), q.get("exclude_fields")))


def create_member(request: Request, store: SandboxStore, payload: Any) -> Response:
    missing = _list_missing(request, store)
    if missing is not None:
        return missing
    body = _body(payload)
    with store.lock:
        existing = store.mailchimp.get(str(body.get("email_address") or "x"))
        if existing is not None and existing.status != "archived":
            return mailchimp_error(
                400,
                "Member Exists",
                f"{existing.email} is already a list member. Use PUT to insert or update "
                "list members.",
            )
        try:
            member = store.mailchimp.add(body)
        except McError as exc:
            return _error(exc)
        store.stats.record_write("mailchimp", member.id)
        return JSONResponse(_render(store, member))


def put_member(request: Request, store: SandboxStore, payload: Any) -> Response:
    missing = _list_missing(request, store)
    if missing is not None:
        return missing
    body = _body(payload)
    with store.lock:
        try:
            member, _ = store.mailchimp.upsert(request.path_params["subscriber_hash"], body)
        except McError as exc:
            return _error(exc)
        store.stats.record_write("mailchimp", member.id)
        return JSONResponse(_render(store, member))


def patch_member(request: Request, store: SandboxStore, payload: Any) -> Response:
    missing = _list_missing(request, store)
    if missing is not None:
        return missing
    body = _body(payload)
    with store.lock:
        member = store.mailchimp.get(request.path_params["subscriber_hash"])
        if member is None:
            return _member_missing()
        try:
            store.mailchimp.patch(member, body)
        except McError as exc:
            return _error(exc)
        store.stats.record_write("mailchimp", member.id)
        return JSONResponse(_render(store, member))


def delete_member(request: Request, store: SandboxStore, payload: Any) -> Response:
    missing = _list_missing(request, store)
    if missing is not None:
        return missing
    with store.lock:
        member = store.mailchimp.get(request.path_params["subscriber_hash"])
        if member is None or member.status == "archived":
            return _member_missing()
        store.mailchimp.archive(member)
        store.stats.record_write("mailchimp", member.id)
    return Response(status_code=204)


def list_merge_fields(request: Request, store: SandboxStore, payload: Any) -> Response:
    missing = _list_missing(request, store)
    if missing is not None:
        return missing
    q = request.query_params
    count = _int(q.get("count"), 10, "count")
    offset = _int(q.get("offset"), 0, "offset")
    if count < 0 or count > COUNT_MAX:
        raise BadRequest(f"count must be between 0 and {COUNT_MAX}.")
    if offset < 0:
        raise BadRequest("offset must not be negative.")
    if q.get("fields") and q.get("exclude_fields"):
        raise BadRequest("fields and exclude_fields are mutually exclusive.")
    list_id = store.config.list_id
    with store.lock:
        every = list(store.mailchimp.fields.fields.values())
        fields = [f.to_json(list_id) for f in every[offset : offset + count]]
    body = {"merge_fields": fields, "list_id": list_id, "total_items": len(every)}
    return JSONResponse(trim_fields(body, q.get("fields"), q.get("exclude_fields")))


def get_merge_field(request: Request, store: SandboxStore, payload: Any) -> Response:
    missing = _list_missing(request, store)
    if missing is not None:
        return missing
    with store.lock:
        field = store.mailchimp.fields.by_id(request.path_params["merge_id"])
        if field is None:
            return _member_missing()
        return JSONResponse(field.to_json(store.config.list_id))


def _refused(exc: MergeFieldRefused) -> JSONResponse:
    return mailchimp_error(
        exc.status,
        "Invalid Resource",
        exc.detail,
        errors=[{"field": exc.field, "message": exc.detail}] if exc.field else None,
    )


def create_merge_field(request: Request, store: SandboxStore, payload: Any) -> Response:
    missing = _list_missing(request, store)
    if missing is not None:
        return missing
    body = _body(payload)
    with store.lock:
        try:
            field = store.mailchimp.fields.create(body)
        except MergeFieldRefused as exc:
            return _refused(exc)
        return JSONResponse(field.to_json(store.config.list_id))


def patch_merge_field(request: Request, store: SandboxStore, payload: Any) -> Response:
    missing = _list_missing(request, store)
    if missing is not None:
        return missing
    body = _body(payload)
    with store.lock:
        field = store.mailchimp.fields.by_id(request.path_params["merge_id"])
        if field is None:
            return _member_missing()
        try:
            field = store.mailchimp.fields.update(field, body)
        except MergeFieldRefused as exc:
            return _refused(exc)
        return JSONResponse(field.to_json(store.config.list_id))


def get_tags(request: Request, store: SandboxStore, payload: Any) -> Response:
    missing = _list_missing(request, store)
    if missing is not None:
        return missing
    with store.lock:
        member = store.mailchimp.get(request.path_params["subscriber_hash"])
        if member is None:
            return _member_missing()
        tags = [{"id": store.mailchimp.tag_id(t), "name": t, "date_added": ""} for t in member.tags]
    return JSONResponse({"tags": tags, "total_items": len(tags)})


def post_tags(request: Request, store: SandboxStore, payload: Any) -> Response:
    missing = _list_missing(request, store)
    if missing is not None:
        return missing
    body = _body(payload)
    tags = body.get("tags")
    if not isinstance(tags, list) or not all(isinstance(t, dict) for t in tags):
        raise BadRequest("tags must be an array of {name, status} objects.")
    with store.lock:
        member = store.mailchimp.get(request.path_params["subscriber_hash"])
        if member is None:
            return _member_missing()
        if store.mailchimp.set_tags(member, tags):
            store.stats.record_write("mailchimp", member.id)
    return Response(status_code=204)


def routes() -> list[Route]:
    """All Mailchimp routes (fixed segments before parameterised ones)."""
    w: Callable[..., Route] = mailchimp_route
    return [
        w("GET", "/3.0/ping", ping),
        w("POST", LIST, batch_subscribe, write=True),
        w("GET", LIST + "/members", list_members),
        w("POST", LIST + "/members", create_member, write=True),
        w("GET", LIST + "/merge-fields", list_merge_fields),
        w("POST", LIST + "/merge-fields", create_merge_field, write=True),
        w("GET", LIST + "/merge-fields/{merge_id}", get_merge_field),
        w("PATCH", LIST + "/merge-fields/{merge_id}", patch_merge_field, write=True),
        w("GET", MEMBER + "/tags", get_tags),
        w("POST", MEMBER + "/tags", post_tags, write=True),
        w("GET", MEMBER, get_member),
        w("PUT", MEMBER, put_member, write=True),
        w("PATCH", MEMBER, patch_member, write=True),
        w("DELETE", MEMBER, delete_member, write=True),
    ]
