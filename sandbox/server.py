"""Sandbox app assembly and a uvicorn runner usable in a background thread or blocking."""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType

import httpx
import uvicorn
from starlette.applications import Starlette

from sandbox import control, hs_commprefs, hubspot, mailchimp
from sandbox.config import SandboxConfig
from sandbox.store import SandboxStore

__all__ = ["SandboxConfig", "SandboxServer", "build_app", "serve"]


class _InjectedResetFilter(logging.Filter):
    """uvicorn logs an error for every response left unfinished; in the sandbox those
    are the injected connection resets, which are not errors of the sandbox."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_InjectedResetFilter())


def build_app(config: SandboxConfig | None = None) -> Starlette:
    """One Starlette app serving the HubSpot-style, Mailchimp-style and control routes."""
    app = Starlette(
        routes=[*control.routes(), *hubspot.routes(), *hs_commprefs.routes(), *mailchimp.routes()]
    )
    app.state.store = SandboxStore(config or SandboxConfig())
    return app


class SandboxServer:
    """Runs the sandbox with uvicorn in a daemon thread (``port=0`` picks a free port)."""

    def __init__(
        self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port
        self.app = build_app(self.config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def store(self) -> SandboxStore:
        store: SandboxStore = self.app.state.store
        return store

    def start(self, timeout: float = 10.0) -> None:
        """Bind, serve in the background and return once ``/3.0/ping``'s route answers."""
        if self._thread is not None:
            return
        # Binding ourselves lets port 0 resolve to a real port before uvicorn starts.
        # proto must be IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted
        # sockets whose proto says TCP, and without it keep-alive requests stall ~40 ms.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="baton-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                # The stats route needs no auth, so it proves the app itself is answering.
                if httpx.get(self.url + "/_sandbox/stats", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"sandbox did not start on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    access_log: bool = False,
) -> None:
    """Blocking server for ``baton sandbox --port P`` (Ctrl-C to stop).

    Quiet by default: it usually runs in the background of the shell Baton is
    used from, and request counts are at /_sandbox/stats.
    """
    uvicorn.run(
        build_app(config),
        host=host,
        port=port,
        log_level="info" if access_log else "warning",
        access_log=access_log,
        lifespan="off",
    )
