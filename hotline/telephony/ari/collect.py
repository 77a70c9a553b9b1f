"""Digit collection for one `CollectDigits`, without I/O (the driver runs the timers).

    collect = DigitCollection(command)
    collect.press("4")      # -> None (keep collecting) or a Collected result
    collect.timed_out()     # -> Collected: what was typed ("" means no input)

Rules (the same as Asterisk's GET DATA, AGI fact 2): the terminator ends the input and
is not part of it; `max_digits` ends it at once; a timeout ends it with what was typed
(the flow judges a short entry as no match); nothing typed at all is no input.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.vocabulary.commands import CollectDigits


@dataclass(frozen=True, slots=True)
class Collected:
    digits: str  # "" = no input

    @property
    def no_input(self) -> bool:
        return not self.digits


class DigitCollection:
    """One collection's typed digits. `started`: the first-digit timer is running."""

    __slots__ = ("command", "digits", "started")

    def __init__(self, command: CollectDigits) -> None:
        self.command = command
        self.digits = ""
        self.started = False

    def press(self, digit: str) -> Collected | None:
        command = self.command
        if command.terminator and digit == command.terminator:
            return Collected(self.digits)
        self.digits += digit
        if len(self.digits) >= command.max_digits:
            return Collected(self.digits)
        return None

    def timed_out(self) -> Collected:
        return Collected(self.digits)

    def next_timeout_s(self) -> float:
        """The timer to run now: first digit, or between digits."""
        command = self.command
        return command.inter_digit_timeout_s if self.digits else command.first_timeout_s
