"""AGI commands: a serialiser that cannot be talked into a second command, and the
typed reading of each command's `200 result=` reply.

How Asterisk reads a command line (res_agi.c `run_agi`, `parse_args`): it reads up to
`\\n` into a 2048-byte buffer (a longer line is cut and the rest runs as the *next*
command), then splits on spaces and tabs; `"` groups, `\\` makes the next character
literal. So every argument we send is either a bare word with none of `" \\` space tab,
or quoted with `"` and `\\` escaped; newline, CR, NUL and other control characters
(except tab) are refused, as is a line that would not fit the buffer. Refusal is
`UnsafeArgument`, a `ValueError`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from hotline.telephony.agi.codec import Reply, Result
from hotline.telephony.agi.errors import AgiProtocolError, UnsafeArgument

__all__ = [
    "DTMF_DIGITS",
    "MAX_COMMAND_BYTES",
    "AgiCommand",
    "ChannelState",
    "DigitsResult",
    "PlaybackResult",
    "RecordEnd",
    "RecordingResult",
    "ascii_digit",
    "build",
    "command_line",
    "parse_args",
    "quote_argument",
]

# Asterisk's read buffer is 2048 bytes including the newline and the C terminator.
MAX_COMMAND_BYTES = 2000
# parse_args keeps at most MAX_ARGS - 1 words and silently drops the rest.
MAX_ARGS = 127
DTMF_DIGITS = frozenset("0123456789*#ABCD")

_COMMAND_NAME = re.compile(r"[A-Za-z][A-Za-z_]*(?: [A-Za-z][A-Za-z_]*)*")
# The names AgiSession's typed helpers send (checked once here, not per command).
_SESSION_COMMANDS = frozenset({
    "ANSWER", "CHANNEL STATUS", "EXEC", "GET DATA", "GET FULL VARIABLE", "GET VARIABLE",
    "HANGUP", "NOOP", "RECORD FILE", "SAY ALPHA", "SAY DIGITS", "SAY NUMBER", "SET VARIABLE",
    "STREAM FILE", "VERBOSE", "WAIT FOR DIGIT",
})
_BARE = re.compile(r'[^\s"\\\x00-\x1f\x7f]+')
_REFUSED = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def quote_argument(arg: str) -> str:
    """One argument as Asterisk's parse_args will read it back, or `UnsafeArgument`."""
    if not isinstance(arg, str):
        raise UnsafeArgument(f"argument must be str, not {type(arg).__name__}")
    # Most arguments are plain words (file names, digits, variable names): a bare word
    # holds no space, quote, backslash or control character, so it goes out as it is.
    if _BARE.fullmatch(arg) is not None:
        if not arg.isascii():
            _check_utf8(arg)
        return arg
    bad = _REFUSED.search(arg)
    if bad is not None:
        raise UnsafeArgument(f"control character {bad.group()!r} in an AGI argument")
    _check_utf8(arg)
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_utf8(arg: str) -> None:
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeArgument("argument is not encodable as UTF-8") from None


def command_line(name: str, args: tuple[str, ...] = ()) -> bytes:
    """The bytes on the wire for command `name` (its words, `GET VARIABLE`) with `args`,
    ending with the only newline; `UnsafeArgument` when the name is not command words,
    an argument cannot be quoted, or the line would not fit Asterisk's buffer."""
    if name not in _SESSION_COMMANDS and _COMMAND_NAME.fullmatch(name) is None:
        raise UnsafeArgument(f"not an AGI command name: {name!r}")
    if name.count(" ") + 1 + len(args) > MAX_ARGS:
        raise UnsafeArgument(f"{name}: more than {MAX_ARGS} words (Asterisk drops the rest)")
    data = (" ".join([name, *[quote_argument(a) for a in args]]) + "\n").encode("utf-8")
    if len(data) > MAX_COMMAND_BYTES:
        raise UnsafeArgument(
            f"{name}: command line of {len(data)} bytes exceeds {MAX_COMMAND_BYTES}"
        )
    return data


@dataclass(frozen=True, slots=True)
class AgiCommand:
    """One command line: the command's words (`STREAM FILE`) and its arguments."""

    name: str
    args: tuple[str, ...] = ()

    def line(self) -> bytes:
        """The bytes on the wire (`command_line`)."""
        return command_line(self.name, self.args)


