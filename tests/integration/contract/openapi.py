"""Check recorded sandbox exchanges against the vendors' OpenAPI files in ../shared/specs.

Each exchange is matched to one spec operation by method and path template
(a literal segment beats a parameter). The request's query parameters must be
declared by the operation and fit their schema; its JSON body must validate
against the operation's body schema with the write rules (no read-only
properties); the response body must validate against the schema declared for
its status code (or ``default``) with the read rules. ``$ref``s resolve
inside their own file.

HubSpot's files are OpenAPI 3.0; Mailchimp's is Swagger 2.0 (base path
``/3.0``, body as an ``in: body`` parameter, schemas fully expanded).
Mailchimp's 3.0.90 file predates one rule of its current OpenAPI that the
connector must follow, so it is layered on top (`OVERLAYS`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.protocols import Validator
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator

from sandbox.recorder import Exchange

REPO_ROOT = Path(__file__).resolve().parents[3]
HUBSPOT_FILES = ("contacts.json", "properties.json", "owners.json", "subscriptions-v4.json")
MAILCHIMP_FILE = "marketing-subset.json"

# Mailchimp's current OpenAPI: each batch-subscribe member needs status or status_if_new.
_NEEDS_A_STATUS = {
    "type": "object",
    "properties": {
        "members": {
            "type": "array",
            "items": {"anyOf": [{"required": ["status"]}, {"required": ["status_if_new"]}]},
        }
    },
}
OVERLAYS: dict[tuple[str, str], Mapping[str, Any]] = {
    ("POST", "/3.0/lists/{list_id}"): _NEEDS_A_STATUS,
}


# User-Agent prefixes of the official SDKs (hubspot-api-client, mailchimp-marketing).
SDK_CLIENTS = ("hubspot-api-client-python", "Swagger-Codegen/")


@dataclass(frozen=True)
class Erratum:
    """A place where a spec file is known to disagree with the live API, and why."""

    source_prefix: str
    where_prefix: str
    message: re.Pattern[str]
    reason: str
    # Only requests from these clients (User-Agent prefixes) are excused; empty: any client.
    clients: tuple[str, ...] = ()

    def covers(self, source: str, where: str, message: str, user_agent: str = "") -> bool:
        return (
            source.startswith(self.source_prefix)
            and where.startswith(self.where_prefix)
            and self.message.search(message) is not None
            and (not self.clients or user_agent.startswith(self.clients))
        )


ERRATA = (
    Erratum(
        "hubspot/contacts.json",
        "request",
        re.compile(r"^sorts/\d+: \{.*\} is not of type 'string'$"),
        "PublicObjectSearchRequest.sorts is typed as strings; HubSpot's guides and API take "
        "{propertyName, direction} objects (shared/specs/README.md, spec quirks)",
    ),
    Erratum(
        "hubspot/",
        "response",
        re.compile(r"(^|/)properties/[^/]+: None (for not nullable|is not of type 'string')$"),
        "HubSpot answers a requested property that has no value with null; the schema's "
        "property map does not say nullable",
    ),
    Erratum(
        "hubspot/",
        "query ",
        re.compile(r"^'(True|False)' is not a boolean$"),
        "the official Python SDK (hubspot-api-client 12) writes query booleans as Python's "
        "True/False (e.g. get_page(archived=True)); HubSpot reads them case-insensitively. "
        "Excused for the SDK's own requests only: Baton must send the spec's true/false",
        clients=SDK_CLIENTS,
    ),
)


class SpecsMissing(RuntimeError):
    """The vendors' spec files are not where CI and the worktrees keep them."""


def _main_checkout(root: Path) -> Path | None:
    """In a git worktree, the main checkout's folder (``.git`` is then a file)."""
    marker = root / ".git"
    if not marker.is_file():
        return None
    gitdir = Path(marker.read_text().removeprefix("gitdir:").strip())
    common = gitdir / "commondir"
    if not common.is_file():
        return None
    return (gitdir / common.read_text().strip()).resolve().parent


def specs_dir(root: Path = REPO_ROOT) -> Path:
    """``<repo root>/../shared/specs`` (for a worktree, also its main checkout's)."""
    candidates = [root.parent / "shared" / "specs"]
    main = _main_checkout(root)
    if main is not None:
        candidates.append(main.parent / "shared" / "specs")
    for candidate in candidates:
        if (candidate / "mailchimp" / MAILCHIMP_FILE).is_file():
            return candidate
    raise SpecsMissing(
        "vendor OpenAPI files not found; expected a copy of shared/ beside the clone: "
        + ", ".join(str(c) for c in candidates)
    )


