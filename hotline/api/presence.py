"""Seat presence as the API sees it: is the softphone on a seat registered, where, and in
what device state.

The API does not talk to Asterisk. Whoever builds `Services` may pass a
`SeatPresenceSource` (an adapter over the AMI presence monitor); without one, the
seat grid shows registration as unknown rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SoftphoneStatus:
    registered: bool  # at least one contact is reachable
    contact: str  # the registered contact URI, "" when none
    device_state: str  # Asterisk device state, e.g. "NOT_INUSE", "UNAVAILABLE"
    since: float  # epoch seconds of the last change


class SeatPresenceSource(Protocol):
    def softphone(self, endpoint: str) -> SoftphoneStatus | None:
        """Status of `endpoint` (e.g. ``PJSIP/8001``); None when the source knows nothing
        of it (not yet seen, or not a tracked technology)."""
        ...
