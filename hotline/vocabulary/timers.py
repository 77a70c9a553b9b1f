"""Typed owners and kinds of the ACD's timers, with the stable string forms used on the wire.

`StartTimer.call_id` / `TimerFired.call_id` stay plain strings (drivers and the runtime
only carry them back), so every owner has one string form and `parse_owner` reads it
back: a seat is ``acd:seat:<agent>``, the centre ``acd:centre``, and a waiting place
(call or callback request) is its own id, so a call's timers travel with the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

_SEAT_PREFIX = "acd:seat:"
_CENTRE = "acd:centre"


class TimerKind(StrEnum):
    """What a timer is for; every ACD timer name starts with ``acd.`` (routing rule)."""

    EXPAND = "acd.expand"
    ANNOUNCE = "acd.announce"
    OVERFLOW = "acd.overflow"
    MAX_WAIT = "acd.max-wait"
    WAIT_CHECK = "acd.wait-check"  # re-estimates the wait for `expected_wait_over_s`
    RETRY = "acd.callback-retry"
    RING_GUARD = "acd.ring-guard"  # a ring the driver never reported back on
    DIAL_GUARD = "acd.dial-guard"  # a callback dial the driver never reported back on
    CALLING_HOURS = "acd.calling-hours"  # a callback's calling hours open or close
    CALLBACK_DUE = "acd.callback-due"  # the promised callback time passed
    WRAP_UP = "acd.wrap-up"
    PAUSE_LIMIT = "acd.pause-limit"
    MODE_RETURN = "acd.mode-return"


@dataclass(frozen=True, slots=True)
class SeatOwner:
    agent_id: str

    @property
    def wire(self) -> str:
        return _SEAT_PREFIX + self.agent_id


@dataclass(frozen=True, slots=True)
class CentreOwner:
    @property
    def wire(self) -> str:
        return _CENTRE


@dataclass(frozen=True, slots=True)
class EntryOwner:
    """A call or a callback request holding a place (its id is the wire form)."""

    entry_id: str

    @property
    def wire(self) -> str:
        return self.entry_id


TimerOwner = SeatOwner | CentreOwner | EntryOwner
CENTRE = CentreOwner()


def parse_owner(wire: str) -> TimerOwner:
    """The owner a timer's ``call_id`` names (the inverse of ``owner.wire``)."""
    if wire == _CENTRE:
        return CENTRE
    if wire.startswith(_SEAT_PREFIX):
        return SeatOwner(wire[len(_SEAT_PREFIX):])
    return EntryOwner(wire)
