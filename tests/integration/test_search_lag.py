"""HubSpot search sees writes 3 s late: records changed around a run are pulled by a
later run, never lost, because the overlap window reaches back past the lag."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from connectors.contract import Page
from flows.context import SyncContext
from flows.pull import fetch_page
from flows.run import Steps
from flows.settings import Settings
from tests.integration.vendors import Runner, Vendors

LAG_S = 3


def by_email(vendors: Vendors) -> tuple[dict[str, Any], dict[str, Any]]:
    crm = {
        (c["properties"]["email"] or "").strip().lower(): c
        for c in vendors.hubspot_contacts(["email", "jobtitle"])
        if c["properties"]["email"]
    }
    members = {m["email_address"].strip().lower(): m for m in vendors.members()}
    return crm, members


def edit_crm(vendors: Vendors, contacts: list[dict[str, Any]], title: str) -> None:
    inputs = [{"id": c["id"], "properties": {"jobtitle": f"{title} {c['id']}"}} for c in contacts]
    with vendors.hubspot as hs:
        hs.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs}).raise_for_status()


def edit_members(vendors: Vendors, members: list[dict[str, Any]], title: str) -> None:
    with vendors.mailchimp as mc:
        for m in members:
            mc.patch(
                f"/lists/{vendors.config.list_id}/members/{m['id']}",
                json={"merge_fields": {"JOBTITLE": f"{title} {m['id']}"}},
            ).raise_for_status()


def test_changes_around_a_run_reach_the_other_side_once_search_sees_them(
    run_sync: Runner, vendors: Vendors, settings: Settings
) -> None:
    assert settings.sync_overlap_seconds >= LAG_S
    run_sync()
    crm, members = by_email(vendors)
    both = sorted(set(crm) & set(members))
    before_run, during_run, email_side = both[:5], both[5:10], both[10:15]
    control = f"{vendors.server.url}/_sandbox"
    httpx.put(f"{control}/search-lag", json={"seconds": LAG_S}, timeout=5).raise_for_status()

    # Changed just before the run: its search cannot see these yet.
    edit_crm(vendors, [crm[e] for e in before_run], "Before")

    async def fetch_then_edit(
        ctx: SyncContext, system: str, since: datetime | None, token: str | None
    ) -> Page:
        page = await fetch_page(ctx, system, since, token)
        if page.next_token is None and system == "hubspot" and not edited:
            edited.append(True)  # HubSpot's last page is in: these come after the run started
            edit_crm(vendors, [crm[e] for e in during_run], "During")
            edit_members(vendors, [members[e] for e in email_side], "Email")
        return page

    edited: list[bool] = []
    run_sync(Steps(fetch=fetch_then_edit))
    assert edited
    # The next run comes at once: search still lags, and its cursor moves past the edits.
    run_sync()
    _, members_now = by_email(vendors)
    for email in before_run + during_run:
        old = members[email]["merge_fields"]["JOBTITLE"]
        assert members_now[email]["merge_fields"]["JOBTITLE"] == old, "search showed it early"
    crm_now, _ = by_email(vendors)
    for email in email_side:  # Mailchimp has no index lag: its edits already crossed
        assert crm_now[email]["properties"]["jobtitle"].startswith("Email ")

    httpx.post(f"{control}/clock", json={"seconds": LAG_S + 0.5}, timeout=5).raise_for_status()
    report = run_sync()

    _, members_after = by_email(vendors)
    edits = [(e, "Before") for e in before_run] + [(e, "During") for e in during_run]
    for email, title in edits:
        wanted = f"{title} {crm[email]['id']}"
        assert members_after[email]["merge_fields"]["JOBTITLE"] == wanted, email
    assert report.of("mailchimp").updated == len(before_run) + len(during_run)
    vendors.reset_stats()
    assert run_sync().writes == 0


def test_an_overlap_shorter_than_the_declared_search_lag_is_refused() -> None:
    with pytest.raises(ValidationError, match="BATON_HUBSPOT_SEARCH_LAG_SECONDS"):
        Settings(sync_overlap_seconds=10, hubspot_search_lag_seconds=30)
    assert Settings(sync_overlap_seconds=30, hubspot_search_lag_seconds=30)
    assert Settings().sync_overlap_seconds >= Settings().hubspot_search_lag_seconds
