"""What the Asterisk driver calls to run a kernel `Recognize` over the caller's audio.

    bridge = SpeechBridge(service, router, clock, post=runtime.post)
    outcome = bridge.listen(command)   # when the driver executes `Recognize`
    bridge.stop(call_id)               # a key was pressed, the caller hung up, the node moved

The audio goes transport → `MediaRouter` → the call's recognition task → the recogniser's
worker threads; only the resulting kernel events are posted to the kernel's task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from typing import Any

from hotline.asr.errors import AsrError
from hotline.asr.events import SpeechEvent
from hotline.asr.frames import SAMPLE_RATE
from hotline.asr.g711 import AudioEncoding
from hotline.asr.port import SpeechOutcome
from hotline.asr.service import LiveStream, SpeechService
from hotline.asr.stream import ListenLimits
from hotline.asr.vosk_source import to_kernel_event
from hotline.telephony.media.router import AudioInbox, MediaRouter
from hotline.vocabulary.commands import Recognize
from hotline.vocabulary.events import NoInput, SpeechRecognized, SpeechStarted
from hotline.vocabulary.ports import Clock

log = logging.getLogger(__name__)

Post = Callable[[SpeechOutcome], Awaitable[None]]
"""Delivers one event to the kernel, in order (the driver wires `runtime.post`)."""


class Listening(Enum):
    """How a `listen` runs."""

    SPEECH = "speech"  # a recogniser hears the caller (barge-in and results will come)
    KEYS_ONLY = "keys-only"  # no recogniser was free: keys only, NoInput on timeout


@dataclass(slots=True)
class BridgeStats:
    listens: int = 0
    refused: int = 0  # no free recogniser at `listen` (answered KEYS_ONLY)
    failed: int = 0  # the recogniser could not be opened after all (busy, no model, grammar)
    recognised: int = 0
    no_input: int = 0
    stopped: int = 0  # ended by `stop` before a result


@dataclass(eq=False, slots=True)
class _Session:
    command: Recognize
    inbox: AudioInbox | None
    task: asyncio.Task[None] | None = None


class SpeechBridge:
    """Runs `Recognize` commands on the call's externalMedia audio; posts kernel events.

    Contract with the driver, for each `listen(command)`:
    - the bridge posts at most one `SpeechStarted` (barge-in: the driver stops the
      prompt that is playing), then exactly one `SpeechRecognized` or `NoInput`, unless
      `stop(call_id)` is called first; after `stop` returns nothing more is posted for
      that listen. Keys are the driver's: while listening it keeps collecting digits
      (`command.also_digits`), posts them itself and calls `stop`.
    - `Listening.KEYS_ONLY` (back-pressure, never silence): no recogniser was free, so
      none was opened and the refusal is counted. The driver must carry on exactly as
      for a digit collection: keep the prompt playing to its end, collect keys and call
      `stop` on the first one. The bridge still posts `NoInput` after the command's
      `no_speech_timeout_s` if no key came, so the flow's retry/failure path runs (a
      speech-only node reaches its fallback, usually an agent). The driver must not run
      its own no-input timer for a `Recognize`.
    - A recogniser that cannot be opened after `SPEECH` was answered (another user took
      the last slot, the model or grammar is unusable) degrades the same way: counted,
      logged, then `NoInput` after the timeout.
    - The driver routes the call's media to the bridge's `MediaRouter` (RTP endpoint
      `bind` or AudioSocket `expect`), ideally from a snoop channel (spy=in) so the
      recogniser hears the caller, not our own prompt. Audio missing for `media_gap_s`
      (RTP stopped, silence suppression, media not yet up) is heard as silence, so the
      listen still ends in audio time; a hang-up on the media (AudioSocket hang-up or
      end of stream, RTP `unbind`) concludes it at once with what was said.
    """

    def __init__(
        self,
        service: SpeechService,
        router: MediaRouter,
        clock: Clock,
        post: Post,
        *,
        media_gap_s: float = 0.5,
        end_silence_s: float = 0.7,
        max_buffered_s: float = 10.0,
        on_event: Callable[[SpeechEvent], None] | None = None,
    ) -> None:
        self.service = service
        self.router = router
        self.clock = clock
        self.stats = BridgeStats()
        self._post = post
        self._media_gap_s = media_gap_s  # missing audio this long is heard as silence
        self._end_silence_s = end_silence_s
        self._max_buffered_bytes = int(max_buffered_s * SAMPLE_RATE * 2)
        self._on_event = on_event  # raw events (partials) for the agent desk; must not block
        self._sessions: dict[str, _Session] = {}
        self._ending: set[asyncio.Task[None]] = set()
        self._opening = 0  # admitted here, not yet counted by the service
        self._releasing: dict[str, asyncio.Task[None]] = {}  # stopped, recogniser not back yet

    def _free_slots(self) -> int:
        return self.service.settings.max_streams - self.service.open_streams - self._opening

    def listen(self, command: Recognize) -> Listening:
        """Start listening on `command.call_id` (ending its previous listen); returns at once."""
        call_id = command.call_id
        self.stop(call_id)
        self.stats.listens += 1
        # A listen just replaced on this call (the node moved) is still handing its
        # recogniser back on a thread: its slot passes to this one instead of refusing.
        previous = self._releasing.get(call_id)
        if self._free_slots() + (previous is not None) <= 0:
            self.stats.refused += 1
            log.info("no free recogniser for call %s: keys only", call_id)
            session = _Session(command, None)
            self._start(session, self._keys_only(session))
            return Listening.KEYS_ONLY
        inbox = self.router.inbox(call_id, gap_s=self._media_gap_s,
                                  max_buffered_bytes=self._max_buffered_bytes)
        session = _Session(command, inbox)
        self._opening += 1
        self._start(session, self._recognise(session, previous))
        return Listening.SPEECH

    def listening(self, call_id: str) -> Listening | None:
        """How `call_id` is being listened to now, if at all."""
        session = self._sessions.get(call_id)
        if session is None:
            return None
        return Listening.KEYS_ONLY if session.inbox is None else Listening.SPEECH

    def stop(self, call_id: str) -> None:
        """End the call's listen: nothing more is posted for it; the recogniser goes back."""
        session = self._sessions.pop(call_id, None)
        if session is None:
            return
        self.stats.stopped += 1
        task = session.task
        if session.inbox is not None:
            self.router.detach(session.inbox)
            if task is not None and not task.done():
                self._releasing[call_id] = task
                task.add_done_callback(lambda done: self._released(call_id, done))
        if task is not None:
            task.cancel()

    def _released(self, call_id: str, task: asyncio.Task[None]) -> None:
        if self._releasing.get(call_id) is task:
            del self._releasing[call_id]

    async def wait_idle(self) -> None:
        """Wait until every ended or stopped listen has given its recogniser back."""
        while self._ending:
            await asyncio.gather(*self._ending, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop every listen and wait for the recognisers to be released."""
        for call_id in list(self._sessions):
            self.stop(call_id)
        await self.wait_idle()

    def _start(self, session: _Session, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name=f"speech {session.command.call_id}")
        session.task = task
        self._sessions[session.command.call_id] = session
        self._ending.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._ending.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # E.g. the runtime refused the event (stopping): nothing else can be done.
            log.error("speech listen %s failed", task.get_name(), exc_info=exc)

    async def _deliver(self, session: _Session, outcome: SpeechOutcome) -> bool:
        """Post one event if the listen is still current; True when it was the last one."""
        call_id = session.command.call_id
        if self._sessions.get(call_id) is not session:
            return True
        final = not isinstance(outcome, SpeechStarted)
        if final and session.inbox is not None:
            self.router.detach(session.inbox)  # no more audio needed
        # Still current while posting: a `stop` now cancels the post (nothing arrives late).
        await self._post(outcome)
        if final:
            if self._sessions.get(call_id) is session:
                del self._sessions[call_id]
            if isinstance(outcome, SpeechRecognized):
                self.stats.recognised += 1
            else:
                self.stats.no_input += 1
        return final

    async def _keys_only(self, session: _Session) -> None:
        await asyncio.sleep(session.command.no_speech_timeout_s)
        await self._deliver(session, NoInput(session.command.call_id, self.clock.now()))

    async def _recognise(self, session: _Session, previous: asyncio.Task[None] | None) -> None:
        command, inbox = session.command, session.inbox
        assert inbox is not None
        try:
            try:
                if previous is not None:
                    await asyncio.wait([previous])  # its slot becomes ours
                live = await self.service.open_stream(
                    command.call_id,
                    command.language,
                    started_at=self.clock.now(),
                    grammar=command.grammar,
                    limits=ListenLimits.from_command(command, end_silence_s=self._end_silence_s),
                    encoding=AudioEncoding.SLIN16,
                )
            finally:
                self._opening -= 1
        except AsrError as exc:  # RecognizerBusy (a race), ModelUnavailable, GrammarUnusable
            self.stats.failed += 1
            log.warning("speech for call %s degraded to keys: %s", command.call_id, exc)
            self.router.detach(inbox)
            await self._keys_only(session)
            return
        async with live:
            await self._feed(session, live, inbox)

    async def _feed(self, session: _Session, live: LiveStream, inbox: AudioInbox) -> None:
        async for chunk in inbox:
            if await self._translate(session, await live.feed(chunk)) or live.finished:
                return
        # The media ended (hang-up, unbound, stopped): conclude with what was heard.
        if not await self._translate(session, await live.finish()):
            await self._deliver(session, NoInput(session.command.call_id, self.clock.now()))

    async def _translate(self, session: _Session, events: list[SpeechEvent]) -> bool:
        for event in events:
            if self._on_event is not None:
                self._on_event(event)
            outcome = to_kernel_event(event, session.command)
            if outcome is not None and await self._deliver(session, outcome):
                return True
        return False
