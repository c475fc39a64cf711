"""The walking skeleton's acceptance, over real HTTP against the sandbox.

Outcomes are read back through each API, not from Baton's database.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.contract import flatten
from flows.context import SyncContext, close_run
from flows.pull import fetch_page, pull_page
from flows.push import push_batch
from flows.run import Steps
from flows.settings import Settings
from mapping.config import MappingConfig, load_mapping
from mapping.translate import translate_record
from sandbox.hs_subscriptions import DEFAULT_SUBSCRIPTION_ID
from state.database import Database
from state.models import DeadLetterRow, RunStatus
from tests.integration.vendors import Runner, Vendors

SHARED = [
    "first_name",
    "last_name",
    "phone",
    "organization",
    "job_title",
    "service_line",
    "lead_source",
]
HS_PROPS = [
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "jobtitle",
    "service_line",
    "lead_source",
    "lifecyclestage",
    "hs_email_optout",
]


@pytest.fixture(scope="module")
def mapping() -> MappingConfig:
    from flows.settings import DEFAULT_MAPPING

    return load_mapping(DEFAULT_MAPPING)


def norm(email: str | None) -> str | None:
    return email.strip().lower() if email else None


def crm_view(vendors: Vendors, mapping: MappingConfig) -> dict[str, dict[str, Any]]:
    contacts = vendors.hubspot_contacts(HS_PROPS)
    out: dict[str, dict[str, Any]] = {}
    for contact in contacts:
        email = norm(contact["properties"].get("email"))
        if email is None:
            continue
        assert email not in out, f"two CRM contacts for {email}"
        out[email] = {
            **translate_record(mapping, "hubspot", contact["properties"]).values,
            "_raw": contact,
        }
    return out


def email_view(vendors: Vendors, mapping: MappingConfig) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for member in vendors.members():
        email = norm(member["email_address"])
        assert email not in out, f"two members for {email}"
        out[email] = {
            **translate_record(mapping, "mailchimp", flatten(member)).values,
            "_raw": member,
        }
    return out


def dead_letters(settings: Settings) -> list[DeadLetterRow]:
    db = Database(settings.database_url)
    with db.session() as s:
        rows = list(s.scalars(select(DeadLetterRow)))
    db.dispose()
    return rows


def test_first_sync_converges_both_systems(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig, settings: Settings
) -> None:
    before_crm = crm_view(vendors, mapping)
    report = run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)

    refused = {
        norm(d.payload.get("email"))
        for d in dead_letters(settings)
        if d.stage == "push" and d.system == "mailchimp"
    }
    assert set(members) <= set(crm)
    assert set(crm) - refused == set(members)
    # Overlapping people whose emails differ only in case/whitespace stay one contact.
    assert len(crm) == len(before_crm) + report.of("hubspot").created
    for email in members:
        for field in SHARED:
            assert crm[email].get(field) == members[email].get(field), (email, field)
        # The CRM owns the stage; the email platform gets its label.
        stage = crm[email].get("lifecycle_stage")
        if stage is not None:
            label = {"mql": "MQL", "sql": "SQL"}.get(stage, stage.title())
            assert members[email]["_raw"]["merge_fields"]["STAGE"] == label
    assert report.writes > 0


def test_second_sync_makes_zero_write_calls(run_sync: Runner, vendors: Vendors) -> None:
    run_sync()
    vendors.reset_stats()
    report = run_sync()
    stats = vendors.stats()
    assert stats["write_calls"] == {"hubspot": 0, "mailchimp": 0}
    assert report.writes == 0


def test_changes_move_exactly_the_changed_records(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig
) -> None:
    run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    both = sorted(set(crm) & set(members))
    assert len(both) >= 21
    crm_side, email_side, contested = both[:10], both[10:20], both[20]

    with vendors.hubspot as hs:
        inputs = [
            {"id": crm[e]["_raw"]["id"], "properties": {"jobtitle": f"CRM title {i}"}}
            for i, e in enumerate([*crm_side, contested])
        ]
        assert (
            hs.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs}).status_code
            == 200
        )
    time.sleep(1.1)  # Mailchimp timestamps have whole seconds: make its edit the newest
    with vendors.mailchimp as mc:
        for i, e in enumerate([*email_side, contested]):
            member = members[e]["_raw"]
            response = mc.patch(
                f"/lists/{vendors.config.list_id}/members/{member['id']}",
                json={"merge_fields": {"JOBTITLE": f"Email title {i}"}},
            )
            assert response.status_code == 200, response.text

    vendors.reset_stats()
    report = run_sync()
    stats = vendors.stats()

    crm_ids = {crm[e]["_raw"]["id"] for e in [*email_side, contested]}
    member_ids = {members[e]["_raw"]["id"] for e in crm_side}
    assert set(stats["record_writes"]["hubspot"]) == crm_ids
    assert set(stats["record_writes"]["mailchimp"]) == member_ids
    assert report.of("hubspot").conflicts + report.of("mailchimp").conflicts == 1

    crm_after, members_after = crm_view(vendors, mapping), email_view(vendors, mapping)
    for i, e in enumerate(crm_side):
        assert members_after[e]["job_title"] == f"CRM title {i}"
    for i, e in enumerate(email_side):
        assert crm_after[e]["job_title"] == f"Email title {i}"
    # Changed on both sides: the default policy for job_title is "newest wins".
    assert crm_after[contested]["job_title"] == "Email title 10"
    assert members_after[contested]["job_title"] == "Email title 10"


def test_opted_out_members_are_never_resubscribed(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig
) -> None:
    before = {norm(m["email_address"]): m["status"] for m in vendors.members()}
    run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    opted_out = [e for e, status in before.items() if status in ("unsubscribed", "cleaned")]
    assert opted_out, "the seed should hold unsubscribed and cleaned members"
    for email in opted_out:
        assert members[email]["_raw"]["status"] == before[email]
        assert crm[email]["_raw"]["properties"]["hs_email_optout"] == "true"
    for email, status in before.items():
        if status == "pending":
            assert members[email]["_raw"]["status"] == "pending"


def test_crm_opt_out_unsubscribes_the_member(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig
) -> None:
    run_sync()
    members = email_view(vendors, mapping)
    crm = crm_view(vendors, mapping)
    email = next(
        e for e, m in sorted(members.items()) if m["_raw"]["status"] == "subscribed" and e in crm
    )
    vendors.hubspot_opt_out(email)
    run_sync()
    assert email_view(vendors, mapping)[email]["_raw"]["status"] == "unsubscribed"
    run_sync()
    assert email_view(vendors, mapping)[email]["_raw"]["status"] == "unsubscribed"


def test_rejected_record_is_dead_lettered_and_its_batch_lands(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig, settings: Settings
) -> None:
    run_sync()
    letters = [d for d in dead_letters(settings) if d.stage == "push"]
    assert letters, "the seed holds CRM contacts with emails the email platform refuses"
    for letter in letters:
        assert letter.system == "mailchimp"
        assert "looks fake or invalid" in letter.reason
        assert letter.payload["email"]
    refused = {norm(d.payload["email"]) for d in letters}
    members = email_view(vendors, mapping)
    crm = crm_view(vendors, mapping)
    assert set(crm) - refused == set(members)
    pulled = [d for d in dead_letters(settings) if d.stage == "pull"]
    assert any("email" in d.reason and "empty" in d.reason for d in pulled)


class Killed(BaseException):
    """Stands in for the process dying: nothing after it runs."""


def test_run_killed_mid_push_converges_without_duplicates(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig
) -> None:
    calls = {"n": 0}

    async def dying_push(ctx: SyncContext, system: str, ops) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            await ctx.connectors[system].write(ops)  # the vendor applies the batch...
            calls["applied"] = len(ops)
            raise Killed  # ...and the process dies before Baton records it
        await push_batch(ctx, system, ops)

    with pytest.raises(Killed):
        run_sync(Steps(push=dying_push), batch_size=4)

    rerun = run_sync()
    # The batch the vendor applied before the kill is found there, not sent again (and so
    # is any other batch that was in flight at that moment and reached the vendor).
    assert sum(c.settled for c in rerun.systems.values()) >= calls["applied"] > 0
    stats = vendors.stats()
    for system in ("hubspot", "mailchimp"):
        twice = {k: n for k, n in stats["record_writes"][system].items() if n > 1}
        assert twice == {}, f"{system} records written more than once: {twice}"
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    assert set(members) <= set(crm)
    vendors.reset_stats()
    run_sync()
    assert vendors.stats()["write_calls"] == {"hubspot": 0, "mailchimp": 0}


def test_email_changed_in_the_crm_moves_the_contact_not_a_copy(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig, settings: Settings
) -> None:
    run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    email = sorted(set(crm) & set(members))[0]
    contact_id = crm[email]["_raw"]["id"]
    with vendors.hubspot as hs:
        hs.patch(
            f"/crm/v3/objects/contacts/{contact_id}",
            json={"properties": {"email": "moved." + email}},
        ).raise_for_status()
    with vendors.mailchimp as mc:
        # The same person's member changes too, so the next pull reads it.
        mc.patch(
            f"/lists/{vendors.config.list_id}/members/{members[email]['_raw']['id']}",
            json={"merge_fields": {"LNAME": "Renamed"}},
        ).raise_for_status()
    run_sync()
    run_sync()  # the email platform still has the old address: no flip-flop
    vendors.reset_stats()
    assert run_sync().writes == 0

    db = Database(settings.database_url)
    with db.session() as s:
        from state.models import ContactRow

        emails = set(s.scalars(select(ContactRow.email)))
    db.dispose()
    assert "moved." + email in emails
    assert email not in emails
    assert not [d for d in dead_letters(settings) if "collides" in d.reason]
    after = crm_view(vendors, mapping)
    assert len(after) == len(crm)
    assert after["moved." + email]["last_name"] == "Renamed"


def set_crm(vendors: Vendors, contact_id: str, **properties: str) -> None:
    with vendors.hubspot as hs:
        hs.patch(
            f"/crm/v3/objects/contacts/{contact_id}", json={"properties": properties}
        ).raise_for_status()


def set_member(vendors: Vendors, member_id: str, **merge_fields: str) -> None:
    with vendors.mailchimp as mc:
        mc.patch(
            f"/lists/{vendors.config.list_id}/members/{member_id}",
            json={"merge_fields": merge_fields},
        ).raise_for_status()


def test_a_value_can_come_back_after_it_was_replaced(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig
) -> None:
    run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    email = sorted(set(crm) & set(members))[0]
    crm_id, member_id = crm[email]["_raw"]["id"], members[email]["_raw"]["id"]
    steps = [("crm", "Diego"), ("crm", "Bravo"), ("email", "Diego"), ("crm", "Bravo")]
    for system, value in steps:
        if system == "crm":
            set_crm(vendors, crm_id, jobtitle=value)
        else:
            time.sleep(1.1)  # whole-second timestamps on the email side
            set_member(vendors, member_id, JOBTITLE=value)
        run_sync()
        assert crm_view(vendors, mapping)[email]["job_title"] == value
        assert email_view(vendors, mapping)[email]["job_title"] == value


def test_run_killed_before_sending_does_not_send_stale_values_later(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig
) -> None:
    run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    email = sorted(set(crm) & set(members))[0]
    set_crm(vendors, crm[email]["_raw"]["id"], jobtitle="From the CRM")

    async def dies_before_sending(ctx: SyncContext, system: str, ops) -> None:
        raise Killed

    with pytest.raises(Killed):
        run_sync(Steps(push=dies_before_sending))
    time.sleep(1.1)
    # Meanwhile someone edits the same field in the email platform: the newest value.
    set_member(vendors, members[email]["_raw"]["id"], JOBTITLE="From the email platform")
    run_sync()
    assert crm_view(vendors, mapping)[email]["job_title"] == "From the email platform"
    assert email_view(vendors, mapping)[email]["job_title"] == "From the email platform"
    vendors.reset_stats()
    assert run_sync().writes == 0


def test_after_a_crm_email_change_the_member_keeps_receiving_updates(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig, settings: Settings
) -> None:
    run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    email = next(
        e for e in sorted(set(crm) & set(members)) if members[e]["_raw"]["status"] == "subscribed"
    )
    set_crm(vendors, crm[email]["_raw"]["id"], email="new." + email, jobtitle="Moved")
    run_sync()
    # The status belongs to the address: the person opts out under the new one.
    vendors.hubspot_opt_out("new." + email, DEFAULT_SUBSCRIPTION_ID)
    run_sync()
    after = email_view(vendors, mapping)
    # The person's member moved to the new address and got both changes; no second member.
    assert after["new." + email]["job_title"] == "Moved"
    assert after["new." + email]["_raw"]["status"] == "unsubscribed"
    assert after["new." + email]["_raw"]["contact_id"] == members[email]["_raw"]["contact_id"]
    assert email not in after
    assert not [
        d
        for d in dead_letters(settings)
        if d.stage == "push" and d.payload.get("email") in (email, "new." + email)
    ]


def test_unticking_the_crm_opt_out_does_not_resubscribe(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig
) -> None:
    run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    email = next(
        e for e in sorted(set(crm) & set(members)) if members[e]["_raw"]["status"] == "unsubscribed"
    )
    assert crm[email]["_raw"]["properties"]["hs_email_optout"] == "true"
    with vendors.hubspot as hs:
        refused = hs.patch(
            f"/crm/v3/objects/contacts/{crm[email]['_raw']['id']}",
            json={"properties": {"hs_email_optout": "false"}},
        )
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["code"] == "READ_ONLY_VALUE"
        # Someone resubscribes the address in HubSpot; that is no reason to resubscribe
        # the member, who opted out in the email platform.
        hs.post(
            "/communication-preferences/v4/statuses/batch/write",
            json={
                "inputs": [
                    {
                        "channel": "EMAIL",
                        "statusState": "SUBSCRIBED",
                        "subscriberIdString": email,
                        "subscriptionId": DEFAULT_SUBSCRIPTION_ID,
                    }
                ]
            },
        ).raise_for_status()
    run_sync()
    assert email_view(vendors, mapping)[email]["_raw"]["status"] == "unsubscribed"
    vendors.reset_stats()
    assert run_sync().writes == 0


def test_two_runs_cannot_overlap(settings: Settings) -> None:
    from flows.run import open_context
    from state.repository import LeaseHeld
    from tests.integration.conftest import make_connectors

    first = open_context(settings, connectors=make_connectors(settings))
    with pytest.raises(LeaseHeld):
        open_context(settings, connectors=make_connectors(settings))
    close_run(first, RunStatus.COMPLETED)
    second = open_context(settings, connectors=make_connectors(settings))
    close_run(second, RunStatus.COMPLETED)


def test_member_that_appears_mid_run_is_merged_not_overwritten(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig, settings: Settings
) -> None:
    crm = crm_view(vendors, mapping)
    members = email_view(vendors, mapping)
    email = sorted(e for e in set(crm) - set(members) if "." in e.split("@")[1])[0]
    # Ordinary-looking CRM-only person; they sign up on the web form while Baton runs.
    assert crm[email]["_raw"]["properties"].get("hs_email_optout") != "true"

    async def fetch_then_signup(ctx: SyncContext, system: str, since, token):
        page = await fetch_page(ctx, system, since, token)
        if system == "mailchimp" and page.next_token is None:
            with vendors.mailchimp as mc:
                mc.put(
                    f"/lists/{vendors.config.list_id}/members/{email}",
                    json={"email_address": email, "status_if_new": "subscribed"},
                ).raise_for_status()
        return page

    report = run_sync(Steps(fetch=fetch_then_signup))
    after = email_view(vendors, mapping)
    assert after[email]["_raw"]["status"] == "subscribed"  # not overwritten by Baton
    assert report.of("mailchimp").created == vendors.config.hubspot_only - 1
    assert not [d for d in dead_letters(settings) if d.payload.get("email") == email]
    vendors.reset_stats()
    assert run_sync().writes == 0


async def test_a_run_that_lost_its_lease_stops_without_writing(settings: Settings) -> None:
    from datetime import timedelta

    from flows.run import open_context
    from state.models import ContactRow, LeaseRow, SyncRunRow
    from state.repository import LeaseLost
    from tests.integration.conftest import make_connectors

    slow = open_context(settings, connectors=make_connectors(settings))
    with slow.db.session() as s:  # its process froze long enough for the lease to go stale
        lease = s.get(LeaseRow, "sync")
        assert lease is not None
        lease.heartbeat_at -= timedelta(seconds=settings.lease_timeout_seconds + 1)
        s.commit()
    taker = open_context(settings, connectors=make_connectors(settings))

    with pytest.raises(LeaseLost):
        await pull_page(slow, "hubspot", None, None)
    close_run(slow, RunStatus.FAILED)
    with slow.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ContactRow)) == 0
        run = s.get(SyncRunRow, slow.run_id)
        assert run is not None
        assert run.status == "interrupted"
    close_run(taker, RunStatus.COMPLETED)
    for ctx in (slow, taker):
        for connector in ctx.connectors.values():
            await connector.aclose()
