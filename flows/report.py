"""Counts of one sync run, per system."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SystemCounts:
    pulled: int = 0
    changed: int = 0
    unchanged: int = 0
    created: int = 0
    updated: int = 0
    dead_lettered: int = 0
    conflicts: int = 0
    kept_unmapped: int = 0
    """Values read outside their field's choices and kept as they are (`unmapped: keep`):
    Baton holds them, and writes them once the mapping lists them."""
    settled: int = 0
    """Writes an interrupted run sent, found applied by this one."""
    merged: int = 0
    """Records that absorbed others in a merge the system made (their contacts collapsed)."""
    retired: int = 0
    """Records skipped because Baton retired their id (merged away, unlinked, archived)."""
    api_calls: int = 0


@dataclass
class RunReport:
    run_id: int | None = None
    systems: dict[str, SystemCounts] = field(default_factory=dict)
    seconds: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)
    """Systems set aside during the run, with why."""
    planned: dict[str, dict[str, int]] | None = None
    """A dry run's writes per system and kind (create / update); None for a real run."""

    def of(self, system: str) -> SystemCounts:
        return self.systems.setdefault(system, SystemCounts())

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seconds": round(self.seconds, 3),
            "systems": {name: asdict(c) for name, c in self.systems.items()},
            "errors": dict(self.errors),
        }
        if self.planned is not None:
            out["dry_run"] = True
            out["planned"] = {system: dict(kinds) for system, kinds in self.planned.items()}
        return out

    @property
    def writes(self) -> int:
        return sum(c.created + c.updated for c in self.systems.values())
