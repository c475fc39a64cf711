"""Whole-sandbox state: both vendors' data, request counters, faults, rate limiters and
the clock the search index runs on.

A single re-entrant lock guards everything; handlers are short, so contention is low.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

from sandbox.config import SandboxConfig
from sandbox.faults import FaultDice, FaultKind
from sandbox.hs_index import SandboxClock, SearchIndex
from sandbox.hs_state import HubSpotState
from sandbox.mc_state import MailchimpState
from sandbox.presets import portal
from sandbox.recorder import ExchangeLog
from sandbox.seed import build_seed


@dataclass
class Fault:
    """An injected failure for the next ``times`` requests to an exact method + path."""

    method: str
    path: str
    status: int
    times: int
    retry_after: int | None = None


class RollingLimiter:
    """Allow at most ``limit`` events per ``window`` seconds (0 = unlimited)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.events: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self.events and self.events[0] <= now - self.window:
            self.events.popleft()

    def wait(self) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic()
        self._trim(now)
        if len(self.events) < self.limit:
            return 0.0
        return max(self.events[0] + self.window - now, 1e-6)

    def remaining(self) -> int:
        if self.limit <= 0:
            return 0
        self._trim(time.monotonic())
        return max(self.limit - len(self.events), 0)

    def acquire(self) -> tuple[bool, int, float]:
        """Returns (allowed, remaining, seconds until a slot frees)."""
        if self.limit <= 0:
            return True, 0, 0.0
        wait = self.wait()
        if wait > 0:
            return False, 0, wait
        self.events.append(time.monotonic())
        return True, self.limit - len(self.events), 0.0


class Stats:
    """Request and write counters exposed by ``/_sandbox/stats``."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.first_request_at: float | None = None
        """Wall-clock time (epoch seconds) of the first vendor request: a command's
        start-up time is measured up to it."""
        self.write_calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        """Requests the sandbox's own rate limits refused (429), by system."""
        self.record_writes: dict[str, Counter[str]] = {"hubspot": Counter(), "mailchimp": Counter()}
        # Writes HubSpot refused because they set a read-only property, by property name.
        self.read_only_refusals: Counter[str] = Counter()
        # Opt-outs turned back (SUBSCRIBED or NOT_SPECIFIED over UNSUBSCRIBED), by address.
        self.consent_reversals: Counter[str] = Counter()
        # Rate-based faults injected, by system and kind.
        self.faults: dict[str, Counter[str]] = {"hubspot": Counter(), "mailchimp": Counter()}
        # Writes that arrived again after being applied once: the same HubSpot
        # objectWriteTraceId, or the same body for the same record (see record_write).
        self.duplicate_writes: Counter[str] = Counter()
        self._applied: dict[str, set[tuple[str, str]]] = {"hubspot": set(), "mailchimp": set()}

    def count_request(self, key: str) -> None:
        if self.first_request_at is None:
            self.first_request_at = time.time()
        self.requests[key] += 1

    def record_write(self, system: str, record: str, fingerprint: str | None = None) -> None:
        """Count one applied record write; `fingerprint` names the write itself (a trace id,
        or the body as sent), so the same write applied twice is counted as a duplicate."""
        self.record_writes[system][record] += 1
        if fingerprint is None:
            return
        key = (record, fingerprint)
        if key in self._applied[system]:
            self.duplicate_writes[system] += 1
        else:
            self._applied[system].add(key)


class SandboxStore:
    """Everything one sandbox instance knows; rebuilt wholesale on reset."""

    def __init__(self, config: SandboxConfig) -> None:
        self.lock = threading.RLock()
        self.stats = Stats()
        self.faults: list[Fault] = []
        self.in_flight = 0
        self.exchanges = ExchangeLog()  # filled only with config.record_exchanges
        self.clock = SandboxClock()
        self.reset(config)

    def reset(self, config: SandboxConfig) -> None:
        with self.lock:
            self.config = config
            seed = build_seed(config)
            preset = portal(config.preset)
            index = SearchIndex(self.clock, config.search_lag_seconds)
            self.hubspot = HubSpotState(preset.property_registry(), index)
            for contact in seed.contacts:
                self.hubspot.add_seeded(contact)
            index.start(self.hubspot.iter_live())
            self.hubspot.owners = seed.owners
            self.hubspot.on_read_only = self._count_read_only
            self.mailchimp = MailchimpState(preset.merge_field_registry())
            for member in seed.members:
                self.mailchimp.add_seeded(member)
            self.hs_burst = RollingLimiter(config.hubspot_burst, 10.0)
            self.hs_search = RollingLimiter(config.hubspot_search_per_second, 1.0)
            self.stats = Stats()
            self.faults = []
            self.dice = FaultDice(config.fault_rate, config.fault_seed, config.fault_kinds)

    def set_random_faults(
        self, rate: float, seed: int, kinds: list[FaultKind], stall_seconds: float
    ) -> None:
        """Switch rate-based faults (rate 0 turns them off); the dice restart from `seed`."""
        with self.lock:
            self.dice = FaultDice(rate, seed, kinds)
            self.config = self.config.model_copy(
                update={
                    "fault_rate": rate,
                    "fault_seed": seed,
                    "fault_kinds": kinds,
                    "stall_seconds": stall_seconds,
                }
            )

    def set_search_lag(self, seconds: float) -> None:
        with self.lock:
            self.hubspot.index.set_lag(seconds, self.hubspot.iter_live())
            self.config = self.config.model_copy(update={"search_lag_seconds": seconds})

    def roll_fault(self, system: str) -> FaultKind | None:
        """Whether this request fails, and how (counted when it does)."""
        with self.lock:
            kind = self.dice.roll(system)
            if kind is not None:
                self.stats.faults[system][kind.value] += 1
            return kind

    def _count_read_only(self, name: str) -> None:
        self.stats.read_only_refusals[name] += 1

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume one matching fault, if any is queued."""
        with self.lock:
            for fault in self.faults:
                if fault.method == method and fault.path == path and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def enter_mailchimp(self) -> bool:
        """Claim a Mailchimp connection slot; False when over the simultaneous limit."""
        with self.lock:
            limit = self.config.mailchimp_max_connections
            if limit > 0 and self.in_flight >= limit:
                return False
            self.in_flight += 1
            return True

    def leave_mailchimp(self) -> None:
        with self.lock:
            self.in_flight = max(0, self.in_flight - 1)
