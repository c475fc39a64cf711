"""Sandbox configuration (shared by the server, the store and the seeder)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from sandbox.faults import ALL_KINDS, FaultKind


class Preset(StrEnum):
    """Which portal the sandbox plays (field definitions and the values seeded into them).

    ``baton``: the properties and merge fields Baton's shipped mapping names already exist
    (the default; most tests assume it). ``fresh``: a portal nobody has customised, with
    HubSpot's standard contact properties and Mailchimp's default merge fields only.
    ``customised``: custom properties and picklists that differ from Baton's defaults.
    """

    BATON = "baton"
    FRESH = "fresh"
    CUSTOMISED = "customised"


class SandboxConfig(BaseModel):
    """Credentials, seed sizes and rate limits for one sandbox instance."""

    hubspot_token: str = "sandbox-hubspot-token"
    mailchimp_api_key: str = "sandbox-mailchimp-key-us1"
    list_id: str = "a1b2c3d4e5"
    preset: Preset = Preset.BATON
    seed: int = 7
    overlap: int = 40
    hubspot_only: int = 30
    mailchimp_only: int = 30
    invalid_emails: int = 2
    missing_emails: int = 1
    hubspot_burst: int = 100
    hubspot_search_per_second: int = 5
    mailchimp_max_connections: int = 10
    # Added to every vendor request, as a real API's round trip would be (benchmarks: 30).
    # A Mailchimp request holds its connection slot for the whole wait.
    latency_ms: int = 0
    # A GDPR-enabled HubSpot portal: subscription writes need a legal basis and its explanation.
    hubspot_gdpr: bool = False
    # Keep every request and response for the OpenAPI contract tests (sandbox.recorder).
    record_exchanges: bool = False
    # Seconds before a HubSpot write shows in search (sandbox.hs_index); 0 = at once.
    search_lag_seconds: float = Field(default=0.0, ge=0)
    # Share of vendor requests that fail, how, and from which seed (sandbox.faults).
    fault_rate: float = Field(default=0.0, ge=0, le=1)
    fault_seed: int = 0
    fault_kinds: list[FaultKind] = Field(default_factory=lambda: list(ALL_KINDS))
    # How late a stalled answer comes: keep it above the client's read timeout.
    stall_seconds: float = Field(default=45.0, ge=0)
