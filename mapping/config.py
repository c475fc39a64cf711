"""The mapping file admins edit: which vendor field holds each canonical field,
in which direction values flow, how values translate, and who wins a conflict.

Loaded from YAML and validated once; every error names the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.systems import marketing_systems
from mapping.errors import MappingConfigError, did_you_mean
from mapping.errors import Problem as FileProblem
from mapping.schema import (
    BUILT_IN,
    CHOICE_TYPES,
    CONSENT_FIELD,
    DECLARABLE_TYPES,
    IDENTITY_FIELD,
    CanonicalField,
    FieldType,
    Unmapped,
)
from mapping.transforms import Step, TransformArgError, build
from mapping.validation import Finding, check, check_shape
from mapping.yaml_source import YamlSource, read_yaml

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
    transforms: tuple[str | dict[str, Any], ...] = ()
    """Steps before the field type's own normal form; see `mapping.transforms`."""

    @cached_property
    def steps(self) -> tuple[Step, ...]:
        """The configured transforms (checked at load, so they build here)."""
        return tuple(build(t) for t in self.transforms)

    # The binding is frozen: what follows is worked out once, not per record.

    @cached_property
    def constant(self) -> str | None:
        """The value a `constant` transform always writes, if the binding has one."""
        return next((s.constant for s in self.steps if s.constant is not None), None)

    @cached_property
    def name_part(self) -> str | None:
        """`first` / `last` when the vendor field holds a whole name (`split_name`)."""
        return next((s.name_part for s in self.steps if s.name_part is not None), None)

    @cached_property
    def pulls(self) -> bool:
        return self.direction in (Direction.BOTH, Direction.PULL)

    @cached_property
    def pushes(self) -> bool:
        return self.direction in (Direction.BOTH, Direction.PUSH)

    def vendor_to_canonical(self) -> dict[str, str] | None:
        """vendor value -> canonical value (do not change the dict: it is shared)."""
        return self._reads

    @cached_property
    def _reads(self) -> dict[str, str] | None:
        if self.read_values is not None:
            return self.read_values
        if self.values is not None:
            return {vendor: canonical for canonical, vendor in self.values.items()}
        return None


class OwnerPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    owner: str


Policy = Literal["newest", "consent"] | OwnerPolicy


# Keys of a field block that declare the canonical field; every other key is a system.
FIELD_OPTIONS = ("type", "choices", "unmapped", "default", "sensitive", "policy")


class FieldMapping(BaseModel):
    """One field block: the canonical field's declaration and its per-system bindings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FieldType | None = None
    """None: `string`, or the built-in field's own type."""
    choices: tuple[str, ...] = ()
    unmapped: Unmapped | None = None
    default: str | None = None
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
        options = {k: v for k, v in data.items() if k in FIELD_OPTIONS}
        bindings = {}
        for key, value in data.items():
            if key in options:
                continue
            bindings[key] = {"field": value} if isinstance(value, str) else value
        return {**options, "bindings": bindings}

    def binding(self, system: str) -> Binding | None:
        return self.bindings.get(system)

    def declared(self, name: str, phone_region: str = "US") -> CanonicalField:
        """The canonical field this block declares (built-in fields keep their own type)."""
        built_in = BUILT_IN.get(name)
        if built_in is not None:
            return CanonicalField(
                name,
                built_in.type,
                built_in.choices,
                built_in.unmapped,
                sensitive=self.sensitive,
                region=phone_region,
            )
        kind = self.type or FieldType.STRING
        unmapped = self.unmapped or Unmapped.KEEP
        return CanonicalField(
            name,
            kind,
            tuple(self.choices),
            unmapped,
            self.default,
            self.sensitive,
            phone_region,
        )


