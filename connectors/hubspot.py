"""HubSpot CRM contacts connector (CRM v3 objects API).

Pulls use the search endpoint with keyset paging on `hs_object_id` rather
than the `after` cursor: `after` dies with a 400 past 10,000 results, and a
timestamp-sorted cursor can loop forever when thousands of records share one
`lastmodifieddate`. Writes use batch update (known id) and batch upsert by
email (new records), tagged with `objectWriteTraceId` so each result maps
back to its op and a replay after a crash cannot create duplicates. The opt-out
property is read-only in HubSpot: withdrawals go through communication
preferences instead (`connectors.hubspot_consent`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors import hubspot_fields, systems
from connectors.batching import chunked, complete, send_bisecting
from connectors.contract import (
    FieldValue,
    Page,
    RawRecord,
    RecordFailure,
    WriteOp,
    WriteOutcome,
)
from connectors.fields import FieldInfo, FieldSpec
from connectors.http import ApiClient, ErrorInfo, RetryPolicy
from connectors.hubspot_consent import (
    CONSENT_PROPERTY,
    WITHDRAWN,
    ConsentChannel,
    optout_property,
)
from connectors.hubspot_quota import HubSpotQuota
from connectors.timestamps import EPOCH, epoch_ms, parse_timestamp

CONTACTS = "/crm/v3/objects/contacts"
SEARCH = f"{CONTACTS}/search"
BATCH_UPDATE = f"{CONTACTS}/batch/update"
BATCH_UPSERT = f"{CONTACTS}/batch/upsert"
BATCH_READ = f"{CONTACTS}/batch/read"
PROPERTIES = "/crm/v3/properties/contacts"
OWNERS = "/crm/v3/owners"

# Properties every pull needs regardless of the mapping's choice.
# `hs_merged_object_ids` names the records a merge folded into this one.
_REQUIRED_PROPERTIES = ("email", "lastmodifieddate", "hs_merged_object_ids")


class HubSpotClient(ApiClient):
    """`ContactConnector` for HubSpot contacts."""

    system = "hubspot"
    rules = systems.HUBSPOT
    page_size = 200
    write_batch_size = 100
    rate_limit_floor_s = 1.0

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        properties: Sequence[str],
        quota: HubSpotQuota | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float | httpx.Timeout = 30.0,
        subscription_id: int | None = None,
        legal_basis: str | None = None,
        legal_basis_explanation: str | None = None,
    ) -> None:
        self.quota = quota if quota is not None else HubSpotQuota()
        super().__init__(
            base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            budget=self.quota.burst,
            retry=retry,
            timeout_s=timeout_s,
        )
        self.properties = list(dict.fromkeys([*properties, *_REQUIRED_PROPERTIES]))
        self.consent = ConsentChannel(self, subscription_id, legal_basis, legal_basis_explanation)

    def parse_error(self, response: httpx.Response) -> ErrorInfo:
        body = _json_or_none(response)
        if not isinstance(body, dict):
            return super().parse_error(response)
        message = str(body.get("message") or response.reason_phrase or response.status_code)
        category = body.get("category") or body.get("errorType") or body.get("policyName")
        if response.status_code == 429 and body.get("policyName"):
            message = f"{message} (policy {body['policyName']})"
        details = [d.get("message") for d in body.get("errors") or [] if isinstance(d, dict)]
        details = [d for d in details if d and d not in message]
        if details:
            message = f"{message}: {'; '.join(str(d) for d in details)}"
        request_id = body.get("correlationId") or response.headers.get("X-HubSpot-Correlation-Id")
        return (message, _str_or_none(category), _str_or_none(request_id))

    def observe(self, response: httpx.Response) -> None:
        self.quota.observe(response.headers)

    # -- health and metadata --------------------------------------------------

    async def check(self) -> None:
        await self.request("GET", f"{PROPERTIES}/email", template=f"{PROPERTIES}/{{name}}")
        if CONSENT_PROPERTY in self.properties:
            await self.consent.subscription_id()  # the portal must have the subscription

    async def read_only_fields(self) -> set[str]:
        """Properties the portal marks read-only, less those written through another
        channel (the opt-out goes through communication preferences)."""
        return {
            str(p["name"])
            for p in await self.list_properties()
            if (p.get("modificationMetadata") or {}).get("readOnlyValue") and p.get("name")
        } - {CONSENT_PROPERTY}

    async def field_names(self) -> set[str]:
        """Contact properties that exist in the portal."""
        return {str(p["name"]) for p in await self.list_properties() if p.get("name")}

    async def list_properties(self) -> list[dict[str, Any]]:
        body = await self.request_json("GET", PROPERTIES)
        return list(body.get("results", [])) if isinstance(body, dict) else []

    async def list_owners(self) -> list[dict[str, Any]]:
        owners: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 100}
            if after:
                params["after"] = after
            body = await self.request_json("GET", OWNERS, params=params)
            owners.extend(body.get("results", []))
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return owners

    # -- field definitions (baton mapping discover / apply / validate --remote) ----

    field_limit: int | None = None
    standard_fields = hubspot_fields.STANDARD_FIELDS
    consent_binding = hubspot_fields.CONSENT_BINDING

    async def describe_fields(self) -> list[FieldInfo]:
        return [hubspot_fields.field_info(p) for p in await self.list_properties()]

    def creation_problem(self, spec: FieldSpec) -> str | None:
        return hubspot_fields.creation_problem(spec)

    def counts_toward_limit(self, field: FieldInfo) -> bool:
        return False

    async def create_field(self, spec: FieldSpec) -> FieldInfo:
        body = hubspot_fields.property_body(spec)
        await self._ensure_baton_group()
        created = await self.request_json("POST", PROPERTIES, json=body)
        return hubspot_fields.field_info(created)

    async def add_options(
        self, field: FieldInfo, values: Sequence[str], labels: Sequence[str]
    ) -> FieldInfo:
        # PATCH replaces the whole list: read the current one (labels, hidden flags) first.
        path, template = f"{PROPERTIES}/{field.name}", f"{PROPERTIES}/{{name}}"
        current = await self.request_json("GET", path, template=template)
        options = hubspot_fields.extended_options(current.get("options") or [], values, labels)
        updated = await self.request_json(
            "PATCH", path, template=template, json={"options": options}
        )
        return hubspot_fields.field_info(updated)

    async def _ensure_baton_group(self) -> None:
        groups = await self.request_json("GET", f"{PROPERTIES}/groups")
        names = {g.get("name") for g in groups.get("results") or []}
        if hubspot_fields.BATON_GROUP not in names:
            await self.request(
                "POST",
                f"{PROPERTIES}/groups",
                json={
                    "name": hubspot_fields.BATON_GROUP,
                    "label": hubspot_fields.BATON_GROUP_LABEL,
                },
            )

    # -- pull -----------------------------------------------------------------

    async def fetch_page(self, since: datetime | None, token: str | None) -> Page:
        filters: list[dict[str, str]] = []
        if since is not None:
            filters.append(
                {"propertyName": "lastmodifieddate", "operator": "GTE", "value": epoch_ms(since)}
            )
        if token is not None:
            filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": token})
        body = {
            # Keyset paging keeps every page at offset 0; the spec lists `after` as required.
            "after": "0",
            "filterGroups": [{"filters": filters}] if filters else [],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": await self._read_properties(),
            "limit": self.page_size,
        }
        data = await self.request_json("POST", SEARCH, json=body, budgets=(self.quota.search,))
        results = data.get("results", [])
        records = [self._record(obj) for obj in results]
        more = bool((data.get("paging") or {}).get("next"))
        # A short page or absent `paging` means the end: no extra empty call.
        next_token = records[-1].external_id if more and len(records) >= self.page_size else None
        return Page(records=records, next_token=next_token)

    # -- write ----------------------------------------------------------------

    async def write(self, ops: Sequence[WriteOp]) -> list[WriteOutcome]:
        """Properties through the objects API, then withdrawals through communication
        preferences (the contact must exist first); an op succeeds when both parts do."""
        withdrawing = {
            op.key for op in ops if vendor_value(op.fields.get(CONSENT_PROPERTY)) == WITHDRAWN
        }
        ticket = self.consent.expect() if withdrawing else None
        try:
            plain = [
                replace(op, fields={k: v for k, v in op.fields.items() if k != CONSENT_PROPERTY})
                for op in ops
            ]
            outcomes = {
                o.key: o
                for o in await self._write_properties(
                    [
                        op
                        for op, original in zip(plain, ops, strict=True)
                        if op.fields
                        or not op.external_id
                        or CONSENT_PROPERTY not in original.fields
                    ]
                )
            }
            for op in plain:
                if op.key not in outcomes:  # an update that only withdraws consent
                    record = RawRecord(self.system, str(op.external_id), op.email, utcnow(), {})
                    outcomes[op.key] = WriteOutcome(key=op.key, record=record)
            targets = [op for op in plain if op.key in withdrawing and outcomes[op.key].ok]
            refused = await self.consent.withdraw(targets, ticket)
        finally:
            if ticket is not None:
                ticket.close()
        result: list[WriteOutcome] = []
        for op in ops:
            outcome = outcomes[op.key]
            if op.key in refused:
                outcome = WriteOutcome(key=op.key, failure=refused[op.key])
            elif op.key in withdrawing and outcome.record is not None:
                fields = {**outcome.record.fields, CONSENT_PROPERTY: WITHDRAWN}
                outcome = WriteOutcome(key=op.key, record=replace(outcome.record, fields=fields))
            result.append(outcome)
        return result

    async def _write_properties(self, ops: Sequence[WriteOp]) -> list[WriteOutcome]:
        updates = [op for op in ops if op.external_id]
        creates = [op for op in ops if not op.external_id]
        outcomes: list[WriteOutcome] = []
        for chunk in chunked(updates, self.write_batch_size):
            outcomes += await send_bisecting(chunk, self._send_updates)
        for chunk in chunked(creates, self.write_batch_size):
            outcomes += await send_bisecting(chunk, self._send_upserts)
        return outcomes

    async def _send_updates(self, ops: Sequence[WriteOp]) -> list[WriteOutcome]:
        inputs = [
            {
                "id": op.external_id,
                "properties": _properties(op.fields),
                "objectWriteTraceId": op.key,
            }
            for op in ops
        ]
        response = await self.request(
            "POST", BATCH_UPDATE, json={"inputs": inputs}, expect_json=True
        )
        return self._outcomes(ops, response, by_id={str(op.external_id): op for op in ops})

    async def _send_upserts(self, ops: Sequence[WriteOp]) -> list[WriteOutcome]:
        inputs = [
            {
                "id": op.email,
                "idProperty": "email",
                "properties": {**_properties(op.fields), "email": op.email},
                "objectWriteTraceId": op.key,
            }
            for op in ops
        ]
        response = await self.request(
            "POST", BATCH_UPSERT, json={"inputs": inputs}, expect_json=True
        )
        # For upserts by email the `ids` in error contexts are the emails we sent.
        return self._outcomes(ops, response, by_id={op.email.lower(): op for op in ops})

    def _outcomes(
        self, ops: Sequence[WriteOp], response: httpx.Response, *, by_id: Mapping[str, WriteOp]
    ) -> list[WriteOutcome]:
        by_key = {op.key: op for op in ops}
        by_email = {op.email.strip().lower(): op for op in ops}
        found: dict[str, WriteOutcome] = {}
        data = _json_or_none(response)
        data = data if isinstance(data, dict) else {}
        # Errors inside a 207 rarely carry their own id; the response's is the one to quote.
        batch_request_id = response.headers.get("X-HubSpot-Correlation-Id")
        for obj in data.get("results") or []:
            record = self._record(obj)
            op = (
                by_key.get(str(obj.get("objectWriteTraceId")))
                or by_id.get(record.external_id)
                or by_email.get((record.email or "").strip().lower())
            )
            if op is not None:
                found[op.key] = WriteOutcome(key=op.key, record=record)
        for error in data.get("errors") or []:
            failure = _failure(error, batch_request_id)
            for op in _ops_named(error.get("context") or {}, by_key, by_id, by_email):
                found.setdefault(op.key, WriteOutcome(key=op.key, failure=failure))
        return complete(ops, found)

    # -- read -----------------------------------------------------------------

    async def read(self, ops: Sequence[WriteOp]) -> dict[str, RawRecord]:
        out: dict[str, RawRecord] = {}
        with_id = [op for op in ops if op.external_id]
        by_email = [op for op in ops if not op.external_id]
        for chunk in chunked(with_id, self.write_batch_size):
            records = await self._batch_read([str(op.external_id) for op in chunk], None)
            for op in chunk:
                if str(op.external_id) in records:
                    out[op.key] = records[str(op.external_id)]
        for chunk in chunked(by_email, self.write_batch_size):
            records = await self._batch_read([op.email for op in chunk], "email")
            for op in chunk:
                if op.email.strip().lower() in records:
                    out[op.key] = records[op.email.strip().lower()]
        return out

    async def _batch_read(self, ids: list[str], id_property: str | None) -> dict[str, RawRecord]:
        body: dict[str, Any] = {
            "inputs": [{"id": i} for i in ids],
            "properties": await self._read_properties(),
            "propertiesWithHistory": [],
        }
        if id_property:
            body["idProperty"] = id_property
        # 207 with OBJECT_NOT_FOUND errors just means some records don't exist.
        data = await self.request_json("POST", BATCH_READ, json=body)
        found: dict[str, RawRecord] = {}
        for obj in (data or {}).get("results") or []:
            record = self._record(obj)
            key = (record.email or "").strip().lower() if id_property else record.external_id
            if key:
                found[key] = record
        return found

    async def _read_properties(self) -> list[str]:
        """The mapped properties, plus the opt-out of Baton's own subscription: HubSpot
        documents `hs_email_optout` as "unsubscribed from all email", so an opt-out of one
        subscription may show only in `hs_email_optout_<id>`."""
        if CONSENT_PROPERTY not in self.properties:
            return self.properties
        return [*self.properties, optout_property(await self.consent.subscription_id())]

    def _record(self, obj: Mapping[str, Any]) -> RawRecord:
        props: dict[str, FieldValue] = dict(obj.get("properties") or {})
        subscription = self.consent.resolved
        if subscription is not None and props.get(optout_property(subscription)) == WITHDRAWN:
            props[CONSENT_PROPERTY] = WITHDRAWN  # opted out of Baton's subscription
        modified = (
            parse_timestamp(props.get("lastmodifieddate"))
            or parse_timestamp(obj.get("updatedAt"))
            or parse_timestamp(obj.get("createdAt"))
            or EPOCH
        )
        email = props.get("email")
        own_id = str(obj.get("id"))
        merged = str(props.get("hs_merged_object_ids") or "").split(";")
        return RawRecord(
            system=self.system,
            external_id=own_id,
            email=email if isinstance(email, str) else None,
            modified_at=modified,
            fields=props,
            merged_ids=tuple(i.strip() for i in merged if i.strip() and i.strip() != own_id),
        )


def _properties(fields: Mapping[str, FieldValue]) -> dict[str, str]:
    """HubSpot property values are strings: `""` clears, multi-selects join with `;`."""
    return {name: vendor_value(value) for name, value in fields.items()}


def vendor_value(value: FieldValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def _failure(error: Mapping[str, Any], batch_request_id: str | None) -> RecordFailure:
    details = [d for d in error.get("errors") or [] if isinstance(d, dict)]
    status = error.get("status")
    # The top-level message of a property refusal is the same list JSON-encoded
    # ("Property values were not valid: [{…}]"); the details read better.
    reasons = [str(d["message"]) for d in details if d.get("message")]
    return RecordFailure(
        message="; ".join(reasons) if reasons else str(error.get("message") or "rejected"),
        status=int(status) if isinstance(status, int | str) and str(status).isdigit() else None,
        category=_str_or_none(error.get("category")),
        request_id=_str_or_none(error.get("correlationId") or batch_request_id),
        field=_str_or_none(details[0].get("in")) if details else None,
    )


def _ops_named(
    context: Mapping[str, Any],
    by_key: Mapping[str, WriteOp],
    by_id: Mapping[str, WriteOp],
    by_email: Mapping[str, WriteOp],
) -> Iterable[WriteOp]:
    """The ops an error's `context` points at, by trace id, else id, else email."""
    for name, index, normalise in (
        ("objectWriteTraceId", by_key, str),
        ("ids", by_id, lambda v: str(v).strip().lower()),
        ("id", by_id, lambda v: str(v).strip().lower()),
        ("emails", by_email, lambda v: str(v).strip().lower()),
    ):
        values = context.get(name)
        if not values:
            continue
        ops = [index[normalise(v)] for v in _as_list(values) if normalise(v) in index]
        if ops:
            return ops
    return []


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
