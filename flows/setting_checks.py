"""Checks of setting values that would otherwise fail deep inside a request.

Each returns what is wrong in words, or None. A secret's problem never quotes
the secret, not even the offending character: a message may end up in a log.
"""

from __future__ import annotations

import httpx


def secret_problem(value: str) -> str | None:
    """A token or key must be sent as an HTTP header: printable ASCII, nothing around it."""
    if not value:
        return None  # unset; `Settings.require_credentials` says so where it matters
    if value != value.strip():
        return "has spaces or a line break around it; set it to the bare value"
    if any(ch in "\r\n" for ch in value):
        return "has a line break in it; set it to the bare value on one line"
    if any(not ch.isascii() for ch in value):
        return "has a non-ASCII character in it (a token or key is plain ASCII); copy it again"
    if any(not ch.isprintable() or ch.isspace() for ch in value):
        return "has a space or control character in it; copy it again"
    return None


def base_url_problem(value: str) -> str | None:
    """An http(s) URL with a host and a valid port."""
    if value.count("[") != value.count("]"):
        return "is not a valid URL: a '[' around an IPv6 address is not closed"
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        # httpx's messages name the part at fault, not the whole URL.
        return f"is not a valid URL ({_first_line(exc)})"
    if url.scheme not in ("http", "https"):
        return "must start with https:// (or http:// for a local sandbox)"
    if not url.host:
        return "has no host name"
    if url.port is not None and not 0 < url.port < 65536:
        return f"has port {url.port}; a port is 1 to 65535"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()
    return text[0] if text else type(exc).__name__
