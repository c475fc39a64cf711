"""Shared HTTP plumbing for the connectors: pacing, retries, error mapping, call counting.

Every attempt (first try or retry) passes the client's pacing first and is
counted in `CallStats`, so benchmark numbers are the calls the vendor saw.
Retries cover, on every call path: 429 (with or without `Retry-After`), a
vendor's own throttle signal (`is_throttled`), 5xx whatever the body (HTML
from a proxy included), timeouts and stalled reads, connections reset
mid-response, and 2xx bodies that are not whole JSON (truncated). Anything
else is mapped at once to the `connectors.errors` hierarchy. A throttle also
pauses the client's budgets, so concurrent requests hold back together.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from connectors.contract import CallStats
from connectors.errors import (
    AuthenticationFailed,
    BadResponse,
    ConnectorError,
    RateLimited,
    RequestRejected,
    ServerError,
    TimedOut,
    Unreachable,
)
from connectors.pacing import ConnectionCap, WindowBudget

ErrorInfo = tuple[str, str | None, str | None]
"""What a vendor error body says: (message, category, request id)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry transient failures."""

    max_attempts: int = 5
    base_wait_s: float = 0.5
    max_wait_s: float = 30.0
    max_retry_after_s: float = 120.0
    """A vendor's Retry-After is honoured up to this; longer means give up and report."""


