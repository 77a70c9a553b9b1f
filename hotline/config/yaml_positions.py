"""YAML loading that remembers where every key, value and list item came from.

PyYAML's constructors throw away positions and silently keep the last of two duplicate
keys, so we compose the node graph (which keeps marks) and build plain Python values
ourselves. Scalars follow the YAML 1.2 core schema rather than PyYAML's YAML 1.1: in
1.1 `8:30` is the integer 510 (base 60), `0251` is octal and `no`/`on` are booleans,
all of which turn times, phone numbers and language codes into nonsense silently.
Only plain data is built (mappings, lists, str, int, float, bool, None, dates): no tag
can construct an arbitrary Python object.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hotline.vocabulary.problems import ConfigProblem, PathPart

Path_ = tuple[PathPart, ...]

# Expanding aliases can blow a small file up exponentially ("billion laughs").
MAX_VALUES = 50_000  # a 128-agent centre file holds a few thousand

_TAG = "tag:yaml.org,2002:"
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
# A leading zero marks an identifier (phone number 025..., area code), not a number.
_INT = re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?$"
)


_PLAIN = "tag:hotline,2026:plain"


class _PlainLoader(yaml.SafeLoader):
    """Composes only: untagged plain scalars get a marker tag so we resolve them ourselves."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML's class registry)
    # The stubs mark it Final, but overriding it per subclass is how PyYAML is customised.
    DEFAULT_SCALAR_TAG = _PLAIN  # type: ignore[misc]


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line and column, as editors show them."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Spot:
    """Where one value sits: its key (for mapping entries) and the value itself."""

    value: Position
    key: Position | None = None
    container: bool = False  # a mapping or list: problems about it point at its key


@dataclass(frozen=True, slots=True)
class PositionedDocument:
    """A YAML document as plain data, plus the position of every field path in it."""

    file: str
    data: Any
    spots: dict[Path_, Spot] = field(default_factory=dict)

    def locate(self, path: Path_, *, at_key: bool = False) -> Position:
        """The position of `path`, or of its nearest ancestor present in the file.

        `at_key` prefers the key's position (the right place for "unknown field" and
        "duplicate" problems); otherwise the value's.
        """
        for end in range(len(path), -1, -1):
            spot = self.spots.get(path[:end])
            if spot is None:
                continue
            if end == len(path) and (at_key or spot.container) and spot.key is not None:
                return spot.key
            # A missing child is reported at the parent's key: that is where one writes it.
            if end < len(path) and spot.key is not None:
                return spot.key
            return spot.value
        return Position(1, 1)

    def problem(self, path: Path_, message: str, *, at_key: bool = False) -> ConfigProblem:
        where = self.locate(path, at_key=at_key)
        return ConfigProblem(self.file, where.line, where.column, path, message)


