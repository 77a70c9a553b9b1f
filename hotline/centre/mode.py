"""The centre's mode (normal, emergency, ...): one owner, one audited switch.

`CentreMode.switch` is the only way the mode changes, whether a supervisor asked for it
or the automatic return time came. Every accepted switch, including one that only sets a
return time on the current mode, is audited as a `ModeChanged` fact (who, when, from,
to, why, until). The return is a centre timer (`StartTimer` with owner
`MODE_TIMER_OWNER`); each one carries a generation, so a return that was replaced or
cancelled and still fires is recognised as stale.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.vocabulary.commands import CancelTimer, StartTimer
from hotline.vocabulary.errors import KernelError
from hotline.vocabulary.events import ModeSwitched
from hotline.vocabulary.facts import ModeChanged

MODE_TIMER_OWNER = "centre:mode"
MODE_RETURN = "centre.mode-return"  # timer names start with "centre." (routing rule)
RETURN_BY = "timer"  # `ModeChanged.by` of an automatic return


@dataclass(frozen=True, slots=True)
class ModeSwitch:
    """What one accepted switch did: the audit fact, timer commands, and whether the
    mode really changed (the ACD re-ranks only then)."""

    fact: ModeChanged
    timers: tuple[StartTimer | CancelTimer, ...]
    changed: bool


class CentreMode:
    def __init__(self, modes: tuple[str, ...], start: str) -> None:
        if start not in modes:
            raise KernelError(f"unknown start mode {start!r} (known: {', '.join(modes)})")
        self.modes = modes
        self.current = start
        self.since = 0.0
        self.until: float | None = None
        self._return_to: str | None = None
        self._previous = start  # the mode before the current one (a timed same-mode switch)
        self._timer: str | None = None  # the live return timer's name
        self._generation = 0

    def check(self, event: ModeSwitched) -> None:
        """Raise `KernelError` for a switch that cannot be applied (nothing changes)."""
        if event.mode not in self.modes:
            raise KernelError(
                f"unknown mode {event.mode!r} (known: {', '.join(self.modes)})"
            )
        if event.until is not None and event.until <= event.at:
            raise KernelError("the automatic return time must be in the future")
        if not event.by:
            raise KernelError("a mode switch must say who asked for it")

    def switch(self, event: ModeSwitched) -> ModeSwitch:
        """Apply a checked switch (call `check` first)."""
        old = self.current
        timers: list[StartTimer | CancelTimer] = []
        if self._timer is not None:
            timers.append(CancelTimer(MODE_TIMER_OWNER, self._timer))
            self._timer = None
        changed = event.mode != old
        if changed:
            self._previous = old
            self.current = event.mode
            self.since = event.at
        if event.until is None:
            self._return_to = None
        else:
            # A timed switch returns to where the centre was before it; a timed switch to
            # the current mode keeps the return it already had, or goes back to the mode
            # before this one.
            if changed or self._return_to is None:
                self._return_to = self._previous if not changed else old
            self._generation += 1
            self._timer = f"{MODE_RETURN}#{self._generation}"
            timers.append(StartTimer(MODE_TIMER_OWNER, self._timer, event.until - event.at))
        self.until = event.until if self._return_to is not None else None
        fact = ModeChanged(old, self.current, event.by, event.reason, event.at, self.until)
        return ModeSwitch(fact, tuple(timers), changed)

    def return_due(self, timer: str, at: float) -> ModeSwitched | None:
        """The automatic return a fired timer asks for, or None when it is stale."""
        if timer != self._timer or self._return_to is None:
            return None
        self._timer = None
        back, self._return_to = self._return_to, None
        return ModeSwitched(back, RETURN_BY, "automatic return", at)
