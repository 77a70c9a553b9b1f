"""The FastAGI driver over real loopback sockets: a scripted fake Asterisk (the FastAGI
client) sends the recorded environment block and answers each command with the shapes
recorded from Asterisk 20 (../shared/asterisk/traces/agi), while the driver runs the
kernel's commands from a real `CentreRuntime`."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import wave
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hotline.composition import build_kernel
from hotline.config.loader import load_centre
from hotline.ivr.files import SAMPLE_CONFIG, load_ivr_config
from hotline.ivr.render import RenderJob, RenderResult
from hotline.runtime.centre_runtime import CentreRuntime
from hotline.runtime.clock import RealClock
from hotline.telephony.agi import AgiServer, AgiSettings
from hotline.telephony.agi.commands import parse_args
from hotline.telephony.agi.driver import AgiDriver, AgiDriverSettings
from hotline.telephony.agi.handoff import HandOffs, parse_stasis_args, stasis_args
from hotline.telephony.spoken import SpokenPrompts, SpokenSettings, speech_digest
from hotline.vocabulary.commands import (
    Announce,
    CollectDigits,
    Command,
    Enqueue,
    Hangup,
    HoldWithMusic,
    Play,
    Prompt,
    Recognize,
    Record,
    SetVariable,
    Transfer,
)
from hotline.vocabulary.events import (
    CallArrived,
    CallerHungUp,
    DigitsReceived,
    Event,
    NoInput,
    PlaybackFinished,
    RecordingFinished,
)
from hotline.vocabulary.states import CallStage
from tests.telephony.agi.inline_traces import ENV_LINES

UNIQUEID = "1795636067.47"
FAST = AgiSettings(port=0, command_timeout_s=2.0, hangup_grace_s=0.3, stop_grace_s=0.5)
DRIVER = AgiDriverSettings(handoff_timeout_s=0.5, idle_timeout_s=3.0)


def environment(*, arg1: str | None = "12345", callerid: str = "13800000000",
                callingpres: str = "0") -> bytes:
    """The recorded environment block (sipenv-2), with the AGI() argument and caller id
    a hotline's dialplan and caller would give."""
    lines = []
    for raw in ENV_LINES:
        if raw.startswith(b"agi_arg_"):
            continue
        if raw.startswith(b"agi_callerid:"):
            raw = b"agi_callerid: " + callerid.encode() + b"\n"
        if raw.startswith(b"agi_callingpres:"):
            raw = b"agi_callingpres: " + callingpres.encode() + b"\n"
        if raw == b"\n" and arg1 is not None:
            lines.append(b"agi_arg_1: " + arg1.encode() + b"\n")
        lines.append(raw)
    return b"".join(lines)


Responder = Callable[[list[str]], bytes]


@dataclass
class Peer:
    """What the fake Asterisk saw: commands as Asterisk's parse_args reads them."""

    commands: list[list[str]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    closed_by_app: bool = False
    close_delay_s: float | None = None


def answers(*steps: tuple[str, bytes], default: Responder | None = None) -> Responder:
    """Reply to commands in order: each step is (command name prefix, reply bytes).
    Commands not matching the next step's prefix get `default` (or a plain 200)."""
    queue = list(steps)

    def respond(words: list[str]) -> bytes:
        line = " ".join(words)
        if queue and line.startswith(queue[0][0]):
            return queue.pop(0)[1]
        if default is not None:
            return default(words)
        return b"200 result=1\n" if words[:2] == ["SET", "VARIABLE"] else b"200 result=0\n"

    return respond


async def fake_asterisk(port: int, env: bytes, respond: Responder, *,
                        idle_s: float = 5.0) -> Peer:
    peer = Peer()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(env)
    await writer.drain()
    last = time.perf_counter()
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), idle_s)
            if not line:
                peer.closed_by_app = True
                peer.close_delay_s = time.perf_counter() - last
                break
            peer.raw.append(line)
            words = parse_args(line.decode("utf-8").rstrip("\n"))
            peer.commands.append(words)
            writer.write(respond(words))
            await writer.drain()
            last = time.perf_counter()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return peer


class ScriptKernel:
    """Returns the scripted commands for each event; remembers the events."""

    def __init__(self, script: Callable[[Event], list[Command]]) -> None:
        self.script = script
        self.seen: list[Event] = []

    def handle(self, event: Event) -> list[Command]:
        self.seen.append(event)
        return self.script(event)

    def take_facts(self) -> list[Any]:
        return []