class MappingConfig(BaseModel):
    """The whole mapping file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    fields: dict[str, FieldMapping]
    phone_region: str = "US"
    """Where a phone number without a country code is read (`BATON_PHONE_DEFAULT_REGION`)."""

    @cached_property
    def specs(self) -> dict[str, CanonicalField]:
        """Every canonical field the file declares."""
        return {name: fm.declared(name, self.phone_region) for name, fm in self.fields.items()}

    def spec(self, name: str) -> CanonicalField:
        return self.specs[name]

    def with_phone_region(self, region: str) -> MappingConfig:
        return self.model_copy(update={"phone_region": region.upper()})

    def bound(self, system: str) -> list[tuple[str, Binding]]:
        """(canonical name, binding) for every field mapped in `system` (shared: do not
        change the list)."""
        found = self._bound.get(system)
        if found is None:
            found = self._bound[system] = [
                (name, fm.bindings[system])
                for name, fm in self.fields.items()
                if system in fm.bindings
            ]
        return found

    def vendor_fields(self, system: str) -> list[str]:
        """The vendor fields mapped in `system` (shared: do not change the list)."""
        found = self._vendor_fields.get(system)
        if found is None:
            found = self._vendor_fields[system] = [b.field for _, b in self.bound(system)]
        return found

    # Worked out once per system: the file is frozen, and these are asked per record.
    @cached_property
    def _bound(self) -> dict[str, list[tuple[str, Binding]]]:
        return {}

    @cached_property
    def _vendor_fields(self) -> dict[str, list[str]]:
        return {}

    def identity_binding(self, system: str) -> Binding:
        return self.fields[IDENTITY_FIELD].bindings[system]

    @model_validator(mode="after")
    def _check(self) -> MappingConfig:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.phone_region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            problems.append(
                (("phone_region",), f"unknown phone region {self.phone_region!r} (e.g. US, GB)")
            )
        for name, fm in self.fields.items():
            where: tuple[str | int, ...] = ("fields", name)
            declaration = _check_declaration(where, name, fm)
            if declaration:
                problems.extend(declaration)
                continue
            spec = fm.declared(name)
            for system, binding in fm.bindings.items():
                at = (*where, system)
                if system not in SYSTEMS:
                    problems.append(
                        (
                            at,
                            f"unknown system or option {system!r}"
                            f"{did_you_mean(system, (*SYSTEMS, *FIELD_OPTIONS))} "
                            f"(systems: {', '.join(SYSTEMS)}; options: "
                            f"{', '.join(FIELD_OPTIONS)})",
                        )
                    )
                    continue
                problems.extend(_check_binding(at, spec, binding))
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


Problem = tuple[tuple[str | int, ...], str]


def _check_declaration(where: tuple[str | int, ...], name: str, fm: FieldMapping) -> list[Problem]:
    """The declaration itself: type, choices, unmapped and default agree with each other."""
    problems: list[Problem] = []
    built_in = BUILT_IN.get(name)
    declared = ", ".join(DECLARABLE_TYPES)
    if built_in is not None:
        if fm.type is not None and fm.type is not built_in.type:
            problems.append(
                (
                    (*where, "type"),
                    f"{name!r} is built in with type {built_in.type}; remove `type:`",
                )
            )
        for key in ("choices", "unmapped", "default"):
            if getattr(fm, key) not in (None, ()):
                problems.append(
                    ((*where, key), f"{name!r} is built in: its `{key}` cannot be changed")
                )
        return problems
    kind = fm.type or FieldType.STRING
    if kind is FieldType.CONSENT:
        problems.append(
            (
                (*where, "type"),
                f"type consent belongs to {CONSENT_FIELD!r} alone (types: {declared})",
            )
        )
        return problems
    if kind in CHOICE_TYPES:
        if not fm.choices:
            problems.append(((*where, "type"), f"{kind} field {name!r} needs `choices: [...]`"))
        elif len(set(fm.choices)) != len(fm.choices):
            problems.append(((*where, "choices"), f"{name!r} lists a choice twice"))
        elif any(not str(c).strip() for c in fm.choices):
            problems.append(((*where, "choices"), f"{name!r} has a blank choice"))
    else:
        for key in ("choices", "unmapped", "default"):
            if getattr(fm, key) not in (None, ()):
                problems.append(
                    (
                        (*where, key),
                        f"`{key}` is for enum and multi_select fields; {name!r} is {kind}",
                    )
                )
        return problems
    if fm.unmapped is Unmapped.DEFAULT:
        if fm.default is None:
            problems.append(
                ((*where, "unmapped"), f"`unmapped: default` needs `default: <choice>` on {name!r}")
            )
        elif fm.default not in fm.choices:
            problems.append(
                (
                    (*where, "default"),
                    f"default {fm.default!r} is not one of the choices of {name!r}",
                )
            )
    elif fm.default is not None:
        problems.append(
            ((*where, "default"), f"`default:` is used only with `unmapped: default` on {name!r}")
        )
    return problems


def _check_binding(
    at: tuple[str | int, ...], spec: CanonicalField, binding: Binding
) -> list[Problem]:
    problems: list[Problem] = []
    choices = spec.choices
    for n, t in enumerate(binding.transforms):
        try:
            build(t)
        except TransformArgError as exc:
            problems.append(((*at, "transforms", n), str(exc)))
    if spec.type is FieldType.BOOLEAN:
        choices = ("true", "false")
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


def _pydantic_problems(
    exc: ValidationError, source: YamlSource, known: list[Finding]
) -> list[FileProblem]:
    """The models' problems, less those under a key `known` already reports."""
    found: list[tuple[tuple[Any, ...], str]] = []
    for error in exc.errors():
        listed = error.get("ctx", {}).get("error")
        if isinstance(listed, _Problems):
            found += listed.problems
            continue
        # Pydantic puts the synthetic "bindings" level into locations; YAML has none.
        loc = tuple(p for p in error["loc"] if p != "bindings")
        dotted = ".".join(str(p) for p in loc)
        found.append((loc, f"{dotted}: {error['msg']}"))
    covered = [f.loc for f in known]
    return [
        source.problem(loc, message)
        for loc, message in found
        if not any(loc[: len(c)] == c for c in covered)
    ]


