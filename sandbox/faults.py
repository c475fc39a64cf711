"""Rate-based fault injection: the failures real vendor APIs and the proxies in front
of them produce, at a rate and from a seed.

Each vendor request (control routes excepted) rolls the dice once, under the
store lock and in arrival order, so a given seed and request sequence always
faults the same requests. Each system has its own stream from the seed, so how
one system's requests interleave with the other's changes nothing, and the
kinds take turns per system in an order the seed shuffles: a system that met
six faults has met every kind. Kinds:

- ``throttle``: a 429 in the vendor's own error shape, without ``Retry-After``
  (HubSpot does not promise the header; Mailchimp never sends it).
- ``bare-403``: Mailchimp's throttle under heavy load, a 403 with no JSON body
  (Mailchimp only: on HubSpot a 403 means a missing scope).
- ``html-5xx``: a 502, 503 or 504 with a proxy's HTML page as body.
- ``stall``: the answer comes ``stall_seconds`` late, longer than a client's
  read timeout; a Mailchimp stall keeps its connection slot the whole time.
- ``truncated``: a well-formed HTTP answer whose JSON body is cut in half.
- ``reset``: the connection closes half-way through the body.

Throttles refuse the request before it does anything. The other kinds
happen *after* the vendor did the work (the stricter reading: a client that
saw a gateway error, a timeout or a broken body cannot tell whether its write
went through, and a retry sends it again).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from enum import StrEnum

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class FaultKind(StrEnum):
    THROTTLE = "throttle"
    BARE_403 = "bare-403"
    HTML_5XX = "html-5xx"
    STALL = "stall"
    TRUNCATED = "truncated"
    RESET = "reset"

    @property
    def refuses(self) -> bool:
        """Answered instead of the request (nothing happens) rather than after it."""
        return self in (FaultKind.THROTTLE, FaultKind.BARE_403)

    def applies_to(self, system: str) -> bool:
        return self is not FaultKind.BARE_403 or system == "mailchimp"


ALL_KINDS: tuple[FaultKind, ...] = tuple(FaultKind)
_GATEWAY_STATUSES = (502, 503, 504)
_REASONS = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}


class FaultDice:
    """Decides, request by request, whether and how to fail (deterministic per seed)."""

    def __init__(self, rate: float = 0.0, seed: int = 0, kinds: Sequence[FaultKind] = ALL_KINDS):
        if not 0.0 <= rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        self.rate = rate
        self.seed = seed
        self.kinds = tuple(dict.fromkeys(kinds))
        self._streams: dict[str, _Stream] = {}

    def roll(self, system: str) -> FaultKind | None:
        if self.rate <= 0:
            return None
        stream = self._streams.get(system)
        if stream is None:
            eligible = [k for k in self.kinds if k.applies_to(system)]
            stream = self._streams[system] = _Stream(f"{self.seed}:{system}", eligible)
        return stream.roll(self.rate)

    def gateway_status(self, system: str) -> int:
        stream = self._streams.get(system)
        rng = stream.rng if stream is not None else random.Random(self.seed)
        return rng.choice(_GATEWAY_STATUSES)


class _Stream:
    """One system's dice: whether each request fails, and whose turn it is."""

    def __init__(self, seed: str, kinds: list[FaultKind]) -> None:
        self.rng = random.Random(seed)
        self.kinds = list(kinds)
        self.rng.shuffle(self.kinds)
        self.turn = 0

    def roll(self, rate: float) -> FaultKind | None:
        if self.rng.random() >= rate or not self.kinds:
            return None
        kind = self.kinds[self.turn % len(self.kinds)]
        self.turn += 1
        return kind


def html_error(status: int) -> Response:
    """What a load balancer sends when the API behind it failed."""
    reason = _REASONS.get(status, "Error")
    page = (
        f"<html><head><title>{status} {reason}</title></head>"
        f"<body><center><h1>{status} {reason}</h1></center><hr><center>nginx</center>"
        "</body></html>"
    )
    return Response(page, status, media_type="text/html")


def bare_forbidden() -> Response:
    """Mailchimp's throttle at extreme volume: 403 with no JSON at all."""
    return Response("", 403, media_type="text/html")


def truncated(original: Response) -> Response:
    """The same answer with its body cut in half (and a Content-Length that says so)."""
    body = bytes(original.body)
    if not body:
        return reset(original)
    headers = {k: v for k, v in original.headers.items() if k.lower() not in ("content-length",)}
    return Response(body[: len(body) // 2], original.status_code, headers=headers)


def reset(original: Response) -> Response:
    return _ResetResponse(original)


class _ResetResponse(Response):
    """Sends the headers and half the body, then stops: the server closes the connection
    and the client is left with an incomplete message."""

    def __init__(self, original: Response) -> None:
        body = bytes(original.body)
        if not body or original.status_code == 204:
            # A body-less answer still needs a promised body to break off.
            super().__init__(b"{}", 200, media_type="application/json")
        else:
            super().__init__(body, original.status_code, headers=dict(original.headers))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        half = self.body[: len(self.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        # Returning with the body unfinished makes uvicorn close the connection.