class YamlProblems(Exception):
    """Raised by `load_yaml` with every problem found while reading the file."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_yaml_file(path: Path, shown_as: str | None = None) -> PositionedDocument:
    """Read and parse one file; `shown_as` is the name used in problems (default: path)."""
    name = shown_as if shown_as is not None else str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise YamlProblems([ConfigProblem(name, 1, 1, (), f"cannot read file: {reason}")]) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlProblems(
            [ConfigProblem(name, line, column, (), "file is not valid UTF-8 text")]
        ) from exc
    return load_yaml(text, name)


def load_yaml(text: str, file: str) -> PositionedDocument:
    """Parse one YAML document into plain data with positions; raise `YamlProblems`."""
    try:
        node = yaml.compose(text, Loader=_PlainLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        if exc.context and what.startswith("but "):  # "expected X" + "but found Y"
            what = f"{exc.context} {what}"
        if "'\\t'" in what:
            what += " (YAML indents with spaces, not tabs)"
        raise YamlProblems(
            [ConfigProblem(file, line, column, (), f"YAML syntax error: {what}")]
        ) from exc
    except yaml.YAMLError as exc:  # e.g. a reader error on a control character
        raise YamlProblems([ConfigProblem(file, 1, 1, (), f"YAML error: {exc}")]) from exc
    builder = _Builder(file)
    if node is None:
        return PositionedDocument(file, None, {(): Spot(Position(1, 1))})
    data = builder.build(node, ())
    if builder.problems:
        raise YamlProblems(builder.problems)
    return PositionedDocument(file, data, builder.spots)


def _position(node: Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed node graph into plain data, recording a Spot per path."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.spots: dict[Path_, Spot] = {}
        self.problems: list[ConfigProblem] = []
        self._count = 0
        self._active: set[int] = set()  # nodes being built: an alias back to one is a loop

    def _fail(self, node: Node, path: Path_, message: str) -> None:
        where = _position(node)
        self.problems.append(ConfigProblem(self.file, where.line, where.column, path, message))

    def build(self, node: Node, path: Path_, key: Position | None = None) -> Any:
        self._count += 1
        if self._count > MAX_VALUES:
            if self._count == MAX_VALUES + 1:
                self._fail(node, path, f"document expands to more than {MAX_VALUES} values")
            return None
        self.spots[path] = Spot(_position(node), key, not isinstance(node, ScalarNode))
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self._active:
            self._fail(node, path, "an alias refers back to its own anchor (endless nesting)")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag != _TAG + "seq":
                    self._fail(node, path, f"unsupported tag {node.tag!r} on a list")
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
        finally:
            self._active.discard(id(node))
        self._fail(node, path, "unsupported YAML node")
        return None

    def _mapping(self, node: MappingNode, path: Path_) -> dict[str, Any]:
        if node.tag != _TAG + "map":
            self._fail(node, path, f"unsupported tag {node.tag!r} on a mapping")
        result: dict[str, Any] = {}
        first_seen: dict[str, Position] = {}
        merges: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge" or (
                key_node.tag == _PLAIN and key_node.style is None and key_node.value == "<<"
            ):
                merges.append((key_node, value_node))
                continue
            if not isinstance(key_node, ScalarNode):
                self._fail(key_node, path, "a mapping key must be a plain name, not a list/map")
                continue
            # Keys are names (queue names, dialled numbers, dates): keep the text as written.
            key = str(key_node.value)
            key_at = _position(key_node)
            if key in first_seen:
                seen = first_seen[key]
                self._fail(
                    key_node,
                    (*path, key),
                    f"duplicate key {key!r} (first defined at line {seen.line}, "
                    f"column {seen.column}); YAML would silently keep only the last one",
                )
                continue
            first_seen[key] = key_at
            result[key] = self.build(value_node, (*path, key), key_at)
        for key_node, value_node in merges:
            self._merge(result, key_node, value_node, path)
        return result

    def _merge(self, result: dict[str, Any], key_node: Node, source: Node, path: Path_) -> None:
        """`<<: *defaults` — explicit keys win over merged ones, as YAML specifies."""
        sources = source.value if isinstance(source, SequenceNode) else [source]
        for item in sources:
            if not isinstance(item, MappingNode):
                self._fail(key_node, path, "'<<' (merge) needs a mapping or a list of mappings")
                continue
            # Build into a scratch table, then re-home the positions of the keys we keep.
            outer, self.spots = self.spots, {}
            try:
                merged = self._mapping(item, ())
            finally:
                scratch, self.spots = self.spots, outer
            kept = {key for key in merged if key not in result}
            for key in kept:
                result[key] = merged[key]
            for sub, spot in scratch.items():
                if sub and sub[0] in kept:
                    self.spots[(*path, *sub)] = spot

    def _scalar(self, node: ScalarNode, path: Path_) -> Any:
        text = str(node.value)
        tag = node.tag
        if tag == _PLAIN:
            if node.style is not None:  # quoted or block text: always a string
                return text
            return self._resolve_plain(node, path, text)
        if tag == _TAG + "str":
            return text
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool" and _BOOL.match(text):
            return text.lower() == "true"
        if tag == _TAG + "int":
            return self._int(node, path, text)
        if tag == _TAG + "float":
            return self._float(node, path, text)
        if tag == _TAG + "timestamp":
            return self._timestamp(node, path, text)
        self._fail(node, path, f"unsupported tag {tag!r}: only plain data is allowed")
        return None

    def _resolve_plain(self, node: ScalarNode, path: Path_, text: str) -> Any:
        if _NULL.match(text):
            return None
        if _BOOL.match(text):
            return text.lower() == "true"
        if _INT.match(text):
            return self._int(node, path, text)
        if _FLOAT.match(text):
            return self._float(node, path, text)
        if _DATE.match(text) or _DATETIME.match(text):
            return self._timestamp(node, path, text)
        return text

    def _timestamp(self, node: ScalarNode, path: Path_, text: str) -> Any:
        try:
            if _DATE.match(text):
                return dt.date.fromisoformat(text)
            return dt.datetime.fromisoformat(re.sub(r"[Tt]|[ \t]+", "T", text, count=1))
        except ValueError:
            self._fail(node, path, f"{text!r} is not a real calendar date/time")
            return None

    def _int(self, node: ScalarNode, path: Path_, text: str) -> int | None:
        try:
            if text.startswith("0o"):
                return int(text[2:], 8)
            if text.startswith("0x"):
                return int(text[2:], 16)
            return int(text)
        except ValueError:
            self._fail(node, path, f"{text!r} is tagged as an integer but is not one")
            return None

    def _float(self, node: ScalarNode, path: Path_, text: str) -> float | None:
        lowered = text.lower()
        if lowered.endswith(".inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        if lowered == ".nan":
            return math.nan
        try:
            return float(text)
        except ValueError:
            self._fail(node, path, f"{text!r} is tagged as a number but is not one")
            return None


def walk_paths(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) in plain data, parents before children."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from walk_paths(value, (*path, index))
