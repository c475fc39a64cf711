"""Mailchimp Marketing API v3 audience-members connector.

Mailchimp publishes no time-window quota, only a cap of 10 simultaneous
connections per user, so pacing here is a connection cap: 10 by default,
settable lower to leave room for the account's other integrations. Heavy
throttling can also arrive as a bare 403 without a JSON body; that is retried
like a 429. A 403 with Mailchimp's JSON problem body is a real refusal of the
key and is reported as such.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors import mailchimp_fields, systems
from connectors.batching import chunked, complete, send_bisecting
from connectors.contract import Page, RawRecord, RecordFailure, WriteOp, WriteOutcome, flatten
from connectors.errors import ConfigurationError, RequestRejected
from connectors.fields import FieldInfo, FieldSpec
from connectors.http import ApiClient, ErrorInfo, RetryPolicy
from connectors.mailchimp_members import StatusRefused, member_body, move_body
from connectors.pacing import ConnectionCap
from connectors.timestamps import EPOCH, iso_offset, parse_timestamp

# What Baton needs of a member; trimming keeps 1,000-member pages small and fast.
MEMBER_FIELDS = (
    "id",
    "contact_id",
    "email_address",
    "status",
    "merge_fields",
    "tags",
    "last_changed",
    "unsubscribe_reason",
    "full_name",
)
_PAGE_FIELDS = ",".join([*(f"members.{f}" for f in MEMBER_FIELDS), "total_items"])


# Mailchimp's documented cap on simultaneous connections per user.
MAX_CONNECTIONS = 10

# Category of the error `check()` raises when the audience does not exist.
LIST_NOT_FOUND = "LIST_NOT_FOUND"
# Category of a write refused before sending: it would move a member's status
# other than by withdrawal.
STATUS_REFUSED = "STATUS_REFUSED"
# The member field holding its address; a write that carries another address
# than the one the member is filed under moves the member there.
ADDRESS_FIELD = "email_address"


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: hex MD5 of the trimmed, lower-cased email."""
    return hashlib.md5(email.strip().lower().encode("utf-8"), usedforsecurity=False).hexdigest()


def base_url_for_key(api_key: str) -> str:
    """`https://<dc>.api.mailchimp.com/3.0`, the data centre being the key's suffix."""
    _, sep, dc = api_key.strip().rpartition("-")
    if not sep or not dc or not dc.isalnum():
        raise ConfigurationError(
            "Mailchimp API key has no data-centre suffix (expected '...-us21'); "
            "set the base URL explicitly",
            system="mailchimp",
        )
    return f"https://{dc}.api.mailchimp.com/3.0"


