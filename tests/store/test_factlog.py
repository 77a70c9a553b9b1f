"""The fact writer and the log reader, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.store.factlog import FactWriter, WriterState, last_seq, load_records
from hotline.store.models import FactRow
from hotline.vocabulary.codec import CodecError, encode
from hotline.vocabulary.events import CallArrived
from store.conftest import Outage
from store.helpers import sample_records, wait_until


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(FactRow)) or 0)


async def _run(writer: FactWriter) -> asyncio.Task[None]:
    task = asyncio.create_task(writer.run())
    await asyncio.sleep(0)
    return task


async def _finish(writer: FactWriter, task: asyncio.Task[None]) -> None:
    await writer.stop()
    await asyncio.wait_for(task, 30)


async def test_writes_records_in_order_and_reads_them_back(
    engine: AsyncEngine, spill_path: Path
) -> None:
    pairs = sample_records(2500)
    writer = FactWriter(engine, spill_path, batch_size=400)
    task = await _run(writer)
    for seq, record in pairs:
        writer.submit(seq, record)
    await asyncio.wait_for(writer.flush(), 30)
    await _finish(writer, task)

    assert await load_records(engine) == pairs
    assert await last_seq(engine) == 2500
    assert await load_records(engine, after_seq=2490) == pairs[-10:]
    health = writer.health()
    assert health.state is WriterState.OK
    assert (health.buffered, health.spilled, health.error) == (0, 0, "")
    assert health.last_written_seq == 2500


async def test_subject_keys_and_payload_are_stored(engine: AsyncEngine, spill_path: Path) -> None:
    pairs = sample_records(5, first_seq=10)  # seq 10: a CallArrived, seq 14: a seat change
    writer = FactWriter(engine, spill_path)
    task = await _run(writer)
    for seq, record in pairs:
        writer.submit(seq, record)
    await _finish(writer, task)
    async with engine.connect() as connection:
        rows = (await connection.execute(select(FactRow.__table__).order_by(FactRow.seq))).all()
    by_seq = {row.seq: row for row in rows}
    assert by_seq[10].type == "CallArrived"
    assert by_seq[10].call_id == "call-2" and by_seq[10].agent_id is None
    assert by_seq[14].type == "SeatStateChanged"
    assert by_seq[14].agent_id == "a014" and by_seq[14].call_id is None
    assert by_seq[12].payload == encode(pairs[2][1])  # Chinese text intact
    assert by_seq[12].at == pairs[2][1].at  # type: ignore[attr-defined]
    assert by_seq[10].written_at is not None


async def test_a_small_batch_is_written_by_the_time_bound(
    engine: AsyncEngine, spill_path: Path
) -> None:
    writer = FactWriter(engine, spill_path, batch_size=1000, max_delay_s=0.05)
    task = await _run(writer)
    for seq, record in sample_records(3):
        writer.submit(seq, record)
    await wait_until(lambda: writer.health().last_written_seq == 3, what="the time-bound flush")
    await _finish(writer, task)
    assert await _count(engine) == 3


async def test_replayed_pairs_are_not_written_twice(engine: AsyncEngine, spill_path: Path) -> None:
    pairs = sample_records(300)
    writer = FactWriter(engine, spill_path, batch_size=64)
    task = await _run(writer)
    for seq, record in pairs[:200]:
        writer.submit(seq, record)
    # A replay overlapping what is written, inside one batch and across batches.
    for seq, record in pairs[150:300]:
        writer.submit(seq, record)
    for seq, record in pairs[250:260]:
        writer.submit(seq, record)
    await _finish(writer, task)

    # And a second writer (a restarted process) replaying the whole run.
    again = FactWriter(engine, spill_path, batch_size=64)
    task = await _run(again)
    for seq, record in pairs:
        again.submit(seq, record)
    await _finish(again, task)

    assert await _count(engine) == 300
    assert await load_records(engine) == pairs


async def test_submit_refuses_what_the_log_cannot_hold(
    engine: AsyncEngine, spill_path: Path
) -> None:
    writer = FactWriter(engine, spill_path)
    with pytest.raises(CodecError):
        writer.submit(1, object())
    assert writer.health().buffered == 0


async def test_empty_log(engine: AsyncEngine) -> None:
    assert await last_seq(engine) is None
    assert await load_records(engine) == []


async def test_database_outage_buffers_spills_and_catches_up_exactly_once(
    engine: AsyncEngine, outage: Outage, spill_path: Path
) -> None:
    pairs = sample_records(600)
    writer = FactWriter(
        outage.engine,
        spill_path,
        batch_size=20,
        max_delay_s=0.01,
        memory_limit=100,
        retry_initial_s=0.02,
        retry_max_s=0.2,
        write_timeout_s=5,
    )
    task = await _run(writer)
    for seq, record in pairs[:50]:
        writer.submit(seq, record)
    await asyncio.wait_for(writer.flush(), 30)

    await outage.down()
    # Calls keep flowing: records arrive while the database is away, a few per tick.
    high_water = 0
    for start in range(50, 550, 10):
        for seq, record in pairs[start : start + 10]:
            writer.submit(seq, record)
        await asyncio.sleep(0.005)
        health = writer.health()
        high_water = max(high_water, health.buffered - health.spilled)
    for seq, record in pairs[40:60]:  # and a replay of pairs already written or buffered
        writer.submit(seq, record)
    await wait_until(
        lambda: writer.health().spilled > 0 and writer.health().error != "",
        what="the writer to report the fault and spill",
    )
    health = writer.health()
    assert health.state is WriterState.DEGRADED
    assert health.buffered == 500 + 20  # nothing written, nothing dropped
    assert health.failing_since is not None
    assert high_water <= 100 + 2 * 20  # memory stayed near its bound; the rest is on disk
    assert spill_path.stat().st_size > 0
    assert await _count(engine) == 50

    await outage.up()
    for seq, record in pairs[550:]:
        writer.submit(seq, record)
    await asyncio.wait_for(writer.flush(), 60)
    health = writer.health()
    assert health.state is WriterState.OK
    assert (health.buffered, health.spilled, health.error) == (0, 0, "")
    assert spill_path.stat().st_size == 0
    await _finish(writer, task)

    assert await _count(engine) == 600
    assert await load_records(engine) == pairs


async def test_stopping_while_the_database_is_down_keeps_everything_on_disk(
    engine: AsyncEngine, outage: Outage, spill_path: Path
) -> None:
    pairs = sample_records(120)
    await outage.down()
    writer = FactWriter(
        outage.engine,
        spill_path,
        batch_size=25,
        memory_limit=50,
        retry_initial_s=0.02,
        stop_timeout_s=0.3,
    )
    task = await _run(writer)
    for seq, record in pairs:
        writer.submit(seq, record)
    await asyncio.sleep(0.1)
    await _finish(writer, task)
    assert writer.health().spilled == 120
    assert await _count(engine) == 0

    # The next process finds the spill file and writes it before anything new.
    await outage.up()
    more = sample_records(30, first_seq=121)
    restarted = FactWriter(engine, spill_path, batch_size=25)
    task = await _run(restarted)
    for seq, record in more:
        restarted.submit(seq, record)
    await asyncio.wait_for(restarted.flush(), 30)
    await _finish(restarted, task)
    assert await load_records(engine) == pairs + more
    assert spill_path.stat().st_size == 0


async def test_a_cancelled_writer_saves_its_memory_to_disk(
    engine: AsyncEngine, outage: Outage, spill_path: Path
) -> None:
    pairs = sample_records(40)
    await outage.down()
    writer = FactWriter(outage.engine, spill_path, batch_size=10, retry_initial_s=0.05)
    task = await _run(writer)
    for seq, record in pairs:
        writer.submit(seq, record)
    await wait_until(lambda: writer.health().error != "", what="a failed write")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await outage.up()

    restarted = FactWriter(engine, spill_path)
    task = await _run(restarted)
    await asyncio.wait_for(restarted.flush(), 30)
    await _finish(restarted, task)
    assert await load_records(engine) == pairs


async def test_a_spill_line_cut_short_by_a_crash_is_dropped(
    engine: AsyncEngine, spill_path: Path
) -> None:
    pairs = sample_records(3)
    lines = [
        json.dumps({"seq": seq, "record": encode(record)}, ensure_ascii=False)
        for seq, record in pairs
    ]
    spill_path.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:20], encoding="utf-8")
    writer = FactWriter(engine, spill_path)
    assert writer.health().spilled == 0  # the file is read when the writer runs
    task = await _run(writer)
    writer.submit(3, pairs[2][1])
    await asyncio.wait_for(writer.flush(), 30)
    await _finish(writer, task)
    assert await load_records(engine) == pairs


async def test_flush_waits_for_records_in_flight(engine: AsyncEngine, spill_path: Path) -> None:
    writer = FactWriter(engine, spill_path, batch_size=5, max_delay_s=10)
    task = await _run(writer)
    writer.submit(1, CallArrived(call_id="c1", line="12345", caller="", at=1.0))
    await writer.stop()  # stop writes what is held without waiting out max_delay_s
    await asyncio.wait_for(task, 5)
    assert await last_seq(engine) == 1


def test_the_writers_encoder_is_the_codec() -> None:
    from hotline.store.factlog import encode_record
    from hotline.vocabulary.events import CallContext, ModeSwitched, SpeechRecognized

    records: list[object] = [record for _, record in sample_records(10)]
    records += [
        SpeechRecognized(call_id="c", text="是", confidence=1.0, at=2.0, alternatives=("是", "对")),
        ModeSwitched(mode="emergency", by="lead", reason="疫情", at=3.0, until=None),
        CallArrived(call_id="c", line="12345", caller="", at=4),  # an int where a float goes
    ]
    for record in records:
        assert encode_record(record) == encode(record)
        assert list(encode_record(record)) == list(encode(record))  # same key order
    with pytest.raises(CodecError):
        encode_record(CallContext(call_id="c", line="1", caller="", at=0.0))


async def test_when_the_disk_fails_too_records_stay_in_memory(
    engine: AsyncEngine, outage: Outage, tmp_path: Path
) -> None:
    pairs = sample_records(80)
    unwritable = tmp_path / "no-such-dir" / "facts.spill.jsonl"
    writer = FactWriter(
        outage.engine, unwritable, batch_size=10, memory_limit=20, retry_initial_s=0.02
    )
    await outage.down()
    task = await _run(writer)
    for seq, record in pairs:
        writer.submit(seq, record)
    await wait_until(lambda: "spill file" in writer.health().error, what="the spill failure")
    health = writer.health()
    assert health.state is WriterState.DEGRADED
    assert (health.buffered, health.spilled) == (80, 0)

    await outage.up()
    await asyncio.wait_for(writer.flush(), 30)
    assert writer.health().state is WriterState.OK
    await _finish(writer, task)
    assert await load_records(engine) == pairs
