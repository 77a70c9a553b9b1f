"""The runtime's records into the store: the fact log, the CDR rows, the mode switches.

    recorder = StoreRecorder(engine, spill_path, cdr=restored.cdr)
    await recorder.open()                 # a spill file left by a crash is written first
    restored = await restore_centre(...)  # ... so the restore sees it
    recorder.attach(runtime)              # before the runtime takes its first event
    ...
    await runtime.stop(); await recorder.close()   # every record written (or spilled)

One subscription reads the runtime's fact log in order (it never slows the runtime: a
lagging reader catches up from the log). Each `(seq, record)` goes to the `FactWriter`
(batched, buffered and spilled through outages, each seq stored once) and to the CDR
projection; the calls it touched are written every `flush_every_s` by a second task,
retried until the database takes them.

The recorder is the one writer of the mode-switch audit (`hotline.store.modes`): a
`ModeChanged` fact wakes that task at once (the API answers a supervisor's switch with
the row written here), and `open()` writes the row of any `ModeChanged` fact the store
holds without one (the process died in between).

CDR rows are derived data: if they are lost (the process dies while the database is down) the fact
log still has everything (`hotline cdr` rebuilds them); after a restart the calls of the
log's last day are written again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.projections.cdr import CallDetail, CdrBuilder
from hotline.runtime.centre_runtime import CentreRuntime
from hotline.runtime.factlog import FellBehind
from hotline.store.calls import upsert_calls_on
from hotline.store.factlog import FactWriter, WriterHealth, describe_error
from hotline.store.modes import record_mode_switch, unrecorded_mode_changes
from hotline.vocabulary.facts import ModeChanged

log = logging.getLogger("hotline.service.recorder")

_DB_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError)

_RECOVERY_WAIT_S = 10.0


def cdr_dict(call: CallDetail) -> dict[str, Any]:
    """A CDR as the store's `upsert_calls` takes it (ring attempts as plain dicts)."""
    return dataclasses.asdict(call)


