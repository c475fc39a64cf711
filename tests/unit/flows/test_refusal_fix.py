"""The pre-run refusal names the command that fixes what it found."""

from __future__ import annotations

from flows.mapping_check import refusal_fix
from mapping.validation import Finding

MISSING = Finding(("fields", "a", "hubspot"), "hubspot has no field 'a'", fixed_by_apply=True)
READ_ONLY = Finding(("fields", "b", "hubspot"), "hubspot field 'b' is read-only")


def test_one_problem_names_its_own_fix() -> None:
    assert refusal_fix([MISSING]) == ""


def test_problems_apply_fixes_name_apply() -> None:
    assert "run `baton mapping apply`" in refusal_fix([MISSING, MISSING])


def test_other_problems_name_remote_validation() -> None:
    assert refusal_fix([MISSING, READ_ONLY]) == (
        "run `baton mapping validate --remote` to list them all"
    )
