"""Deterministic healthcare seed data for both sides of the sandbox.

Same config (and same ``now``) -> byte-identical records, so tests and demos can
rely on counts and on the deliberate overlaps between the two systems.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sandbox.config import SandboxConfig
from sandbox.presets import PortalPreset, portal
from sandbox.records import HubContact, McMember, Owner
from sandbox.timefmt import utcnow

FIRST_NAMES = (
    "Maria",
    "James",
    "Aisha",
    "Wei",
    "Priya",
    "Daniel",
    "Sofia",
    "Marcus",
    "Elena",
    "Kwame",
    "Hannah",
    "Diego",
    "Grace",
    "Omar",
    "Chloe",
    "Raj",
    "Natalie",
    "Samuel",
    "Fatima",
    "Lucas",
    "Isabel",
    "Noah",
    "Mei",
    "Gabriel",
    "Olivia",
    "Tariq",
    "Rosa",
    "Ethan",
    "Leila",
    "Victor",
    "Amara",
    "Jonah",
    "Yuki",
    "Carmen",
    "Patrick",
    "Nadia",
    "Hector",
    "Ingrid",
    "Dev",
    "Simone",
)
LAST_NAMES = (
    "Lopez",
    "Okafor",
    "Chen",
    "Patel",
    "Nguyen",
    "Schmidt",
    "Rivera",
    "Johnson",
    "Kim",
    "Haddad",
    "Murphy",
    "Santos",
    "Novak",
    "Mensah",
    "Brennan",
    "Iyer",
    "Fischer",
    "Alvarez",
    "Walsh",
    "Tanaka",
    "Osei",
    "Morales",
    "Carter",
    "Rossi",
    "Lindqvist",
    "Reyes",
    "Abbott",
    "Park",
    "Delgado",
    "Hughes",
    "Costa",
    "Nakamura",
    "Bello",
    "Sullivan",
    "Farah",
    "Ortiz",
)
ORG_PREFIXES = (
    "Northside",
    "Lakeview",
    "Cedar",
    "Riverbend",
    "Summit",
    "Harbor",
    "Maple Grove",
    "Pinecrest",
    "Bayshore",
    "Willow Creek",
    "Granite",
    "Meadowbrook",
    "Clearwater",
    "Oakridge",
    "Sunrise",
    "Brookhaven",
    "Silver Lake",
    "Elmwood",
    "Highland",
    "Crescent",
)
ORG_SUFFIXES = (
    ("Family Clinic", "clinic"),
    ("Orthopedic Associates", "ortho"),
    ("Behavioral Health", "bh"),
    ("Health Partners", "health"),
    ("Medical Group", "medgroup"),
    ("Community Hospital", "hospital"),
    ("Cardiology Center", "heart"),
    ("Dermatology", "derm"),
    ("Cancer Institute", "cancer"),
    ("Pediatrics", "peds"),
    ("Health Systems", "hs"),
    ("Telehealth", "telehealth"),
    ("Urgent Care", "urgentcare"),
    ("Physicians Network", "physicians"),
    ("Health Tech", "healthtech"),
)
JOB_TITLES = (
    "Practice Manager",
    "Medical Director",
    "Chief Nursing Officer",
    "Clinic Administrator",
    "Physician",
    "Nurse Practitioner",
    "IT Director",
    "Revenue Cycle Manager",
    "Director of Operations",
    "Chief Medical Officer",
    "Care Coordinator",
    "Office Manager",
    "Physician Assistant",
    "VP of Patient Experience",
    "Billing Specialist",
    "CIO",
)
AREA_CODES = ("617", "212", "312", "415", "206", "303", "512", "404", "617", "858")
STAGE_WEIGHTS = (
    ("subscriber", 34),
    ("lead", 34),
    ("marketingqualifiedlead", 20),
    ("salesqualifiedlead", 6),
    ("customer", 4),
    ("opportunity", 2),
)
MC_TAGS = ("Newsletter", "Webinar 2026", "Patient Experience Summit", "Product Updates")


@dataclass
class Person:
    """One human in the seed universe, before it is split into the two systems."""

    first: str
    last: str
    email: str
    company: str
    jobtitle: str
    area: str
    line: str
    service: str
    source: str
    stage: str


@dataclass
class SeedData:
    """Records to load into a fresh store."""

    contacts: list[HubContact]
    members: list[McMember]
    owners: list[Owner]


class _Generator:
    def __init__(self, config: SandboxConfig, now: datetime) -> None:
        self.portal: PortalPreset = portal(config.preset)
        self.rng = random.Random(config.seed)
        self.now = now
        self.used: set[str] = set()
        self.stages = [s for s, _ in STAGE_WEIGHTS]
        self.weights = [w for _, w in STAGE_WEIGHTS]

    def person(self, domain: str | None = None) -> Person:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        prefix = rng.choice(ORG_PREFIXES)
        suffix, short = rng.choice(ORG_SUFFIXES)
        company = f"{prefix} {suffix}"
        if domain is None:
            domain = prefix.lower().replace(" ", "") + short + rng.choice((".org", ".com"))
        pattern = rng.randrange(3)
        local = (f"{first}.{last}", f"{first[0]}{last}", f"{first}")[pattern].lower()
        email, n = f"{local}@{domain}", 1
        while email in self.used:  # keep every address unique across the universe
            n += 1
            email = f"{local}{n}@{domain}"
        self.used.add(email)
        return Person(
            first,
            last,
            email,
            company,
            rng.choice(JOB_TITLES),
            rng.choice(AREA_CODES),
            f"{rng.randrange(100, 200):04d}"[-4:],
            rng.choice(list(self.portal.service_lines)),
            rng.choice(list(self.portal.lead_sources)),
            rng.choices(self.stages, self.weights)[0],
        )

    def moment(self, max_days: int = 120) -> datetime:
        seconds = self.rng.randrange(3600, max_days * 86400)
        return (self.now - timedelta(seconds=seconds)).replace(
            microsecond=self.rng.randrange(1000) * 1000
        )

    def hub_phone(self, p: Person) -> str:
        if self.rng.random() < 0.5:
            return f"+1{p.area}5550{p.line[-3:]}"
        return f"({p.area}) 555-0{p.line[-3:]}"

    def mc_phone(self, p: Person) -> str:
        style = self.rng.randrange(3)
        digits = (p.area, "555", f"0{p.line[-3:]}")
        return (f"({digits[0]}) {digits[1]}-{digits[2]}", ".".join(digits), "-".join(digits))[style]

    def mc_status(self) -> str:
        roll = self.rng.random()
        if roll < 0.10:
            return "unsubscribed"
        if roll < 0.15:
            return "cleaned"
        if roll < 0.18:
            return "pending"
        return "subscribed"


def _hub_props(
    gen: _Generator, p: Person, email: str | None, owners: list[Owner]
) -> dict[str, str | None]:
    rng = gen.rng
    props: dict[str, str | None] = {
        "email": email,
        "firstname": p.first,
        "lastname": p.last,
        "company": p.company,
        "jobtitle": p.jobtitle if rng.random() < 0.85 else None,
        "phone": gen.hub_phone(p) if rng.random() < 0.6 else None,
        "lifecyclestage": p.stage,
        "hs_email_optout": "true" if rng.random() < 0.04 else "false",
        "service_line": p.line and p.service,
        "lead_source": p.source if rng.random() < 0.8 else None,
        "hubspot_owner_id": str(rng.choice(owners).id) if rng.random() < 0.3 else None,
    }
    # A portal without a property holds no value for it (the draws above still happen, so
    # every preset sees the same people).
    names = {p.name for p in gen.portal.properties}
    return {k: v for k, v in props.items() if k in names}


def _vary_case(gen: _Generator, email: str) -> str:
    """Capitalise the name part and the domain words, e.g. Maria.Lopez@LakeviewClinic.org."""
    local, _, domain = email.partition("@")
    local = ".".join(part.capitalize() for part in local.split("."))
    head, _, tld = domain.rpartition(".")
    return (
        f"{local}@{head[:1].upper()}{head[1:]}.{tld}"
        if gen.rng.random() < 0.5
        else (f"{local}@{head.upper()}.{tld}")
    )


def _member(gen: _Generator, p: Person, email: str, status: str, web_id: int) -> McMember:
    rng = gen.rng
    signup = gen.moment(180)
    changed = max(signup, gen.moment(90))
    merge = {
        "FNAME": p.first,
        "LNAME": p.last,
        "PHONE": gen.mc_phone(p) if rng.random() < 0.6 else "",
        "COMPANY": p.company if rng.random() < 0.8 else "",
        "JOBTITLE": p.jobtitle if rng.random() < 0.5 else "",
        "SERVICE": gen.portal.service_lines[p.service] if rng.random() < 0.7 else "",
        "SOURCE": gen.portal.lead_sources[p.source] if rng.random() < 0.5 else "",
        "STAGE": "",
    }
    tags = [f.tag for f in gen.portal.merge_fields]
    merge = {tag: merge.get(tag, "") for tag in tags}
    member = McMember(
        email=email,
        status=status,
        merge_fields=merge,
        timestamp_signup=signup,
        timestamp_opt=signup,
        last_changed=changed,
        web_id=web_id,
        member_rating=rng.randrange(1, 6),
        avg_open_rate=round(rng.random() * 0.6, 2),
        avg_click_rate=round(rng.random() * 0.15, 2),
    )
    if rng.random() < 0.3:
        member.tags.append(rng.choice(MC_TAGS))
    if status == "unsubscribed":
        member.unsubscribe_reason = rng.choice(
            ("N/A (Unsubscribed by admin)", "No longer relevant", "Too many emails")
        )
    return member


def build_seed(config: SandboxConfig, now: datetime | None = None) -> SeedData:
    """Generate the owners, HubSpot contacts and Mailchimp members for ``config``."""
    gen = _Generator(config, now or utcnow())
    owners = [
        Owner(
            52001001 + i,
            f"{first.lower()}.{last.lower()}@batonhealth.example",
            first,
            last,
            9100001 + i,
            gen.now - timedelta(days=400),
        )
        for i, (first, last) in enumerate(
            (("Alicia", "Moreno"), ("Ben", "Carter"), ("Priya", "Shah"), ("Tom", "Becker"))
        )
    ]
    hub_rows: list[dict[str, str | None]] = []
    mc_rows: list[tuple[Person, str, str]] = []
    for i in range(config.overlap):
        p = gen.person()
        style = i % 4
        hub_email = _vary_case(gen, p.email) if style in (0, 1) else p.email
        if style == 1:
            hub_email += " "
        elif style == 2:
            hub_email = "  " + hub_email
        mc_email = _vary_case(gen, p.email) if style == 3 else p.email
        status = "unsubscribed" if i % 9 == 4 else gen.mc_status()
        hub_rows.append(_hub_props(gen, p, hub_email, owners))
        mc_rows.append((p, mc_email, status))
    for _ in range(config.hubspot_only):
        p = gen.person()
        hub_rows.append(_hub_props(gen, p, p.email, owners))
    for i in range(config.invalid_emails):
        p = gen.person(domain=f"{gen.rng.choice(ORG_PREFIXES).lower().replace(' ', '')}-clinic")
        bad = p.email if i % 2 == 0 else f"frontdesk{i or ''}@northside-clinic"
        gen.used.add(bad)
        hub_rows.append(_hub_props(gen, p, bad, owners))
    for _ in range(config.missing_emails):
        p = gen.person()
        hub_rows.append(_hub_props(gen, p, None, owners))
    for _ in range(config.mailchimp_only):
        p = gen.person()
        mc_rows.append((p, p.email, gen.mc_status()))

    # Interleave the categories so ids and list order do not reveal them.
    gen.rng.shuffle(hub_rows)
    gen.rng.shuffle(mc_rows)
    contacts = []
    for index, props in enumerate(hub_rows):
        created = gen.moment(150)
        updated = min(gen.now, created + timedelta(seconds=gen.rng.randrange(0, 60 * 86400)))
        contacts.append(HubContact(1001 + index, props, created, updated))
    contacts.sort(key=lambda c: c.id)
    members = [
        _member(gen, p, email, status, 500001 + index)
        for index, (p, email, status) in enumerate(mc_rows)
    ]
    for member, (p, _, _) in zip(members, mc_rows, strict=True):
        if gen.rng.random() < 0.4 and "STAGE" in member.merge_fields:
            member.merge_fields["STAGE"] = p.stage
    return SeedData(contacts, members, owners)
