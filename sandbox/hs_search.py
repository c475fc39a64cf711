"""Evaluation of HubSpot-style search filters and sorts against contact properties."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sandbox.hs_properties import PROPERTIES
from sandbox.timefmt import hubspot_iso, parse_iso

Props = Mapping[str, str | None]

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
    }
)


class SearchError(ValueError):
    """A malformed filter or sort (answered with 400 VALIDATION_ERROR)."""


def _kind(name: str) -> str:
    prop = PROPERTIES.get(name)
    if prop is None:
        return "string"
    return prop.type


def _date_key(raw: Any) -> str:
    """Dates compare as fixed-width HubSpot ISO strings; accept epoch ms or ISO input."""
    text = str(raw).strip()
    if len(text) == 24 and text.endswith("Z") and text[10] == "T":
        return text  # already in the stored fixed-width form; skip a parse per record
    if text.lstrip("-").isdigit():
        moment = datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    else:
        try:
            moment = parse_iso(text)
        except ValueError as exc:
            raise SearchError(f"{raw!r} is not a valid date") from exc
    return hubspot_iso(moment)


def comparable(name: str, raw: Any) -> float | str:
    """Turn a stored or filter value into something orderable for ``name``."""
    kind = _kind(name)
    if kind == "number":
        try:
            return float(raw)
        except (TypeError, ValueError) as exc:
            raise SearchError(f"{raw!r} is not a valid number") from exc
    if kind == "datetime":
        return _date_key(raw)
    text = str(raw)
    return text.strip().lower() if name == "email" else text.lower()


def _stored(props: Props, name: str) -> float | str | None:
    value = props.get(name)
    if value is None or value == "":
        return None
    try:
        return comparable(name, value)
    except SearchError:
        return None


def compile_filter(flt: Mapping[str, Any]) -> Callable[[Props], bool]:
    """Build a predicate from one ``{propertyName, operator, value|values|highValue}``."""
    name = flt.get("propertyName")
    op = str(flt.get("operator", "EQ")).upper()
    if not isinstance(name, str) or not name:
        raise SearchError("filter is missing propertyName")
    if op not in OPERATORS:
        raise SearchError(f"Unsupported operator {op}")
    if op == "HAS_PROPERTY":
        return lambda props: _stored(props, name) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda props: _stored(props, name) is None
    if op in ("IN", "NOT_IN"):
        values = flt.get("values")
        if not isinstance(values, list):
            raise SearchError(f"{op} requires values")
        wanted = {comparable(name, v) for v in values}
        if op == "IN":
            return lambda props: _stored(props, name) in wanted
        return lambda props: _stored(props, name) not in wanted
    if "value" not in flt:
        raise SearchError(f"{op} requires value")
    target = comparable(name, flt["value"])
    if op == "BETWEEN":
        if "highValue" not in flt:
            raise SearchError("BETWEEN requires highValue")
        high = comparable(name, flt["highValue"])

        def between(props: Props) -> bool:
            got = _stored(props, name)
            return got is not None and target <= got <= high  # type: ignore[operator]

        return between
    if op == "EQ":
        return lambda props: _stored(props, name) == target
    if op == "NEQ":
        return lambda props: _stored(props, name) != target
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
    }
    check = compare[op]

    def ordered(props: Props) -> bool:
        got = _stored(props, name)
        return got is not None and type(got) is type(target) and check(got, target)

    return ordered


def compile_groups(groups: Any) -> Callable[[Props], bool]:
    """Groups are OR-ed, filters inside one group AND-ed; no groups matches everything."""
    if groups is None or groups == []:
        return lambda props: True
    if not isinstance(groups, list):
        raise SearchError("filterGroups must be a list")
    compiled: list[list[Callable[[Props], bool]]] = []
    for group in groups:
        filters = group.get("filters", []) if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise SearchError("each filterGroup needs a filters list")
        compiled.append([compile_filter(f) for f in filters])
    return lambda props: any(all(f(props) for f in group) for group in compiled)


def parse_sorts(sorts: Any) -> list[tuple[str, bool]]:
    """Accept ``["-prop"]`` strings and ``{propertyName, direction}`` objects; True = descending."""
    if sorts is None:
        return []
    if not isinstance(sorts, list):
        raise SearchError("sorts must be a list")
    parsed: list[tuple[str, bool]] = []
    for item in sorts:
        if isinstance(item, str) and item:
            parsed.append((item.lstrip("-"), item.startswith("-")))
        elif isinstance(item, dict) and isinstance(item.get("propertyName"), str):
            direction = str(item.get("direction", "ASCENDING")).upper()
            parsed.append((item["propertyName"], direction == "DESCENDING"))
        else:
            raise SearchError(f"invalid sort {item!r}")
    return parsed


def sort_key(props: Props, name: str) -> tuple[int, float | str]:
    """Missing values sort before present ones (ascending)."""
    got = _stored(props, name)
    if got is None:
        return (0, "")
    return (1, got)