class _Transient(Exception):
    """One attempt failed in a way worth retrying; converted to a public error at the end."""

    def __init__(
        self,
        kind: type[ConnectorError],
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        category: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.request_id = request_id
        self.category = category


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


class ApiClient:
    """Base class for one vendor API; subclasses supply auth and `parse_error`."""

    system: str = "api"
    # Floor for a 429 that names no Retry-After: vendors whose window is seconds
    # long (HubSpot) gain nothing from retrying within milliseconds.
    rate_limit_floor_s: float = 0.0

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        budget: WindowBudget | None = None,
        concurrency: ConnectionCap | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float | httpx.Timeout = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.stats = CallStats()
        self.retry = retry or RetryPolicy()
        self._headers = dict(headers or {})
        self._auth = auth
        self._budget = budget
        self._concurrency = concurrency
        # No more open connections than requests allowed in flight.
        self._limits = (
            httpx.Limits(
                max_connections=concurrency.limit, max_keepalive_connections=concurrency.limit
            )
            if concurrency is not None and concurrency.limit
            else httpx.Limits()
        )
        self._timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self.host = httpx.URL(self.base_url).host or self.base_url

    # -- subclass hooks -------------------------------------------------------

    def parse_error(self, response: httpx.Response) -> ErrorInfo:
        """(message, category, request id) from an error response."""
        if "html" in response.headers.get("Content-Type", "").lower():
            # A proxy's error page says nothing a log line needs.
            return (f"HTTP {response.status_code} {response.reason_phrase} (HTML page)", None, None)
        text = response.text.strip()
        return (text[:500] or response.reason_phrase or f"HTTP {response.status_code}", None, None)

    def observe(self, response: httpx.Response) -> None:
        """Learn from any response (quota headers); the base class has nothing to learn."""

    def is_throttled(self, response: httpx.Response) -> bool:
        """Whether this response means "slow down" (retry) rather than a hard refusal."""
        return response.status_code == 429

    # -- lifecycle ------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        # An AsyncClient's connection pool belongs to the loop that created it, so
        # a client reused from another loop (a new Prefect task) gets a fresh one.
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop or self._client.is_closed:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                headers=self._headers,
                auth=self._auth,
                timeout=self._timeout_s,
                limits=self._limits,
            )
            self._client_loop = loop
        return self._client

    async def aclose(self) -> None:
        client, self._client, self._client_loop = self._client, None, None
        if client is not None and not client.is_closed:
            await client.aclose()

    # -- requests -------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        template: str | None = None,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        budgets: Sequence[WindowBudget] = (),
        allow_status: Container[int] = (),
        expect_json: bool = False,
    ) -> httpx.Response:
        """Send with pacing and retries; return a 2xx (or allowed) response or raise.

        With `expect_json`, a 2xx body that does not parse (a truncated
        response) is retried like a transport failure.
        """
        endpoint = f"{method.upper()} {template or path}"
        paced = [b for b in (self._budget, *budgets) if b is not None]
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(self.retry.max_attempts, 1)),
            wait=lambda state: self._wait(state, paced),
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(
                        method, path, endpoint, params, json, paced, allow_status, expect_json
                    )
        except _Transient as exc:
            raise exc.kind(
                exc.message,
                system=self.system,
                status=exc.status,
                request_id=exc.request_id,
                category=exc.category,
                **({"retry_after": exc.retry_after} if exc.kind is RateLimited else {}),
            ) from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def request_json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.request(method, path, expect_json=True, **kw)
        if not response.content:
            return None
        return response.json()

    async def _attempt(
        self,
        method: str,
        path: str,
        endpoint: str,
        params: Mapping[str, str | int] | None,
        json: Any,
        budgets: Sequence[WindowBudget],
        allow_status: Container[int],
        expect_json: bool,
    ) -> httpx.Response:
        for budget in budgets:
            await budget.acquire()
        self.stats.count(endpoint)
        client = self._http()
        try:
            if self._concurrency is not None:
                async with self._concurrency:
                    response = await client.request(method, path, params=params, json=json)
            else:
                response = await client.request(method, path, params=params, json=json)
        except httpx.TimeoutException as exc:
            phase = TimedOut.CONNECT if isinstance(exc, httpx.ConnectTimeout) else TimedOut.READ
            raise _Transient(
                TimedOut, f"timed out talking to {self.host} ({type(exc).__name__})", category=phase
            ) from None
        except httpx.TransportError as exc:
            raise _Transient(
                Unreachable, f"could not reach {self.host} ({type(exc).__name__}: {exc})"
            ) from None
        self.observe(response)
        checked = self._check(response, allow_status)
        if expect_json and checked.is_success and checked.content:
            try:
                checked.json()
            except ValueError:
                raise _Transient(
                    BadResponse,
                    f"{self.host} sent a body that is not whole JSON "
                    f"({len(checked.content)} bytes, truncated?)",
                    status=checked.status_code,
                ) from None
        return checked

    def _check(self, response: httpx.Response, allow_status: Container[int]) -> httpx.Response:
        status = response.status_code
        if 200 <= status < 300 or status in allow_status:
            return response
        message, category, request_id = self.parse_error(response)
        if self.is_throttled(response):
            raise _Transient(
                RateLimited,
                f"rate limited by {self.host}: {message}",
                status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                request_id=request_id,
                category=category,
            )
        if status >= 500:
            raise _Transient(
                ServerError,
                f"server error from {self.host}: {message}",
                status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                request_id=request_id,
                category=category,
            )
        kind: type[ConnectorError] = (
            AuthenticationFailed if status in (401, 403) else RequestRejected
        )
        raise kind(
            message, system=self.system, status=status, request_id=request_id, category=category
        )

    # -- tenacity hooks -------------------------------------------------------

    def _wait(self, state: RetryCallState, budgets: Sequence[WindowBudget]) -> float:
        wait = self._backoff(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.kind is RateLimited:
            # Everyone sharing the budget holds back, not just this request.
            for budget in budgets:
                budget.pause(wait)
        return wait

    def _backoff(self, state: RetryCallState) -> float:
        policy = self.retry
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            # Retrying before the vendor said so only burns the retry budget.
            wait = min(exc.retry_after, policy.max_retry_after_s)
            if exc.kind is RateLimited:
                wait = max(wait, self.rate_limit_floor_s)
            return float(wait)
        backoff = policy.base_wait_s * 2 ** (state.attempt_number - 1)
        # Jitter spreads out clients that failed together so they don't retry in lockstep.
        wait = min(backoff, policy.max_wait_s) * random.uniform(0.5, 1.0)
        if isinstance(exc, _Transient) and exc.kind is RateLimited:
            wait = max(wait, self.rate_limit_floor_s)
        return float(min(wait, policy.max_wait_s))

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
