"""Every error the AMI package raises, one family under `AmiError`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hotline.telephony.ami.codec import Response


class AmiError(Exception):
    """Base of everything this package raises on purpose."""


class AmiProtocolError(AmiError):
    """The peer sent bytes that are not AMI (or too many of them); the connection is done."""


class UnsafeActionError(AmiError, ValueError):
    """An action key or value that could smuggle a header (CR, LF, NUL) or is malformed."""


class AmiConfigError(AmiError, ValueError):
    """Settings that cannot work (for instance the secret is missing from the environment)."""


class AmiLoginError(AmiError):
    """Asterisk refused the username/secret; the socket has been closed."""


class AmiActionError(AmiError):
    """Asterisk answered `Response: Error` to an action."""

    def __init__(self, action: str, response: Response) -> None:
        self.action = action
        self.response = response
        self.message = response.get("Message") or ""
        super().__init__(f"AMI action {action} failed: {self.message.strip() or 'no message'}")


class AmiTimeoutError(AmiError, TimeoutError):
    """No complete answer within the action's timeout."""


class AmiConnectionLost(AmiError, ConnectionError):
    """The connection dropped (or the client was closed) before the answer came."""


class EventsLost(AmiError):
    """A subscriber fell behind and its bounded queue dropped events: resynchronise."""

    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(f"{count} AMI event(s) dropped because the subscriber fell behind")
