"""Benchmark: a page of dead letters costs the same with 15,000 open letters as with none.

The slow run behind this had 15,493 open letters and spent 67 % of its time
closing superseded ones, each a scan of the whole table. Results go to
`benchmark-results/dead-letters.json`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from state import repository as repo
from state.database import Database

pytestmark = pytest.mark.benchmark
RESULTS = Path("benchmark-results")
PAGE = 200


def letter_page(db: Database, start: int, run_id: int) -> float:
    """Seconds to dead-letter one page of records (every field refused) and commit."""
    began = time.perf_counter()
    with db.session() as s:
        for i in range(start, start + PAGE):
            repo.add_dead_letter(
                s,
                stage="pull",
                system="hubspot",
                reason=f"record h{i}: value not among the options",
                payload={"external_id": f"h{i}", "fields": {"industry": "x"}},
                run_id=run_id,
                external_id=f"h{i}",
                field="industry",
            )
        s.commit()
    return time.perf_counter() - began


def test_dead_letter_cost_is_flat(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'letters.db'}")
    try:
        empty = min(letter_page(db, 0, 1) for _ in range(3))
        for start in range(0, 15_000, PAGE):
            letter_page(db, start, 2)
        with db.session() as s:
            open_letters = repo.count_open_dead_letters(s)
        # Pages that supersede open letters and pages of new records, at 15,000 open.
        full = min(
            min(letter_page(db, 0, 3) for _ in range(3)),
            min(letter_page(db, 20_000 + k * PAGE, 3) for k in range(3)),
        )
    finally:
        db.dispose()
    result = {
        "open_letters": open_letters,
        "per_letter_ms_empty": round(empty / PAGE * 1000, 3),
        "per_letter_ms_15k_open": round(full / PAGE * 1000, 3),
        "ratio": round(full / empty, 2),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dead-letters.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    assert open_letters >= 15_000
    assert full < 2 * empty
