"""The mapping file admins edit: which vendor field holds each canonical field,
in which direction values flow, how values translate, and who wins a conflict.

Loaded from YAML and validated once; every error names the file and line.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.systems import marketing_systems
from mapping.errors import MappingConfigError
from mapping.schema import CANONICAL_FIELDS, IDENTITY_FIELD
from mapping.transforms import NAMED as NAMED_TRANSFORMS

SYSTEMS: tuple[str, ...] = ("hubspot", "mailchimp")
# Systems that marketing reads: sensitive (clinical) fields must never reach them.
MARKETING_SYSTEMS: frozenset[str] = marketing_systems()


class Direction(StrEnum):
    BOTH = "both"
    PULL = "pull"  # system -> Baton only
    PUSH = "push"  # Baton -> system only


class Binding(BaseModel):
    """Where one canonical field lives in one system."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(min_length=1)
    direction: Direction = Direction.BOTH
    values: dict[str, str] | None = None
    """canonical value -> vendor value (enum fields)."""
    read_values: dict[str, str] | None = None
    """vendor value -> canonical value, when `values` is not one-to-one."""
    transforms: tuple[str, ...] = ()

    @property
    def pulls(self) -> bool:
        return self.direction in (Direction.BOTH, Direction.PULL)

    @property
    def pushes(self) -> bool:
        return self.direction in (Direction.BOTH, Direction.PUSH)

    def vendor_to_canonical(self) -> dict[str, str] | None:
        if self.read_values is not None:
            return self.read_values
        if self.values is not None:
            return {vendor: canonical for canonical, vendor in self.values.items()}
        return None


class OwnerPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    owner: str


Policy = Literal["newest", "consent"] | OwnerPolicy


class FieldMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Policy = "newest"
    sensitive: bool = False
    bindings: dict[str, Binding]

    @model_validator(mode="before")
    @classmethod
    def _collect_bindings(cls, data: Any) -> Any:
        # In YAML each system is a key next to the options; a plain string is
        # shorthand for `{field: <string>}`.
        if not isinstance(data, dict):
            return data
        options = {k: v for k, v in data.items() if k in ("policy", "sensitive")}
        bindings = {}
        for key, value in data.items():
            if key in options:
                continue
            bindings[key] = {"field": value} if isinstance(value, str) else value
        return {**options, "bindings": bindings}

    def binding(self, system: str) -> Binding | None:
        return self.bindings.get(system)


