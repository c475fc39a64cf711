"""A host that accepts connections but never answers: one line, within the timeout."""

from __future__ import annotations

import socket
import time

from sandbox.server import SandboxConfig, SandboxServer
from tests.integration.cli.test_cli_errors import baton, one_line_error, settings_for


def test_silent_host_ends_within_the_read_timeout_naming_it(tmp_path) -> None:
    config = SandboxConfig(overlap=1, hubspot_only=0, mailchimp_only=0)
    # A listening socket nobody accepts from: the kernel completes the handshake,
    # then nothing is ever said.
    with SandboxServer(config) as server, socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        env = {
            **settings_for(server, config, tmp_path),
            "BATON_HUBSPOT_BASE_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
            "BATON_HTTP_READ_TIMEOUT_SECONDS": "1.5",
        }
        started = time.monotonic()
        result = baton("sync", env=env)
        took = time.monotonic() - started
    line = one_line_error(result)
    assert line.startswith("error: BATON_HTTP_READ_TIMEOUT_SECONDS: hubspot ")
    assert "within 1.5 s" in line
    assert "BATON_HUBSPOT_BASE_URL" in line  # the other thing worth checking
    # Two pre-run attempts of 1.5 s and a short backoff, plus interpreter start-up.
    assert took < 3 + 6, f"took {took:.1f} s"
    assert took >= 3
