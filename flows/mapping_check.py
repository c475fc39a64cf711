"""`baton mapping validate --remote`: the mapping checked against both live portals.

Reads only: each system's field definitions (types, options, read-only flags). The
comparison itself is `mapping.validation.check_remote`; this module fetches what it needs.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.contract import ContactConnector
from connectors.fields import FieldAdmin
from connectors.hubspot_consent import ConsentSetupError
from flows.settings import SettingsProblem
from mapping.config import CheckedMapping
from mapping.errors import Problem
from mapping.validation import PortalFields, check_remote


async def portal_fields(connectors: Mapping[str, ContactConnector]) -> dict[str, PortalFields]:
    """Each system's fields as its connector describes them (a connector that cannot
    describe its fields is left out)."""
    portals: dict[str, PortalFields] = {}
    for system, connector in connectors.items():
        try:
            await connector.check()
        except ConsentSetupError as exc:
            raise SettingsProblem(f"BATON_HUBSPOT_{exc.setting.upper()}: {exc.message}") from None
        if not isinstance(connector, FieldAdmin):
            continue
        portals[system] = PortalFields(
            tuple(await connector.describe_fields()),
            frozenset(await connector.read_only_fields()),
        )
    return portals


async def remote_problems(
    checked: CheckedMapping, connectors: Mapping[str, ContactConnector]
) -> list[Problem]:
    """Every binding of a loaded mapping that the portals contradict, at its file position."""
    if checked.config is None or checked.source is None:
        return []
    source = checked.source
    portals = await portal_fields(connectors)
    return [
        source.problem(f.loc, f.message, value=f.value)
        for f in check_remote(checked.config, portals)
    ]
