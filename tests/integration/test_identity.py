"""Identity over real HTTP: one person stays one contact, and keeps their consent."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

from flows.settings import DEFAULT_MAPPING, Settings
from mapping.config import MappingConfig, load_mapping
from state.database import Database
from state.models import ContactRow, LinkRow, OutboxRow, OutboxStatus
from tests.integration.test_sync import crm_view, dead_letters, email_view
from tests.integration.vendors import Runner, Vendors


@pytest.fixture(scope="module")
def mapping() -> MappingConfig:
    return load_mapping(DEFAULT_MAPPING)


def contact_count(settings: Settings) -> int:
    db = Database(settings.database_url)
    with db.session() as s:
        count = s.scalar(select(func.count()).select_from(ContactRow)) or 0
    db.dispose()
    return count


def test_crm_email_change_of_an_opted_out_person_keeps_the_opt_out(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig, settings: Settings
) -> None:
    run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    email = next(
        e for e in sorted(set(crm) & set(members)) if members[e]["_raw"]["status"] == "unsubscribed"
    )
    contacts = contact_count(settings)
    with vendors.hubspot as hs:
        hs.patch(
            f"/crm/v3/objects/contacts/{crm[email]['_raw']['id']}",
            json={"properties": {"email": "moved." + email}},
        ).raise_for_status()
    run_sync()
    run_sync()

    assert contact_count(settings) == contacts
    crm_after, members_after = crm_view(vendors, mapping), email_view(vendors, mapping)
    assert len(crm_after) == len(crm)
    assert len(members_after) == len(members)
    assert "moved." + email not in members_after  # no second member for the new address
    assert members_after[email]["_raw"]["status"] == "unsubscribed"
    assert crm_after["moved." + email]["email_consent"] == "opted_out"


def test_case_and_whitespace_variants_are_one_contact(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig, settings: Settings
) -> None:
    with vendors.hubspot as hs:
        hs.post(
            "/crm/v3/objects/contacts",
            json={"properties": {"email": "Pat.Variant@Example.org", "firstname": "Pat"}},
        ).raise_for_status()
    with vendors.mailchimp as mc:
        mc.post(
            f"/lists/{vendors.config.list_id}/members",
            json={"email_address": "pat.variant@EXAMPLE.org ", "status": "unsubscribed"},
        ).raise_for_status()
    run_sync()
    run_sync()

    db = Database(settings.database_url)
    with db.session() as s:
        rows = list(s.scalars(select(ContactRow).where(ContactRow.email.like("%variant%"))))
    db.dispose()
    assert [r.email for r in rows] == ["pat.variant@example.org"]
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    assert members["pat.variant@example.org"]["_raw"]["status"] == "unsubscribed"
    assert members["pat.variant@example.org"]["first_name"] == "Pat"
    assert crm["pat.variant@example.org"]["email_consent"] == "opted_out"


def linked_contact(settings: Settings, system: str, external_id: str) -> int:
    db = Database(settings.database_url)
    with db.session() as s:
        contact_id = s.scalars(
            select(LinkRow.contact_id).where(
                LinkRow.system == system, LinkRow.external_id == external_id
            )
        ).one()
    db.dispose()
    return int(contact_id)


def links_of(settings: Settings, contact_id: int) -> dict[str, str]:
    db = Database(settings.database_url)
    with db.session() as s:
        rows = list(s.scalars(select(LinkRow).where(LinkRow.contact_id == contact_id)))
    db.dispose()
    return {r.system: r.external_id for r in rows}


def linked_contacts(settings: Settings) -> int:
    """Canonical contacts that stand for someone in a system (a collapsed one has no link)."""
    db = Database(settings.database_url)
    with db.session() as s:
        count = s.scalar(select(func.count(func.distinct(LinkRow.contact_id)))) or 0
    db.dispose()
    return count


def plan_by_hand(settings: Settings, rows: list[OutboxRow]) -> list[str]:
    """Writes planned and not sent yet (as a run that stopped before its pushes leaves them)."""
    db = Database(settings.database_url)
    with db.session() as s:
        s.add_all(rows)
        s.commit()
        keys = [r.idempotency_key for r in rows]
    db.dispose()
    return keys


def outbox_statuses(settings: Settings, keys: list[str]) -> list[OutboxStatus]:
    db = Database(settings.database_url)
    with db.session() as s:
        found = {
            r.idempotency_key: r.status
            for r in s.scalars(select(OutboxRow).where(OutboxRow.idempotency_key.in_(keys)))
        }
    db.dispose()
    return [found[k] for k in keys]


def test_hubspot_merge_collapses_both_contacts_onto_the_survivor(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig, settings: Settings
) -> None:
    run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    both = sorted(set(crm) & set(members))
    kept = next(e for e in both if members[e]["_raw"]["status"] == "subscribed")
    gone = next(e for e in both if members[e]["_raw"]["status"] == "unsubscribed")
    primary, other = crm[kept]["_raw"]["id"], crm[gone]["_raw"]["id"]
    member_kept, member_gone = members[kept]["_raw"], members[gone]["_raw"]
    kept_id, gone_id = (linked_contact(settings, "hubspot", i) for i in (primary, other))
    linked = linked_contacts(settings)
    letters = {d.id for d in dead_letters(settings)}
    stale = plan_by_hand(
        settings,
        [
            OutboxRow(
                idempotency_key=uuid.uuid4().hex,
                system=system,
                contact_id=contact_id,
                external_id=external_id,
                email=email,
                payload={field: "Stale"},
            )
            for system, contact_id, external_id, email, field in (
                ("hubspot", kept_id, primary, kept, "jobtitle"),
                ("hubspot", gone_id, other, gone, "jobtitle"),
                ("mailchimp", gone_id, member_gone["contact_id"], gone, "merge_fields.FNAME"),
            )
        ],
    )
    with vendors.hubspot as hs:
        response = hs.post(
            "/crm/v3/objects/contacts/merge",
            json={"primaryObjectId": primary, "objectIdToMerge": other},
        )
        assert response.status_code == 200, response.text
        survivor = response.json()["id"]
        hs.patch(
            f"/crm/v3/objects/contacts/{survivor}", json={"properties": {"jobtitle": "Merged"}}
        ).raise_for_status()
    vendors.reset_stats()
    report = run_sync()
    run_sync()

    writes = vendors.stats()["record_writes"]
    assert primary not in writes["hubspot"] and other not in writes["hubspot"]
    assert member_gone["id"] not in writes["mailchimp"]  # the second address is left alone
    assert outbox_statuses(settings, stale) == [OutboxStatus.SUPERSEDED] * 3
    assert report.of("hubspot").merged == 1
    assert not [d.reason for d in dead_letters(settings) if d.id not in letters]
    # One canonical contact, under the survivor's id, with the kept address's member.
    assert linked_contacts(settings) == linked - 1
    assert links_of(settings, kept_id) == {
        "hubspot": survivor,
        "mailchimp": member_kept["contact_id"],
    }
    assert links_of(settings, gone_id) == {}
    crm_after, members_after = crm_view(vendors, mapping), email_view(vendors, mapping)
    assert crm_after[kept]["_raw"]["id"] == survivor
    assert len(crm_after) == len(crm) - 1  # no duplicate created in the CRM
    assert len(members_after) == len(members)  # and none in the email platform
    assert members_after[kept]["job_title"] == "Merged"
    # Consent-first: the second address's member is left as it was (never archived,
    # never resubscribed), and its opt-out is the survivor's.
    assert members_after[gone]["_raw"]["status"] == "unsubscribed"
    assert members_after[gone]["first_name"] == members[gone]["first_name"]
    assert members_after[kept]["_raw"]["status"] == "unsubscribed"
    assert crm_after[kept]["email_consent"] == "opted_out"
    vendors.reset_stats()
    run_sync()
    assert vendors.stats()["write_calls"] == {"hubspot": 0, "mailchimp": 0}


def test_crm_email_change_moves_the_mailchimp_member(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig, settings: Settings
) -> None:
    run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    email = next(
        e for e in sorted(set(crm) & set(members)) if members[e]["_raw"]["status"] == "subscribed"
    )
    member = members[email]["_raw"]
    contacts = contact_count(settings)
    with vendors.hubspot as hs:
        hs.patch(
            f"/crm/v3/objects/contacts/{crm[email]['_raw']['id']}",
            json={"properties": {"email": "Moved." + email}},
        ).raise_for_status()
    run_sync()
    vendors.reset_stats()
    run_sync()

    assert vendors.stats()["write_calls"] == {"hubspot": 0, "mailchimp": 0}  # converged
    assert contact_count(settings) == contacts
    members_after = email_view(vendors, mapping)
    assert email not in members_after
    assert len(members_after) == len(members)  # the member moved; none was added
    moved = members_after["moved." + email]["_raw"]
    assert moved["contact_id"] == member["contact_id"]  # the same member, its history kept
    assert moved["web_id"] == member["web_id"]
    assert moved["status"] == "subscribed"
    assert moved["timestamp_signup"] == member["timestamp_signup"]
    assert not [d.reason for d in dead_letters(settings) if "moved." in d.reason]


def test_mailchimp_email_change_moves_the_crm_contact(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig, settings: Settings
) -> None:
    run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    email = next(
        e for e in sorted(set(crm) & set(members)) if members[e]["_raw"]["status"] == "subscribed"
    )
    contacts = contact_count(settings)
    time.sleep(1.1)  # whole-second timestamps on the email side
    with vendors.mailchimp as mc:
        response = mc.patch(
            f"/lists/{vendors.config.list_id}/members/{members[email]['_raw']['id']}",
            json={"email_address": "renamed." + email},
        )
        assert response.status_code == 200, response.text
    run_sync()
    vendors.reset_stats()
    run_sync()

    assert vendors.stats()["write_calls"] == {"hubspot": 0, "mailchimp": 0}
    assert contact_count(settings) == contacts
    crm_after, members_after = crm_view(vendors, mapping), email_view(vendors, mapping)
    assert len(crm_after) == len(crm) and len(members_after) == len(members)
    assert email not in crm_after
    after = crm_after["renamed." + email]
    assert after["_raw"]["id"] == crm[email]["_raw"]["id"]  # the same CRM contact
    assert after["email_consent"] == crm[email]["email_consent"]
    assert members_after["renamed." + email]["_raw"]["status"] == "subscribed"
