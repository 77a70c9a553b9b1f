"""The simulator in real time: virtual citizens and agents on a live centre runtime.

`hotline simulate` runs a day on a `VirtualClock` as fast as the code goes. A running
service (`hotline serve --simulate SCENARIO --speed N`) wants the same citizens and
agents, but paced: `speed` simulated seconds per real second, on the service's own
runtime (its kernel restored from the store, its API posting events beside them).

    clock = PacedClock(start=time.time(), speed=60)       # the runtime's clock too
    runtime = CentreRuntime(kernel, clock, ...)
    sim = RealtimeSimulation(scenario, centre, runtime, clock, live_calls=restored_ids)
    await runtime.start(); clock.start(); sim.begin()
    ...
    sim.finish(); clock.stop(); await runtime.stop()

`PacedClock` is a `VirtualClock` whose heap is run by the event loop at the right real
moments (one `loop.call_at` armed for the earliest entry), so the simulator keeps its
virtual-time semantics (time stands still while one action runs; stale actions are
recognised by token) while the API's events read the paced time between actions.

The day starts now: the scenario's day and start time are replaced by the clock's, its
supervisor actions already past are dropped, and the centre's current mode is the
scenario's starting mode. A restored kernel may hold calls and seats a previous process
left (the same PBX, reconnected): waiting callers are adopted and keep waiting (with a
fresh patience), talking calls end after a talk time, calls in the IVR are reported
gone (where their prompt was is not known), seats logged in are adopted.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hotline.centre.kernel import CentreKernel
from hotline.config.loader import Centre
from hotline.runtime.centre_runtime import CentreRuntime
from hotline.runtime.clock import Callback, VirtualClock, VirtualTimer
from hotline.simulation.engine import ArrivalProfile, Simulation, _AgentSim, _Citizen
from hotline.simulation.scenario import Scenario
from hotline.vocabulary.events import AgentReady, CallerHungUp
from hotline.vocabulary.facts import SeatStateChanged
from hotline.vocabulary.states import CallStage, SeatState
from hotline.vocabulary.times import parse_hhmm

log = logging.getLogger("hotline.simulation.realtime")

_MAX_STEPS_PER_TICK = 2000  # then let the loop breathe (API, websockets, the runtime)


class PacedClock(VirtualClock):
    """A `VirtualClock` run by the event loop: `speed` virtual seconds per real second.

    `now()` is the paced time (it moves between actions); `time` is the time of the
    action being run, as on the virtual clock. Timers (`call_later`) count from `now()`.
    Must be started and used on the loop's thread.
    """

    __slots__ = ("_armed_for", "_errors", "_handle", "_loop", "_origin", "_origin_loop",
                 "speed")

    def __init__(self, start: float, speed: float = 1.0) -> None:
        if not speed > 0 or math.isinf(speed):
            raise ValueError(f"the speed-up must be a positive number, not {speed}")
        super().__init__(start)
        self.speed = speed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._origin = start
        self._origin_loop = 0.0
        self._handle: asyncio.Handle | None = None
        self._armed_for = math.inf
        self._errors = 0

    @property
    def errors(self) -> int:
        """Actions that raised (logged and skipped)."""
        return self._errors

    def start(self) -> None:
        """Begin pacing from the clock's current time, on the running loop."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._origin = self.time
        self._origin_loop = loop.time()
        self._arm()

    def stop(self) -> None:
        """Stop running actions (the heap is kept; `now()` stands still)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_for = math.inf
        if self._loop is not None:
            self.time = max(self.time, self._paced())
        self._loop = None

    def _paced(self) -> float:
        assert self._loop is not None
        return self._origin + (self._loop.time() - self._origin_loop) * self.speed

    def now(self) -> float:
        if self._loop is None:
            return self.time
        return max(self.time, self._paced())

    def at(self, when: float, action: Any, arg: Any = None) -> None:
        super().at(when, action, arg)
        if when < self._armed_for:
            self._arm()

    def call_later(self, delay: float, callback: Callback) -> VirtualTimer:
        # Count from the paced time: an event the API posted between two actions
        # carries that time, and its timers must not fall due early.
        timer = super().call_later(max(0.0, delay) + (self.now() - self.time), callback)
        if timer.due < self._armed_for:
            self._arm()
        return timer

    def _arm(self) -> None:
        loop = self._loop
        if loop is None:
            return
        due = self.next_due()
        if self._handle is not None:
            if due is not None and due >= self._armed_for:
                return
            self._handle.cancel()
            self._handle = None
        self._armed_for = math.inf
        if due is None:
            return
        self._armed_for = due
        when = self._origin_loop + (due - self._origin) / self.speed
        self._handle = loop.call_at(when, self._tick)

    def _tick(self) -> None:
        self._handle = None
        self._armed_for = math.inf
        if self._loop is None:
            return
        target = self._paced()
        steps = 0
        while steps < _MAX_STEPS_PER_TICK:
            try:
                if not self.step(target):
                    break
            except Exception:
                self._errors += 1
                log.exception("a simulated action failed; the simulation goes on")
            steps += 1
        if target > self.time and steps < _MAX_STEPS_PER_TICK:
            self.time = target
        if steps >= _MAX_STEPS_PER_TICK:
            self._handle = self._loop.call_soon(self._tick)
            self._armed_for = -math.inf
            return
        self._arm()


def scenario_from_now(scenario: Scenario, at: float, zone: ZoneInfo, mode: str) -> Scenario:
    """`scenario` as a day that starts at `at` (local minute) in `mode`; what a
    supervisor did earlier that day is dropped (it is past)."""
    local = datetime.fromtimestamp(at, zone)
    start = f"{local.hour:02d}:{local.minute:02d}"
    minute = local.hour * 60 + local.minute
    later = tuple(
        action for action in scenario.supervisor
        if int(action.at[:2]) * 60 + int(action.at[3:5]) > minute
    )
    # The day's volume is given for the scenario's own hours: keep the arrival rate by
    # scaling it to the part of the day that is left.
    arrivals = scenario.arrivals
    if arrivals.calls is not None or arrivals.base_calls is not None:
        profile = ArrivalProfile(scenario, 0.0)
        surges = arrivals.calls is not None
        whole = profile.expected_calls(parse_hhmm(scenario.start) * 60.0,
                                       parse_hhmm(scenario.end) * 60.0, surges=surges)
        left = profile.expected_calls(minute * 60.0, 86400.0, surges=surges)
        share = left / whole if whole > 0 else 1.0
        volume = {"calls": arrivals.calls * share} if arrivals.calls is not None \
            else {"base_calls": (arrivals.base_calls or 0.0) * share}
        arrivals = arrivals.model_copy(update=volume)
    return scenario.model_copy(update={
        "day": local.date(), "start": start, "end": "24:00", "mode": mode, "supervisor": later,
        "arrivals": arrivals,
    })


class RealtimeSimulation(Simulation):
    """The simulator as a driver on a running runtime whose clock is a `PacedClock`.

    Built like `Simulation` (whose throw-away kernel and runtime are then replaced by the
    live ones); `begin()` plans the day and adopts what a restored kernel holds,
    `finish()` stops it taking part (no new actions; the runtime keeps running).
    """

    def __init__(
        self, scenario: Scenario, centre: Centre, runtime: CentreRuntime, clock: PacedClock,
        *, seed: int | None = None, live_calls: Iterable[str] = (),
    ) -> None:
        kernel = runtime.kernel
        if not isinstance(kernel, CentreKernel):
            raise TypeError("the real-time simulator needs a CentreKernel")
        zone = ZoneInfo(centre.config.centre.timezone)
        super().__init__(scenario_from_now(scenario, clock.now(), zone, kernel.mode), centre,
                         seed=seed)
        # The live centre instead of the throw-away one `Simulation` built.
        self.kernel = kernel
        self.clock = clock
        self.runtime = runtime
        self.start = max(self.start, clock.now())
        if runtime.stats is not None:
            self.stats = runtime.stats
        runtime.listen(self._on_record)
        self._link = runtime.attach("simulator", self, dialler=True)
        self._link.claim_endpoints(seat.endpoint for seat in centre.config.seats.values())
        runtime.add_notifier(self)
        self._modes = [(self.start, kernel.mode)]
        self._live_calls = tuple(live_calls)
        self._ended = False

    def begin(self) -> None:
        """Adopt the restored calls and seats, then plan the day (arrivals, agents,
        supervisors) from now on."""
        self._adopt()
        self._plan_agents()
        for supervisor in self.scenario.supervisor:
            hh, mm = supervisor.at.split(":")
            self._at(self.midnight + (int(hh) * 60 + int(mm)) * 60.0, self._switch_mode,
                     supervisor)
        self._next_arrival(self.start)
        self._at(self.start, self._sample_logins, None)

    def finish(self) -> None:
        """Take no further part: pending actions are dropped when they fall due."""
        self._ended = True
        self._citizens.clear()
        for agent in self._agents.values():
            agent.ring_token += 1
            agent.pause_token += 1
            agent.wrap_token += 1

    def _feed(self, event: Any) -> None:
        if self._ended or not self.runtime.running:
            return
        super()._feed(event)

    def _next_arrival(self, after: float) -> None:
        if not self._ended:
            super()._next_arrival(after)

    # --- a restored centre ---------------------------------------------------------------

    def _adopt(self) -> None:
        kernel = self.kernel
        view = self.runtime.view().centre
        now = self.now
        router = self.runtime.router
        waiting: dict[str, float] = {}
        if view is not None:
            for queue in view.queues:
                for entry in queue.waiting:
                    if entry.kind == "call":
                        waiting[entry.id] = now - entry.waited_s
            for seat in view.seats:
                self._adopt_seat(seat.agent_id, seat.seat_id, seat.state, seat.reason,
                                 seat.since, seat.call_id)
        gone: list[str] = []
        for call_id in self._live_calls:
            stage = kernel.stage(call_id)
            if stage is None:
                continue
            if stage in (CallStage.WAITING, CallStage.RINGING):
                patience = self._patience() if self._patience is not None else math.inf
                citizen = _Citizen(call_id, "", waiting.get(call_id, now), patience)
                citizen.in_ivr = False
                citizen.waiting = True
                citizen.queued_at = now
                self._citizens[call_id] = citizen
                router.claim_call("simulator", call_id)
                if patience < math.inf:
                    self._at(now + patience, self._abandon, (citizen, citizen.token))
            elif stage is CallStage.TALKING:
                router.claim_call("simulator", call_id)
            else:
                gone.append(call_id)  # IVR, recording, transferring: the PBX lost them
        for call_id in gone:
            router.claim_call("simulator", call_id)
            self._feed(CallerHungUp(call_id, now))
            self._link.release(call_id)
        if waiting or gone:
            log.info("simulator adopted %d waiting call(s); %d call(s) outside a queue ended",
                     sum(1 for c in self._citizens.values() if c.waiting), len(gone))

    def _adopt_seat(self, agent_id: str, seat_id: str, state: SeatState, reason: str,
                    since: float, call_id: str | None) -> None:
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = self._agents[agent_id] = _AgentSim(agent_id, fixed_seat=seat_id)
        agent.logged_in = True
        agent.seat = seat_id
        agent.leave_at = self.stop
        if seat_id in self._free_seats:
            self._free_seats.remove(seat_id)
        self._seats[agent_id] = SeatStateChanged(agent_id, state, state, reason, since, seat_id)
        self._at(agent.leave_at, self._logout, agent)
        if state is SeatState.ON_CALL and call_id is not None:
            self._talks += 1
            self._at(self.now + self._talk(), self._talk_over, (call_id, agent_id))
        elif state is SeatState.PAUSED or state is SeatState.WRAP_UP:
            self._at(self.now + self._ready_delay(), self._ready_again_after_restart, agent)
        else:
            self._plan_pause(agent)

    def _ready_again_after_restart(self, agent: _AgentSim) -> None:
        view = self._seats.get(agent.agent_id)
        if agent.logged_in and view is not None and view.new in (SeatState.PAUSED,
                                                                 SeatState.WRAP_UP):
            self._feed(AgentReady(agent.agent_id, self.now))
            self._plan_pause(agent)
