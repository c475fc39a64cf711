"""HubSpot-style search: the request body's rules, and filters and sorts evaluated against
contact properties.

Where HubSpot's documentation leaves a point open, this takes the stricter reading:

- every field the spec's ``PublicObjectSearchRequest`` lists as required (``after``,
  ``filterGroups``, ``limit``, ``properties``, ``sorts``) must be present, with its JSON type;
  ``after`` is a cursor string (``"0"`` for the first page);
- at most one sort rule, 5 filter groups, 6 filters in a group and 18 filters in all (the
  smallest of the limits HubSpot's guides and changelog give);
- a filter needs ``propertyName`` and ``operator`` (both required by the spec); ``value``,
  ``highValue`` and ``values`` hold strings, as the spec types them;
- ``query`` (free text) is refused: the sandbox does not model it, and answering as if it
  were absent would be a false pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


REQUIRED_FIELDS = ("after", "filterGroups", "limit", "properties", "sorts")
SORTS_MAX = 1
GROUPS_MAX = 5
FILTERS_PER_GROUP_MAX = 6
FILTERS_MAX = 18


class SearchError(ValueError):
    """A malformed search body, filter or sort (answered with 400 VALIDATION_ERROR)."""


@dataclass(frozen=True)
class SearchRequest:
    """What a search body asks for, once its shape has been checked."""

    offset: int
    limit: int
    properties: list[str]


def parse_request(body: Any, page_max: int) -> SearchRequest:
    """Check a search body against the spec's required fields, types and HubSpot's limits."""
    if not isinstance(body, dict):
        raise SearchError("search body must be an object")
    missing = [name for name in REQUIRED_FIELDS if name not in body]
    if missing:
        raise SearchError(f"Invalid input JSON: missing required field(s) {', '.join(missing)}")
    if "query" in body:
        raise SearchError("query (free-text search) is not modelled by the sandbox")
    after, limit, props = body["after"], body["limit"], body["properties"]
    if not isinstance(after, str) or not after.isdigit():
        raise SearchError(f"after must be a paging cursor string, got {after!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= page_max:
        raise SearchError(f"limit must be an integer between 1 and {page_max}; got {limit!r}")
    if not isinstance(props, list) or not all(isinstance(p, str) for p in props):
        raise SearchError("properties must be a list of property names")
    sorts = body["sorts"]
    if isinstance(sorts, list) and len(sorts) > SORTS_MAX:
        raise SearchError(f"at most {SORTS_MAX} sort rule may be applied to a search")
    _check_filter_counts(body["filterGroups"])
    return SearchRequest(int(after), limit, props)


def _check_filter_counts(groups: Any) -> None:
    if not isinstance(groups, list):
        raise SearchError("filterGroups must be a list")
    if len(groups) > GROUPS_MAX:
        raise SearchError(f"at most {GROUPS_MAX} filterGroups are allowed; got {len(groups)}")
    total = 0
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise SearchError("each filterGroup needs a filters list")
        if len(filters) > FILTERS_PER_GROUP_MAX:
            raise SearchError(
                f"at most {FILTERS_PER_GROUP_MAX} filters are allowed in a filterGroup"
            )
        total += len(filters)
    if total > FILTERS_MAX:
        raise SearchError(f"at most {FILTERS_MAX} filters are allowed in all; got {total}")


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
    if not isinstance(flt, Mapping):
        raise SearchError("each filter must be an object")
    name = flt.get("propertyName")
    op = flt.get("operator")
    if not isinstance(name, str) or not name:
        raise SearchError("filter is missing propertyName")
    if not isinstance(op, str) or op not in OPERATORS:
        raise SearchError(f"filter on {name} needs an operator of {sorted(OPERATORS)}; got {op!r}")
    for key in ("value", "highValue"):
        if key in flt and not isinstance(flt[key], str):
            raise SearchError(f"filter on {name}: {key} must be a string, got {flt[key]!r}")
    if "values" in flt and not (
        isinstance(flt["values"], list) and all(isinstance(v, str) for v in flt["values"])
    ):
        raise SearchError(f"filter on {name}: values must be a list of strings")
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
            direction = item.get("direction", "ASCENDING")
            if direction not in ("ASCENDING", "DESCENDING"):
                raise SearchError(f"sort direction must be ASCENDING or DESCENDING: {item!r}")
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
