"""Test helpers for the store: polling, and a TCP proxy to cut a database off and back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest


async def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Poll ``predicate()`` until true; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `close` drops the listener and every open
    connection (the database "goes away"), `reopen` listens on the same port again."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def reopen(self) -> None:
        await self.start()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(sink)
            with contextlib.suppress(OSError, RuntimeError):
                sink.transport.abort()


def sample_records(count: int, first_seq: int = 1) -> list[tuple[int, object]]:
    """``(seq, record)`` pairs as a busy centre logs them: arrivals, keys, queueing,
    seat changes; Chinese text included (the log must keep it readable)."""
    from hotline.vocabulary.events import CallArrived, DigitsReceived, SpeechRecognized
    from hotline.vocabulary.facts import CallQueued, SeatStateChanged
    from hotline.vocabulary.states import SeatState

    pairs: list[tuple[int, object]] = []
    for index in range(count):
        seq = first_seq + index
        at = 1_700_000_000.0 + seq * 0.25
        call = f"call-{seq // 5}"
        record: object
        match seq % 5:
            case 0:
                record = CallArrived(
                    call_id=call, line="12345", caller="" if seq % 7 else "13800138000", at=at
                )
            case 1:
                record = DigitsReceived(call_id=call, digits="1", at=at)
            case 2:
                record = SpeechRecognized(call_id=call, text="疫情防控咨询", confidence=0.9, at=at)
            case 3:
                record = CallQueued(
                    call_id=call,
                    queue="general",
                    line="12345",
                    priority=1,
                    tags=("epidemic",),
                    at=at,
                )
            case _:
                record = SeatStateChanged(
                    agent_id=f"a{seq % 128:03d}",
                    old=SeatState.READY,
                    new=SeatState.RINGING,
                    reason="offer",
                    at=at,
                    seat_id="s01",
                )
        pairs.append((seq, record))
    return pairs
