"""The ACD kernel's own exceptions.

An illegal event (a seat answering a call it was never offered, a login on an occupied
seat, ...) raises one of these *before* anything changes, so the caller may log it and
carry on with the kernel exactly as it was.
"""

from __future__ import annotations


class AcdError(Exception):
    """An event the ACD cannot accept in its current state; nothing was changed."""


class RulesError(AcdError, ValueError):
    """Queue rules, agents, seats or rosters that cannot work together."""


class SeatError(AcdError):
    """An illegal seat transition or a seat/agent that does not exist."""


class KernelError(Exception):
    """An event the centre cannot place (unknown call, event for the wrong part)."""
