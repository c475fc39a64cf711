"""A value Baton cannot read sets that one field aside: the rest of the record syncs, the
letter keeps the value and the reason, and `baton replay` applies it once the cause is
fixed. Real HTTP against the sandbox; the replay runs the real command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from flows.settings import Settings
from state import repository as repo
from state.database import Database
from tests.integration.conftest import sync_with
from tests.integration.vendors import Runner, Vendors

UK_NUMBER = "020 7946 0958"


def _letters(settings: Settings) -> list[tuple[int, str | None, str, dict[str, object]]]:
    db = Database(settings.database_url)
    with db.session() as s:
        rows = [(d.id, d.field, d.reason, dict(d.payload)) for d in repo.open_dead_letters(s, 100)]
    db.dispose()
    return rows


def _baton_replay(settings: Settings, region: str) -> subprocess.CompletedProcess[str]:
    assert settings.hubspot_token and settings.mailchimp_api_key and settings.mailchimp_list_id
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env = {
        **clean,
        "BATON_DATABASE_URL": settings.database_url,
        "BATON_HUBSPOT_BASE_URL": settings.hubspot_base_url,
        "BATON_HUBSPOT_TOKEN": settings.hubspot_token.get_secret_value(),
        "BATON_MAILCHIMP_BASE_URL": str(settings.mailchimp_base_url),
        "BATON_MAILCHIMP_API_KEY": settings.mailchimp_api_key.get_secret_value(),
        "BATON_MAILCHIMP_LIST_ID": settings.mailchimp_list_id,
        "BATON_PHONE_DEFAULT_REGION": region,
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "replay"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_unreadable_field_is_set_aside_alone_and_replayed(
    settings: Settings, vendors: Vendors, run_sync: Runner
) -> None:
    run_sync()
    crm = {
        c["properties"]["email"].strip().lower(): c["id"]
        for c in vendors.hubspot_contacts(["email"])
        if c["properties"].get("email")
    }
    member = next(m for m in vendors.members() if m["email_address"].strip().lower() in crm)
    email = member["email_address"].strip().lower()
    before = len(_letters(settings))
    # A UK number typed without its country code, and a new first name, in one edit.
    time.sleep(1.1)
    with vendors.mailchimp as mc:
        mc.patch(
            f"/lists/{vendors.config.list_id}/members/{member['id']}",
            json={"merge_fields": {"PHONE": UK_NUMBER, "FNAME": "Renamed"}},
        ).raise_for_status()
    time.sleep(1.1)
    sync_with(settings)

    [letter] = [
        row for row in _letters(settings) if row[3].get("external_id") == member["contact_id"]
    ]
    letter_id, field, reason, payload = letter
    assert field == "phone"
    assert payload["rejected_value"] == UK_NUMBER
    assert "is not a phone number (region US)" in reason
    assert len(_letters(settings)) == before + 1
    person = next(
        c["properties"]
        for c in vendors.hubspot_contacts(["email", "firstname", "phone"])
        if (c["properties"].get("email") or "").strip().lower() == email
    )
    assert person["firstname"] == "Renamed"  # the rest of the record synced
    assert person.get("phone") != "+442079460958"

    # The admin sets the region the audience's numbers are written in, and replays.
    result = _baton_replay(settings, "GB")
    assert result.returncode == 0, result.stderr
    assert str(letter_id) in result.stdout
    assert not [row for row in _letters(settings) if row[0] == letter_id]
    sync_with(settings.model_copy(update={"phone_default_region": "GB"}))
    person = next(
        c["properties"]
        for c in vendors.hubspot_contacts(["email", "phone"])
        if (c["properties"].get("email") or "").strip().lower() == email
    )
    assert person["phone"] == "+442079460958"
