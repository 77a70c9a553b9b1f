"""A scripted kernel and recording drivers for the runtime tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hotline.vocabulary.commands import Command, NotifyReserve
from hotline.vocabulary.errors import KernelError
from hotline.vocabulary.events import Event

Script = Callable[[Event], list[Command]]


class FakeKernel:
    """Takes every event, logs it, returns what `script` says; "bad" calls are refused.

    `take_facts` gives the accepted event itself, as the real kernel's records do.
    """

    def __init__(self, script: Script | None = None) -> None:
        self.script: Script = script or (lambda event: [])
        self.seen: list[Event] = []
        self._facts: list[Any] = []

    def handle(self, event: Event) -> list[Command]:
        if getattr(event, "call_id", None) == "bad":
            raise KernelError("no such call")
        self.seen.append(event)
        self._facts.append(event)
        return self.script(event)

    def take_facts(self) -> list[Any]:
        out, self._facts = self._facts, []
        return out


@dataclass
class RecordingDriver:
    name: str
    commands: list[Command]
    flushes: int = 0

    def execute(self, command: Command) -> None:
        self.commands.append(command)

    def flush(self) -> None:
        self.flushes += 1


def driver(name: str) -> RecordingDriver:
    return RecordingDriver(name, [])


@dataclass
class RecordingNotifier:
    notified: list[NotifyReserve]

    def notify(self, command: NotifyReserve) -> None:
        self.notified.append(command)
