"""The runtime's inbox: bounded for drivers and the API, never refusing its own timers.

Drivers and the API post events (`put` waits for room, `try_put` says False when the
inbox is full, so a driver can shed load or answer "busy"). Timer expiries come from the
runtime itself and must never be lost or wait behind back-pressure, so `put_internal`
ignores the bound. One reader (the runtime's task) takes items in arrival order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class Inbox:
    __slots__ = ("_capacity", "_external", "_items", "_readers", "_writers")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the inbox needs room for at least one event")
        self._capacity = capacity
        self._items: deque[tuple[Any, bool]] = deque()  # (item, counts against the bound)
        self._external = 0
        self._readers: deque[asyncio.Future[None]] = deque()
        self._writers: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def full(self) -> bool:
        return self._external >= self._capacity

    def try_put(self, item: Any) -> bool:
        if self._external >= self._capacity:
            return False
        self._append(item, True)
        return True

    async def put(self, item: Any) -> None:
        while self._external >= self._capacity:
            waiter = asyncio.get_running_loop().create_future()
            self._writers.append(waiter)
            try:
                await waiter
            finally:
                if not waiter.done():
                    waiter.cancel()
        self._append(item, True)

    def put_internal(self, item: Any) -> None:
        self._append(item, False)

    def _append(self, item: Any, external: bool) -> None:
        self._items.append((item, external))
        if external:
            self._external += 1
        _wake_one(self._readers)

    def get_nowait(self) -> Any | None:
        """The next item, or None when empty (items are never None)."""
        if not self._items:
            return None
        item, external = self._items.popleft()
        if external:
            self._external -= 1
            _wake_one(self._writers)
        return item

    async def wait(self) -> None:
        """Return when there may be something to take (or `wake_reader` was called)."""
        if not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._readers.append(waiter)
            try:
                await waiter
            finally:
                if not waiter.done():
                    waiter.cancel()

    def wake_reader(self) -> None:
        """Wake the reader with nothing to take (to notice a stop request)."""
        _wake_one(self._readers)


def _wake_one(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return
