"""A connector that reads through a real one and takes every write as done without sending
it (`baton sync --dry-run`).

The run's own push step then records each write as it records a real one: the link's
shadow takes the written values and a created record gets a link (under a placeholder
id, in the dry run's scratch state only). So a record the run meets again later, such as
a member on two pages of one bulk-imported second, plans nothing twice, as in the real
run. What no dry run can know is how a vendor answers: a refusal, or a create that meets
a record Baton has not seen, shows only when the write is really sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from connectors.contract import (
    CallStats,
    ContactConnector,
    Page,
    RawRecord,
    SystemRules,
    WriteOp,
    WriteOutcome,
)
from state.models import utcnow

PLACEHOLDER_PREFIX = "dry-run:"


class PlanningConnector:
    """`ContactConnector` over `inner`: reads pass through, writes are handed to `keep`."""

    def __init__(
        self, inner: ContactConnector, keep: Callable[[str, Sequence[WriteOp]], None]
    ) -> None:
        self.inner = inner
        self.keep = keep
        self.system = inner.system
        self.rules: SystemRules = inner.rules
        self.page_size = inner.page_size
        self.write_batch_size = inner.write_batch_size
        # Calls are counted where they are made: the real connector's.
        self.stats: CallStats = inner.stats

    async def check(self) -> None:
        await self.inner.check()

    async def fetch_page(self, since: datetime | None, token: str | None) -> Page:
        return await self.inner.fetch_page(since, token)

    async def read(self, ops: Sequence[WriteOp]) -> dict[str, RawRecord]:
        # A placeholder id is no record of the system's: only the address can be looked up.
        real = [op for op in ops if not _placeholder(op.external_id)]
        return await self.inner.read(real) if real else {}

    async def write(self, ops: Sequence[WriteOp]) -> list[WriteOutcome]:
        self.keep(self.system, ops)
        now = utcnow()
        return [
            WriteOutcome(
                key=op.key,
                record=RawRecord(
                    system=self.system,
                    external_id=op.external_id or f"{PLACEHOLDER_PREFIX}{op.key}",
                    email=op.email,
                    modified_at=now,
                    fields=dict(op.fields),
                ),
            )
            for op in ops
        ]

    async def field_names(self) -> set[str]:
        return await self.inner.field_names()

    async def read_only_fields(self) -> set[str]:
        return await self.inner.read_only_fields()

    async def aclose(self) -> None:
        """The real connector belongs to the caller, who closes it."""


def _placeholder(external_id: str | None) -> bool:
    return external_id is not None and external_id.startswith(PLACEHOLDER_PREFIX)
