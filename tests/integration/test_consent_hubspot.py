"""Consent between the systems over real HTTP: withdrawals reach HubSpot only through
Communication Preferences v4, Baton never writes a read-only property and never resubscribes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from flows.run import verify_systems
from flows.settings import DEFAULT_MAPPING, Settings, SettingsProblem
from mapping.config import load_mapping
from mapping.errors import MappingConfigError
from sandbox.hs_subscriptions import DEFAULT_SUBSCRIPTION_ID, optout_property
from tests.integration.conftest import make_connectors
from tests.integration.vendors import Runner, Vendors

OPT_OUT_PROPS = ["email", "hs_email_optout", optout_property(DEFAULT_SUBSCRIPTION_ID)]


def crm_by_email(vendors: Vendors) -> dict[str, dict[str, Any]]:
    return {
        c["properties"]["email"].strip().lower(): c
        for c in vendors.hubspot_contacts(OPT_OUT_PROPS)
        if c["properties"].get("email")
    }


def members_by_email(vendors: Vendors) -> dict[str, dict[str, Any]]:
    return {m["email_address"].strip().lower(): m for m in vendors.members()}


def both_subscribed(vendors: Vendors) -> str:
    crm, members = crm_by_email(vendors), members_by_email(vendors)
    return next(
        e
        for e in sorted(set(crm) & set(members))
        if members[e]["status"] == "subscribed"
        and crm[e]["properties"]["hs_email_optout"] != "true"
    )


def test_a_mailchimp_opt_out_shows_in_hubspot_through_its_api(
    run_sync: Runner, vendors: Vendors
) -> None:
    run_sync()
    vendors.reset_stats()
    email = both_subscribed(vendors)
    with vendors.mailchimp as mc:
        mc.patch(
            f"/lists/{vendors.config.list_id}/members/{members_by_email(vendors)[email]['id']}",
            json={"status": "unsubscribed"},
        ).raise_for_status()
    run_sync()
    props = crm_by_email(vendors)[email]["properties"]
    assert props["hs_email_optout"] == "true"
    assert props[optout_property(DEFAULT_SUBSCRIPTION_ID)] == "true"
    assert vendors.hubspot_statuses([email])[email][DEFAULT_SUBSCRIPTION_ID] == "UNSUBSCRIBED"
    stats = vendors.stats()
    assert stats["read_only_refusals"] == {}
    assert stats["consent_reversals"] == {}
    assert stats["requests"].get("POST /communication-preferences/v4/statuses/batch/write") == 1
    assert members_by_email(vendors)[email]["status"] == "unsubscribed"


@pytest.mark.parametrize("subscription", [DEFAULT_SUBSCRIPTION_ID, None])
def test_a_hubspot_opt_out_unsubscribes_the_member(
    run_sync: Runner, vendors: Vendors, subscription: int | None
) -> None:
    run_sync()
    email = both_subscribed(vendors)
    vendors.hubspot_opt_out(email, subscription)  # as the person would, from an email's link
    run_sync()
    assert members_by_email(vendors)[email]["status"] == "unsubscribed"
    vendors.reset_stats()
    run_sync()
    assert vendors.stats()["write_calls"] == {"hubspot": 0, "mailchimp": 0}


def test_full_then_no_change_sync_writes_no_read_only_property_and_resubscribes_no_one(
    run_sync: Runner, vendors: Vendors
) -> None:
    before = {e: m["status"] for e, m in members_by_email(vendors).items()}
    run_sync()
    first = vendors.stats()
    assert first["read_only_refusals"] == {}
    assert first["consent_reversals"] == {}
    vendors.reset_stats()
    run_sync()
    second = vendors.stats()
    assert second["read_only_refusals"] == {}
    assert second["write_calls"] == {"hubspot": 0, "mailchimp": 0}
    after = members_by_email(vendors)
    for email, status in before.items():
        if status in ("unsubscribed", "cleaned"):
            assert after[email]["status"] == status
    withdrawn = [e for e, s in before.items() if s == "unsubscribed"]
    crm = crm_by_email(vendors)
    assert withdrawn
    for email in withdrawn:
        if email in crm:
            assert crm[email]["properties"]["hs_email_optout"] == "true"


def _verify(settings: Settings, mapping_file: Path) -> None:
    config = load_mapping(mapping_file)
    connectors = make_connectors(settings)

    async def go() -> None:
        try:
            await verify_systems(config, connectors, mapping_file)
        finally:
            for connector in connectors.values():
                await connector.aclose()

    asyncio.run(go())


def test_preflight_refuses_a_mapping_that_pushes_to_a_read_only_property(
    settings: Settings, tmp_path: Path
) -> None:
    text = DEFAULT_MAPPING.read_text()
    text = text.replace("    hubspot: jobtitle\n", "    hubspot: createdate\n")
    bad = tmp_path / "mapping.yaml"
    bad.write_text(text)
    line = text.splitlines().index("    hubspot: createdate") + 1
    with pytest.raises(MappingConfigError) as caught:
        _verify(settings, bad)
    message = str(caught.value)
    assert f"{bad}:{line}" in message
    assert "'createdate' is read-only" in message
    _verify(settings, DEFAULT_MAPPING)  # the shipped mapping's opt-out is allowed


def test_preflight_names_the_subscription_setting(settings: Settings) -> None:
    wrong = settings.model_copy(update={"hubspot_subscription_id": 999})
    config = load_mapping(DEFAULT_MAPPING)
    from flows.run import build_connectors

    connectors = build_connectors(wrong, config)

    async def go() -> None:
        try:
            await verify_systems(config, connectors, DEFAULT_MAPPING)
        finally:
            for connector in connectors.values():
                await connector.aclose()

    with pytest.raises(SettingsProblem) as caught:
        asyncio.run(go())
    message = str(caught.value)
    assert message.startswith("BATON_HUBSPOT_SUBSCRIPTION_ID: the portal has no email")
    assert f"{DEFAULT_SUBSCRIPTION_ID} (Marketing Information)" in message
    assert "\n" not in message
