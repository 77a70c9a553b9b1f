"""The states a seat (an agent's login on a softphone) can be in.

A `StrEnum`, so facts and snapshots serialise as plain strings ("ready", "wrap-up").
"""

from __future__ import annotations

from enum import StrEnum


class SeatState(StrEnum):
    LOGGED_OUT = "logged-out"
    READY = "ready"
    RINGING = "ringing"  # reserved for exactly one call (or one callback request)
    ON_CALL = "on-call"
    WRAP_UP = "wrap-up"
    PAUSED = "paused"
