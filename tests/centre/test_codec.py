"""Every event and fact converts to JSON and back (a property over every record type)."""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.vocabulary import codec

_TEXT = st.text(max_size=20)
_FLOAT = st.floats(allow_nan=False, allow_infinity=False, width=64)


def _for(hint: Any) -> st.SearchStrategy[Any]:
    """A strategy for one field type (no global type registrations)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([_for(arg) for arg in typing.get_args(hint)])
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(_for(args[0]), max_size=3).map(tuple)
        return st.tuples(*(_for(arg) for arg in args))
    if hint is type(None):
        return st.none()
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    return {str: _TEXT, float: _FLOAT, int: st.integers(-10**6, 10**6), bool: st.booleans()}[
        hint
    ]


def _records() -> st.SearchStrategy[object]:
    strategies = []
    for kind in codec.RECORD_TYPES.values():
        hints = typing.get_type_hints(kind)
        fields = {f.name: _for(hints[f.name]) for f in dataclasses.fields(kind)}
        strategies.append(st.builds(kind, **fields))
    return st.one_of(strategies)


@given(_records())
def test_every_record_round_trips_through_json(record: object) -> None:
    line = codec.dumps(record)
    assert "\n" not in line
    assert codec.loads(line) == record
    assert json.loads(line)["v"] == codec.SCHEMA_VERSION


def test_every_type_has_at_and_is_frozen() -> None:
    for name, kind in codec.RECORD_TYPES.items():
        names = {f.name for f in dataclasses.fields(kind)}
        assert "at" in names, name
        assert kind.__dataclass_params__.frozen, name  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[]", "JSON object"),
        ('{"v": 99, "type": "CallArrived"}', "schema version"),
        ('{"v": 1, "type": "Nope"}', "unknown record type"),
        ('{"v": 1, "type": "NoInput", "call_id": "c"}', "missing field 'at'"),
        ('{"v": 1, "type": "NoInput", "call_id": "c", "at": "x"}', "expected a number"),
        ('{"v": 1, "type": "NoInput", "call_id": "c", "at": 1, "zz": 2}', "unknown field"),
        ("{not json", "not JSON"),
    ],
)
def test_bad_records_are_refused_with_the_codec_error(line: str, message: str) -> None:
    with pytest.raises(codec.CodecError, match=message):
        codec.loads(line)


def test_an_older_record_without_a_later_field_takes_its_default() -> None:
    record = codec.loads('{"v": 1, "type": "PlaybackFinished", "call_id": "c", "at": 2}')
    assert record == codec.RECORD_TYPES["PlaybackFinished"]("c", 2.0)


def test_read_lines_names_the_bad_line() -> None:
    good = codec.dumps(codec.RECORD_TYPES["NoInput"]("c", 1.0))
    with pytest.raises(codec.CodecError, match="line 3"):
        list(codec.read_lines([good, "", "garbage"]))
