"""Typed snapshots of the ARI resources the bridge uses (Channel, Bridge, Playback, ...).

Parsed leniently: Asterisk adds keys between versions and JSON key order is not fixed
(README fact 16), so unknown keys are ignored and unknown enum values map to UNKNOWN
instead of failing the whole frame.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Asterisk's timestamp format: "2026-11-25T19:44:57.457+0000" (milliseconds, no colon).
ARI_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"

Json = Mapping[str, Any]


class AriParseError(ValueError):
    """A message from Asterisk lacks a field the typed model needs."""


def parse_ari_time(value: str) -> datetime:
    return datetime.strptime(value, ARI_TIME_FORMAT)


def format_ari_time(moment: datetime) -> str:
    """Render like Asterisk: milliseconds and a `+0000`-style offset."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + (
        moment.strftime("%z") or "+0000"
    )


def _str(data: Json, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise AriParseError(f"missing or non-string field {key!r}")
    return value


def _int(data: Json, key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise AriParseError(f"missing or non-integer field {key!r}")
    return value


def _opt_int(data: Json, key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise AriParseError(f"non-integer field {key!r}")
    return value


def _obj(data: Json, key: str) -> Json:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise AriParseError(f"missing or non-object field {key!r}")
    return value


def _str_list(data: Json, key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise AriParseError(f"field {key!r} is not a list of strings")
    return tuple(value)


class _LenientEnum(enum.Enum):
    @classmethod
    def parse(cls, value: object) -> Any:
        try:
            return cls(value)
        except ValueError:
            return cls("Unknown") if "Unknown" in cls._value2member_map_ else cls("unknown")


class ChannelState(_LenientEnum):
    DOWN = "Down"
    RESERVED = "Rsrved"
    OFF_HOOK = "OffHook"
    DIALING = "Dialing"
    RING = "Ring"
    RINGING = "Ringing"
    UP = "Up"
    BUSY = "Busy"
    DIALING_OFFHOOK = "Dialing Offhook"
    PRE_RING = "Pre-ring"
    UNKNOWN = "Unknown"


class PlaybackState(_LenientEnum):
    QUEUED = "queued"
    PLAYING = "playing"
    CONTINUING = "continuing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


class RecordingState(_LenientEnum):
    QUEUED = "queued"
    RECORDING = "recording"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"
    UNKNOWN = "unknown"


class BridgeType(enum.Enum):
    MIXING = "mixing"
    HOLDING = "holding"


@dataclass(frozen=True, slots=True)
class CallerId:
    name: str
    number: str

    @classmethod
    def from_json(cls, data: Json) -> CallerId:
        return cls(name=_str(data, "name"), number=_str(data, "number"))


@dataclass(frozen=True, slots=True)
class DialplanLocation:
    context: str
    exten: str
    priority: int
    app_name: str = ""
    app_data: str = ""

    @classmethod
    def from_json(cls, data: Json) -> DialplanLocation:
        return cls(
            context=_str(data, "context"),
            exten=_str(data, "exten"),
            priority=_int(data, "priority"),
            app_name=str(data.get("app_name", "")),
            app_data=str(data.get("app_data", "")),
        )


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    name: str
    state: ChannelState
    protocol_id: str
    caller: CallerId
    connected: CallerId
    dialplan: DialplanLocation
    creationtime: datetime
    language: str
    accountcode: str = ""

    @classmethod
    def from_json(cls, data: Json) -> Channel:
        return cls(
            id=_str(data, "id"),
            name=_str(data, "name"),
            state=ChannelState.parse(data.get("state")),
            protocol_id=str(data.get("protocol_id", "")),
            caller=CallerId.from_json(_obj(data, "caller")),
            connected=CallerId.from_json(_obj(data, "connected")),
            dialplan=DialplanLocation.from_json(_obj(data, "dialplan")),
            creationtime=parse_ari_time(_str(data, "creationtime")),
            language=str(data.get("language", "")),
            accountcode=str(data.get("accountcode", "")),
        )


@dataclass(frozen=True, slots=True)
class Bridge:
    id: str
    technology: str
    bridge_type: str
    bridge_class: str
    creator: str
    name: str
    channels: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Json) -> Bridge:
        return cls(
            id=_str(data, "id"),
            technology=str(data.get("technology", "")),
            bridge_type=_str(data, "bridge_type"),
            bridge_class=str(data.get("bridge_class", "")),
            creator=str(data.get("creator", "")),
            name=str(data.get("name", "")),
            channels=_str_list(data, "channels"),
        )


@dataclass(frozen=True, slots=True)
class Playback:
    id: str
    media_uri: str
    target_uri: str
    state: PlaybackState
    language: str = ""
    next_media_uri: str | None = None

    @classmethod
    def from_json(cls, data: Json) -> Playback:
        next_uri = data.get("next_media_uri")
        return cls(
            id=_str(data, "id"),
            media_uri=_str(data, "media_uri"),
            target_uri=_str(data, "target_uri"),
            state=PlaybackState.parse(data.get("state")),
            language=str(data.get("language", "")),
            next_media_uri=next_uri if isinstance(next_uri, str) else None,
        )


@dataclass(frozen=True, slots=True)
class LiveRecording:
    name: str
    format: str
    state: RecordingState
    target_uri: str
    duration: int | None = None
    talking_duration: int | None = None
    silence_duration: int | None = None
    cause: str | None = None

    @classmethod
    def from_json(cls, data: Json) -> LiveRecording:
        cause = data.get("cause")
        return cls(
            name=_str(data, "name"),
            format=_str(data, "format"),
            state=RecordingState.parse(data.get("state")),
            target_uri=str(data.get("target_uri", "")),
            duration=_opt_int(data, "duration"),
            talking_duration=_opt_int(data, "talking_duration"),
            silence_duration=_opt_int(data, "silence_duration"),
            cause=cause if isinstance(cause, str) else None,
        )


@dataclass(frozen=True, slots=True)
class StoredRecording:
    name: str
    format: str

    @classmethod
    def from_json(cls, data: Json) -> StoredRecording:
        return cls(name=_str(data, "name"), format=_str(data, "format"))


@dataclass(frozen=True, slots=True)
class Endpoint:
    technology: str
    resource: str
    state: str
    channel_ids: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Json) -> Endpoint:
        return cls(
            technology=_str(data, "technology"),
            resource=_str(data, "resource"),
            state=str(data.get("state", "unknown")),
            channel_ids=_str_list(data, "channel_ids"),
        )


@dataclass(frozen=True, slots=True)
class DeviceState:
    name: str
    state: str

    @classmethod
    def from_json(cls, data: Json) -> DeviceState:
        return cls(name=_str(data, "name"), state=_str(data, "state"))


@dataclass(frozen=True, slots=True)
class Application:
    name: str
    channel_ids: tuple[str, ...]
    bridge_ids: tuple[str, ...]
    endpoint_ids: tuple[str, ...]
    device_names: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Json) -> Application:
        return cls(
            name=_str(data, "name"),
            channel_ids=_str_list(data, "channel_ids"),
            bridge_ids=_str_list(data, "bridge_ids"),
            endpoint_ids=_str_list(data, "endpoint_ids"),
            device_names=_str_list(data, "device_names"),
        )


@dataclass(frozen=True, slots=True)
class AsteriskStatus:
    """`status` of `/asterisk/info`: a changed startup_time means Asterisk restarted."""

    startup_time: str
    last_reload_time: str

    @classmethod
    def from_json(cls, data: Json) -> AsteriskStatus:
        status = _obj(data, "status")
        return cls(
            startup_time=_str(status, "startup_time"),
            last_reload_time=str(status.get("last_reload_time", "")),
        )
