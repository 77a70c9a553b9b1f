"""FastAGI: a sans-I/O AGI codec (`codec`, `commands`), a thin asyncio server
(`server`), and a fake Asterisk that replays recorded sessions (`fake_asterisk`).

Why not pyst2 (the usual Python AGI library): its argument quoting wraps text in `"`
without escaping, so a caller-supplied quote and newline inject a second command; its
reply parser raises ValueError on the unsolicited `HANGUP` line Asterisk sends at any
time; and its FastAGI module does not import on Python 3. Here every argument is
escaped the way Asterisk's `parse_args` reads it (or refused), `HANGUP` is an event, and
the codec raises only `AgiProtocolError`.

Handing a call to the ARI application: a driver runs the IVR over `AgiSession`, then
sets channel variables (`set_variable`) and calls `finish()`; AGI() returns and the
dialplan's next priority enters `Stasis()`, where the ARI driver takes over (see
`AgiSession`). Audio for speech cannot come over `agi://` (no EAGI): use ARI
externalMedia or a recording.
"""

from hotline.telephony.agi.codec import (
    NEED_DATA,
    AgiConnection,
    AgiEnvironment,
    CommandFailed,
    ConnectionClosed,
    DeadChannel,
    Event,
    HangupRequested,
    InvalidCommand,
    Reply,
    Result,
    UsageError,
)
from hotline.telephony.agi.commands import (
    AgiCommand,
    ChannelState,
    DigitsResult,
    PlaybackResult,
    RecordEnd,
    RecordingResult,
    build,
    quote_argument,
)
from hotline.telephony.agi.errors import (
    AgiCommandError,
    AgiConnectionLost,
    AgiDeadChannel,
    AgiError,
    AgiProtocolError,
    AgiTimeout,
    UnsafeArgument,
)
from hotline.telephony.agi.server import AgiHandler, AgiServer, AgiSession, AgiSettings

__all__ = [
    "NEED_DATA",
    "AgiCommand",
    "AgiCommandError",
    "AgiConnection",
    "AgiConnectionLost",
    "AgiDeadChannel",
    "AgiEnvironment",
    "AgiError",
    "AgiHandler",
    "AgiProtocolError",
    "AgiServer",
    "AgiSession",
    "AgiSettings",
    "AgiTimeout",
    "ChannelState",
    "CommandFailed",
    "ConnectionClosed",
    "DeadChannel",
    "DigitsResult",
    "Event",
    "HangupRequested",
    "InvalidCommand",
    "PlaybackResult",
    "RecordEnd",
    "RecordingResult",
    "Reply",
    "Result",
    "UnsafeArgument",
    "UsageError",
    "build",
    "quote_argument",
]
