"""``/_sandbox`` control routes (no auth): stats, fault injection, search lag, the
index clock and reseeding."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.config import SandboxConfig
from sandbox.faults import ALL_KINDS, FaultKind
from sandbox.hs_state import email_key
from sandbox.hs_subscriptions import StatusEntry, SubStatus
from sandbox.pipeline import store_of
from sandbox.store import Fault, Stats
from sandbox.timefmt import utcnow

_USER_SOURCE = "Unsubscribe link"


async def _json(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw else {}


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, 400)


async def _object(request: Request) -> dict[str, Any] | JSONResponse:
    """The request's JSON object, or the 400 that says why there is none."""
    try:
        body = await _json(request)
    except ValueError as exc:
        return _bad(f"invalid JSON: {exc}")
    if not isinstance(body, dict):
        return _bad("body must be an object")
    return body


async def get_stats(request: Request) -> Response:
    store = store_of(request)
    with store.lock:
        stats = store.stats
        body = {
            "requests": dict(stats.requests),
            "first_request_at": stats.first_request_at,
            "write_calls": {
                "hubspot": stats.write_calls["hubspot"],
                "mailchimp": stats.write_calls["mailchimp"],
            },
            "throttled": dict(stats.throttled),
            "record_writes": {
                system: dict(counts) for system, counts in stats.record_writes.items()
            },
            "read_only_refusals": dict(stats.read_only_refusals),
            "consent_reversals": dict(stats.consent_reversals),
            "faults": {system: dict(counts) for system, counts in stats.faults.items()},
            "duplicate_writes": {
                "hubspot": stats.duplicate_writes["hubspot"],
                "mailchimp": stats.duplicate_writes["mailchimp"],
            },
            "records": {
                "hubspot": store.hubspot.live_count(),
                "mailchimp": sum(
                    1 for m in store.mailchimp.members.values() if m.status != "archived"
                ),
            },
        }
    return JSONResponse(body)


async def reset_stats(request: Request) -> Response:
    store = store_of(request)
    with store.lock:
        store.stats = Stats()
    return JSONResponse({"ok": True})


async def add_fault(request: Request) -> Response:
    body = await _object(request)
    if isinstance(body, JSONResponse):
        return body
    try:
        fault = Fault(
            method=str(body["method"]).upper(),
            path=str(body["path"]),
            status=int(body["status"]),
            times=int(body.get("times", 1)),
            retry_after=int(body["retry_after"]) if body.get("retry_after") is not None else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        return _bad(f"fault needs method, path, status (and optional times, retry_after): {exc}")
    store = store_of(request)
    with store.lock:
        store.faults.append(fault)
        pending = len(store.faults)
    return JSONResponse({"ok": True, "pending": pending}, 201)


async def clear_faults(request: Request) -> Response:
    """Drop scripted faults and switch rate-based ones off."""
    store = store_of(request)
    with store.lock:
        store.faults = []
        store.set_random_faults(0.0, store.config.fault_seed, [], store.config.stall_seconds)
    return JSONResponse({"ok": True})


async def set_random_faults(request: Request) -> Response:
    """``{"rate": 0.1, "seed": 5, "kinds": [...], "stall_seconds": 2}``; kinds default to all."""
    body = await _object(request)
    if isinstance(body, JSONResponse):
        return body
    store = store_of(request)
    try:
        rate = float(body["rate"])
        seed = int(body.get("seed", 0))
        kinds = [FaultKind(k) for k in body.get("kinds", [k.value for k in ALL_KINDS])]
        stall = float(body.get("stall_seconds", store.config.stall_seconds))
        if not 0 <= rate <= 1 or stall < 0:
            raise ValueError("rate must be in [0, 1] and stall_seconds not negative")
    except (KeyError, TypeError, ValueError) as exc:
        known = ", ".join(k.value for k in ALL_KINDS)
        return _bad(f"needs rate (0..1); optional seed, kinds ({known}), stall_seconds: {exc}")
    store.set_random_faults(rate, seed, kinds, stall)
    return JSONResponse({"ok": True, "rate": rate, "seed": seed, "kinds": kinds})


async def set_search_lag(request: Request) -> Response:
    """``{"seconds": 3}``: HubSpot search sees each write this much later (0 = at once)."""
    try:
        body = await _json(request)
        seconds = float(body["seconds"])
        if seconds < 0:
            raise ValueError("seconds must not be negative")
    except (KeyError, TypeError, ValueError) as exc:
        return _bad(f"needs seconds (>= 0): {exc}")
    store_of(request).set_search_lag(seconds)
    return JSONResponse({"ok": True, "seconds": seconds})


async def advance_clock(request: Request) -> Response:
    """``{"seconds": 3}``: move the search index's clock forward instead of waiting."""
    try:
        body = await _json(request)
        store_of(request).clock.advance(float(body["seconds"]))
    except (KeyError, TypeError, ValueError) as exc:
        return _bad(f"needs seconds (>= 0): {exc}")
    return JSONResponse({"ok": True})


async def reset_all(request: Request) -> Response:
    body = await _object(request)
    if isinstance(body, JSONResponse):
        return body
    store = store_of(request)
    try:
        config = store.config.model_copy(
            update=SandboxConfig.model_validate({**store.config.model_dump(), **body}).model_dump()
        )
    except ValidationError as exc:
        return _bad(str(exc))
    store.reset(config)
    return JSONResponse({"ok": True, "config": config.model_dump()})


async def hubspot_opt_out(request: Request) -> Response:
    """Opt an address out as its owner would, from an email's unsubscribe link: of one
    subscription (``subscriptionId``) or, without one, of all email."""
    try:
        body = await _json(request)
    except ValueError as exc:
        return _bad(f"invalid JSON: {exc}")
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str) or not email.strip():
        return _bad("body needs an email (and optionally a subscriptionId)")
    store = store_of(request)
    key = email_key(email)
    now = utcnow()
    with store.lock:
        sub_id = body.get("subscriptionId")
        if sub_id is None:
            store.hubspot.unsubscribe_all(key, now, _USER_SOURCE)
        elif store.hubspot.comm.subscription(int(sub_id)) is None:
            return _bad(f"no subscription {sub_id}")
        else:
            entry = StatusEntry(SubStatus.UNSUBSCRIBED, _USER_SOURCE, now)
            store.hubspot.record_status(key, int(sub_id), entry)
    return JSONResponse({"ok": True})


def routes() -> list[Route]:
    return [
        Route("/_sandbox/stats", get_stats, methods=["GET"]),
        Route("/_sandbox/stats/reset", reset_stats, methods=["POST"]),
        Route("/_sandbox/faults", add_fault, methods=["POST"]),
        Route("/_sandbox/faults", clear_faults, methods=["DELETE"]),
        Route("/_sandbox/faults/random", set_random_faults, methods=["PUT"]),
        Route("/_sandbox/search-lag", set_search_lag, methods=["PUT"]),
        Route("/_sandbox/clock", advance_clock, methods=["POST"]),
        Route("/_sandbox/reset", reset_all, methods=["POST"]),
        Route("/_sandbox/hubspot/opt-out", hubspot_opt_out, methods=["POST"]),
    ]
