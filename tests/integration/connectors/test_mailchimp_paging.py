"""Paging over a member list that changes while it is read skips no one."""

from __future__ import annotations

from connectors.mailchimp import MailchimpClient
from sandbox.server import SandboxServer
from tests.integration.vendors import Vendors


async def test_member_changed_mid_pull_does_not_hide_another(
    sandbox: SandboxServer, vendors: Vendors
) -> None:
    everyone = {m["contact_id"] for m in vendors.members()}
    client = MailchimpClient(
        f"{sandbox.url}/3.0", vendors.config.mailchimp_api_key, vendors.config.list_id
    )
    client.page_size = 5
    seen: set[str] = set()
    token: str | None = None
    first = True
    try:
        while True:
            page = await client.fetch_page(None, token)
            seen.update(r.external_id for r in page.records)
            if first:
                # Someone edits a member of the first page while Baton reads on:
                # it moves to the end of the last_changed order.
                moved = page.records[0]
                with vendors.mailchimp as mc:
                    mc.patch(
                        f"/lists/{vendors.config.list_id}/members/{moved.fields['id']}",
                        json={"merge_fields": {"FNAME": "Edited"}},
                    ).raise_for_status()
                first = False
            token = page.next_token
            if token is None:
                break
    finally:
        await client.aclose()
    assert seen == everyone
