"""Serve a sandbox from a JSON `SandboxConfig` (benchmarks: latency, rate limits, sizes).

`python tests/benchmarks/serve_sandbox.py PORT '{"latency_ms": 30, ...}'`; the sandbox runs in
its own process so the syncing process's CPU and memory are Baton's alone.
"""

from __future__ import annotations

import sys

from sandbox.server import SandboxConfig, serve

if __name__ == "__main__":
    serve(SandboxConfig.model_validate_json(sys.argv[2]), "127.0.0.1", int(sys.argv[1]))