def build(name: str, *args: str) -> AgiCommand:
    """Check and build a command; `name` is its words (`GET VARIABLE`), `args` any text."""
    command = AgiCommand(name, args)
    command.line()  # refuse now, not when it is about to be written
    return command


def parse_args(line: str) -> list[str]:
    """Asterisk's own `parse_args` (res_agi.c), in Python: how Asterisk splits a line.

    Used by the tests and the test peer to check what Asterisk would understand.
    """
    args: list[str] = []
    current: list[str] | None = None
    quoted = escaped = False
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and current is None:
                current = []
                args.append("")
            continue
        if ch in " \t" and not quoted and not escaped:
            if current is not None:
                args[-1] = "".join(current)
            current = None
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if current is None:
            current = []
            args.append("")
        current.append(ch)
        escaped = False
    if current is not None:
        args[-1] = "".join(current)
    return args


def ascii_digit(result: Result) -> str | None:
    """STREAM FILE, WAIT FOR DIGIT, SAY *: `result` is the key's ASCII code, 0 = none."""
    code = result.as_int()
    if code == 0:
        return None
    if code < 0:
        raise AgiProtocolError("negative digit code (a failure) read as a digit")
    if code > 0x7F or chr(code) not in DTMF_DIGITS:
        raise AgiProtocolError(f"result {code} is not a DTMF key")
    return chr(code)


class ChannelState(enum.IntEnum):
    """CHANNEL STATUS results."""

    DOWN_AVAILABLE = 0
    DOWN_RESERVED = 1
    OFF_HOOK = 2
    DIGITS_DIALLED = 3
    RINGING = 4
    REMOTE_RINGING = 5
    UP = 6
    BUSY = 7


@dataclass(frozen=True, slots=True)
class PlaybackResult:
    """STREAM FILE: the key that stopped it (None = played to the end), where it
    stopped in samples, and whether it failed (missing file, or the caller hung up)."""

    digit: str | None
    endpos: int
    failed: bool = False

    @classmethod
    def from_reply(cls, result: Result) -> PlaybackResult:
        endpos = result.endpos or 0
        if result.as_int() < 0:
            return cls(digit=None, endpos=endpos, failed=True)
        return cls(digit=ascii_digit(result), endpos=endpos)


@dataclass(frozen=True, slots=True)
class DigitsResult:
    """GET DATA: the digits themselves (a terminating `#` is never included), and
    whether it ended on the timeout rather than on max digits or `#`."""

    digits: str
    timed_out: bool = False

    @classmethod
    def from_reply(cls, result: Result) -> DigitsResult:
        if result.result == "-1":
            raise AgiProtocolError("GET DATA failed (-1) read as digits")
        if any(ch not in DTMF_DIGITS for ch in result.result):
            raise AgiProtocolError(f"GET DATA result is not digits: {result.result!r}")
        if result.value not in (None, "timeout"):
            raise AgiProtocolError(f"GET DATA with unexpected value {result.value!r}")
        return cls(digits=result.result, timed_out=result.value == "timeout")


class RecordEnd(enum.Enum):
    """Why RECORD FILE stopped."""

    DTMF = "dtmf"
    TIMEOUT = "timeout"  # the maximum time, or the silence limit
    HANGUP = "hangup"
    ERROR = "error"  # randomerror / writefile, or no reason given with -1


@dataclass(frozen=True, slots=True)
class RecordingResult:
    """RECORD FILE: why it ended, the key if a key ended it, and the end in samples."""

    end: RecordEnd
    digit: str | None
    endpos: int

    @classmethod
    def from_reply(cls, result: Result) -> RecordingResult:
        code = result.as_int()
        endpos = result.endpos or 0
        reason = result.value
        if reason == "dtmf":
            return cls(RecordEnd.DTMF, ascii_digit(result), endpos)
        if reason == "timeout":
            return cls(RecordEnd.TIMEOUT, None, endpos)
        if reason == "hangup":
            return cls(RecordEnd.HANGUP, None, endpos)
        if code < 0 or reason is not None:
            return cls(RecordEnd.ERROR, None, endpos)
        # No reason and no failure: a key ended it (older Asterisk wording).
        return cls(RecordEnd.DTMF, ascii_digit(result), endpos)


def describe(reply: Reply) -> str:
    """A short human text of a reply for logs and errors."""
    if isinstance(reply, Result):
        value = "" if reply.value is None else f" ({reply.value})"
        return f"200 result={reply.result}{value}"
    return f"{reply.code} {reply.message}"
