"""Errors raised by the mapping layer.

MappingError
├── MappingConfigError    the mapping file is invalid (names the file and line)
└── FieldRejected         one value of one record cannot be translated
"""

from __future__ import annotations


class MappingError(Exception):
    """Base class for mapping problems."""


class MappingConfigError(MappingError):
    """The mapping file is invalid; `str()` reads `path:line: what is wrong`."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        location = f"{path}:{line}" if line is not None else path
        super().__init__(f"{location}: {message}")
        self.path = path
        self.line = line


class FieldRejected(MappingError):
    """A value that cannot be translated; names the field and the offending value."""

    def __init__(self, field: str, message: str, *, value: str | None = None) -> None:
        super().__init__(f"field {field!r}: {message}")
        self.field = field
        self.reason = message
        self.value = value
