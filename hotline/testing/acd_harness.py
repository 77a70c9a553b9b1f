"""Run an `Acd` on virtual time: a test kit for tests, benchmarks and config authors.

`AcdHarness` plays the part of the drivers: it keeps the timers the kernel asks for on
the runtime's `VirtualClock` (the same virtual time the simulator runs on), fires them in
time order when the clock is advanced, and logs every command and fact.
A ten-minute queue scenario therefore runs in microseconds with no sleeping.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TypeVar

from hotline.queue.acd import Acd, AcdEvent, AcdOutput
from hotline.runtime.clock import VirtualClock, VirtualTimer
from hotline.vocabulary.commands import (
    AcdCommand,
    CancelTimer,
    Enqueue,
    RequestCallback,
    StartTimer,
)
from hotline.vocabulary.events import TimerFired
from hotline.vocabulary.facts import AcdFact

_T = TypeVar("_T")


class AcdHarness:
    """The ACD's drivers on virtual time: timers on a `VirtualClock`, logs of everything."""

    def __init__(self, acd: Acd, now: float = 0.0) -> None:
        self.acd = acd
        self.clock = VirtualClock(now)
        self.commands: list[AcdCommand] = []
        self.facts: list[AcdFact] = []
        # (owner, name) -> the clock's handle: a restart replaces, a cancel calls off.
        self._timers: dict[tuple[str, str], VirtualTimer] = {}
        self._fired: list[AcdOutput] | None = None  # collects while advancing

    @property
    def now(self) -> float:
        return self.clock.time

    @now.setter
    def now(self, when: float) -> None:
        self.clock.time = when  # tests set the scene (a Monday morning) before feeding

    # --- feeding -----------------------------------------------------------------
    def _take(self, out: AcdOutput) -> AcdOutput:
        for command in out.commands:
            if isinstance(command, StartTimer):
                key = (command.call_id, command.timer)
                old = self._timers.get(key)
                if old is not None:
                    old.cancel()
                self._timers[key] = self.clock.call_later(
                    command.seconds, partial(self._fire, key)
                )
            elif isinstance(command, CancelTimer):
                timer = self._timers.pop((command.call_id, command.timer), None)
                if timer is not None:
                    timer.cancel()
        self.commands.extend(out.commands)
        self.facts.extend(out.facts)
        return out

    def _fire(self, key: tuple[str, str]) -> None:
        del self._timers[key]
        out = self.feed(TimerFired(key[0], key[1], self.now))
        if self._fired is not None:
            self._fired.append(out)

    def feed(self, event: AcdEvent) -> AcdOutput:
        """Hand an event to the ACD (its `at` should be `now`)."""
        return self._take(self.acd.handle(event))

    def enqueue(self, command: Enqueue, *, line: str = "12345", caller: str = "") -> AcdOutput:
        return self._take(self.acd.enqueue(command, line=line, caller=caller, at=self.now))

    def request_callback(self, command: RequestCallback, *, line: str = "12345") -> AcdOutput:
        return self._take(self.acd.request_callback(command, line=line, at=self.now))

    def advance(self, seconds: float) -> list[AcdOutput]:
        """Move the clock on, firing every live timer that falls due, in order."""
        return self.advance_to(self.now + seconds)

    def advance_to(self, when: float) -> list[AcdOutput]:
        outs: list[AcdOutput] = []
        self._fired = outs
        try:
            self.clock.run_until(max(self.now, when))
        finally:
            self._fired = None
        return outs

    def pending_timers(self) -> list[tuple[float, str, str]]:
        return sorted((timer.due, o, n) for (o, n), timer in self._timers.items())

    # --- reading the logs ----------------------------------------------------------
    def of(self, kind: type[_T], since: int = 0) -> list[_T]:
        """Commands or facts of one class (from index ``since`` of their log)."""
        source: Iterable[object] = (
            self.facts[since:] if _is_fact_type(kind) else self.commands[since:]
        )
        return [x for x in source if isinstance(x, kind)]

    def mark(self) -> tuple[int, int]:
        """Current lengths of the (commands, facts) logs, to read only what follows."""
        return len(self.commands), len(self.facts)


def _is_fact_type(kind: type[object]) -> bool:
    return kind.__module__ == "hotline.vocabulary.facts"
