"""The Asterisk bridge: ARI events in, kernel events out; kernel commands in, REST out.

    async with AriClient(config) as client:
        driver = AriDriver(client, AriDriverSettings(server="ast1"), clock=runtime.clock)
        link = runtime.attach("ari-ast1", driver)
        link.claim_endpoints(seat_endpoints_registered_on_ast1)
        async with AriEventStream(config, client) as stream:
            await driver.run(link, stream)      # until stopped (or taken over: raises)

One driver per Asterisk server; several attach to one runtime. A call's id is the
server's name and the channel id (``ast1:1795635897.12``), so two servers never collide;
seats are rung by the driver that claimed their endpoint.

The driver translates and never decides. What it keeps per call is only what the wire
needs: the channel, the playback of the current `Play`, the digits of the current
`CollectDigits`, the legs it dialled, the bridge. The REST requests of one call run in
order on the call's own lane (a task that exists only while requests are pending), so
`execute` returns at once and a slow call never delays another. Every resource gets a
client-generated id (`AriClient` retries a lost answer with the same id).

A call that ran its IVR under FastAGI comes in with ``StasisStart.args == ["handoff",
<call id>]`` (`hotline.telephony.agi.handoff`): no `CallArrived` is posted (the kernel
knows the call); in one synchronous block the driver claims the call in the runtime's
router and takes the ticket from the `HandOffs` it shares with the FastAGI driver, then
executes, in order, what the kernel asked for meanwhile. Until then every command for a
call with an open ticket goes to `HandOffs.defer`, not to the wire. A hand-off whose
ticket is gone (the caller hung up in between and the FastAGI side reported it) is hung
up: the kernel has closed that call.

Facts of the wire the translation relies on (``../shared/asterisk/README.md``):
a dialplan channel gets no ChannelDestroyed (1), our own DELETE is a soft hang-up request
(2); agent and supervisor legs are one-step originates: the phone rings with the POST,
the leg is answered and ready to bridge when its StasisStart comes (11), and an
unanswered or busy leg's outcome comes from ChannelDestroyed (cause 19 timeout, 17 busy;
9, 11); an unregistered or unknown endpoint is a synchronous 500 (10); a playback of an
unknown scheme never finishes, so every `Play` has its own timeout (5); a channel `play`
stops MOH for good, so MOH is started again after each announcement (7); snoop and
externalMedia channels join a bridge only after their own StasisStart (before it, 422;
4); a snoop whose channel hangs up only leaves its bridge and Stasis (12); nothing is
replayed after a reconnect, so the driver reconciles with `GET /channels` (13);
`startup_time` changing means every channel is gone (16).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Protocol

from hotline.runtime.centre_runtime import RuntimeClosed
from hotline.runtime.clock import TimerClock, TimerHandle
from hotline.telephony.agi.handoff import HandOff, HandOffs, parse_stasis_args
from hotline.telephony.ari.collect import Collected, DigitCollection
from hotline.telephony.ari.events import (
    ApplicationReplaced,
    AriEvent,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    StasisEnd,
    StasisStart,
)
from hotline.telephony.ari.models import Channel, ChannelState
from hotline.telephony.ari.rest import AriClient, AriError, new_id
from hotline.telephony.ari.stream import (
    ApplicationTakenOver,
    AsteriskRestarted,
    Connected,
    Disconnected,
    StreamItem,
)
from hotline.vocabulary import events as ev
from hotline.vocabulary.commands import (
    AddParty,
    Announce,
    Bridge,
    CollectDigits,
    Command,
    DialCitizen,
    DropSupervisor,
    Enqueue,
    Hangup,
    HoldCitizen,
    HoldWithMusic,
    JoinSupervisor,
    LeaveToParty,
    Play,
    Prompt,
    Recognize,
    Record,
    ReleaseAgent,
    RequestCallback,
    ResumeCitizen,
    RingSeat,
    SetVariable,
    StopRinging,
    Transfer,
)
from hotline.vocabulary.states import CallStage

log = logging.getLogger(__name__)

_WITHHELD = frozenset({"", "anonymous", "unknown", "restricted", "private", "withheld"})
_GONE = (400, 404, 409, 422)  # the channel, bridge or playback is gone or left Stasis
_HANGUP_REASONS = {"unknown-line": "unallocated", "busy": "busy", "congestion": "congestion"}
_SEAT_ARG = "seat"
_NOT_ON_THE_WIRE = (Enqueue, RequestCallback)  # hand-offs inside the kernel: nothing to do
_AGENT_ARG = "agent"
_PARTY_ARG = "party"
_CALLBACK_ARG = "callback"
_SUPERVISOR_ARG = "supervisor"


class ApplicationTakenOverError(RuntimeError):
    """Another client took the ARI application over; this driver stopped for good."""


class LinkPort(Protocol):
    """What the driver needs of its `DriverLink` (hotline.runtime.centre_runtime)."""

    async def post(self, event: ev.Event) -> None: ...

    def offer(self, event: ev.Event) -> bool: ...

    def claim_endpoint(self, endpoint: str) -> None: ...

    def claim_call(self, call_id: str) -> None: ...

    def release(self, call_id: str) -> None: ...


class SpeechPort(Protocol):
    """The speech bridge (`hotline.telephony.media.SpeechBridge`) as the driver uses it.

    `listen` answers the bridge's `Listening` enum; its `.value` is "speech" or
    "keys-only".
    """

    def listen(self, command: Recognize) -> Enum: ...

    def stop(self, call_id: str) -> None: ...


class MediaPort(Protocol):
    """Where the caller's audio goes for speech (`AudioSocketServer`): externalMedia
    AudioSocket towards `external_host`, identified by the UUID `expect` returns."""

    @property
    def external_host(self) -> str: ...

    def expect(self, call_id: str) -> str: ...

    def forget(self, call_id: str) -> None: ...


class SpokenPort(Protocol):
    """Sounds for prompts, rendering filled-in texts at run time
    (`hotline.telephony.spoken.SpokenPrompts`)."""

    async def sounds(self, prompts: Iterable[Prompt]) -> list[str]: ...


class KernelPort(Protocol):
    """What `restore` reads of a kernel rebuilt by `hotline.centre.restore.replay`."""

    def stage(self, call_id: str) -> CallStage | None: ...


class RouterPort(Protocol):
    def claim_call(self, name: str, call_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class TransferRoute:
    """How a `Transfer` destination is reached: `continue` into the dialplan at
    (context, extension, priority), or `redirect` to an endpoint (same technology)."""

    kind: str = "continue"  # "continue" | "redirect"
    context: str = "hotline-transfer"
    extension: str = ""  # "" = the destination itself
    priority: int = 1
    endpoint: str = ""


def default_prompt_media(prompt: Prompt) -> str:
    """A prompt's media URI: its audio (`sound:` added when it has no scheme), else the
    TTS-rendered file `sound:hotline/<language>/<id>` (rendered ahead by the prompt tool)."""
    audio = prompt.audio
    if audio:
        return audio if re.match(r"^[a-z]+:", audio) else f"sound:{audio}"
    return f"sound:hotline/{prompt.language}/{prompt.id}"


@dataclass(frozen=True, slots=True)
class AriDriverSettings:
    server: str = "ast1"  # qualifies call ids: "<server>:<channel id>"
    dial_template: str = "PJSIP/{number}@trunk"  # callbacks and three-way parties
    callback_caller_id: str = "12345"
    moh_class: str | None = None
    playback_timeout_s: float = 120.0  # a Play whose playback never finishes (fact 5)
    transfer_context: str = "hotline-transfer"
    transfers: Mapping[str, TransferRoute] = field(default_factory=dict)
    prompt_media: Callable[[Prompt], str] = default_prompt_media
    # Several servers: a phone registered on another Asterisk is rung from the call's
    # own server through the trunk to that one, so citizen and agent share one bridge.
    remote_seat_template: str = "PJSIP/{resource}@{server}"


# --- what the driver keeps ---------------------------------------------------------------


class _LegKind(Enum):
    AGENT = "agent"
    PARTY = "party"
    CALLBACK = "callback"  # the citizen of a callback, until they answer
    SUPERVISOR = "supervisor"
    SNOOP = "snoop"
    MEDIA = "media"


# Talking legs whose far-end hang-up request is their end (see `_on_hangup_request`).
_EARLY_GONE = frozenset({_LegKind.AGENT, _LegKind.PARTY, _LegKind.SUPERVISOR})


@dataclass(eq=False, slots=True)
class _Leg:
    kind: _LegKind
    channel_id: str
    call_id: str
    who: str  # agent, party, supervisor or request id
    endpoint: str = ""
    answered: bool = False
    in_stasis: bool = False
    stopped: bool = False  # we hung it up: its end is not news
    reported: bool = False  # its outcome went to the kernel
    gone: bool = False


@dataclass(eq=False, slots=True)
class _Play:
    playback_id: str
    interruptible: bool
    announce: bool  # an ACD announcement over hold (MOH comes back after it)
    timer: TimerHandle | None = None


@dataclass(eq=False, slots=True)
class _Supervisor:
    leg: _Leg
    mode: str
    snoop: _Leg | None
    bridge_id: str = ""


@dataclass(eq=False, slots=True)
class _Media:
    snoop: _Leg
    media: _Leg
    bridge_id: str
    joined: bool = False


class _Lane:
    """One call's REST requests, in order; a task runs only while some are pending."""

    __slots__ = ("ops", "task")

    def __init__(self) -> None:
        self.ops: deque[Callable[[], Awaitable[None]]] = deque()
        self.task: asyncio.Task[None] | None = None


