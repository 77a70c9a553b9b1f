"""The speech audio path of the Asterisk bridge: externalMedia audio to the recogniser.

Sans-I/O codecs (`rtp`, `audiosocket`), thin asyncio transports (`rtp_endpoint`,
`audiosocket_server`), the `router` that hands a call's audio to its open recognition,
and the `bridge` the ARI driver calls for each `Recognize`. Audio never reaches the
kernel's task; only the resulting `SpeechStarted` / `SpeechRecognized` / `NoInput` do.
"""

from hotline.telephony.media.audiosocket_server import AudioSocketServer, call_uuid
from hotline.telephony.media.bridge import Listening, Post, SpeechBridge
from hotline.telephony.media.errors import MediaProtocolError
from hotline.telephony.media.router import AudioInbox, MediaRouter
from hotline.telephony.media.rtp_endpoint import RtpEndpoint

__all__ = [
    "AudioInbox",
    "AudioSocketServer",
    "Listening",
    "MediaProtocolError",
    "MediaRouter",
    "Post",
    "RtpEndpoint",
    "SpeechBridge",
    "call_uuid",
]
