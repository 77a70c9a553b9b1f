"""Fact subscribers: a bounded live queue each, and catch-up from the log when slow.

    async for seq, record in runtime.subscribe():
        ...

The runtime never waits for a subscriber. Delivery puts (seq, record) on the
subscriber's own bounded queue; when that queue is full the subscriber is marked
*lagging*, its queue is dropped, and it reads on from the fact log by sequence number
until it has caught up, then takes live delivery again. No record is lost or delivered
twice; if the log has already overwritten what it needs, iteration raises
`FellBehind` (the reader must re-read from the store).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from hotline.runtime.factlog import FactLog


class Subscription:
    """One reader of the fact log. Iterate with `async for seq, record in ...`."""

    def __init__(
        self, log: FactLog, maxsize: int, from_seq: int, on_lag: Callable[[], None]
    ) -> None:
        if maxsize < 1:
            raise ValueError("a subscription needs room for at least one record")
        self._log = log
        self._maxsize = maxsize
        self._queue: deque[tuple[int, Any]] = deque()
        self._next = from_seq  # the next sequence number this reader will get
        # Starting in the past is catching up: read the log first.
        self.lagging = from_seq < log.next_seq
        self.closed = False
        self.times_lagged = 0
        self._wakeup: asyncio.Future[None] | None = None
        self._on_lag = on_lag

    @property
    def next_seq(self) -> int:
        return self._next

    # --- the runtime's side (never blocks) -------------------------------------------

    def deliver(self, seq: int, record: Any) -> None:
        if self.closed or self.lagging:
            return
        if len(self._queue) >= self._maxsize:
            # Too slow: drop the queue and let it read from the log.
            self._queue.clear()
            self.lagging = True
            self.times_lagged += 1
            self._on_lag()
        else:
            self._queue.append((seq, record))
        self._wake()

    def close(self) -> None:
        """No more records: iteration ends once what was delivered is read."""
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    # --- the reader's side ------------------------------------------------------------

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> tuple[int, Any]:
        while True:
            if self.lagging:
                log = self._log
                if self._next < log.next_seq:
                    record = log.get(self._next)  # FellBehind if overwritten
                    seq = self._next
                    self._next += 1
                    return seq, record
                self.lagging = False  # caught up: live delivery continues from here
            if self._queue:
                seq, record = self._queue.popleft()
                self._next = seq + 1
                return seq, record
            if self.closed:
                raise StopAsyncIteration
            self._wakeup = asyncio.get_running_loop().create_future()
            try:
                await self._wakeup
            finally:
                self._wakeup = None
