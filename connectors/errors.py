"""Errors raised by the connectors.

    ConnectorError                 anything that went wrong talking to an outside system
    ├── ConfigurationError         the client cannot even be built (bad URL, missing credential)
    ├── Unreachable                connection refused / DNS / timeout after all retries
    │   └── TimedOut               no connection or no answer within the timeout, every attempt
    ├── AuthenticationFailed       401 / 403: the credential is wrong or lacks scopes
    ├── RateLimited                429 still coming back after all retries
    ├── ServerError                5xx still coming back after all retries
    ├── BadResponse                2xx whose body is not whole JSON after all retries
    └── RequestRejected            any other 4xx for the request as a whole

Failures of single records inside an otherwise successful batch are not
exceptions: they come back as `RecordFailure` values so the rest of the batch
goes on (see `connectors.contract`).
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class: carries the system, HTTP status and the vendor's request id."""

    def __init__(
        self,
        message: str,
        *,
        system: str,
        status: int | None = None,
        request_id: str | None = None,
        category: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.status = status
        self.request_id = request_id
        self.category = category

    def __str__(self) -> str:
        parts = [f"{self.system}: {self.message}"]
        if self.status is not None:
            parts.append(f"(HTTP {self.status}")
            parts[-1] += f", request id {self.request_id})" if self.request_id else ")"
        return " ".join(parts)


class ConfigurationError(ConnectorError):
    """The client was given settings it cannot work with."""


class Unreachable(ConnectorError):
    """The server could not be reached (connection error or timeout)."""


class TimedOut(Unreachable):
    """Every attempt ran out of time; `category` says which wait: CONNECT or READ."""

    CONNECT = "connect"
    READ = "read"


class AuthenticationFailed(ConnectorError):
    """The server refused the credential (401) or its scope (403)."""


class RateLimited(ConnectorError):
    """The server kept answering 429 after every retry."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(ConnectorError):
    """The server kept failing with 5xx after every retry."""


class BadResponse(ConnectorError):
    """The server kept answering with bodies that could not be read (truncated JSON)."""


class RequestRejected(ConnectorError):
    """The server rejected the whole request with a 4xx (other than 401/403/429)."""
