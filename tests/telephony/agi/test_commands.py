"""The serialiser: any argument text becomes exactly one line that Asterisk's own
parse_args reads back as the same argument, or a clear refusal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.telephony.agi import UnsafeArgument, build, quote_argument
from hotline.telephony.agi.commands import (
    _COMMAND_NAME,
    _SESSION_COMMANDS,
    MAX_COMMAND_BYTES,
    parse_args,
)


@pytest.mark.parametrize(
    ("line", "args"),
    [
        ('STREAM FILE hello-world ""', ["STREAM", "FILE", "hello-world", ""]),
        ('SET VARIABLE X "started ok"', ["SET", "VARIABLE", "X", "started ok"]),
        (r'VERBOSE "a \"b\" \\c" 1', ["VERBOSE", 'a "b" \\c', "1"]),
        (r"NOOP a\ b", ["NOOP", "a b"]),
        ('NOOP ab"c d"e', ["NOOP", "abc de"]),
        ("NOOP  \t x", ["NOOP", "x"]),
    ],
)
def test_parse_args_matches_asterisk(line: str, args: list[str]) -> None:
    assert parse_args(line) == args


def test_lines_match_the_recorded_commands() -> None:
    assert build("ANSWER").line() == b"ANSWER\n"
    assert build("SET VARIABLE", "HOTLINE_RESULT", "started ok").line() == (
        b'SET VARIABLE HOTLINE_RESULT "started ok"\n'
    )
    assert build("STREAM FILE", "hello-world", "").line() == b'STREAM FILE hello-world ""\n'
    assert build("GET DATA", "beep", "5000", "4").line() == b"GET DATA beep 5000 4\n"


@pytest.mark.parametrize(
    "text",
    ['x"\nHANGUP', "a\nb", "a\rb", "a\x00b", "\x1b[2J", "\ud800", "y" * MAX_COMMAND_BYTES],
)
def test_injection_attempts_are_refused(text: str) -> None:
    with pytest.raises(UnsafeArgument):
        build("SET VARIABLE", "X", text)
    with pytest.raises(ValueError):  # a ValueError too, for callers that catch that
        build("VERBOSE", text, "1").line()


def test_bad_command_names_are_refused() -> None:
    for name in ("", "ANSWER\nHANGUP", "SET  VARIABLE", 'NOOP"', "A1"):
        with pytest.raises(UnsafeArgument):
            build(name)
    with pytest.raises(UnsafeArgument):
        build("NOOP", *["a"] * 200)


def test_a_quote_cannot_end_the_argument_early() -> None:
    line = build("SET VARIABLE", "X", 'a" "EXEC System rm').line()
    assert parse_args(line.decode().rstrip("\n")) == ["SET", "VARIABLE", "X", 'a" "EXEC System rm']


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=5))
def test_any_text_is_one_line_that_parses_back_or_is_refused(args: list[str]) -> None:
    try:
        line = build("SET VARIABLE", *args).line()
    except UnsafeArgument:
        assert any(ch in a for a in args for ch in "\n\r\x00") or any(
            (ord(ch) < 0x20 and ch != "\t") or ch == "\x7f" or 0xD800 <= ord(ch) <= 0xDFFF
            for a in args
            for ch in a
        )
        return
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert b"\r" not in line and b"\x00" not in line
    assert len(line) <= MAX_COMMAND_BYTES
    assert parse_args(line.decode("utf-8")[:-1]) == ["SET", "VARIABLE", *args]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab "\\\t\n\r\x00 é中')), max_size=40))
def test_quoting_round_trips_on_the_tricky_alphabet(text: str) -> None:
    try:
        quoted = quote_argument(text)
    except UnsafeArgument:
        assert any(ch in text for ch in "\n\r\x00")
        return
    assert parse_args("NOOP " + quoted) == ["NOOP", text]


def test_long_input_is_refused_not_split() -> None:
    # Asterisk would cut a line past its buffer and run the rest as a new command.
    with pytest.raises(UnsafeArgument):
        build("VERBOSE", "x" * 3000, "1")


def test_the_session_commands_are_command_words() -> None:
    # They skip the name check on the way out, so they must pass it.
    for name in _SESSION_COMMANDS:
        assert _COMMAND_NAME.fullmatch(name) is not None, name
        assert build(name).line() == name.encode() + b"\n"