@dataclass(eq=False, slots=True)
class _Call:
    call_id: str
    channel_id: str  # "" for a callback request whose citizen is not dialled yet
    caller: str = ""
    caller_name: str = ""
    lane: _Lane = field(default_factory=_Lane)
    answered: bool = False
    ended: bool = False  # the kernel knows it is over (reported, or our Hangup)
    play: _Play | None = None
    announcements: set[str] = field(default_factory=set)
    on_hold: bool = False  # queue music wanted between announcements
    collect: DigitCollection | None = None
    collect_timer: TimerHandle | None = None
    listening: Recognize | None = None
    listen_timer: TimerHandle | None = None  # our NoInput when no recogniser runs it
    speech: bool = False  # the speech bridge runs this listen
    recordings: int = 0
    recording: str | None = None
    bridge_id: str | None = None
    talking: bool = False
    held: bool = False
    agent: _Leg | None = None  # the agent in the conversation
    ringing: dict[str, _Leg] = field(default_factory=dict)  # agent id -> leg
    parties: dict[str, _Leg] = field(default_factory=dict)
    supervisors: dict[str, _Supervisor] = field(default_factory=dict)
    media: _Media | None = None
    adopt_rings: bool = False  # restored while ringing, its leg not found yet


@dataclass(slots=True)
class DriverStats:
    events: int = 0  # ARI events taken from the stream
    posted: int = 0  # kernel events posted
    dropped_after_stop: int = 0  # events with no runtime left to take them (stopping)
    commands: int = 0
    rest_errors: int = 0
    reconciled: int = 0  # calls or legs settled by a reconcile
    reconnects: int = 0
    unknown_channels: int = 0
    handoffs: int = 0  # calls taken over from FastAGI
    handoffs_lost: int = 0  # hand-offs that arrived after their ticket was given up


