"""Errors raised by the mapping layer.

MappingError
├── MappingConfigError    the mapping file is invalid (names the file, line and column)
└── FieldRejected         one value of one record cannot be translated
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a mapping file, where it is and how to fix it."""

    message: str
    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class MappingError(Exception):
    """Base class for mapping problems."""


class MappingConfigError(MappingError):
    """The mapping file is invalid; `str()` reads `path:line:col: what is wrong; the fix`.

    `problems` holds every problem found (the message names the first and counts the
    rest); `baton mapping validate` prints them all, one per line. `fix` names the command
    that helps (by default `baton mapping validate`; "" for none, e.g. an unreadable file).
    """

    def __init__(
        self,
        message: str = "",
        *,
        path: str,
        line: int | None = None,
        column: int | None = None,
        problems: Sequence[Problem] = (),
        fix: str | None = None,
    ) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems) or (
            Problem(message, path, line, column),
        )
        first = self.problems[0]
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        if fix is None:
            fix = "run `baton mapping validate` to " + (
                "list them all" if more else "check the whole file"
            )
        self.fix = fix
        super().__init__(f"{first}{suffix}{'; ' + fix if fix else ''}")
        self.path = first.path
        self.line = first.line
        self.column = first.column


class FieldRejected(MappingError):
    """A value that cannot be translated; names the field and the offending value."""

    def __init__(self, field: str, message: str, *, value: str | None = None) -> None:
        super().__init__(f"field {field!r}: {message}")
        self.field = field
        self.reason = message
        self.value = value


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest known name, or nothing when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""