@asynccontextmanager
async def centre(kernel: Any, handoffs: HandOffs | None = None,
                 spoken: SpokenPrompts | None = None,
                 ) -> AsyncIterator[tuple[CentreRuntime, AgiDriver, AgiServer]]:
    runtime = CentreRuntime(kernel, RealClock())
    driver = AgiDriver(now=runtime.clock.now, handoffs=handoffs, settings=DRIVER,
                       spoken=spoken)
    driver.bind(runtime.attach("agi", driver))
    server = AgiServer(driver.handle, FAST)
    async with runtime:
        async with server:
            yield runtime, driver, server
        await driver.aclose()
        await runtime.drain()


def prompt(pid: str, language: str = "zh") -> Prompt:
    return Prompt(pid, f"text of {pid}", language)


def first_call(kernel: ScriptKernel) -> str:
    arrived = [e for e in kernel.seen if isinstance(e, CallArrived)]
    assert len(arrived) == 1
    return arrived[0].call_id


# --- a whole call through the real kernel --------------------------------------------------


async def test_sample_call_from_environment_to_hand_off_into_stasis() -> None:
    kernel = build_kernel(load_centre(SAMPLE_CONFIG))
    handoffs = HandOffs()
    async with centre(kernel, handoffs) as (runtime, _driver, server):
        respond = answers(
            ("ANSWER", b"200 result=0\n"),
            # the greeting listens for shortcuts (speech over ARI; keys here): nothing
            ("GET DATA hotline/zh/greeting 1000 1", b"200 result= (timeout)\n"),
            ("STREAM FILE hotline/zh/transferring", b"200 result=0 endpos=24000\n"),
        )
        peer = await fake_asterisk(server.port, environment(), respond)
        # The ARI side: StasisStart(args=["handoff", id]) claims the call, takes the ticket.
        assert handoffs.is_pending(UNIQUEID)
        taken = handoffs.take(UNIQUEID)
        await runtime.drain()
    assert peer.closed_by_app and peer.close_delay_s is not None and peer.close_delay_s < 1.0
    sets = {c[2]: c[3] for c in peer.commands if c[:2] == ["SET", "VARIABLE"]}
    assert sets == {
        "HOTLINE_CALL_ID": UNIQUEID, "HOTLINE_LINE": "12345", "HOTLINE_QUEUE": "general",
        "HOTLINE_PRIORITY": "0", "HOTLINE_SKILLS": "general", "HOTLINE_TAGS": "",
        "HOTLINE_ACTION": "handoff",
    }
    assert peer.commands[-1] == ["SET", "VARIABLE", "HOTLINE_ACTION", "handoff"]
    assert taken is not None and taken.ticket.queue == "general"
    assert taken.ticket.caller == "13800000000" and taken.ticket.line == "12345"
    # Whatever the ACD asked for while the channel travelled waits for the ARI driver.
    assert any(isinstance(c, HoldWithMusic) for c in taken.commands)
    assert kernel.stage(UNIQUEID) is CallStage.WAITING  # not hung up: the caller waits
    assert parse_stasis_args(list(stasis_args(UNIQUEID))) == UNIQUEID


async def test_hand_off_nobody_takes_is_reported_as_hang_up() -> None:
    def script(event: Event) -> list[Command]:
        if isinstance(event, CallArrived):
            return [Enqueue(event.call_id, "general", 2, ("general",), ("epidemic",)),
                    HoldWithMusic(event.call_id, "general")]
        return []

    kernel = ScriptKernel(script)
    handoffs = HandOffs()
    async with centre(kernel, handoffs) as (runtime, driver, server):
        peer = await fake_asterisk(server.port, environment(), answers())
        await asyncio.sleep(DRIVER.handoff_timeout_s + 0.3)
        await runtime.drain()
        assert driver.active_calls == 0
    assert peer.closed_by_app
    assert ["SET", "VARIABLE", "HOTLINE_TAGS", "epidemic"] in peer.commands
    assert ["SET", "VARIABLE", "HOTLINE_PRIORITY", "2"] in peer.commands
    assert isinstance(kernel.seen[-1], CallerHungUp)
    assert not handoffs.is_pending(UNIQUEID) and runtime.router.owner(UNIQUEID) is None


# --- keys, timeouts --------------------------------------------------------------------------


