"""Property: whatever people edit on either side, one sync converges both systems
and the sync after it writes nothing."""

from __future__ import annotations

import asyncio
from itertools import count

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.run import close_connectors, open_context, sync_once
from flows.settings import DEFAULT_MAPPING, Settings
from mapping.config import load_mapping
from tests.integration.conftest import make_connectors
from tests.integration.test_sync import crm_view, email_view
from tests.integration.vendors import Vendors

CRM_FIELDS = {
    "first_name": "firstname",
    "last_name": "lastname",
    "job_title": "jobtitle",
    "organization": "company",
}
EMAIL_FIELDS = {
    "first_name": "FNAME",
    "last_name": "LNAME",
    "job_title": "JOBTITLE",
    "organization": "COMPANY",
}
MAPPING = load_mapping(DEFAULT_MAPPING)
_runs = count()

edit = st.tuples(
    st.sampled_from(["hubspot", "mailchimp"]),
    st.integers(min_value=0, max_value=1_000),
    st.sampled_from(sorted(CRM_FIELDS)),
    st.from_regex(r"[A-Za-z][A-Za-z .'-]{0,14}[A-Za-z]", fullmatch=True),
)


def sync(config: Settings) -> int:
    async def go() -> int:
        ctx = open_context(config, connectors=make_connectors(config))
        try:
            return (await sync_once(ctx)).writes
        finally:
            await close_connectors(ctx)
            ctx.db.dispose()

    return asyncio.run(go())


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=st.lists(edit, max_size=12))
def test_any_edits_converge_and_then_settle(
    vendors: Vendors, base_settings: Settings, tmp_path_factory, edits
) -> None:
    httpx.post(f"{vendors.server.url}/_sandbox/reset", json={}, timeout=10).raise_for_status()
    config = base_settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path_factory.mktemp('prop')}/run{next(_runs)}.db"}
    )
    sync(config)

    crm, members = crm_view(vendors, MAPPING), email_view(vendors, MAPPING)
    both = sorted(set(crm) & set(members))
    with vendors.hubspot as hs, vendors.mailchimp as mc:
        for system, index, field, value in edits:
            email = both[index % len(both)]
            if system == "hubspot":
                hs.patch(
                    f"/crm/v3/objects/contacts/{crm[email]['_raw']['id']}",
                    json={"properties": {CRM_FIELDS[field]: value}},
                ).raise_for_status()
            else:
                mc.patch(
                    f"/lists/{vendors.config.list_id}/members/{members[email]['_raw']['id']}",
                    json={"merge_fields": {EMAIL_FIELDS[field]: value}},
                ).raise_for_status()

    sync(config)
    crm, members = crm_view(vendors, MAPPING), email_view(vendors, MAPPING)
    for email in both:
        for field in CRM_FIELDS:
            assert crm[email].get(field) == members[email].get(field), (email, field)
    vendors.reset_stats()
    assert sync(config) == 0
    assert vendors.stats()["write_calls"] == {"hubspot": 0, "mailchimp": 0}