@dataclass(frozen=True)
class CheckedMapping:
    """A mapping file with every problem its checks found; `config` is None when the file
    could not even be read into the models."""

    path: str
    config: MappingConfig | None
    source: YamlSource | None
    problems: tuple[FileProblem, ...]


def check_mapping(
    text: str, path: str = "<mapping>", *, phone_region: str = "US"
) -> CheckedMapping:
    """Parse and check mapping YAML, collecting every problem instead of stopping."""
    try:
        source = read_yaml(text, path)
    except MappingConfigError as exc:
        return CheckedMapping(path, None, None, exc.problems)
    if not isinstance(source.data, dict):
        problem = FileProblem("expected a mapping with `version` and `fields`", path)
        return CheckedMapping(path, None, source, (problem,))
    shape = check_shape(source.data, SYSTEMS, FIELD_OPTIONS)
    problems = [*source.duplicates, *(source.problem(f.loc, f.message) for f in shape)]
    try:
        config = MappingConfig.model_validate({**source.data, "phone_region": phone_region})
    except ValidationError as exc:
        problems += _pydantic_problems(exc, source, shape)
        return CheckedMapping(path, None, source, tuple(problems))
    problems += [source.problem(f.loc, f.message, value=f.value) for f in check(config)]
    return CheckedMapping(path, config, source, tuple(problems))


def parse_mapping(text: str, path: str = "<mapping>", *, phone_region: str = "US") -> MappingConfig:
    """Parse and validate mapping YAML; raises `MappingConfigError` holding every problem,
    each naming path:line:column."""
    checked = check_mapping(text, path, phone_region=phone_region)
    if checked.problems or checked.config is None:
        raise MappingConfigError(path=path, problems=checked.problems)
    return checked.config


def read_mapping_text(path: str | Path) -> str:
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingConfigError(
            f"cannot read mapping file: {exc.strerror}", path=str(file), fix=""
        ) from exc


def load_mapping(path: str | Path, *, phone_region: str = "US") -> MappingConfig:
    return parse_mapping(read_mapping_text(path), str(path), phone_region=phone_region)
