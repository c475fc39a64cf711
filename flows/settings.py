"""Baton's settings, from the environment (names other tools rely on)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.hubspot_quota import HubSpotTier
from connectors.mailchimp import MAX_CONNECTIONS
from flows.setting_checks import base_url_problem, secret_problem
from mapping.packaged import PACKAGED_MAPPING
from state.database import database_url_problem

DEFAULT_MAPPING = PACKAGED_MAPPING
"""The shipped mapping, used when neither the setting nor the working directory names one."""
WORKING_DIRECTORY_MAPPING = Path("config") / "mapping.yaml"
DEFAULT_DATABASE_URL = "sqlite:///.baton/baton.db"


class MappingSource(StrEnum):
    """Where the mapping file in use was found (in lookup order)."""

    SETTING = "BATON_MAPPING_FILE"
    WORKING_DIRECTORY = "working directory"
    PACKAGED = "packaged default"


def find_mapping_file() -> Path:
    """`config/mapping.yaml` in the working directory, else the packaged default (the
    setting, when given, comes before both)."""
    return WORKING_DIRECTORY_MAPPING if WORKING_DIRECTORY_MAPPING.is_file() else DEFAULT_MAPPING


LegalBasis = Literal[
    "CONSENT_WITH_NOTICE",
    "LEGITIMATE_INTEREST_CLIENT",
    "LEGITIMATE_INTEREST_OTHER",
    "LEGITIMATE_INTEREST_PQL",
    "NON_GDPR",
    "PERFORMANCE_OF_CONTRACT",
    "PROCESS_AND_STORE",
]


class SettingsProblem(Exception):
    """A setting is missing or wrong; the message starts with the setting's name."""


class Settings(BaseSettings):
    """`BATON_*` environment variables. Secrets are `SecretStr`: never printed."""

    # hide_input_in_errors: a refused value (a token with a stray newline) must not
    # reach a message, a log or Prefect's state of a deployment run.
    model_config = SettingsConfigDict(
        env_prefix="BATON_", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = DEFAULT_DATABASE_URL
    hubspot_base_url: str = "https://api.hubapi.com"
    hubspot_token: SecretStr | None = None
    mailchimp_base_url: str | None = None
    mailchimp_api_key: SecretStr | None = None
    mailchimp_list_id: str | None = None
    mapping_file: Path = Field(default_factory=find_mapping_file)
    """`BATON_MAPPING_FILE`, else `config/mapping.yaml` here, else the packaged default."""
    phone_default_region: str = Field(default="US", min_length=2, max_length=2)
    """Where a phone number written without a country code is read (ISO 3166 code)."""
    hubspot_search_lag_seconds: int = Field(default=30, ge=0)
    """How late HubSpot's search may see a write (HubSpot gives no figure; a generous guess).
    Declared before the overlap so the overlap can be checked against it."""
    sync_overlap_seconds: int = Field(default=120, ge=0)
    """How far each pull reaches back before the cursor; must cover the search lag."""
    lease_timeout_seconds: int = Field(default=600, ge=30)
    """A run that has not renewed its lease for this long is taken to be dead."""
    hubspot_subscription_id: int | None = Field(default=None, gt=0)
    """The HubSpot email subscription opt-outs are recorded against (default: the portal's
    single default marketing subscription)."""
    hubspot_legal_basis: LegalBasis | None = None
    """Sent with every opt-out; GDPR-enabled portals require one."""
    hubspot_legal_basis_explanation: str = (
        "Opt-out received from the email platform and recorded by Baton"
    )
    hubspot_rate_tier: HubSpotTier = HubSpotTier.STARTER
    """Sizes the 10-second budget; the portal's own rate-limit headers correct it."""
    hubspot_rate_share: float = Field(default=1.0, gt=0, le=1)
    """The part of that budget Baton may use; lower it when other apps share the portal."""
    mailchimp_max_connections: int = Field(default=MAX_CONNECTIONS, ge=1, le=MAX_CONNECTIONS)
    http_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=600)
    """How long to wait for a vendor to accept a connection (each attempt)."""
    http_read_timeout_seconds: float = Field(default=20.0, gt=0, le=3600)
    """How long to wait for an answer once connected (each attempt; retries follow)."""

    @field_validator("hubspot_token", "mailchimp_api_key")
    @classmethod
    def _usable_secret(cls, value: SecretStr | None) -> SecretStr | None:
        problem = secret_problem(value.get_secret_value()) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("hubspot_base_url", "mailchimp_base_url")
    @classmethod
    def _usable_base_url(cls, value: str | None) -> str | None:
        problem = base_url_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str) -> str:
        problem = database_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("sync_overlap_seconds")
    @classmethod
    def _overlap_covers_search_lag(cls, overlap: int, info: ValidationInfo) -> int:
        # A record changed just before a run starts, still missing from search, is
        # found by the next run only if that run reaches back past it: refuse an
        # overlap that certainly cannot.
        lag = info.data.get("hubspot_search_lag_seconds")
        if lag is not None and overlap < lag:
            raise PydanticCustomError(
                "overlap_below_search_lag",
                "{overlap} s is shorter than BATON_HUBSPOT_SEARCH_LAG_SECONDS ({lag} s): "
                "records changed just before a run would never be pulled; "
                "set it to at least {lag}",
                {"overlap": overlap, "lag": lag},
            )
        return overlap

    @property
    def mapping_source(self) -> MappingSource:
        if "mapping_file" in self.model_fields_set:
            return MappingSource.SETTING
        if self.mapping_file == WORKING_DIRECTORY_MAPPING:
            return MappingSource.WORKING_DIRECTORY
        return MappingSource.PACKAGED

    def mapping_line(self) -> str:
        """One line saying which mapping file is in use and why that one."""
        return f"mapping: {self.mapping_file} ({self.mapping_source})"

    def prepare_data_dir(self) -> None:
        """Create `.baton/` for the default database; any other location must exist."""
        if self.database_url == DEFAULT_DATABASE_URL:
            Path(".baton").mkdir(exist_ok=True)

    def require_credentials(self) -> None:
        """Raise `SettingsProblem` naming the first missing setting."""
        missing = [
            ("BATON_HUBSPOT_TOKEN", self.hubspot_token, "the HubSpot private-app token"),
            ("BATON_MAILCHIMP_API_KEY", self.mailchimp_api_key, "the Mailchimp API key"),
            ("BATON_MAILCHIMP_LIST_ID", self.mailchimp_list_id, "the Mailchimp audience id"),
        ]
        for name, value, what in missing:
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not text or not text.strip():
                raise SettingsProblem(f"{name} is not set: it must hold {what}")

    def setting_for(self, system: str) -> str:
        """The URL setting to blame when `system` cannot be reached."""
        return {"hubspot": "BATON_HUBSPOT_BASE_URL", "mailchimp": "BATON_MAILCHIMP_BASE_URL"}.get(
            system, "BATON_*"
        )

    def credential_for(self, system: str) -> str:
        return {"hubspot": "BATON_HUBSPOT_TOKEN", "mailchimp": "BATON_MAILCHIMP_API_KEY"}.get(
            system, "BATON_*"
        )
