"""The virtual clock's order, the fact log's bounds, and subscribers under any pace."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.runtime.clock import VirtualClock
from hotline.runtime.factlog import FactLog, FellBehind
from hotline.runtime.subscriptions import Subscription


def test_virtual_clock_runs_by_due_time_then_insertion_order() -> None:
    clock = VirtualClock(100.0)
    ran: list[tuple[str, float]] = []
    for name, when in (("b", 105.0), ("a", 101.0), ("c", 105.0), ("d", 103.0)):
        clock.at(when, lambda n: ran.append((n, clock.now())), name)
    handle = clock.call_later(2.0, lambda: ran.append(("timer", clock.now())))
    late = clock.call_later(4.0, lambda: ran.append(("cancelled", clock.now())))
    late.cancel()
    clock.run_until(104.0)
    assert ran == [("a", 101.0), ("timer", 102.0), ("d", 103.0)]
    assert clock.now() == 104.0
    handle.cancel()  # already fired: nothing happens
    clock.advance(10)
    assert [n for n, _ in ran[3:]] == ["b", "c"]
    with pytest.raises(ValueError):
        clock.at(50.0, lambda _: None)


def test_the_fact_log_keeps_the_newest_records_and_names_what_was_lost() -> None:
    log = FactLog(capacity=3)
    for i in range(5):
        assert log.append(f"r{i}") == i + 1
    assert (log.oldest_seq, log.next_seq, len(log)) == (3, 6, 3)
    assert log.since(3) == [(3, "r2"), (4, "r3"), (5, "r4")]
    with pytest.raises(FellBehind) as caught:
        log.get(2)
    assert "records 2..2 were missed" in str(caught.value)


@given(
    maxsize=st.integers(1, 5),
    log_size=st.integers(1, 40),
    plan=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=30),
)
def test_a_subscriber_gets_every_record_once_in_order_or_is_told_it_fell_behind(
    maxsize: int, log_size: int, plan: list[tuple[int, int]]
) -> None:
    """Whatever the pace of writer and reader: no record lost, none twice, in order."""

    async def scenario() -> None:
        log = FactLog(log_size)
        subscription = Subscription(log, maxsize, log.next_seq, lambda: None)
        got: list[int] = []
        for writes, reads in plan:
            for _ in range(writes):
                seq = log.append(object())
                subscription.deliver(seq, None)
            for _ in range(reads):
                if subscription.next_seq >= log.next_seq:
                    break  # nothing to read: would wait
                try:
                    seq, _record = await subscription.__anext__()
                except FellBehind:
                    assert subscription.next_seq < log.oldest_seq
                    return
                got.append(seq)
        assert got == list(range(1, len(got) + 1))

    asyncio.run(scenario())


def test_a_reader_of_a_log_it_started_on_is_caught_up_first() -> None:
    async def read() -> list[Any]:
        log = FactLog(10)
        for i in range(3):
            log.append(i)
        subscription = Subscription(log, 1, 1, lambda: None)
        subscription.close()
        return [record async for _, record in subscription]

    assert asyncio.run(read()) == [0, 1, 2]
