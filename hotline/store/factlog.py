"""The fact log: the writer that records every ``(seq, record)`` and the reader for restore.

`FactWriter` is a subscriber of the centre runtime. ``submit`` only appends to memory,
so the kernel's task never waits for the database; ``run`` writes in batches (size or
time bound, one transaction and one bulk ``INSERT ... ON CONFLICT (seq) DO NOTHING`` per
batch), so a pair replayed after a restart or a retried batch is never written twice.

When the database is down, calls keep flowing. Records wait in memory up to a bound;
past it they go to a spill file (JSON lines of the codec's records, fsync'd) and are
written back in order when the database returns, with exponential backoff between
attempts. The queue is one FIFO in three parts, oldest first: the spill file, then the
in-memory tail. A batch that fails is moved to the spill file, which is empty then (a
batch is taken from memory only when the file is), so order holds without bookkeeping.
A spill file left by a previous process is written first at the next start.
`health` reports ok / degraded with the buffered count and the last error, for the
wallboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import functools
import json
import logging
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Insert, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hotline.store.models import FactRow
from hotline.vocabulary.codec import RECORD_TYPES, SCHEMA_VERSION, decode, encode

log = logging.getLogger(__name__)

Row = dict[str, Any]
"""A ``facts`` row ready for a bulk insert: seq, at, type, call_id, agent_id, payload."""

# Failures that mean "the database is unreachable or refused the batch": retried. Any
# other exception is a bug; the writer saves what it holds to disk and re-raises it.
_RETRYABLE: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError)


class WriterState(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # the database is failing, or a backlog from a failure remains


@dataclass(frozen=True, slots=True)
class WriterHealth:
    state: WriterState
    buffered: int  # records accepted but not yet in the database (memory + spill file)
    spilled: int  # of which in the spill file
    error: str = ""  # the last failure, while it lasts
    failing_since: float | None = None  # wall-clock time of the first failure in a row
    last_written_seq: int | None = None


_SCALARS = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _field_names(type_name: str) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(RECORD_TYPES[type_name]))


def encode_record(record: object) -> dict[str, Any]:
    """``codec.encode(record)``, computed faster for the records a centre logs most.

    Encoding is most of the writer's own cost; the general codec walks every value
    recursively. Flat records (scalars, enums, tuples of scalars) are encoded here with
    the field names cached per type; anything else, and every error, goes to the codec
    itself, so the result is always exactly the codec's (a test holds them equal).
    """
    kind = type(record)
    if RECORD_TYPES.get(kind.__name__) is not kind:
        return encode(record)  # raises CodecError for a type the log does not hold
    names = _field_names(kind.__name__)
    out: dict[str, Any] = {"v": SCHEMA_VERSION, "type": kind.__name__}
    for name in names:
        value = getattr(record, name)
        if type(value) in _SCALARS:
            out[name] = value
        elif isinstance(value, enum.Enum):
            out[name] = value.value
        elif type(value) is tuple and all(type(item) in _SCALARS for item in value):
            out[name] = list(value)
        else:
            return encode(record)
    return out


def fact_row(seq: int, payload: dict[str, Any]) -> Row:
    """The row for an encoded record (``hotline.vocabulary.codec.encode`` output)."""
    return {
        "seq": seq,
        "at": payload["at"],
        "type": payload["type"],
        "call_id": payload.get("call_id"),
        "agent_id": payload.get("agent_id"),
        "payload": payload,
    }


def insert_ignoring_duplicates(dialect_name: str) -> Insert:
    """``INSERT INTO facts ... ON CONFLICT (seq) DO NOTHING`` for the dialect."""
    if dialect_name == "postgresql":
        return postgresql.insert(FactRow).on_conflict_do_nothing(index_elements=["seq"])
    if dialect_name == "sqlite":
        return sqlite.insert(FactRow).on_conflict_do_nothing(index_elements=["seq"])
    raise ValueError(f"the fact log supports SQLite and PostgreSQL, not {dialect_name}")


async def insert_rows(connection: AsyncConnection, rows: list[Row]) -> None:
    if rows:
        await connection.execute(insert_ignoring_duplicates(connection.dialect.name), rows)


class FactWriter:
    """Writes the runtime's ``(seq, record)`` pairs to the fact log; see the module doc.

    Call ``submit`` from the event loop's thread (the runtime's fan-out). Run ``run()``
    as a task; ``stop()`` ends it after writing what it holds (or, if the database stays
    down past ``stop_timeout_s``, after moving it to the spill file).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        spill_path: Path,
        *,
        batch_size: int = 1000,
        max_delay_s: float = 0.2,
        memory_limit: int = 20_000,
        retry_initial_s: float = 0.1,
        retry_max_s: float = 5.0,
        write_timeout_s: float = 15.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        if batch_size < 1 or memory_limit < batch_size:
            raise ValueError("need 1 <= batch_size <= memory_limit")
        self._engine = engine
        self._spill_path = spill_path
        self._batch_size = batch_size
        self._max_delay_s = max_delay_s
        self._memory_limit = memory_limit
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._write_timeout_s = write_timeout_s
        self._stop_timeout_s = stop_timeout_s

        self._tail: deque[Row] = deque()
        self._tail_since = 0.0  # loop time the oldest record in the tail arrived
        self._inflight: list[Row] = []  # the batch being written, when it came from memory
        self._in_transit = 0  # records on their way from memory to the spill file
        self._transit: asyncio.Future[None] | None = None
        self._transit_rows: list[Row] = []
        # The spill file: records from byte `_spill_offset` on are not yet written.
        self._spilled = 0
        self._spill_offset = 0
        self._disk_batch: _DiskBatch | None = None  # read, not yet written

        self._submitted = 0
        self._written = 0
        self._last_written_seq: int | None = None
        self._error = ""
        self._spill_error = ""
        self._failing_since: float | None = None
        self._retry_delay = retry_initial_s

        self._wake = asyncio.Event()  # something to write, or stop
        self._full = asyncio.Event()  # a batch is full, or memory is over its bound, or stop
        self._stopping = asyncio.Event()
        self._attention = asyncio.Event()  # during a backoff: memory over its bound, or stop
        self._progress = asyncio.Event()
        self._stop_deadline = 0.0
        self._running = False

    # --- producer side ----------------------------------------------------------------------

    def submit(self, seq: int, record: object) -> None:
        """Accept one pair; never blocks. Raises CodecError for a non-loggable record."""
        row = fact_row(seq, encode_record(record))
        tail = self._tail
        tail.append(row)
        self._submitted += 1
        if len(tail) == 1:
            self._tail_since = time.monotonic()
            self._wake.set()
        if len(tail) >= self._batch_size:
            self._full.set()
            if len(tail) > self._memory_limit:
                self._attention.set()

    def health(self) -> WriterHealth:
        buffered = len(self._tail) + len(self._inflight) + self._in_transit + self._spilled
        degraded = bool(self._error or self._spill_error) or self._spilled > 0
        errors = [self._error, f"spill file: {self._spill_error}" if self._spill_error else ""]
        return WriterHealth(
            state=WriterState.DEGRADED if degraded else WriterState.OK,
            buffered=buffered,
            spilled=self._spilled,
            error="; ".join(e for e in errors if e),
            failing_since=self._failing_since,
            last_written_seq=self._last_written_seq,
        )

    async def flush(self) -> None:
        """Wait until everything submitted so far is in the database."""
        target = self._submitted
        while self._written < target:
            self._progress.clear()
            await self._progress.wait()

    async def stop(self) -> None:
        """Ask ``run`` to write what it holds and return (it spills instead if the database
        is still failing ``stop_timeout_s`` from now); await the run task afterwards."""
        self._stop_deadline = time.monotonic() + self._stop_timeout_s
        self._stopping.set()
        self._attention.set()
        self._wake.set()
        self._full.set()

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        if self._running:
            raise RuntimeError("FactWriter.run is already running")
        self._running = True
        try:
            await self._recover_spill_file()
            while await self._step():
                pass
        except (asyncio.CancelledError, Exception):
            # Cancelled or a bug: whatever is only in memory goes to disk so that the next
            # start writes it. Blocking here is deliberate: the task is ending anyway.
            unsaved = await self._settle_transit()
            self._spill_blocking([*unsaved, *self._inflight, *self._tail])
            self._inflight = []
            self._tail.clear()
            raise
        finally:
            self._running = False

    async def _step(self) -> bool:
        """Write one batch (or wait for one); False when stopped with nothing left."""
        if len(self._tail) > self._memory_limit:
            # Producers outrun the database: keep memory bounded, the file keeps order.
            await self._spill(list(self._tail), clear_tail=True)
        if not self._tail and not self._spilled:
            if self._stopping.is_set():
                return False
            self._wake.clear()
            await self._wake.wait()
            return True
        if not self._spilled and len(self._tail) < self._batch_size:
            await self._wait_for_batch()

        from_disk = self._spilled > 0
        if from_disk:
            if self._disk_batch is None:
                self._disk_batch = await asyncio.to_thread(
                    _read_spill, self._spill_path, self._spill_offset, self._batch_size
                )
            if self._disk_batch.lines == 0:
                # The file holds fewer records than counted (changed under us): start over.
                log.error("fact log: %s ended early; resetting it", self._spill_path)
                self._spilled = 0
                self._disk_batch = None
                await asyncio.to_thread(_truncate, self._spill_path)
                self._spill_offset = 0
                return True
            rows = self._disk_batch.rows
        else:
            rows = self._take_from_tail()
            self._inflight = rows

        try:
            await asyncio.wait_for(self._insert(rows), self._write_timeout_s)
        except _RETRYABLE as exc:  # TimeoutError (write_timeout_s) is an OSError
            return await self._after_failure(exc, rows, from_disk)

        if from_disk:
            assert self._disk_batch is not None
            consumed = self._disk_batch.lines
            self._spill_offset = self._disk_batch.end
            self._spilled -= consumed
            self._disk_batch = None
            if self._spilled <= 0:
                self._spilled = 0
                await asyncio.to_thread(_truncate, self._spill_path)
                self._spill_offset = 0
            self._after_success(rows, consumed)
        else:
            self._after_success(rows, len(rows))
            self._inflight = []
        return True

    async def _wait_for_batch(self) -> None:
        if self._stopping.is_set():
            return
        remaining = self._max_delay_s - (time.monotonic() - self._tail_since)
        if remaining <= 0:
            return
        self._full.clear()
        if len(self._tail) >= self._batch_size:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._full.wait(), remaining)

    def _take_from_tail(self) -> list[Row]:
        tail = self._tail
        count = min(self._batch_size, len(tail))
        rows = [tail.popleft() for _ in range(count)]
        if tail:
            self._tail_since = time.monotonic()
        return rows

    async def _insert(self, rows: list[Row]) -> None:
        async with self._engine.begin() as connection:
            await insert_rows(connection, rows)

    def _after_success(self, rows: list[Row], consumed: int) -> None:
        if self._error:
            log.info("fact log: the database is writable again; writing the backlog")
        self._error = ""
        self._spill_error = ""  # nothing needs the disk while the database takes writes
        self._failing_since = None
        self._retry_delay = self._retry_initial_s
        self._written += consumed
        if rows:
            last = rows[-1]["seq"]
            if self._last_written_seq is None or last > self._last_written_seq:
                self._last_written_seq = last
        self._progress.set()

    async def _after_failure(self, exc: BaseException, rows: list[Row], from_disk: bool) -> bool:
        text = describe_error(exc)
        if not self._error:
            self._failing_since = time.time()
            log.warning("fact log: cannot write (%s); buffering records", text)
        self._error = text
        if not from_disk:
            # The spill file is empty whenever a batch comes from memory, so the failed
            # batch becomes its head and the order is kept (or, if the disk fails too, the
            # head of the memory tail).
            self._inflight = []  # counted as in transit while it is spilled
            if not await self._spill(rows):
                self._tail.extendleft(reversed(rows))
        if len(self._tail) > self._memory_limit or (
            self._stopping.is_set() and time.monotonic() >= self._stop_deadline
        ):
            await self._spill(list(self._tail), clear_tail=True)
        if self._stopping.is_set() and time.monotonic() >= self._stop_deadline:
            log.warning(
                "fact log: stopping with the database down; %d record(s) kept in %s",
                self._spilled,
                self._spill_path,
            )
            if self._tail:
                log.error(
                    "fact log: the spill file failed too; %d record(s) are lost", len(self._tail)
                )
            return False
        await self._sleep(self._retry_delay)
        self._retry_delay = min(self._retry_delay * 2, self._retry_max_s)
        return True

    async def _sleep(self, seconds: float) -> None:
        """The backoff pause; memory overflowing meanwhile is spilled at once."""
        until = time.monotonic() + seconds
        spill_ok = True  # after a failed spill, wait for the next attempt before trying again
        while True:
            if self._stopping.is_set():
                until = min(until, self._stop_deadline)
            remaining = until - time.monotonic()
            if remaining <= 0:
                return
            self._attention.clear()
            if len(self._tail) > self._memory_limit and spill_ok:
                spill_ok = await self._spill(list(self._tail), clear_tail=True)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._attention.wait(), remaining)

    # --- the spill file ---------------------------------------------------------------------

    async def _spill(self, rows: list[Row], *, clear_tail: bool = False) -> bool:
        """Append ``rows`` to the spill file; False (rows kept in memory) if it failed."""
        if clear_tail:
            # Taken out of the tail before the thread runs: records submitted meanwhile
            # are newer and stay behind in the fresh tail.
            for _ in range(len(rows)):
                self._tail.popleft()
        if not rows:
            return True
        self._in_transit = len(rows)
        self._transit = asyncio.ensure_future(
            asyncio.to_thread(_append_spill, self._spill_path, rows)
        )
        self._transit_rows = rows
        try:
            # Shielded: a cancelled writer must not abandon a half-done append (see run).
            await asyncio.shield(self._transit)
        except OSError as exc:
            # Disk full or unwritable: memory is all that is left; say so on the wallboard.
            if not self._spill_error:
                log.error("fact log: cannot spill to %s: %s", self._spill_path, exc)
            self._spill_error = describe_error(exc)
            self._in_transit = 0
            if clear_tail:
                self._tail.extendleft(reversed(rows))  # back in front of newer records
            return False
        self._spill_error = ""
        self._spilled += len(rows)
        self._in_transit = 0
        return True

    async def _settle_transit(self) -> list[Row]:
        """Let an append that was under way finish; its rows if it failed."""
        transit, self._transit = self._transit, None
        if transit is None or self._in_transit == 0:
            return []
        self._in_transit = 0
        try:
            await asyncio.shield(transit)
        except OSError:
            return self._transit_rows
        self._spilled += len(self._transit_rows)
        return []

    def _spill_blocking(self, rows: list[Row]) -> None:
        if not rows:
            return
        try:
            _append_spill(self._spill_path, rows)
        except OSError:
            log.exception("fact log: %d record(s) could not be saved at exit", len(rows))
            return
        self._spilled += len(rows)

    async def _recover_spill_file(self) -> None:
        count = await asyncio.to_thread(_recover_spill, self._spill_path)
        if count:
            log.warning(
                "fact log: %d record(s) left in %s by an earlier run; writing them first",
                count,
                self._spill_path,
            )
            self._spilled = count
            self._spill_offset = 0
            self._submitted += count


