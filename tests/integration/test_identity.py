"""Identity over real HTTP: one person stays one contact, and keeps their consent."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from flows.settings import DEFAULT_MAPPING, Settings
from mapping.config import MappingConfig, load_mapping
from state.database import Database
from state.models import ContactRow
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


def test_hubspot_merge_moves_the_link_to_the_survivor(
    run_sync: Runner, vendors: Vendors, mapping: MappingConfig, settings: Settings
) -> None:
    run_sync()
    crm, members = crm_view(vendors, mapping), email_view(vendors, mapping)
    both = sorted(set(crm) & set(members))
    primary, other = crm[both[0]]["_raw"]["id"], crm[both[1]]["_raw"]["id"]
    contacts = contact_count(settings)
    letters = {d.id for d in dead_letters(settings)}
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
    run_sync()
    run_sync()

    writes = vendors.stats()["record_writes"]["hubspot"]
    assert primary not in writes and other not in writes  # merged-away ids are never written
    assert not [d.reason for d in dead_letters(settings) if d.id not in letters]
    assert contact_count(settings) == contacts  # no second canonical contact
    crm_after, members_after = crm_view(vendors, mapping), email_view(vendors, mapping)
    assert crm_after[both[0]]["_raw"]["id"] == survivor
    assert len(crm_after) == len(crm) - 1  # no duplicate created in the CRM
    assert len(members_after) == len(members)  # and none in the email platform
    assert members_after[both[0]]["job_title"] == "Merged"
    # Consent-first: the second address's member is left as it was, never archived.
    assert members_after[both[1]]["_raw"]["status"] == members[both[1]]["_raw"]["status"]


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
