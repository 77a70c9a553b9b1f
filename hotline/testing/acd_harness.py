"""Run an `Acd` on virtual time: a test kit for tests, benchmarks and config authors.

`AcdHarness` plays the part of the drivers: it keeps the timers the kernel asks for,
fires them in time order when the clock is advanced, and logs every command and fact.
A ten-minute queue scenario therefore runs in microseconds with no sleeping.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from hotline.queue.acd import Acd, AcdEvent, AcdOutput
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


@dataclass
class AcdHarness:
    acd: Acd
    now: float = 0.0
    commands: list[AcdCommand] = field(default_factory=list)
    facts: list[AcdFact] = field(default_factory=list)
    _timers: list[tuple[float, int, str, str]] = field(default_factory=list)
    _live: set[tuple[str, str]] = field(default_factory=set)
    _n: int = 0

    # --- feeding -----------------------------------------------------------------
    def _take(self, out: AcdOutput) -> AcdOutput:
        for command in out.commands:
            if isinstance(command, StartTimer):
                self._n += 1
                key = (command.call_id, command.timer)
                self._live.add(key)
                heapq.heappush(
                    self._timers, (self.now + command.seconds, self._n, *key)
                )
            elif isinstance(command, CancelTimer):
                self._live.discard((command.call_id, command.timer))
        self.commands.extend(out.commands)
        self.facts.extend(out.facts)
        return out

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
        while self._timers and self._timers[0][0] <= when:
            due, _, owner, name = heapq.heappop(self._timers)
            if (owner, name) not in self._live:
                continue
            self._live.discard((owner, name))
            self.now = max(self.now, due)
            outs.append(self.feed(TimerFired(owner, name, self.now)))
        self.now = max(self.now, when)
        return outs

    def pending_timers(self) -> list[tuple[float, str, str]]:
        return sorted((d, o, n) for d, _, o, n in self._timers if (o, n) in self._live)

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
