"""Each known system's rules, for code that runs before any connector exists
(loading and validating the mapping file)."""

from __future__ import annotations

from connectors import hubspot_fields, mailchimp_fields
from connectors.contract import ConsentMeaning, ConsentVocabulary, SystemRules
from connectors.hubspot_consent import CONSENT_PROPERTY
from connectors.mailchimp_status import ADDRESS_LOCKED, STATUS_FIELD, STATUS_MEANINGS, guard_status
from connectors.values import hubspot_datetime, mailchimp_multi, mailchimp_number

HUBSPOT = SystemRules(
    renders={"datetime": hubspot_datetime},
    holds=hubspot_fields.HOLDS,
    # The opt-out flag: "false" records no permission, it is not a subscription.
    consent=ConsentVocabulary(
        CONSENT_PROPERTY, {"true": ConsentMeaning.WITHDRAWN, "false": ConsentMeaning.NONE}
    ),
)
MAILCHIMP = SystemRules(
    marketing=True,
    renders={"number": mailchimp_number, "multi_select": mailchimp_multi},
    consent=ConsentVocabulary(STATUS_FIELD, STATUS_MEANINGS),
    field_name_problem=mailchimp_fields.field_name_problem,
    holds=mailchimp_fields.HOLDS,
    # A batch-subscribe create (update_existing=false) that meets a member.
    exists_categories=frozenset({"ERROR_CONTACT_EXISTS"}),
    guards={"status": guard_status},
    address_locks={STATUS_FIELD: ADDRESS_LOCKED},
)

RULES: dict[str, SystemRules] = {"hubspot": HUBSPOT, "mailchimp": MAILCHIMP}


def marketing_systems() -> frozenset[str]:
    return frozenset(system for system, rules in RULES.items() if rules.marketing)
