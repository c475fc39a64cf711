"""Retries, error mapping and call counting in the shared HTTP layer."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import respx
from connector_testkit import HS_TOKEN, HS_URL, MC_KEY, MC_URL

from connectors.contract import WriteOp
from connectors.errors import (
    AuthenticationFailed,
    BadResponse,
    RateLimited,
    RequestRejected,
    ServerError,
    Unreachable,
)
from connectors.http import RetryPolicy, parse_retry_after
from connectors.hubspot import HubSpotClient
from connectors.hubspot_quota import HubSpotQuota
from connectors.mailchimp import MailchimpClient
from connectors.pacing import WindowBudget

PROP = "/crm/v3/properties/contacts/email"
ENDPOINT = "GET /crm/v3/properties/contacts/{name}"


@respx.mock(base_url=HS_URL)
async def test_429_honours_retry_after_then_succeeds(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    route = respx_mock.get(PROP).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0.05"}, json={"policyName": "SECONDLY"}),
            httpx.Response(200, json={"name": "email"}),
        ]
    )
    hubspot.retry = RetryPolicy(max_attempts=3, base_wait_s=0.001, max_wait_s=1.0)
    started = time.monotonic()
    await hubspot.check()
    assert time.monotonic() - started >= 0.05
    assert route.call_count == 2
    assert hubspot.stats.calls == {ENDPOINT: 2}
    assert hubspot.stats.retries == 1


@respx.mock(base_url=HS_URL)
async def test_429_exhausted_raises_rate_limited(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    respx_mock.get(PROP).mock(
        return_value=httpx.Response(
            429,
            json={
                "message": "You have reached your ten_secondly_rolling limit.",
                "policyName": "TEN_SECONDLY_ROLLING",
                "correlationId": "c-429",
            },
        )
    )
    with pytest.raises(RateLimited) as info:
        await hubspot.check()
    assert info.value.status == 429
    assert "TEN_SECONDLY_ROLLING" in str(info.value)
    assert hubspot.stats.total == 3


@respx.mock(base_url=HS_URL)
async def test_5xx_exhaustion_raises_server_error_with_attempts_counted(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    route = respx_mock.get(PROP).mock(return_value=httpx.Response(502, text="bad gateway"))
    with pytest.raises(ServerError) as info:
        await hubspot.check()
    assert info.value.status == 502
    assert route.call_count == 3
    assert hubspot.stats.calls[ENDPOINT] == 3
    assert hubspot.stats.retries == 2


@respx.mock(base_url=HS_URL)
async def test_transport_error_raises_unreachable_naming_host(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    respx_mock.get(PROP).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(Unreachable) as info:
        await hubspot.check()
    assert "hs.test" in str(info.value)
    assert hubspot.stats.total == 3


@respx.mock(base_url=HS_URL)
async def test_timeout_then_success(respx_mock: respx.MockRouter, hubspot: HubSpotClient) -> None:
    respx_mock.get(PROP).mock(side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json={})])
    await hubspot.check()
    assert hubspot.stats.retries == 1


@respx.mock(base_url=HS_URL)
async def test_401_is_authentication_failed_without_token(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    route = respx_mock.get(PROP).mock(
        return_value=httpx.Response(
            401,
            json={
                "status": "error",
                "message": "Authentication credentials not found.",
                "category": "INVALID_AUTHENTICATION",
                "correlationId": "c-401",
            },
        )
    )
    with pytest.raises(AuthenticationFailed) as info:
        await hubspot.check()
    assert "Authentication credentials not found." in str(info.value)
    assert HS_TOKEN not in str(info.value)
    assert HS_TOKEN not in repr(info.value.args)
    assert info.value.request_id == "c-401"
    assert route.call_count == 1  # no retry
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {HS_TOKEN}"


@respx.mock(base_url=HS_URL)
async def test_400_is_request_rejected_with_correlation_id(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    respx_mock.get(PROP).mock(
        return_value=httpx.Response(
            400,
            json={
                "message": "Invalid input",
                "category": "VALIDATION_ERROR",
                "correlationId": "c-400",
                "errors": [{"message": "bad thing", "in": "x"}],
            },
        )
    )
    with pytest.raises(RequestRejected) as info:
        await hubspot.check()
    assert info.value.request_id == "c-400"
    assert info.value.category == "VALIDATION_ERROR"
    assert "bad thing" in info.value.message
    assert "c-400" in str(info.value)


@respx.mock(base_url=MC_URL)
async def test_mailchimp_400_uses_x_request_id(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    respx_mock.get("/ping").mock(
        return_value=httpx.Response(
            400,
            headers={"X-Request-Id": "req-9", "Content-Type": "application/problem+json"},
            json={
                "type": "t",
                "title": "Invalid Resource",
                "status": 400,
                "detail": "Bad email",
                "instance": "inst-1",
            },
        )
    )
    with pytest.raises(RequestRejected) as info:
        await mailchimp.check()
    assert info.value.request_id == "req-9"
    assert info.value.category == "Invalid Resource"
    assert "Bad email" in info.value.message


@respx.mock(base_url=MC_URL)
async def test_mailchimp_401_and_bare_403_throttle(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    route = respx_mock.get("/ping").mock(
        side_effect=[
            httpx.Response(403, text=""),  # throttling signal: retried
            httpx.Response(
                401,
                headers={"Content-Type": "application/problem+json"},
                json={
                    "type": "t",
                    "title": "API Key Invalid",
                    "status": 401,
                    "detail": "Your API key may be invalid.",
                    "instance": "i-2",
                },
            ),
        ]
    )
    with pytest.raises(AuthenticationFailed) as info:
        await mailchimp.check()
    assert route.call_count == 2
    assert info.value.request_id == "i-2"
    assert MC_KEY not in str(info.value)
    assert mailchimp.stats.retries == 1


@respx.mock(base_url=HS_URL)
async def test_every_attempt_passes_the_budget(respx_mock: respx.MockRouter) -> None:
    acquired = []

    class CountingBudget(WindowBudget):
        async def acquire(self) -> None:
            acquired.append(1)

    quota = HubSpotQuota()
    quota.burst = CountingBudget(0, 0)

    client = HubSpotClient(
        HS_URL,
        HS_TOKEN,
        properties=[],
        quota=quota,
        retry=RetryPolicy(max_attempts=3, base_wait_s=0.001, max_wait_s=0.01),
    )
    respx_mock.get(PROP).mock(side_effect=[httpx.Response(500), httpx.Response(200, json={})])
    await client.check()
    await client.aclose()
    assert len(acquired) == 2


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_client_survives_a_new_event_loop() -> None:
    # Each Prefect task may run its own loop; the client must not cling to a dead one.
    client = HubSpotClient(
        HS_URL, HS_TOKEN, properties=[], quota=HubSpotQuota.unlimited(), retry=RetryPolicy(1, 0, 0)
    )
    with respx.mock(base_url=HS_URL) as mock:
        mock.get(PROP).mock(return_value=httpx.Response(200, json={}))
        asyncio.run(client.check())
        asyncio.run(client.check())
        asyncio.run(client.aclose())
        assert mock.calls.call_count == 2
    assert client.stats.total == 2


@respx.mock(base_url=HS_URL)
async def test_503_honours_retry_after(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    respx_mock.get(PROP).mock(
        side_effect=[httpx.Response(503, headers={"Retry-After": "0"}), httpx.Response(200)]
    )
    await hubspot.check()
    assert hubspot.stats.retries == 1


@respx.mock(base_url=MC_URL)
async def test_retry_after_longer_than_the_backoff_cap_is_still_honoured(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    respx_mock.get("/ping").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0.3"}),
            httpx.Response(200, json={"health_status": "Everything's Chimpy!"}),
        ]
    )
    respx_mock.get("/lists/L1/merge-fields").mock(
        return_value=httpx.Response(200, json={"merge_fields": [], "total_items": 0})
    )
    mailchimp.retry = RetryPolicy(max_attempts=3, base_wait_s=0.001, max_wait_s=0.01)
    started = time.monotonic()
    await mailchimp.check()
    assert time.monotonic() - started >= 0.3


SEARCH = "/crm/v3/objects/contacts/search"


@respx.mock(base_url=HS_URL)
async def test_truncated_json_is_retried_not_read_as_empty(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    whole = {"results": [{"id": "1", "properties": {"email": "a@example.org"}}]}
    route = respx_mock.post(SEARCH).mock(
        side_effect=[
            httpx.Response(200, content=b'{"results": [{"id": "1", "prop'),
            httpx.Response(200, json=whole),
        ]
    )
    page = await hubspot.fetch_page(None, None)
    assert route.call_count == 2
    assert [r.external_id for r in page.records] == ["1"]


@respx.mock(base_url=HS_URL)
async def test_truncated_json_on_every_attempt_raises_bad_response(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    respx_mock.post("/crm/v3/objects/contacts/batch/update").mock(
        return_value=httpx.Response(200, content=b'{"results": [')
    )
    op = WriteOp(key="k1", email="a@example.org", external_id="1", fields={"firstname": "A"})
    with pytest.raises(BadResponse):
        await hubspot.write([op])


@respx.mock(base_url=HS_URL)
async def test_html_5xx_is_retried_and_reported_without_the_page(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1>" + "x" * 2000 + "</body></html>"
    respx_mock.get(PROP).mock(
        return_value=httpx.Response(502, text=page, headers={"Content-Type": "text/html"})
    )
    with pytest.raises(ServerError) as info:
        await hubspot.check()
    assert "<html>" not in str(info.value)
    assert "HTML page" in str(info.value)
    assert hubspot.stats.retries == 2


@respx.mock(base_url=HS_URL)
async def test_reset_mid_response_is_retried(
    respx_mock: respx.MockRouter, hubspot: HubSpotClient
) -> None:
    route = respx_mock.get(PROP).mock(
        side_effect=[httpx.RemoteProtocolError("peer closed connection"), httpx.Response(200)]
    )
    await hubspot.check()
    assert route.call_count == 2


@respx.mock(base_url=HS_URL)
async def test_429_without_retry_after_pauses_the_whole_budget(
    respx_mock: respx.MockRouter,
) -> None:
    quota = HubSpotQuota()
    client = HubSpotClient(
        HS_URL, HS_TOKEN, properties=[], quota=quota, retry=RetryPolicy(3, 0.001, 1.0)
    )
    client.rate_limit_floor_s = 0.05
    respx_mock.get(PROP).mock(
        side_effect=[
            httpx.Response(429, json={"policyName": "TEN_SECONDLY_ROLLING"}),
            httpx.Response(200),
        ]
    )
    before = time.monotonic()
    await client.check()
    await client.aclose()
    # Other requests sharing the budget were held for the same back-off, not only this one.
    assert quota.burst.paused_until >= before + 0.05


@respx.mock(base_url=MC_URL)
async def test_mailchimp_json_403_is_a_real_refusal_not_retried(
    respx_mock: respx.MockRouter, mailchimp: MailchimpClient
) -> None:
    route = respx_mock.get("/ping").mock(
        return_value=httpx.Response(
            403,
            json={"title": "User Disabled", "status": 403, "detail": "disabled", "instance": "i"},
            headers={"Content-Type": "application/problem+json"},
        )
    )
    with pytest.raises(AuthenticationFailed):
        await mailchimp.check()
    assert route.call_count == 1


def test_mailchimp_connections_are_capped_at_the_vendor_limit() -> None:
    from connectors.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="1 to 10"):
        MailchimpClient(MC_URL, MC_KEY, "L1", max_connections=11)
    assert MailchimpClient(MC_URL, MC_KEY, "L1")._limits.max_connections == 10


@pytest.mark.parametrize(
    ("raised", "phase"),
    [(httpx.ConnectTimeout("no SYN-ACK"), "connect"), (httpx.ReadTimeout("silent"), "read")],
)
async def test_timeouts_say_which_wait_ran_out(
    hubspot: HubSpotClient, raised: httpx.TimeoutException, phase: str
) -> None:
    from connectors.errors import TimedOut

    hubspot.retry = RetryPolicy(max_attempts=2, base_wait_s=0.001, max_wait_s=0.01)
    with respx.mock(base_url=HS_URL) as router:
        route = router.get(PROP).mock(side_effect=raised)
        with pytest.raises(TimedOut) as info:
            await hubspot.check()
    assert info.value.category == phase
    assert isinstance(info.value, Unreachable)  # callers that only know Unreachable still work
    assert route.call_count == 2
