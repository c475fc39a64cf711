"""Dead letters are kept with their reason and go through once the cause is fixed."""

from __future__ import annotations

import asyncio
import time

import httpx

from flows.replay import ReplayResult, replay_letters
from flows.run import close_connectors, open_context
from flows.settings import DEFAULT_MAPPING, Settings
from mapping.config import load_mapping
from mapping.translate import translate_record
from state import repository as repo
from state.database import Database
from tests.integration.conftest import make_connectors
from tests.integration.vendors import Runner, Vendors

# The shipped mapping keeps an enum value it has no mapping for; these tests set the
# picklists to dead-letter such a value instead (that field only, replayable).
STRICT = (
    DEFAULT_MAPPING.read_text()
    .replace(
        "  service_line:\n    type: enum\n",
        "  service_line:\n    type: enum\n    unmapped: dead_letter\n",
    )
    .replace(
        "  lead_source:\n    type: enum\n",
        "  lead_source:\n    type: enum\n    unmapped: dead_letter\n",
    )
)


def open_letters(settings: Settings) -> list[tuple[int, str, str | None, str]]:
    db = Database(settings.database_url)
    with db.session() as s:
        rows = [(d.id, d.stage, d.field, d.reason) for d in repo.open_dead_letters(s, 1000)]
    db.dispose()
    return rows


def forget_when_reading(labels: dict[str, str], label: str) -> str:
    """The shipped mapping with a `read_values` table for the email platform's lead source
    that lacks `label` (a mapping that leaves a value out of `values` is refused at load)."""
    text = STRICT
    last = "        direct: Direct\n"
    assert text.count(last) == 1
    reads = "".join(f"        {v}: {k}\n" for k, v in labels.items() if v != label)
    return text.replace(last, f"{last}      read_values:\n{reads}")


def test_fixed_mapping_lets_dead_lettered_fields_through(
    settings: Settings, vendors: Vendors, run_sync: Runner, tmp_path
) -> None:
    from mapping.config import load_mapping

    mapping = load_mapping(DEFAULT_MAPPING)
    labels = mapping.fields["lead_source"].bindings["mailchimp"].values or {}
    members = vendors.members()
    label = max(
        labels.values(), key=lambda v: sum(m["merge_fields"].get("SOURCE") == v for m in members)
    )
    referred = [m for m in members if m["merge_fields"].get("SOURCE") == label]
    assert referred
    # An admin forgot one value of the lead-source picklist when reading it back.
    broken = tmp_path / "mapping.yaml"
    broken.write_text(forget_when_reading(labels, label))
    broken_settings = settings.model_copy(update={"mapping_file": broken})

    asyncio.run(_sync(broken_settings))
    letters = [row for row in open_letters(settings) if row[2] == "lead_source"]
    assert letters
    assert all(f"{label!r} has no canonical value" in reason for *_, reason in letters)

    results = _replay(settings, [letter_id for letter_id, *_ in letters])
    assert [r.resolved for r in results] == [True] * len(letters)
    assert not [row for row in open_letters(settings) if row[2] == "lead_source"]

    run_sync()
    crm = {
        c["properties"]["email"].strip().lower(): c["properties"]
        for c in vendors.hubspot_contacts(["email", "lead_source"])
        if c["properties"].get("email")
    }
    for member in referred:
        email = member["email_address"].strip().lower()
        values = translate_record(mapping, "hubspot", crm[email]).values
        # The CRM had no lead source for some of them; now it has the email platform's.
        assert values["lead_source"] is not None


def test_unfixable_letter_stays_open(settings: Settings, run_sync: Runner) -> None:
    run_sync()
    missing = [row for row in open_letters(settings) if "is empty" in row[3]]
    assert missing

    [result] = _replay(settings, [missing[0][0]])
    assert not result.resolved
    assert "still failing" in result.detail
    assert missing[0] in open_letters(settings)


async def _sync(settings: Settings) -> None:
    from flows.run import sync_once

    ctx = open_context(settings, connectors=make_connectors(settings))
    try:
        await sync_once(ctx)
    finally:
        await close_connectors(ctx)
        ctx.db.dispose()


def test_refused_writes_go_out_after_the_vendor_is_fixed(
    settings: Settings, vendors: Vendors, run_sync: Runner
) -> None:
    list_id = vendors.config.list_id
    httpx.post(
        f"{vendors.server.url}/_sandbox/faults",
        timeout=5,
        json={
            "method": "POST",
            "path": f"/3.0/lists/{list_id}",
            "status": 400,
            "times": 10_000,
        },
    ).raise_for_status()
    first = run_sync()
    refused = [row for row in open_letters(settings) if row[1] == "push"]
    assert len(refused) == first.of("mailchimp").dead_lettered > 0
    httpx.delete(f"{vendors.server.url}/_sandbox/faults", timeout=5).raise_for_status()

    results = _replay(settings, [letter_id for letter_id, *_ in refused])
    assert all(r.queued and not r.resolved for r in results)
    second = run_sync()
    # Every refused member arrives now, except those whose email the platform refuses.
    sent = second.of("mailchimp").created + second.of("mailchimp").updated
    assert sent == len(refused) - vendors.config.invalid_emails
    assert second.of("mailchimp").dead_lettered == vendors.config.invalid_emails
    # Letters close when their write went through; the refused ones stay open, one each.
    still_open = [row for row in open_letters(settings) if row[1] == "push"]
    assert len(still_open) == vendors.config.invalid_emails
    vendors.reset_stats()
    assert run_sync().writes == 0


