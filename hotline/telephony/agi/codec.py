"""Sans-I/O AGI codec: bytes from Asterisk in, typed events out; commands out as bytes.

No sockets, no asyncio (the h11 shape): feed what the socket gave with `receive_data`,
pull events with `next_event` until it says `NEED_DATA`, and turn commands into wire
bytes with `send`. Anything Asterisk could not have sent raises `AgiProtocolError` and
nothing else; after that the connection is unusable.

The wire, as recorded from Asterisk 20 (../shared/asterisk/traces/agi):
- the environment: `agi_<name>: <value>` lines ending with an empty line;
- one reply per command: `200 result=<r>[ (<value>)][ endpos=<n>]`, `510 ...`, `511 ...`,
  or a `520-` block that ends with the line `520 End of proper usage.`;
- `HANGUP`, unsolicited, at any moment between lines (even between a command and its
  reply).
"""

from __future__ import annotations

import enum
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qsl

from hotline.telephony.agi.errors import AgiProtocolError

__all__ = [
    "MAX_REPLY_LINE_BYTES",
    "NEED_DATA",
    "AgiConnection",
    "AgiEnvironment",
    "CommandFailed",
    "ConnectionClosed",
    "DeadChannel",
    "Event",
    "HangupRequested",
    "InvalidCommand",
    "NeedData",
    "Reply",
    "Result",
    "UsageError",
]

# A GET VARIABLE of a long value is one long line; a line past this is not Asterisk.
MAX_REPLY_LINE_BYTES = 64 * 1024
# The environment has about 25 lines plus the AGI() arguments (at most 127 of them).
MAX_ENV_LINES = 512

_ENV_KEY = re.compile(r"agi_[a-z0-9_]+")
_ARG_KEY = re.compile(r"agi_arg_([1-9][0-9]*)")
_CODE = re.compile(r"([1-9][0-9]{2})([ -])(.*)", re.DOTALL)
_RESULT = re.compile(r"result=([^ ]*)(?: \((.*)\))?((?: [a-z][a-z0-9_]*=[^ ()]*)*)", re.DOTALL)


class NeedData(enum.Enum):
    """`next_event` has nothing complete yet: feed more bytes."""

    NEED_DATA = "need-data"


NEED_DATA = NeedData.NEED_DATA


def _known(value: str) -> str | None:
    # Asterisk writes "unknown" for an absent caller id, DNID or RDNIS.
    return None if value in ("", "unknown") else value


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    """The `agi_*` block Asterisk sends first. `variables` keeps every line as sent
    (names without the `agi_` prefix); the common ones are typed properties."""

    variables: Mapping[str, str]
    args: tuple[str, ...] = ()

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> AgiEnvironment:
        variables: dict[str, str] = {}
        numbered: dict[int, str] = {}
        for key, value in pairs:
            if key in variables:
                raise AgiProtocolError(f"environment line agi_{key} repeated")
            variables[key] = value
            match = _ARG_KEY.fullmatch("agi_" + key)
            if match is not None:
                numbered[int(match.group(1))] = value
        if sorted(numbered) != list(range(1, len(numbered) + 1)):
            raise AgiProtocolError("agi_arg_N lines are not numbered 1..N")
        args = tuple(numbered[n] for n in sorted(numbered))
        return cls(variables=MappingProxyType(variables), args=args)

    def get(self, name: str, default: str = "") -> str:
        return self.variables.get(name, default)

    @property
    def network_script(self) -> str:
        """`hotline?lang=en` for `agi://host:port/hotline?lang=en` (query kept)."""
        return self.get("network_script")

    @property
    def script(self) -> str:
        """The script path without its query string: `hotline`."""
        return self.network_script.partition("?")[0]

    @property
    def query(self) -> tuple[tuple[str, str], ...]:
        """The script's query string as ordered pairs: `(("lang", "en"),)`."""
        return tuple(parse_qsl(self.network_script.partition("?")[2], keep_blank_values=True))

    @property
    def request(self) -> str:
        return self.get("request")

    @property
    def channel(self) -> str:
        return self.get("channel")

    @property
    def channel_type(self) -> str:
        return self.get("type")

    @property
    def uniqueid(self) -> str:
        return self.get("uniqueid")

    @property
    def language(self) -> str:
        return self.get("language")

    @property
    def caller_number(self) -> str | None:
        return _known(self.get("callerid"))

    @property
    def caller_name(self) -> str | None:
        return _known(self.get("calleridname"))

    @property
    def dialled_number(self) -> str | None:
        """The DNID: the number the caller dialled (None when Asterisk has none)."""
        return _known(self.get("dnid"))

    @property
    def redirecting_number(self) -> str | None:
        return _known(self.get("rdnis"))

    @property
    def context(self) -> str:
        return self.get("context")

    @property
    def extension(self) -> str:
        """The dialplan extension running AGI() (the dialled number on a DID route)."""
        return self.get("extension")

    @property
    def priority(self) -> int:
        try:
            return int(self.get("priority", "0"))
        except ValueError:
            return 0

    @property
    def version(self) -> str:
        return self.get("version")