def describe_error(exc: BaseException) -> str:
    """One short line for health and logs: the driver's error, never SQL or parameters."""
    cause: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        cause = exc.orig
    if isinstance(exc, TimeoutError) and not str(exc):
        return "TimeoutError: the database did not answer in time"
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}"[:300]


# --- spill-file helpers (run in a worker thread) ---------------------------------------------


def _spill_line(row: Row) -> str:
    return json.dumps(
        {"seq": row["seq"], "record": row["payload"]}, ensure_ascii=False, separators=(",", ":")
    )


def _append_spill(path: Path, rows: Iterable[Row]) -> None:
    created = not path.exists()
    data = "".join(_spill_line(row) + "\n" for row in rows).encode("utf-8")
    # Owner-only: the records carry callers' numbers and words.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            # A partial append would glue onto the next one: take it back, then report.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)
    if created:
        # Make the new file's directory entry durable too.
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True, slots=True)
class _DiskBatch:
    rows: list[Row]
    end: int  # byte offset after the last line read
    lines: int  # records consumed (a damaged line is consumed without a row)


def _read_spill(path: Path, offset: int, limit: int) -> _DiskBatch:
    rows: list[Row] = []
    lines = 0
    with path.open("rb") as spill:
        spill.seek(offset)
        while lines < limit:
            line = spill.readline()
            if not line.endswith(b"\n"):
                break  # end of file
            offset += len(line)
            if not line.strip():
                continue
            lines += 1
            try:
                data = json.loads(line)
                rows.append(fact_row(int(data["seq"]), data["record"]))
            except (ValueError, KeyError, TypeError) as exc:
                # Cannot happen with our own writes; if the disk damaged one, keep the rest.
                log.error("fact log: skipping a damaged line in %s: %s", path, exc)
    return _DiskBatch(rows, offset, lines)


