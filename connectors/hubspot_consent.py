"""Consent to HubSpot through Communication Preferences v4.

HubSpot treats `hs_email_optout` as read-only: only HubSpot sets it, when an address is
opted out. So a planned `hs_email_optout = "true"` (a withdrawal) is sent as an
`UNSUBSCRIBED` status for the configured subscription through `statuses/batch/write`;
any other value is never sent, since Baton only propagates withdrawals and would
otherwise be resubscribing someone. The subscription is checked against the portal's
definitions before the first write. Withdrawals of the write batches in flight at
once share their calls (`connectors.coalesce`): one call per 100 withdrawals, not one
per write batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from connectors.coalesce import Coalescer, Ticket
from connectors.contract import RecordFailure, WriteOp
from connectors.errors import ConfigurationError, RequestRejected

if TYPE_CHECKING:
    from connectors.hubspot import HubSpotClient

CONSENT_PROPERTY = "hs_email_optout"
WITHDRAWN = "true"
DEFINITIONS = "/communication-preferences/v4/definitions"
BATCH_WRITE = "/communication-preferences/v4/statuses/batch/write"
BATCH_MAX = 100  # HubSpot documents no limit; 100 is the stricter reading
# How long a part-filled batch of withdrawals waits for the next write batch to join.
LINGER_S = 1.0


def optout_property(subscription_id: int) -> str:
    """The read-only contact property that shows an opt-out of one subscription."""
    return f"hs_email_optout_{subscription_id}"


class ConsentSetupError(ConfigurationError):
    """The portal cannot take Baton's opt-outs as configured; `setting` names the fix."""

    def __init__(self, message: str, *, setting: str) -> None:
        super().__init__(message, system="hubspot")
        self.setting = setting


SUBSCRIPTION_SETTING = "subscription_id"


