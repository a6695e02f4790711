"""Reading YAML files safely: the methodology file, mapping presets, schedules.

Reading a file (:func:`read_yaml_file`) refuses, each with one line: a file over
:data:`MAX_YAML_BYTES`, one that is not UTF-8 text, YAML nested too deeply to parse, and
anchors / aliases that expand beyond :data:`MAX_YAML_NODES` nodes (an alias bomb).
:func:`load_yaml_text` with ``unique_keys=True`` also refuses a key given twice in one
mapping (plain YAML keeps the last one silently); kamlib's label table is read that way.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from kamlib.errors import ConfigError

#: Largest methodology / mapping / schedule file accepted (bytes); these files are a few KB.
MAX_YAML_BYTES = 1_000_000
#: Most YAML nodes a file may expand to once aliases are resolved (the shipped methodology
#: file has about 2,000): refuses "billion laughs" alias bombs before anything walks them.
MAX_YAML_NODES = 200_000


class _LimitedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a document whose aliases expand it beyond
    :data:`MAX_YAML_NODES` nodes, or an alias that refers to the node containing it."""

    def compose_document(self):  # type: ignore[no-untyped-def]
        node = super().compose_document()
        _check_expanded_size(node, self.name)
        return node


class _UniqueKeys:
    """Mixin for a loader: refuses a mapping giving the same key twice, naming the key and
    both lines (YAML itself keeps the last value and drops the first silently)."""

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _value in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, Hashable):
                    continue  # the constructor below refuses it
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise ConfigError(
                        f"{self.name}, line {line}: key {key!r} is given twice (first at line "
                        f"{seen[key]}); each key may appear once. Keep one of them."
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _UniqueKeyLoader(_UniqueKeys, _LimitedLoader):
    """:class:`_LimitedLoader` that refuses a key given twice in one mapping."""


_CLoader = getattr(yaml, "CSafeLoader", None)


if _CLoader is not None:

    class _FastLoader(_CLoader):  # type: ignore[misc, valid-type]
        """libyaml's parser (about ten times faster) for kamlib's own files, with the same
        safe constructor and the same node limit (libyaml composes the document in C, so the
        check runs on the node it returns)."""

        def get_single_node(self):  # type: ignore[no-untyped-def]
            node = super().get_single_node()
            if node is not None:
                _check_expanded_size(node, self.name)
            return node

    class _FastUniqueKeyLoader(_UniqueKeys, _FastLoader):
        """:class:`_FastLoader` that refuses a key given twice in one mapping."""


def _check_expanded_size(root: yaml.Node, name: str) -> None:
    """Count the nodes of ``root`` as if every alias were copied (memoised, so an alias bomb
    is measured in linear time, without expanding it)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(c)] for c in _children(node))
            if total > MAX_YAML_NODES:
                raise ConfigError(
                    f"{name} expands to more than {MAX_YAML_NODES:,} YAML nodes (its anchors "
                    "and aliases (&name / *name) repeat a part over and over); write the values "
                    "out or use fewer aliases."
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ConfigError(
                f"{name}: an alias (*name) refers to the mapping or list that contains it; "
                "remove the alias."
            )
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml_text(
    text: str, name: str, *, unique_keys: bool = False, shipped: bool = False
) -> Any:
    """Parse YAML text with kamlib's limits (safe types only, alias expansion and nesting
    bounded); ``yaml.YAMLError``, ``ConfigError`` or ``RecursionError`` reach the caller.

    With ``unique_keys`` a mapping that gives a key twice is a ``ConfigError`` naming the
    key and its lines, instead of the last value silently winning.  ``shipped`` (kamlib's
    own files) parses with libyaml when PyYAML has it: the same values, parsed faster.
    """
    if shipped and _CLoader is not None:
        loader = (_FastUniqueKeyLoader if unique_keys else _FastLoader)(text)
    else:
        loader = (_UniqueKeyLoader if unique_keys else _LimitedLoader)(text)
    loader.name = name
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_yaml_file(path: str | Path, what: str) -> tuple[Any, str]:
    """Parse a YAML file (methodology, mapping, schedule …); ``ConfigError`` naming the file.

    Refused with one line each: a file larger than :data:`MAX_YAML_BYTES`, a file that is not
    UTF-8 text (binary, another encoding), invalid YAML, nesting too deep to parse, and
    anchors/aliases expanding beyond :data:`MAX_YAML_NODES` nodes.
    """
    p = Path(path)
    What = f"{what[0].upper()}{what[1:]}"
    try:
        size = p.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(
                f"{What} {p} is {size:,} bytes; at most {MAX_YAML_BYTES:,} are accepted. "
                "Check that this is the right file."
            )
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read {what} {p}: {exc.strerror or exc}.") from exc
    try:
        # newlines as text mode reads them, so the fingerprint does not depend on CRLF / LF
        text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{What} {p} is not a text YAML file (byte {exc.start} is not UTF-8). Save it as "
            "UTF-8 text, or check that this is the right file."
        ) from exc
    if "\x00" in text:
        raise ConfigError(
            f"{What} {p} is not a text YAML file (it holds NUL bytes). Check that this is the "
            "right file."
        )
    try:
        return load_yaml_text(text, f"{What} {p}"), text
    except yaml.YAMLError as exc:
        raise ConfigError(f"{What} {p} is not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(
            f"{What} {p} is nested too deeply to read; a methodology file needs a few levels."
        ) from exc
