"""HubSpot's request quotas: the 10-second budget per tier, the search budget, the headers.

HubSpot counts every request of a portal's private apps against one rolling
10-second budget whose size depends on the subscription (100 on Free and
Starter, 190 on Professional and Enterprise, 250 with the API add-on). Search
has its own limit of 5 requests per second, and each search also counts in
the 10-second budget. `share` is the part of the budget Baton allows itself,
so other apps on the portal keep headroom.

Most responses (not search) carry `X-HubSpot-RateLimit-Max`, `-Remaining` and
`-Interval-Milliseconds`. A `Max` other than the configured tier's resizes the
budget (the portal knows its tier better than the setting); a `Remaining` at
or below the other apps' headroom means someone else is using the budget, and
Baton holds back for the slots it would otherwise take from them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from enum import StrEnum

from connectors.pacing import WindowBudget

log = logging.getLogger("baton.connectors")

BURST_PERIOD_S = 10.0
SEARCH_PER_SECOND = 5
# How far the network may bunch requests that left evenly spaced; the budgets
# leave this much room so a server counting arrivals never sees one too many.
BURST_SLACK_S = 0.5
SEARCH_SLACK_S = 0.1


class HubSpotTier(StrEnum):
    """Subscription tiers as the 10-second budget sees them."""

    FREE = "free"
    STARTER = "starter"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"
    API_ADD_ON = "api-add-on"

    @property
    def per_ten_seconds(self) -> int:
        return _PER_TEN_SECONDS[self]


_PER_TEN_SECONDS = {
    HubSpotTier.FREE: 100,
    HubSpotTier.STARTER: 100,
    HubSpotTier.PROFESSIONAL: 190,
    HubSpotTier.ENTERPRISE: 190,
    HubSpotTier.API_ADD_ON: 250,
}


def share_of(budget: int, share: float) -> int:
    """Baton's part of a budget: at least one request, never more than the budget."""
    return max(1, min(budget, math.floor(budget * share)))


class HubSpotQuota:
    """The budgets one HubSpot client paces itself by, adapted from response headers."""

    def __init__(self, tier: HubSpotTier = HubSpotTier.STARTER, share: float = 1.0) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self.share = share
        self.portal_max = tier.per_ten_seconds
        self.burst = WindowBudget(
            share_of(self.portal_max, share), BURST_PERIOD_S, slack_s=BURST_SLACK_S
        )
        self.search = WindowBudget(share_of(SEARCH_PER_SECOND, share), 1.0, slack_s=SEARCH_SLACK_S)

    @classmethod
    def unlimited(cls) -> HubSpotQuota:
        """No client-side pacing (unit tests against mocked transports)."""
        quota = cls()
        quota.burst.resize(0)
        quota.search.resize(0)
        return quota

    def observe(self, headers: Mapping[str, str]) -> None:
        """Adapt to `X-HubSpot-RateLimit-*` headers of a response, when present."""
        portal_max = _int(headers.get("X-HubSpot-RateLimit-Max"))
        remaining = _int(headers.get("X-HubSpot-RateLimit-Remaining"))
        interval_ms = _int(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"))
        if portal_max is None or portal_max <= 0 or self.burst.unlimited:
            return
        if interval_ms not in (None, int(BURST_PERIOD_S * 1000)):
            return  # some other window (daily, secondly): not the budget paced here
        if portal_max != self.portal_max:
            log.info("hubspot reports %d requests per 10 s; pacing to that", portal_max)
            self.portal_max = portal_max
            self.burst.resize(share_of(portal_max, self.share))
        if remaining is None:
            return
        headroom = portal_max - share_of(portal_max, self.share)
        if remaining <= headroom:
            # Others have taken part of the window: wait out the slots we would take from them.
            deficit = headroom - remaining + 1
            self.burst.pause(BURST_PERIOD_S * deficit / portal_max)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
