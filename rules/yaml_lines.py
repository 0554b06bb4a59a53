"""YAML loading that remembers the line of every mapping key and list item, so errors can point at them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml


class YAMLSourceError(ValueError):
    """The text is not YAML a pack can be read from; `line` is 1-based, or None when unknown."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class LineMapping(dict):
    """A dict that knows the line it starts on and the line of each key."""

    line: int
    key_lines: dict[Any, int]


class LineSequence(list):
    """A list that knows the line it starts on and the line of each item."""

    line: int
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineMapping:
    loader.flatten_mapping(node)
    mapping = LineMapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            duplicate = key in mapping
        except TypeError:
            raise YAMLSourceError(
                f"a mapping key must be a plain value, not {type(key).__name__}", line
            ) from None
        if duplicate:
            # PyYAML silently keeps the last of two equal keys; in a pack that hides half of an intent.
            raise YAMLSourceError(f"duplicate key {key!r} (first on line {mapping.key_lines[key]})", line)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineSequence:
    sequence = LineSequence(loader.construct_object(item, deep=True) for item in node.value)
    sequence.line = node.start_mark.line + 1
    sequence.item_lines = [item.start_mark.line + 1 for item in node.value]
    return sequence


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(text: str) -> Any:
    """Parse one YAML document with line numbers kept on its mappings and sequences."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "invalid YAML"
        if error.problem and error.context and error.context_mark and error.context_mark is not mark:
            # "expected ']'" is found at the end of the file; where the unclosed thing began helps more.
            problem += f" ({error.context} on line {error.context_mark.line + 1})"
        raise YAMLSourceError(f"invalid YAML: {problem}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as error:
        raise YAMLSourceError(f"invalid YAML: {error}", None) from None


def line_of(document: Any, path: Sequence[Any]) -> int | None:
    """The line of the deepest node along `path` (keys and list indexes) that the document has."""
    node = document
    line = getattr(node, "line", None)
    for step in path:
        if isinstance(node, LineMapping) and step in node:
            line = node.key_lines[step]
            node = node[step]
        elif isinstance(node, LineSequence) and isinstance(step, int) and 0 <= step < len(node):
            line = node.item_lines[step]
            node = node[step]
        else:
            break
    return line


def node_at(document: Any, path: Sequence[Any]) -> Any:
    """The raw value at `path`, or None when the path leaves the document."""
    node = document
    for step in path:
        in_mapping = isinstance(node, dict) and step in node
        in_sequence = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if not (in_mapping or in_sequence):
            return None
        node = node[step]
    return node
