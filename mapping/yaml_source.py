"""Mapping YAML read with the position of every key and value, refusing duplicate keys.

PyYAML lets a repeated key silently replace the first (a second `job_title:` block drops
the first block's `sensitive: true`); here every repeat, at any depth, is a problem that
names both places. Positions let each later check point at the exact line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from mapping.errors import MappingConfigError, Problem

Loc = tuple[Any, ...]


@dataclass(frozen=True)
class Position:
    line: int
    column: int
    """Both 1-based, as editors count."""


@dataclass(frozen=True)
class YamlSource:
    """A parsed mapping file: its data, where each part of it is, and its duplicate keys."""

    path: str
    data: Any
    keys: dict[Loc, Position] = field(default_factory=dict)
    """Where the key of each mapping entry is (the path ends with that key)."""
    values: dict[Loc, Position] = field(default_factory=dict)
    """Where each value starts."""
    duplicates: tuple[Problem, ...] = ()

    def position(self, loc: Loc, *, value: bool = False) -> Position | None:
        """Where `loc` is (its key, or its value), else its nearest enclosing entry.

        A value asked for under a shorthand (`hubspot: jobtitle` for `hubspot.field`) is
        the shorthand's value.
        """
        table = self.values if value else self.keys
        for end in range(len(loc), -1, -1):
            if loc[:end] in table:
                return table[loc[:end]]
        return None

    def problem(self, loc: Loc, message: str, *, value: bool = False) -> Problem:
        at = self.position(loc, value=value)
        return Problem(message, self.path, at.line if at else None, at.column if at else None)


def _position(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def read_yaml(text: str, path: str = "<mapping>") -> YamlSource:
    """Parse `text`; a syntax error raises `MappingConfigError` at its line and column."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise MappingConfigError(
            f"not valid YAML: {exc.problem}",
            path=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    finally:
        loader.dispose()
    keys: dict[Loc, Position] = {}
    values: dict[Loc, Position] = {}
    duplicates: list[Problem] = []
    if node is not None:
        _index(node, (), keys, values, duplicates, path)
    return YamlSource(path, data, keys, values, tuple(duplicates))


def _index(
    node: yaml.Node,
    loc: Loc,
    keys: dict[Loc, Position],
    values: dict[Loc, Position],
    duplicates: list[Problem],
    path: str,
) -> None:
    values[loc] = _position(node)
    if isinstance(node, yaml.MappingNode):
        siblings: dict[Any, Position] = {}
        for key_node, value_node in node.value:
            child = (*loc, key_node.value)
            at = _position(key_node)
            if key_node.value in siblings:
                first = siblings[key_node.value]
                dotted = ".".join(str(p) for p in child)
                duplicates.append(
                    Problem(
                        f"duplicate key {key_node.value!r} ({dotted}; also at line "
                        f"{first.line}): YAML keeps only the last one, so the first is "
                        "silently lost; merge the two into one",
                        path,
                        at.line,
                        at.column,
                    )
                )
            # The data holds the last block, so later checks point into that one.
            siblings[key_node.value] = keys[child] = at
            _index(value_node, child, keys, values, duplicates, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            keys[(*loc, i)] = _position(item)
            _index(item, (*loc, i), keys, values, duplicates, path)
