"""The AGI package's errors. The codec raises only `AgiProtocolError`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hotline.telephony.agi.codec import Reply

__all__ = [
    "AgiCommandError",
    "AgiConnectionLost",
    "AgiDeadChannel",
    "AgiError",
    "AgiProtocolError",
    "AgiTimeout",
    "UnsafeArgument",
]


class AgiError(Exception):
    """Base of every error this package raises."""


class AgiProtocolError(AgiError):
    """The peer sent something Asterisk never sends; the connection cannot go on."""


class UnsafeArgument(AgiError, ValueError):
    """A command argument that cannot be put on the wire as exactly one argument of
    exactly one command line (newline, CR, NUL, too long, out of range, ...)."""


class AgiCommandError(AgiError):
    """Asterisk refused a command (510, 520, another 5xx, or a failure result)."""

    def __init__(self, command: str, reply: Reply | None, message: str = "") -> None:
        self.command = command
        self.reply = reply
        detail = message or (repr(reply) if reply is not None else "failed")
        super().__init__(f"{command}: {detail}")


class AgiDeadChannel(AgiCommandError):
    """`511`: the channel has hung up; the command needs a live channel."""


class AgiTimeout(AgiError):
    """No reply within the command's timeout; the session is closed (a late reply
    could otherwise be taken for the next command's)."""


class AgiConnectionLost(AgiError):
    """The socket closed (or the session was finished) before the reply came."""
