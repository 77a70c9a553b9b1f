"""A service restarted from its store: callers keep their places, records their numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from hotline.cli.serve import main as serve_main
from hotline.service.server import ServeOptions
from hotline.store.engine import create_engine
from hotline.store.models import CallRow, FactRow
from hotline.vocabulary.events import CallerHungUp
from hotline.vocabulary.facts import CallFinished
from hotline.vocabulary.states import CallStage

from .conftest import ServiceRun, options, queue_callers, waiting

CALLERS = [f"c{i}" for i in range(1, 7)]


async def _stored(url: URL) -> list[int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return list(await connection.scalars(select(FactRow.seq).order_by(FactRow.seq)))
    finally:
        await engine.dispose()


async def test_a_restarted_service_keeps_waiting_callers_in_their_places(
    db_url: URL, tmp_path: Path, start_service: Callable[[ServeOptions], ServiceRun],
) -> None:
    first = start_service(options(db_url, tmp_path))
    running = await first.start()
    await queue_callers(running, CALLERS)
    await running.runtime.post(CallerHungUp("c3", running.runtime.clock.now()))
    await running.runtime.drain()
    before = waiting(running)
    assert [call for _, call, _ in before] == ["c1", "c2", "c4", "c5", "c6"]
    last = running.runtime.log.next_seq - 1
    assert await first.stop() == 0

    # Everything the first process numbered is in the store, once each, in order.
    assert await _stored(db_url) == list(range(1, last + 1))

    second = start_service(options(db_url, tmp_path))
    again = await second.start()
    assert again.restored.last_seq == last
    after = waiting(again)
    assert [(q, c) for q, c, _ in after] == [(q, c) for q, c, _ in before]
    for (_, call, joined), (_, _, joined_again) in zip(before, after, strict=True):
        assert joined_again == pytest.approx(joined, abs=1e-6), call  # original times
    kernel = again.restored.kernel
    assert all(kernel.stage(call) is CallStage.WAITING for _, call, _ in after)
    assert kernel.stage("c3") is None
    assert again.runtime.pending_timers > 0  # announcements, expansion, max wait re-armed

    # New records are numbered on from the store's last one, and the call goes on.
    await again.runtime.post(CallerHungUp("c1", again.runtime.clock.now()))
    await again.runtime.drain()
    assert [call for _, call, _ in waiting(again)] == ["c2", "c4", "c5", "c6"]
    assert await second.stop() == 0
    stored = await _stored(db_url)
    assert stored == list(range(1, len(stored) + 1)) and len(stored) > last

    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            outcome = await connection.scalar(
                select(CallRow.outcome).where(CallRow.call_id == "c1"))
            rows = await connection.scalar(select(func.count()).select_from(CallRow))
    finally:
        await engine.dispose()
    # The CDR row of the restored call is completed (short: it waited under 5 s).
    assert outcome in ("short-abandon", "abandoned-in-queue")
    assert rows == len(CALLERS)


async def test_the_fact_log_continues_after_the_last_stored_record(
    db_url: URL, tmp_path: Path, start_service: Callable[[ServeOptions], ServiceRun],
) -> None:
    first = start_service(options(db_url, tmp_path))
    running = await first.start()
    await queue_callers(running, ["a1"])
    await running.runtime.post(CallerHungUp("a1", running.runtime.clock.now()))
    await running.runtime.drain()
    await first.stop()
    last = (await _stored(db_url))[-1]

    second = start_service(options(db_url, tmp_path))
    again = await second.start()
    seen: list[tuple[int, object]] = []
    again.runtime.listen(lambda seq, record: seen.append((seq, record)))
    await queue_callers(again, ["a2"])
    await second.stop()
    assert seen[0][0] == last + 1
    assert again.restored.live_calls == ()
    assert not any(isinstance(r, CallFinished) for _, r in seen)


def test_standby_on_sqlite_is_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    code = serve_main(["--config", str(Path(__file__).resolve().parents[2] / "config"),
                       "--db", url, "--standby", "--no-simulate", "--port", "0"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--standby needs PostgreSQL" in err
    assert not (tmp_path / "hotline.db").exists()  # refused before touching anything