@dataclass(frozen=True)
class Operation:
    """One spec operation and what is needed to validate its traffic."""

    source: str
    method: str
    template: str
    literal_segments: int
    pattern: re.Pattern[str]
    spec: Mapping[str, Any] = field(repr=False)
    op: Mapping[str, Any] = field(repr=False)
    swagger: bool = False

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(frozen=True)
class Violation:
    operation: str
    exchange: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.exchange} ({self.operation}) {self.where}: {self.message}"


@dataclass
class Report:
    """The outcome of checking a set of exchanges."""

    checked: int = 0
    unmatched: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    operations: set[str] = field(default_factory=set)
    # Disagreements the spec file itself gets wrong (see ERRATA), by reason.
    excused: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"unmatched: {u}" for u in self.unmatched]
        lines += [str(v) for v in self.violations[:40]]
        return "\n".join(lines)


def _compile(template: str) -> tuple[re.Pattern[str], int]:
    parts = template.strip("/").split("/")
    regex = "".join("/[^/]+" if p.startswith("{") else "/" + re.escape(p) for p in parts)
    return re.compile(f"^{regex}$"), sum(1 for p in parts if not p.startswith("{"))


def _operations(
    source: str, spec: Mapping[str, Any], prefix: str, swagger: bool
) -> list[Operation]:
    out = []
    for template, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters" or not isinstance(op, dict):
                continue
            full = prefix + template
            pattern, literal = _compile(full)
            out.append(Operation(source, method.upper(), full, literal, pattern, spec, op, swagger))
    return out


class ContractChecker:
    """Validates exchanges against every loaded spec file."""

    def __init__(self, root: Path | None = None) -> None:
        base = root or specs_dir()
        self.operations: list[Operation] = []
        for name in HUBSPOT_FILES:
            spec = json.loads((base / "hubspot" / name).read_text())
            self.operations += _operations(f"hubspot/{name}", spec, "", swagger=False)
        mailchimp = json.loads((base / "mailchimp" / MAILCHIMP_FILE).read_text())
        self.operations += _operations(
            f"mailchimp/{MAILCHIMP_FILE}", mailchimp, mailchimp.get("basePath", ""), swagger=True
        )

    def match(self, method: str, path: str) -> Operation | None:
        found = [o for o in self.operations if o.method == method and o.pattern.match(path)]
        return max(found, key=lambda o: o.literal_segments, default=None)

    def check(self, exchanges: Iterable[Exchange]) -> Report:
        report = Report()
        for exchange in exchanges:
            report.checked += 1
            label = f"{exchange.method} {exchange.path} -> {exchange.status}"
            operation = self.match(exchange.method, exchange.path)
            if operation is None:
                report.unmatched.append(label)
                continue
            report.operations.add(operation.key)
            for where, message in check_exchange(operation, exchange):
                erratum = next(
                    (
                        e
                        for e in ERRATA
                        if e.covers(operation.source, where, message, exchange.user_agent)
                    ),
                    None,
                )
                if erratum is not None:
                    report.excused[erratum.reason] = report.excused.get(erratum.reason, 0) + 1
                    continue
                report.violations.append(Violation(operation.key, label, where, message))
        return report


# -- one exchange ------------------------------------------------------------


def check_exchange(operation: Operation, exchange: Exchange) -> list[tuple[str, str]]:
    problems = _query_problems(operation, exchange.query)
    problems += _request_problems(operation, exchange)
    if not exchange.injected:  # an injected fault's answer is broken on purpose
        problems += _response_problems(operation, exchange)
    return problems


def _parameters(operation: Operation) -> list[Mapping[str, Any]]:
    item = operation.spec["paths"][_spec_template(operation)]
    params = [*item.get("parameters", []), *operation.op.get("parameters", [])]
    return [_deref(operation.spec, p) for p in params]


def _spec_template(operation: Operation) -> str:
    base = operation.spec.get("basePath", "") if operation.swagger else ""
    return operation.template.removeprefix(base)


