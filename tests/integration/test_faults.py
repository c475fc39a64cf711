"""Throttling and server errors on the wire: the run retries and still converges."""

from __future__ import annotations

import httpx

from tests.integration.vendors import Runner, Vendors


def inject(
    vendors: Vendors,
    method: str,
    path: str,
    status: int,
    times: int,
    retry_after: int | None = None,
) -> None:
    body = {"method": method, "path": path, "status": status, "times": times}
    if retry_after is not None:
        body["retry_after"] = retry_after
    httpx.post(f"{vendors.server.url}/_sandbox/faults", json=body, timeout=5).raise_for_status()


def test_429_and_5xx_are_retried_and_the_run_converges(run_sync: Runner, vendors: Vendors) -> None:
    list_id = vendors.config.list_id
    inject(vendors, "POST", "/crm/v3/objects/contacts/search", 429, 2, retry_after=1)
    inject(vendors, "POST", f"/3.0/lists/{list_id}", 503, 1)
    inject(vendors, "POST", "/crm/v3/objects/contacts/batch/upsert", 502, 1)

    report = run_sync()

    assert report.of("hubspot").created == vendors.config.mailchimp_only
    assert report.of("mailchimp").created == vendors.config.hubspot_only
    requests = vendors.stats()["requests"]
    # Every failed attempt was followed by a successful one.
    assert requests["POST /crm/v3/objects/contacts/search"] == 3
    assert requests["POST /crm/v3/objects/contacts/batch/upsert"] == 2
    assert requests["POST /3.0/lists/{list_id}"] == 3  # creates (retried once) + updates
    vendors.reset_stats()
    assert run_sync().writes == 0


def test_a_system_down_for_the_whole_run_does_not_stop_the_other(
    run_sync: Runner, vendors: Vendors, settings
) -> None:
    from state import repository as repo
    from state.database import Database

    list_id = vendors.config.list_id
    inject(vendors, "GET", f"/3.0/lists/{list_id}/members", 503, 1_000, retry_after=0)
    first = run_sync()
    assert "mailchimp" in first.errors
    assert "hubspot" not in first.errors
    assert first.of("hubspot").pulled > 0
    db = Database(settings.database_url)
    with db.session() as s:
        assert repo.cursor(s, "hubspot.contacts") is not None
        assert repo.cursor(s, "mailchimp.contacts") is None  # nothing it had is skipped later
        [run] = repo.recent_runs(s, 1)
        assert run.status == "partial"
        assert "mailchimp" in (run.error or "")
    db.dispose()

    httpx.delete(f"{vendors.server.url}/_sandbox/faults", timeout=5).raise_for_status()
    second = run_sync()
    assert second.errors == {}
    assert second.of("mailchimp").created == vendors.config.hubspot_only
    assert second.of("hubspot").created == vendors.config.mailchimp_only
    vendors.reset_stats()
    assert run_sync().writes == 0
