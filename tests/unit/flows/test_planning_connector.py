"""The dry run's connector: writes are kept and answered as done, reads go through."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from connectors.contract import CallStats, Page, RawRecord, SystemRules, WriteOp, WriteOutcome
from flows.planning_connector import PLACEHOLDER_PREFIX, PlanningConnector


class _Inner:
    system = "crm"
    rules = SystemRules()
    page_size = 10
    write_batch_size = 5

    def __init__(self) -> None:
        self.stats = CallStats()
        self.read_asked: list[WriteOp] = []

    async def check(self) -> None:
        return None

    async def fetch_page(self, since: datetime | None, token: str | None) -> Page:
        return Page([], None)

    async def read(self, ops: Sequence[WriteOp]) -> dict[str, RawRecord]:
        self.read_asked.extend(ops)
        return {}

    async def write(self, ops: Sequence[WriteOp]) -> list[WriteOutcome]:
        raise AssertionError("a dry run must never write")

    async def field_names(self) -> set[str]:
        return set()

    async def read_only_fields(self) -> set[str]:
        return set()

    async def aclose(self) -> None:
        return None


def test_writes_are_kept_and_answered_as_done_without_reaching_the_system() -> None:
    inner = _Inner()
    kept: list[tuple[str, WriteOp]] = []
    planning = PlanningConnector(inner, lambda system, ops: kept.extend((system, o) for o in ops))
    create = WriteOp(key="k1", email="a@example.org", fields={"firstname": "Ann"})
    update = WriteOp(key="k2", email="b@example.org", fields={"x": "1"}, external_id="42")

    outcomes = asyncio.run(planning.write([create, update]))

    assert kept == [("crm", create), ("crm", update)]
    assert all(o.ok and o.record is not None for o in outcomes)
    records = {o.key: o.record for o in outcomes if o.record is not None}
    assert records["k1"].external_id == f"{PLACEHOLDER_PREFIX}k1"
    assert records["k2"].external_id == "42"
    assert records["k1"].fields == {"firstname": "Ann"}
    assert planning.stats is inner.stats and planning.write_batch_size == 5


def test_a_placeholder_id_is_never_read_from_the_system() -> None:
    inner = _Inner()
    planning = PlanningConnector(inner, lambda system, ops: None)
    placeholder = WriteOp(key="k", email="a@example.org", fields={}, external_id="dry-run:k")
    real = WriteOp(key="r", email="b@example.org", fields={}, external_id="7")
    asyncio.run(planning.read([placeholder, real]))
    assert inner.read_asked == [real]