@dataclass(frozen=True, slots=True)
class Result:
    """`200 result=<result>[ (<value>)][ key=value ...]`. `result` stays text: GET
    DATA's digits keep leading zeros and may be empty."""

    result: str
    value: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()

    @property
    def code(self) -> int:
        return 200

    @property
    def endpos(self) -> int | None:
        for key, value in self.attributes:
            if key == "endpos":
                try:
                    return int(value)
                except ValueError:
                    raise AgiProtocolError(f"endpos is not a number: {value!r}") from None
        return None

    def as_int(self) -> int:
        try:
            return int(self.result)
        except ValueError:
            raise AgiProtocolError(f"result is not a number: {self.result!r}") from None


@dataclass(frozen=True, slots=True)
class InvalidCommand:
    """`510 Invalid or unknown command`."""

    message: str

    @property
    def code(self) -> int:
        return 510


@dataclass(frozen=True, slots=True)
class DeadChannel:
    """`511 Command Not Permitted on a dead channel or intercept routine`."""

    message: str

    @property
    def code(self) -> int:
        return 511


@dataclass(frozen=True, slots=True)
class UsageError:
    """`520`: bad syntax; `usage` holds the lines between `520-...` and the last line."""

    message: str
    usage: tuple[str, ...] = ()

    @property
    def code(self) -> int:
        return 520


@dataclass(frozen=True, slots=True)
class CommandFailed:
    """Any other 5xx reply (e.g. `503 result=-2 Memory allocation failure`)."""

    status: int
    message: str

    @property
    def code(self) -> int:
        return self.status


@dataclass(frozen=True, slots=True)
class HangupRequested:
    """The unsolicited `HANGUP` line: the caller has gone (the AGI link stays open)."""


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """Asterisk closed the socket (after `receive_data(b"")`)."""


Reply = Result | InvalidCommand | DeadChannel | UsageError | CommandFailed
Event = AgiEnvironment | Reply | HangupRequested | ConnectionClosed


class _State(enum.Enum):
    ENVIRONMENT = "environment"
    REPLIES = "replies"
    USAGE = "usage"  # inside a 520- block
    CLOSED = "closed"
    ERROR = "error"


# The parser reads its state several times per line; a member looked up through the
# enum class costs a descriptor call each time, a module constant does not.
_ENVIRONMENT = _State.ENVIRONMENT
_REPLIES = _State.REPLIES
_USAGE = _State.USAGE
_CLOSED = _State.CLOSED
_ERROR = _State.ERROR


def parse_result(text: str) -> Result:
    """Parse the part after `200 `: `result=...` with optional value and attributes.

    The value may hold parentheses and spaces; attributes never hold `)`, so the value
    ends at the last `)` (the greedy group)."""
    match = _RESULT.fullmatch(text)
    if match is None:
        if not text.startswith("result="):
            raise AgiProtocolError(f"200 reply without result=: {text!r}")
        raise AgiProtocolError(f"unexpected text after result: {text!r}")
    token, value, rest = match.groups()
    if not rest:
        return Result(token, value)
    attributes = tuple(
        (key, val) for key, _, val in (pair.partition("=") for pair in rest[1:].split(" "))
    )
    return Result(token, value, attributes)


