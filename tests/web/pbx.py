"""A scripted PBX for the browser tests: it posts what a real driver would post.

`ScriptedPbx` is attached to the runtime as a driver, so the commands of the calls it
brings in come back to it; `call_until_ringing` walks a call through the IVR (the
greeting is played to its end, the menu hears a spoken shortcut, the request question
hears the citizen's words) until the ACD rings a seat.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from hotline.runtime.centre_runtime import CentreRuntime, DriverLink
from hotline.vocabulary.commands import CollectDigits, Play, Recognize, RingSeat
from hotline.vocabulary.events import (
    CallArrived,
    CallEnded,
    DigitsReceived,
    PlaybackFinished,
    SeatAnswered,
    SpeechRecognized,
)


@dataclass
class ScriptedPbx:
    commands: list[Any] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    link: DriverLink | None = None

    def execute(self, command: Any) -> None:
        self.commands.append(command)

    def flush(self) -> None:
        self.changed.set()

    def attach(self, runtime: CentreRuntime) -> ScriptedPbx:
        self.link = runtime.attach("scripted-pbx", self)
        return self

    async def _post(self, event: Any) -> None:
        assert self.link is not None
        await self.link.post(event)

    async def call_until_ringing(self, call_id: str, caller: str, line: str,
                                 words: list[tuple[str, str | None]],
                                 timeout_s: float = 10.0) -> RingSeat:
        """Bring a call in and answer the IVR: each listening step takes the next
        (text, intent) of `words`, or a key "0" when none is left."""
        seen = len(self.commands)
        await self._post(CallArrived(call_id, line, caller, time.time()))
        answers = list(words)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.changed.clear()
            fresh = [c for c in self.commands[seen:] if getattr(c, "call_id", None) == call_id]
            seen = len(self.commands)
            for command in fresh:
                if isinstance(command, RingSeat):
                    return command
            for command in fresh:
                if isinstance(command, Play) and not any(
                        isinstance(c, Recognize | CollectDigits) for c in fresh):
                    await self._post(PlaybackFinished(call_id, time.time()))
                elif isinstance(command, Recognize):
                    if answers:
                        text, intent = answers.pop(0)
                        await self._post(SpeechRecognized(call_id, text, 0.93, time.time(),
                                                          intent=intent))
                    else:
                        await self._post(DigitsReceived(call_id, "0", time.time()))
                elif isinstance(command, CollectDigits):
                    await self._post(DigitsReceived(call_id, "0", time.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), 2.0)
        raise AssertionError(f"no seat rang for {call_id}: {self.commands[-5:]}")

    async def answer(self, ring: RingSeat) -> None:
        await self._post(SeatAnswered(ring.agent_id, ring.call_id, time.time()))

    async def end(self, call_id: str) -> None:
        await self._post(CallEnded(call_id, time.time()))