class ConsentChannel:
    """Sends withdrawals for one subscription of one portal."""

    def __init__(
        self,
        client: HubSpotClient,
        subscription_id: int | None,
        legal_basis: str | None,
        explanation: str | None,
    ) -> None:
        self.client = client
        self.configured = subscription_id
        self.legal_basis = legal_basis
        self.explanation = explanation
        self._resolved: int | None = None
        self._pool: Coalescer[WriteOp, RecordFailure | None] = Coalescer(
            BATCH_MAX, self._send_pooled, LINGER_S
        )

    @property
    def resolved(self) -> int | None:
        """The subscription, once checked against the portal."""
        return self._resolved

    async def subscription_id(self) -> int:
        """The subscription opt-outs are recorded against, checked once against the portal."""
        if self._resolved is None:
            body = await self.client.request_json("GET", DEFINITIONS)
            defs = [d for d in (body or {}).get("results") or [] if isinstance(d, dict)]
            self._resolved = self._choose(defs)
        return self._resolved

    def _choose(self, defs: list[dict[str, Any]]) -> int:
        listed = ", ".join(f"{d.get('id')} ({d.get('name')})" for d in defs if d.get("isActive"))
        if self.configured is not None:
            match = next((d for d in defs if str(d.get("id")) == str(self.configured)), None)
            if match is None:
                raise ConsentSetupError(
                    f"the portal has no email subscription {self.configured} "
                    f"(active ones: {listed or 'none'})",
                    setting=SUBSCRIPTION_SETTING,
                )
            if not match.get("isActive"):
                raise ConsentSetupError(
                    f"email subscription {self.configured} ({match.get('name')}) is not active "
                    f"(active ones: {listed or 'none'})",
                    setting=SUBSCRIPTION_SETTING,
                )
            return self.configured
        defaults = [
            d for d in defs if d.get("isActive") and d.get("isDefault") and not d.get("isInternal")
        ]
        if len(defaults) != 1 or not str(defaults[0].get("id", "")).isdigit():
            raise ConsentSetupError(
                "not set, and the portal has no single default marketing subscription "
                f"to record opt-outs against; set it to one of: {listed or 'none'}",
                setting=SUBSCRIPTION_SETTING,
            )
        return int(defaults[0]["id"])

    def expect(self) -> Ticket[WriteOp, RecordFailure | None]:
        """A place in the shared withdrawal batches, for a write that will withdraw."""
        return self._pool.expect()

    async def withdraw(
        self, ops: Sequence[WriteOp], ticket: Ticket[WriteOp, RecordFailure | None] | None = None
    ) -> dict[str, RecordFailure]:
        """Opt each op's address out; returns the failures by op key (absent: done).

        With a ticket, the ops go out with other writes' withdrawals."""
        if ticket is not None:
            results = await ticket.submit(ops)
            return {op.key: f for op, f in zip(ops, results, strict=True) if f is not None}
        if not ops:
            return {}
        subscription = await self.subscription_id()
        failures: dict[str, RecordFailure] = {}
        for start in range(0, len(ops), BATCH_MAX):
            chunk = ops[start : start + BATCH_MAX]
            failures.update(await self._send_bisecting(chunk, subscription))
        return failures

    async def _send_pooled(self, ops: Sequence[WriteOp]) -> list[RecordFailure | None]:
        failures = await self._send_bisecting(ops, await self.subscription_id())
        return [failures.get(op.key) for op in ops]

    async def _send_bisecting(
        self, ops: Sequence[WriteOp], subscription: int
    ) -> dict[str, RecordFailure]:
        """A batch refused whole is split until the input at fault is alone."""
        try:
            return await self._send(ops, subscription)
        except RequestRejected as exc:
            if len(ops) == 1:
                return {
                    ops[0].key: RecordFailure(
                        message=f"opt-out not recorded: {exc.message}",
                        status=exc.status,
                        category=exc.category,
                        request_id=exc.request_id,
                        field=CONSENT_PROPERTY,
                    )
                }
            middle = len(ops) // 2
            first = await self._send_bisecting(ops[:middle], subscription)
            return first | await self._send_bisecting(ops[middle:], subscription)

    async def _send(self, ops: Sequence[WriteOp], subscription: int) -> dict[str, RecordFailure]:
        inputs = [self._input(op.email, subscription) for op in ops]
        response = await self.client.request(
            "POST", BATCH_WRITE, json={"inputs": inputs}, expect_json=True
        )
        try:
            data = response.json()
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        by_email = {op.email.strip().lower(): op for op in ops}
        done = {
            str(r.get("subscriberIdString", "")).strip().lower()
            for r in data.get("results") or []
            if isinstance(r, dict) and r.get("status") == "UNSUBSCRIBED"
        }
        request_id = response.headers.get("X-HubSpot-Correlation-Id")
        failures: dict[str, RecordFailure] = {}
        for error in data.get("errors") or []:
            if not isinstance(error, dict):
                continue
            for email in (error.get("context") or {}).get("subscriberIdString") or []:
                op = by_email.get(str(email).strip().lower())
                if op is not None:
                    failures[op.key] = RecordFailure(
                        message=f"opt-out not recorded: {error.get('message') or 'refused'}",
                        category=str(error.get("category") or "") or None,
                        request_id=request_id,
                        field=CONSENT_PROPERTY,
                    )
        for email, op in by_email.items():
            if email not in done and op.key not in failures:
                failures[op.key] = RecordFailure(
                    message="opt-out not confirmed in the response",
                    request_id=request_id,
                    field=CONSENT_PROPERTY,
                )
        return failures

    def _input(self, email: str, subscription: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            "channel": "EMAIL",
            "statusState": "UNSUBSCRIBED",
            "subscriberIdString": email.strip(),
            "subscriptionId": subscription,
        }
        if self.legal_basis:
            item["legalBasis"] = self.legal_basis
            if self.explanation:
                item["legalBasisExplanation"] = self.explanation
        return item
