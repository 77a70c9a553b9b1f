"""The FastAGI server and AgiSession over real loopback sockets, against the fake
Asterisk replaying recorded sessions (inline, and ../shared's when present)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import pytest

from hotline.telephony.agi import (
    AgiCommandError,
    AgiConnectionLost,
    AgiDeadChannel,
    AgiHandler,
    AgiServer,
    AgiSession,
    AgiSettings,
    AgiTimeout,
    ChannelState,
    DigitsResult,
    InvalidCommand,
    PlaybackResult,
    RecordEnd,
    Result,
    UnsafeArgument,
    UsageError,
)
from hotline.telephony.agi.fake_asterisk import (
    AgiTrace,
    ScriptedCall,
    load_traces,
    parse_trace,
    replay,
)
from tests.telephony.agi.inline_traces import ENV, HOTLINE, as_log

TRACES = Path(__file__).resolve().parents[3].parent / "shared" / "asterisk" / "traces" / "agi"
FAST = AgiSettings(port=0, command_timeout_s=2.0, hangup_grace_s=0.2, stop_grace_s=0.5)


@asynccontextmanager
async def serving(handler: AgiHandler, settings: AgiSettings = FAST) -> AsyncIterator[AgiServer]:
    server = AgiServer(handler, settings)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def inline(exchanges: list[tuple[bytes, bytes]]) -> AgiTrace:
    return parse_trace(as_log(ENV, exchanges), "inline")


async def test_typed_helpers_against_the_recorded_session() -> None:
    seen: dict[str, object] = {}

    async def handler(s: AgiSession) -> None:
        seen["env"] = (s.env.script, s.env.query, s.env.args, s.env.dialled_number)
        await s.answer()
        await s.verbose("hotline FastAGI started", 1)
        seen["status"] = await s.channel_status()
        await s.set_variable("HOTLINE_RESULT", "started ok")
        seen["var"] = await s.get_variable("HOTLINE_RESULT")
        seen["unset"] = await s.get_variable("DOES_NOT_EXIST")
        seen["full"] = await s.get_full_variable("${CHANNEL}|${CALLERID(num)}|${LANGUAGE()}")
        seen["plays"] = [
            await s.stream_file("hello-world"),
            await s.stream_file("tt-monkeys", "12#"),
            await s.stream_file("tt-monkeys", "12#", 8000),
            await s.stream_file("no-such-prompt"),
        ]
        seen["data"] = [
            await s.get_data("beep", 5000, 4),
            await s.get_data("beep", 5000, 10),
            await s.get_data("beep", 1500, 4),
        ]
        seen["waits"] = [await s.wait_for_digit(5000), await s.wait_for_digit(1000)]
        seen["say"] = [await s.say_digits("123"), await s.say_number(42, "9")]
        path = "/var/spool/asterisk/recording/agi-rec-"
        seen["rec"] = [
            await s.record_file(path + "hash", "wav", "#", 15000, beep=True, silence_s=5),
            await s.record_file(path + "silence", "wav", "#", 20000, silence_s=2),
        ]
        seen["exec"] = await s.exec_("Playback", "beep")
        with pytest.raises(AgiCommandError):
            await s.exec_("NoSuchApplication", "foo")
        seen["raw"] = [await s.command("FOO BAR BAZ"), await s.command("GET DATA")]
        assert not s.hung_up
        await s.hangup()
        assert s.hung_up
        await s.noop("after-hangup")
        seen["after"] = await s.get_variable("HOTLINE_RESULT")
        with pytest.raises(AgiDeadChannel):
            await s.stream_file("beep")

    async with serving(handler) as server:
        report = await replay(inline(HOTLINE), "127.0.0.1", server.port)
    assert report.mismatches == [] and report.ok
    assert report.close_delay_s is not None and report.close_delay_s < 0.5
    assert seen["env"] == ("hotline", (("lang", "en"),), ("first arg", "second-arg"), "400")
    assert seen["status"] is ChannelState.UP
    assert (seen["var"], seen["unset"]) == ("started ok", None)
    assert seen["full"] == "Local/agi@caller-00000000;1||"
    assert seen["plays"] == [
        PlaybackResult(None, 11234),
        PlaybackResult("2", 9760),
        PlaybackResult("1", 22880),
        PlaybackResult(None, 0, failed=True),
    ]
    assert seen["data"] == [DigitsResult("1234"), DigitsResult("56"), DigitsResult("", True)]
    assert seen["waits"] == ["7", None]
    assert seen["say"] == [None, "9"]
    recs = seen["rec"]
    assert isinstance(recs, list)
    assert (recs[0].end, recs[0].digit, recs[0].endpos) == (RecordEnd.DTMF, "#", 20866)
    assert recs[1].end is RecordEnd.TIMEOUT
    assert seen["exec"] == 0
    raw = seen["raw"]
    assert isinstance(raw, list)
    assert isinstance(raw[0], InvalidCommand) and isinstance(raw[1], UsageError)
    assert seen["after"] == "done"


async def test_caller_hangs_up_during_playback() -> None:
    # hangup-test-1: STREAM FILE ends -1, then HANGUP before the 511 of the next command.
    exchanges = [
        (b"ANSWER\n", b"200 result=0\n"),
        (b'STREAM FILE tt-monkeys ""\n', b"200 result=-1 endpos=32160\n"),
        (
            b"WAIT FOR DIGIT 2000\n",
            b"HANGUP\n511 Command Not Permitted on a dead channel or intercept routine\n",
        ),
        (b"GET VARIABLE CHANNEL(state)\n", b"200 result=1 (Up)\n"),
    ]
    outcome: dict[str, object] = {}

    async def handler(s: AgiSession) -> None:
        await s.answer()
        outcome["play"] = await s.stream_file("tt-monkeys")
        try:
            await s.wait_for_digit(2000)
        except AgiDeadChannel:
            outcome["dead"] = s.hung_up
        outcome["state"] = await s.get_variable("CHANNEL(state)")

    async with serving(handler) as server:
        report = await replay(inline(exchanges), "127.0.0.1", server.port)
    assert report.ok, report.mismatches
    assert outcome == {
        "play": PlaybackResult(None, 32160, failed=True),
        "dead": True,
        "state": "Up",
    }


async def test_idle_hangup_closes_promptly_even_if_the_handler_lingers() -> None:
    # idle-hangup-1: HANGUP arrives while the application sends nothing.
    exchanges = [(b"ANSWER\n", b"200 result=0\nHANGUP\n")]
    cancelled = asyncio.Event()

    async def handler(s: AgiSession) -> None:
        await s.answer()
        try:
            await asyncio.sleep(30)  # a handler that forgets to look at hung_up
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with serving(handler) as server:
        report = await replay(inline(exchanges), "127.0.0.1", server.port)
        assert report.ok, report.mismatches
        assert report.close_delay_s is not None and report.close_delay_s < 1.0
        assert cancelled.is_set()


async def test_handler_that_watches_hung_up_closes_at_once() -> None:
    exchanges = [(b"ANSWER\n", b"200 result=0\nHANGUP\n")]

    async def handler(s: AgiSession) -> None:
        await s.answer()
        await s.wait_hung_up()

    async with serving(handler) as server:
        report = await replay(inline(exchanges), "127.0.0.1", server.port)
    assert report.ok and report.close_delay_s is not None and report.close_delay_s < 0.15


async def test_hand_off_sets_variables_and_finishes_without_hangup() -> None:
    exchanges = [
        (b"SET VARIABLE HOTLINE_QUEUE general\n", b"200 result=1\n"),
        (b'SET VARIABLE HOTLINE_CALLER "\\"x\\" y"\n', b"200 result=1\n"),
    ]

    async def handler(s: AgiSession) -> None:
        await s.set_variable("HOTLINE_QUEUE", "general")
        await s.set_variable("HOTLINE_CALLER", '"x" y')
        await s.finish()
        assert s.closed
        with pytest.raises(AgiConnectionLost):
            await s.noop()

    async with serving(handler) as server:
        report = await replay(inline(exchanges), "127.0.0.1", server.port)
    assert report.ok, report.mismatches


async def test_handler_error_ends_only_that_call(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    async def handler(s: AgiSession) -> None:
        nonlocal calls
        calls += 1
        await s.answer()
        if calls == 1:
            raise RuntimeError("bug in a flow")

    trace = inline([(b"ANSWER\n", b"200 result=0\n")])
    async with serving(handler) as server:
        first = await replay(trace, "127.0.0.1", server.port)
        second = await replay(trace, "127.0.0.1", server.port)
    assert first.ok and second.ok and calls == 2
    assert "bug in a flow" in caplog.text


async def test_unsafe_argument_is_refused_before_the_wire() -> None:
    async def handler(s: AgiSession) -> None:
        with pytest.raises(UnsafeArgument):
            await s.set_variable("X", 'a"\nEXEC System reboot')
        with pytest.raises(UnsafeArgument):
            await s.stream_file("beep", "12x")
        await s.answer()

    async with serving(handler) as server:
        report = await replay(inline([(b"ANSWER\n", b"200 result=0\n")]), "127.0.0.1", server.port)
    assert report.ok, report.mismatches


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with suppress(ConnectionError):
        await writer.wait_closed()


async def test_command_timeout_closes_the_session() -> None:
    errors: list[BaseException] = []

    async def handler(s: AgiSession) -> None:
        try:
            await s.command("ANSWER", timeout=0.1)
        except AgiTimeout as exc:
            errors.append(exc)

    async with serving(handler) as server:
        reader, writer = await _connect(server.port)
        writer.write(ENV)
        assert await reader.readline() == b"ANSWER\n"  # and never answer it
        assert await asyncio.wait_for(reader.read(), 2.0) == b""  # closed by the server
        await _close(writer)
    assert len(errors) == 1


async def test_protocol_error_from_peer_closes_the_call() -> None:
    errors: list[BaseException] = []

    async def handler(s: AgiSession) -> None:
        try:
            await s.answer()
        except AgiConnectionLost as exc:
            errors.append(exc)

    async with serving(handler) as server:
        reader, writer = await _connect(server.port)
        writer.write(ENV)
        assert await reader.readline() == b"ANSWER\n"
        writer.write(b"garbage\n")
        assert await asyncio.wait_for(reader.read(), 2.0) == b""
        await _close(writer)
    assert len(errors) == 1


async def test_peer_without_environment_is_dropped() -> None:
    async def handler(s: AgiSession) -> None:  # pragma: no cover - never called
        raise AssertionError

    settings = AgiSettings(port=0, environment_timeout_s=0.1)
    async with serving(handler, settings) as server:
        reader, writer = await _connect(server.port)
        writer.write(b"agi_network: yes\n")
        assert await asyncio.wait_for(reader.read(), 2.0) == b""
        await _close(writer)


async def test_stop_cancels_calls_after_the_grace() -> None:
    started = asyncio.Event()

    async def handler(s: AgiSession) -> None:
        started.set()
        await asyncio.sleep(30)

    server = AgiServer(handler, FAST)
    await server.start()
    port = server.port
    reader, writer = await _connect(port)
    writer.write(ENV)
    await asyncio.wait_for(started.wait(), 2.0)
    assert server.active_calls == 1
    await asyncio.wait_for(server.stop(), 3.0)
    assert server.active_calls == 0
    assert await asyncio.wait_for(reader.read(), 2.0) == b""
    await _close(writer)
    with pytest.raises(OSError):
        await _connect(port)


def _recorded() -> list[AgiTrace]:
    return list(load_traces(TRACES).values()) if TRACES.is_dir() else []


@pytest.mark.parametrize("chunk", [None, 5])
async def test_recorded_sessions_replay_word_for_word(chunk: int | None) -> None:
    traces = _recorded()
    if not traces:
        pytest.skip("../shared/asterisk/traces/agi not present")
    for trace in traces:
        call = ScriptedCall(trace)
        async with serving(call) as server:
            report = await replay(trace, "127.0.0.1", server.port, chunk_size=chunk)
        assert report.ok, (trace.name, report.mismatches)
        assert len(call.replies) == len(trace.exchanges)
        # Closing is prompt: the handler ends and the socket closes at once.
        assert report.close_delay_s is not None and report.close_delay_s < 0.5, trace.name
    hotline = next(t for t in traces if t.name == "hotline-1")
    call = ScriptedCall(hotline)
    async with serving(call) as server:
        await replay(hotline, "127.0.0.1", server.port)
    assert call.replies[0] == Result("0")
    assert sum(isinstance(r, UsageError) for r in call.replies) == 3


async def test_commands_of_several_tasks_go_out_one_at_a_time() -> None:
    # Asterisk reads the next command only after answering one, through a buffered
    # reader: a second line sent early would wait there unseen. So the session never has
    # two commands on the wire; a task cancelled while waiting never sends its command.
    requested = asyncio.Event()
    outcomes: list[object] = []

    async def handler(s: AgiSession) -> None:
        first = asyncio.ensure_future(s.get_variable("A"))
        second = asyncio.ensure_future(s.get_variable("B"))
        third = asyncio.ensure_future(s.get_variable("C"))
        await asyncio.sleep(0)  # all three asked
        second.cancel()
        requested.set()
        outcomes.extend(await asyncio.gather(first, second, third, return_exceptions=True))

    async with serving(handler) as server:
        loop = asyncio.get_running_loop()
        peer = socket.create_connection(("127.0.0.1", server.port))
        peer.setblocking(False)
        try:
            await loop.sock_sendall(peer, ENV)
            assert await _line(loop, peer) == b"GET VARIABLE A\n"
            await requested.wait()
            with pytest.raises(BlockingIOError):  # loopback delivers at once: nothing more
                peer.recv(4096, socket.MSG_DONTWAIT)
            await loop.sock_sendall(peer, b"200 result=1 (a)\n")
            assert await _line(loop, peer) == b"GET VARIABLE C\n"
            await loop.sock_sendall(peer, b"200 result=1 (c)\n")
            assert await asyncio.wait_for(loop.sock_recv(peer, 4096), 2.0) == b""
        finally:
            peer.close()
    assert outcomes[0] == "a" and outcomes[2] == "c"
    assert isinstance(outcomes[1], asyncio.CancelledError)


async def _line(loop: asyncio.AbstractEventLoop, peer: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = await asyncio.wait_for(loop.sock_recv(peer, 1), 2.0)
        assert chunk, "closed"
        data += chunk
    return data


async def test_a_short_deadline_after_a_long_one_still_expires() -> None:
    # The session's one timer was set for the long media command; the quick command
    # after it must not wait for that.
    errors: list[BaseException] = []

    async def handler(s: AgiSession) -> None:
        await s.stream_file("welcome")  # media_timeout_s: 600 s
        try:
            await s.command("GET VARIABLE", "X", timeout=0.1)
        except AgiTimeout as exc:
            errors.append(exc)

    async with serving(handler) as server:
        reader, writer = await _connect(server.port)
        writer.write(ENV)
        assert await reader.readline() == b'STREAM FILE welcome ""\n'
        writer.write(b"200 result=0 endpos=11234\n")
        assert await reader.readline() == b"GET VARIABLE X\n"  # never answered
        assert await asyncio.wait_for(reader.read(), 5.0) == b""  # closed by the server
        await _close(writer)
    assert len(errors) == 1 and "GET VARIABLE" in str(errors[0])


async def test_a_long_command_outlives_an_earlier_short_deadline() -> None:
    # The other way round: the timer left from a quick command fires during a long one
    # and must only look again, not cut it.
    results: list[PlaybackResult] = []
    settings = AgiSettings(port=0, command_timeout_s=0.05, hangup_grace_s=0.2)

    async def handler(s: AgiSession) -> None:
        await s.answer()
        results.append(await s.stream_file("welcome"))

    async with serving(handler, settings) as server:
        reader, writer = await _connect(server.port)
        writer.write(ENV)
        assert await reader.readline() == b"ANSWER\n"
        writer.write(b"200 result=0\n")
        assert await reader.readline() == b'STREAM FILE welcome ""\n'
        await asyncio.sleep(0.2)  # the audio plays past the quick command's deadline
        writer.write(b"200 result=0 endpos=11234\n")
        assert await asyncio.wait_for(reader.read(), 2.0) == b""
        await _close(writer)
    assert results == [PlaybackResult(digit=None, endpos=11234)]