class AriDriver:
    """See the module docstring. `execute`/`flush` are the runtime's `Driver` protocol."""

    def __init__(
        self,
        client: AriClient,
        settings: AriDriverSettings | None = None,
        *,
        clock: TimerClock,
        speech: SpeechPort | None = None,
        media: MediaPort | None = None,
        handoffs: HandOffs | None = None,
        seat_server: Callable[[str], str | None] | None = None,
        spoken: SpokenPort | None = None,
    ) -> None:
        self.client = client
        self.spoken = spoken  # None: every prompt plays its pre-rendered file
        self.settings = settings or AriDriverSettings()
        self.clock = clock
        self.speech = speech
        self.media = media
        self.handoffs = handoffs  # shared with the FastAGI driver (calls handed over)
        # endpoint -> the server its phone is registered on (several servers; else None)
        self.seat_server = seat_server
        self.stats = DriverStats()
        self._prefix = self.settings.server + ":"
        self._link: LinkPort | None = None
        self._calls: dict[str, _Call] = {}
        self._by_channel: dict[str, _Call | _Leg] = {}
        self._playbacks: dict[str, _Call] = {}
        self._recordings: dict[str, _Call] = {}
        self._dials: dict[str, _Leg] = {}  # callback citizen legs by request id
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False

    # --- wiring -----------------------------------------------------------------------

    def call_id_of(self, channel_id: str) -> str:
        return self._prefix + channel_id

    def dial_string(self, endpoint: str) -> str:
        """What this server dials for a phone: the endpoint itself when the phone is
        registered here (or nobody knows where), else the trunk to its server."""
        where = self.seat_server(endpoint) if self.seat_server is not None else None
        if where is None or where == self.settings.server:
            return endpoint
        resource = endpoint.partition("/")[2] or endpoint
        return self.settings.remote_seat_template.format(resource=resource, server=where)

    def bind(self, link: LinkPort) -> None:
        self._link = link

    async def run(self, link: LinkPort, stream: Any) -> None:
        """Consume the supervised event stream until it ends.

        Raises `ApplicationTakenOverError` when another client took the application:
        the driver stops listening and acting, loudly (an operator must look).
        """
        self._link = link
        async for item in stream:
            await self.handle_item(item)
            if self._stopped:
                raise ApplicationTakenOverError(
                    f"ARI application of server {self.settings.server!r} was taken over"
                )

    async def handle_item(self, item: StreamItem) -> None:
        """One stream item (exposed for tests and for drivers fed by another stream)."""
        if isinstance(item, AriEvent):
            self.stats.events += 1
            self._on_event(item)
        elif isinstance(item, Connected):
            if item.attempt > 1:
                self.stats.reconnects += 1
                await self.reconcile()
        elif isinstance(item, AsteriskRestarted):
            self._settle_everything("asterisk-restarted")
        elif isinstance(item, ApplicationTakenOver):
            log.critical(
                "ARI application %r on %s taken over by another client: the driver stopped",
                item.application, self.settings.server,
            )
            self._stopped = True
        elif isinstance(item, Disconnected):
            log.warning("ARI events from %s interrupted (%s); calls go on",
                        self.settings.server, item.code)

    async def aclose(self) -> None:
        """Wait for the pending REST requests (bounded by the client's timeouts)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def idle(self) -> None:
        """Wait until no REST request is pending (tests, graceful stop)."""
        await self.aclose()

    @property
    def live_calls(self) -> int:
        return sum(1 for call in self._calls.values() if not call.ended)

    # --- posting ------------------------------------------------------------------------

    def _post(self, event: ev.Event) -> None:
        link = self._link
        if link is None:
            log.error("ARI driver not bound to a runtime; %r dropped", event)
            return
        try:
            if not link.offer(event):
                self._spawn(self._post_later(link, event))
        except RuntimeClosed:
            # Stopping: a timer of ours or a late event has nobody to tell; Asterisk's
            # view is reconciled at the next start (restore + reconcile).
            self.stats.dropped_after_stop += 1
            log.info("ARI driver: the centre is stopping; %s not posted", type(event).__name__)
            return
        self.stats.posted += 1

    async def _post_later(self, link: LinkPort, event: ev.Event) -> None:
        with contextlib.suppress(RuntimeClosed):
            await link.post(event)

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _now(self) -> float:
        return self.clock.now()

    # --- REST lanes ---------------------------------------------------------------------

    def _queue(self, call: _Call, op: Callable[[], Awaitable[None]]) -> None:
        lane = call.lane
        lane.ops.append(op)
        if lane.task is None:
            task = asyncio.get_running_loop().create_task(self._drain(lane))
            lane.task = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, lane: _Lane) -> None:
        try:
            while lane.ops:
                op = lane.ops.popleft()
                try:
                    await op()
                except AriError as exc:
                    self.stats.rest_errors += 1
                    if exc.status in _GONE:
                        log.debug("ARI request on a gone resource: %s", exc)
                    else:
                        log.warning("ARI request failed: %s", exc)
                except Exception:
                    self.stats.rest_errors += 1
                    log.exception("ARI driver operation failed")
        finally:
            lane.task = None

    # --- commands -----------------------------------------------------------------------

    def flush(self) -> None:
        """Requests start as soon as they are queued; nothing is held back."""

    def execute(self, command: Command) -> None:
        self.stats.commands += 1
        if self._stopped:
            log.error("ARI driver stopped (application taken over): %r not executed", command)
            return
        handoffs = self.handoffs
        if handoffs is not None and handoffs.defer(command):
            return  # the call is on its way from FastAGI: executed when it arrives
        handler = self._commands.get(type(command))
        if handler is None:
            if type(command) in _NOT_ON_THE_WIRE:
                return
            log.warning("the ARI driver does not execute %s", type(command).__name__)
            return
        handler(self, command)

    def _call(self, call_id: str) -> _Call | None:
        call = self._calls.get(call_id)
        if call is None or call.ended or not call.channel_id:
            return None
        return call

    def _ensure_answered(self, call: _Call) -> None:
        if call.answered:
            return
        call.answered = True
        channel = call.channel_id
        self._queue(call, lambda: self.client.answer(channel))

    def _do_play(self, command: Play) -> None:
        call = self._call(command.call_id)
        if call is None or not command.prompts:
            if call is not None:  # nothing to say is a finished playback
                self._post(ev.PlaybackFinished(command.call_id, self._now()))
            return
        self._ensure_answered(call)
        self._replace_play(call)
        self._start_playback(call, command.prompts, command.interruptible, announce=False)

    def _start_playback(
        self, call: _Call, prompts: Iterable[Prompt], interruptible: bool, *, announce: bool
    ) -> None:
        prompts = tuple(prompts)
        spoken = self.spoken
        media = [] if spoken is not None else [self.settings.prompt_media(p) for p in prompts]
        playback_id = new_id("pb")
        play = _Play(playback_id, interruptible, announce)
        self._playbacks[playback_id] = call
        if announce:
            call.announcements.add(playback_id)
        else:
            call.play = play
            play.timer = self.clock.call_later(
                self.settings.playback_timeout_s, lambda: self._play_timed_out(call, play)
            )
        channel = call.channel_id

        async def send() -> None:
            sounds = media
            if spoken is not None:
                # Filled-in texts ("您目前排在第3位") are spoken at run time; on the
                # call's lane, so the wait for a render delays this call only.
                sounds = await self._spoken_media(spoken, prompts)
                if not sounds:
                    self._playback_done(call, playback_id)  # nothing to say: it is over
                    return
            try:
                await self.client.play(channel, sounds, playback_id=playback_id)
            except AriError:
                self._playback_done(call, playback_id)
                raise

        self._queue(call, send)

    async def _spoken_media(self, spoken: SpokenPort, prompts: tuple[Prompt, ...]) -> list[str]:
        """Media URIs: a prompt's own audio as given, the rest through `spoken`."""
        out: list[str] = []
        for prompt in prompts:
            if prompt.audio:
                out.append(self.settings.prompt_media(prompt))
            else:
                out.extend(f"sound:{name}" for name in await spoken.sounds((prompt,)))
        return out

    def _replace_play(self, call: _Call) -> None:
        """A new Play supersedes the one still playing (its end is no longer news)."""
        old = call.play
        if old is None:
            return
        call.play = None
        if old.timer is not None:
            old.timer.cancel()
        self._stop_playback(call, old.playback_id)

    def _stop_playback(self, call: _Call, playback_id: str) -> None:
        async def stop() -> None:
            with contextlib.suppress(AriError):
                await self.client.stop_playback(playback_id)

        self._queue(call, stop)

    def _play_timed_out(self, call: _Call, play: _Play) -> None:
        if call.play is not play or call.ended:
            return
        log.warning("playback %s on %s never finished; reported as finished",
                    play.playback_id, call.call_id)
        self._stop_playback(call, play.playback_id)
        self._playback_done(call, play.playback_id)

    def _do_collect(self, command: CollectDigits) -> None:
        call = self._call(command.call_id)
        if call is None:
            return
        self._ensure_answered(call)
        self._end_listen(call)
        call.collect = DigitCollection(command)
        if call.play is None:
            self._arm_collect(call)

    def _arm_collect(self, call: _Call) -> None:
        collect = call.collect
        if collect is None:
            return
        collect.started = True
        if call.collect_timer is not None:
            call.collect_timer.cancel()
        call.collect_timer = self.clock.call_later(
            collect.next_timeout_s(), lambda: self._collect_timed_out(call, collect)
        )

    def _collect_timed_out(self, call: _Call, collect: DigitCollection) -> None:
        if call.collect is not collect or call.ended:
            return
        self._collected(call, collect.timed_out())

    def _collected(self, call: _Call, result: Collected) -> None:
        call.collect = None
        if call.collect_timer is not None:
            call.collect_timer.cancel()
            call.collect_timer = None
        at = self._now()
        if result.no_input:
            self._post(ev.NoInput(call.call_id, at))
        else:
            self._post(ev.DigitsReceived(call.call_id, result.digits, at))

    def _do_recognize(self, command: Recognize) -> None:
        call = self._call(command.call_id)
        if call is None:
            return
        self._ensure_answered(call)
        self._end_listen(call)
        call.collect = None
        call.listening = command
        speech = self.speech
        if speech is not None:
            outcome = speech.listen(command)
            call.speech = True  # the bridge posts NoInput even when it answered keys-only
            if outcome.value == "speech" and self.media is not None:
                self._open_media(call)
            return
        call.speech = False
        if call.play is None:
            self._arm_listen(call)

    def _arm_listen(self, call: _Call) -> None:
        command = call.listening
        if command is None or call.speech or call.listen_timer is not None:
            return
        call.listen_timer = self.clock.call_later(
            command.no_speech_timeout_s, lambda: self._listen_timed_out(call, command)
        )

    def _listen_timed_out(self, call: _Call, command: Recognize) -> None:
        if call.listening is not command or call.ended:
            return
        call.listening = None
        call.listen_timer = None
        self._post(ev.NoInput(call.call_id, self._now()))

    def _end_listen(self, call: _Call) -> None:
        if call.listening is None:
            return
        call.listening = None
        if call.listen_timer is not None:
            call.listen_timer.cancel()
            call.listen_timer = None
        if call.speech and self.speech is not None:
            self.speech.stop(call.call_id)
        call.speech = False

    def _open_media(self, call: _Call) -> None:
        """Snoop (spy=in: the caller, not our prompt) + externalMedia in one bridge."""
        media_port = self.media
        if media_port is None or call.media is not None:
            return
        snoop = _Leg(_LegKind.SNOOP, new_id("snoop"), call.call_id, "speech")
        media = _Leg(_LegKind.MEDIA, new_id("media"), call.call_id, "speech")
        bridge_id = new_id("speech")
        call.media = _Media(snoop, media, bridge_id)
        self._by_channel[snoop.channel_id] = snoop
        self._by_channel[media.channel_id] = media
        channel = call.channel_id
        data = media_port.expect(call.call_id)
        host = media_port.external_host

        async def open_path() -> None:
            await self.client.create_bridge(bridge_id=bridge_id, name=f"speech {call.call_id}")
            await self.client.snoop(channel, spy="in", snoop_id=snoop.channel_id,
                                    app_args=(_SUPERVISOR_ARG, call.call_id, "speech"))
            await self.client.external_media(
                external_host=host, encapsulation="audiosocket", transport="tcp",
                format="slin", channel_id=media.channel_id, data=data,
            )

        self._queue(call, open_path)

    def _media_in_stasis(self, leg: _Leg) -> None:
        call = self._calls.get(leg.call_id)
        if call is None or call.media is None or call.ended:
            return
        path = call.media
        if path.joined or not (path.snoop.in_stasis and path.media.in_stasis):
            return
        path.joined = True  # both entered Stasis: now they may join (fact 4, else 422)
        ids = [path.snoop.channel_id, path.media.channel_id]
        self._queue(call, lambda: self.client.add_channel(path.bridge_id, ids))

    def _do_record(self, command: Record) -> None:
        call = self._call(command.call_id)
        if call is None:
            return
        self._ensure_answered(call)
        call.recordings += 1
        name = f"hotline-{_safe(call.call_id)}-{call.recordings}"
        call.recording = name
        self._recordings[name] = call
        channel = call.channel_id

        async def record() -> None:
            try:
                await self.client.record(
                    channel, name, max_duration_seconds=max(1, math.ceil(command.max_duration_s)),
                    beep=command.beep, terminate_on="#", if_exists="overwrite",
                )
            except AriError:
                self._recording_over(name, None, failed=True)
                raise

        self._queue(call, record)

    def _do_hold(self, command: HoldWithMusic) -> None:
        call = self._call(command.call_id)
        if call is None:
            return
        self._ensure_answered(call)
        call.on_hold = True
        self._start_moh(call)

    def _start_moh(self, call: _Call) -> None:
        channel, moh_class = call.channel_id, self.settings.moh_class
        self._queue(call, lambda: self.client.start_moh(channel, moh_class=moh_class))

    def _do_announce(self, command: Announce) -> None:
        call = self._call(command.call_id)
        if call is None or not command.prompts:
            return
        self._ensure_answered(call)
        # A channel play stops MOH for good (fact 7): it is started again when it ends.
        self._start_playback(call, command.prompts, False, announce=True)

    def _do_ring(self, command: RingSeat) -> None:
        call = self._calls.get(command.call_id)
        if call is None:
            if command.call_id not in self._dials:
                return
            call = self._callback_call(command.call_id)
        leg = _Leg(_LegKind.AGENT, new_id("agent"), call.call_id, command.agent_id,
                   self.dial_string(command.endpoint))
        old = call.ringing.get(command.agent_id)
        if old is not None:
            self._hang_up_leg(call, old)
        call.ringing[command.agent_id] = leg
        self._by_channel[leg.channel_id] = leg
        self._originate_leg(call, leg, (_AGENT_ARG, call.call_id, command.agent_id),
                            max(1, math.ceil(command.timeout_s)),
                            _caller_id(call.caller, call.caller_name))

    def _originate_leg(self, call: _Call, leg: _Leg, app_args: tuple[str, ...], timeout: int,
                       caller_id: str | None) -> None:
        """Ring a seat's (or a supervisor's) phone with one `POST /channels` into the app.

        Why not `POST /channels/create` + `dial`: that is two round-trips before the
        phone rings, and `dial` is only valid once the leg's StasisStart (state Down) has
        arrived (fact 9): dialled at once it answers 409 under load. The one-step
        originate rings with the first request, which is what the hand-off from a freed
        agent to the next caller waits for. Its events (fact 11): Dial and
        ChannelStateChange first, then StasisStart in state Up when the phone answered,
        so the StasisStart is the answer and the leg can be bridged at once (a channel
        not in Stasis would be 422); busy ends with ChannelDestroyed 17/486, no answer
        with ChannelDestroyed 19/480 and no StasisStart; an unregistered or unknown
        endpoint is a 500 at once (fact 10).
        """

        async def ring() -> None:
            if leg.stopped:
                # Stopped before its turn on the lane (a hand-off replaying a ring and its
                # stop): never ring it; the DELETE queued behind finds nothing.
                leg.gone = True
                self._by_channel.pop(leg.channel_id, None)
                return
            try:
                await self.client.originate(
                    leg.endpoint, channel_id=leg.channel_id, app_args=app_args,
                    timeout=timeout, caller_id=caller_id,
                )
            except AriError as exc:
                self._leg_failed(leg, "unreachable" if exc.status == 500 else "failed")
                raise

        self._queue(call, ring)

    def _callback_call(self, request_id: str) -> _Call:
        """A callback request's call object before its citizen is on the line."""
        call = _Call(request_id, "")
        self._calls[request_id] = call
        return call

    def _do_stop_ringing(self, command: StopRinging) -> None:
        call = self._calls.get(command.call_id)
        if call is None:
            return
        call.adopt_rings = False  # the kernel gave up the ring we could not see
        leg = call.ringing.pop(command.agent_id, None)
        if leg is not None:
            self._hang_up_leg(call, leg)
        self._forget(call)

    def _hang_up_leg(self, call: _Call, leg: _Leg) -> None:
        if leg.stopped:
            return  # asked for already
        leg.stopped = True
        if leg.gone:
            return
        channel = leg.channel_id

        async def hang_up() -> None:
            with contextlib.suppress(AriError):
                await self.client.hangup(channel, reason="normal")

        self._queue(call, hang_up)

    def _do_bridge(self, command: Bridge) -> None:
        call = self._call(command.call_id)
        if call is None:
            return
        leg = call.ringing.pop(command.agent_id, None)
        if leg is None or leg.gone:
            log.warning("Bridge for %s: agent %s has no live leg", call.call_id,
                        command.agent_id)
            return
        call.agent = leg
        call.talking = True
        call.on_hold = False
        self._replace_play(call)
        for playback_id in list(call.announcements):
            self._stop_playback(call, playback_id)
        call.announcements.clear()
        bridge_id = call.bridge_id or new_id("call")
        call.bridge_id = bridge_id
        channel = call.channel_id

        async def connect() -> None:
            await self.client.create_bridge(bridge_id=bridge_id, name=call.call_id)
            with contextlib.suppress(AriError):
                await self.client.stop_moh(channel)
            await self.client.add_channel(bridge_id, [channel, leg.channel_id])

        self._queue(call, connect)

    def _do_dial_citizen(self, command: DialCitizen) -> None:
        request_id = command.request_id
        leg = _Leg(_LegKind.CALLBACK, new_id("cb"), request_id, request_id,
                   self.settings.dial_template.format(number=command.number))
        self._dials[request_id] = leg
        self._by_channel[leg.channel_id] = leg
        call = self._calls.get(request_id) or self._callback_call(request_id)
        call.caller = command.number
        timeout = max(1, math.ceil(command.timeout_s))
        caller_id = self.settings.callback_caller_id

        async def dial() -> None:
            try:
                await self.client.originate(
                    leg.endpoint, channel_id=leg.channel_id,
                    app_args=(_CALLBACK_ARG, request_id), timeout=timeout, caller_id=caller_id,
                )
            except AriError as exc:
                self._leg_failed(leg, "unreachable" if exc.status == 500 else "failed")
                raise

        self._queue(call, dial)

    def _do_transfer(self, command: Transfer) -> None:
        call = self._call(command.call_id)
        if call is None:
            return
        destination = command.destination
        route = self.settings.transfers.get(destination) or TransferRoute(
            context=self.settings.transfer_context
        )
        channel = call.channel_id
        self._replace_play(call)

        async def transfer() -> None:
            try:
                if route.kind == "redirect":
                    await self.client.redirect(channel, route.endpoint or destination)
                else:
                    await self.client.continue_in_dialplan(
                        channel, context=route.context,
                        extension=route.extension or destination, priority=route.priority,
                    )
            except AriError as exc:
                if not call.ended:
                    self._post(ev.TransferFailed(call.call_id, self._now(), f"ari-{exc.status}"))
                raise

        self._queue(call, transfer)

    def _do_hangup(self, command: Hangup) -> None:
        call = self._calls.get(command.call_id)
        if call is None or call.ended:
            return
        call.ended = True  # the kernel ended it: the hang-up that follows is not news
        reason = _HANGUP_REASONS.get(command.reason, "normal")
        self._tear_down(call)
        if not call.channel_id:
            return
        channel = call.channel_id

        async def hang_up() -> None:
            with contextlib.suppress(AriError):
                await self.client.hangup(channel, reason=reason)

        self._queue(call, hang_up)

    def _do_set_variable(self, command: SetVariable) -> None:
        call = self._call(command.call_id)
        if call is None:
            return
        channel = call.channel_id
        self._queue(call, lambda: self.client.set_variable(channel, command.name, command.value))

    # --- live-call actions ----------------------------------------------------------------

    def _do_hold_citizen(self, command: HoldCitizen) -> None:
        call = self._call(command.call_id)
        if call is None or call.bridge_id is None or call.held:
            return
        call.held = True
        bridge_id, channel, moh = call.bridge_id, call.channel_id, self.settings.moh_class

        async def hold() -> None:
            await self.client.remove_channel(bridge_id, channel)
            await self.client.start_moh(channel, moh_class=moh)

        self._queue(call, hold)

    def _do_resume_citizen(self, command: ResumeCitizen) -> None:
        call = self._call(command.call_id)
        if call is None or call.bridge_id is None or not call.held:
            return
        call.held = False
        bridge_id, channel = call.bridge_id, call.channel_id

        async def resume() -> None:
            await self.client.stop_moh(channel)
            await self.client.add_channel(bridge_id, channel)

        self._queue(call, resume)

    def _do_add_party(self, command: AddParty) -> None:
        call = self._call(command.call_id)
        if call is None:
            return
        endpoint = self.settings.dial_template.format(number=command.number)
        leg = _Leg(_LegKind.PARTY, new_id("party"), call.call_id, command.party_id, endpoint)
        call.parties[command.party_id] = leg
        self._by_channel[leg.channel_id] = leg
        caller_id = command.caller_id or call.caller

        async def dial() -> None:
            try:
                await self.client.originate(
                    endpoint, channel_id=leg.channel_id,
                    app_args=(_PARTY_ARG, call.call_id, command.party_id), timeout=30,
                    caller_id=caller_id or None,
                )
            except AriError as exc:
                self._leg_failed(leg, "unreachable" if exc.status == 500 else "failed")
                raise

        self._queue(call, dial)

    def _do_release_agent(self, command: ReleaseAgent) -> None:
        """A transfer: the agent's leg goes and the citizen leaves the conversation's
        bridge, alone in the application again, so the music and the next agent's ring
        that the kernel sends next work on a plain channel (a new bridge at `Bridge`)."""
        call = self._call(command.call_id)
        if call is None:
            return
        leg = call.agent
        if leg is None or leg.who != command.agent_id:
            log.warning("ReleaseAgent for %s: agent %s is not on it", call.call_id,
                        command.agent_id)
            return
        call.agent = None
        call.talking = False
        call.held = False
        self._hang_up_leg(call, leg)  # stopped: its ChannelDestroyed reports nothing
        bridge_id, call.bridge_id = call.bridge_id, None
        if bridge_id is not None:
            channel = call.channel_id

            async def leave() -> None:
                with contextlib.suppress(AriError):  # gone with the citizen already
                    await self.client.remove_channel(bridge_id, [channel])
                with contextlib.suppress(AriError):
                    await self.client.destroy_bridge(bridge_id)

            self._queue(call, leave)

    def _do_leave_to_party(self, command: LeaveToParty) -> None:
        call = self._call(command.call_id)
        if call is None or call.agent is None:
            return
        leg, call.agent = call.agent, None
        # The centre's part is over (the kernel ended the talk); the citizen's line and
        # the bridge stay with the department until one of them hangs up.
        call.ended = True
        self._hang_up_leg(call, leg)

    def _do_join_supervisor(self, command: JoinSupervisor) -> None:
        call = self._call(command.call_id)
        if call is None or call.agent is None or command.supervisor_id in call.supervisors:
            return
        leg = _Leg(_LegKind.SUPERVISOR, new_id("sup"), call.call_id, command.supervisor_id,
                   self.dial_string(command.endpoint))
        snoop: _Leg | None = None
        if command.mode != "barge":
            snoop = _Leg(_LegKind.SNOOP, new_id("snoop"), call.call_id, command.supervisor_id)
            self._by_channel[snoop.channel_id] = snoop
        supervisor = _Supervisor(leg, command.mode, snoop)
        call.supervisors[command.supervisor_id] = supervisor
        self._by_channel[leg.channel_id] = leg
        self._originate_leg(call, leg, (_SUPERVISOR_ARG, call.call_id, command.supervisor_id),
                            30, None)

    def _supervisor_answered(self, call: _Call, supervisor: _Supervisor) -> None:
        agent = call.agent
        if agent is None or call.bridge_id is None:
            return
        leg, snoop = supervisor.leg, supervisor.snoop
        if snoop is None:  # barge: into the conversation itself
            bridge_id = call.bridge_id
            self._queue(call, lambda: self.client.add_channel(bridge_id, leg.channel_id))
            return
        supervisor.bridge_id = new_id("sup")
        # Facts 12: spy=both hears the conversation; whisper=out speaks to the agent only.
        whisper = "out" if supervisor.mode == "whisper" else None
        agent_channel = agent.channel_id

        async def join() -> None:
            await self.client.create_bridge(bridge_id=supervisor.bridge_id,
                                            name=f"supervise {call.call_id}")
            await self.client.snoop(agent_channel, spy="both", whisper=whisper,
                                    snoop_id=snoop.channel_id,
                                    app_args=(_SUPERVISOR_ARG, call.call_id, leg.who))

        self._queue(call, join)

    def _snoop_in_stasis(self, call: _Call, snoop: _Leg) -> None:
        for supervisor in call.supervisors.values():
            if supervisor.snoop is snoop and supervisor.bridge_id:
                self._join(call, supervisor.bridge_id,
                           [snoop.channel_id, supervisor.leg.channel_id])
                return
        self._media_in_stasis(snoop)

    def _join(self, call: _Call, bridge_id: str, channel_ids: list[str]) -> None:
        self._queue(call, lambda: self.client.add_channel(bridge_id, channel_ids))

    def _do_drop_supervisor(self, command: DropSupervisor) -> None:
        call = self._calls.get(command.call_id)
        if call is None:
            return
        supervisor = call.supervisors.pop(command.supervisor_id, None)
        if supervisor is not None:
            self._drop_supervisor(call, supervisor)

    def _drop_supervisor(self, call: _Call, supervisor: _Supervisor) -> None:
        for leg in (supervisor.leg, supervisor.snoop):
            if leg is not None:
                self._hang_up_leg(call, leg)
        if supervisor.bridge_id:
            self._destroy_bridge(call, supervisor.bridge_id)

    def _destroy_bridge(self, call: _Call, bridge_id: str) -> None:
        async def destroy() -> None:
            with contextlib.suppress(AriError):
                await self.client.destroy_bridge(bridge_id)

        self._queue(call, destroy)

    _commands: ClassVar[dict[type[Any], Callable[[AriDriver, Any], None]]] = {
        Play: _do_play,
        CollectDigits: _do_collect,
        Recognize: _do_recognize,
        Record: _do_record,
        HoldWithMusic: _do_hold,
        ReleaseAgent: _do_release_agent,
        Announce: _do_announce,
        RingSeat: _do_ring,
        StopRinging: _do_stop_ringing,
        Bridge: _do_bridge,
        DialCitizen: _do_dial_citizen,
        Transfer: _do_transfer,
        Hangup: _do_hangup,
        SetVariable: _do_set_variable,
        HoldCitizen: _do_hold_citizen,
        ResumeCitizen: _do_resume_citizen,
        AddParty: _do_add_party,
        LeaveToParty: _do_leave_to_party,
        JoinSupervisor: _do_join_supervisor,
        DropSupervisor: _do_drop_supervisor,
    }

    # --- events -------------------------------------------------------------------------

    def _on_event(self, event: AriEvent) -> None:
        handler = self._events.get(type(event))
        if handler is not None:
            handler(self, event)

    def _on_stasis_start(self, event: StasisStart) -> None:
        channel = event.channel
        known = self._by_channel.get(channel.id)
        if isinstance(known, _Leg):
            known.in_stasis = True
            self._leg_in_stasis(known, channel)
            return
        if known is not None:
            return  # a citizen we already know (restored)
        handed_over = parse_stasis_args(event.args)
        if handed_over is not None:
            self._take_hand_off(handed_over, channel)
            return
        if event.args and event.args[0] in (_AGENT_ARG, _PARTY_ARG, _CALLBACK_ARG,
                                            _SUPERVISOR_ARG):
            self._unknown_leg(event.args, channel)  # a leg of ours from before a restart
            return
        if event.args and event.args[0] == _SEAT_ARG:
            log.info("a seat dialled the centre (%s): no feature codes here", channel.name)
            return
        line = event.args[0] if event.args else channel.dialplan.exten
        number = channel.caller.number
        caller = "" if number.strip().lower() in _WITHHELD else number
        call_id = self.call_id_of(channel.id)
        call = _Call(call_id, channel.id, caller, channel.caller.name,
                     answered=channel.state is ChannelState.UP)
        self._calls[call_id] = call
        self._by_channel[channel.id] = call
        self._post(ev.CallArrived(call_id, line, caller, self._now()))

    def _unknown_leg(self, args: tuple[str, ...], channel: Channel) -> None:
        """A leg we rang before our own restart answers now. A ringing one-step leg is
        not in Stasis, so `restore` could not find it (its dialplan is not ours yet): a
        restored ringing call adopts its agent's leg here; any other leg is answered for
        nothing and is hung up rather than left in silence."""
        self.stats.unknown_channels += 1
        call = self._calls.get(args[1]) if len(args) >= 3 and args[0] == _AGENT_ARG else None
        if call is not None and call.adopt_rings and not call.ended and not call.ringing:
            call.adopt_rings = False
            leg = _Leg(_LegKind.AGENT, channel.id, call.call_id, args[2], in_stasis=True)
            call.ringing[leg.who] = leg
            self._by_channel[channel.id] = leg
            self._leg_up(channel.id)
            return
        log.warning("leg %s (%s) from before a restart answered; hanging up", channel.id,
                    ",".join(args))
        self._hang_up_orphan_channel(channel.id)

    def _take_hand_off(self, call_id: str, channel: Channel) -> None:
        """A call from the FastAGI IVR entered Stasis (no CallArrived: the kernel knows
        it). Claim, take and replay in one synchronous block, so no command of the call
        can slip between the ticket and the claim."""
        handoffs = self.handoffs
        handed: HandOff | None = None
        if (handoffs is not None and call_id not in self._calls
                and handoffs.is_pending(call_id)):
            if self._link is not None:
                self._link.claim_call(call_id)
            handed = handoffs.take(call_id)
        if handed is None:
            # Given up already (the FastAGI side reported the caller gone), unknown, or
            # taken twice: the kernel has no waiting caller here; do not leave one in
            # silence, and do not start the IVR again.
            self.stats.handoffs_lost += 1
            log.warning("hand-off of %s on %s has no open ticket; hanging up", call_id,
                        channel.name)
            self._hang_up_orphan_channel(channel.id)
            return
        self.stats.handoffs += 1
        ticket = handed.ticket
        call = _Call(call_id, channel.id, ticket.caller, channel.caller.name,
                     answered=channel.state is ChannelState.UP)
        self._calls[call_id] = call
        self._by_channel[channel.id] = call
        for command in handed.commands:
            self.execute(command)

    def _leg_in_stasis(self, leg: _Leg, channel: Channel) -> None:
        kind = leg.kind
        if kind in (_LegKind.AGENT, _LegKind.SUPERVISOR):
            self._leg_up(leg.channel_id)  # one-step originate: in Stasis = answered (11)
        elif kind is _LegKind.CALLBACK:
            # One-step originate: StasisStart comes when the citizen answered (fact 11).
            leg.answered = True
            leg.reported = True
            citizen = self._calls.get(leg.call_id) or self._callback_call(leg.call_id)
            citizen.channel_id = channel.id
            citizen.answered = True
            self._by_channel[channel.id] = citizen
            self._dials.pop(leg.call_id, None)
            self._post(ev.CallbackAnswered(leg.call_id, self._now()))
        elif kind is _LegKind.PARTY:
            leg.answered = True
            talking = self._calls.get(leg.call_id)
            # Joins while the citizen's line and bridge are up, also after the agent
            # left the citizen with the department (the call is over for the kernel).
            if talking is None or talking.bridge_id is None:
                self._hang_up_orphan(leg)
                return
            self._join(talking, talking.bridge_id, [leg.channel_id])
        elif kind is _LegKind.SNOOP:
            snooped = self._calls.get(leg.call_id)
            if snooped is not None:
                self._snoop_in_stasis(snooped, leg)
        elif kind is _LegKind.MEDIA:
            self._media_in_stasis(leg)

    def _hang_up_orphan(self, leg: _Leg) -> None:
        leg.stopped = True
        self._hang_up_orphan_channel(leg.channel_id)

    def _hang_up_orphan_channel(self, channel: str) -> None:
        async def hang_up() -> None:
            with contextlib.suppress(AriError):
                await self.client.hangup(channel)

        self._spawn(hang_up())

    def _leg_up(self, channel_id: str) -> None:
        leg = self._by_channel.get(channel_id)
        if not isinstance(leg, _Leg) or leg.answered or leg.stopped:
            return
        if leg.kind is _LegKind.AGENT:
            leg.answered = True
            leg.reported = True
            self._post(ev.SeatAnswered(leg.who, leg.call_id, self._now()))
        elif leg.kind is _LegKind.SUPERVISOR:
            leg.answered = True
            call = self._calls.get(leg.call_id)
            supervisor = call.supervisors.get(leg.who) if call is not None else None
            if call is not None and supervisor is not None and not call.ended:
                self._supervisor_answered(call, supervisor)

    def _on_dtmf(self, event: ChannelDtmfReceived) -> None:
        call = self._by_channel.get(event.channel.id)
        if not isinstance(call, _Call) or call.ended:
            return
        digit = event.digit
        collect = call.collect
        if collect is not None:
            self._barge_in(call)
            result = collect.press(digit)
            if result is not None:
                self._collected(call, result)
            else:
                self._arm_collect(call)
            return
        listening = call.listening
        if listening is not None:
            if not listening.also_digits:
                return
            self._end_listen(call)
            self._barge_in(call)
            self._post(ev.DigitsReceived(call.call_id, digit, self._now()))
            return
        if call.play is not None and call.play.interruptible:
            self._barge_in(call)
        self._post(ev.DigitsReceived(call.call_id, digit, self._now()))

    def _barge_in(self, call: _Call) -> None:
        """A key (or speech) stops an interruptible prompt; its end is not reported."""
        play = call.play
        if play is None or not play.interruptible:
            return
        self._replace_play(call)
        self._prompt_over(call)

    def _prompt_over(self, call: _Call) -> None:
        """The prompt before the input is over: the input's timers start now."""
        if call.collect is not None and not call.collect.started:
            self._arm_collect(call)
        self._arm_listen(call)

    def _on_playback_finished(self, event: PlaybackFinished) -> None:
        self._playback_done(self._playbacks.get(event.playback.id), event.playback.id)

    def _playback_done(self, call: _Call | None, playback_id: str) -> None:
        if call is None:
            return
        self._playbacks.pop(playback_id, None)
        if playback_id in call.announcements:
            call.announcements.discard(playback_id)
            if call.on_hold and not call.announcements and not call.ended:
                self._start_moh(call)  # fact 7: MOH does not come back by itself
            return
        play = call.play
        if play is None or play.playback_id != playback_id or call.ended:
            return
        call.play = None
        if play.timer is not None:
            play.timer.cancel()
        self._post(ev.PlaybackFinished(call.call_id, self._now()))
        self._prompt_over(call)

    def _on_recording_finished(self, event: RecordingFinished) -> None:
        self._recording_over(event.recording.name, event.recording.duration, failed=False)

    def _on_recording_failed(self, event: RecordingFailed) -> None:
        self._recording_over(event.recording.name, None, failed=True)

    def _recording_over(self, name: str, duration: int | None, *, failed: bool) -> None:
        call = self._recordings.pop(name, None)
        if call is None or call.recording != name:
            return
        call.recording = None
        self._forget(call)
        # A caller hanging up ends the recording `done` with the file kept (fact 17): the
        # message counts, even after the hang-up was reported.
        at = self._now()
        if failed:
            if not call.ended:
                self._post(ev.NoInput(call.call_id, at))
            return
        self._post(ev.RecordingFinished(call.call_id, at, name, float(duration or 0)))

    def _on_hangup_request(self, event: ChannelHangupRequest) -> None:
        if event.soft and event.cause == 32:
            return  # our own DELETE, or the create+dial ring timeout: ChannelDestroyed says
        found = self._by_channel.get(event.channel.id)
        if isinstance(found, _Call):
            self._citizen_gone(found)
        elif (isinstance(found, _Leg) and found.answered and not event.soft
              and found.kind in _EARLY_GONE):
            # The far end hung up (a BYE, or a Local channel's other half): Asterisk
            # queues the hang-up on our leg and says so at once; its ChannelDestroyed
            # comes only once the bridge has let go of it, milliseconds later under load.
            # The seat is free now, and the next caller rings that much sooner.
            self._leg_gone(found, event.cause)

    def _on_stasis_end(self, event: StasisEnd) -> None:
        found = self._by_channel.get(event.channel.id)
        if isinstance(found, _Call):
            self._citizen_gone(found)
        elif isinstance(found, _Leg) and found.kind in (_LegKind.SNOOP, _LegKind.MEDIA):
            self._leg_gone(found, None)  # snoops get no ChannelDestroyed (fact 12)

    def _on_destroyed(self, event: ChannelDestroyed) -> None:
        found = self._by_channel.get(event.channel.id)
        if isinstance(found, _Call):
            self._citizen_gone(found)
        elif isinstance(found, _Leg):
            self._leg_gone(found, event.cause)

    def _citizen_gone(self, call: _Call) -> None:
        self._by_channel.pop(call.channel_id, None)
        if call.ended:
            # Over for the kernel already; a department left with the citizen (three-way
            # after the agent left) goes with them.
            self._tear_down(call)
            self._forget(call)
            return
        call.ended = True
        at = self._now()
        self._tear_down(call)
        self._post(ev.CallerHungUp(call.call_id, at))
        self._forget(call)

    def _forget(self, call: _Call) -> None:
        """Drop an ended call once nothing of it can still report (a ringing leg waits
        for the kernel's StopRinging, a recording for its file)."""
        if not call.ended or call.ringing or call.recording is not None:
            return
        if self._calls.get(call.call_id) is call:
            del self._calls[call.call_id]
            if self._link is not None:
                self._link.release(call.call_id)

    def _tear_down(self, call: _Call) -> None:
        """The citizen's line is over: stop listening, drop what we dialled for it."""
        for timer in (call.collect_timer, call.listen_timer,
                      call.play.timer if call.play else None):
            if timer is not None:
                timer.cancel()
        call.collect = None
        call.collect_timer = None
        self._end_listen(call)
        call.play = None
        if call.media is not None:
            if self.media is not None:
                self.media.forget(call.call_id)
            for leg in (call.media.snoop, call.media.media):
                self._hang_up_leg(call, leg)
            self._destroy_bridge(call, call.media.bridge_id)
            call.media = None
        if call.agent is not None:
            self._hang_up_leg(call, call.agent)
        for supervisor in call.supervisors.values():
            self._drop_supervisor(call, supervisor)
        call.supervisors.clear()
        for party in call.parties.values():
            self._hang_up_leg(call, party)
        if call.bridge_id is not None:
            self._destroy_bridge(call, call.bridge_id)
            call.bridge_id = None
        # Ringing legs are the kernel's: its StopRinging follows the hang-up.

    def _leg_gone(self, leg: _Leg, cause: int | None) -> None:
        if leg.gone:
            return
        leg.gone = True
        self._by_channel.pop(leg.channel_id, None)
        call = self._calls.get(leg.call_id)
        kind = leg.kind
        at = self._now()
        if kind is _LegKind.AGENT:
            if call is not None and call.ringing.get(leg.who) is leg:
                del call.ringing[leg.who]
                self._forget(call)
            if leg.stopped:
                return
            if not leg.answered:
                self._post(ev.SeatNoAnswer(leg.who, leg.call_id, at, _ring_cause(cause)))
                return
            if call is not None and not call.ended:
                # The agent hung up the conversation: the centre's call is over; the
                # citizen's line goes too, unless parties stay with them (three-way).
                self._post(ev.CallEnded(call.call_id, at))
                call.agent = None
                if not any(not p.gone for p in call.parties.values()):
                    self._do_hangup(Hangup(call.call_id, "agent-hung-up"))
                else:
                    call.ended = True
        elif kind is _LegKind.CALLBACK:
            self._dials.pop(leg.call_id, None)
            if not leg.answered and not leg.reported:
                leg.reported = True
                self._post(ev.CallbackFailed(leg.call_id, at, _dial_cause(cause)))
        elif kind is _LegKind.PARTY:
            if call is not None:
                call.parties.pop(leg.who, None)
                if not call.ended:
                    self._post(ev.PartyLeft(call.call_id, leg.who, at,
                                            "hung-up" if leg.answered else _dial_cause(cause)))
                elif call.agent is None and not call.parties:
                    self._do_hangup_after_party(call)
        elif kind is _LegKind.SUPERVISOR and call is not None:
            supervisor = call.supervisors.pop(leg.who, None)
            if supervisor is not None:
                ours = leg.stopped  # dropping marks the leg stopped: decide before
                self._drop_supervisor(call, supervisor)
                if not call.ended and not ours:
                    self._post(ev.SupervisorLeaves(call.call_id, leg.who, at))

    def _do_hangup_after_party(self, call: _Call) -> None:
        """The citizen was left with a department that hung up: clear the citizen too."""
        if not call.channel_id:
            return
        channel = call.channel_id
        self._tear_down(call)

        async def hang_up() -> None:
            with contextlib.suppress(AriError):
                await self.client.hangup(channel)

        self._queue(call, hang_up)

    def _leg_failed(self, leg: _Leg, cause: str) -> None:
        """The leg could not even be created (500 Allocation failed, fact 10)."""
        if leg.gone:
            return
        leg.gone = True
        self._by_channel.pop(leg.channel_id, None)
        at = self._now()
        call = self._calls.get(leg.call_id)
        if leg.kind is _LegKind.AGENT:
            if call is not None and call.ringing.get(leg.who) is leg:
                del call.ringing[leg.who]
            if not leg.stopped:
                self._post(ev.SeatNoAnswer(leg.who, leg.call_id, at, cause))
        elif leg.kind is _LegKind.CALLBACK:
            self._dials.pop(leg.call_id, None)
            if not leg.reported:
                leg.reported = True
                self._post(ev.CallbackFailed(leg.call_id, at, cause))
        elif leg.kind is _LegKind.PARTY and call is not None:
            call.parties.pop(leg.who, None)
            if not call.ended:
                self._post(ev.PartyLeft(call.call_id, leg.who, at, cause))
        elif (
            leg.kind is _LegKind.SUPERVISOR and call is not None
            and call.supervisors.pop(leg.who, None) is not None and not call.ended
        ):
            self._post(ev.SupervisorLeaves(call.call_id, leg.who, at))

    _events: ClassVar[dict[type[Any], Callable[[AriDriver, Any], None]]] = {
        StasisStart: _on_stasis_start,
        StasisEnd: _on_stasis_end,
        ChannelDtmfReceived: _on_dtmf,
        ChannelHangupRequest: _on_hangup_request,
        ChannelDestroyed: _on_destroyed,
        PlaybackFinished: _on_playback_finished,
        RecordingFinished: _on_recording_finished,
        RecordingFailed: _on_recording_failed,
        ApplicationReplaced: lambda self, event: None,  # the stream stops and tells us
    }

    # --- speech bridge ------------------------------------------------------------------

    async def post_speech(self, outcome: ev.SpeechStarted | ev.SpeechRecognized | ev.NoInput
                          ) -> None:
        """The speech bridge's `post`: barge-in stops the prompt, then the event goes on."""
        call = self._calls.get(outcome.call_id)
        if call is not None and not call.ended:
            if isinstance(outcome, ev.SpeechStarted):
                self._barge_in(call)
            else:
                call.listening = None
                call.speech = False
        link = self._link
        if link is not None:
            self.stats.posted += 1
            await link.post(outcome)

    # --- faults -------------------------------------------------------------------------

    async def reconcile(self) -> int:
        """After a reconnect: settle what changed while no events came (fact 13).

        Calls and legs whose channels vanished are settled through events (exactly as
        their hang-up would have been); a playback or recording that ended unseen is
        reported; nothing is sent to Asterisk again. Returns how many were settled.
        """
        try:
            channels = {c.id: c for c in await self.client.list_channels()}
        except AriError as exc:
            log.error("reconcile with %s failed: %s", self.settings.server, exc)
            return 0
        settled = 0
        for call in list(self._calls.values()):
            if call.channel_id and not call.ended and call.channel_id not in channels:
                self._citizen_gone(call)
                settled += 1
        for found in list(self._by_channel.values()):
            if not isinstance(found, _Leg) or found.gone:
                continue
            channel = channels.get(found.channel_id)
            if channel is None:
                if found.kind is _LegKind.AGENT and not found.answered:
                    self._leg_gone(found, None)
                else:
                    self._leg_gone(found, 16)
                settled += 1
            elif (channel.state is ChannelState.UP and not found.in_stasis
                  and channel.dialplan.app_name == "Stasis"):
                # Answered and in the app while no events came (a one-step leg is Up
                # a moment before its StasisStart: only then can it be bridged).
                found.in_stasis = True
                self._leg_in_stasis(found, channel)
                settled += 1
        for call in list(self._calls.values()):
            if call.ended or call.play is None:
                continue
            playback_id = call.play.playback_id
            try:
                await self.client.get_playback(playback_id)
            except AriError as exc:
                if exc.status == 404:
                    self._playback_done(call, playback_id)
                    settled += 1
        for name in list(self._recordings):
            try:
                await self.client.get_live_recording(name)
            except AriError as exc:
                if exc.status == 404:
                    self._recording_over(name, None, failed=False)
                    settled += 1
        self.stats.reconciled += settled
        if settled:
            log.warning("reconcile with %s settled %d calls/legs", self.settings.server, settled)
        return settled

    def _settle_everything(self, why: str) -> None:
        """Asterisk restarted: every channel we knew is gone (fact 16)."""
        log.error("Asterisk %s restarted: settling %d calls", self.settings.server,
                  len(self._calls))
        for found in list(self._by_channel.values()):
            if isinstance(found, _Leg) and not found.gone:
                self._leg_gone(found, None if found.kind is _LegKind.AGENT else 16)
        for call in list(self._calls.values()):
            if not call.ended and call.channel_id:
                self._citizen_gone(call)
            else:
                self._calls.pop(call.call_id, None)
        self._playbacks.clear()
        self._recordings.clear()
        self.stats.reconciled += 1

    async def restore(
        self, kernel: KernelPort, live_calls: Iterable[str], router: RouterPort, name: str
    ) -> int:
        """Our own restart: take over the calls a replayed kernel still holds.

        `live_calls` are the kernel's live call ids (`live_call_ids(records)`), `router`
        and `name` the runtime's router and this driver's registered name (the calls are
        claimed for it). Waiting callers whose channels are up keep their place and get
        their music again; a talking call gets its bridge and agent back; a call whose
        channel is gone is settled with `CallerHungUp`; a call in the IVR gets `NoInput`
        so its flow asks again (what it was waiting for was lost with the process).
        Calls already known are skipped, so a second restore re-arms nothing.
        """
        try:
            channels = {c.id: c for c in await self.client.list_channels()}
            bridges = await self.client.list_bridges()
        except AriError as exc:
            log.error("restore from %s failed: %s", self.settings.server, exc)
            return 0
        bridge_of = {b.name: b for b in bridges if b.name}
        restored = 0
        for call_id in live_calls:
            if not call_id.startswith(self._prefix) or call_id in self._calls:
                continue
            stage = kernel.stage(call_id)
            if stage is None:
                continue
            channel_id = call_id.removeprefix(self._prefix)
            router.claim_call(name, call_id)
            channel = channels.get(channel_id)
            at = self._now()
            if channel is None:
                self._post(ev.CallerHungUp(call_id, at))
                restored += 1
                continue
            call = _Call(call_id, channel_id, channel.caller.number, channel.caller.name,
                         answered=channel.state is ChannelState.UP)
            self._calls[call_id] = call
            self._by_channel[channel_id] = call
            restored += 1
            if stage is CallStage.WAITING:
                call.on_hold = True
                self._start_moh(call)
            elif stage is CallStage.TALKING:
                self._adopt_bridge(call, bridge_of.get(call_id), channels)
            elif stage is CallStage.RINGING:
                self._adopt_ringing(call, channels)
                call.adopt_rings = not call.ringing  # still ringing: it may answer later
            elif stage is CallStage.IVR:
                self._post(ev.NoInput(call_id, at))
        return restored

    def _adopt_bridge(self, call: _Call, bridge: Any, channels: Mapping[str, Channel]) -> None:
        if bridge is None:
            return
        call.bridge_id = bridge.id
        call.talking = True
        for channel_id in bridge.channels:
            channel = channels.get(channel_id)
            if channel_id == call.channel_id or channel is None:
                continue
            args = channel.dialplan.app_data.split(",")
            if len(args) >= 4 and args[1] == _AGENT_ARG:
                leg = _Leg(_LegKind.AGENT, channel_id, call.call_id, args[3], answered=True,
                           in_stasis=True, reported=True)
                call.agent = leg
                self._by_channel[channel_id] = leg

    def _adopt_ringing(self, call: _Call, channels: Mapping[str, Channel]) -> None:
        for channel in channels.values():
            args = channel.dialplan.app_data.split(",")
            if len(args) >= 4 and args[1] == _AGENT_ARG and args[2] == call.call_id:
                leg = _Leg(_LegKind.AGENT, channel.id, call.call_id, args[3], in_stasis=True)
                call.ringing[args[3]] = leg
                self._by_channel[channel.id] = leg
                if channel.state is ChannelState.UP:
                    self._leg_up(channel.id)


