"""The mapping checked against both live portals: `baton mapping validate --remote` and the
pre-run check of every sync use these, so both apply the same rules.

Reads only: each system's field definitions (types, options, read-only flags). The
comparison itself is `mapping.validation.check_remote`; this module fetches what it needs
and places each finding at its file, line and column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from connectors.contract import ContactConnector
from connectors.fields import FieldAdmin, FieldInfo
from connectors.hubspot_consent import ConsentSetupError
from flows.settings import SettingsProblem
from mapping.config import CheckedMapping, MappingConfig
from mapping.errors import MappingConfigError, Problem
from mapping.validation import Finding, PortalFields, check_remote
from mapping.yaml_source import YamlSource, read_yaml


async def portal_fields(connectors: Mapping[str, ContactConnector]) -> dict[str, PortalFields]:
    """Each system's fields as its connector describes them, after checking that the
    system answers and accepts the credential."""
    portals: dict[str, PortalFields] = {}
    for system, connector in connectors.items():
        try:
            await connector.check()
        except ConsentSetupError as exc:
            raise SettingsProblem(f"BATON_HUBSPOT_{exc.setting.upper()}: {exc.message}") from None
        if isinstance(connector, FieldAdmin):
            fields = tuple(await connector.describe_fields())
        else:
            # A connector that only names its fields: existence and read-only flags are
            # still checked; an empty type is one no rule knows, so types are not.
            fields = tuple(FieldInfo(n, n, "") for n in sorted(await connector.field_names()))
        portals[system] = PortalFields(fields, frozenset(await connector.read_only_fields()))
    return portals


def _placed(source: YamlSource | None, path: str, findings: Sequence[Finding]) -> list[Problem]:
    if source is None:
        return [Problem(f.message, path) for f in findings]
    return [source.problem(f.loc, f.message, value=f.value) for f in findings]


async def remote_problems(
    checked: CheckedMapping, connectors: Mapping[str, ContactConnector]
) -> list[Problem]:
    """Every binding of a loaded mapping that the portals contradict, at its file position."""
    if checked.config is None:
        return []
    portals = await portal_fields(connectors)
    return _placed(checked.source, checked.path, check_remote(checked.config, portals))


def _source(mapping_file: Path) -> YamlSource | None:
    try:
        return read_yaml(mapping_file.read_text(encoding="utf-8"), str(mapping_file))
    except (OSError, MappingConfigError):
        return None  # loaded a moment ago; without positions the messages still hold


def refusal_fix(findings: Sequence[Finding]) -> str:
    """The command a refused run names: each problem names its own fix, so one problem
    needs nothing more; several name `apply` when it fixes them all."""
    if len(findings) < 2:
        return ""
    if all(f.fixed_by_apply for f in findings):
        return (
            "run `baton mapping apply` to create what the mapping needs "
            "(`--dry-run` lists it first)"
        )
    return "run `baton mapping validate --remote` to list them all"


async def verify_mapping(
    config: MappingConfig, connectors: Mapping[str, ContactConnector], mapping_file: Path
) -> None:
    """The pre-run check: both systems answer, and the mapping passes every rule of
    `baton mapping validate --remote`; raises `MappingConfigError` naming file, line and
    the fix otherwise. A field the vendor does not know, or will not let anyone set,
    would otherwise dead-letter every write that carries it."""
    findings = check_remote(config, await portal_fields(connectors))
    if not findings:
        return
    path = str(mapping_file)
    raise MappingConfigError(
        path=path,
        problems=_placed(_source(mapping_file), path, findings),
        fix=refusal_fix(findings),
    )
