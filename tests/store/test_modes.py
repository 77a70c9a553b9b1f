"""The mode-switch audit: one row per `ModeChanged` fact, written by the recorder alone;
the unique fact number makes a second row impossible. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.composition import build_kernel
from hotline.config.loader import load_centre
from hotline.runtime.centre_runtime import CentreRuntime
from hotline.runtime.clock import VirtualClock
from hotline.service.recorder import StoreRecorder
from hotline.store.factlog import encode_record, fact_row, insert_rows
from hotline.store.models import ModeSwitch
from hotline.store.modes import (
    mode_switch_for,
    recent_mode_switches,
    record_mode_switch,
    unrecorded_mode_changes,
    wait_for_mode_switch,
)
from hotline.vocabulary.events import ModeSwitched
from hotline.vocabulary.facts import ModeChanged

CONFIG = Path(__file__).resolve().parents[2] / "config"
SWITCH = ModeChanged("normal", "emergency", "supervisor:lead", "暴雨红色预警 <b>'; --", 100.0,
                     until=4000.0)


async def _rows(engine: AsyncEngine) -> list[ModeSwitch]:
    return await recent_mode_switches(engine, 100)


async def test_a_fact_is_recorded_once(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        assert await record_mode_switch(connection, 7, SWITCH)
    async with engine.begin() as connection:
        assert not await record_mode_switch(connection, 7, SWITCH)  # a retry: nothing
    [row] = await _rows(engine)
    assert (row.fact_seq, row.from_mode, row.to_mode, row.by, row.reason, row.at, row.until) == (
        7, "normal", "emergency", "supervisor:lead", SWITCH.reason, 100.0, 4000.0)
    assert (await mode_switch_for(engine, 7)) is not None
    assert await mode_switch_for(engine, 8) is None


async def test_the_table_refuses_a_second_row_for_a_fact(engine: AsyncEngine) -> None:
    values = {"at": 1.0, "from_mode": "normal", "to_mode": "emergency", "by": "x",
              "reason": "", "fact_seq": 3}
    async with engine.begin() as connection:
        await connection.execute(insert(ModeSwitch).values(**values))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(insert(ModeSwitch).values(**values))
    # Rows without a fact (older than the rule) do not collide with each other.
    async with engine.begin() as connection:
        for _ in range(2):
            await connection.execute(insert(ModeSwitch).values(**{**values, "fact_seq": None}))
    assert len(await _rows(engine)) == 3


async def test_a_user_name_of_64_characters_fits_the_audit(engine: AsyncEngine) -> None:
    by = "supervisor:" + "长" * 64
    async with engine.begin() as connection:
        await record_mode_switch(connection, 1, ModeChanged("normal", "emergency", by, "", 1.0))
    assert (await _rows(engine))[0].by == by


async def test_the_recorder_writes_what_an_earlier_run_logged_without_a_row(
        engine: AsyncEngine, spill_path: Path) -> None:
    back = ModeChanged("emergency", "normal", "timer", "automatic return", 4000.0)
    async with engine.begin() as connection:
        await insert_rows(connection, [fact_row(5, encode_record(SWITCH)),
                                       fact_row(9, encode_record(back))])
        await record_mode_switch(connection, 5, SWITCH)  # 9 was logged, its row never written
        assert [seq for seq, _ in await unrecorded_mode_changes(connection)] == [9]
    recorder = StoreRecorder(engine, spill_path)
    await recorder.open()
    try:
        rows = await _rows(engine)
        assert [(r.fact_seq, r.to_mode, r.by) for r in rows] == [
            (9, "normal", "timer"), (5, "emergency", "supervisor:lead")]
    finally:
        await recorder.abort()


async def test_a_switch_on_the_runtime_gets_exactly_one_row(
        engine: AsyncEngine, spill_path: Path) -> None:
    """The runtime's fact, through the recorder, whoever asked: the supervisor's switch and
    the automatic return its `until` schedules."""
    centre = load_centre(CONFIG)
    clock = VirtualClock(1_000.0)
    runtime = CentreRuntime(build_kernel(centre), clock, queues=centre.config.queues)
    recorder = StoreRecorder(engine, spill_path, flush_every_s=60.0)  # woken by the fact
    await recorder.open()
    recorder.attach(runtime)
    await runtime.start()
    try:
        first = runtime.log.next_seq
        at = clock.now()
        await runtime.post(ModeSwitched("emergency", "supervisor:lead", "台风", at, at + 3600))
        await runtime.drain()
        seq = next(s for s, r in runtime.log.since(first) if isinstance(r, ModeChanged))
        row = await wait_for_mode_switch(engine, seq, 10.0)
        assert (row.from_mode, row.to_mode, row.reason) == ("normal", "emergency", "台风")
        clock.advance(3600)  # the automatic return's timer fires
        await runtime.drain()
        view = runtime.view().centre
        assert view is not None and view.mode == "normal"
    finally:
        await runtime.stop()
        await recorder.close()
    rows = await _rows(engine)
    assert [(r.from_mode, r.to_mode, r.by) for r in rows] == [
        ("emergency", "normal", "timer"), ("normal", "emergency", "supervisor:lead")]
    async with engine.connect() as connection:
        seqs = (await connection.execute(select(ModeSwitch.fact_seq))).scalars().all()
        assert len(set(seqs)) == 2 and None not in seqs
        assert await connection.scalar(select(func.count()).select_from(ModeSwitch)) == 2


async def test_waiting_for_a_row_that_never_comes_times_out(engine: AsyncEngine) -> None:
    with pytest.raises(TimeoutError):
        await wait_for_mode_switch(engine, 42, 0.05)
