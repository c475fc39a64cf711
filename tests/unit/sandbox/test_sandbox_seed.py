"""Seed data: deterministic, sized as configured, with the promised overlaps and quirks."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.config import SandboxConfig
from sandbox.hs_properties import LEAD_SOURCES, SERVICE_LINES, is_valid_email
from sandbox.records import subscriber_hash
from sandbox.seed import build_seed

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _snapshot(config: SandboxConfig) -> tuple[list[object], list[object]]:
    seed = build_seed(config, NOW)
    return (
        [(c.id, c.props, c.created, c.updated) for c in seed.contacts],
        [(m.email, m.status, m.merge_fields, m.last_changed, m.tags) for m in seed.members],
    )


def test_same_seed_gives_identical_data() -> None:
    assert _snapshot(SandboxConfig()) == _snapshot(SandboxConfig())


def test_different_seed_gives_different_data() -> None:
    assert _snapshot(SandboxConfig(seed=1)) != _snapshot(SandboxConfig(seed=2))


def test_counts_match_config() -> None:
    cfg = SandboxConfig()
    seed = build_seed(cfg, NOW)
    hub = cfg.overlap + cfg.hubspot_only + cfg.invalid_emails + cfg.missing_emails
    assert len(seed.contacts) == hub
    assert len(seed.members) == cfg.overlap + cfg.mailchimp_only
    assert [c.id for c in seed.contacts] == list(range(1001, 1001 + hub))
    assert len(seed.owners) >= 3


def test_overlap_differs_only_in_case_or_whitespace() -> None:
    cfg = SandboxConfig()
    seed = build_seed(cfg, NOW)
    hub_emails = {
        (c.props["email"] or "").strip().lower(): c for c in seed.contacts if c.props["email"]
    }
    member_keys = {m.email.strip().lower(): m for m in seed.members}
    shared = set(hub_emails) & set(member_keys)
    assert len(shared) == cfg.overlap
    raw_differs = [k for k in shared if hub_emails[k].props["email"] != member_keys[k].email]
    assert len(raw_differs) == cfg.overlap  # every overlapping pair differs textually
    assert any(
        (hub_emails[k].props["email"] or "") != (hub_emails[k].props["email"] or "").strip()
        for k in shared
    )
    for key in shared:
        assert hub_emails[key].props["firstname"] == member_keys[key].merge_fields["FNAME"]
    unsubscribed_overlap = [k for k in shared if member_keys[k].status == "unsubscribed"]
    assert len(unsubscribed_overlap) >= 2


def test_invalid_and_missing_emails() -> None:
    cfg = SandboxConfig(invalid_emails=3, missing_emails=2)
    seed = build_seed(cfg, NOW)
    emails = [c.props["email"] for c in seed.contacts]
    assert sum(1 for e in emails if e is None) == 2
    assert sum(1 for e in emails if e is not None and not is_valid_email(e)) == 3
    assert all(is_valid_email(m.email) for m in seed.members)


def test_unique_member_hashes_and_valid_values() -> None:
    seed = build_seed(SandboxConfig(overlap=300, hubspot_only=300, mailchimp_only=300), NOW)
    hashes = [subscriber_hash(m.email) for m in seed.members]
    assert len(set(hashes)) == len(hashes)
    hub_keys = [(c.props["email"] or "").strip().lower() for c in seed.contacts]
    present = [k for k in hub_keys if k]
    assert len(set(present)) == len(present)
    for contact in seed.contacts:
        assert contact.props["service_line"] in SERVICE_LINES
        assert contact.props["lead_source"] in (None, *LEAD_SOURCES)
        assert contact.created <= contact.updated <= NOW
    statuses = {m.status for m in seed.members}
    assert {"subscribed", "unsubscribed", "cleaned", "pending"} <= statuses
    labels = set(SERVICE_LINES.values()) | {""}
    assert all(m.merge_fields["SERVICE"] in labels for m in seed.members)


def test_large_seed_has_every_record() -> None:
    seed = build_seed(SandboxConfig(overlap=4000, hubspot_only=6000, mailchimp_only=6000), NOW)
    assert len(seed.contacts) >= 10_000
    assert len(seed.members) >= 10_000
