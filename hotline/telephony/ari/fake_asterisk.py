"""A fake Asterisk ARI server for tests (shipped as a test kit).

HTTP + websocket on 127.0.0.1, port 0, on plain asyncio streams with websockets'
sans-I/O protocol for `/ari/events`, so the fake can do what Asterisk does and a
framework would hide: drop TCP with no close frame (restart, 1006), keep a replaced
socket open but deaf, stop answering pings. It keeps a small model of channels,
bridges and playbacks, answers with the recorded status codes and bodies, and emits
events shaped like the traces in `../shared/asterisk/traces/ari`. With `spec` (the
swagger files) every request is validated; violations are answered 400 and collected
in `violations` so a test can assert the client spoke proper ARI.

Agent rings follow the `agentring` phase: the one-step originate sends Dial and
ChannelStateChange before StasisStart (state Up), busy ends with a Dial BUSY, no answer
with only ChannelDestroyed (fact 11); `POST /channels/create` gives StasisStart (state
Down) before `dial` (fact 9). `stasis_delay` holds back the StasisStart of the channels
the app makes with `create`, `snoop` and `externalMedia`, as a loaded Asterisk does: a
`dial` sent before it answers 409 `Channel not in Stasis application`, an `addChannel`
422.

    async with FakeAsterisk(spec=AriSpec.load(docs)) as fake:
        config = AriConfig(base_url=fake.base_url, app="hotline-test", ...)
        channel_id = fake.caller_enters(number="5551234")
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from websockets.frames import Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from hotline.telephony.ari.models import format_ari_time
from hotline.telephony.ari.swagger import AriSpec

Body = Any
Reply = tuple[int, Body]

_SCHEMES = ("sound:", "recording:", "number:", "digits:", "characters:", "tone:")
_CAUSE_TXT = {
    0: "Unknown",
    4: "",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    32: "",
}


class RingOutcome(enum.Enum):
    """What a (fake) agent phone does when dialled."""

    ANSWER = "answer"
    NO_ANSWER = "no_answer"  # rings until the dial timeout: 19/480
    BUSY = "busy"  # 486: 17/486
    UNREGISTERED = "unregistered"  # no contact: 500 Allocation failed


class Origin(enum.Enum):
    DIALPLAN = "dialplan"  # Stasis() in the dialplan: no ChannelDestroyed (fact 1)
    ORIGINATE = "originate"
    CREATE = "create"
    SNOOP = "snoop"
    MEDIA = "media"


class _NotInStasisError(Exception):
    pass


@dataclass
class _Channel:
    id: str
    name: str
    state: str
    origin: Origin
    caller: tuple[str, str] = ("", "")
    connected: tuple[str, str] = ("", "")
    dialplan: tuple[str, str, int, str, str] = ("default", "s", 1, "", "")
    protocol_id: str = ""
    created: str = ""
    in_stasis: bool = False
    bridge: str | None = None
    moh: bool = False
    endpoint: str | None = None
    snooped: str | None = None  # a snoop channel: the id of the channel it spies on
    args: tuple[str, ...] = ()
    variables: dict[str, str] = field(default_factory=dict)
    playbacks: list[str] = field(default_factory=list)  # current first, then queued
    timers: list[asyncio.TimerHandle] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        context, exten, priority, app_name, app_data = self.dialplan
        name, number = self.caller
        connected_name, connected_number = self.connected
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": self.protocol_id,
            "caller": {"name": name, "number": number},
            "connected": {"name": connected_name, "number": connected_number},
            "accountcode": "",
            "dialplan": {
                "context": context,
                "exten": exten,
                "priority": priority,
                "app_name": app_name,
                "app_data": app_data,
            },
            "creationtime": self.created,
            "language": "en",
        }


@dataclass
class _Bridge:
    id: str
    type: str
    name: str
    created: str
    channels: list[str] = field(default_factory=list)
    moh: bool = False

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "technology": "holding_bridge" if self.type == "holding" else "simple_bridge",
            "bridge_type": self.type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": list(self.channels),
            "creationtime": self.created,
            "video_mode": "talker",
        }


@dataclass
class _Playback:
    id: str
    media: list[str]
    target: str  # "channel:<id>" or "bridge:<id>"
    state: str = "queued"
    timer: asyncio.TimerHandle | None = None

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "media_uri": self.media[0],
            "target_uri": self.target,
            "language": "en",
            "state": self.state,
        }
        if len(self.media) > 1:
            body["next_media_uri"] = self.media[1]
        return body


@dataclass
class _Recording:
    name: str
    target: str
    format: str
    state: str = "queued"
    max_silence: bool = False
    started_at: float = 0.0

    def json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "format": self.format,
            "state": self.state,
            "target_uri": self.target,
        }


class _WsPeer:
    """One event websocket: sans-I/O protocol on a raw stream writer."""

    def __init__(self, protocol: ServerProtocol, writer: asyncio.StreamWriter) -> None:
        self.protocol = protocol
        self.writer = writer
        self.deaf = False  # replaced by a newer socket: open but gets nothing (fact 14)
        self.frozen = False  # stops answering pings and sending: a half-dead link
        self.closed = asyncio.Event()

    def flush(self) -> None:
        data = self.protocol.data_to_send()
        if self.frozen or self.writer.is_closing():
            return
        for chunk in data:
            if chunk:
                self.writer.write(chunk)

    def send_json(self, payload: Mapping[str, Any]) -> None:
        if self.frozen or self.writer.is_closing():
            return
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        self.protocol.send_text(text.encode())
        self.flush()

    def abort(self) -> None:
        """Drop TCP without a close frame, as a restarting Asterisk does (1006)."""
        transport = self.writer.transport
        transport.abort()
        self.closed.set()


class FakeAsterisk:
    """See module docstring. Times of the real world (ring timeouts, recording limits,
    sound lengths) are multiplied by `time_scale` so tests stay fast."""

    def __init__(
        self,
        *,
        app: str = "hotline-test",
        username: str = "hotline",
        password: str = "secret",
        spec: AriSpec | None = None,
        time_scale: float = 0.01,
        playback_seconds: float = 0.02,
        asterisk_id: str = "02:fc:00:00:00:01",
        stasis_delay: float = 0.0,
    ) -> None:
        self.app = app
        self.username = username
        self.password = password
        self.spec = spec
        self.time_scale = time_scale
        self.playback_seconds = playback_seconds
        self.asterisk_id = asterisk_id
        self.stasis_delay = stasis_delay  # seconds (real, not scaled)
        self.missing_sounds: set[str] = set()
        self.violations: list[str] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.sent_frames: list[dict[str, Any]] = []
        self.endpoints: dict[str, RingOutcome] = {}
        self.subscriptions: set[str] = set()
        self.device_states: dict[str, str] = {}
        self.stored_recordings: set[str] = set()
        self.fail_next_response = 0  # drop the connection after acting (lost answer)
        self._server: asyncio.Server | None = None
        self._peers: list[_WsPeer] = []
        self._active: _WsPeer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._connections = 0
        self._reset_world()

    # -- lifecycle ------------------------------------------------------------------

    def _reset_world(self) -> None:
        self.startup_time = self._now()
        self.channels: dict[str, _Channel] = {}
        self.bridges: dict[str, _Bridge] = {}
        self.playbacks: dict[str, _Playback] = {}
        self.recordings: dict[str, _Recording] = {}
        self._name_counter = 0
        self._uid_counter = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ari"

    async def aclose(self) -> None:
        for channel in self.channels.values():
            for timer in channel.timers:
                timer.cancel()
        for playback in self.playbacks.values():
            if playback.timer is not None:
                playback.timer.cancel()
        for peer in list(self._peers):
            peer.abort()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def __aenter__(self) -> FakeAsterisk:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- test hooks -----------------------------------------------------------------

    @property
    def websocket_count(self) -> int:
        return sum(1 for peer in self._peers if not peer.closed.is_set())

    async def wait_for_websocket(self, count: int = 1) -> None:
        """Wait until `count` event sockets have connected in total (active or not)."""
        while self._connections < count or self._active is None:
            await asyncio.sleep(0.002)

    def caller_enters(
        self,
        number: str = "5551234",
        name: str = "Citizen",
        *,
        args: tuple[str, ...] = ("inbound", "5551234"),
        endpoint: str = "pjcaller",
        context: str = "stasis-test",
        exten: str = "s",
        protocol_id: str | None = None,
        channel_id: str | None = None,
        state: str = "Ring",
    ) -> str:
        """A PJSIP caller reaches `Stasis(app,args)` in the dialplan: StasisStart.

        `channel_id` names the channel (its uniqueid, e.g. the one a FastAGI session
        reported before handing the call over); `state` is "Up" for a channel that was
        answered before (by the dialplan or an AGI script)."""
        channel = self._new_channel(
            f"PJSIP/{endpoint}",
            Origin.DIALPLAN,
            state=state,
            channel_id=channel_id,
            caller=(name, number),
            dialplan=(context, exten, 2, "Stasis", ",".join((self.app, *args))),
        )
        channel.protocol_id = protocol_id or f"{self._uid_counter}-17919@127.0.0.1"
        channel.args = args
        self._enter_stasis(channel)
        return channel.id

    def press(self, channel_id: str, digit: str, duration_ms: int = 120) -> None:
        channel = self.channels[channel_id]
        self._emit(
            "ChannelDtmfReceived", digit=digit, duration_ms=duration_ms, channel=channel.json()
        )

    def hang_up(self, channel_id: str, *, teardown_s: float = 0.0) -> None:
        """The far end sends BYE: ChannelHangupRequest without `soft`, StasisEnd.

        With `teardown_s`, the request comes at once and the rest (leaving the bridge,
        StasisEnd, ChannelDestroyed) that many seconds later, as from a loaded Asterisk
        whose bridge takes its time to let the channel go."""
        channel = self.channels[channel_id]
        if teardown_s <= 0:
            self._hangup(channel, cause=16, soft=False, destroy_cause=16)
            return
        self._emit("ChannelHangupRequest", cause=16, channel=channel.json())
        channel.timers.append(self._later(teardown_s, lambda: self._hangup(
            channel, cause=16, soft=False, destroy_cause=16, request=False)))

    def add_endpoint(self, resource: str, outcome: RingOutcome = RingOutcome.ANSWER) -> None:
        """Register an agent phone `PJSIP/<resource>` with what it does when dialled."""
        self.endpoints[resource] = outcome

    def pick_up(self, channel_id: str) -> None:
        """A ringing agent phone is answered now (whatever its endpoint would do)."""
        channel = self.channels[channel_id]
        for timer in channel.timers:
            timer.cancel()
        channel.timers.clear()
        one_step = channel.origin is Origin.ORIGINATE
        dialstring = (channel.endpoint or "").partition("/")[2]

        def dial(status: str) -> None:
            self._emit("Dial", dialstatus=status, forward="",
                       dialstring=dialstring if one_step else "", peer=channel.json())

        self._answered(channel, one_step, dial)

    def drop_websocket(self) -> None:
        """The network drops the active event socket (no close frame)."""
        if self._active is not None:
            self._active.abort()
            self._active = None

    def freeze_websocket(self) -> None:
        """The active socket goes half-dead: no pongs, no events, no FIN."""
        if self._active is not None:
            self._active.frozen = True

    def replace_application(self) -> None:
        """Another client takes the app over: ApplicationReplaced to ours (fact 14)."""
        if self._active is not None:
            self._replace(self._active)
            self._active = None

    def restart(self) -> None:
        """`core restart now` (fact 16): hang-up burst, TCP dropped, state reset."""
        for channel in list(self.channels.values()):
            if channel.in_stasis:
                self._emit("ChannelHangupRequest", cause=4, soft=True, channel=channel.json())
                self._emit("ChannelHangupRequest", cause=0, channel=channel.json())
                self._fail_playbacks(channel)
                self._emit("StasisEnd", channel=channel.json())
            for timer in channel.timers:
                timer.cancel()
        for playback in self.playbacks.values():
            if playback.timer is not None:
                playback.timer.cancel()
        for peer in list(self._peers):
            peer.abort()
        self._active = None
        self._reset_world()
        # A restart takes time; the new startup_time is always later than the old.
        self.startup_time = format_ari_time(datetime.now(UTC) + timedelta(seconds=1))

    # -- event emission -------------------------------------------------------------

    @staticmethod
    def _now() -> str:
        return format_ari_time(datetime.now(UTC))

    def _emit(self, kind: str, **fields: Any) -> None:
        payload: dict[str, Any] = {"type": kind, "timestamp": self._now()}
        payload.update(fields)
        payload["asterisk_id"] = self.asterisk_id
        payload["application"] = self.app
        self.sent_frames.append(payload)
        if self._active is not None:
            self._active.send_json(payload)

    def _later(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback)

    # -- model ----------------------------------------------------------------------

    def _new_channel(
        self,
        endpoint: str,
        origin: Origin,
        *,
        state: str = "Down",
        channel_id: str | None = None,
        caller: tuple[str, str] = ("", ""),
        dialplan: tuple[str, str, int, str, str] = ("default", "s", 1, "", ""),
    ) -> _Channel:
        self._name_counter += 1
        self._uid_counter += 1
        uid = channel_id or f"1795635897.{self._uid_counter}"
        name = f"{endpoint}-{self._name_counter:08x}"
        channel = _Channel(
            id=uid,
            name=name,
            state=state,
            origin=origin,
            caller=caller,
            dialplan=dialplan,
            created=self._now(),
            endpoint=endpoint,
        )
        self.channels[uid] = channel
        return channel

    def _enter_stasis(self, channel: _Channel) -> None:
        if self.channels.get(channel.id) is not channel:
            return  # hung up before it got there
        if self._active is None:
            # Fact 13: no websocket, the app is inactive; Asterisk hangs the call up.
            self._drop_channel(channel)
            return
        channel.in_stasis = True
        self._emit("StasisStart", args=list(channel.args), channel=channel.json())

    def _enter_stasis_later(self, channel: _Channel) -> None:
        """StasisStart of a channel the app made, after the REST answer (at once, or
        `stasis_delay` later)."""
        if self.stasis_delay > 0:
            channel.timers.append(self._later(self.stasis_delay,
                                              lambda: self._enter_stasis(channel)))
        else:
            asyncio.get_running_loop().call_soon(self._enter_stasis, channel)

    def _drop_channel(self, channel: _Channel) -> None:
        for timer in channel.timers:
            timer.cancel()
        self.channels.pop(channel.id, None)
        if channel.bridge and channel.bridge in self.bridges:
            with contextlib.suppress(ValueError):
                self.bridges[channel.bridge].channels.remove(channel.id)

    def _set_state(self, channel: _Channel, state: str) -> None:
        channel.state = state
        self._emit("ChannelStateChange", channel=channel.json())

    def _fail_playbacks(self, channel: _Channel) -> None:
        for pid in list(channel.playbacks):
            playback = self.playbacks.pop(pid, None)
            if playback is None:
                continue
            if playback.timer is not None:
                playback.timer.cancel()
            if playback.state == "queued":
                playback.state = "playing"
                self._emit("PlaybackStarted", playback=playback.json())
            playback.state = "failed"
            self._emit("PlaybackFinished", playback=playback.json())
        channel.playbacks.clear()

    def _hangup(
        self,
        channel: _Channel,
        *,
        cause: int | None,
        soft: bool,
        destroy_cause: int,
        tech_cause: int | None = None,
        destroy_tech_cause: int | None = None,
        request: bool = True,
    ) -> None:
        if channel.id not in self.channels:
            return
        self._fail_playbacks(channel)
        fields: dict[str, Any] = {}
        if cause is not None:
            fields["cause"] = cause
        if tech_cause is not None:
            fields["tech_cause"] = tech_cause
        if soft:
            fields["soft"] = True
        if request and (channel.in_stasis or channel.origin is not Origin.DIALPLAN):
            self._emit("ChannelHangupRequest", **fields, channel=channel.json())
        if channel.bridge and channel.bridge in self.bridges:
            bridge = self.bridges[channel.bridge]
            with contextlib.suppress(ValueError):
                bridge.channels.remove(channel.id)
            self._emit("ChannelLeftBridge", bridge=bridge.json(), channel=channel.json())
            channel.bridge = None
        if channel.in_stasis:
            self._stasis_end(channel)
        if channel.origin in (Origin.ORIGINATE, Origin.CREATE, Origin.MEDIA):
            destroyed: dict[str, Any] = {
                "cause": destroy_cause,
                "cause_txt": _CAUSE_TXT.get(destroy_cause, ""),
            }
            if (destroy_tech_cause or tech_cause) is not None:
                destroyed["tech_cause"] = destroy_tech_cause or tech_cause
            self._emit("ChannelDestroyed", **destroyed, channel=channel.json())
        self._drop_channel(channel)
        for snoop in [c for c in self.channels.values() if c.snooped == channel.id]:
            self._snooped_gone(snoop)

    def _snooped_gone(self, snoop: _Channel) -> None:
        """Fact 12: a snoop whose channel hangs up only leaves its bridge and Stasis."""
        if snoop.bridge and snoop.bridge in self.bridges:
            bridge = self.bridges[snoop.bridge]
            with contextlib.suppress(ValueError):
                bridge.channels.remove(snoop.id)
            self._emit("ChannelLeftBridge", bridge=bridge.json(), channel=snoop.json())
            snoop.bridge = None
        if snoop.in_stasis:
            self._stasis_end(snoop)
        self._drop_channel(snoop)

    def _stasis_end(self, channel: _Channel) -> None:
        channel.in_stasis = False
        self._emit("StasisEnd", channel=channel.json())
        if channel.origin in (Origin.ORIGINATE, Origin.CREATE, Origin.MEDIA):
            # A channel the app made leaves Stasis with STASISSTATUS set (agentring, media).
            self._emit("ChannelVarset", variable="STASISSTATUS", value="SUCCESS",
                       channel=channel.json())

    # -- playbacks ------------------------------------------------------------------

    def _queue_playback(self, playback: _Playback, channel: _Channel | None) -> None:
        self.playbacks[playback.id] = playback
        if channel is None:
            asyncio.get_running_loop().call_soon(self._start_playback, playback)
            return
        channel.playbacks.append(playback.id)
        if len(channel.playbacks) == 1:
            asyncio.get_running_loop().call_soon(self._start_playback, playback)

    def _start_playback(self, playback: _Playback) -> None:
        if self.playbacks.get(playback.id) is not playback or playback.state != "queued":
            return
        playback.state = "playing"
        self._emit("PlaybackStarted", playback=playback.json())
        uri = playback.media[0]
        bridge = self._bridge_of(playback)
        if bridge is not None and bridge.moh:
            self._finish_playback(playback, "failed")  # fact 8: announcer busy
        elif not uri.startswith(_SCHEMES):
            return  # fact 5: an unknown scheme never finishes
        elif uri.removeprefix("sound:") in self.missing_sounds or "no-such" in uri:
            self._finish_playback(playback, "failed")
        else:
            playback.timer = self._later(
                self.playback_seconds, lambda: self._advance_playback(playback)
            )

    def _advance_playback(self, playback: _Playback) -> None:
        if len(playback.media) > 1:
            playback.state = "continuing"
            self._emit("PlaybackContinuing", playback=playback.json())
            playback.media = playback.media[1:]
            playback.state = "queued"
            self._start_playback(playback)
            return
        self._finish_playback(playback, "done")

    def _bridge_of(self, playback: _Playback) -> _Bridge | None:
        if playback.target.startswith("bridge:"):
            return self.bridges.get(playback.target.removeprefix("bridge:"))
        return None

    def _finish_playback(self, playback: _Playback, state: str) -> None:
        playback.state = state
        self.playbacks.pop(playback.id, None)
        self._emit("PlaybackFinished", playback=playback.json())
        channel = self.channels.get(playback.target.removeprefix("channel:"))
        if channel is None or playback.id not in channel.playbacks:
            return
        channel.playbacks.remove(playback.id)
        if channel.playbacks:
            self._start_playback(self.playbacks[channel.playbacks[0]])

    # -- HTTP -----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                raw_body = await reader.readexactly(length) if length else b""
                if headers.get("upgrade", "").lower() == "websocket":
                    await self._websocket(head, headers, target, reader, writer)
                    return
                status, body = self._http(method, target, headers, raw_body)
                if self.fail_next_response > 0:
                    self.fail_next_response -= 1
                    writer.transport.abort()
                    return
                self._write_response(writer, status, body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.close()

    @staticmethod
    def _write_response(writer: asyncio.StreamWriter, status: int, body: Body) -> None:
        if status == 204 or body is None:
            payload = b""
            extra = ""
        else:
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            extra = "Content-Type: application/json\r\n"
        writer.write(
            (
                f"HTTP/1.1 {status} X\r\nServer: Asterisk/20.20.1\r\n{extra}"
                f"Content-Length: {len(payload)}\r\n\r\n"
            ).encode()
            + payload
        )

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return headers.get("authorization", "") == f"Basic {expected}"

    def _http(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> Reply:
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        self.requests.append((method, split.path, query))
        if not self._authorized(headers):
            return 401, {"message": "Authentication required"}
        if not split.path.startswith("/ari/"):
            return 404, {"message": "Resource not found"}
        path = "/" + "/".join(unquote(part) for part in split.path[5:].split("/"))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return 400, {"message": "Invalid JSON body"}
        if self.spec is not None:
            problems = self.spec.check_request(method, split.path[4:], query, body)
            if problems:
                self.violations.extend(f"{method} {path}: {p}" for p in problems)
                if any(p.startswith("no resource") for p in problems):
                    return 404, {"message": "Resource not found"}
                return 400, {"message": "; ".join(problems)}
        for route_method, pattern, handler in self._routes():
            found = pattern.match(path)
            if found and route_method == method:
                try:
                    return handler(found.groupdict(), query, body)
                except _NotInStasisError:
                    return 409, {"message": "Channel not in Stasis application"}
        return 404, {"message": "Resource not found"}

    # -- websocket ------------------------------------------------------------------

    async def _websocket(
        self,
        head: bytes,
        headers: Mapping[str, str],
        target: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        query = dict(parse_qsl(urlsplit(target).query))
        if not self._authorized(headers):
            self._write_response(writer, 401, {"message": "Authentication required"})
            await writer.drain()
            return
        protocol = ServerProtocol()
        protocol.receive_data(head)
        request = next(
            (e for e in protocol.events_received() if isinstance(e, Request)),
            None,
        )
        if request is None or query.get("app") != self.app:
            self._write_response(writer, 400, {"message": "Invalid application provided"})
            await writer.drain()
            return
        response = protocol.accept(request)
        protocol.send_response(response)
        peer = _WsPeer(protocol, writer)
        peer.flush()
        if self._active is not None:
            self._replace(self._active)
        self._peers.append(peer)
        self._active = peer
        self._connections += 1
        try:
            while not peer.closed.is_set():
                data = await reader.read(65536)
                if not data:
                    break
                if peer.frozen:
                    continue
                protocol.receive_data(data)
                for frame in protocol.events_received():
                    if getattr(frame, "opcode", None) is Opcode.CLOSE:
                        peer.flush()
                        peer.closed.set()
                peer.flush()  # pongs and the close reply
        except ConnectionError:
            pass
        finally:
            peer.closed.set()
            if self._active is peer:
                self._active = None
            with contextlib.suppress(ValueError):
                self._peers.remove(peer)

    def _replace(self, old: _WsPeer) -> None:
        payload = {
            "type": "ApplicationReplaced",
            "timestamp": self._now(),
            "asterisk_id": self.asterisk_id,
            "application": self.app,
        }
        self.sent_frames.append(payload)
        old.send_json(payload)
        old.deaf = True

    # -- REST handlers --------------------------------------------------------------

    def _routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., Reply]]]:
        table: list[tuple[str, str, Callable[..., Reply]]] = [
            ("GET", r"/asterisk/info", self._info),
            ("GET", r"/asterisk/ping", self._ping),
            ("GET", r"/applications", self._apps),
            ("GET", r"/applications/(?P<app>[^/]+)", self._app),
            ("POST", r"/applications/(?P<app>[^/]+)/subscription", self._subscribe),
            ("GET", r"/channels", self._list_channels),
            ("POST", r"/channels", self._originate),
            ("POST", r"/channels/create", self._create),
            ("POST", r"/channels/externalMedia", self._external_media),
            ("GET", r"/channels/(?P<cid>[^/]+)", self._get_channel),
            ("DELETE", r"/channels/(?P<cid>[^/]+)", self._delete_channel),
            ("POST", r"/channels/(?P<cid>[^/]+)/answer", self._answer),
            ("POST", r"/channels/(?P<cid>[^/]+)/dial", self._dial),
            ("POST", r"/channels/(?P<cid>[^/]+)/play", self._play),
            ("POST", r"/channels/(?P<cid>[^/]+)/moh", self._moh_start),
            ("DELETE", r"/channels/(?P<cid>[^/]+)/moh", self._moh_stop),
            ("POST", r"/channels/(?P<cid>[^/]+)/record", self._record),
            ("POST", r"/channels/(?P<cid>[^/]+)/snoop", self._snoop),
            ("POST", r"/channels/(?P<cid>[^/]+)/continue", self._continue),
            ("POST", r"/channels/(?P<cid>[^/]+)/redirect", self._redirect),
            ("GET", r"/channels/(?P<cid>[^/]+)/variable", self._get_var),
            ("POST", r"/channels/(?P<cid>[^/]+)/variable", self._set_var),
            ("GET", r"/bridges", self._list_bridges),
            ("POST", r"/bridges", self._create_bridge),
            ("GET", r"/bridges/(?P<bid>[^/]+)", self._get_bridge),
            ("DELETE", r"/bridges/(?P<bid>[^/]+)", self._destroy_bridge),
            ("POST", r"/bridges/(?P<bid>[^/]+)/addChannel", self._add_channel),
            ("POST", r"/bridges/(?P<bid>[^/]+)/removeChannel", self._remove_channel),
            ("POST", r"/bridges/(?P<bid>[^/]+)/play", self._bridge_play),
            ("POST", r"/bridges/(?P<bid>[^/]+)/moh", self._bridge_moh_start),
            ("DELETE", r"/bridges/(?P<bid>[^/]+)/moh", self._bridge_moh_stop),
            ("GET", r"/playbacks/(?P<pid>[^/]+)", self._get_playback),
            ("DELETE", r"/playbacks/(?P<pid>[^/]+)", self._stop_playback),
            ("GET", r"/recordings/live/(?P<name>[^/]+)", self._get_recording),
            ("POST", r"/recordings/live/(?P<name>[^/]+)/stop", self._stop_recording),
            ("GET", r"/recordings/stored", self._stored),
            ("GET", r"/endpoints", self._list_endpoints),
            ("GET", r"/endpoints/(?P<tech>[^/]+)/(?P<res>[^/]+)", self._get_endpoint),
            ("GET", r"/deviceStates", self._list_devices),
            ("GET", r"/deviceStates/(?P<name>[^/]+)", self._get_device),
            ("PUT", r"/deviceStates/(?P<name>[^/]+)", self._put_device),
        ]
        return [(m, re.compile(f"^{p}$"), h) for m, p, h in table]

    def _stasis_channel(self, cid: str) -> _Channel | Reply:
        channel = self.channels.get(cid)
        if channel is None:
            return 404, {"message": "Channel not found"}
        if not channel.in_stasis:
            raise _NotInStasisError
        return channel

    def _info(self, _: Any, query: Mapping[str, str], __: Any) -> Reply:
        status = {"startup_time": self.startup_time, "last_reload_time": self.startup_time}
        if query.get("only") == "status":
            return 200, {"status": status}
        return 200, {
            "build": {"os": "Linux", "kernel": "", "machine": "x86_64", "options": "",
                      "date": "", "user": "root"},
            "system": {"version": "20.20.1", "entity_id": self.asterisk_id},
            "config": {"name": "", "default_language": "en",
                       "setid": {"user": "root", "group": "root"}},
            "status": status,
        }

    def _ping(self, *_: Any) -> Reply:
        return 200, {"ping": "pong", "timestamp": self._now(), "asterisk_id": self.asterisk_id}

    def _app_json(self) -> dict[str, Any]:
        return {
            "name": self.app,
            "channel_ids": [c.id for c in self.channels.values() if c.in_stasis],
            "bridge_ids": list(self.bridges),
            "endpoint_ids": sorted(s.split(":", 1)[1] for s in self.subscriptions
                                   if s.startswith("endpoint:")),
            "device_names": sorted(s.split(":", 1)[1] for s in self.subscriptions
                                   if s.startswith("deviceState:")),
            "events_allowed": [],
            "events_disallowed": [],
        }

    def _apps(self, *_: Any) -> Reply:
        return 200, [self._app_json()]

    def _app(self, params: Mapping[str, str], *_: Any) -> Reply:
        if params["app"] != self.app:
            return 404, {"message": "Application not found"}
        return 200, self._app_json()

    def _subscribe(self, params: Mapping[str, str], query: Mapping[str, str], _: Any) -> Reply:
        if params["app"] != self.app:
            return 404, {"message": "Application not found"}
        self.subscriptions.update(query.get("eventSource", "").split(","))
        return 200, self._app_json()

    def _list_channels(self, *_: Any) -> Reply:
        return 200, [c.json() for c in self.channels.values()]

    def _get_channel(self, params: Mapping[str, str], *_: Any) -> Reply:
        channel = self.channels.get(params["cid"])
        if channel is None:
            return 404, {"message": "Channel not found"}
        return 200, channel.json()

    def _allocate(self, endpoint: str, channel_id: str | None) -> RingOutcome | Reply:
        if channel_id is not None and channel_id in self.channels:
            return 409, {"message": "Channel with given unique ID already exists"}
        tech, _, resource = endpoint.partition("/")
        if tech == "Local":
            return RingOutcome.ANSWER
        outcome = self.endpoints.get(resource) if tech == "PJSIP" else None
        if outcome is None or outcome is RingOutcome.UNREGISTERED:
            return 500, {"error": "Allocation failed"}  # fact 10: same for both
        return outcome

    def _originate(self, _: Any, query: Mapping[str, str], __: Any) -> Reply:
        endpoint = query.get("endpoint")
        if not endpoint:
            return 400, {"message": "Endpoint must be specified"}
        outcome = self._allocate(endpoint, query.get("channelId"))
        if not isinstance(outcome, RingOutcome):
            return outcome
        channel = self._new_channel(
            endpoint,
            Origin.ORIGINATE,
            channel_id=query.get("channelId"),
            caller=_parse_caller_id(query.get("callerId", "")),
            dialplan=("default", "s", 1, "AppDial2", "(Outgoing Line)"),
        )
        channel.connected = channel.caller
        channel.args = tuple(a for a in query.get("appArgs", "").split(",") if a)
        timeout = float(query.get("timeout", "30")) * self.time_scale
        dialstring = endpoint.partition("/")[2]
        loop = asyncio.get_running_loop()
        loop.call_soon(self._ring, channel, outcome, timeout, dialstring, True)
        return 200, channel.json()

    def _create(self, _: Any, query: Mapping[str, str], __: Any) -> Reply:
        endpoint = query.get("endpoint", "")
        outcome = self._allocate(endpoint, query.get("channelId"))
        if not isinstance(outcome, RingOutcome):
            return outcome
        app_args = query.get("appArgs", "")
        channel = self._new_channel(
            endpoint,
            Origin.CREATE,
            channel_id=query.get("channelId"),
            dialplan=("default", "s", 1, "Stasis", f"{self.app},{app_args}".rstrip(",")),
        )
        channel.args = tuple(a for a in app_args.split(",") if a)
        channel.variables["__outcome"] = outcome.value
        self._emit("ChannelDialplan", dialplan_app="Stasis",
                   dialplan_app_data=channel.dialplan[4], channel=channel.json())
        self._emit("ChannelVarset", variable="STASISSTATUS", value="", channel=channel.json())
        if self.stasis_delay > 0:
            self._enter_stasis_later(channel)  # under load: `dial` before it is 409
        else:
            self._enter_stasis(channel)
        return 200, channel.json()

    def _dial(self, params: Mapping[str, str], query: Mapping[str, str], _: Any) -> Reply:
        found = self._stasis_channel(params["cid"])
        if not isinstance(found, _Channel):
            return found
        if found.state != "Down" or "__dialled" in found.variables:
            return 409, {"message": "Channel is not in the 'Down' state"}
        found.variables["__dialled"] = "1"
        outcome = RingOutcome(found.variables.get("__outcome", "answer"))
        timeout = float(query.get("timeout", "0") or 0) * self.time_scale or 30 * self.time_scale
        dialstring = (found.endpoint or "").partition("/")[2]
        asyncio.get_running_loop().call_soon(
            self._ring, found, outcome, timeout, dialstring, False
        )
        return 204, None

    def _ring(
        self, channel: _Channel, outcome: RingOutcome, timeout: float, dialstring: str,
        one_step: bool,
    ) -> None:
        """Agent ring outcomes as recorded in the `agentring` phase (facts 9, 11)."""
        if channel.id not in self.channels:
            return

        def dial(status: str, first: bool = False) -> None:
            self._emit("Dial", dialstatus=status, forward="",
                       dialstring=dialstring if (first or one_step) else "",
                       peer=channel.json())

        dial("", first=True)
        if outcome is RingOutcome.BUSY:
            self._emit("ChannelHangupRequest", cause=17, tech_cause=486, channel=channel.json())
            if channel.in_stasis:
                self._stasis_end(channel)
            if one_step:
                dial("BUSY")
            self._emit("ChannelDestroyed", cause=17, cause_txt="User busy", tech_cause=486,
                       channel=channel.json())
            self._drop_channel(channel)
            return
        self._set_state(channel, "Ringing")
        dial("RINGING")
        if outcome is RingOutcome.ANSWER:
            channel.timers.append(self._later(self.time_scale, lambda: self._answered(
                channel, one_step, dial)))
        else:
            channel.timers.append(self._later(timeout, lambda: self._ring_timeout(
                channel, one_step)))

    def _answered(self, channel: _Channel, one_step: bool, dial: Callable[[str], None]) -> None:
        if channel.id not in self.channels:
            return
        self._set_state(channel, "Up")
        dial("ANSWER")
        if one_step:
            self._emit("ChannelVarset", variable="STASISSTATUS", value="", channel=channel.json())
            self._enter_stasis(channel)

    def _ring_timeout(self, channel: _Channel, one_step: bool) -> None:
        if channel.id not in self.channels:
            return
        if one_step:  # no ChannelHangupRequest, no final Dial (fact 11)
            self._emit("ChannelDestroyed", cause=19, cause_txt="User alerting, no answer",
                       tech_cause=480, channel=channel.json())
            self._drop_channel(channel)
            return
        # create+dial: our-DELETE-like request first, the 480 only on the destroy (fact 9)
        self._hangup(channel, cause=32, soft=True, destroy_cause=19, destroy_tech_cause=480)

    def _delete_channel(self, params: Mapping[str, str], *_: Any) -> Reply:
        channel = self.channels.get(params["cid"])
        if channel is None:
            return 404, {"message": "Channel not found"}
        loop = asyncio.get_running_loop()
        if channel.origin is Origin.SNOOP:
            loop.call_soon(self._hangup_snoop, channel)
        else:
            loop.call_soon(lambda: self._hangup(channel, cause=32, soft=True, destroy_cause=16))
        return 204, None

    def _hangup_snoop(self, channel: _Channel) -> None:
        # Fact 12: ChannelHangupRequest + StasisEnd, no ChannelDestroyed.
        self._hangup(channel, cause=32, soft=True, destroy_cause=16)

    def _answer(self, params: Mapping[str, str], *_: Any) -> Reply:
        found = self._stasis_channel(params["cid"])
        if not isinstance(found, _Channel):
            return found
        if found.state != "Up":
            asyncio.get_running_loop().call_soon(self._set_state, found, "Up")
        return 204, None

    def _play(self, params: Mapping[str, str], query: Mapping[str, str], _: Any) -> Reply:
        found = self._stasis_channel(params["cid"])
        if not isinstance(found, _Channel):
            return found
        media = [m for m in query.get("media", "").split(",") if m]
        if not media:
            return 500, {"message": "Failed to queue media for playback"}
        pid = query.get("playbackId") or f"pb-{len(self.sent_frames)}-{self._uid_counter}"
        if pid in self.playbacks:
            return 500, {"message": "Failed to queue media for playback"}
        found.moh = False  # fact 7: a play stops channel MOH and it does not come back
        playback = _Playback(pid, media, f"channel:{found.id}")
        self._queue_playback(playback, found)
        return 201, playback.json()

    def _moh_start(self, params: Mapping[str, str], *_: Any) -> Reply:
        found = self._stasis_channel(params["cid"])
        if not isinstance(found, _Channel):
            return found
        found.moh = True  # no ARI event for MOH (fact 7)
        return 204, None

    def _moh_stop(self, params: Mapping[str, str], *_: Any) -> Reply:
        found = self._stasis_channel(params["cid"])
        if not isinstance(found, _Channel):
            return found
        found.moh = False  # 204 even with nothing playing (fact 7)
        return 204, None

    def _record(self, params: Mapping[str, str], query: Mapping[str, str], _: Any) -> Reply:
        found = self._stasis_channel(params["cid"])
        if not isinstance(found, _Channel):
            return found
        name = query.get("name", "")
        if not name or ".." in name:
            return 500, {"message": "Error parsing request"}
        if name in self.recordings and query.get("ifExists", "fail") == "fail":
            return 409, {"message": "Recording already in progress"}
        recording = _Recording(name, f"channel:{found.id}", query.get("format", "wav"),
                               max_silence="maxSilenceSeconds" in query)
        if found.bridge is not None:
            recording.state = "failed"
            failed = recording.json() | {"cause": "Cannot record channel while in bridge"}
            asyncio.get_running_loop().call_soon(
                lambda: self._emit("RecordingFailed", recording=failed))
            return 201, recording.json()
        self.recordings[name] = recording
        body = recording.json()

        def started() -> None:
            if self.recordings.get(name) is not recording:
                return
            recording.state = "recording"
            recording.started_at = asyncio.get_running_loop().time()
            self._emit("RecordingStarted", recording=recording.json())
            limit = query.get("maxDurationSeconds")
            if limit and int(limit) > 0:
                found.timers.append(self._later(int(limit) * self.time_scale,
                                                lambda: self._finish_recording(name)))

        found.timers.append(self._later(0.5 * self.time_scale, started))
        return 201, body

    def _finish_recording(self, name: str) -> None:
        recording = self.recordings.pop(name, None)
        if recording is None or recording.state != "recording":
            return
        elapsed = asyncio.get_running_loop().time() - recording.started_at
        duration = round(elapsed / self.time_scale) if self.time_scale else 0
        recording.state = "done"
        body: dict[str, Any] = recording.json() | {"duration": duration}
        if recording.max_silence:
            body |= {"talking_duration": duration, "silence_duration": 0}
        self.stored_recordings.add(name)
        self._emit("RecordingFinished", recording=body)

    def _get_recording(self, params: Mapping[str, str], *_: Any) -> Reply:
        recording = self.recordings.get(params["name"])
        if recording is None:
            return 404, {"message": "Recording not found"}
        return 200, recording.json()

    def _stop_recording(self, params: Mapping[str, str], *_: Any) -> Reply:
        if params["name"] not in self.recordings:
            return 404, {"message": "Recording not found"}
        asyncio.get_running_loop().call_soon(self._finish_recording, params["name"])
        return 204, None

    def _stored(self, *_: Any) -> Reply:
        return 200, [{"name": n, "format": "wav"} for n in sorted(self.stored_recordings)]

    def _snoop(self, params: Mapping[str, str], query: Mapping[str, str], _: Any) -> Reply:
        found = self._stasis_channel(params["cid"])
        if not isinstance(found, _Channel):
            return found
        sid = query.get("snoopId")
        if sid is not None and sid in self.channels:
            return 500, {"message": "Allocation failed"}  # fact 12: reused snoopId
        if query.get("spy", "none") == "none" and query.get("whisper", "none") == "none":
            return 400, {"message": "Direction must be specified for at least spy or whisper"}
        channel = self._new_channel(f"Snoop/{found.id}", Origin.SNOOP, state="Up",
                                    channel_id=sid)
        channel.snooped = found.id
        channel.args = tuple(a for a in query.get("appArgs", "").split(",") if a)
        self._enter_stasis_later(channel)
        return 200, channel.json()

    def _external_media(self, _: Any, query: Mapping[str, str], __: Any) -> Reply:
        cid = query.get("channelId")
        if cid is not None and cid in self.channels:
            return 409, {"message": "Channel with given unique ID already exists"}
        if not query.get("external_host"):
            return 400, {"message": "external_host is required for all but websocket"}
        tech = "AudioSocket" if query.get("encapsulation") == "audiosocket" else "UnicastRTP"
        channel = self._new_channel(f"{tech}/{query['external_host']}", Origin.MEDIA,
                                    state="Up", channel_id=cid)
        # An AudioSocket channel's StasisStart carries its `data` (the UUID) as args.
        channel.args = (query["data"],) if query.get("data") else ()
        self._enter_stasis_later(channel)
        return 200, channel.json()

    def _continue(self, params: Mapping[str, str], query: Mapping[str, str], _: Any) -> Reply:
        found = self._stasis_channel(params["cid"])
        if not isinstance(found, _Channel):
            return found
        found.in_stasis = False  # fact 20: StasisEnd at once, then 409 for this channel
        self._emit("StasisEnd", channel=found.json())
        return 204, None

    def _redirect(self, params: Mapping[str, str], query: Mapping[str, str], _: Any) -> Reply:
        found = self._stasis_channel(params["cid"])
        if not isinstance(found, _Channel):
            return found
        target = query.get("endpoint", "")
        if not target:
            return 400, {"message": "Redirect endpoint required"}
        if target.partition("/")[0] != (found.endpoint or "").partition("/")[0]:
            return 422, {"message": "Endpoint technology does not match channel"}
        return 204, None

    def _get_var(self, params: Mapping[str, str], query: Mapping[str, str], _: Any) -> Reply:
        channel = self.channels.get(params["cid"])
        if channel is None:
            return 404, {"message": "Channel not found"}
        name = query.get("variable")
        if not name:
            return 400, {"message": "Variable name is required"}
        if name not in channel.variables or name.startswith("__"):
            return 404, {"message": "Provided variable was not found"}
        return 200, {"value": channel.variables[name]}

    def _set_var(self, params: Mapping[str, str], query: Mapping[str, str], _: Any) -> Reply:
        channel = self.channels.get(params["cid"])
        if channel is None:
            return 404, {"message": "Channel not found"}
        name = query.get("variable")
        if not name:
            return 400, {"message": "Variable name is required"}
        value = query.get("value", "")
        channel.variables[name] = value
        self._emit("ChannelVarset", variable=name, value=value, channel=channel.json())
        if name == "CALLERID(name)":
            channel.caller = (value, channel.caller[1])
            self._emit("ChannelCallerId", caller_presentation=0,
                       caller_presentation_txt="Presentation Allowed, Not Screened",
                       channel=channel.json())
        return 204, None

    def _list_bridges(self, *_: Any) -> Reply:
        return 200, [b.json() for b in self.bridges.values()]

    def _get_bridge(self, params: Mapping[str, str], *_: Any) -> Reply:
        bridge = self.bridges.get(params["bid"])
        if bridge is None:
            return 404, {"message": "Bridge not found"}
        return 200, bridge.json()

    def _create_bridge(self, _: Any, query: Mapping[str, str], __: Any) -> Reply:
        kind = query.get("type", "mixing")
        bid = query.get("bridgeId") or f"bridge-{len(self.bridges)}-{self._uid_counter}"
        if kind not in ("mixing", "holding") or bid in self.bridges:
            return 500, {"message": f"Unable to create bridge. Possible duplicate bridge id "
                                    f"'{query.get('bridgeId', '(null)')}'"}
        bridge = _Bridge(bid, kind, query.get("name", ""), self._now())
        self.bridges[bid] = bridge
        return 200, bridge.json()

    def _destroy_bridge(self, params: Mapping[str, str], *_: Any) -> Reply:
        bridge = self.bridges.get(params["bid"])
        if bridge is None:
            return 404, {"message": "Bridge not found"}

        def destroy() -> None:
            for cid in list(bridge.channels):
                channel = self.channels.get(cid)
                if channel is not None:
                    channel.bridge = None
                    bridge.channels.remove(cid)
                    self._emit("ChannelLeftBridge", bridge=bridge.json(), channel=channel.json())
            self.bridges.pop(bridge.id, None)
            self._emit("BridgeDestroyed", bridge=bridge.json())

        asyncio.get_running_loop().call_soon(destroy)
        return 204, None

    def _add_channel(self, params: Mapping[str, str], query: Mapping[str, str], _: Any) -> Reply:
        bridge = self.bridges.get(params["bid"])
        if bridge is None:
            return 404, {"message": "Bridge not found"}
        ids = [c for c in query.get("channel", "").split(",") if c]
        if not ids:
            return 400, {"message": "Missing parameter channel"}
        for cid in ids:
            channel = self.channels.get(cid)
            if channel is None:
                return 400, {"message": "Channel not found"}
            if not channel.in_stasis:
                return 422, {"message": "Channel not in Stasis application"}
        for cid in ids:
            channel = self.channels[cid]
            if channel.bridge == bridge.id:
                continue
            channel.bridge = bridge.id
            bridge.channels.append(cid)
            self._emit("ChannelEnteredBridge", bridge=bridge.json(), channel=channel.json())
        return 204, None

    def _remove_channel(
        self, params: Mapping[str, str], query: Mapping[str, str], _: Any
    ) -> Reply:
        bridge = self.bridges.get(params["bid"])
        if bridge is None:
            return 404, {"message": "Bridge not found"}
        for cid in [c for c in query.get("channel", "").split(",") if c]:
            channel = self.channels.get(cid)
            if channel is None:
                return 400, {"message": "Channel not found"}
            if channel.bridge != bridge.id:
                return 422, {"message": "Channel not in this bridge"}
            channel.bridge = None
            bridge.channels.remove(cid)
            self._emit("ChannelLeftBridge", bridge=bridge.json(), channel=channel.json())
        return 204, None

    def _bridge_play(self, params: Mapping[str, str], query: Mapping[str, str], _: Any) -> Reply:
        bridge = self.bridges.get(params["bid"])
        if bridge is None:
            return 404, {"message": "Bridge not found"}
        media = [m for m in query.get("media", "").split(",") if m]
        pid = query.get("playbackId") or f"pb-{len(self.sent_frames)}-{self._uid_counter}"
        if pid in self.playbacks:
            return 500, {"message": "Failed to queue media for playback"}
        playback = _Playback(pid, media, f"bridge:{bridge.id}")
        self._queue_playback(playback, None)
        return 201, playback.json()

    def _bridge_moh_start(self, params: Mapping[str, str], *_: Any) -> Reply:
        bridge = self.bridges.get(params["bid"])
        if bridge is None:
            return 404, {"message": "Bridge not found"}
        bridge.moh = True
        return 204, None

    def _bridge_moh_stop(self, params: Mapping[str, str], *_: Any) -> Reply:
        bridge = self.bridges.get(params["bid"])
        if bridge is None:
            return 404, {"message": "Bridge not found"}
        if not bridge.moh:
            return 409, {"message": "Bridge isn't playing music"}
        bridge.moh = False
        return 204, None

    def _get_playback(self, params: Mapping[str, str], *_: Any) -> Reply:
        playback = self.playbacks.get(params["pid"])
        if playback is None:
            return 404, {"message": "Playback not found"}
        return 200, playback.json()

    def _stop_playback(self, params: Mapping[str, str], *_: Any) -> Reply:
        playback = self.playbacks.get(params["pid"])
        if playback is None:
            return 404, {"message": "Playback not found"}
        if playback.timer is not None:
            playback.timer.cancel()
        asyncio.get_running_loop().call_soon(self._finish_playback, playback, "done")
        return 204, None

    def _endpoint_json(self, resource: str, outcome: RingOutcome) -> dict[str, Any]:
        return {
            "technology": "PJSIP",
            "resource": resource,
            "state": "offline" if outcome is RingOutcome.UNREGISTERED else "online",
            "channel_ids": [c.id for c in self.channels.values()
                            if c.endpoint == f"PJSIP/{resource}"],
        }

    def _list_endpoints(self, *_: Any) -> Reply:
        return 200, [self._endpoint_json(r, o) for r, o in self.endpoints.items()]

    def _get_endpoint(self, params: Mapping[str, str], *_: Any) -> Reply:
        outcome = self.endpoints.get(params["res"])
        if params["tech"] != "PJSIP" or outcome is None:
            return 404, {"message": "Endpoint not found"}
        return 200, self._endpoint_json(params["res"], outcome)

    def _list_devices(self, *_: Any) -> Reply:
        return 200, [{"name": n, "state": s} for n, s in self.device_states.items()]

    def _get_device(self, params: Mapping[str, str], *_: Any) -> Reply:
        name = params["name"]
        if name not in self.device_states:
            return 404, {"message": "Device not found"}
        return 200, {"name": name, "state": self.device_states[name]}

    def _put_device(self, params: Mapping[str, str], query: Mapping[str, str], _: Any) -> Reply:
        name = params["name"]
        if not name.startswith("Stasis:"):
            return 409, {"message": "Uncontrolled device specified"}
        state = query.get("deviceState", "")
        if state not in _DEVICE_STATES:
            return 500, {"message": "Unknown device"}
        self.device_states[name] = state
        if f"deviceState:{name}" in self.subscriptions:
            self._emit("DeviceStateChanged", device_state={"name": name, "state": state})
        return 204, None


_DEVICE_STATES = {
    "UNKNOWN", "NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE", "RINGING",
    "RINGINUSE", "ONHOLD",
}


def _parse_caller_id(value: str) -> tuple[str, str]:
    """`"Citizen" <5551234>` -> ("Citizen", "5551234")."""
    found = re.fullmatch(r'\s*"?([^"<]*?)"?\s*<([^>]*)>\s*', value)
    if found:
        return found.group(1), found.group(2)
    return "", value.strip()


__all__ = ["FakeAsterisk", "Origin", "RingOutcome"]
