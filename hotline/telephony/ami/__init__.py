"""AMI (Asterisk Manager Interface) driver: a sans-I/O codec, an asyncio client, seat
presence from PJSIP registration and device state, and a fake Asterisk test peer.

Why our own codec rather than panoramisk 1.4: panoramisk decodes each TCP read on its
own, so a UTF-8 character (a Chinese caller name) split across two reads breaks; it
never times out an action and never checks the answer to its ping, so a silent dead
Asterisk goes unnoticed. Closing those gaps means rewriting its parser and connection
handling anyway; the protocol is small (``Key: value`` lines, an empty line per
message), so a ~200-line codec we can fuzz and an adapter we control cost less than a
patched dependency.

Layout: ``codec`` (bytes <-> frozen messages, no I/O), ``client`` (asyncio: login,
ActionID matching, lists, events, Ping keepalive, reconnect), ``presence`` (pure
tracker + monitor), ``fake_asterisk`` (the replaying test peer), ``errors``.
"""

from hotline.telephony.ami.client import (
    SECRET_ENV,
    AmiClient,
    AmiSettings,
    ConnectionState,
    EventSubscription,
    ListResult,
    OriginateResult,
)
from hotline.telephony.ami.codec import (
    Action,
    AmiDecoder,
    AmiMessage,
    Banner,
    Event,
    Response,
    Role,
    encode_action,
    encode_headers,
)
from hotline.telephony.ami.errors import (
    AmiActionError,
    AmiConfigError,
    AmiConnectionLost,
    AmiError,
    AmiLoginError,
    AmiProtocolError,
    AmiTimeoutError,
    EventsLost,
    UnsafeActionError,
)
from hotline.telephony.ami.presence import (
    DeviceState,
    PresenceCause,
    PresenceMonitor,
    PresenceTracker,
    SeatPresence,
)

__all__ = [
    "SECRET_ENV",
    "Action",
    "AmiActionError",
    "AmiClient",
    "AmiConfigError",
    "AmiConnectionLost",
    "AmiDecoder",
    "AmiError",
    "AmiLoginError",
    "AmiMessage",
    "AmiProtocolError",
    "AmiSettings",
    "AmiTimeoutError",
    "Banner",
    "ConnectionState",
    "DeviceState",
    "Event",
    "EventSubscription",
    "EventsLost",
    "ListResult",
    "OriginateResult",
    "PresenceCause",
    "PresenceMonitor",
    "PresenceTracker",
    "Response",
    "Role",
    "SeatPresence",
    "UnsafeActionError",
    "encode_action",
    "encode_headers",
]
