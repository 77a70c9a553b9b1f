"""The simulator's callback ledger: one record per request, from the ACD's facts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.simulation.callbacks import (
    CallbackLedger,
    CallbackLedgerError,
    CallbackOrigin,
    CallbackOutcome,
)
from hotline.vocabulary.facts import (
    CallbackAttemptFailed,
    CallbackCompleted,
    CallbackDialled,
    CallbackGaveUp,
    CallbackRequested,
    CallExited,
)

T = 1_000_000.0


def _requested(call: str, at: float = T) -> CallbackRequested:
    return CallbackRequested(f"{call}.cb", call, "general", "12345", "13800000000", at)


def test_origin_comes_from_the_exit_that_precedes_the_request() -> None:
    ledger = CallbackLedger()
    ledger.apply_all([
        CallExited("a", "general", "12345", 40.0, "callback", T, "caller-choice"),
        _requested("a"),
        CallExited("b", "general", "12345", 300.0, "callback", T, "max-wait"),
        _requested("b"),
        _requested("c"),  # chosen in the IVR: no exit before it
        CallExited("d", "complaints", "12345", 900.0, "record", T, "max-wait"),
    ])
    origins = {r.request_id: r.origin for r in ledger.records.values()}
    assert origins == {"a.cb": CallbackOrigin.OFFER, "b.cb": CallbackOrigin.QUEUE_EXIT,
                       "c.cb": CallbackOrigin.IVR}
    assert ledger.pending == 3


def test_a_request_is_followed_to_its_end() -> None:
    ledger = CallbackLedger()
    ledger.apply_all([
        _requested("a"),
        CallbackDialled("a.cb", 1, "1001", T + 10),
        CallbackAttemptFailed("a.cb", 1, "no-answer", T + 40),
        CallbackDialled("a.cb", 2, "1002", T + 340),
        CallbackCompleted("a.cb", "1002", 2, 350.0, T + 350),
        _requested("b"),
        CallbackDialled("b.cb", 1, "1003", T + 20),
        CallbackAttemptFailed("b.cb", 1, "busy", T + 50),
        CallbackGaveUp("b.cb", 1, "busy", T + 50),
    ])
    a, b = ledger.records["a.cb"], ledger.records["b.cb"]
    assert a.dials == [T + 10, T + 340] and a.failures == [T + 40]
    assert a.outcome is CallbackOutcome.COMPLETED and a.time_to_callback_s == 350.0
    assert b.outcome is CallbackOutcome.GAVE_UP and b.reason == "busy"
    assert b.time_to_callback_s is None
    assert ledger.pending == 0


@pytest.mark.parametrize("facts", [
    [CallbackDialled("x.cb", 1, "1001", T)],  # never requested
    [_requested("x"), _requested("x")],  # requested twice
    [_requested("x"), CallbackCompleted("x.cb", "1001", 1, 5.0, T),
     CallbackGaveUp("x.cb", 1, "no-answer", T)],  # settled twice
])
def test_contradictions_raise(facts: list[object]) -> None:
    ledger = CallbackLedger()
    with pytest.raises(CallbackLedgerError):
        for fact in facts:
            ledger.apply(fact)  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["done", "gave-up", "open"])),
                max_size=30))
def test_pending_is_requested_minus_settled(plan: list[tuple[int, str]]) -> None:
    ledger = CallbackLedger()
    settled = 0
    for i, (failures, end) in enumerate(plan):
        rid = f"c{i}.cb"
        ledger.apply(_requested(f"c{i}", T + i))
        for attempt in range(1, failures + 1):
            ledger.apply(CallbackDialled(rid, attempt, "1001", T + i + attempt))
            ledger.apply(CallbackAttemptFailed(rid, attempt, "no-answer", T + i + attempt))
        if end == "done":
            ledger.apply(CallbackDialled(rid, failures + 1, "1001", T + i + 9))
            ledger.apply(CallbackCompleted(rid, "1001", failures + 1, 9.0, T + i + 9))
            settled += 1
        elif end == "gave-up":
            ledger.apply(CallbackGaveUp(rid, failures, "no-answer", T + i + 9))
            settled += 1
    assert ledger.pending == len(plan) - settled
    assert sum(r.outcome is CallbackOutcome.PENDING for r in ledger.records.values()) \
        == ledger.pending
    for record in ledger.records.values():
        assert len(record.dials) >= len(record.failures)
