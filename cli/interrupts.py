"""SIGINT and SIGTERM end a command cleanly: no traceback, exit 128 + the signal.

Inside an event loop a signal cancels the running command, so a sync run's own
cleanup records it as interrupted and releases the lease; outside one (loading
settings, opening the database) it raises `Interrupted` where the process is.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """The process was told to stop by `signum`."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def install() -> None:
    """Outside event loops a stop signal raises `Interrupted` (SIGINT no longer raises
    KeyboardInterrupt, which click would turn into "Aborted!" and exit 1)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_interrupted)


def run_until_signal(
    main: Coroutine[Any, Any, T], signals: tuple[signal.Signals, ...] = STOP_SIGNALS
) -> T:
    """`asyncio.run(main)`; a stop signal (of `signals`) cancels it and raises
    `Interrupted` once its cleanup has run."""

    async def guarded() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        received: list[int] = []

        def stop(signum: int) -> None:
            if not received:  # a second signal must not cut the cleanup short
                received.append(signum)
                task.cancel()

        for signum in signals:
            loop.add_signal_handler(signum, stop, signum)
        try:
            return await main
        except asyncio.CancelledError:
            if not received:
                raise
            task.uncancel()
            raise Interrupted(received[0]) from None

    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    try:
        return asyncio.run(guarded())
    finally:
        # The loop put the default handlers back when it closed; restore ours.
        for signum, handler in previous.items():
            signal.signal(signum, handler)
