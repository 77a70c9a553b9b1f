"""Asterisk ARI: typed REST client, supervised event websocket, and a fake Asterisk
(`fake_asterisk`) for tests. Translation to kernel events lives in the driver."""

from hotline.telephony.ari.config import PASSWORD_ENV, AriConfig
from hotline.telephony.ari.events import AriEvent, GenericEvent, parse_event, parse_frame
from hotline.telephony.ari.rest import AriClient, AriError, AriUnavailable, new_id
from hotline.telephony.ari.stream import (
    ApplicationTakenOver,
    AriEventStream,
    AsteriskRestarted,
    Connected,
    Disconnected,
    StreamItem,
    StreamState,
)

__all__ = [
    "PASSWORD_ENV",
    "ApplicationTakenOver",
    "AriClient",
    "AriConfig",
    "AriError",
    "AriEvent",
    "AriEventStream",
    "AriUnavailable",
    "AsteriskRestarted",
    "Connected",
    "Disconnected",
    "GenericEvent",
    "StreamItem",
    "StreamState",
    "new_id",
    "parse_event",
    "parse_frame",
]