class StoreRecorder:
    """See the module docstring. All methods run on the event loop's thread."""

    def __init__(
        self, engine: AsyncEngine, spill_path: Path, *, cdr: CdrBuilder | None = None,
        writer: FactWriter | None = None, flush_every_s: float = 1.0,
    ) -> None:
        self.engine = engine
        self.writer = writer or FactWriter(engine, spill_path)
        self._spill_path = spill_path
        self.cdr = cdr or CdrBuilder()
        self._flush_every_s = flush_every_s
        self._dirty: dict[str, None] = {}  # call ids whose CDR changed, in order
        self._modes: list[tuple[int, ModeChanged]] = []
        self._writer_task: asyncio.Task[None] | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._derived_task: asyncio.Task[None] | None = None
        self._derived_error = ""
        self._wake = asyncio.Event()
        self.records = 0  # records handed to the writer by this process
        self.cdr_rows_written = 0
        self.lost = 0  # records the runtime's log no longer held when read (never expected)

    # --- life cycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Start the writer; return once a spill file an earlier run left is written."""
        spill = self._spill_path
        spill.parent.mkdir(parents=True, exist_ok=True)
        left = spill.exists() and spill.stat().st_size > 0
        self._writer_task = asyncio.create_task(self.writer.run(), name="hotline-fact-writer")
        if left:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + _RECOVERY_WAIT_S
            while (self.writer.health().spilled == 0 and not self._writer_task.done()
                   and spill.exists() and spill.stat().st_size > 0
                   and loop.time() < deadline):
                await asyncio.sleep(0.01)
            await self.writer.flush()
            log.info("records left in %s by an earlier run are in the store", spill)
        try:
            await self._complete_mode_audit()
        except _DB_ERRORS as exc:
            log.warning("mode-switch rows of earlier runs not checked (%s)", describe_error(exc))

    async def _complete_mode_audit(self) -> None:
        """Write the audit row of every logged `ModeChanged` fact that has none."""
        async with self.engine.begin() as connection:
            written = [seq for seq, fact in await unrecorded_mode_changes(connection)
                       if await record_mode_switch(connection, seq, fact)]
        if written:
            log.info("wrote the audit rows of %d earlier mode switches", len(written))

    def attach(self, runtime: CentreRuntime, *, rewrite: Iterable[str] = ()) -> None:
        """Read `runtime`'s records from its next one; `rewrite`: calls whose CDR rows
        are written again (those of the log's last day, after a restart)."""
        subscription = runtime.subscribe()
        for call_id in rewrite:
            self._dirty[call_id] = None
        self._pump_task = asyncio.create_task(self._pump(runtime, subscription),
                                              name="hotline-store-recorder")
        self._derived_task = asyncio.create_task(self._derived_loop(),
                                                 name="hotline-cdr-writer")

    async def close(self) -> None:
        """After the runtime stopped: write everything read (the fact log first)."""
        if self._pump_task is not None:
            await self._pump_task  # ends: the runtime's stop closed the subscription
        if self._derived_task is not None:
            self._derived_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._derived_task
        await self.writer.stop()
        if self._writer_task is not None:
            await self._writer_task
        try:
            await asyncio.wait_for(self._write_derived(), 10.0)
        except (TimeoutError, SQLAlchemyError, OSError) as exc:
            log.warning("CDR rows not written at shutdown (%s); the fact log has them",
                        describe_error(exc))

    async def abort(self) -> None:
        """Stop at once (demoted, or a failed start): what is only in memory is spilled."""
        for task in (self._pump_task, self._derived_task, self._writer_task):
            if task is not None and not task.done():
                task.cancel()
        for task in (self._pump_task, self._derived_task, self._writer_task):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def health(self) -> WriterHealth:
        return self.writer.health()

    @property
    def derived_error(self) -> str:
        return self._derived_error

    # --- reading the runtime --------------------------------------------------------------

    async def _pump(self, runtime: CentreRuntime, subscription: Any) -> None:
        submit = self.writer.submit
        feed = self.cdr.feed
        dirty = self._dirty
        while True:
            try:
                async for seq, record in subscription:
                    submit(seq, record)
                    self.records += 1
                    feed(record)
                    call_id = getattr(record, "call_id", None)
                    if call_id is not None:
                        dirty[call_id] = None
                    elif type(record) is ModeChanged:
                        self._modes.append((seq, record))
                        self._wake.set()  # the API waits for this row
                    if len(dirty) >= 500:
                        self._wake.set()
                return
            except FellBehind as exc:
                # Cannot happen unless the loop starved for a whole log's worth of records.
                missed = exc.oldest - exc.wanted
                self.lost += missed
                log.critical("the store recorder missed records %d..%d (the runtime's log "
                             "had overwritten them)", exc.wanted, exc.oldest - 1)
                subscription.close()
                subscription = runtime.subscribe(from_seq=exc.oldest)

    # --- CDR rows and mode switches -----------------------------------------------------------

    async def _derived_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_every_s)
            self._wake.clear()
            try:
                await self._write_derived()
                self._derived_error = ""
            except _DB_ERRORS as exc:
                if not self._derived_error:
                    log.warning("CDR rows wait for the database: %s", describe_error(exc))
                self._derived_error = describe_error(exc)
                await asyncio.sleep(self._flush_every_s)

    async def _write_derived(self) -> None:
        if self._modes:
            # First and on their own: a supervisor waits for these, and a CDR row the
            # database refuses must not hold the audit back.
            modes = list(self._modes)
            async with self.engine.begin() as connection:
                for seq, fact in modes:
                    await record_mode_switch(connection, seq, fact)
            del self._modes[:len(modes)]
        if not self._dirty:
            return
        ids = list(self._dirty)
        rows = []
        for call_id in ids:
            call = self.cdr.get(call_id)
            if call is not None:
                rows.append(cdr_dict(call))
        async with self.engine.begin() as connection:
            for start in range(0, len(rows), 500):
                await upsert_calls_on(connection, rows[start:start + 500])
        for call_id in ids:
            self._dirty.pop(call_id, None)
        self.cdr_rows_written += len(rows)