def _recover_spill(path: Path) -> int:
    """Records in a spill file left by an earlier run. A last line cut short by a crash
    is removed (it was never acknowledged as written) so appends start on a fresh line."""
    if not path.exists():
        return 0
    count = 0
    complete = 0
    with path.open("rb") as spill:
        for line in spill:
            if not line.endswith(b"\n"):
                break
            complete += len(line)
            if line.strip():
                count += 1
    if complete != path.stat().st_size:
        log.warning("fact log: dropping a partial last line from %s", path)
        with path.open("r+b") as spill:
            spill.truncate(complete)
            os.fsync(spill.fileno())
    return count


def _truncate(path: Path) -> None:
    with path.open("r+b") as spill:
        spill.truncate(0)
        os.fsync(spill.fileno())


# --- reading the log back ----------------------------------------------------------------------


async def last_seq(engine: AsyncEngine) -> int | None:
    """The highest seq in the log (None when it is empty)."""
    async with engine.connect() as connection:
        value = await connection.scalar(select(func.max(FactRow.seq)))
    return None if value is None else int(value)


async def stream_records(
    engine: AsyncEngine, after_seq: int | None = None, *, chunk: int = 5000
) -> AsyncIterator[tuple[int, Any]]:
    """``(seq, record)`` in seq order, decoded, read in chunks (keyset pagination)."""
    cursor = after_seq
    while True:
        query = select(FactRow.seq, FactRow.payload).order_by(FactRow.seq).limit(chunk)
        if cursor is not None:
            query = query.where(FactRow.seq > cursor)
        async with engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        for seq, payload in rows:
            yield int(seq), decode(payload)
        if len(rows) < chunk:
            return
        cursor = int(rows[-1][0])


async def load_records(engine: AsyncEngine, after_seq: int | None = None) -> list[tuple[int, Any]]:
    """The whole log after ``after_seq`` as ``(seq, record)`` pairs, for restore."""
    return [pair async for pair in stream_records(engine, after_seq)]
