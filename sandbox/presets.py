"""What each sandbox preset's portal holds: contact properties, merge fields, and the picklist
values its seeded records draw from (see `sandbox.config.Preset`)."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.config import Preset
from sandbox.hs_properties import (
    LEAD_SOURCES,
    PROPERTIES,
    READ_ONLY_STANDARD,
    SERVICE_LINES,
    PropertyDef,
)
from sandbox.hs_schema import STANDARD_GROUPS as _GROUPS
from sandbox.hs_schema import PropertyRegistry
from sandbox.mc_fields import MergeFieldDef, MergeFieldRegistry

# HubSpot's default `hs_lead_status` options.
LEAD_STATUSES = {
    "NEW": "New",
    "OPEN": "Open",
    "IN_PROGRESS": "In Progress",
    "OPEN_DEAL": "Open Deal",
    "UNQUALIFIED": "Unqualified",
    "ATTEMPTED_TO_CONTACT": "Attempted to Contact",
    "CONNECTED": "Connected",
    "BAD_TIMING": "Bad Timing",
}
# The customised portal's picklists: ten service lines (three Baton's defaults lack) and
# lead sources whose internal values differ from Baton's.
CUSTOM_SERVICE_LINES = {
    **SERVICE_LINES,
    "neurology": "Neurology",
    "pediatrics": "Pediatrics",
    "womens_health": "Women's Health",
}
CUSTOM_LEAD_SOURCES = {
    "web_form": "Web Form",
    "physician_referral": "Physician Referral",
    "conference": "Conference",
    "partner": "Partner",
    "paid_social": "Paid Social",
    "cold_outreach": "Cold Outreach",
}

_STANDARD_NAMES = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "jobtitle",
    "lifecyclestage",
    "hubspot_owner_id",
    *READ_ONLY_STANDARD,
)
_EXTRA_STANDARD = (
    PropertyDef("city", "City", "string", "text"),
    PropertyDef("state", "State/Region", "string", "text"),
    PropertyDef("website", "Website URL", "string", "text"),
    PropertyDef(
        "hs_lead_status",
        "Lead Status",
        "enumeration",
        "radio",
        group="sales_properties",
        options=LEAD_STATUSES,
    ),
)
_CUSTOM = (
    PropertyDef(
        "service_line",
        "Service Line",
        "enumeration",
        "select",
        group="clinic_profile",
        options=CUSTOM_SERVICE_LINES,
        custom=True,
    ),
    PropertyDef(
        "lead_source",
        "Lead Source",
        "enumeration",
        "select",
        group="clinic_profile",
        options=CUSTOM_LEAD_SOURCES,
        custom=True,
    ),
    PropertyDef(
        "patient_volume",
        "Monthly patient volume",
        "number",
        "number",
        "clinic_profile",
        custom=True,
    ),
    PropertyDef("ehr_system", "EHR system", "string", "text", "clinic_profile", custom=True),
)


def standard_properties() -> list[PropertyDef]:
    """HubSpot's own contact properties (the ones every portal has)."""
    return [PROPERTIES[name] for name in _STANDARD_NAMES] + list(_EXTRA_STANDARD)


DEFAULT_MERGE_FIELDS = (
    MergeFieldDef("FNAME", "First Name", "text", public=True),
    MergeFieldDef("LNAME", "Last Name", "text", public=True),
    MergeFieldDef("ADDRESS", "Address", "address"),
    MergeFieldDef("PHONE", "Phone Number", "phone"),
    MergeFieldDef("BIRTHDAY", "Birthday", "birthday"),
)
# The merge fields Baton's shipped mapping names, as the default preset has always served them.
BATON_MERGE_FIELDS = (
    MergeFieldDef("FNAME", "First Name", "text", public=True),
    MergeFieldDef("LNAME", "Last Name", "text", public=True),
    MergeFieldDef("PHONE", "Phone Number", "phone", public=True),
    MergeFieldDef("COMPANY", "Company", "text"),
    MergeFieldDef("JOBTITLE", "Job Title", "text"),
    MergeFieldDef("SERVICE", "Service Line", "text"),
    MergeFieldDef("SOURCE", "Lead Source", "text"),
    MergeFieldDef("STAGE", "Lifecycle Stage", "text"),
)
CUSTOMISED_MERGE_FIELDS = (
    *DEFAULT_MERGE_FIELDS,
    MergeFieldDef("COMPANY", "Company", "text"),
    MergeFieldDef("SERVICE", "Service Line", "dropdown", tuple(CUSTOM_SERVICE_LINES.values())),
    MergeFieldDef("SOURCE", "Lead Source", "dropdown", tuple(CUSTOM_LEAD_SOURCES.values())),
    MergeFieldDef("EHR", "EHR system", "text"),
)


@dataclass(frozen=True)
class PortalPreset:
    """Definitions one preset starts with, and the picklists its records are seeded from."""

    properties: tuple[PropertyDef, ...]
    groups: dict[str, str]
    merge_fields: tuple[MergeFieldDef, ...]
    service_lines: dict[str, str]
    lead_sources: dict[str, str]

    def property_registry(self) -> PropertyRegistry:
        return PropertyRegistry(self.properties, self.groups)

    def merge_field_registry(self) -> MergeFieldRegistry:
        return MergeFieldRegistry(self.merge_fields)


def portal(preset: Preset) -> PortalPreset:
    if preset is Preset.FRESH:
        return PortalPreset(
            tuple(standard_properties()), _GROUPS, DEFAULT_MERGE_FIELDS, SERVICE_LINES, LEAD_SOURCES
        )
    if preset is Preset.CUSTOMISED:
        return PortalPreset(
            (*standard_properties(), *_CUSTOM),
            {**_GROUPS, "clinic_profile": "Clinic profile"},
            CUSTOMISED_MERGE_FIELDS,
            CUSTOM_SERVICE_LINES,
            CUSTOM_LEAD_SOURCES,
        )
    return PortalPreset(
        tuple(PROPERTIES.values()), _GROUPS, BATON_MERGE_FIELDS, SERVICE_LINES, LEAD_SOURCES
    )
