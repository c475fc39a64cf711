"""HubSpot-style Communication Preferences v4 routes (rules: `sandbox.hs_subscriptions`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.hs_properties import is_valid_email
from sandbox.hs_state import email_key
from sandbox.hs_subscriptions import (
    BATCH_MAX,
    LEGAL_BASES,
    SetReason,
    StatusEntry,
    SubStatus,
)
from sandbox.pipeline import BadRequest, hubspot_route, read_json
from sandbox.store import SandboxStore
from sandbox.timefmt import hubspot_iso, utcnow

BASE = "/communication-preferences/v4"
_API_SOURCE = "Public API"


def _channel(request: Request) -> None:
    channel = request.query_params.get("channel")
    if channel != "EMAIL":
        raise BadRequest(f"channel is required and must be EMAIL; got {channel!r}")


def _inputs(body: Any) -> list[Any]:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        raise BadRequest("inputs must be a list")
    if len(inputs) > BATCH_MAX:
        raise BadRequest(
            f"Batch input limit exceeded: {len(inputs)} inputs; the maximum is {BATCH_MAX}"
        )
    return inputs


def _emails(body: Any) -> list[str]:
    inputs = _inputs(body)
    if not all(isinstance(i, str) for i in inputs):
        raise BadRequest("inputs must be a list of email address strings")
    return inputs


def _error(message: str, email: str, code: str = "INVALID_INPUT") -> dict[str, Any]:
    return {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": message,
        "context": {"subscriberIdString": [email]},
        "errors": [{"message": message, "code": code, "in": "subscriberIdString"}],
        "links": {},
    }


def _respond(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: datetime
) -> JSONResponse:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "requestedAt": hubspot_iso(started),
        "startedAt": hubspot_iso(started),
        "completedAt": hubspot_iso(utcnow()),
    }
    if errors:
        body["errors"] = errors
        body["numErrors"] = len(errors)
        return JSONResponse(body, 207)
    return JSONResponse(body)


async def definitions(request: Request, store: SandboxStore) -> Response:
    now = utcnow()
    with store.lock:
        subs = [s.to_json() for s in store.hubspot.comm.subscriptions]
    return _respond(subs, [], now)


async def batch_read(request: Request, store: SandboxStore) -> Response:
    _channel(request)
    emails = _emails(await read_json(request))
    started = utcnow()
    results, errors = [], []
    with store.lock:
        comm = store.hubspot.comm
        for email in emails:
            if not is_valid_email(email):
                errors.append(_error(f"{email!r} is not a valid email address", email))
                continue
            key = email_key(email)
            statuses = [comm.status_json(email, key, sub) for sub in comm.subscriptions]
            results.append({"subscriberIdString": email, "statuses": statuses})
    return _respond(results, errors, started)


_WRITE_REQUIRED = ("channel", "statusState", "subscriberIdString", "subscriptionId")


def _check_write_input(item: Any) -> None:
    """Schema checks: a violation fails the whole request, as a deserialisation error would."""
    if not isinstance(item, dict):
        raise BadRequest("each input must be an object")
    missing = [name for name in _WRITE_REQUIRED if name not in item]
    if missing:
        raise BadRequest(f"Invalid input JSON: missing required field(s) {', '.join(missing)}")
    if item["channel"] != "EMAIL":
        raise BadRequest(f"Invalid input JSON: channel must be EMAIL, got {item['channel']!r}")
    if item["statusState"] not in {s.value for s in SubStatus}:
        raise BadRequest(
            f"Invalid input JSON: statusState {item['statusState']!r} is not one of "
            "SUBSCRIBED, UNSUBSCRIBED, NOT_SPECIFIED"
        )
    sub_id = item["subscriptionId"]
    if isinstance(sub_id, bool) or not isinstance(sub_id, int):
        raise BadRequest(f"Invalid input JSON: subscriptionId must be an integer, got {sub_id!r}")
    basis = item.get("legalBasis")
    if basis is not None and basis not in LEGAL_BASES:
        raise BadRequest(f"Invalid input JSON: legalBasis {basis!r} is not a known legal basis")
    if not isinstance(item["subscriberIdString"], str):
        raise BadRequest("Invalid input JSON: subscriberIdString must be a string")


def _write_problem(store: SandboxStore, item: dict[str, Any]) -> str | None:
    """Why a well-formed input cannot be applied, if it cannot."""
    email = item["subscriberIdString"]
    if not is_valid_email(email):
        return f"{email!r} is not a valid email address"
    sub = store.hubspot.comm.subscription(item["subscriptionId"])
    if sub is None:
        return f"Subscription {item['subscriptionId']} does not exist in this portal"
    if not sub.is_active:
        return f"Subscription {sub.id} ({sub.name}) is not active"
    if store.config.hubspot_gdpr and not (
        item.get("legalBasis") and item.get("legalBasisExplanation")
    ):
        return (
            "This portal has GDPR enabled: legalBasis and legalBasisExplanation are "
            "required for every subscription status change"
        )
    wants_in = item["statusState"] != SubStatus.UNSUBSCRIBED
    if wants_in and store.hubspot.is_opted_out_of_all(email_key(email)):
        return f"{email} has unsubscribed from all email; its statuses cannot be changed"
    return None


async def batch_write(request: Request, store: SandboxStore) -> Response:
    inputs = _inputs(await read_json(request))
    for item in inputs:
        _check_write_input(item)
    started = utcnow()
    results, errors = [], []
    with store.lock:
        for item in inputs:
            email = item["subscriberIdString"]
            problem = _write_problem(store, item)
            if problem is not None:
                errors.append(_error(problem, email))
                continue
            key = email_key(email)
            state = SubStatus(item["statusState"])
            entry = StatusEntry(
                state,
                _API_SOURCE,
                utcnow(),
                item.get("legalBasis"),
                item.get("legalBasisExplanation"),
            )
            reason = store.hubspot.record_status(key, item["subscriptionId"], entry)
            if reason is SetReason.RESUBSCRIBE_OCCURRED:
                store.stats.consent_reversals[key] += 1
            sub = store.hubspot.comm.subscription(item["subscriptionId"])
            assert sub is not None  # checked by _write_problem
            result = store.hubspot.comm.status_json(email, key, sub)
            result["setStatusSuccessReason"] = reason.value
            results.append(result)
    return _respond(results, errors, started)


async def unsubscribe_all(request: Request, store: SandboxStore) -> Response:
    _channel(request)
    verbose = request.query_params.get("verbose", "false").lower() == "true"
    emails = _emails(await read_json(request))
    started = utcnow()
    results, errors = [], []
    with store.lock:
        comm = store.hubspot.comm
        for email in emails:
            if not is_valid_email(email):
                errors.append(_error(f"{email!r} is not a valid email address", email))
                continue
            key = email_key(email)
            changed = store.hubspot.unsubscribe_all(key, utcnow(), _API_SOURCE)
            result: dict[str, Any] = {"subscriberIdString": email}
            if verbose:
                reason = SetReason.UNSUBSCRIBE_FROM_ALL_OCCURRED if changed else None
                result["statuses"] = [
                    {
                        **comm.status_json(email, key, sub),
                        "setStatusSuccessReason": (reason or SetReason.NO_STATUS_CHANGE).value,
                    }
                    for sub in comm.subscriptions
                ]
            results.append(result)
    return _respond(results, errors, started)


async def unsubscribe_all_read(request: Request, store: SandboxStore) -> Response:
    _channel(request)
    emails = _emails(await read_json(request))
    started = utcnow()
    results, errors = [], []
    with store.lock:
        opted = store.hubspot.comm.opted_out_all
        for email in emails:
            if not is_valid_email(email):
                errors.append(_error(f"{email!r} is not a valid email address", email))
                continue
            when = opted.get(email_key(email))
            wide = (
                [
                    {
                        "channel": "EMAIL",
                        "status": SubStatus.UNSUBSCRIBED.value,
                        "subscriberIdString": email,
                        "timestamp": hubspot_iso(when),
                        "wideStatusType": "PORTAL_WIDE",
                    }
                ]
                if when is not None
                else []
            )
            results.append({"subscriberIdString": email, "wideStatuses": wide})
    return _respond(results, errors, started)


def routes() -> list[Route]:
    w: Callable[..., Route] = hubspot_route
    return [
        w("GET", f"{BASE}/definitions", definitions),
        w("POST", f"{BASE}/statuses/batch/read", batch_read),
        w("POST", f"{BASE}/statuses/batch/write", batch_write, write=True),
        w("POST", f"{BASE}/statuses/batch/unsubscribe-all", unsubscribe_all, write=True),
        w("POST", f"{BASE}/statuses/batch/unsubscribe-all/read", unsubscribe_all_read),
    ]
