"""The contract checker itself: it finds what the specs forbid, and it fails without specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.recorder import Exchange
from sandbox.server import SandboxServer
from tests.integration.contract.guard import baton_traffic
from tests.integration.contract.openapi import ContractChecker, SpecsMissing, specs_dir
from tests.integration.vendors import TEST_CLIENT

BATCH = "/3.0/lists/a1b2c3d4e5"
MEMBER = BATCH + "/members/0123456789abcdef0123456789abcdef"


def _exchange(
    method: str,
    path: str,
    request: Any = None,
    response: Any = None,
    status: int = 200,
    query: tuple[tuple[str, str], ...] = (),
    user_agent: str = "python-httpx/0.28.1",
) -> Exchange:
    return Exchange(
        method=method,
        path=path,
        query=query,
        request_content_type="application/json" if request is not None else "",
        request_body=json.dumps(request).encode() if request is not None else b"",
        status=status,
        response_content_type="application/json",
        response_body=json.dumps(response).encode() if response is not None else b"",
        user_agent=user_agent,
    )


def _batch_answer() -> dict[str, Any]:
    return {
        "new_members": [],
        "updated_members": [],
        "errors": [],
        "total_created": 0,
        "total_updated": 0,
        "error_count": 0,
    }


def _problems(checker: ContractChecker, exchange: Exchange) -> list[str]:
    report = checker.check([exchange])
    assert report.unmatched == []
    return [f"{v.where}: {v.message}" for v in report.violations]


def test_batch_member_without_a_status_breaks_the_current_rule(checker: ContractChecker) -> None:
    body = {"members": [{"email_address": "a@x.org"}], "update_existing": True}
    problems = _problems(checker, _exchange("POST", BATCH, body, _batch_answer()))
    assert problems and all(p.startswith("request (current vendor rule)") for p in problems)
    ok = {"members": [{"email_address": "a@x.org", "status_if_new": "transactional"}]}
    assert _problems(checker, _exchange("POST", BATCH, ok, _batch_answer())) == []


def test_empty_status_and_bad_enums_are_found(checker: ContractChecker) -> None:
    body = {"members": [{"email_address": "a@x.org", "status": ""}]}
    [problem] = _problems(checker, _exchange("POST", BATCH, body, _batch_answer()))
    assert problem.startswith("request: members/0/status")
    member = {"id": "x", "email_address": "a@x.org", "status": "gone"}
    found = _problems(checker, _exchange("GET", MEMBER, response=member))
    assert any("status" in p for p in found)


def test_query_parameters_must_be_declared_and_fit(checker: ContractChecker) -> None:
    answer = {"members": [], "list_id": "a1b2c3d4e5", "total_items": 0}
    path = BATCH + "/members"
    assert (
        _problems(checker, _exchange("GET", path, response=answer, query=(("count", "10"),))) == []
    )
    unknown = _problems(checker, _exchange("GET", path, response=answer, query=(("sort", "x"),)))
    assert unknown == ["query sort: not a parameter of this operation"]
    bad = _problems(checker, _exchange("GET", path, response=answer, query=(("count", "ten"),)))
    assert bad == ["query count: 'ten' is not an integer"]


def test_hubspot_response_shapes_and_undeclared_statuses(checker: ContractChecker) -> None:
    upsert = "/crm/v3/objects/contacts/batch/upsert"
    body = {"inputs": [{"id": "a@x.org", "idProperty": "email", "properties": {}}]}
    missing = _problems(checker, _exchange("POST", upsert, body, {"results": []}))
    assert any("'status' is a required property" in p for p in missing)
    # Any other status falls to `default`: Mailchimp's problem document.
    teapot = _problems(checker, _exchange("GET", MEMBER, response={}, status=418))
    assert "response 418: (root): 'type' is a required property" in teapot
    archive = "/crm/v3/objects/contacts/batch/archive"
    with_body = _exchange("POST", archive, {"inputs": [{"id": "1"}]}, {"x": 1}, status=204)
    assert _problems(checker, with_body) == ["response 204: a body where the spec declares none"]


def test_paths_no_spec_describes_are_unmatched(checker: ContractChecker) -> None:
    report = checker.check([_exchange("GET", "/crm/v3/objects/deals", response={})])
    assert report.unmatched == ["GET /crm/v3/objects/deals -> 200"]


def test_missing_specs_fail_clearly(tmp_path: Path) -> None:
    clone = tmp_path / "baton"
    clone.mkdir()
    with pytest.raises(SpecsMissing, match="shared/ beside the clone"):
        specs_dir(clone)
    assert (specs_dir() / "hubspot" / "subscriptions-v4.json").is_file()


def test_capitalised_booleans_are_excused_only_for_the_official_sdk(
    checker: ContractChecker,
) -> None:
    listing = {"results": []}
    query = (("archived", "True"),)
    path = "/crm/v3/objects/contacts"
    sdk = _exchange(
        "GET", path, response=listing, query=query, user_agent="hubspot-api-client-python; 12.0.0"
    )
    report = checker.check([sdk])
    assert report.violations == [] and sum(report.excused.values()) == 1
    # Baton (or anything else) must send the spec's lower-case boolean.
    assert _problems(checker, _exchange("GET", path, response=listing, query=query)) == [
        "query archived: 'True' is not a boolean"
    ]
    lower = (("archived", "true"),)
    assert _problems(checker, _exchange("GET", path, response=listing, query=lower)) == []


def test_the_per_test_check_sees_baton_traffic_only(
    sandbox: SandboxServer, checker: ContractChecker
) -> None:
    assert sandbox.store.config.record_exchanges  # switched on for every sandbox a test starts
    wrong = {"inputs": [{"id": 1001, "properties": {}}]}  # the spec's ids are strings
    path = f"{sandbox.url}/crm/v3/objects/contacts/batch/update"
    token = {"Authorization": f"Bearer {sandbox.config.hubspot_token}"}
    httpx.post(path, json=wrong, headers={**token, "User-Agent": TEST_CLIENT}, timeout=5)
    assert baton_traffic(checker).checked == 0  # the tests' own requests are not Baton's
    httpx.post(path, json=wrong, headers=token, timeout=5)
    report = baton_traffic(checker)
    assert report.checked == 1
    assert [v.where for v in report.violations] == ["request"]
