"""Per-request plumbing shared by both vendor APIs: counting, faults, auth, limits, errors.

Scripted faults (``POST /_sandbox/faults``) answer before anything else. Rate-based
faults (`sandbox.faults`) roll once a request has passed auth and the rate limits:
a throttle refuses it there, every other kind breaks the answer after the handler ran.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import faults
from sandbox.faults import FaultKind
from sandbox.recorder import recorded
from sandbox.store import Fault, SandboxStore

Handler = Callable[[Request, SandboxStore], Awaitable[Response]]
# Mailchimp handlers are plain functions run in the thread pool, so requests really overlap
# and the simultaneous-connection cap can bite; they get the parsed JSON body passed in.
SyncHandler = Callable[[Request, SandboxStore, Any], Response]


class BadRequest(Exception):
    """Malformed request input; the vendor module renders it in its own error style."""

    def __init__(self, message: str, category: str = "VALIDATION_ERROR") -> None:
        super().__init__(message)
        self.message = message
        self.category = category


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"Invalid input JSON: {exc}") from exc


def store_of(request: Request) -> SandboxStore:
    store: SandboxStore = request.app.state.store
    return store


# -- HubSpot ---------------------------------------------------------------
def hubspot_error(
    status: int,
    message: str,
    category: str,
    *,
    context: dict[str, list[str]] | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    correlation = str(uuid.uuid4())
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation,
        "category": category,
    }
    if context:
        body["context"] = context
    if errors:
        body["errors"] = errors
    return JSONResponse(
        body, status, headers={**(headers or {}), "X-HubSpot-Correlation-Id": correlation}
    )


def _hubspot_rate_limited(policy: str, retry: float | None) -> JSONResponse:
    correlation = str(uuid.uuid4())
    message = (
        "You have reached your secondly limit."
        if policy == "SECONDLY"
        else "You have reached your ten_secondly_rolling limit."
    )
    body = {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation,
        "policyName": policy,
        "category": "RATE_LIMITS",
    }
    headers = {"X-HubSpot-Correlation-Id": correlation}
    if retry is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry)))
    return JSONResponse(body, 429, headers=headers)


def hubspot_route(
    method: str, template: str, handler: Handler, *, search: bool = False, write: bool = False
) -> Route:
    """Wrap a HubSpot handler with counting, faults, Bearer auth and rate limiting."""
    key = f"{method} {template}"

    async def endpoint(request: Request) -> Response:
        store = store_of(request)
        with store.lock:
            store.stats.count_request(key)
        await _latency(store)
        fault = store.take_fault(method, request.url.path)
        if fault is not None:
            _mark_injected(request)
            extra = _retry_after(fault)
            return hubspot_error(
                fault.status, "Injected sandbox fault", "SANDBOX_FAULT", headers=extra
            )
        token = request.headers.get("authorization", "")
        if token != f"Bearer {store.config.hubspot_token}":
            return hubspot_error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            )
        with store.lock:
            # A search counts against its own per-second limit and the 10-second budget.
            limiters = [store.hs_search, store.hs_burst] if search else [store.hs_burst]
            refused = next((lim for lim in limiters if lim.wait() > 0), None)
            if refused is None:
                for lim in limiters:
                    lim.acquire()
                if write:
                    store.stats.write_calls["hubspot"] += 1
            else:
                store.stats.throttled["hubspot"] += 1
            limiter = store.hs_burst
            remaining = limiter.remaining()
        if refused is not None:
            policy = "SECONDLY" if refused is store.hs_search else "TEN_SECONDLY_ROLLING"
            return _hubspot_rate_limited(policy, refused.wait())
        kind = store.roll_fault("hubspot")
        if kind is not None:
            _mark_injected(request)
        if kind is FaultKind.THROTTLE:
            return _hubspot_rate_limited("TEN_SECONDLY_ROLLING", None)
        try:
            response = await handler(request, store)
        except BadRequest as exc:
            response = hubspot_error(400, exc.message, exc.category)
        if kind is not None:
            return await _broken(kind, response, store, "hubspot")
        response.headers.setdefault("X-HubSpot-Correlation-Id", str(uuid.uuid4()))
        if not search and limiter.limit > 0:
            response.headers["X-HubSpot-RateLimit-Max"] = str(limiter.limit)
            response.headers["X-HubSpot-RateLimit-Remaining"] = str(remaining)
            response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = "10000"
        return response

    return Route(template, recorded(endpoint), methods=[method])


# -- Mailchimp -------------------------------------------------------------
def mailchimp_error(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    request_id = str(uuid.uuid4())
    body: dict[str, Any] = {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request_id,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(
        body,
        status,
        media_type="application/problem+json",
        headers={**(headers or {}), "X-Request-Id": request_id},
    )


def _mailchimp_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip()).decode()
        except ValueError:
            return None
        return decoded.partition(":")[2]
    return None


def mailchimp_route(
    method: str, template: str, handler: SyncHandler, *, write: bool = False
) -> Route:
    """Wrap a Mailchimp handler with counting, connection cap, faults and key auth."""
    key = f"{method} {template}"

    async def endpoint(request: Request) -> Response:
        store = store_of(request)
        with store.lock:
            store.stats.count_request(key)
        if not store.enter_mailchimp():
            with store.lock:
                store.stats.throttled["mailchimp"] += 1
            return mailchimp_error(
                429,
                "Too Many Requests",
                f"You have exceeded the limit of {store.config.mailchimp_max_connections} "
                "simultaneous connections.",
            )
        try:
            await _latency(store)
            fault = store.take_fault(method, request.url.path)
            if fault is not None:
                _mark_injected(request)
                extra = (
                    {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                )
                return mailchimp_error(
                    fault.status, "Injected Fault", "Injected sandbox fault.", headers=extra
                )
            if _mailchimp_key(request) != store.config.mailchimp_api_key:
                return mailchimp_error(
                    401,
                    "API Key Invalid",
                    "Your API key may be invalid, or you've attempted "
                    "to access the wrong datacenter.",
                )
            kind = store.roll_fault("mailchimp")
            if kind is not None:
                _mark_injected(request)
            if kind is FaultKind.THROTTLE:
                return mailchimp_error(
                    429, "Too Many Requests", "You have made too many requests recently."
                )
            if kind is FaultKind.BARE_403:
                return faults.bare_forbidden()
            if write:
                with store.lock:
                    store.stats.write_calls["mailchimp"] += 1
            try:
                payload = await read_json(request) if method in ("POST", "PUT", "PATCH") else None
                response = await run_in_threadpool(handler, request, store, payload)
            except BadRequest as exc:
                response = mailchimp_error(
                    400,
                    "JSON Parse Exception"
                    if exc.message.startswith("Invalid input JSON")
                    else "Invalid Resource",
                    exc.message,
                )
            response.headers.setdefault("X-Request-Id", str(uuid.uuid4()))
            if kind is not None:
                # Inside the slot: a stalled Mailchimp request keeps its connection.
                return await _broken(kind, response, store, "mailchimp")
            return response
        finally:
            store.leave_mailchimp()

    return Route(template, recorded(endpoint), methods=[method])


async def _broken(
    kind: FaultKind, response: Response, store: SandboxStore, system: str
) -> Response:
    """The answer as a failing vendor or proxy would give it, after the work was done."""
    if kind is FaultKind.HTML_5XX:
        with store.lock:
            status = store.dice.gateway_status(system)
        return faults.html_error(status)
    if kind is FaultKind.STALL:
        await asyncio.sleep(store.config.stall_seconds)
        return response
    if kind is FaultKind.TRUNCATED:
        return faults.truncated(response)
    if kind is FaultKind.RESET:
        return faults.reset(response)
    return response


def _mark_injected(request: Request) -> None:
    """Tell the exchange recorder this answer is an injected fault, not the vendor's rules."""
    request.state.injected_fault = True


def _retry_after(fault: Fault) -> dict[str, str]:
    return {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}


async def _latency(store: SandboxStore) -> None:
    if store.config.latency_ms > 0:
        await asyncio.sleep(store.config.latency_ms / 1000)
