"""Search bodies as the spec's PublicObjectSearchRequest requires them (every required field)."""

from __future__ import annotations

from typing import Any


def search_body(*groups: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """A complete search body: one filter group per list of filters, first page, no sort."""
    body: dict[str, Any] = {
        "after": "0",
        "filterGroups": [{"filters": filters} for filters in groups],
        "sorts": [],
        "properties": [],
        "limit": 10,
    }
    return {**body, **fields}
