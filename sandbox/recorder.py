"""An opt-in log of every request the sandbox answered and its response.

Switched on with ``SandboxConfig.record_exchanges``; the contract tests read
the log and check each exchange against the vendors' OpenAPI files. Off by
default: nothing is kept and the only cost is one attribute check per request.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Exchange:
    """One request as received and the response as sent (bodies as raw bytes)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    request_content_type: str
    request_body: bytes
    status: int
    response_content_type: str
    response_body: bytes
    # Who sent it (the contract checks tell Baton's requests from the official SDKs' and tests').
    user_agent: str = ""
    # The answer came from an injected fault (sandbox.faults), not from the vendor's rules.
    injected: bool = False


class ExchangeLog:
    """Recorded exchanges in arrival order; safe to append from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Exchange] = []

    def append(self, exchange: Exchange) -> None:
        with self._lock:
            self._items.append(exchange)

    def take(self) -> list[Exchange]:
        """Everything recorded so far; the log starts empty again."""
        with self._lock:
            items, self._items = self._items, []
        return items


def recorded(endpoint: Endpoint) -> Endpoint:
    """Wrap a route endpoint so its exchanges are logged when recording is on."""

    async def wrapper(request: Request) -> Response:
        response = await endpoint(request)
        store = request.app.state.store
        if store.config.record_exchanges:
            store.exchanges.append(
                Exchange(
                    method=request.method,
                    path=request.url.path,
                    query=tuple(request.query_params.multi_items()),
                    request_content_type=request.headers.get("content-type", ""),
                    # Starlette keeps the body it already read for the handler.
                    request_body=await request.body(),
                    status=response.status_code,
                    response_content_type=response.headers.get("content-type", ""),
                    # A reset fault streams its body; what it sends is not a vendor answer.
                    response_body=bytes(getattr(response, "body", b"")),
                    user_agent=request.headers.get("user-agent", ""),
                    injected=bool(getattr(request.state, "injected_fault", False)),
                )
            )
        return response

    return wrapper