def menu_then_hangup(collect: CollectDigits | Recognize, **play: Any
                     ) -> Callable[[Event], list[Command]]:
    def script(event: Event) -> list[Command]:
        if isinstance(event, CallArrived):
            return [Play(event.call_id, (prompt("menu"), prompt("menu2")), **play), collect]
        if isinstance(event, DigitsReceived | NoInput):
            return [Hangup(event.call_id)]
        return []
    return script


async def test_menu_keys_through_get_data_with_both_prompts() -> None:
    kernel = ScriptKernel(menu_then_hangup(CollectDigits(UNIQUEID, 1, 1, "", 4.0, 4.0)))
    async with centre(kernel) as (_, _, server):
        peer = await fake_asterisk(server.port, environment(), answers(
            ("GET DATA", b"200 result=2\n"), ("HANGUP", b"200 result=1\n")))
    assert ["GET", "DATA", "hotline/zh/menu&hotline/zh/menu2", "4000", "1"] in peer.commands
    assert next(e for e in kernel.seen if isinstance(e, DigitsReceived)).digits == "2"
    assert peer.commands[-1] == ["HANGUP"] and peer.closed_by_app


async def test_hash_is_a_menu_key_when_there_is_no_terminator() -> None:
    kernel = ScriptKernel(menu_then_hangup(CollectDigits(UNIQUEID, 1, 1, "", 4.0, 4.0)))
    async with centre(kernel) as (_, _, server):
        await fake_asterisk(server.port, environment(), answers(
            ("GET DATA", b"200 result=\n")))  # GET DATA ended on '#' with no digits
    assert next(e for e in kernel.seen if isinstance(e, DigitsReceived)).digits == "#"


async def test_collect_digits_with_inter_digit_timeout_uses_wait_for_digit() -> None:
    collect = CollectDigits(UNIQUEID, 1, 8, "#", 5.0, 3.0)
    kernel = ScriptKernel(menu_then_hangup(collect))
    async with centre(kernel) as (_, _, server):
        peer = await fake_asterisk(server.port, environment(), answers(
            ("STREAM FILE hotline/zh/menu", b"200 result=52 endpos=4000\n"),  # '4' barges in
            ("WAIT FOR DIGIT 3000", b"200 result=50\n"),  # '2'
            ("WAIT FOR DIGIT 3000", b"200 result=35\n"),  # '#' ends
        ))
    stream = [c for c in peer.commands if c[:2] == ["STREAM", "FILE"]]
    assert stream == [["STREAM", "FILE", "hotline/zh/menu", "0123456789*#"]]  # menu2 skipped
    assert [e.digits for e in kernel.seen if isinstance(e, DigitsReceived)] == ["42"]


async def test_no_input_after_the_timeout() -> None:
    collect = CollectDigits(UNIQUEID, 1, 8, "#", 5.0, 3.0)
    kernel = ScriptKernel(menu_then_hangup(collect))
    async with centre(kernel) as (_, _, server):
        peer = await fake_asterisk(server.port, environment(), answers(
            ("STREAM FILE", b"200 result=0 endpos=8000\n"),
            ("STREAM FILE", b"200 result=0 endpos=8000\n"),
            ("WAIT FOR DIGIT 5000", b"200 result=0\n"),
        ))
    kinds = [type(e) for e in kernel.seen]
    assert kinds == [CallArrived, PlaybackFinished, NoInput]
    assert peer.commands[-1] == ["HANGUP"]