@dataclass(slots=True)
class AgiConnection:
    """One AGI conversation, seen from the AGI application (our side).

    Replies must match commands one to one: a reply with no command outstanding is a
    protocol error, so a confused peer is noticed at once rather than a reply being
    handed to the wrong command.
    """

    max_line_bytes: int = MAX_REPLY_LINE_BYTES
    _buffer: bytearray = field(default_factory=bytearray)
    _scan_from: int = 0
    _eof: bool = False
    _state: _State = _ENVIRONMENT
    _env_pairs: list[tuple[str, str]] = field(default_factory=list)
    _usage_first: str = ""
    _usage_lines: list[str] = field(default_factory=list)
    _outstanding: int = 0
    _events: deque[Event] = field(default_factory=deque)

    @property
    def outstanding(self) -> int:
        """Commands sent whose reply has not come yet."""
        return self._outstanding

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the socket; `b""` means the peer closed it."""
        if self._state is _ERROR:
            raise AgiProtocolError("connection already failed")
        if self._eof:
            if data:
                raise AgiProtocolError("data after end of stream")
            return
        if data:
            self._buffer += data
        else:
            self._eof = True

    def next_event(self) -> Event | NeedData:
        """The next complete event, or `NEED_DATA`. `ConnectionClosed` is final."""
        if self._events:
            return self._events.popleft()
        if self._state is _ERROR:
            raise AgiProtocolError("connection already failed")
        if self._state is _CLOSED:
            return ConnectionClosed()
        if not self._buffer and not self._eof:
            return NEED_DATA  # the usual end of a read: every line consumed
        try:
            while not self._events:
                line = self._next_line()
                if line is None:
                    break
                state = self._state
                if state is _REPLIES:
                    self._reply_line(line)
                elif state is _ENVIRONMENT:
                    self._environment_line(line)
                else:
                    self._usage_line(line)
        except AgiProtocolError:
            self._state = _ERROR
            raise
        if self._events:
            return self._events.popleft()
        if self._eof:
            if self._buffer:
                self._state = _ERROR
                raise AgiProtocolError("connection closed in the middle of a line")
            if self._state is _USAGE:
                self._state = _ERROR
                raise AgiProtocolError("connection closed inside a 520 usage block")
            self._state = _CLOSED
            return ConnectionClosed()
        return NEED_DATA

    def send(self, command: bytes) -> bytes:
        """Account for one command line (already serialised and checked by
        `hotline.telephony.agi.commands`) and return the bytes to write."""
        if self._state in (_CLOSED, _ERROR):
            raise AgiProtocolError("cannot send on a closed or failed connection")
        if not command.endswith(b"\n") or command.count(b"\n") != 1:
            raise AgiProtocolError("a command is exactly one line ending in \\n")
        self._outstanding += 1
        return command

    def _next_line(self) -> str | None:
        """The next complete line, without its `\n` (or `\r\n`), as text."""
        buffer = self._buffer
        end = buffer.find(b"\n", self._scan_from)
        if end < 0:
            self._scan_from = len(buffer)
            if len(buffer) > self.max_line_bytes:
                raise AgiProtocolError(f"line longer than {self.max_line_bytes} bytes")
            return None
        if end > self.max_line_bytes:
            raise AgiProtocolError(f"line longer than {self.max_line_bytes} bytes")
        raw = buffer[:end]
        del buffer[: end + 1]
        self._scan_from = 0
        if raw.find(0) >= 0:
            raise AgiProtocolError("NUL byte in a line")
        if raw.endswith(b"\r"):
            del raw[-1]
        # Asterisk passes caller names and variable values through as bytes; a non-UTF-8
        # caller name must not cost the call.
        return raw.decode("utf-8", errors="replace")

    def _environment_line(self, line: str) -> None:
        if line == "":
            self._events.append(AgiEnvironment.from_pairs(self._env_pairs))
            self._env_pairs = []
            self._state = _REPLIES
            return
        if line == "HANGUP":
            # The caller can go before the block is even finished.
            self._events.append(HangupRequested())
            return
        key, colon, value = line.partition(":")
        if not colon or _ENV_KEY.fullmatch(key) is None:
            raise AgiProtocolError(f"not an agi_ environment line: {line[:80]!r}")
        if len(self._env_pairs) >= MAX_ENV_LINES:
            raise AgiProtocolError("environment block too long")
        self._env_pairs.append((key[len("agi_") :], value.removeprefix(" ")))

    def _reply_line(self, line: str) -> None:
        if line.startswith("200 "):
            # The common reply first, without the general pattern.
            if self._outstanding == 0:
                raise AgiProtocolError(f"reply with no command outstanding: {line[:80]!r}")
            result = parse_result(line[4:])
            self._outstanding -= 1
            self._events.append(result)
            return
        if line == "HANGUP":
            self._events.append(HangupRequested())
            return
        match = _CODE.fullmatch(line)
        if match is None:
            raise AgiProtocolError(f"not an AGI reply: {line[:80]!r}")
        if self._outstanding == 0:
            raise AgiProtocolError(f"reply with no command outstanding: {line[:80]!r}")
        code, sep, text = int(match.group(1)), match.group(2), match.group(3)
        if sep == "-":
            if code != 520:
                raise AgiProtocolError(f"multi-line reply other than 520: {line[:80]!r}")
            self._usage_first = text
            self._usage_lines = []
            self._state = _USAGE
            return
        reply: Reply
        if code == 200:
            reply = parse_result(text)
        elif code == 510:
            reply = InvalidCommand(text)
        elif code == 511:
            reply = DeadChannel(text)
        elif code == 520:
            reply = UsageError(text)
        elif 500 <= code <= 599:
            reply = CommandFailed(code, text)
        else:
            raise AgiProtocolError(f"unexpected reply code {code}")
        self._outstanding -= 1
        self._events.append(reply)

    def _usage_line(self, line: str) -> None:
        # Asterisk writes the whole 520 block from one thread, so every line up to the
        # closing "520 " line is usage text (a HANGUP cannot land inside it).
        if line.startswith("520 "):
            self._outstanding -= 1
            self._events.append(UsageError(self._usage_first, tuple(self._usage_lines)))
            self._usage_lines = []
            self._state = _REPLIES
            return
        if len(self._usage_lines) >= MAX_ENV_LINES:
            raise AgiProtocolError("520 usage block too long")
        self._usage_lines.append(line)
