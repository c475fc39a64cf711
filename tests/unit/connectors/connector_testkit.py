"""Constants shared by the connector tests."""

from __future__ import annotations

from connectors.http import RetryPolicy

HS_URL = "https://hs.test"
MC_URL = "https://mc.test/3.0"
HS_TOKEN = "pat-secret-token-123"
MC_KEY = "secretkey0123456789-us21"
FAST = RetryPolicy(max_attempts=3, base_wait_s=0.001, max_wait_s=0.01)
