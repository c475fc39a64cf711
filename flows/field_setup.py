"""`baton mapping apply`: create on each system the fields the mapping needs and lacks.

Planning is pure (`plan_system` over the fields a connector describes); only `apply` talks
to the systems, and a dry run stops after planning, so it makes read calls only. Running it
twice creates nothing the second time: what exists is left alone, and an enumeration only
gains the values it lacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from connectors.fields import FieldAdmin, FieldInfo, FieldSpec, labels_for
from mapping.config import Binding, MappingConfig


class ActionKind(StrEnum):
    CREATE = "create"
    ADD_OPTIONS = "add options"


@dataclass(frozen=True)
class Action:
    """One definition write `apply` makes (or would make) on one system."""

    kind: ActionKind
    spec: FieldSpec
    canonical: str
    existing: FieldInfo | None = None
    missing: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind is ActionKind.CREATE:
            extra = f", {len(self.spec.options)} values" if self.spec.options else ""
            return f"create {self.spec.name} ({self.spec.type}{extra}) for {self.canonical!r}"
        return f"add {', '.join(map(repr, self.missing))} to {self.spec.name}"


@dataclass
class SystemPlan:
    system: str
    actions: list[Action] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why something the mapping needs cannot be created; nothing is written then."""


class FieldSetupRefused(Exception):
    """A system cannot be given what the mapping needs; the message says why and the fix."""


def _label(canonical: str) -> str:
    return canonical.replace("_", " ").title()


def spec_for(config: MappingConfig, canonical: str, binding: Binding) -> FieldSpec:
    """What `binding` needs its vendor field to be: type, and the values it writes."""
    schema = config.spec(canonical)
    kind = str(schema.type)
    values: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    if binding.values is not None:
        values = tuple(dict.fromkeys(binding.values.values()))
    elif schema.choices and kind != "consent":
        values = tuple(schema.choices)
        labels = tuple(_label(v) for v in values)
    return FieldSpec(binding.field, _label(canonical), kind, values, labels)


def plan_system(
    config: MappingConfig, admin: FieldAdmin, fields: Sequence[FieldInfo]
) -> SystemPlan:
    """The definition writes one system needs for `config` (pure: no network)."""
    plan = SystemPlan(admin.system)
    have: Mapping[str, FieldInfo] = {f.name: f for f in fields}
    for canonical, binding in config.bound(admin.system):
        spec = spec_for(config, canonical, binding)
        existing = have.get(binding.field)
        if existing is None:
            problem = admin.creation_problem(spec)
            if problem is not None:
                plan.problems.append(f"{spec.name} (for {canonical!r}): {problem}")
            else:
                plan.actions.append(Action(ActionKind.CREATE, spec, canonical))
            continue
        if existing.options is None or not spec.options:
            continue
        missing = tuple(v for v in spec.options if v not in existing.options)
        if not missing:
            continue
        if not existing.editable:
            plan.problems.append(
                f"{spec.name} (for {canonical!r}) lacks {', '.join(map(repr, missing))} and is "
                f"defined by {admin.system}, so Baton cannot add them: add them in "
                f"{admin.system} or map {canonical!r} onto values it has"
            )
            continue
        plan.actions.append(Action(ActionKind.ADD_OPTIONS, spec, canonical, existing, missing))
    _check_limit(plan, admin, fields)
    return plan


def _check_limit(plan: SystemPlan, admin: FieldAdmin, fields: Sequence[FieldInfo]) -> None:
    if admin.field_limit is None:
        return
    used = sum(1 for f in fields if admin.counts_toward_limit(f))
    new = [
        a.spec.name
        for a in plan.actions
        if a.kind is ActionKind.CREATE and admin.counts_toward_limit(FieldInfo(a.spec.name, "", ""))
    ]
    if used + len(new) > admin.field_limit:
        plan.problems.append(
            f"the account holds {used} of at most {admin.field_limit} fields and the mapping "
            f"needs {len(new)} more ({', '.join(new)}): remove bindings from the mapping or "
            f"delete unused fields in {admin.system}"
        )


async def plan_all(config: MappingConfig, admins: Mapping[str, FieldAdmin]) -> list[SystemPlan]:
    """Describe every system (read calls only) and plan its definition writes."""
    return [plan_system(config, admin, await admin.describe_fields()) for admin in admins.values()]


async def apply(
    config: MappingConfig, admins: Mapping[str, FieldAdmin], *, dry_run: bool = False
) -> list[SystemPlan]:
    """Plan every system, then (unless `dry_run`) make the writes.

    Any problem anywhere refuses the whole apply before a single write, so a mapping is
    never half set up.
    """
    plans = await plan_all(config, admins)
    problems = [f"{p.system}: {problem}" for p in plans for problem in p.problems]
    if problems:
        raise FieldSetupRefused("; ".join(problems))
    if dry_run:
        return plans
    for plan in plans:
        admin = admins[plan.system]
        for action in plan.actions:
            if action.kind is ActionKind.CREATE:
                await admin.create_field(action.spec)
            elif action.existing is not None:
                labels = dict(zip(action.spec.options, labels_for(action.spec), strict=True))
                await admin.add_options(
                    action.existing, action.missing, [labels[v] for v in action.missing]
                )
    return plans
