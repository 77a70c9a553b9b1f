"""The sans-I/O codec: recorded shapes inline, the recorded sessions when ../shared is
there, and fuzzing (only AgiProtocolError may escape; splitting never changes events)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.telephony.agi import (
    NEED_DATA,
    AgiConnection,
    AgiEnvironment,
    AgiProtocolError,
    CommandFailed,
    ConnectionClosed,
    DeadChannel,
    Event,
    HangupRequested,
    InvalidCommand,
    Result,
    UsageError,
)
from hotline.telephony.agi.commands import (
    DigitsResult,
    PlaybackResult,
    RecordEnd,
    RecordingResult,
    ascii_digit,
)
from hotline.telephony.agi.fake_asterisk import AgiTrace, load_traces, parse_trace
from tests.telephony.agi.inline_traces import ENV, HOTLINE, as_log

TRACES = Path(__file__).resolve().parents[3].parent / "shared" / "asterisk" / "traces" / "agi"


def events_of(chunks: list[bytes], commands: int) -> list[Event]:
    conn = AgiConnection()
    for _ in range(commands):
        conn.send(b"NOOP\n")
    events: list[Event] = []
    # b"" is end of stream to the codec, so empty pieces are skipped; the last is EOF.
    for chunk in [*(c for c in chunks if c), b""]:
        conn.receive_data(chunk)
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                break
            events.append(event)
            if isinstance(event, ConnectionClosed):
                return events
    return events


def replies(*lines: bytes) -> list[Event]:
    events = events_of([ENV, *lines], commands=len(lines))
    assert isinstance(events[0], AgiEnvironment)
    assert isinstance(events[-1], ConnectionClosed)
    return events[1:-1]


def test_environment_is_typed_and_keeps_query_and_args() -> None:
    (env, closed) = events_of([ENV], 0)
    assert isinstance(env, AgiEnvironment) and isinstance(closed, ConnectionClosed)
    assert env.network_script == "hotline?lang=en"
    assert env.script == "hotline"
    assert env.query == (("lang", "en"),)
    assert env.args == ("first arg", "second-arg")
    assert env.channel == "PJSIP/pjcaller-00000003"
    assert env.caller_number == "pjcaller" and env.caller_name == "Citizen"
    assert env.dialled_number == "400" and env.extension == "400"
    assert env.redirecting_number is None  # "unknown"
    assert env.get("accountcode") == ""
    assert env.priority == 1 and env.channel_type == "PJSIP"


def test_unknown_caller_id_is_none() -> None:
    block = b"agi_callerid: unknown\nagi_calleridname: unknown\nagi_dnid: unknown\n\n"
    (env, _) = events_of([block], 0)
    assert isinstance(env, AgiEnvironment)
    assert env.caller_number is None and env.caller_name is None and env.dialled_number is None


def test_result_shapes() -> None:
    got = replies(
        b"200 result=1 (started ok)\n",
        b"200 result=0 endpos=11234\n",
        b"200 result=35 (dtmf) endpos=20866\n",
        b"200 result=-1 endpos=0\n",
        b"200 result= (timeout)\n",
        b"200 result=0123\n",
        b"200 result=1 (Local/agi@caller-00000000;1||)\n",
        b"200 result=1 (a (b) c) endpos=5)\n",
    )
    assert got == [
        Result("1", "started ok"),
        Result("0", None, (("endpos", "11234"),)),
        Result("35", "dtmf", (("endpos", "20866"),)),
        Result("-1", None, (("endpos", "0"),)),
        Result("", "timeout"),
        Result("0123"),
        Result("1", "Local/agi@caller-00000000;1||"),
        Result("1", "a (b) c) endpos=5"),
    ]


def test_error_replies() -> None:
    got = replies(
        b"510 Invalid or unknown command\n",
        b"511 Command Not Permitted on a dead channel or intercept routine\n",
        b"520-Invalid command syntax.  Proper usage follows:\nline one\n520 End of proper usage.\n",
        b"520 Invalid command syntax.  Proper usage not available.\n",
        b"503 result=-2 Memory allocation failure\n",
    )
    assert got == [
        InvalidCommand("Invalid or unknown command"),
        DeadChannel("Command Not Permitted on a dead channel or intercept routine"),
        UsageError("Invalid command syntax.  Proper usage follows:", ("line one",)),
        UsageError("Invalid command syntax.  Proper usage not available."),
        CommandFailed(503, "result=-2 Memory allocation failure"),
    ]


def test_hangup_between_command_and_reply() -> None:
    events = events_of([ENV, b"HANGUP\n200 result=0\n"], commands=1)
    assert events[1:] == [HangupRequested(), Result("0"), ConnectionClosed()]


def test_hangup_during_environment_and_crlf() -> None:
    events = events_of([b"agi_network: yes\r\nHANGUP\n\r\n"], 0)
    assert isinstance(events[0], HangupRequested)
    assert isinstance(events[1], AgiEnvironment) and events[1].get("network") == "yes"


@pytest.mark.parametrize(
    "data",
    [
        b"hello\n",  # not an environment line
        b"agi_x: 1\nagi_x: 2\n\n",  # repeated
        b"agi_arg_2: b\n\n",  # arguments not numbered from 1
        ENV + b"200 result=1\n200 result=1\n",  # a reply with no command outstanding
        ENV + b"200 ok\n",
        ENV + b"200 result=1 (open\n",
        ENV + b"200 result=1 junk\n",
        ENV + b"404 no\n",
        ENV + b"510-multi\n",
        ENV + b"200 result=\x001\n",
        ENV + b"200 result=1",  # closed mid-line
        ENV + b"520-Invalid\nusage\n",  # closed inside the usage block
    ],
)
def test_malformed_input_raises_protocol_error(data: bytes) -> None:
    with pytest.raises(AgiProtocolError):
        events_of([data], commands=1)


def test_overlong_line_is_refused_and_connection_stays_failed() -> None:
    conn = AgiConnection(max_line_bytes=100)
    conn.receive_data(b"agi_x: " + b"y" * 200)
    with pytest.raises(AgiProtocolError):
        conn.next_event()
    with pytest.raises(AgiProtocolError):
        conn.next_event()
    with pytest.raises(AgiProtocolError):
        conn.receive_data(b"\n")


def test_send_accepts_exactly_one_line() -> None:
    conn = AgiConnection()
    assert conn.send(b"ANSWER\n") == b"ANSWER\n"
    assert conn.outstanding == 1
    for bad in (b"ANSWER", b"ANSWER\nHANGUP\n"):
        with pytest.raises(AgiProtocolError):
            AgiConnection().send(bad)


def test_typed_readings_of_results() -> None:
    assert ascii_digit(Result("50")) == "2" and ascii_digit(Result("0")) is None
    assert ascii_digit(Result("35")) == "#" and ascii_digit(Result("42")) == "*"
    with pytest.raises(AgiProtocolError):
        ascii_digit(Result("65000"))
    assert PlaybackResult.from_reply(Result("50", None, (("endpos", "9760"),))) == (
        PlaybackResult("2", 9760)
    )
    assert PlaybackResult.from_reply(Result("-1", None, (("endpos", "0"),))).failed
    assert DigitsResult.from_reply(Result("1234")) == DigitsResult("1234")
    assert DigitsResult.from_reply(Result("", "timeout")) == DigitsResult("", timed_out=True)
    assert DigitsResult.from_reply(Result("12", "timeout")) == DigitsResult("12", True)
    assert RecordingResult.from_reply(Result("35", "dtmf", (("endpos", "20866"),))) == (
        RecordingResult(RecordEnd.DTMF, "#", 20866)
    )
    assert RecordingResult.from_reply(Result("0", "timeout", (("endpos", "0"),))).end is (
        RecordEnd.TIMEOUT
    )
    assert RecordingResult.from_reply(Result("-1", "hangup")).end is RecordEnd.HANGUP


# -- recorded sessions -----------------------------------------------------------------


def _inline_trace() -> AgiTrace:
    return parse_trace(as_log(ENV, HOTLINE), "inline")


def _all_traces() -> list[AgiTrace]:
    traces = [_inline_trace()]
    if TRACES.is_dir():
        traces += list(load_traces(TRACES).values())
    return traces


def _whole(trace: AgiTrace) -> list[Event]:
    return events_of([trace.asterisk_bytes()], len(trace.exchanges))


def test_inline_session_parses_to_one_reply_per_command() -> None:
    trace = _inline_trace()
    events = _whole(trace)
    got = [e for e in events if not isinstance(e, (HangupRequested, ConnectionClosed))]
    assert len(got) == 1 + len(HOTLINE)
    assert sum(isinstance(e, HangupRequested) for e in events) == 1


def test_recorded_sessions_parse() -> None:
    if not TRACES.is_dir():
        pytest.skip("../shared/asterisk/traces/agi not present")
    traces = load_traces(TRACES)
    assert {"hotline-1", "hangup-test-1", "idle-hangup-1", "sipenv-1"} <= set(traces)
    for trace in traces.values():
        events = _whole(trace)
        assert isinstance(events[0], AgiEnvironment)
        replies_ = [e for e in events[1:] if not isinstance(e, (HangupRequested, ConnectionClosed))]
        assert len(replies_) == len(trace.exchanges), trace.name
    hangup = _whole(traces["hangup-test-1"])
    assert (
        HangupRequested() in hangup
        and DeadChannel("Command Not Permitted on a dead channel or intercept routine") in hangup
    )


@pytest.mark.parametrize("trace", _all_traces(), ids=lambda t: t.name)
def test_every_split_point_gives_the_same_events(trace: AgiTrace) -> None:
    data = trace.asterisk_bytes()
    expected = _whole(trace)
    for cut in range(len(data) + 1):
        assert events_of([data[:cut], data[cut:]], len(trace.exchanges)) == expected


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_random_chunking_gives_the_same_events(data: st.DataObject) -> None:
    trace = data.draw(st.sampled_from(_all_traces()))
    raw = trace.asterisk_bytes()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=40)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert events_of(chunks, len(trace.exchanges)) == _whole(trace)


def _only_protocol_errors(chunks: list[bytes], commands: int) -> None:
    with contextlib.suppress(AgiProtocolError):
        events_of(chunks, commands)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8), st.integers(0, 5))
def test_random_bytes_raise_only_protocol_error(chunks: list[bytes], commands: int) -> None:
    _only_protocol_errors(chunks, commands)


_PIECES = [
    b"HANGUP\n",
    b"200 result=",
    b"1",
    b" (",
    b")",
    b" endpos=",
    b"-",
    b"\n",
    b"\r",
    b"520-",
    b"520 ",
    b"510 x\n",
    b"511 y\n",
    b"agi_",
    b": ",
    b"(timeout)",
    b"\x00",
    b"\xff",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40), st.integers(0, 8))
def test_near_miss_replies_raise_only_protocol_error(pieces: list[bytes], commands: int) -> None:
    _only_protocol_errors([ENV, b"".join(pieces)], commands)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_truncated_sessions_raise_only_protocol_error(data: st.DataObject) -> None:
    trace = data.draw(st.sampled_from(_all_traces()))
    raw = trace.asterisk_bytes()
    start = data.draw(st.integers(0, len(raw)))
    end = data.draw(st.integers(start, len(raw)))
    _only_protocol_errors([raw[:start] + raw[end:]], len(trace.exchanges))
