"""HubSpot's search index, which sees writes late.

Real search is index-backed: a write shows up in search results some seconds
after it was made, while GET and batch read see it at once. With a lag set,
the sandbox keeps a copy of each contact as search sees it; a write queues
a new copy that becomes visible ``lag`` seconds later on the index clock. Search
then filters *and answers* with those copies, so a lagging result carries the
old property values too (the stricter reading: a client cannot even notice a
stale hit by its values). With no lag, search reads the live records.

The clock is the sandbox's own (`SandboxClock`): real monotonic time plus an
offset that tests move forward (`POST /_sandbox/clock`) instead of sleeping.
Record timestamps (`lastmodifieddate`) stay real wall-clock time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import replace

from sandbox.records import HubContact


class SandboxClock:
    """Monotonic seconds that tests can advance."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds


class SearchIndex:
    """What search sees of each contact; callers hold the store lock."""

    def __init__(self, clock: SandboxClock, lag_seconds: float = 0.0) -> None:
        self.clock = clock
        self.lag = 0.0
        self.visible: dict[int, HubContact] = {}
        # (due on the index clock, contact id, copy to show or None to drop), in due order.
        self._pending: deque[tuple[float, int, HubContact | None]] = deque()
        self._lag_initial = lag_seconds

    @property
    def lagging(self) -> bool:
        return self.lag > 0

    def start(self, live: Iterable[HubContact]) -> None:
        """Begin with the seeded contacts already indexed."""
        self.set_lag(self._lag_initial, live)

    def set_lag(self, seconds: float, live: Iterable[HubContact]) -> None:
        """Switch the lag; the index starts from what is live now (pending copies land)."""
        if seconds < 0:
            raise ValueError("search lag must not be negative")
        self._pending.clear()
        self.lag = seconds
        self.visible = {c.id: _copy(c) for c in live if not c.archived} if seconds > 0 else {}

    def note(self, contact: HubContact) -> None:
        """A contact was written; search shows the new copy ``lag`` seconds from now."""
        if self.lag > 0:
            shown = None if contact.archived else _copy(contact)
            self._pending.append((self.clock.now() + self.lag, contact.id, shown))

    def drop(self, contact_id: int) -> None:
        """A contact left search (merged away); it disappears ``lag`` seconds from now."""
        if self.lag > 0:
            self._pending.append((self.clock.now() + self.lag, contact_id, None))

    def contacts(self) -> list[HubContact]:
        """The copies search sees now, in id order."""
        now = self.clock.now()
        while self._pending and self._pending[0][0] <= now:
            _, ident, shown = self._pending.popleft()
            if shown is None:
                self.visible.pop(ident, None)
            else:
                self.visible[ident] = shown
        return [self.visible[i] for i in sorted(self.visible)]


def _copy(contact: HubContact) -> HubContact:
    return replace(contact, props=dict(contact.props))
