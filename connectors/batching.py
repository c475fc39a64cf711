"""Batch helpers shared by the connectors: chunking, bisection, and completeness.

Bisection exists because vendors sometimes refuse a whole batch for one bad
record; splitting isolates that record in log2(n) extra calls instead of
losing the other 99 (or 499).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TypeVar

from connectors.contract import RecordFailure, WriteOp, WriteOutcome
from connectors.errors import RequestRejected

T = TypeVar("T")
SendBatch = Callable[[Sequence[WriteOp]], Awaitable[list[WriteOutcome]]]


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    if size <= 0:
        raise ValueError("size must be positive")
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def send_bisecting(ops: Sequence[WriteOp], send: SendBatch) -> list[WriteOutcome]:
    """Send a batch; if the vendor rejects it whole, split it until the culprit is alone.

    A rejected single op becomes that op's `RecordFailure`; other errors
    (auth, exhausted retries) concern the whole call and propagate.
    """
    if not ops:
        return []
    try:
        return await send(ops)
    except RequestRejected as exc:
        if len(ops) == 1:
            failure = RecordFailure(
                message=exc.message,
                status=exc.status,
                category=exc.category,
                request_id=exc.request_id,
            )
            return [WriteOutcome(key=ops[0].key, failure=failure)]
        middle = len(ops) // 2
        first = await send_bisecting(ops[:middle], send)
        return first + await send_bisecting(ops[middle:], send)


def complete(ops: Sequence[WriteOp], outcomes: dict[str, WriteOutcome]) -> list[WriteOutcome]:
    """One outcome per op, in op order; ops the vendor never mentioned fail explicitly."""
    result = []
    for op in ops:
        outcome = outcomes.get(op.key)
        if outcome is None:
            outcome = WriteOutcome(key=op.key, failure=RecordFailure(message="not in response"))
        result.append(outcome)
    return result
