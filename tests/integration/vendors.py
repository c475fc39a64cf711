"""Direct access to the sandbox's APIs, for arranging changes and reading outcomes back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from flows.report import RunReport
from sandbox.server import SandboxConfig, SandboxServer

Runner = Callable[..., RunReport]
# The User-Agent of the tests' own requests: the contract check of each test (conftest) tells
# them from Baton's, which must all follow the vendors' specs.
TEST_CLIENT = "baton-tests"


@dataclass
class Vendors:
    """Direct API access to the sandbox, for setting up changes and reading back."""

    server: SandboxServer
    config: SandboxConfig

    @property
    def hubspot(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url,
            timeout=10,
            headers={
                "Authorization": f"Bearer {self.config.hubspot_token}",
                "User-Agent": TEST_CLIENT,
            },
        )

    @property
    def mailchimp(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.server.url}/3.0",
            timeout=10,
            auth=("test", self.config.mailchimp_api_key),
            headers={"User-Agent": TEST_CLIENT},
        )

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.server.url}/_sandbox/stats", timeout=10).json()

    def reset_stats(self) -> None:
        httpx.post(f"{self.server.url}/_sandbox/stats/reset", timeout=10).raise_for_status()

    def hubspot_contacts(self, properties: list[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        after: str | None = None
        with self.hubspot as client:
            while True:
                params = {"limit": 100, "properties": ",".join(properties)}
                if after:
                    params["after"] = after
                body = client.get("/crm/v3/objects/contacts", params=params).json()
                out.extend(body["results"])
                after = body.get("paging", {}).get("next", {}).get("after")
                if not after:
                    return out

    def members(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with self.mailchimp as client:
            while True:
                body = client.get(
                    f"/lists/{self.config.list_id}/members",
                    params={"count": 1000, "offset": len(out)},
                ).json()
                out.extend(body["members"])
                if len(out) >= body["total_items"]:
                    return out

    def set_member_status(self, member_id: str, status: str) -> None:
        """The member's status changes in Mailchimp (an unsubscribe link, a bounce)."""
        with self.mailchimp as client:
            client.patch(
                f"/lists/{self.config.list_id}/members/{member_id}", json={"status": status}
            ).raise_for_status()

    def hubspot_opt_out(self, email: str, subscription_id: int | None = None) -> None:
        """The person opts out in HubSpot as they would from an email's unsubscribe link:
        of one subscription, or (no id) of all email."""
        body: dict[str, Any] = {"email": email}
        if subscription_id is not None:
            body["subscriptionId"] = subscription_id
        httpx.post(
            f"{self.server.url}/_sandbox/hubspot/opt-out", json=body, timeout=10
        ).raise_for_status()

    def hubspot_statuses(self, emails: list[str]) -> dict[str, dict[int, str]]:
        """Subscription statuses per address, read through Communication Preferences v4."""
        with self.hubspot as client:
            response = client.post(
                "/communication-preferences/v4/statuses/batch/read",
                params={"channel": "EMAIL"},
                json={"inputs": emails},
            )
        response.raise_for_status()
        return {
            r["subscriberIdString"].strip().lower(): {
                s["subscriptionId"]: s["status"] for s in r["statuses"]
            }
            for r in response.json()["results"]
        }
