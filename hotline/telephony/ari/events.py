"""ARI websocket events as frozen dataclasses, and the sans-I/O frame parser.

`parse_event(frame)` never raises for a well-formed JSON object: an event type we do
not model, or a known type missing a field we need, comes back as `GenericEvent`
with the raw payload, so one odd frame cannot stop the stream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotline.telephony.ari.models import (
    AriParseError,
    Bridge,
    Channel,
    DeviceState,
    Endpoint,
    Json,
    LiveRecording,
    Playback,
    _int,
    _obj,
    _opt_int,
    _str,
    _str_list,
    parse_ari_time,
)

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class AriEvent:
    type: str
    application: str
    timestamp: datetime
    asterisk_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericEvent(AriEvent):
    """Any event type we do not model (or could not parse); the raw payload is kept."""

    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisStart(AriEvent):
    args: tuple[str, ...]
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisEnd(AriEvent):
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDtmfReceived(AriEvent):
    digit: str
    duration_ms: int
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelHangupRequest(AriEvent):
    """`soft` is True for our own DELETE (cause 32) and a restart; a far-end BYE has none."""

    channel: Channel
    cause: int | None = None
    tech_cause: int | None = None
    soft: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDestroyed(AriEvent):
    channel: Channel
    cause: int
    cause_txt: str
    tech_cause: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelStateChange(AriEvent):
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class Dial(AriEvent):
    """Dial events carry only `peer`; there is no final Dial on a ring timeout (fact 9)."""

    peer: Channel
    dialstatus: str
    dialstring: str = ""
    forward: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackStarted(AriEvent):
    playback: Playback


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackContinuing(AriEvent):
    playback: Playback


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackFinished(AriEvent):
    playback: Playback


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStarted(AriEvent):
    recording: LiveRecording


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFinished(AriEvent):
    recording: LiveRecording


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFailed(AriEvent):
    recording: LiveRecording


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelEnteredBridge(AriEvent):
    bridge: Bridge
    channel: Channel | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelLeftBridge(AriEvent):
    bridge: Bridge
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelVarset(AriEvent):
    variable: str
    value: str
    channel: Channel | None  # None for a global variable


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelCallerId(AriEvent):
    caller_presentation: int
    caller_presentation_txt: str
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationReplaced(AriEvent):
    """Another websocket took this app over; this socket stays open but deaf (fact 14)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointStateChange(AriEvent):
    endpoint: Endpoint


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerStatusChange(AriEvent):
    endpoint: Endpoint
    peer_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactStatusChange(AriEvent):
    endpoint: Endpoint
    uri: str
    contact_status: str
    aor: str
    roundtrip_usec: str | None = None  # a string in Asterisk's JSON ("0"), fact 18


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStateChanged(AriEvent):
    device_state: DeviceState


def _opt_channel(data: Json, key: str) -> Channel | None:
    value = data.get(key)
    return Channel.from_json(value) if isinstance(value, Mapping) else None


def _contact(data: Json, base: dict[str, Any]) -> ContactStatusChange:
    info = _obj(data, "contact_info")
    rtt = info.get("roundtrip_usec")
    return ContactStatusChange(
        **base,
        endpoint=Endpoint.from_json(_obj(data, "endpoint")),
        uri=_str(info, "uri"),
        contact_status=_str(info, "contact_status"),
        aor=_str(info, "aor"),
        roundtrip_usec=None if rtt is None else str(rtt),
    )


_Builder = Callable[[Json, dict[str, Any]], AriEvent]