def _query_problems(
    operation: Operation, query: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    declared = {p["name"]: p for p in _parameters(operation) if p.get("in") == "query"}
    problems: list[tuple[str, str]] = []
    values: dict[str, list[str]] = {}
    for name, value in query:
        values.setdefault(name, []).append(value)
    for name, given in values.items():
        param = declared.get(name)
        if param is None:
            problems.append((f"query {name}", "not a parameter of this operation"))
            continue
        schema = param.get("schema", param)  # Swagger 2 puts type/enum on the parameter
        for error in _query_value_errors(schema, given):
            problems.append((f"query {name}", error))
    for name, param in declared.items():
        if param.get("required") and name not in values:
            problems.append((f"query {name}", "required parameter missing"))
    return problems


def _query_value_errors(schema: Mapping[str, Any], given: list[str]) -> list[str]:
    kind = schema.get("type")
    if kind == "array":
        items = [part for value in given for part in value.split(",")]
        return [e for item in items for e in _scalar_errors(schema.get("items", {}), item)]
    return [e for value in given for e in _scalar_errors(schema, value)]


def _scalar_errors(schema: Mapping[str, Any], raw: str) -> list[str]:
    kind = schema.get("type")
    value: Any = raw
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", raw):
            return [f"{raw!r} is not an integer"]
        value = int(raw)
    elif kind == "boolean":
        if raw not in ("true", "false"):
            return [f"{raw!r} is not a boolean"]
        value = raw == "true"
    if "enum" in schema and value not in schema["enum"]:
        return [f"{raw!r} is not one of {schema['enum']}"]
    return []


def _request_problems(operation: Operation, exchange: Exchange) -> list[tuple[str, str]]:
    schema, required = _request_schema(operation)
    if not exchange.request_body:
        if required and exchange.method in ("POST", "PUT", "PATCH"):
            return [("request body", "required body missing")]
        return []
    if schema is None:
        return [("request body", "the operation takes no body")]
    if "json" not in exchange.request_content_type:
        return [("request body", f"content type {exchange.request_content_type!r}, not JSON")]
    try:
        body = json.loads(exchange.request_body)
    except ValueError as exc:
        return [("request body", f"not JSON: {exc}")]
    problems = _schema_errors(operation, schema, body, write=True, where="request")
    overlay = OVERLAYS.get((operation.method, operation.template))
    if overlay is not None:
        problems += [
            ("request (current vendor rule)", _describe(e))
            for e in Draft4Validator(overlay).iter_errors(body)
        ]
    return problems


def _request_schema(operation: Operation) -> tuple[Mapping[str, Any] | None, bool]:
    if operation.swagger:
        for param in _parameters(operation):
            if param.get("in") == "body":
                return param["schema"], bool(param.get("required"))
        return None, False
    body = operation.op.get("requestBody")
    if body is None:
        return None, False
    body = _deref(operation.spec, body)
    content = body.get("content", {})
    media = content.get("application/json") or next(iter(content.values()), {})
    return media.get("schema"), bool(body.get("required"))


def _response_problems(operation: Operation, exchange: Exchange) -> list[tuple[str, str]]:
    responses = operation.op.get("responses", {})
    declared = responses.get(str(exchange.status)) or responses.get("default")
    where = f"response {exchange.status}"
    if declared is None:
        return [(where, f"status not declared (declared: {', '.join(responses)})")]
    declared = _deref(operation.spec, declared)
    schema = _response_schema(operation, declared)
    if exchange.status == 204 or schema is None:
        if exchange.response_body:
            return [(where, "a body where the spec declares none")]
        return []
    if "json" not in exchange.response_content_type:
        return [(where, f"content type {exchange.response_content_type!r}, not JSON")]
    try:
        body = json.loads(exchange.response_body)
    except ValueError as exc:
        return [(where, f"not JSON: {exc}")]
    return _schema_errors(operation, schema, body, write=False, where=where)


def _response_schema(operation: Operation, declared: Mapping[str, Any]) -> Any:
    if operation.swagger:
        return declared.get("schema")
    content = declared.get("content", {})
    media = content.get("application/json") or content.get("*/*")
    return None if media is None else media.get("schema")


def _schema_errors(
    operation: Operation, schema: Mapping[str, Any], body: Any, *, write: bool, where: str
) -> list[tuple[str, str]]:
    validator = _validator(operation, json.dumps(schema, sort_keys=True), write)
    return [(where, _describe(e)) for e in validator.iter_errors(body)]


_VALIDATORS: dict[tuple[str, str, bool], Validator] = {}


def _validator(operation: Operation, schema_json: str, write: bool) -> Validator:
    key = (operation.source, schema_json, write)
    cached = _VALIDATORS.get(key)
    if cached is not None:
        return cached
    schema = json.loads(schema_json)
    validator: Validator
    if operation.swagger:
        # Swagger 2.0 schemas are a JSON Schema draft 4 subset; this file has no $refs.
        validator = Draft4Validator(schema)
    else:
        # `#/components/...` resolves against the root, so the file's components ride along.
        root = {**schema, "components": operation.spec.get("components", {})}
        cls = OAS30WriteValidator if write else OAS30ReadValidator
        validator = cls(root)
    _VALIDATORS[key] = validator
    return validator


def _deref(spec: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _describe(error: Any) -> str:
    path = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{path}: {error.message[:300]}"
