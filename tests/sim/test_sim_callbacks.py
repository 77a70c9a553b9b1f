"""Callbacks in the simulator: offers taken up while waiting, and the drain after the day.

A short, understaffed morning makes callers wait long enough to hear queue
announcements that offer a callback key; the run must then go on after the last arrival
until every request is dialled (with the queues' real retry spacing) and settled, or
report what its drain bound left unsettled.

The sample centre promises callbacks only while its spare agents can make them (the
promise window, tested in tests/acd and test_queue_offer); a morning this overloaded
has no spare agent, so these tests run the same centre with the promise window and
missed-call callbacks switched off, to exercise the callback machinery itself.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest
from pydantic import TypeAdapter

from hotline.centre.kernel import CentreKernel
from hotline.config.loader import Centre
from hotline.simulation.callbacks import CallbackOrigin, CallbackOutcome
from hotline.simulation.engine import Simulation, SimulationResult, simulate
from hotline.simulation.report import build_report, format_report
from hotline.simulation.scenario import Dist, Logins, Scenario, load_scenario
from hotline.vocabulary.commands import Announce
from hotline.vocabulary.events import DigitsReceived
from hotline.vocabulary.states import CallStage

from .kit import ROOT

NORMAL = ROOT / "scenarios" / "normal_day.yaml"
FEW = ("1001", "1002", "1003", "1004", "1005", "1021")  # all-round; 1021 speaks English


def _busy_morning(*, accept: float, drain_s: float = 8 * 3600, answer: float = 0.6,
                  seed: int = 7) -> Scenario:
    """09:00-10:00, 250 calls to 12345 for six agents who stay on: long waits."""
    scenario, _ = load_scenario(NORMAL)
    patience = TypeAdapter(Dist).validate_python({"dist": "exponential", "mean": 900})
    citizens = scenario.citizens.model_copy(update={
        "callback_accept": accept, "callback_answer": answer, "patience_s": patience,
    })
    agents = scenario.agents.model_copy(update={
        "logins": Logins.ALL, "only": FEW, "pause_every_s": None,
    })
    arrivals = scenario.arrivals.model_copy(update={"calls": 250, "lines": {"12345": 1.0}})
    return scenario.model_copy(update={
        "start": "09:00", "end": "10:00", "drain_s": drain_s, "seed": seed,
        "citizens": citizens, "agents": agents, "arrivals": arrivals,
    })


@pytest.fixture(scope="module")
def centre(centre: Centre) -> Centre:
    """The sample centre without callback promise windows or missed-call callbacks."""
    config = centre.config
    queues = {
        name: queue.model_copy(update={"callback": queue.callback.model_copy(update={
            "promise_within_s": None, "promise_until_close": False, "missed_after_s": None,
        })})
        for name, queue in config.queues.items()
    }
    return dataclasses.replace(centre, config=config.model_copy(update={"queues": queues}))


@pytest.fixture(scope="module")
def accepted(centre: Centre) -> SimulationResult:
    return simulate(_busy_morning(accept=0.5), centre)


def test_waiting_citizens_take_up_offered_callbacks(accepted: SimulationResult) -> None:
    totals = accepted.totals
    offers = [r for r in accepted.callbacks.records.values()
              if r.origin is CallbackOrigin.OFFER]
    assert totals.callback_offers_heard > 50
    # About half of those who heard an offer pressed the key (some were answered first).
    assert 0.35 < totals.callback_keys_pressed / totals.callback_offers_heard < 0.6
    assert 0 < len(offers) <= totals.callback_keys_pressed


def test_nobody_presses_when_nobody_accepts(centre: Centre) -> None:
    result = simulate(_busy_morning(accept=0.0), centre)
    assert result.totals.callback_offers_heard > 50
    assert result.totals.callback_keys_pressed == 0
    assert not any(r.origin is CallbackOrigin.OFFER for r in result.callbacks.records.values())


def test_every_callback_is_settled_after_the_last_arrival(accepted: SimulationResult,
                                                         centre: Centre) -> None:
    records = list(accepted.callbacks.records.values())
    assert records and accepted.unsettled_callbacks == 0 and not accepted.cut_off
    assert all(r.outcome is not CallbackOutcome.PENDING for r in records)
    # The backlog was worked off after arrivals ended, not dropped at the end.
    after = [r for r in records if r.settled_at is not None and r.settled_at > accepted.end]
    assert len(after) > 20
    assert any(at > accepted.end for r in records for at in r.dials)
    assert accepted.finished > accepted.end
    assert not any(accepted.kernel.live_calls().values())
    # Each request ends connected, or given up after its queue's attempts.
    queues = centre.config.queues_in("normal")
    for record in records:
        if record.outcome is CallbackOutcome.GAVE_UP:
            assert len(record.failures) == queues[record.queue].callback.attempts


def test_retries_keep_the_queue_spacing(accepted: SimulationResult, centre: Centre) -> None:
    queues = centre.config.queues_in("normal")

    def spacing(queue: str) -> float:
        # A request may overflow while it rests: the shorter of the two spacings applies.
        rule = queues[queue]
        own = rule.callback.retry_spacing_s
        return own if rule.overflow is None else min(
            own, queues[rule.overflow.to].callback.retry_spacing_s)

    retried = 0
    for record in accepted.callbacks.records.values():
        for failed_at, next_dial in zip(record.failures, record.dials[1:], strict=False):
            assert next_dial - failed_at >= spacing(record.queue)
            retried += 1
    assert retried > 5


def test_the_drain_bound_reports_what_is_left(centre: Centre) -> None:
    result = simulate(_busy_morning(accept=0.5, drain_s=120), centre)
    assert result.cut_off
    assert result.unsettled_callbacks > 0
    assert result.finished <= result.end + 120
    pending = [r for r in result.callbacks.records.values()
               if r.outcome is CallbackOutcome.PENDING]
    assert len(pending) == result.unsettled_callbacks
    text = format_report(result)
    by_queue = Counter(r.queue for r in pending)
    listed = ", ".join(f"{q} {n}" for q, n in sorted(by_queue.items()))
    assert f"unsettled at the end {result.unsettled_callbacks} ({listed})" in text
    assert "drain bound stopped the run" in text


def test_callback_kpis_add_up(accepted: SimulationResult) -> None:
    report = build_report(accepted)
    day = report.callback_day
    assert day is not None
    records = accepted.callbacks.records.values()
    assert day.requested == len(records)
    assert day.completed == sum(r.outcome is CallbackOutcome.COMPLETED for r in records)
    assert day.gave_up == sum(r.outcome is CallbackOutcome.GAVE_UP for r in records)
    assert day.dialled == sum(len(r.dials) for r in records) == accepted.totals.callback_dials
    assert day.failed == accepted.totals.callback_dials_failed
    for field in ("requested", "dialled", "completed", "failed", "gave_up"):
        assert sum(getattr(row, field) for row in report.callback_hours) == getattr(day, field)
        assert sum(getattr(row, field) for row in report.callback_modes) == getattr(day, field)
    waits = [r.time_to_callback_s for r in records if r.time_to_callback_s is not None]
    assert day.mean_time_to_callback_s == pytest.approx(sum(waits) / len(waits))
    text = format_report(accepted)
    assert "callbacks per hour" in text and "mean time to callback" in text


class _Recorder:
    """The real kernel, with every event and command kept (to check what the citizen did)."""

    def __init__(self, kernel: CentreKernel) -> None:
        self._kernel = kernel
        self.log: list[tuple[Any, list[Any]]] = []

    def handle(self, event: Any) -> list[Any]:
        commands = self._kernel.handle(event)
        self.log.append((event, commands))
        return commands

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kernel, name)


def test_the_citizen_presses_the_key_the_announcement_offered(centre: Centre) -> None:
    simulation = Simulation(_busy_morning(accept=1.0, drain_s=0), centre)
    recorder = _Recorder(simulation.kernel)
    simulation.runtime.kernel = recorder  # the runtime hands every event to the recorder
    simulation.run()
    offered: dict[str, tuple[str, float]] = {}  # call -> (key, when offered)
    pressed = 0
    for event, commands in recorder.log:
        if isinstance(event, DigitsReceived) and event.call_id in offered:
            key, at = offered[event.call_id]
            assert event.digits == key
            assert event.at > at  # after hearing the offer, never before
            pressed += 1
        for command in commands:
            if isinstance(command, Announce) and command.callback_key is not None:
                offered[command.call_id] = (command.callback_key, event.at)
    assert pressed == simulation.totals.callback_keys_pressed > 20


def test_callback_conversations_are_finished_before_the_run_stops(
    accepted: SimulationResult,
) -> None:
    # The last requests were connected and talked to the end: no seat is left on a call.
    live = accepted.kernel.live_calls()
    assert live[CallStage.WAITING] + live[CallStage.RINGING] + live[CallStage.TALKING] == 0
    assert all(view.call_id is None for view in accepted.kernel.acd.seats())