async def test_recognize_falls_back_to_keys_and_free_speech_to_no_input(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listen = Recognize(UNIQUEID, "zh", ("企业",), 2.0, 10.0, 0.5, True)
    kernel = ScriptKernel(menu_then_hangup(listen))
    async with centre(kernel) as (_, _, server):
        peer = await fake_asterisk(server.port, environment(), answers(
            ("GET DATA", b"200 result=1\n")))
    assert ["GET", "DATA", "hotline/zh/menu&hotline/zh/menu2", "2000", "1"] in peer.commands
    assert [e.digits for e in kernel.seen if isinstance(e, DigitsReceived)] == ["1"]
    assert "not available over FastAGI" in caplog.text

    speech = Recognize(UNIQUEID, "zh", (), 0.2, 10.0, 0.5, False)
    kernel = ScriptKernel(menu_then_hangup(speech))
    async with centre(kernel) as (_, _, server):
        peer = await fake_asterisk(server.port, environment(), answers())
    # Not interruptible by keys (they would mean nothing), then silence is reported.
    assert ["STREAM", "FILE", "hotline/zh/menu", ""] in peer.commands
    assert [type(e) for e in kernel.seen][-1] is NoInput


async def test_play_alone_reports_a_key_and_not_the_end() -> None:
    def script(event: Event) -> list[Command]:
        if isinstance(event, CallArrived):
            return [Play(event.call_id, (prompt("news", "en"),))]
        return [Hangup(event.call_id)] if isinstance(event, DigitsReceived) else []

    kernel = ScriptKernel(script)
    async with centre(kernel) as (_, _, server):
        await fake_asterisk(server.port, environment(), answers(
            ("STREAM FILE hotline/en/news", b"200 result=57 endpos=1200\n")))
    assert [type(e) for e in kernel.seen] == [CallArrived, DigitsReceived]
    assert kernel.seen[1].digits == "9"  # type: ignore[union-attr]


# --- hang-ups ----------------------------------------------------------------------------------


async def test_hang_up_mid_prompt_is_reported_and_the_socket_closed_promptly() -> None:
    # As recorded (hangup-test-1): HANGUP arrives between STREAM FILE and its reply.
    kernel = ScriptKernel(menu_then_hangup(CollectDigits(UNIQUEID, 1, 8, "#", 5.0, 3.0)))
    async with centre(kernel) as (runtime, driver, server):
        peer = await fake_asterisk(server.port, environment(), answers(
            ("STREAM FILE", b"HANGUP\n200 result=-1 endpos=32160\n")))
        await runtime.drain()
        assert driver.active_calls == 0 and runtime.router.owner(UNIQUEID) is None
    assert peer.closed_by_app and peer.close_delay_s is not None and peer.close_delay_s < 0.5
    assert [type(e) for e in kernel.seen] == [CallArrived, CallerHungUp]
    assert len([c for c in peer.commands if c[:2] == ["STREAM", "FILE"]]) == 1


async def test_hang_up_reported_only_with_the_next_command() -> None:
    # STREAM FILE -1, then HANGUP + 511 on the next command (also hangup-test-1).
    kernel = ScriptKernel(menu_then_hangup(CollectDigits(UNIQUEID, 1, 8, "#", 5.0, 3.0)))
    async with centre(kernel) as (_, _, server):
        peer = await fake_asterisk(server.port, environment(), answers(
            ("STREAM FILE", b"200 result=-1 endpos=32160\n"),
            ("STREAM FILE", b"HANGUP\n511 Command Not Permitted on a dead channel or "
                            b"intercept routine\n")))
    assert peer.closed_by_app
    assert [type(e) for e in kernel.seen][-1] is CallerHungUp
    assert NoInput not in [type(e) for e in kernel.seen]


async def test_hang_up_while_idle() -> None:
    kernel = ScriptKernel(lambda event: [])  # the kernel has nothing to say for now
    async with centre(kernel) as (_, _, server):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(environment())
        assert await reader.readline() == b"ANSWER\n"
        writer.write(b"200 result=0\n")
        await asyncio.sleep(0.1)
        started = time.perf_counter()
        writer.write(b"HANGUP\n")
        assert await asyncio.wait_for(reader.read(), 2.0) == b""  # closed by the driver
        assert time.perf_counter() - started < 0.5
        writer.close()
    assert [type(e) for e in kernel.seen] == [CallArrived, CallerHungUp]


# --- record, transfer, variables, injection ---------------------------------------------------


async def test_record_then_transfer_to_the_dialplan() -> None:
    def script(event: Event) -> list[Command]:
        if isinstance(event, CallArrived):
            return [Record(event.call_id, 60.0, True)]
        if isinstance(event, RecordingFinished):
            return [Transfer(event.call_id, "12319")]
        return []

    kernel = ScriptKernel(script)
    async with centre(kernel) as (_, _, server):
        peer = await fake_asterisk(server.port, environment(), answers(
            ("RECORD FILE", b"200 result=35 (dtmf) endpos=20866\n")))
    assert ["RECORD", "FILE", f"/var/spool/asterisk/recording/{UNIQUEID}-1", "wav", "#",
            "60000", "0", "BEEP", "s=5"] in peer.commands
    finished = next(e for e in kernel.seen if isinstance(e, RecordingFinished))
    assert finished.recording == f"{UNIQUEID}-1" and finished.duration_s == pytest.approx(2.6,
                                                                                          abs=0.1)
    assert peer.commands[-2:] == [["SET", "VARIABLE", "HOTLINE_TRANSFER", "12319"],
                                  ["SET", "VARIABLE", "HOTLINE_ACTION", "transfer"]]
    assert isinstance(kernel.seen[-1], CallerHungUp) and peer.closed_by_app


@pytest.mark.parametrize("callerid, pres, expected", [
    ("13800000000", "0", "13800000000"),
    ("13800000000", "35", ""),  # presentation prohibited
    ("anonymous", "0", ""),
    ("unknown", "0", ""),
    ('1380" EXEC System "rm -rf', "0", ""),  # text that is not a number
])
async def test_caller_from_environment(callerid: str, pres: str, expected: str) -> None:
    kernel = ScriptKernel(lambda e: [Hangup(e.call_id)] if isinstance(e, CallArrived) else [])
    async with centre(kernel) as (_, _, server):
        await fake_asterisk(server.port, environment(callerid=callerid, callingpres=pres),
                            answers())
    arrived = kernel.seen[0]
    assert isinstance(arrived, CallArrived) and arrived.caller == expected


async def test_line_falls_back_to_the_extension() -> None:
    kernel = ScriptKernel(lambda e: [Hangup(e.call_id)] if isinstance(e, CallArrived) else [])
    async with centre(kernel) as (_, _, server):
        await fake_asterisk(server.port, environment(arg1=None), answers())
    assert isinstance(kernel.seen[0], CallArrived) and kernel.seen[0].line == "400"


async def test_caller_text_never_becomes_a_second_command() -> None:
    hostile = 'x" \nHANGUP\nEXEC System "touch /tmp/pwned'
    quoted = 'say "hi" \\ then; ${SHELL(id)}'

    def script(event: Event) -> list[Command]:
        if isinstance(event, CallArrived):
            return [SetVariable(event.call_id, "request_text", hostile),
                    SetVariable(event.call_id, "said", quoted),
                    SetVariable(event.call_id, "CALLERID(num)", "1"),
                    Transfer(event.call_id, "110\nEXEC System")]
        return [Hangup(event.call_id)]

    kernel = ScriptKernel(script)
    async with centre(kernel) as (_, _, server):
        peer = await fake_asterisk(server.port, environment(), answers())
    for raw in peer.raw:
        assert raw.count(b"\n") == 1
    assert ["SET", "VARIABLE", "HOTLINE_VAR_said", quoted] in peer.commands  # one argument
    assert not any("request_text" in " ".join(c) for c in peer.commands)  # newline: refused
    assert not any("CALLERID" in " ".join(c) for c in peer.commands)  # no function writes
    assert all(c[0] in {"ANSWER", "SET", "HANGUP"} for c in peer.commands)
    assert peer.commands[-1] == ["HANGUP"]  # the bad transfer failed; the script hung up


async def test_call_ids_carry_the_ari_drivers_prefix() -> None:
    def script(event: Event) -> list[Command]:
        if isinstance(event, CallArrived):
            return [Record(event.call_id, 5.0, False), Enqueue(event.call_id, "general")]
        return []

    kernel = ScriptKernel(script)
    handoffs = HandOffs()
    runtime = CentreRuntime(kernel, RealClock())
    settings = AgiDriverSettings(call_id_prefix="ast1:", handoff_timeout_s=2.0)
    driver = AgiDriver(now=runtime.clock.now, handoffs=handoffs, settings=settings)
    driver.bind(runtime.attach("agi", driver))
    async with runtime, AgiServer(driver.handle, FAST) as server:
        peer = await fake_asterisk(server.port, environment(), answers(
            ("RECORD FILE", b"200 result=0 (timeout) endpos=8000\n")))
        call_id = f"ast1:{UNIQUEID}"
        assert parse_stasis_args(["handoff", call_id]) == call_id
        assert handoffs.take(call_id) is not None
        await driver.aclose()
    assert ["SET", "VARIABLE", "HOTLINE_CALL_ID", call_id] in peer.commands
    assert f"/var/spool/asterisk/recording/ast1-{UNIQUEID}-1" in peer.commands[1]
    assert not any(isinstance(e, CallerHungUp) for e in kernel.seen)


# --- announcements with run-time words --------------------------------------------------------

TOOLS = shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def announce_then_hang_up(*prompts: Prompt, key: str | None = None
                          ) -> Callable[[Event], list[Command]]:
    def script(event: Event) -> list[Command]:
        if isinstance(event, CallArrived):
            return [Announce(event.call_id, 3, 100.0, prompts, key), Hangup(event.call_id)]
        return []
    return script


def spoken_prompts(sounds: Path, **renderer: Any) -> SpokenPrompts:
    catalogue = load_ivr_config(SAMPLE_CONFIG)[1]
    return SpokenPrompts.from_catalogue(catalogue, SpokenSettings(sounds), base=SAMPLE_CONFIG,
                                        **renderer)


PLACE = Prompt("queue.position", "您目前排在第3位，请耐心等待。", "zh")
WAIT = Prompt("queue.expected_wait", "预计等待约2分钟。", "zh")


@pytest.mark.skipif(not TOOLS, reason="espeak-ng and sox are not installed (make sysdeps)")
async def test_announce_with_a_position_plays_the_words_rendered(tmp_path: Path) -> None:
    kernel = ScriptKernel(announce_then_hang_up(PLACE, WAIT))
    async with centre(kernel, spoken=spoken_prompts(tmp_path)) as (_, _, server):
        peer = await fake_asterisk(server.port, environment(), answers(
            ("STREAM FILE", b"200 result=0 endpos=21760\n"),
            ("STREAM FILE", b"200 result=0 endpos=11200\n"),
            ("HANGUP", b"200 result=1\n")))
    names = [f"hotline/tts/zh/{speech_digest('zh', p.text)}" for p in (PLACE, WAIT)]
    assert [c for c in peer.commands if c[:2] == ["STREAM", "FILE"]] == [
        ["STREAM", "FILE", name, ""] for name in names]
    for name in names:  # where Asterisk looks for the sound
        with wave.open(str(tmp_path / f"{name}.wav")) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
    assert peer.commands[-1] == ["HANGUP"] and peer.closed_by_app
    assert [type(e) for e in kernel.seen] == [CallArrived]  # no PlaybackFinished, as on ARI


async def test_announce_falls_back_to_a_prebuilt_prompt_when_speech_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(job: RenderJob, out_dir: Path) -> RenderResult:
        return RenderResult(job, out_dir / job.relative, "espeak-ng is not installed")

    kernel = ScriptKernel(announce_then_hang_up(PLACE, WAIT))
    async with centre(kernel, spoken=spoken_prompts(tmp_path, renderer=broken)) as (
            _, _, server):
        peer = await fake_asterisk(server.port, environment(), answers(
            ("STREAM FILE", b"200 result=0 endpos=16000\n"), ("HANGUP", b"200 result=1\n")))
    # The caller is not left with silence: "all agents are busy, please hold".
    assert [c for c in peer.commands if c[:2] == ["STREAM", "FILE"]] == [
        ["STREAM", "FILE", "hotline/zh/queue.wait_unknown", ""]]
    assert "espeak-ng is not installed" in caplog.text
    assert peer.commands[-1] == ["HANGUP"]


async def test_the_callback_key_stops_an_announcement(tmp_path: Path) -> None:
    renders: list[RenderJob] = []

    async def counting(job: RenderJob, out_dir: Path) -> RenderResult:
        renders.append(job)
        return RenderResult(job, out_dir / job.relative, "not expected")

    busy = load_ivr_config(SAMPLE_CONFIG)[1].resolve("queue.wait_unknown", "zh")
    script = announce_then_hang_up(busy, busy, key="1")  # the key stops the first

    def kernel_script(event: Event) -> list[Command]:
        if isinstance(event, DigitsReceived):
            return [Hangup(event.call_id)]
        return script(event)[:1]  # the announcement only: the key decides

    kernel = ScriptKernel(kernel_script)
    async with centre(kernel, spoken=spoken_prompts(tmp_path, renderer=counting)) as (
            _, _, server):
        peer = await fake_asterisk(server.port, environment(), answers(
            ("STREAM FILE", b"200 result=49 endpos=4000\n"), ("HANGUP", b"200 result=1\n")))
    # A catalogue prompt plays its prebuilt file; the key 1 ends the announcement.
    assert [c for c in peer.commands if c[:2] == ["STREAM", "FILE"]] == [
        ["STREAM", "FILE", "hotline/zh/queue.wait_unknown", "1"]]
    assert [e.digits for e in kernel.seen if isinstance(e, DigitsReceived)] == ["1"]
    assert renders == []


def test_the_driver_and_the_spoken_prompts_agree_on_the_sound_prefix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="prefix"):
        AgiDriver(now=time.time, settings=AgiDriverSettings(sound_prefix="ivr"),
                  spoken=spoken_prompts(tmp_path))
