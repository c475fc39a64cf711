"""Whole-sandbox state: both vendors' data, request counters, faults and rate limiters.

A single re-entrant lock guards everything; handlers are short, so contention is low.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

from sandbox.config import SandboxConfig
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
        self.write_calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        """Requests the sandbox's own rate limits refused (429), by system."""
        self.record_writes: dict[str, Counter[str]] = {"hubspot": Counter(), "mailchimp": Counter()}
        # Writes HubSpot refused because they set a read-only property, by property name.
        self.read_only_refusals: Counter[str] = Counter()
        # Opt-outs turned back (SUBSCRIBED or NOT_SPECIFIED over UNSUBSCRIBED), by address.
        self.consent_reversals: Counter[str] = Counter()

    def record_write(self, system: str, record: str) -> None:
        self.record_writes[system][record] += 1


class SandboxStore:
    """Everything one sandbox instance knows; rebuilt wholesale on reset."""

    def __init__(self, config: SandboxConfig) -> None:
        self.lock = threading.RLock()
        self.stats = Stats()
        self.faults: list[Fault] = []
        self.in_flight = 0
        self.exchanges = ExchangeLog()  # filled only with config.record_exchanges
        self.reset(config)

    def reset(self, config: SandboxConfig) -> None:
        with self.lock:
            self.config = config
            seed = build_seed(config)
            preset = portal(config.preset)
            self.hubspot = HubSpotState(preset.property_registry())
            for contact in seed.contacts:
                self.hubspot.add_seeded(contact)
            self.hubspot.owners = seed.owners
            self.hubspot.on_read_only = self._count_read_only
            self.mailchimp = MailchimpState(preset.merge_field_registry())
            for member in seed.members:
                self.mailchimp.add_seeded(member)
            self.hs_burst = RollingLimiter(config.hubspot_burst, 10.0)
            self.hs_search = RollingLimiter(config.hubspot_search_per_second, 1.0)
            self.stats = Stats()
            self.faults = []

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