_BUILDERS: dict[str, _Builder] = {
    "StasisStart": lambda d, b: StasisStart(
        **b, args=_str_list(d, "args"), channel=Channel.from_json(_obj(d, "channel"))
    ),
    "StasisEnd": lambda d, b: StasisEnd(**b, channel=Channel.from_json(_obj(d, "channel"))),
    "ChannelDtmfReceived": lambda d, b: ChannelDtmfReceived(
        **b,
        digit=_str(d, "digit"),
        duration_ms=_int(d, "duration_ms"),
        channel=Channel.from_json(_obj(d, "channel")),
    ),
    "ChannelHangupRequest": lambda d, b: ChannelHangupRequest(
        **b,
        channel=Channel.from_json(_obj(d, "channel")),
        cause=_opt_int(d, "cause"),
        tech_cause=_opt_int(d, "tech_cause"),
        soft=d.get("soft") is True,
    ),
    "ChannelDestroyed": lambda d, b: ChannelDestroyed(
        **b,
        channel=Channel.from_json(_obj(d, "channel")),
        cause=_int(d, "cause"),
        cause_txt=_str(d, "cause_txt"),
        tech_cause=_opt_int(d, "tech_cause"),
    ),
    "ChannelStateChange": lambda d, b: ChannelStateChange(
        **b, channel=Channel.from_json(_obj(d, "channel"))
    ),
    "Dial": lambda d, b: Dial(
        **b,
        peer=Channel.from_json(_obj(d, "peer")),
        dialstatus=_str(d, "dialstatus"),
        dialstring=str(d.get("dialstring", "")),
        forward=str(d.get("forward", "")),
    ),
    "PlaybackStarted": lambda d, b: PlaybackStarted(
        **b, playback=Playback.from_json(_obj(d, "playback"))
    ),
    "PlaybackContinuing": lambda d, b: PlaybackContinuing(
        **b, playback=Playback.from_json(_obj(d, "playback"))
    ),
    "PlaybackFinished": lambda d, b: PlaybackFinished(
        **b, playback=Playback.from_json(_obj(d, "playback"))
    ),
    "RecordingStarted": lambda d, b: RecordingStarted(
        **b, recording=LiveRecording.from_json(_obj(d, "recording"))
    ),
    "RecordingFinished": lambda d, b: RecordingFinished(
        **b, recording=LiveRecording.from_json(_obj(d, "recording"))
    ),
    "RecordingFailed": lambda d, b: RecordingFailed(
        **b, recording=LiveRecording.from_json(_obj(d, "recording"))
    ),
    "ChannelEnteredBridge": lambda d, b: ChannelEnteredBridge(
        **b, bridge=Bridge.from_json(_obj(d, "bridge")), channel=_opt_channel(d, "channel")
    ),
    "ChannelLeftBridge": lambda d, b: ChannelLeftBridge(
        **b,
        bridge=Bridge.from_json(_obj(d, "bridge")),
        channel=Channel.from_json(_obj(d, "channel")),
    ),
    "ChannelVarset": lambda d, b: ChannelVarset(
        **b,
        variable=_str(d, "variable"),
        value=_str(d, "value"),
        channel=_opt_channel(d, "channel"),
    ),
    "ChannelCallerId": lambda d, b: ChannelCallerId(
        **b,
        caller_presentation=_int(d, "caller_presentation"),
        caller_presentation_txt=_str(d, "caller_presentation_txt"),
        channel=Channel.from_json(_obj(d, "channel")),
    ),
    "ApplicationReplaced": lambda d, b: ApplicationReplaced(**b),
    "EndpointStateChange": lambda d, b: EndpointStateChange(
        **b, endpoint=Endpoint.from_json(_obj(d, "endpoint"))
    ),
    "PeerStatusChange": lambda d, b: PeerStatusChange(
        **b,
        endpoint=Endpoint.from_json(_obj(d, "endpoint")),
        peer_status=_str(_obj(d, "peer"), "peer_status"),
    ),
    "ContactStatusChange": _contact,
    "DeviceStateChanged": lambda d, b: DeviceStateChanged(
        **b, device_state=DeviceState.from_json(_obj(d, "device_state"))
    ),
}


def parse_event(data: Json) -> AriEvent:
    """Turn one decoded frame into a typed event (GenericEvent when we cannot)."""
    kind = data.get("type")
    kind = kind if isinstance(kind, str) else ""
    try:
        timestamp = parse_ari_time(_str(data, "timestamp"))
    except (AriParseError, ValueError):
        timestamp = datetime.min
    base: dict[str, Any] = {
        "type": kind,
        "application": str(data.get("application", "")),
        "timestamp": timestamp,
        "asterisk_id": str(data.get("asterisk_id", "")),
    }
    builder = _BUILDERS.get(kind)
    if builder is not None:
        try:
            return builder(data, base)
        except (AriParseError, ValueError) as exc:
            _log.warning("ARI %s event not understood (%s); kept as generic", kind, exc)
    return GenericEvent(**base, raw=dict(data))


def parse_frame(text: str | bytes) -> AriEvent | None:
    """Decode one websocket frame; None (logged) when it is not a JSON object."""
    try:
        data = json.loads(text)
    except ValueError:
        _log.error("ARI frame is not JSON; dropped (%d bytes)", len(text))
        return None
    if not isinstance(data, dict):
        _log.error("ARI frame is not a JSON object; dropped")
        return None
    return parse_event(data)
