"""HubSpot-style CRM routes: contacts (single, list, search, batch), properties, owners."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.hs_schema import SchemaRefusal, group_json
from sandbox.hs_search import SearchError, parse_request
from sandbox.hs_state import WriteFailure, email_key
from sandbox.pipeline import BadRequest, hubspot_error, hubspot_route, read_json
from sandbox.records import HubContact
from sandbox.store import SandboxStore
from sandbox.timefmt import hubspot_iso, utcnow

BASE = "/crm/v3/objects/contacts"
LIST_MAX = 100
# A list page that asks for property history is smaller (the SDK's PROPERTY_HISTORY_MAX_SIZE);
# a larger limit is refused rather than silently cut (stricter reading).
HISTORY_LIST_MAX = 50
SEARCH_MAX = 200
SEARCH_WINDOW = 10_000
BATCH_MAX = 100


def _int_param(raw: str | None, default: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from exc


def _bool_param(raw: str | None, name: str) -> bool:
    """``true``/``false`` in any case (the Python SDK sends ``True``); anything else is refused
    (the stricter reading: HubSpot does not document what it makes of other values)."""
    value = (raw or "false").lower()
    if value not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false, got {raw!r}")
    return value == "true"


def _requested(values: list[str]) -> list[str]:
    """Requested property names: HubSpot takes a comma-separated list, the parameter repeated
    (``properties=a&properties=b``, as the official SDKs send it), or both."""
    return [p.strip() for raw in values for p in raw.split(",") if p.strip()]


def _failure_response(failure: WriteFailure) -> JSONResponse:
    return hubspot_error(
        failure.status,
        failure.message,
        failure.category,
        errors=[e.to_json() for e in failure.errors] or None,
    )


def _fingerprint(item: dict[str, Any]) -> str:
    """Names one write for the duplicate count: its trace id, else its body as sent."""
    trace = item.get("objectWriteTraceId")
    if trace is not None:
        return f"trace:{trace}"
    return json.dumps(item, sort_keys=True, default=str)


def _not_found(ident: str) -> JSONResponse:
    return hubspot_error(
        404, f"Object not found.  objectId are usually numeric. {ident}", "OBJECT_NOT_FOUND"
    )


# -- list / single ---------------------------------------------------------
async def list_contacts(request: Request, store: SandboxStore) -> Response:
    q = request.query_params
    limit = _int_param(q.get("limit"), 10, "limit")
    if limit < 1 or limit > LIST_MAX:
        raise BadRequest(f"limit must be between 1 and {LIST_MAX}")
    after = _int_param(q.get("after"), 0, "after")
    archived = _bool_param(q.get("archived"), "archived")
    props = _requested(q.getlist("properties"))
    history = _requested(q.getlist("propertiesWithHistory"))
    if history and limit > HISTORY_LIST_MAX:
        raise BadRequest(
            f"limit must be at most {HISTORY_LIST_MAX} when propertiesWithHistory is requested"
        )
    with store.lock:
        page, cursor = store.hubspot.page(after, limit, archived)
        results = [c.to_json(props, history) for c in page]
    body: dict[str, Any] = {"results": results}
    if cursor is not None:
        link = f"{request.base_url}crm/v3/objects/contacts?after={cursor}&limit={limit}"
        body["paging"] = {"next": {"after": str(cursor), "link": link}}
    return JSONResponse(body)


async def get_contact(request: Request, store: SandboxStore) -> Response:
    ident = request.path_params["contactId"]
    q = request.query_params
    with store.lock:
        contact = store.hubspot.get(ident, q.get("idProperty"))
        if contact is None:
            return _not_found(ident)
        return JSONResponse(
            contact.to_json(
                _requested(q.getlist("properties")), _requested(q.getlist("propertiesWithHistory"))
            )
        )


async def merge_contacts(request: Request, store: SandboxStore) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("body must be an object")
    ids = [str(body.get("primaryObjectId") or ""), str(body.get("objectIdToMerge") or "")]
    if not all(i.isdigit() for i in ids):
        raise BadRequest("primaryObjectId and objectIdToMerge must be contact ids")
    with store.lock:
        primary, other = (store.hubspot.get(i) for i in ids)
        for ident, contact in zip(ids, (primary, other), strict=True):
            if contact is None:
                return _not_found(ident)
        assert primary is not None and other is not None
        if primary.id == other.id:
            raise BadRequest("a contact cannot be merged with itself")
        result = store.hubspot.merge(primary, other)
        store.stats.record_write("hubspot", str(result.id))
        return JSONResponse(result.to_json(["hs_merged_object_ids", "hs_additional_emails"]))


async def patch_contact(request: Request, store: SandboxStore) -> Response:
    ident = request.path_params["contactId"]
    body = await read_json(request)
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        raise BadRequest("properties must be an object")
    with store.lock:
        contact = store.hubspot.get(ident, request.query_params.get("idProperty"))
        if contact is None:
            return _not_found(ident)
        outcome = store.hubspot.update(contact, props)
        if isinstance(outcome, WriteFailure):
            return _failure_response(outcome)
        store.stats.record_write("hubspot", str(contact.id), _fingerprint(body))
        return JSONResponse(contact.to_json(props.keys()))


async def delete_contact(request: Request, store: SandboxStore) -> Response:
    ident = request.path_params["contactId"]
    with store.lock:
        contact = store.hubspot.get(ident)
        if contact is not None:
            store.hubspot.archive(contact)
            store.stats.record_write("hubspot", str(contact.id))
    return Response(status_code=204)


async def create_contact(request: Request, store: SandboxStore) -> Response:
    body = await read_json(request)
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        raise BadRequest("properties must be an object")
    with store.lock:
        outcome = store.hubspot.create(props)
        if isinstance(outcome, WriteFailure):
            return _failure_response(outcome)
        store.stats.record_write("hubspot", str(outcome.id), _fingerprint(body))
        return JSONResponse(outcome.to_json(props.keys()), 201)


# -- search ----------------------------------------------------------------
async def search_contacts(request: Request, store: SandboxStore) -> Response:
    body = await read_json(request)
    try:
        asked = parse_request(body, SEARCH_MAX)
    except SearchError as exc:
        raise BadRequest(str(exc)) from exc
    if asked.offset >= SEARCH_WINDOW:
        raise BadRequest(
            f"The search API can page through at most {SEARCH_WINDOW} results; "
            f"after={asked.offset} is beyond the 10,000 results limit. Narrow the query "
            "(e.g. with a GTE filter on the last seen value) instead."
        )
    with store.lock:
        try:
            hits = store.hubspot.search(body)
        except SearchError as exc:
            raise BadRequest(str(exc)) from exc
        # No query answers past its first 10,000 results, whatever the page size.
        end = min(asked.offset + asked.limit, SEARCH_WINDOW, len(hits))
        results = [c.to_json(asked.properties) for c in hits[asked.offset : end]]
    out: dict[str, Any] = {"total": len(hits), "results": results}
    if end < min(len(hits), SEARCH_WINDOW):
        out["paging"] = {"next": {"after": str(end)}}
    return JSONResponse(out)


# -- batch -----------------------------------------------------------------
def _inputs(body: Any) -> list[dict[str, Any]]:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise BadRequest("inputs must be a list of objects")
    if len(inputs) > BATCH_MAX:
        raise BadRequest(
            f"Batch input limit exceeded: {len(inputs)} inputs; the maximum is {BATCH_MAX}"
        )
    return inputs


def _batch_error(failure: WriteFailure, key: str, ident: str, trace: Any) -> dict[str, Any]:
    context: dict[str, list[str]] = {key: [ident]}
    if trace is not None:
        context["objectWriteTraceId"] = [str(trace)]
    # The spec's StandardError requires errors and links, so both are always present.
    return {
        "status": "error",
        "category": failure.category,
        "message": failure.message,
        "context": context,
        "errors": [e.to_json() for e in failure.errors],
        "links": {},
    }


def _batch_response(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str, ok_status: int
) -> JSONResponse:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": hubspot_iso(utcnow()),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return JSONResponse(body, 207)
    return JSONResponse(body, ok_status)


def _result(contact: HubContact, props: Any, item: dict[str, Any]) -> dict[str, Any]:
    out = contact.to_json(props)
    if item.get("objectWriteTraceId") is not None:
        out["objectWriteTraceId"] = item["objectWriteTraceId"]
    return out


def _item_props(item: dict[str, Any]) -> dict[str, Any]:
    props = item.get("properties", {})
    if not isinstance(props, dict):
        raise BadRequest("each input needs a properties object")
    return props


async def batch_read(request: Request, store: SandboxStore) -> Response:
    body = await read_json(request)
    inputs = _inputs(body)
    props = body.get("properties") or []
    history = body.get("propertiesWithHistory") or []
    if not isinstance(props, list) or not isinstance(history, list):
        raise BadRequest("properties and propertiesWithHistory must be lists")
    id_property = body.get("idProperty")
    started = hubspot_iso(utcnow())
    results, errors = [], []
    with store.lock:
        for item in inputs:
            ident = str(item.get("id", ""))
            contact = store.hubspot.get(ident, id_property)
            if contact is None:
                errors.append(
                    _batch_error(
                        WriteFailure(
                            "OBJECT_NOT_FOUND",
                            f"Could not get some CONTACT objects, they "
                            f"may be deleted or not exist. Check that ids are valid: {ident}",
                        ),
                        "ids",
                        ident,
                        None,
                    )
                )
            else:
                results.append(contact.to_json(props, history))
    return _batch_response(results, errors, started, 200)


async def batch_create(request: Request, store: SandboxStore) -> Response:
    inputs = _inputs(await read_json(request))
    started = hubspot_iso(utcnow())
    results, errors = [], []
    with store.lock:
        for item in inputs:
            props = _item_props(item)
            outcome = store.hubspot.create(props)
            if isinstance(outcome, WriteFailure):
                errors.append(
                    _batch_error(
                        outcome,
                        "emails",
                        str(props.get("email", "")),
                        item.get("objectWriteTraceId"),
                    )
                )
            else:
                store.stats.record_write("hubspot", str(outcome.id), _fingerprint(item))
                results.append(_result(outcome, props.keys(), item))
    return _batch_response(results, errors, started, 201)


async def batch_update(request: Request, store: SandboxStore) -> Response:
    body = await read_json(request)
    inputs = _inputs(body)
    started = hubspot_iso(utcnow())
    results, errors = [], []
    with store.lock:
        for item in inputs:
            ident = str(item.get("id", ""))
            props = _item_props(item)
            trace = item.get("objectWriteTraceId")
            contact = store.hubspot.get(ident, item.get("idProperty") or body.get("idProperty"))
            if contact is None:
                errors.append(
                    _batch_error(
                        WriteFailure("OBJECT_NOT_FOUND", f"Object not found: {ident}"),
                        "ids",
                        ident,
                        trace,
                    )
                )
                continue
            outcome = store.hubspot.update(contact, props)
            if isinstance(outcome, WriteFailure):
                errors.append(_batch_error(outcome, "ids", ident, trace))
            else:
                store.stats.record_write("hubspot", str(contact.id), _fingerprint(item))
                results.append(_result(contact, props.keys(), item))
    return _batch_response(results, errors, started, 200)


async def batch_upsert(request: Request, store: SandboxStore) -> Response:
    inputs = _inputs(await read_json(request))
    started = hubspot_iso(utcnow())
    results, errors = [], []
    with store.lock:
        for item in inputs:
            ident = str(item.get("id", ""))
            props = _item_props(item)
            trace = item.get("objectWriteTraceId")
            if item.get("idProperty", "email") != "email":
                errors.append(
                    _batch_error(
                        WriteFailure("VALIDATION_ERROR", "Upsert supports idProperty=email only"),
                        "ids",
                        ident,
                        trace,
                    )
                )
                continue
            existing = store.hubspot.get(ident, "email")
            outcome: HubContact | WriteFailure | bool
            if existing is None:
                outcome = store.hubspot.create({"email": ident.strip(), **props})
                contact = outcome if isinstance(outcome, HubContact) else None
            else:
                outcome = store.hubspot.update(existing, props)
                contact = existing
            if isinstance(outcome, WriteFailure) or contact is None:
                failure = (
                    outcome
                    if isinstance(outcome, WriteFailure)
                    else WriteFailure("VALIDATION_ERROR", "upsert failed")
                )
                errors.append(_batch_error(failure, "emails", ident, trace))
                continue
            store.stats.record_write("hubspot", str(contact.id), _fingerprint(item))
            result = _result(contact, props.keys(), item)
            result["new"] = existing is None
            results.append(result)
    return _batch_response(results, errors, started, 200)


async def batch_archive(request: Request, store: SandboxStore) -> Response:
    inputs = _inputs(await read_json(request))
    with store.lock:
        for item in inputs:
            contact = store.hubspot.get(str(item.get("id", "")))
            if contact is not None:
                store.hubspot.archive(contact)
                store.stats.record_write("hubspot", str(contact.id))
    return Response(status_code=204)


# -- properties / owners ---------------------------------------------------
async def list_properties(request: Request, store: SandboxStore) -> Response:
    with store.lock:
        props = [p.to_json() for p in store.hubspot.schema.properties.values()]
    return JSONResponse({"results": props})


async def get_property(request: Request, store: SandboxStore) -> Response:
    name = request.path_params["propertyName"]
    with store.lock:
        prop = store.hubspot.schema.properties.get(name)
        if prop is None:
            return hubspot_error(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")
        return JSONResponse(prop.to_json())


def _refusal(refusal: SchemaRefusal) -> JSONResponse:
    return hubspot_error(
        refusal.status, refusal.message, refusal.category, errors=list(refusal.errors) or None
    )


async def create_property(request: Request, store: SandboxStore) -> Response:
    body = await read_json(request)
    with store.lock:
        outcome = store.hubspot.schema.create(body)
    if isinstance(outcome, SchemaRefusal):
        return _refusal(outcome)
    return JSONResponse(outcome.to_json(), 201)


async def patch_property(request: Request, store: SandboxStore) -> Response:
    body = await read_json(request)
    with store.lock:
        outcome = store.hubspot.schema.update(request.path_params["propertyName"], body)
    if isinstance(outcome, SchemaRefusal):
        return _refusal(outcome)
    return JSONResponse(outcome.to_json())


async def list_groups(request: Request, store: SandboxStore) -> Response:
    with store.lock:
        groups = [group_json(n, label) for n, label in store.hubspot.schema.groups.items()]
    return JSONResponse({"results": groups})


async def create_group(request: Request, store: SandboxStore) -> Response:
    body = await read_json(request)
    with store.lock:
        outcome = store.hubspot.schema.create_group(body)
    if isinstance(outcome, SchemaRefusal):
        return _refusal(outcome)
    return JSONResponse(outcome, 201)


async def list_owners(request: Request, store: SandboxStore) -> Response:
    q = request.query_params
    limit = _int_param(q.get("limit"), 100, "limit")
    if limit < 1 or limit > 500:
        raise BadRequest("limit must be between 1 and 500")
    offset = _int_param(q.get("after"), 0, "after")
    with store.lock:
        owners = store.hubspot.owners
        email = q.get("email")
        if email:
            owners = [o for o in owners if email_key(o.email) == email_key(email)]
        page = [o.to_json() for o in owners[offset : offset + limit]]
        more = offset + limit < len(owners)
    body: dict[str, Any] = {"results": page}
    if more:
        body["paging"] = {"next": {"after": str(offset + limit)}}
    return JSONResponse(body)


def routes() -> list[Route]:
    """All HubSpot routes; fixed paths come before ``{contactId}`` so they match first."""
    w: Callable[..., Route] = hubspot_route
    return [
        w("POST", f"{BASE}/search", search_contacts, search=True),
        w("POST", f"{BASE}/batch/read", batch_read),
        w("POST", f"{BASE}/batch/create", batch_create, write=True),
        w("POST", f"{BASE}/batch/update", batch_update, write=True),
        w("POST", f"{BASE}/batch/upsert", batch_upsert, write=True),
        w("POST", f"{BASE}/batch/archive", batch_archive, write=True),
        w("POST", f"{BASE}/merge", merge_contacts, write=True),
        w("GET", BASE, list_contacts),
        w("POST", BASE, create_contact, write=True),
        w("GET", BASE + "/{contactId}", get_contact),
        w("PATCH", BASE + "/{contactId}", patch_contact, write=True),
        w("DELETE", BASE + "/{contactId}", delete_contact, write=True),
        w("GET", "/crm/v3/properties/contacts", list_properties),
        w("POST", "/crm/v3/properties/contacts", create_property, write=True),
        w("GET", "/crm/v3/properties/contacts/groups", list_groups),
        w("POST", "/crm/v3/properties/contacts/groups", create_group, write=True),
        w("GET", "/crm/v3/properties/contacts/{propertyName}", get_property),
        w("PATCH", "/crm/v3/properties/contacts/{propertyName}", patch_property, write=True),
        w("GET", "/crm/v3/owners", list_owners),
    ]