class MailchimpClient(ApiClient):
    """`ContactConnector` for the members of one Mailchimp audience (list)."""

    system = "mailchimp"
    rules = systems.MAILCHIMP
    page_size = 1000
    write_batch_size = 500

    def __init__(
        self,
        base_url: str | None,
        api_key: str,
        list_id: str,
        *,
        max_connections: int = MAX_CONNECTIONS,
        retry: RetryPolicy | None = None,
        timeout_s: float | httpx.Timeout = 30.0,
    ) -> None:
        if not api_key:
            raise ConfigurationError("Mailchimp API key is empty", system=self.system)
        if not 1 <= max_connections <= MAX_CONNECTIONS:
            raise ConfigurationError(
                f"Mailchimp allows 1 to {MAX_CONNECTIONS} simultaneous connections, "
                f"not {max_connections}",
                system=self.system,
            )
        if not list_id:
            raise ConfigurationError("Mailchimp list (audience) id is empty", system=self.system)
        super().__init__(
            base_url or base_url_for_key(api_key),
            headers={"Accept": "application/json"},
            auth=httpx.BasicAuth("baton", api_key),
            concurrency=ConnectionCap(max_connections),
            retry=retry,
            timeout_s=timeout_s,
        )
        self.list_id = list_id
        self._members = f"/lists/{list_id}/members"

    def is_throttled(self, response: httpx.Response) -> bool:
        if response.status_code == 429:
            return True
        return response.status_code == 403 and not _is_json(response)

    def parse_error(self, response: httpx.Response) -> ErrorInfo:
        header_id = response.headers.get("X-Request-Id")
        body = _json_or_none(response)
        if not isinstance(body, dict):
            message, _, _ = super().parse_error(response)
            return (message, None, header_id)
        title = body.get("title")
        detail = body.get("detail")
        message = ": ".join(str(p) for p in (title, detail) if p) or f"HTTP {response.status_code}"
        problems = [
            f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message"))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ]
        if problems:
            message = f"{message} ({'; '.join(problems)})"
        request_id = header_id or body.get("instance")
        return (message, str(title) if title else None, str(request_id) if request_id else None)

    # -- health and metadata --------------------------------------------------

    async def check(self) -> None:
        await self.request("GET", "/ping")
        try:
            await self.request(
                "GET",
                f"/lists/{self.list_id}/merge-fields",
                template="/lists/{list_id}/merge-fields",
                params={"count": 1},
            )
        except RequestRejected as exc:
            if exc.status != 404:
                raise
            raise RequestRejected(
                f"audience (list) {self.list_id!r} not found: {exc.message}",
                system=self.system,
                status=exc.status,
                request_id=exc.request_id,
                category=LIST_NOT_FOUND,
            ) from None

    async def field_names(self) -> set[str]:
        """Member fields Baton can map: the standard ones and this audience's merge fields."""
        tags = {f"merge_fields.{f['tag']}" for f in await self.list_merge_fields() if f.get("tag")}
        return tags | set(MEMBER_FIELDS) - {"merge_fields"}

    async def read_only_fields(self) -> set[str]:
        """None of the member fields Baton can map is read-only."""
        return set()

    async def list_merge_fields(self) -> list[dict[str, Any]]:
        fields: list[dict[str, Any]] = []
        while True:
            body = await self.request_json(
                "GET",
                f"/lists/{self.list_id}/merge-fields",
                template="/lists/{list_id}/merge-fields",
                params={"count": 1000, "offset": len(fields)},
            )
            batch = body.get("merge_fields") or []
            fields.extend(batch)
            if not batch or len(fields) >= int(body.get("total_items") or 0):
                return fields

    # -- field definitions (baton mapping discover / apply / validate --remote) ----

    field_limit: int | None = mailchimp_fields.MERGE_FIELD_LIMIT
    standard_fields = mailchimp_fields.STANDARD_FIELDS
    consent_binding = mailchimp_fields.CONSENT_BINDING

    async def describe_fields(self) -> list[FieldInfo]:
        merge = [mailchimp_fields.field_info(f) for f in await self.list_merge_fields()]
        return [*mailchimp_fields.MEMBER_FIELDS, *merge]

    def creation_problem(self, spec: FieldSpec) -> str | None:
        return mailchimp_fields.creation_problem(spec)

    def counts_toward_limit(self, field: FieldInfo) -> bool:
        return field.name.startswith(mailchimp_fields.MERGE_PREFIX)

    async def create_field(self, spec: FieldSpec) -> FieldInfo:
        created = await self.request_json(
            "POST",
            f"/lists/{self.list_id}/merge-fields",
            template="/lists/{list_id}/merge-fields",
            json=mailchimp_fields.merge_field_body(spec),
        )
        return mailchimp_fields.field_info(created)

    async def add_options(
        self, field: FieldInfo, values: Sequence[str], labels: Sequence[str]
    ) -> FieldInfo:
        have = list(field.options or ())
        choices = have + [v for v in values if v not in have]
        updated = await self.request_json(
            "PATCH",
            f"/lists/{self.list_id}/merge-fields/{field.vendor_id}",
            template="/lists/{list_id}/merge-fields/{merge_id}",
            # The PATCH body's schema requires `name`, even when only the choices change.
            json={"name": field.label, "options": {"choices": choices}},
        )
        return mailchimp_fields.field_info(updated)

    # -- pull -----------------------------------------------------------------

    async def fetch_page(self, since: datetime | None, token: str | None) -> Page:
        # Keyset paging on last_changed: each page starts at the newest
        # timestamp of the one before. Plain offsets over a set
        # that changes while it is read skip members; a member changed during
        # the pull here only moves to a later page. When a whole page shares
        # one second (a bulk import), offsets page within that second.
        window, offset = _parse_token(token, since)
        params: dict[str, str | int] = {
            "count": self.page_size,
            "offset": offset,
            "sort_field": "last_changed",
            "sort_dir": "ASC",
            "fields": _PAGE_FIELDS,
        }
        if window is not None:
            params["since_last_changed"] = iso_offset(window)
        body = await self.request_json(
            "GET", self._members, template="/lists/{list_id}/members", params=params
        )
        members = body.get("members") or []
        records = [self._record(m) for m in members]
        # Stop on total_items so the last page costs no extra empty call.
        if not records or offset + len(records) >= int(body.get("total_items") or 0):
            return Page(records=records, next_token=None)
        # The filter means "changed after", and timestamps have whole seconds:
        # starting a second early keeps members that share the newest second.
        restart = max(r.modified_at for r in records) - timedelta(seconds=1)
        if window is None or restart > window:
            return Page(records=records, next_token=_token(restart, 0))
        return Page(records=records, next_token=_token(window, offset + len(records)))

    # -- write ----------------------------------------------------------------

    async def write(self, ops: Sequence[WriteOp]) -> list[WriteOutcome]:
        # Creates go out with update_existing=false: a member Baton has not seen
        # yet is reported (ERROR_CONTACT_EXISTS) instead of being overwritten,
        # so its status and fields are merged first, never clobbered.
        creates = [op for op in ops if op.external_id is None]
        moves = [op for op in ops if op.external_id is not None and _moves(op)]
        updates = [op for op in ops if op.external_id is not None and not _moves(op)]
        outcomes: list[WriteOutcome] = []
        for group, send in ((creates, self._create), (updates, self._update)):
            for chunk in chunked(group, self.write_batch_size):
                outcomes += await send_bisecting(chunk, send)
        # Batch subscribe addresses members by email and cannot change one:
        # a new address goes out as a PATCH of the member under its old one.
        outcomes += await asyncio.gather(*(self._move(op) for op in moves))
        return outcomes

    async def _move(self, op: WriteOp) -> WriteOutcome:
        """Give the member filed under `op.email` the write's new address (it keeps
        its id of record, status and history), with the write's other fields."""
        try:
            body = move_body(str(op.fields[ADDRESS_FIELD]).strip(), op.fields)
        except StatusRefused as exc:
            failure = RecordFailure(message=str(exc), category=STATUS_REFUSED, field="status")
            return WriteOutcome(key=op.key, failure=failure)
        try:
            response = await self.request(
                "PATCH",
                f"{self._members}/{subscriber_hash(op.email)}",
                template="/lists/{list_id}/members/{subscriber_hash}",
                json=body,
                expect_json=True,
            )
        except RequestRejected as exc:
            failure = RecordFailure(
                message=f"email change to {body[ADDRESS_FIELD]}: {exc.message}",
                status=exc.status,
                category=exc.category,
                request_id=exc.request_id,
                field=ADDRESS_FIELD,
            )
            return WriteOutcome(key=op.key, failure=failure)
        return WriteOutcome(key=op.key, record=self._record(response.json()))

    async def _create(self, ops: Sequence[WriteOp]) -> list[WriteOutcome]:
        return await self._subscribe(ops, update_existing=False)

    async def _update(self, ops: Sequence[WriteOp]) -> list[WriteOutcome]:
        return await self._subscribe(ops, update_existing=True)

    async def _subscribe(
        self, ops: Sequence[WriteOp], *, update_existing: bool
    ) -> list[WriteOutcome]:
        # Every member carries status_if_new; status only for a withdrawal
        # (see connectors.mailchimp_members). A write that would move an
        # existing member's status any other way fails here, unsent.
        found: dict[str, WriteOutcome] = {}
        members: list[dict[str, Any]] = []
        sent: list[WriteOp] = []
        for op in ops:
            try:
                members.append(member_body(op.email, op.fields, existing=update_existing))
            except StatusRefused as exc:
                failure = RecordFailure(message=str(exc), category=STATUS_REFUSED, field="status")
                found[op.key] = WriteOutcome(key=op.key, failure=failure)
                continue
            sent.append(op)
        if not sent:
            return complete(ops, found)
        response = await self.request(
            "POST",
            f"/lists/{self.list_id}",
            template="/lists/{list_id}",
            json={"members": members, "update_existing": update_existing},
            expect_json=True,
        )
        data = response.json() if response.content else {}
        data = data if isinstance(data, dict) else {}
        request_id = response.headers.get("X-Request-Id")
        by_email: dict[str, list[WriteOp]] = {}
        for op in sent:
            by_email.setdefault(op.email.strip().lower(), []).append(op)
        for member in [*(data.get("new_members") or []), *(data.get("updated_members") or [])]:
            record = self._record(member)
            for op in by_email.get((record.email or "").strip().lower(), []):
                found[op.key] = WriteOutcome(key=op.key, record=record)
        for error in data.get("errors") or []:
            failure = RecordFailure(
                message=_error_text(error),
                category=error.get("error_code"),
                field=error.get("field") or None,
                request_id=request_id,
            )
            email = str(error.get("email_address") or "").strip().lower()
            for op in by_email.get(email, []):
                found.setdefault(op.key, WriteOutcome(key=op.key, failure=failure))
        return complete(ops, found)

    # -- read -----------------------------------------------------------------

    async def read(self, ops: Sequence[WriteOp]) -> dict[str, RawRecord]:
        # Runs concurrently; the client's concurrency cap bounds connections.
        records = await asyncio.gather(*(self._read_op(op) for op in ops))
        return {op.key: rec for op, rec in zip(ops, records, strict=True) if rec is not None}

    async def _read_op(self, op: WriteOp) -> RawRecord | None:
        # A move that went through files the member under its new address.
        if _moves(op):
            moved = await self._read_one(str(op.fields[ADDRESS_FIELD]))
            if moved is not None:
                return moved
        return await self._read_one(op.email)

    async def _read_one(self, email: str) -> RawRecord | None:
        response = await self.request(
            "GET",
            f"{self._members}/{subscriber_hash(email)}",
            template="/lists/{list_id}/members/{subscriber_hash}",
            params={"fields": ",".join(MEMBER_FIELDS)},
            allow_status=(404,),
            expect_json=True,
        )
        if response.status_code == 404:
            return None
        return self._record(response.json())

    def _record(self, member: Mapping[str, Any]) -> RawRecord:
        data = dict(member)
        if "tags" in data:
            data["tags"] = sorted(
                str(t.get("name")) if isinstance(t, dict) else str(t) for t in data["tags"] or []
            )
        email = data.get("email_address")
        # `id` is the hash of the address and changes with it; `contact_id` is the
        # contact record's own id, so links follow an email change. Links made by
        # the hash still find the member through `known_as`.
        digest = str(data.get("id") or subscriber_hash(str(email or "")))
        contact_id = str(data.get("contact_id") or "")
        return RawRecord(
            system=self.system,
            external_id=contact_id or digest,
            email=email if isinstance(email, str) else None,
            modified_at=parse_timestamp(data.get("last_changed")) or EPOCH,
            fields=flatten(data),
            known_as=(digest,) if contact_id and contact_id != digest else (),
            archived=data.get("status") == "archived",
        )


def _moves(op: WriteOp) -> bool:
    """Does the write give the member another address than the one it is filed under?"""
    new = op.fields.get(ADDRESS_FIELD)
    return isinstance(new, str) and new.strip().lower() != op.email.strip().lower()


def _error_text(error: Mapping[str, Any]) -> str:
    """A batch error entry as one line: the error, then the field and its message."""
    text = str(error.get("error") or "rejected")
    field, message = error.get("field"), error.get("field_message")
    if field and message:
        return f"{text} ({field}: {message})"
    return text


def _is_json(response: httpx.Response) -> bool:
    if "json" not in response.headers.get("Content-Type", ""):
        return False
    return _json_or_none(response) is not None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _token(window: datetime, offset: int) -> str:
    return f"{window.astimezone(UTC).isoformat()}|{offset}"


def _parse_token(token: str | None, since: datetime | None) -> tuple[datetime | None, int]:
    if not token:
        return since, 0
    window, _, offset = token.partition("|")
    return datetime.fromisoformat(window), int(offset or 0)
