"""Sans-I/O AMI codec: bytes in, frozen messages out; actions out as safe bytes.

The wire (Asterisk 20, see ``shared/asterisk/traces/ami``): a one-line banner
``Asterisk Call Manager/9.0.0``, then messages made of ``Key: value`` lines, each message
ended by an empty line. Lines end in CRLF, but Asterisk itself accepts bare LF and once
sends ``Message: No Contacts found\\n\\r\\n\\r\\n``, so a line ends at LF and a trailing CR
is dropped; blank lines between messages are ignored.

Bytes are kept until a whole message is in and only then decoded as UTF-8, so a Chinese
caller name split between two TCP reads survives. Undecodable bytes become U+FFFD
instead of killing the connection: a softphone with a GBK display name must not make
the whole AMI link reconnect forever.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hotline.telephony.ami.errors import AmiProtocolError, UnsafeActionError

BANNER_PREFIX = "Asterisk Call Manager/"
DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024
_FORBIDDEN = ("\r", "\n", "\0")

Fields = Mapping[str, str] | Iterable[tuple[str, str]]


class Role(enum.Enum):
    """Which side of the socket decodes: the client reads a banner, responses and
    events; a server (our test peer) reads actions."""

    CLIENT = "client"
    SERVER = "server"


@dataclass(frozen=True, slots=True)
class Banner:
    """The first line Asterisk sends, e.g. ``Asterisk Call Manager/9.0.0``."""

    text: str

    @property
    def version(self) -> str:
        return self.text.removeprefix(BANNER_PREFIX)


@dataclass(frozen=True, slots=True)
class AmiMessage:
    """Headers in wire order; keys may repeat (``Variable``, ``ChanVariable``)."""

    headers: tuple[tuple[str, str], ...]

    def get(self, key: str, default: str | None = None) -> str | None:
        """First value for ``key``; AMI keys compare case-insensitively."""
        wanted = key.lower()
        for k, v in self.headers:
            if k.lower() == wanted:
                return v
        return default

    def get_all(self, key: str) -> tuple[str, ...]:
        wanted = key.lower()
        return tuple(v for k, v in self.headers if k.lower() == wanted)

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")


@dataclass(frozen=True, slots=True)
class Response(AmiMessage):
    """``Response: Success|Error|Goodbye|Follows`` answering one action."""

    status: str

    @property
    def is_error(self) -> bool:
        return self.status.lower() == "error"

    @property
    def message(self) -> str:
        return (self.get("Message") or "").strip()

    @property
    def starts_list(self) -> bool:
        return (self.get("EventList") or "").lower() == "start"


@dataclass(frozen=True, slots=True)
class Event(AmiMessage):
    """``Event: <name>``: unsolicited, or one item of a list action."""

    name: str

    @property
    def completes_list(self) -> bool:
        return (self.get("EventList") or "").lower() == "complete"


@dataclass(frozen=True, slots=True)
class Action(AmiMessage):
    """``Action: <name>`` as a server (our test peer) reads it."""

    name: str


ServerMessage = Banner | Response | Event
Message = Banner | Response | Event | Action


class _Stage(enum.Enum):
    BANNER = "banner"
    MESSAGES = "messages"
    FAILED = "failed"


class AmiDecoder:
    """Feed bytes with `receive_data`, take messages with `next_message` (or `feed`).

    After an `AmiProtocolError` the decoder stays failed: the stream has lost framing.
    """

    def __init__(
        self, role: Role = Role.CLIENT, *, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    ) -> None:
        if max_message_bytes < 64:
            raise ValueError("max_message_bytes is too small for any AMI message")
        self._role = role
        self._max = max_message_bytes
        self._buf = bytearray()
        self._pos = 0
        self._lines: list[bytes] = []
        self._pending = 0  # bytes of the message being gathered, line ends included
        self._stage = _Stage.BANNER if role is Role.CLIENT else _Stage.MESSAGES
        self._error: AmiProtocolError | None = None

    @property
    def mid_message(self) -> bool:
        """True when bytes of an unfinished message are buffered (EOF now loses them)."""
        return bool(self._lines) or len(self._buf) > self._pos

    def receive_data(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._buf += data

    def feed(self, data: bytes) -> list[Message]:
        self.receive_data(data)
        out: list[Message] = []
        while (message := self.next_message()) is not None:
            out.append(message)
        return out

    def next_message(self) -> Message | None:
        if self._error is not None:
            raise self._error
        try:
            return self._next()
        except AmiProtocolError as exc:
            self._fail(exc)
            raise

    def _fail(self, exc: AmiProtocolError) -> None:
        self._error = exc
        self._stage = _Stage.FAILED
        self._buf.clear()
        self._pos = 0
        self._lines.clear()

    def _next(self) -> Message | None:
        while True:
            newline = self._buf.find(b"\n", self._pos)
            if newline < 0:
                if self._pending + len(self._buf) - self._pos > self._max:
                    raise AmiProtocolError(f"AMI message exceeds {self._max} bytes")
                self._compact()
                return None
            raw = bytes(self._buf[self._pos : newline])
            size = newline + 1 - self._pos
            self._pos = newline + 1
            if self._pending + size > self._max:
                raise AmiProtocolError(f"AMI message exceeds {self._max} bytes")
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if self._stage is _Stage.BANNER:
                self._stage = _Stage.MESSAGES
                return _banner(line)
            if line:
                self._lines.append(line)
                self._pending += size
                continue
            if not self._lines:
                continue  # stray blank line between messages
            lines, self._lines, self._pending = self._lines, [], 0
            return self._build(lines)

    def _compact(self) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0

    def _build(self, lines: list[bytes]) -> Message:
        headers = tuple(_header(line) for line in lines)
        first_key = headers[0][0].lower()
        if self._role is Role.SERVER:
            if first_key != "action":
                raise AmiProtocolError("AMI request does not start with Action:")
            return Action(headers, headers[0][1])
        if first_key == "event":
            return Event(headers, headers[0][1])
        if first_key == "response":
            return Response(headers, headers[0][1])
        raise AmiProtocolError("AMI message is neither a Response nor an Event")


def _banner(line: bytes) -> Banner:
    text = line.decode("utf-8", errors="replace")
    if not text.startswith(BANNER_PREFIX):
        raise AmiProtocolError("peer is not an Asterisk manager (bad banner)")
    return Banner(text)


def _header(line: bytes) -> tuple[str, str]:
    key, colon, value = line.decode("utf-8", errors="replace").partition(":")
    if not colon or not key.strip():
        raise AmiProtocolError("AMI line without a 'Key:'")
    # Exactly one space follows the colon on the wire; anything else belongs to the value.
    return key.strip(), value[1:] if value.startswith(" ") else value


# -- encoding ----------------------------------------------------------------------------


def _pairs(fields: Fields) -> list[tuple[str, str]]:
    if isinstance(fields, Mapping):
        return [(str(k), str(v)) for k, v in fields.items()]
    return [(str(k), str(v)) for k, v in fields]


def check_key(key: str) -> None:
    if not key or key != key.strip() or ":" in key or any(c in key for c in _FORBIDDEN):
        raise UnsafeActionError(f"unusable AMI header name {key!r}")


def check_value(key: str, value: str) -> None:
    if any(c in value for c in _FORBIDDEN):
        # The value itself is not echoed: it may be a secret.
        raise UnsafeActionError(f"AMI header {key!r} holds CR, LF or NUL")


def encode_headers(headers: Iterable[tuple[str, str]]) -> bytes:
    """One message (Key: value lines and the closing empty line); refuses injection."""
    out: list[str] = []
    for key, value in headers:
        check_key(key)
        check_value(key, value)
        out.append(f"{key}: {value}\r\n")
    if not out:
        raise UnsafeActionError("an AMI message needs at least one header")
    out.append("\r\n")
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeActionError("AMI header holds a lone surrogate (not UTF-8)") from None


def encode_action(name: str, action_id: str, fields: Fields = ()) -> bytes:
    """``Action: name``, the fields in order, then ``ActionID`` (always present)."""
    check_value("Action", name)
    check_value("ActionID", action_id)
    if not name.strip() or not action_id.strip():
        raise UnsafeActionError("an AMI action needs a name and an ActionID")
    pairs = _pairs(fields)
    for key, _ in pairs:
        if key.lower() in ("action", "actionid"):
            raise UnsafeActionError(f"{key} is set by the encoder, not by the caller")
    return encode_headers([("Action", name), *pairs, ("ActionID", action_id)])
