"""The FastAGI driver: the kernel's IVR flows over `AgiSession`, as a runtime driver.

    handoffs = HandOffs()                                  # shared with the ARI driver
    driver = AgiDriver(now=runtime.clock.now, handoffs=handoffs)
    driver.bind(runtime.attach("agi", driver))
    async with AgiServer(driver.handle, AgiSettings(port=4573)):
        ...

Each FastAGI connection is one call. Its environment becomes `CallArrived` (call id =
`call_id_prefix` + `agi_uniqueid`, the channel's ARI id; line = `agi_arg_1`, else the
dialled extension; caller = `agi_callerid`, "" when unknown or withheld). The kernel's commands
for the call arrive in `execute` (synchronous, never blocking: they are queued) and one
task per call runs them in order on the wire:

- `Play`: `STREAM FILE <sound> <escape digits>` per prompt (every key when it is
  interruptible) -> `PlaybackFinished`, or the key as `DigitsReceived`.
- `Play` + `CollectDigits`: one `GET DATA sound&sound <timeout> <max>` when that means
  the same (one timeout, `#` ends), else the prompts and `WAIT FOR DIGIT` per key (first
  and inter-digit timeouts, any terminator) -> `DigitsReceived` / `NoInput`.
- `Recognize`: no audio reaches us over `agi://` (EAGI does not work there, trace fact
  7): keys only, like a one-key `CollectDigits`; without `also_digits` it waits the
  no-speech time and reports `NoInput` (the flow's no-input path).
- `Record`: `RECORD FILE <recordings>/<call>-<n> wav "#" <ms> 0 [BEEP] s=<silence>` ->
  `RecordingFinished` (name `<call>-<n>`, as ARI lists stored recordings).
- `Announce` (what the ACD says to a caller it has not queued, e.g. when a callback is
  booked): `STREAM FILE` per prompt, the callback key (if any) stops it ->
  `DigitsReceived`; nothing is reported when it ends, as over ARI.
- `SetVariable`: `SET VARIABLE HOTLINE_VAR_<name> <value>`.
- `Hangup`: `HANGUP`, socket closed.
- `Transfer`: `HOTLINE_ACTION=transfer`, `HOTLINE_TRANSFER=<destination>`; AGI ends and
  the generated dialplan dials -> `CallerHungUp` (the call has left the centre).
- `Enqueue`: the hand-off to ARI (`hotline.telephony.agi.handoff`).

Prompts play as the files `hotline prompts build` renders (`hotline/<language>/<id>`).
With a `SpokenPrompts` (`hotline.telephony.spoken`), a prompt whose text is not its
catalogue text (an announcement with the caller's position, minutes, a callback time)
plays its words rendered at run time instead (`hotline/tts/<language>/<digest>`).

A `HANGUP` from Asterisk, or the socket closing, is `CallerHungUp` at once and the
socket is closed (Asterisk keeps the channel until we close; trace fact 6).

Every argument goes through `commands.quote_argument` (quoted, or refused with
`UnsafeArgument`), and the values the driver builds itself are checked first: sound
names, variable names, call ids and transfer destinations are plain words, so no
caller-supplied or configured text can become a second command or a dialplan argument.
The driver decides nothing: the flow's choices are the kernel's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from hotline.ivr.render import SOUND_PREFIX, sound_name
from hotline.runtime.centre_runtime import DriverLink, RuntimeClosed
from hotline.telephony.agi.commands import DTMF_DIGITS, RecordEnd
from hotline.telephony.agi.errors import AgiError, UnsafeArgument
from hotline.telephony.agi.handoff import HandOffs, HandOffTicket, is_safe_call_id
from hotline.telephony.agi.server import AgiSession
from hotline.telephony.spoken import SpokenPrompts
from hotline.vocabulary.commands import (
    Announce,
    CollectDigits,
    Command,
    Enqueue,
    Hangup,
    Play,
    Prompt,
    Recognize,
    Record,
    RequestCallback,
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
    TransferFailed,
)

__all__ = ["AgiDriver", "AgiDriverSettings", "call_arrived_from"]

log = logging.getLogger(__name__)

T = TypeVar("T")
ALL_KEYS = "0123456789*#"
_LINE = re.compile(r"[0-9A-Za-z*#+_.-]{1,32}")
_CALLER = re.compile(r"\+?[0-9A-Za-z*#._-]{1,40}")
_VARIABLE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_DESTINATION = re.compile(r"[0-9A-Za-z*#+_-]{1,32}")
_WITHHELD = frozenset({"anonymous", "restricted", "private", "unavailable", "withheld"})
# Asterisk presentation: 0x20 = restricted, 0x40 = unavailable (the low bits: screening).
_PRES_NOT_ALLOWED = 0x60
_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_RECORD_RATE = 8000  # samples per second of a telephone recording (endpos is in samples)


@dataclass(frozen=True, slots=True)
class AgiDriverSettings:
    # Call ids are `<prefix><agi_uniqueid>`; give the ARI driver's prefix (`<server>:`) so
    # a handed-off call keeps the id the ARI driver would give its channel.
    call_id_prefix: str = ""
    sound_prefix: str = SOUND_PREFIX  # prompts play as `hotline/<language>/<id>`
    recordings_dir: str = "/var/spool/asterisk/recording"  # where ARI lists stored recordings
    recording_format: str = "wav"
    record_silence_s: int | None = 5  # a message ends after this much silence
    answer: bool = True  # ANSWER first (harmless when the dialplan answered)
    handoff_timeout_s: float = 5.0  # the channel must reach Stasis within this time
    # The kernel answers each event at once; a call left without commands this long is
    # not in the centre (its CallArrived was refused): hang up rather than leave silence.
    idle_timeout_s: float = 30.0


def _known(value: str | None) -> str:
    return "" if value is None else value.strip()


def call_arrived_from(session: AgiSession, call_id: str, at: float) -> CallArrived:
    """`CallArrived` from the environment block: line = first AGI() argument, else the
    dialled extension; caller = the caller id number, "" when unknown or withheld."""
    env = session.env
    line = _known(env.args[0] if env.args else None) or _known(env.extension)
    if _LINE.fullmatch(line) is None:
        log.warning("AGI call %s: line %r is not a number; treated as unknown", call_id, line)
        line = "unknown"
    caller = _known(env.caller_number)
    try:
        presentation = int(env.get("callingpres", "0") or "0")
    except ValueError:
        presentation = 0
    if (presentation & _PRES_NOT_ALLOWED) or caller.lower() in _WITHHELD:
        caller = ""
    elif caller and _CALLER.fullmatch(caller) is None:
        log.warning("AGI call %s: caller id is not a number; treated as withheld", call_id)
        caller = ""
    return CallArrived(call_id, line, caller, at)


@dataclass(slots=True)
class _Call:
    call_id: str
    session: AgiSession
    commands: deque[Command] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    handing_off: asyncio.Event | None = None  # set when the ARI side took the call
    arrived: bool = False  # CallArrived was posted
    arrived_event: CallArrived | None = None
    ended: bool = False  # a terminal command ran: the kernel knows how the call ended
    reported_hangup: bool = False
    recordings: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class _CallerGone(Exception):
    """The caller hung up (or the socket closed) while we talked to the channel."""


class AgiDriver:
    """Runs calls arriving over FastAGI; see the module docstring."""

    def __init__(
        self,
        *,
        now: Callable[[], float],
        handoffs: HandOffs | None = None,
        settings: AgiDriverSettings | None = None,
        spoken: SpokenPrompts | None = None,
    ) -> None:
        self._now = now
        self.handoffs = handoffs if handoffs is not None else HandOffs()
        self.settings = settings or AgiDriverSettings()
        if spoken is not None and spoken.settings.prefix != self.settings.sound_prefix:
            raise ValueError("the driver's sound_prefix and the spoken prompts' prefix differ")
        self.spoken = spoken  # run-time speech of filled-in prompts (None: files only)
        self._link: DriverLink | None = None
        self._calls: dict[str, _Call] = {}
        self._watchers: set[asyncio.Task[None]] = set()
        self.unexecuted: Counter[str] = Counter()  # commands FastAGI cannot carry out
        self._speech_warned = False

    def bind(self, link: DriverLink) -> None:
        self._link = link

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    # --- the runtime's side (synchronous, never blocks) -------------------------------

    def execute(self, command: Command) -> None:
        call_id = getattr(command, "call_id", None)
        call = self._calls.get(call_id) if isinstance(call_id, str) else None
        if call is None or call.ended:
            if not self.handoffs.defer(command):
                self.unexecuted[type(command).__name__] += 1
                log.info("AGI driver: no live call for %r", command)
            return
        if call.handing_off is not None:
            # The call is on its way to the ARI application: whatever the kernel wants
            # now (hold music, announcements, a ring) is done there.
            self.handoffs.defer(command)
            return
        if type(command) is Enqueue:
            assert isinstance(command, Enqueue)
            arrived = call.arrived_event
            ticket = HandOffTicket(
                call.call_id, arrived.line if arrived else "", arrived.caller if arrived else "",
                command.queue, call.session.env.channel, self._now(),
                command.priority, command.skills, command.tags,
            )
            call.handing_off = self.handoffs.open(ticket)
        call.commands.append(command)
        call.wake.set()

    def flush(self) -> None:
        """Nothing is batched: each call's task writes as soon as it is woken."""

    # --- the AGI server's side --------------------------------------------------------

    async def handle(self, session: AgiSession) -> None:
        """The `AgiHandler` for `AgiServer`: one call from environment to close."""
        if self._link is None:
            raise RuntimeError("AgiDriver.bind(link) was not called")
        call_id = self.settings.call_id_prefix + session.env.uniqueid
        if not is_safe_call_id(call_id) or call_id in self._calls:
            call_id = f"{self.settings.call_id_prefix}agi-{uuid.uuid4().hex}"
        call = _Call(call_id, session)
        self._calls[call_id] = call
        handed_off = False
        try:
            if self.settings.answer:
                await self._guard(call, session.answer())
            arrived = call_arrived_from(session, call_id, self._now())
            call.arrived_event = arrived
            log.info("AGI call %s on %s: line %s", call_id, session.env.channel, arrived.line)
            await self._post(arrived)
            call.arrived = True
            handed_off = await self._run(call)
        except _CallerGone:
            await self._caller_gone(call)
        except RuntimeClosed:
            log.warning("AGI call %s: the centre is stopping; hanging up", call_id)
            with contextlib.suppress(AgiError):
                await session.hangup()
        finally:
            del self._calls[call_id]
            if call.arrived and not call.ended and not call.reported_hangup:
                # Cancelled (server stop, grace expired): the kernel must still hear it.
                self._offer(CallerHungUp(call_id, self._now()))
            if not handed_off:
                self.handoffs.cancel(call_id)
                if self._link is not None:
                    self._link.release(call_id)
            if not session.closed:
                await session.finish()

    async def _run(self, call: _Call) -> bool:
        """Execute the call's commands until one ends it; True when ARI took it over."""
        session = call.session
        while True:
            if not call.commands:
                if not await self._idle(call):
                    return False
                continue
            command = call.commands.popleft()
            kind = type(command)
            if kind is Play:
                assert isinstance(command, Play)
                await self._play(call, command)
            elif kind is CollectDigits:
                assert isinstance(command, CollectDigits)
                await self._collect(call, command, "")
            elif kind is Recognize:
                assert isinstance(command, Recognize)
                await self._recognize(call, command)
            elif kind is Record:
                assert isinstance(command, Record)
                await self._record(call, command)
            elif kind is Announce:
                assert isinstance(command, Announce)
                await self._announce(call, command)
            elif kind is SetVariable:
                assert isinstance(command, SetVariable)
                await self._set_flow_variable(call, command)
            elif kind is Hangup:
                call.ended = True
                with contextlib.suppress(AgiError):
                    await session.hangup()
                return False
            elif kind is Transfer:
                assert isinstance(command, Transfer)
                if await self._transfer(call, command):
                    return False
            elif kind is Enqueue:
                assert isinstance(command, Enqueue)
                return await self._hand_off(call, command)
            elif kind is RequestCallback:
                continue  # the kernel follows it with the Hangup that ends the line
            else:
                self.unexecuted[kind.__name__] += 1
                log.warning("AGI call %s: %s cannot be carried out over FastAGI",
                            call.call_id, kind.__name__)

    async def _idle(self, call: _Call) -> bool:
        """Wait for the kernel's next command; False when the call is to end."""
        call.wake.clear()
        if call.commands:
            return True
        wake = asyncio.ensure_future(call.wake.wait())
        gone = asyncio.ensure_future(call.session.wait_hung_up())
        try:
            done, _ = await asyncio.wait({wake, gone}, timeout=self.settings.idle_timeout_s,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            wake.cancel()
            gone.cancel()
        if call.session.hung_up:
            raise _CallerGone
        if done:
            return True
        log.error("AGI call %s: no command from the centre in %.0f s; hanging up",
                  call.call_id, self.settings.idle_timeout_s)
        call.ended = True
        if call.arrived:
            await self._post(CallerHungUp(call.call_id, self._now()))
        call.reported_hangup = True
        with contextlib.suppress(AgiError):
            await call.session.hangup()
        return False

    # --- commands ---------------------------------------------------------------------

    async def _sounds(self, prompts: tuple[Prompt, ...], call_id: str) -> list[str]:
        if self.spoken is not None:
            return await self.spoken.sounds(prompts)
        sounds = []
        for prompt in prompts:
            try:
                sounds.append(sound_name(prompt.id, prompt.language, self.settings.sound_prefix))
            except ValueError as exc:
                log.warning("AGI call %s: prompt %r not played: %s", call_id, prompt.id, exc)
        return sounds

    async def _play(self, call: _Call, play: Play) -> None:
        follower = call.commands[0] if call.commands else None
        keys_wanted = _as_keys(follower)
        if isinstance(follower, Recognize):
            self._warn_speech()
        if play.interruptible and keys_wanted is not None and _fits_get_data(keys_wanted):
            call.commands.popleft()
            await self._get_data(call, keys_wanted, play.prompts)
            return
        # Keys stop a prompt only when keys are what comes next (or the prompt is alone).
        listens_for_speech_only = isinstance(follower, Recognize) and keys_wanted is None
        escape = ALL_KEYS if play.interruptible and not listens_for_speech_only else ""
        digit = await self._stream(call, play.prompts, escape)
        if digit is None:
            await self._post(PlaybackFinished(call.call_id, self._now()))
        elif keys_wanted is not None:
            call.commands.popleft()
            await self._continue_keys(call, follower, keys_wanted, digit)
        else:
            await self._post(DigitsReceived(call.call_id, digit, self._now()))

    async def _announce(self, call: _Call, announce: Announce) -> None:
        key = announce.callback_key
        escape = key if key is not None and len(key) == 1 and key in DTMF_DIGITS else ""
        digit = await self._stream(call, announce.prompts, escape)
        if digit is not None:
            await self._post(DigitsReceived(call.call_id, digit, self._now()))

    async def _stream(self, call: _Call, prompts: tuple[Prompt, ...], escape: str
                      ) -> str | None:
        """Play the prompts' sounds in turn; the key (one of `escape`) that stopped one."""
        for sound in await self._sounds(prompts, call.call_id):
            result = await self._guard(call, call.session.stream_file(sound, escape))
            if result.failed:
                log.warning("AGI call %s: sound %s did not play (missing file?)",
                            call.call_id, sound)
            if result.digit is not None:
                return result.digit
        return None

    async def _continue_keys(self, call: _Call, follower: Command | None, keys: CollectDigits,
                             first: str) -> None:
        if isinstance(follower, Recognize):
            await self._recognize(call, follower, first)
        else:
            await self._collect(call, keys, first)

    async def _get_data(self, call: _Call, keys: CollectDigits, prompts: tuple[Prompt, ...]
                        ) -> None:
        """Prompts and keys in one GET DATA: the prompts stop at the first key."""
        sounds = await self._sounds(prompts, call.call_id)
        if not sounds:
            await self._collect(call, keys, "")
            return
        timeout_ms = max(1, round(keys.first_timeout_s * 1000))
        result = await self._guard(
            call, call.session.get_data("&".join(sounds), timeout_ms, keys.max_digits))
        digits = result.digits
        if not digits and not result.timed_out and keys.terminator == "":
            digits = "#"  # GET DATA ends on `#`; without a terminator it is a key
        await self._report_keys(call, keys, digits)

    async def _collect(self, call: _Call, keys: CollectDigits, first: str) -> None:
        """Keys one by one with WAIT FOR DIGIT: first and inter-digit timeouts, any
        terminator (or none), `first` = a key that already stopped the prompt."""
        digits = ""
        key: str | None = first or None
        while True:
            if key is None:
                wait_s = keys.first_timeout_s if not digits else keys.inter_digit_timeout_s
                key = await self._guard(
                    call, call.session.wait_for_digit(max(1, round(wait_s * 1000))))
                if key is None:
                    break
            if keys.terminator and key == keys.terminator:
                break
            digits += key
            key = None
            if len(digits) >= keys.max_digits:
                break
        await self._report_keys(call, keys, digits)

    async def _report_keys(self, call: _Call, keys: CollectDigits, digits: str) -> None:
        del keys  # too few digits is the flow's to judge, not the driver's
        if digits:
            await self._post(DigitsReceived(call.call_id, digits, self._now()))
        else:
            await self._post(NoInput(call.call_id, self._now()))

    def _warn_speech(self) -> None:
        if not self._speech_warned:
            self._speech_warned = True
            log.warning("speech recognition is not available over FastAGI (no audio on "
                        "agi://): questions that listen for speech take keys only; run the "
                        "call over ARI for speech")

    async def _recognize(self, call: _Call, listen: Recognize, first: str = "") -> None:
        self._warn_speech()
        keys = _as_keys(listen)
        if keys is not None:
            await self._collect(call, keys, first)
            return
        # Free speech only: nothing can be heard here. Wait as long as the caller would
        # be listened to, then report silence (the flow's no-input path).
        gone = asyncio.ensure_future(call.session.wait_hung_up())
        try:
            await asyncio.wait({gone}, timeout=listen.no_speech_timeout_s)
        finally:
            gone.cancel()
        if call.session.hung_up:
            raise _CallerGone
        await self._post(NoInput(call.call_id, self._now()))

    async def _record(self, call: _Call, record: Record) -> None:
        name = f"{_FILE_UNSAFE.sub('-', call.call_id)}-{next(call.recordings)}"
        directory = self.settings.recordings_dir.rstrip("/")
        result = await self._guard(call, call.session.record_file(
            f"{directory}/{name}", self.settings.recording_format, "#",
            max(1000, round(record.max_duration_s * 1000)), beep=record.beep,
            silence_s=self.settings.record_silence_s,
        ), allow_hangup=True)
        if result.end is RecordEnd.ERROR:
            log.warning("AGI call %s: recording failed", call.call_id)
            await self._post(NoInput(call.call_id, self._now()))
        else:
            await self._post(RecordingFinished(call.call_id, self._now(), name,
                                               result.endpos / _RECORD_RATE))
        if result.end is RecordEnd.HANGUP or call.session.hung_up:
            raise _CallerGone

    async def _set_flow_variable(self, call: _Call, command: SetVariable) -> None:
        if _VARIABLE.fullmatch(command.name) is None:
            log.warning("AGI call %s: flow variable %r not set on the channel (not a plain "
                        "name)", call.call_id, command.name)
            return
        try:
            await self._guard(call, call.session.set_variable(
                f"HOTLINE_VAR_{command.name}", command.value))
        except UnsafeArgument as exc:
            log.warning("AGI call %s: flow variable %s not set on the channel: %s",
                        call.call_id, command.name, exc)

    async def _transfer(self, call: _Call, transfer: Transfer) -> bool:
        """Hand the call to the dialplan's transfer context; False if it cannot go."""
        if _DESTINATION.fullmatch(transfer.destination) is None:
            log.error("AGI call %s: transfer destination %r is not a dialplan extension",
                      call.call_id, transfer.destination)
            await self._post(TransferFailed(call.call_id, self._now(), "invalid destination"))
            return False
        session = call.session
        for name, value in (("HOTLINE_CALL_ID", call.call_id),
                            ("HOTLINE_TRANSFER", transfer.destination),
                            ("HOTLINE_ACTION", "transfer")):
            await self._guard(call, session.set_variable(name, value))
        call.ended = True
        # The call leaves the centre: this closes its record (outcome: transferred).
        await self._post(CallerHungUp(call.call_id, self._now()))
        call.reported_hangup = True
        await session.finish()
        return True

    async def _hand_off(self, call: _Call, enqueue: Enqueue) -> bool:
        taken = call.handing_off
        assert taken is not None
        session = call.session
        line = call.arrived_event.line if call.arrived_event else "unknown"
        variables = (
            ("HOTLINE_CALL_ID", call.call_id),
            ("HOTLINE_LINE", line),
            ("HOTLINE_QUEUE", enqueue.queue),
            ("HOTLINE_PRIORITY", str(int(enqueue.priority))),
            ("HOTLINE_SKILLS", ",".join(enqueue.skills)),
            ("HOTLINE_TAGS", ",".join(enqueue.tags)),
            ("HOTLINE_ACTION", "handoff"),
        )
        for name, value in variables:
            await self._guard(call, session.set_variable(name, value))
        call.ended = True
        await session.finish()
        # The AGI server ends this handler once the socket is closed; the deadline is
        # watched by a task of the driver's own.
        task = asyncio.get_running_loop().create_task(
            self._watch_hand_off(call.call_id, taken), name=f"agi-handoff-{call.call_id}")
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)
        return True

    async def _watch_hand_off(self, call_id: str, taken: asyncio.Event) -> None:
        if await _wait(taken, self.settings.handoff_timeout_s):
            log.info("AGI call %s handed to the ARI application", call_id)
            return
        dropped = self.handoffs.cancel(call_id)
        if taken.is_set():  # taken in the very moment the deadline passed
            return
        log.warning("AGI call %s did not reach the ARI application within %.1f s (caller "
                    "gone, or the Stasis app is not connected); %d command(s) dropped",
                    call_id, self.settings.handoff_timeout_s, len(dropped))
        self._offer(CallerHungUp(call_id, self._now()))
        if self._link is not None:
            self._link.release(call_id)

    async def aclose(self) -> None:
        """Stop watching hand-offs (on shutdown, after the AGI server stopped)."""
        for task in list(self._watchers):
            task.cancel()
        if self._watchers:
            await asyncio.wait(set(self._watchers))

    # --- plumbing -----------------------------------------------------------------------

    async def _guard(self, call: _Call, operation: Awaitable[T], *,
                     allow_hangup: bool = False) -> T:
        """Await one AGI command. The caller hanging up (HANGUP, 511, the socket
        closing) raises `_CallerGone`; with `allow_hangup` the result is returned first
        (a recording cut by the hang-up is still a message). Any other failure ends the
        call: hang up, report it gone."""
        session = call.session
        try:
            result = await operation
        except UnsafeArgument:
            raise
        except AgiError as exc:
            if session.hung_up or session.closed:
                raise _CallerGone from exc
            log.error("AGI call %s: %s; hanging up", call.call_id, exc)
            with contextlib.suppress(AgiError):
                await session.hangup()
            raise _CallerGone from exc
        if session.hung_up and not allow_hangup:
            raise _CallerGone
        return result

    async def _caller_gone(self, call: _Call) -> None:
        if call.reported_hangup or call.ended or not call.arrived:
            return
        call.reported_hangup = True
        log.info("AGI call %s: caller hung up", call.call_id)
        await self._post(CallerHungUp(call.call_id, self._now()))

    async def _post(self, event: Event) -> None:
        assert self._link is not None
        await self._link.post(event)

    def _offer(self, event: Event) -> None:
        if self._link is None:
            return
        try:
            if not self._link.offer(event):
                log.error("inbox full: %r lost", event)
        except RuntimeClosed:
            pass


def _as_keys(command: Command | None) -> CollectDigits | None:
    """What a listening command means over FastAGI: keys only."""
    if isinstance(command, CollectDigits):
        return command
    if isinstance(command, Recognize) and command.also_digits:
        timeout = command.no_speech_timeout_s
        return CollectDigits(command.call_id, 1, 1, "", timeout, timeout)
    return None


def _fits_get_data(keys: CollectDigits) -> bool:
    """GET DATA has one timeout (first and between keys) and always stops on `#`."""
    if keys.terminator not in ("#", ""):
        return False
    if keys.terminator == "" and keys.max_digits > 1:
        return False  # a `#` in the middle would end it and be lost
    if any(c not in DTMF_DIGITS for c in keys.terminator):
        return False
    return keys.max_digits == 1 or keys.first_timeout_s == keys.inter_digit_timeout_s


async def _wait(event: asyncio.Event, timeout_s: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout_s)
    except TimeoutError:
        return event.is_set()
    return True
