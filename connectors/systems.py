"""Each known system's rules, for code that runs before any connector exists
(loading and validating the mapping file)."""

from __future__ import annotations

from connectors.contract import SystemRules
from connectors.mailchimp_status import guard_status
from connectors.values import hubspot_datetime, mailchimp_multi, mailchimp_number

HUBSPOT = SystemRules(renders={"datetime": hubspot_datetime})
MAILCHIMP = SystemRules(
    marketing=True,
    renders={"number": mailchimp_number, "multi_select": mailchimp_multi},
    # A batch-subscribe create (update_existing=false) that meets a member.
    exists_categories=frozenset({"ERROR_CONTACT_EXISTS"}),
    guards={"status": guard_status},
)

RULES: dict[str, SystemRules] = {"hubspot": HUBSPOT, "mailchimp": MAILCHIMP}


def marketing_systems() -> frozenset[str]:
    return frozenset(system for system, rules in RULES.items() if rules.marketing)
