"""Every sandbox a test starts records its exchanges; what Baton sent is checked against the
vendors' specs when each test ends (fixtures in tests/integration/conftest.py).

Baton's requests are told from the rest by their User-Agent: the tests' own arranging clients
send `TEST_CLIENT`, the official SDKs theirs (the SDK tests check those themselves).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sandbox.recorder import Exchange
from sandbox.server import SandboxServer
from tests.integration.contract.openapi import SDK_CLIENTS, ContractChecker, Report
from tests.integration.vendors import TEST_CLIENT

_STARTED: list[SandboxServer] = []


def sent_by_baton(exchange: Exchange) -> bool:
    return not exchange.user_agent.startswith((TEST_CLIENT, *SDK_CLIENTS))


@contextmanager
def recording_every_sandbox() -> Iterator[None]:
    original = SandboxServer.start

    def start(server: SandboxServer, timeout: float = 10.0) -> None:
        server.store.config.record_exchanges = True
        _STARTED.append(server)
        original(server, timeout)

    SandboxServer.start = start  # type: ignore[method-assign]
    try:
        yield
    finally:
        SandboxServer.start = original  # type: ignore[method-assign]


def baton_traffic(checker: ContractChecker) -> Report:
    """Check what Baton sent to every started sandbox since the last call; forget stopped ones."""
    exchanges = [e for server in _STARTED for e in server.store.exchanges.take()]
    _STARTED[:] = [s for s in _STARTED if s.running]
    return checker.check(e for e in exchanges if sent_by_baton(e))