def test_replaying_an_old_copy_never_turns_back_a_later_change(
    settings: Settings, vendors: Vendors, run_sync: Runner, tmp_path
) -> None:
    mapping = load_mapping(DEFAULT_MAPPING)
    labels = mapping.fields["lead_source"].bindings["mailchimp"].values or {}
    members = vendors.members()
    member = next(m for m in members if m["merge_fields"].get("SOURCE") in labels.values())
    label = member["merge_fields"]["SOURCE"]
    canonical = next(k for k, v in labels.items() if v == label)
    broken = tmp_path / "mapping.yaml"
    broken.write_text(forget_when_reading(labels, label))
    broken_settings = settings.model_copy(update={"mapping_file": broken})

    asyncio.run(_sync(broken_settings))
    # Later the person's first name changes; the broken mapping fails the source again.
    time.sleep(1.1)
    with vendors.mailchimp as mc:
        mc.patch(
            f"/lists/{vendors.config.list_id}/members/{member['id']}",
            json={"merge_fields": {"FNAME": "Renamed"}},
        ).raise_for_status()
    asyncio.run(_sync(broken_settings))
    letters = [row for row in open_letters(settings) if row[2] == "lead_source"]
    mine = [row for row in letters if member["contact_id"] in row[3]]
    assert len(mine) == 1, "one open letter per record and field"

    assert all(r.resolved for r in _replay(settings, [row[0] for row in letters]))
    run_sync()
    crm = {
        c["properties"]["email"].strip().lower(): c["properties"]
        for c in vendors.hubspot_contacts(["email", "firstname", "lead_source"])
        if c["properties"].get("email")
    }
    person = crm[member["email_address"].strip().lower()]
    assert person["firstname"] == "Renamed"
    assert person["lead_source"] == canonical


def _replay(settings: Settings, ids: list[int]) -> list[ReplayResult]:
    return replay_letters(settings, ids, connectors=make_connectors(settings))


def test_a_value_baton_could_not_read_is_not_written_over(
    settings: Settings, vendors: Vendors, run_sync: Runner, tmp_path
) -> None:
    mapping = load_mapping(DEFAULT_MAPPING)
    labels = mapping.fields["lead_source"].bindings["mailchimp"].values or {}
    crm_ids = {
        c["properties"]["email"].strip().lower(): c["id"]
        for c in vendors.hubspot_contacts(["email"])
        if c["properties"].get("email")
    }
    shared = [
        m
        for m in vendors.members()
        if m["merge_fields"].get("SOURCE") in labels.values()
        and m["email_address"].strip().lower() in crm_ids
    ]
    assert shared, "the seed should hold people in both systems with a lead source"
    label = shared[0]["merge_fields"]["SOURCE"]
    canonical = next(k for k, v in labels.items() if v == label)
    other = next(k for k in labels if k != canonical)
    holders = {m["id"] for m in shared if m["merge_fields"]["SOURCE"] == label}
    # The CRM says something else: its value would win a write to the email platform.
    with vendors.hubspot as hs:
        for m in shared:
            if m["id"] in holders:
                contact_id = crm_ids[m["email_address"].strip().lower()]
                hs.patch(
                    f"/crm/v3/objects/contacts/{contact_id}",
                    json={"properties": {"lead_source": other}},
                ).raise_for_status()
    broken = tmp_path / "mapping.yaml"
    broken.write_text(forget_when_reading(labels, label))

    asyncio.run(_sync(settings.model_copy(update={"mapping_file": broken})))
    after = {m["id"]: m["merge_fields"].get("SOURCE") for m in vendors.members()}
    assert {after[i] for i in holders} == {label}  # not overwritten with the CRM's value

    letters = [row for row in open_letters(settings) if row[2] == "lead_source"]
    results = _replay(settings, [row[0] for row in letters])
    assert {r.detail for r in results} == {"record applied"}


def test_replaying_one_field_keeps_the_others_unwritten(
    settings: Settings, vendors: Vendors, tmp_path
) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text(STRICT)
    quiet = settings.model_copy(update={"sync_overlap_seconds": 0, "mapping_file": strict})
    crm_ids = {
        c["properties"]["email"].strip().lower(): c["id"]
        for c in vendors.hubspot_contacts(["email"])
        if c["properties"].get("email")
    }
    member = next(m for m in vendors.members() if m["email_address"].strip().lower() in crm_ids)
    with vendors.mailchimp as mc:
        mc.patch(
            f"/lists/{vendors.config.list_id}/members/{member['id']}",
            json={"merge_fields": {"SERVICE": "Weird", "SOURCE": "Weird2"}},
        ).raise_for_status()
    with vendors.hubspot as hs:
        hs.patch(
            f"/crm/v3/objects/contacts/{crm_ids[member['email_address'].strip().lower()]}",
            json={"properties": {"service_line": "cardiology", "lead_source": "event"}},
        ).raise_for_status()
    time.sleep(1.1)
    asyncio.run(_sync(quiet))
    time.sleep(1.1)
    asyncio.run(_sync(quiet))  # reads back its own writes; later runs will not see the member
    letters = {row[2]: row[0] for row in open_letters(settings) if member["contact_id"] in row[3]}
    assert set(letters) == {"service_line", "lead_source"}

    fixed = tmp_path / "mapping.yaml"
    fixed.write_text(STRICT.replace("oncology: Oncology", "oncology: Weird"))
    fixed_settings = quiet.model_copy(update={"mapping_file": fixed})
    [result] = _replay(fixed_settings, [letters["service_line"]])
    assert result.detail == "record applied"
    asyncio.run(_sync(fixed_settings))
    after = next(m for m in vendors.members() if m["id"] == member["id"])
    assert after["merge_fields"]["SOURCE"] == "Weird2"  # still unread: never written over
