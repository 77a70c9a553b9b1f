"""Which call a media stream belongs to, and where its audio goes while someone listens.

Transports (the RTP endpoint, the AudioSocket server) call `deliver(call_id, pcm)` for
every chunk of a call's audio. Only while a recognition is open for that call (the
`SpeechBridge` attached an `AudioInbox`) is the chunk kept; otherwise it is dropped at
the cost of one dict lookup. Audio never goes near the kernel's task: the inbox is read
by the call's recognition task.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from hotline.asr.frames import FRAME_BYTES, FRAME_MS


@dataclass(slots=True)
class RouterStats:
    delivered_bytes: int = 0
    dropped_chunks: int = 0  # audio of calls nobody listens to (the usual case)
    overflowed_bytes: int = 0  # audio discarded because a recogniser fell too far behind
    padded_bytes: int = 0  # silence heard in place of audio that did not come


class AudioInbox:
    """One recognition's audio: transports push, the recognition task iterates.

    Iterating yields everything queued since the last step as one chunk (the recogniser
    takes chunks of any size, so a slow decoder catches up in bigger steps). It ends
    when the media ends (hang-up, stream closed, `end`). When no audio comes for `gap_s`
    it yields that much silence instead: an RTP stream has no end marker and phones with
    silence suppression send nothing while the caller is quiet, so missing audio counts
    as silence and the recogniser's own timers (end of speech, no-speech timeout) end
    the listen in audio time.
    """

    def __init__(
        self,
        call_id: str,
        *,
        gap_s: float,
        max_buffered_bytes: int,
        stats: RouterStats | None = None,
    ) -> None:
        if gap_s <= 0 or max_buffered_bytes <= 0:
            raise ValueError("AudioInbox needs a positive gap and buffer bound")
        self.call_id = call_id
        self.gap_s = gap_s
        self.max_buffered_bytes = max_buffered_bytes
        self._stats = stats if stats is not None else RouterStats()
        self._gap_silence = bytes(max(1, round(gap_s * 1000 / FRAME_MS)) * FRAME_BYTES)
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._ended = False
        self._wakeup = asyncio.Event()

    @property
    def ended(self) -> bool:
        return self._ended

    def push(self, pcm: bytes) -> None:
        if self._ended or not pcm:
            return
        self._chunks.append(pcm)
        self._buffered += len(pcm)
        # A bound on memory if decoding stalls; the oldest audio goes (10 s by default).
        while self._buffered > self.max_buffered_bytes and len(self._chunks) > 1:
            old = self._chunks.popleft()
            self._buffered -= len(old)
            self._stats.overflowed_bytes += len(old)
        self._wakeup.set()

    def end(self) -> None:
        """No more audio will come (hang-up, stream closed, recognition stopped)."""
        self._ended = True
        self._wakeup.set()

    def __aiter__(self) -> AudioInbox:
        return self

    async def __anext__(self) -> bytes:
        while not self._chunks:
            if self._ended:
                raise StopAsyncIteration
            self._wakeup.clear()
            try:
                async with asyncio.timeout(self.gap_s):
                    await self._wakeup.wait()
            except TimeoutError:
                self._stats.padded_bytes += len(self._gap_silence)
                return self._gap_silence
        chunk = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        return chunk


class MediaRouter:
    """Call id → the inbox of its open recognition (at most one per call)."""

    def __init__(self) -> None:
        self.stats = RouterStats()
        self._inboxes: dict[str, AudioInbox] = {}

    def listening(self, call_id: str) -> bool:
        """Whether audio for `call_id` is wanted now (transports may skip decoding)."""
        return call_id in self._inboxes

    def inbox(self, call_id: str, *, gap_s: float, max_buffered_bytes: int) -> AudioInbox:
        """Start keeping `call_id`'s audio; a previous inbox of the call is ended."""
        inbox = AudioInbox(call_id, gap_s=gap_s, max_buffered_bytes=max_buffered_bytes,
                           stats=self.stats)
        old = self._inboxes.get(call_id)
        if old is not None:
            old.end()
        self._inboxes[call_id] = inbox
        return inbox

    def detach(self, inbox: AudioInbox) -> None:
        """Stop keeping audio for `inbox` (no-op if the call already has a newer one)."""
        inbox.end()
        if self._inboxes.get(inbox.call_id) is inbox:
            del self._inboxes[inbox.call_id]

    def deliver(self, call_id: str, pcm: bytes) -> bool:
        """A chunk of `call_id`'s audio (16-bit LE linear, 8 kHz); False if dropped."""
        inbox = self._inboxes.get(call_id)
        if inbox is None:
            self.stats.dropped_chunks += 1
            return False
        self.stats.delivered_bytes += len(pcm)
        inbox.push(pcm)
        return True

    def media_ended(self, call_id: str) -> None:
        """The call's media stream ended (hang-up): its recognition concludes now."""
        inbox = self._inboxes.get(call_id)
        if inbox is not None:
            inbox.end()
