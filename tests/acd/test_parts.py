"""The ACD's small parts: timers, waiting index, estimates, repeat callers."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from hotline.queue.estimates import HandleTimes, RecentCallers, expected_wait_s
from hotline.queue.timers import TimerBook
from hotline.queue.waiting import Entry, EntryKind, WaitingIndex
from hotline.vocabulary.commands import CancelTimer, StartTimer
from hotline.vocabulary.timers import (
    CENTRE,
    EntryOwner,
    SeatOwner,
    TimerKind,
    parse_owner,
)


def test_rearming_cancels_and_late_fires_are_stale() -> None:
    sent: list[StartTimer | CancelTimer] = []
    book = TimerBook(sent.append)
    c1 = EntryOwner("c1")
    book.arm(c1, TimerKind.EXPAND, 5)
    book.arm(c1, TimerKind.EXPAND, 7)
    first, cancel, second = sent
    assert isinstance(first, StartTimer) and isinstance(second, StartTimer)
    assert cancel == CancelTimer("c1", first.timer)
    assert book.fired("c1", first.timer) is None  # replaced: stale
    assert book.fired("c1", second.timer) == (c1, TimerKind.EXPAND)
    assert book.fired("c1", second.timer) is None  # spent
    assert len(book) == 0


def test_negative_delays_become_immediate() -> None:
    sent: list[StartTimer | CancelTimer] = []
    TimerBook(sent.append).arm(EntryOwner("c"), TimerKind.RETRY, -3)
    assert sent[0].seconds == 0.0  # type: ignore[union-attr]


def test_timer_owners_have_stable_wire_forms_that_read_back() -> None:
    assert SeatOwner("a1").wire == "acd:seat:a1"
    assert CENTRE.wire == "acd:centre"
    assert EntryOwner("call-7.cb").wire == "call-7.cb"
    for owner in (SeatOwner("a1"), CENTRE, EntryOwner("call-7.cb")):
        assert parse_owner(owner.wire) == owner


def test_expected_wait_is_never_zero_and_unknown_without_staff() -> None:
    assert expected_wait_s(1, 180, 0) is None
    assert expected_wait_s(1, 0.1, 50) == 1.0
    assert expected_wait_s(3, 120, 2) == 180.0
    times = HandleTimes(200)
    assert times.mean("q") == 200
    times.add("q", 0)
    assert times.mean("q") == 200  # instant hang-ups do not make the wait 0
    times.add("q", 100)
    assert times.mean("q") == 50


def test_recent_callers_window() -> None:
    recent = RecentCallers(window_s=100)
    assert not recent.seen_then_note("1", 0)
    assert recent.seen_then_note("1", 50)
    assert recent.seen_then_note("1", 140)  # 90 s after the last call
    assert not recent.seen_then_note("1", 241)
    assert not recent.seen_then_note("", 242)
    assert not recent.seen_then_note("", 243)


def _entry(n: int, priority: int) -> Entry:
    return Entry(f"c{n}", EntryKind.CALL, "12345", "", "q", (), (), priority, priority, n, n)


@given(st.lists(st.tuples(st.integers(0, 3), st.booleans(), st.booleans()), min_size=1,
                max_size=60))
def test_waiting_index_positions_match_a_sorted_list(
    ops: list[tuple[int, bool, bool]],
) -> None:
    index = WaitingIndex()
    live: dict[str, Entry] = {}
    for n, (priority, remove, transferred) in enumerate(ops):
        if remove and live:
            victim = live.pop(sorted(live)[n % len(live)])
            index.remove(victim)
        else:
            entry = _entry(n, priority)
            if transferred:
                entry.rank_as_transferred(1000 + n)  # handed on by an agent, in that order
            live[entry.id] = entry
            index.add(entry, ())
    expected = sorted(live.values(), key=lambda e: e.rank)
    assert [index.position(e) for e in expected] == list(range(1, len(expected) + 1))
    assert list(index.in_queue("q")) == [e.id for e in expected]
    # Within a priority, every transferred call comes before every other one.
    for before, after in itertools.pairwise(expected):
        if before.priority == after.priority:
            assert before.band <= after.band
    heads = dict(index.heads())
    for (_, _, priority, band), head in heads.items():
        same = [e for e in live.values() if e.priority == priority and e.band == band]
        assert head == min(same, key=lambda e: e.order).id
    assert len(index) == len(live)