class MappingConfig(BaseModel):
    """The whole mapping file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    fields: dict[str, FieldMapping]

    def bound(self, system: str) -> list[tuple[str, Binding]]:
        """(canonical name, binding) for every field mapped in `system`."""
        return [
            (name, fm.bindings[system]) for name, fm in self.fields.items() if system in fm.bindings
        ]

    def vendor_fields(self, system: str) -> list[str]:
        return [b.field for _, b in self.bound(system)]

    def identity_binding(self, system: str) -> Binding:
        return self.fields[IDENTITY_FIELD].bindings[system]

    @model_validator(mode="after")
    def _check(self) -> MappingConfig:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for name, fm in self.fields.items():
            where: tuple[str | int, ...] = ("fields", name)
            spec = CANONICAL_FIELDS.get(name)
            if spec is None:
                known = ", ".join(CANONICAL_FIELDS)
                problems.append((where, f"unknown canonical field {name!r} (known: {known})"))
                continue
            for system, binding in fm.bindings.items():
                at = (*where, system)
                if system not in SYSTEMS:
                    problems.append(
                        (
                            at,
                            f"unknown system or option {system!r} "
                            f"(systems: {', '.join(SYSTEMS)}; options: policy, "
                            "sensitive)",
                        )
                    )
                    continue
                problems.extend(_check_binding(at, spec.choices, binding))
                if (
                    (fm.sensitive or spec.sensitive)
                    and system in MARKETING_SYSTEMS
                    and binding.pushes
                ):
                    problems.append(
                        (
                            at,
                            f"field {name!r} is sensitive and may never be sent "
                            f"to {system}; remove this binding or make it "
                            "`direction: pull`",
                        )
                    )
            if isinstance(fm.policy, OwnerPolicy) and fm.policy.owner not in fm.bindings:
                problems.append(
                    (
                        (*where, "policy"),
                        f"owner {fm.policy.owner!r} has no binding for field {name!r}",
                    )
                )
        identity = self.fields.get(IDENTITY_FIELD)
        for system in SYSTEMS:
            if identity is None or system not in identity.bindings:
                problems.append(
                    (
                        ("fields",),
                        f"{IDENTITY_FIELD!r} must be mapped for "
                        f"{system}: it is how contacts are matched",
                    )
                )
        if problems:
            raise _Problems(problems)
        return self


def _check_binding(
    at: tuple[str | int, ...], choices: tuple[str, ...], binding: Binding
) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for t in binding.transforms:
        if t not in NAMED_TRANSFORMS:
            problems.append(
                (
                    (*at, "transforms"),
                    f"unknown transform {t!r} (known: {', '.join(NAMED_TRANSFORMS)})",
                )
            )
    if binding.values is not None:
        for canonical in binding.values:
            if choices and canonical not in choices:
                problems.append(
                    (
                        (*at, "values", canonical),
                        f"{canonical!r} is not a value of this field "
                        f"(values: {', '.join(choices)})",
                    )
                )
        vendor = list(binding.values.values())
        if binding.read_values is None and len(set(vendor)) != len(vendor) and binding.pulls:
            problems.append(
                (
                    (*at, "values"),
                    "several values map to the same vendor value; "
                    "add `read_values` to say how to read it back",
                )
            )
    if binding.read_values is not None:
        for vendor_value, canonical in binding.read_values.items():
            if choices and canonical not in choices:
                problems.append(
                    (
                        (*at, "read_values", vendor_value),
                        f"{canonical!r} is not a value of this field",
                    )
                )
    return problems


class _Problems(ValueError):
    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(msg for _, msg in problems))
        self.problems = problems


def _line_index(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    index = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, key_node.value)
            index.update(_line_index(value_node, child))
            index[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            index.update(_line_index(item, (*path, i)))
    return index


def _line_for(index: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in index:
            return index[loc[:end]]
    return None


def parse_mapping(text: str, path: str = "<mapping>") -> MappingConfig:
    """Parse and validate mapping YAML; raises `MappingConfigError` naming path:line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise MappingConfigError(f"not valid YAML: {exc.problem}", path=path, line=line) from exc
    if node is None or not isinstance(data, dict):
        raise MappingConfigError("expected a mapping with `version` and `fields`", path=path)
    index = _line_index(node)
    try:
        return MappingConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        problems = first.get("ctx", {}).get("error")
        if isinstance(problems, _Problems):
            where, message = problems.problems[0]
            more = len(problems.problems) - 1
            suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
            raise MappingConfigError(
                message + suffix, path=path, line=_line_for(index, where)
            ) from None
        # Pydantic puts the synthetic "bindings" level into locations; YAML has none.
        loc = tuple(p for p in loc if p != "bindings")
        dotted = ".".join(str(p) for p in loc)
        raise MappingConfigError(
            f"{dotted}: {first['msg']}", path=path, line=_line_for(index, loc)
        ) from None


def line_in_file(path: str | Path, loc: tuple[Any, ...]) -> int | None:
    """The line of `loc` (e.g. ("fields", "job_title", "hubspot")) in a mapping file."""
    try:
        node = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return None
    return _line_for(_line_index(node), loc) if node is not None else None


def unknown_vendor_fields(
    config: MappingConfig, system: str, available: set[str]
) -> list[tuple[str, str]]:
    """(canonical name, vendor field) for every binding whose field `system` lacks."""
    return [(name, b.field) for name, b in config.bound(system) if b.field not in available]


def load_mapping(path: str | Path) -> MappingConfig:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingConfigError(
            f"cannot read mapping file: {exc.strerror}", path=str(file)
        ) from exc
    return parse_mapping(text, str(file))
