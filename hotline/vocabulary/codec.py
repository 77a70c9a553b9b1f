"""The fact log's wire form: every event and fact as one JSON object, and back.

A logged record is ``{"v": 1, "type": "CallQueued", "call_id": ..., "at": ...}``: the
schema version, the dataclass's name, then its fields by name. Enums travel as their
values, tuples as lists, nested dataclasses as objects; decoding rebuilds the exact
frozen object (``decode(encode(x)) == x``). The record types are the events the kernel
accepted (`hotline.vocabulary.events`) and the facts it derived from them
(`hotline.vocabulary.facts`): together they are the complete record of the centre, from
which the CDR, the statistics and the kernel's live state are rebuilt.

Compatibility rule: fields are only ever added at the end, with defaults; a record
written by an older version (a field missing) decodes with that default, and a field this
version does not know is an error (the log is newer than the code reading it).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import Any, Union

from hotline.vocabulary import events as _events
from hotline.vocabulary import facts as _facts

SCHEMA_VERSION = 1


class CodecError(ValueError):
    """A record that is not a well-formed logged event or fact of a known type."""


def _record_types() -> dict[str, type[Any]]:
    found: dict[str, type[Any]] = {kind.__name__: kind for kind in typing.get_args(_events.Event)}
    for name, value in vars(_facts).items():
        if (
            isinstance(value, type)
            and dataclasses.is_dataclass(value)
            and value.__module__ == _facts.__name__
        ):
            found[name] = value
    return found


RECORD_TYPES: dict[str, type[Any]] = _record_types()
"""Every loggable type by name: the events and the facts."""


def encode(record: Any) -> dict[str, Any]:
    """A logged event or fact as a JSON-ready dict (``type`` and ``v`` first)."""
    kind = type(record)
    if RECORD_TYPES.get(kind.__name__) is not kind:
        raise CodecError(f"{kind.__name__} is not a loggable event or fact")
    out: dict[str, Any] = {"v": SCHEMA_VERSION, "type": kind.__name__}
    for field in dataclasses.fields(record):
        out[field.name] = _plain(getattr(record, field.name))
    return out


def decode(data: Any) -> Any:
    """The event or fact a dict from `encode` (or an older version of it) describes."""
    if not isinstance(data, dict):
        raise CodecError(f"a record is a JSON object, not {type(data).__name__}")
    version = data.get("v")
    if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        raise CodecError(f"unknown record schema version {version!r}")
    name = data.get("type")
    kind = RECORD_TYPES.get(name) if isinstance(name, str) else None
    if kind is None:
        raise CodecError(f"unknown record type {name!r}")
    return _build(kind, data, skip=("v", "type"))


def dumps(record: Any) -> str:
    """One JSON line (UTF-8 kept readable: callers' names and transcripts are Chinese)."""
    return json.dumps(encode(record), ensure_ascii=False, separators=(",", ":"))


def loads(line: str | bytes) -> Any:
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CodecError(f"not JSON: {exc}") from exc
    return decode(data)


def read_lines(lines: Iterable[str]) -> Iterator[Any]:
    """Records from JSON lines (blank lines skipped); errors name the line number."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield loads(line)
        except CodecError as exc:
            raise CodecError(f"line {number}: {exc}") from None


# --- helpers ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


_HINTS: dict[type[Any], dict[str, Any]] = {
    kind: typing.get_type_hints(kind) for kind in RECORD_TYPES.values()
}  # resolved once: decoding a long log looks them up per record


def _hints(kind: type[Any]) -> dict[str, Any]:
    found = _HINTS.get(kind)
    return found if found is not None else typing.get_type_hints(kind)


def _build(kind: type[Any], data: dict[str, Any], skip: tuple[str, ...] = ()) -> Any:
    hints = _hints(kind)
    names = {f.name for f in dataclasses.fields(kind)}
    unknown = set(data) - names - set(skip)
    if unknown:
        raise CodecError(f"{kind.__name__}: unknown field(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for field in dataclasses.fields(kind):
        if field.name not in data:
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                raise CodecError(f"{kind.__name__}: missing field {field.name!r}")
            continue
        try:
            values[field.name] = _typed(hints[field.name], data[field.name])
        except (TypeError, ValueError) as exc:
            raise CodecError(f"{kind.__name__}.{field.name}: {exc}") from None
    try:
        return kind(**values)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"{kind.__name__}: {exc}") from None


def _typed(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None:
            if type(None) in args:
                return None
            raise ValueError("null is not allowed here")
        errors: list[str] = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _typed(arg, value)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors))
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {type(value).__name__}")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_typed(args[0], v) for v in value)
        if len(args) != len(value):
            raise ValueError(f"expected {len(args)} items, got {len(value)}")
        return tuple(_typed(a, v) for a, v in zip(args, value, strict=True))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ValueError(f"expected an object, got {type(value).__name__}")
        return _build(hint, value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r}")
        return value
    if hint is Any:
        return value
    raise TypeError(f"cannot decode a field of type {hint!r}")
