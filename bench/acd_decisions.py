"""Routing decision speed of the ACD kernel at centre scale.

Scale: 10,000 waiting calls, 2,000 seats, 20 skills (agents hold 3-5 skills at levels
1-5; queues need one or two skills, with expansion steps, tag priorities and three
priority levels). Two kinds of decision are timed, each as one whole `Acd.handle` or
`Acd.enqueue` step (so the figures include everything the step does, timers and facts):

* seat → call: an agent ends wrap-up (`AgentReady`) and is given the best waiting call
  among 10,000;
* call → seat: a call arrives while ready seats are plentiful and is given the best of
  up to 2,000 ready seats.

Latency is measured on the thread's CPU clock (`time.thread_time`), which leaves out
the time the process waits for a core on a shared machine; the wall-clock p99 is printed
beside it (`decision_wall_p99_ms`) and is only meaningful on an otherwise idle machine.

`run()` returns the figures; `python bench/acd_decisions.py` prints `name: value` lines.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hotline.agents.directory import Agent, SeatDef
from hotline.queue.acd import Acd
from hotline.queue.rules import ExpansionStep, QueueRules
from hotline.queue.waiting import EntryState
from hotline.vocabulary.commands import Enqueue
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentPaused,
    AgentReady,
    CallEnded,
    SeatAnswered,
)
from hotline.vocabulary.queueing import Strategy
from hotline.vocabulary.states import SeatState

N_SEATS = 2000
N_WAITING = 10_000
N_SKILLS = 20
N_DECISIONS = 3000
SKILLS = [f"skill{i}" for i in range(N_SKILLS)]


def _rules() -> dict[str, dict[str, QueueRules]]:
    queues: dict[str, QueueRules] = {}
    for i, skill in enumerate(SKILLS):
        skills = (skill,) if i % 4 else (skill, SKILLS[(i + 7) % N_SKILLS])
        queues[f"q{i}"] = QueueRules(
            f"q{i}", skills=skills, min_level=3,
            expansion=(ExpansionStep(60, min_level=2), ExpansionStep(300, min_level=1)),
            strategy=Strategy.FEWEST_CALLS if i % 3 == 0 else Strategy.LONGEST_IDLE,
            tag_priority={"epidemic": 5, "enterprise": 2}, wrap_up_s=30,
        )
    return {"normal": queues}


def _agents(rng: random.Random) -> list[Agent]:
    return [
        Agent(f"a{n}", f"Agent {n}", f"t{n % 8}",
              {s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(3, 5))})
        for n in range(N_SEATS)
    ]


def _seats() -> list[SeatDef]:
    return [SeatDef(f"s{n}", f"PJSIP/{10000 + n}") for n in range(N_SEATS)]


def _call(rng: random.Random, n: int) -> Enqueue:
    tags = rng.choice([(), (), (), ("epidemic",), ("enterprise",)])
    return Enqueue(f"c{n}", f"q{rng.randrange(N_SKILLS)}", 0, (), tags)


@dataclass
class _Sample:
    cpu: float
    wall: float


@contextmanager
def _timed(samples: list[_Sample]) -> Iterator[None]:
    cpu, wall = time.thread_time(), time.perf_counter()
    yield
    samples.append(_Sample(time.thread_time() - cpu, time.perf_counter() - wall))


def _percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def _waiting(acd: Acd, now: float) -> int:
    return sum(
        1
        for i in range(N_SKILLS)
        for w in acd.queue_view(f"q{i}", now).waiting
        if w.state is EntryState.WAITING
    )


def _seat_to_call(rng: random.Random) -> list[_Sample]:
    acd = Acd(_rules(), _agents(rng), _seats(), tz="UTC")
    now = 0.0
    for n in range(N_SEATS):
        acd.handle(AgentLoggedIn(f"a{n}", f"s{n}", now))
        acd.handle(AgentReady(f"a{n}", now))
    # Occupy every seat, then fill the queues up to 10,000 waiting callers.
    n_calls = 0
    ready = len(acd.seats_by_state()[SeatState.READY])
    while ready:
        for _ in range(500):
            n_calls += 1
            acd.enqueue(_call(rng, n_calls), line="12345", caller="", at=now)
        ready, before = len(acd.seats_by_state()[SeatState.READY]), ready
        if ready == before:
            break  # the rest qualify for no queue at the starting skill levels
    for view in acd.seats_by_state()[SeatState.READY]:
        acd.handle(AgentPaused(view.agent_id, "bench-idle", now))
    talking: dict[str, str] = {}
    for view in acd.seats():
        if view.call_id is not None:
            acd.handle(SeatAnswered(view.agent_id, view.call_id, now))
            talking[view.agent_id] = view.call_id
    waiting = _waiting(acd, now)
    while waiting < N_WAITING:
        n_calls += 1
        now += 0.01
        acd.enqueue(_call(rng, n_calls), line="12345", caller="", at=now)
        waiting += 1
    if _waiting(acd, now) != N_WAITING:
        raise RuntimeError(f"set-up failed: {_waiting(acd, now)} waiting, not {N_WAITING}")
    samples: list[_Sample] = []
    agents = sorted(talking)
    for _ in range(N_DECISIONS):
        now += 0.05
        agent = rng.choice(agents)
        call_id = talking.get(agent)
        if call_id is None:
            continue
        acd.handle(CallEnded(call_id, now))
        with _timed(samples):
            acd.handle(AgentReady(agent, now))  # the decision: best waiting call for this seat
        seat = acd.seat(agent)
        if seat is not None and seat.call_id is not None:
            acd.handle(SeatAnswered(agent, seat.call_id, now))
            talking[agent] = seat.call_id
        else:
            del talking[agent]
        n_calls += 1
        acd.enqueue(_call(rng, n_calls), line="12345", caller="", at=now)  # keep 10,000
    if abs(_waiting(acd, now) - N_WAITING) > N_DECISIONS:
        raise RuntimeError("the waiting line drifted away from the benchmark's scale")
    return samples


def _call_to_seat(rng: random.Random) -> list[_Sample]:
    acd = Acd(_rules(), _agents(rng), _seats(), tz="UTC")
    for n in range(N_SEATS):
        acd.handle(AgentLoggedIn(f"a{n}", f"s{n}", 0.0))
        acd.handle(AgentReady(f"a{n}", 0.0))
    samples: list[_Sample] = []
    for n in range(N_SEATS // 2):
        command = _call(rng, n)
        with _timed(samples):
            acd.enqueue(command, line="12345", caller="", at=float(n))
    return samples


def run() -> dict[str, float]:
    rng = random.Random(12345)
    seat_samples = _seat_to_call(rng)
    call_samples = _call_to_seat(rng)
    both = [x.cpu for x in seat_samples + call_samples]
    return {
        "decisions_per_s": len(both) / sum(both),
        "decision_p50_ms": statistics.median(both) * 1000,
        "decision_p99_ms": _percentile(both, 99) * 1000,
        "seat_to_call_p99_ms": _percentile([x.cpu for x in seat_samples], 99) * 1000,
        "call_to_seat_p99_ms": _percentile([x.cpu for x in call_samples], 99) * 1000,
        "decision_wall_p99_ms": _percentile(
            [x.wall for x in seat_samples + call_samples], 99
        ) * 1000,
    }

if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name}: {value:.3f}")
