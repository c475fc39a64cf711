"""`baton mapping discover`: what each system holds, what the mapping binds of it, and a
starter mapping for it (`mapping.starter`). Read calls only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from connectors.fields import FieldAdmin, FieldInfo
from mapping.config import MARKETING_SYSTEMS, MappingConfig
from mapping.starter import Starter, SystemFields, build_starter


@dataclass(frozen=True)
class DiscoveredField:
    info: FieldInfo
    mapped_as: str | None
    """The canonical field the current mapping binds it to; None when unmapped."""


@dataclass(frozen=True)
class Discovery:
    fields: Mapping[str, list[DiscoveredField]]
    starter: Starter
    missing: Mapping[str, list[tuple[str, str]]]
    """Per system, (vendor field, canonical field) the current mapping binds and the
    system lacks (`baton mapping apply` creates them)."""


def mapped_fields(config: MappingConfig | None, system: str) -> dict[str, str]:
    """Vendor field -> canonical field, for the fields `config` binds in `system`."""
    if config is None:
        return {}
    return {binding.field: name for name, binding in config.bound(system)}


async def discover(config: MappingConfig | None, admins: Mapping[str, FieldAdmin]) -> Discovery:
    """Describe every system and pair its fields; `config` (the current mapping, if it
    loads) marks what is mapped already."""
    described: dict[str, list[FieldInfo]] = {}
    for system, admin in admins.items():
        described[system] = await admin.describe_fields()
    fields = {
        system: [
            DiscoveredField(info, mapped_fields(config, system).get(info.name)) for info in infos
        ]
        for system, infos in described.items()
    }
    starter = build_starter(
        [
            SystemFields(
                system,
                described[system],
                admin.standard_fields,
                admin.consent_binding,
                marketing=system in MARKETING_SYSTEMS,
            )
            for system, admin in admins.items()
        ]
    )
    missing = {
        system: [
            (vendor, canonical)
            for vendor, canonical in mapped_fields(config, system).items()
            if vendor not in {info.name for info in infos}
        ]
        for system, infos in described.items()
    }
    return Discovery(fields, starter, missing)