def live_call_ids(records: Iterable[Any]) -> list[str]:
    """The calls a fact log leaves live: started and not finished (for `restore`)."""
    from hotline.vocabulary.facts import CallFinished, CallStarted

    live: dict[str, None] = {}
    for record in records:
        if isinstance(record, CallStarted):
            live[record.call_id] = None
        elif isinstance(record, CallFinished):
            live.pop(record.call_id, None)
    return list(live)


def _caller_id(number: str, name: str) -> str | None:
    """The citizen as the seat's phone shows them: `"name" <number>` (UTF-8 travels
    unescaped, fact 19); quotes and angle brackets in a name would break the form."""
    if not number:
        return None
    clean = re.sub(r'["<>]', "", name).strip()
    return f'"{clean}" <{number}>' if clean else number


def _safe(call_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", call_id)


def _ring_cause(cause: int | None) -> str:
    if cause == 17:
        return "busy"
    if cause == 19:
        return "timeout"
    if cause is None:
        return "lost"
    return "failed"


def _dial_cause(cause: int | None) -> str:
    if cause == 17:
        return "busy"
    if cause == 19:
        return "no-answer"
    if cause is None:
        return "lost"
    return "failed"


__all__ = [
    "ApplicationTakenOverError",
    "AriDriver",
    "AriDriverSettings",
    "DriverStats",
    "MediaPort",
    "SpeechPort",
    "TransferRoute",
    "default_prompt_media",
    "live_call_ids",
]
