"""The simulator: a discrete-event driver that runs the real centre kernel on virtual time.

It plays every part outside the kernel. Synthetic citizens call in (a non-homogeneous
Poisson process, sampled by thinning), listen to prompts, press keys or speak, wait
with a limited patience and talk; synthetic agents log in and out per roster, answer
(or miss) rings, take breaks and come in when called. The driver side executes the
kernel's commands the way a PBX would: `Play` -> `PlaybackFinished` after the prompt's
length, `CollectDigits` / `Recognize` -> the citizen's answer or `NoInput`,
`StartTimer` -> `TimerFired`, `RingSeat` -> `SeatAnswered` or `SeatNoAnswer`,
`Bridge` -> talk, then `CallEnded`, `DialCitizen` -> `CallbackAnswered` or `CallbackFailed`,
`Announce` offering a callback key -> the waiting citizen may press it (`DigitsReceived`).

After the last arrival the day goes on (agents keep their shifts, the next day's shifts
begin) until every call has ended and every callback request is settled -- dialled, with
the queue's real retry spacing, until connected or given up -- or until `drain_s` has
passed; whatever is left then is reported (`SimulationResult.unsettled_callbacks`).

Everything is decided by the kernel; the simulator only reacts. It is a driver like any
other: it plugs into the centre runtime (`hotline.runtime`) on a `VirtualClock`, posts
events and executes the commands the runtime routes to it (it owns the calls it brings,
every seat's endpoint and the callback dials); the runtime keeps the kernel's timers on
that same virtual heap. What it knows of the centre it learns as a PBX would, from the
commands it is given, plus the fact log (seat states, the mode, callback requests); it
never reads the kernel. Stale actions (a ring cancelled, a caller already answered) are
recognised by a per-call token and dropped.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hotline.centre.kernel import CALLBACK_REGISTERED, QUEUE_REFUSED, REFUSED, CentreKernel
from hotline.composition import build_kernel
from hotline.config.loader import Centre
from hotline.ivr.durations import prompt_duration_s
from hotline.projections.stats import LiveStats
from hotline.runtime.centre_runtime import CentreRuntime, Listener
from hotline.runtime.clock import VirtualClock
from hotline.simulation.callbacks import CallbackLedger
from hotline.simulation.scenario import Answer, Logins, Scenario
from hotline.vocabulary.commands import (
    AddParty,
    Announce,
    Bridge,
    CollectDigits,
    Command,
    DialCitizen,
    DropSupervisor,
    Enqueue,
    Hangup,
    HoldCitizen,
    HoldWithMusic,
    JoinSupervisor,
    LeaveToParty,
    NotifyReserve,
    Play,
    Recognize,
    Record,
    ReleaseAgent,
    RequestCallback,
    ResumeCitizen,
    RingSeat,
    SetVariable,
    StopRinging,
    Transfer,
)
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    CallArrived,
    CallbackAnswered,
    CallbackFailed,
    CallEnded,
    CallerHungUp,
    DigitsReceived,
    ModeSwitched,
    NoInput,
    PlaybackFinished,
    RecordingFinished,
    SeatAnswered,
    SeatNoAnswer,
    SpeechRecognized,
)
from hotline.vocabulary.facts import ModeChanged, SeatStateChanged
from hotline.vocabulary.states import SeatState
from hotline.vocabulary.times import parse_hhmm

# Prompt lengths come from `hotline.ivr.durations` (the same estimate `hotline describe`
# uses); a citizen speaks about 4 characters a second.
_SPEECH_CHARS_PER_S = 4.0
_RETRY_BUSY_S = 30.0  # an agent who cannot log out or pause yet tries again after this
# A queue announcement with no prompts of its own is spoken by the driver: "您前面还有
# 12位，预计等待3分钟；如需回电，请按1" runs about nine seconds.
_SPOKEN_ANNOUNCEMENT_S = 9.0

_Action = Callable[[Any], None]


@dataclass(slots=True)
class _Citizen:
    call_id: str
    line: str
    arrived: float
    patience: float  # seconds they will wait in a queue before hanging up
    token: int = 0  # bumped whenever pending IVR reactions become stale
    queued_at: float | None = None
    waiting: bool = False  # on hold in a queue (abandonment pending)
    talking: bool = False
    last_prompts: tuple[str, ...] = ()
    play_start: float = 0.0
    play_end: float = 0.0
    play_pending: bool = False  # a PlaybackFinished is owed unless a question follows
    in_ivr: bool = True  # until the IVR hands the call on (queue, callback, transfer)
    done: bool = False
    talk: int = 0  # bumped when a conversation is handed on: its end is someone else's
    rewait_from: float | None = None  # handed on by an agent: patience counts from here


@dataclass(slots=True)
class _AgentSim:
    agent_id: str
    guest_skills: tuple[str, ...] = ()
    fixed_seat: str | None = None
    seat: str | None = None
    logged_in: bool = False
    leave_at: float = math.inf  # end of the current shift
    ring_token: int = 0
    pause_token: int = 0
    wrap_token: int = 0
    login_pending: bool = False


@dataclass(slots=True)
class SimulationTotals:
    """What happened on the driver side (the kernel's facts hold the queue outcomes)."""

    arrivals: int = 0
    refused: int = 0  # unknown or disabled line
    ivr_hangups_by_centre: int = 0  # the IVR said goodbye (self-service, messages)
    ivr_callbacks: int = 0  # callbacks chosen in the IVR
    transfers: int = 0
    hung_up_in_ivr: int = 0
    enqueued: int = 0
    abandoned_waiting: int = 0
    rings: int = 0
    rings_missed: int = 0
    callback_dials: int = 0
    callback_dials_failed: int = 0
    callback_offers_heard: int = 0  # queue announcements offering a callback key
    callback_keys_pressed: int = 0  # ... and the citizen pressed it
    logins: int = 0
    logouts: int = 0
    no_free_seat: int = 0
    events: int = 0  # events the kernel handled (the simulator's and the timers')


@dataclass(slots=True)
class SimulationResult:
    scenario: Scenario
    start: float  # epoch seconds of the scenario's start
    end: float  # end of arrivals
    finished: float  # last event handled
    totals: SimulationTotals
    kernel: CentreKernel
    timezone: ZoneInfo
    seed: int
    stats: LiveStats
    modes: list[tuple[float, str]] = field(default_factory=list)  # (since, mode)
    logged_in_samples: list[tuple[float, int]] = field(default_factory=list)
    callbacks: CallbackLedger = field(default_factory=CallbackLedger)
    cut_off: bool = False  # the drain bound stopped the run before everything was settled

    @property
    def unsettled_callbacks(self) -> int:
        """Callback requests neither connected nor given up when the run stopped."""
        return self.callbacks.pending


class ArrivalProfile:
    """Calls per second at any time of the day: piecewise linear, times surges, scaled."""

    def __init__(self, scenario: Scenario, day_start: float) -> None:
        arrivals = scenario.arrivals
        points = sorted((parse_hhmm(k) * 60.0, v) for k, v in arrivals.profile.items())
        # Wrap around midnight so the profile is a closed daily curve.
        first_t, first_v = points[0]
        last_t, last_v = points[-1]
        self._xs = [last_t - 86400.0, *(t for t, _ in points), first_t + 86400.0]
        self._ys = [last_v, *(v for _, v in points), first_v]
        self._surges = [
            (parse_hhmm(s.start) * 60.0, parse_hhmm(s.end) * 60.0, s.factor)
            for s in arrivals.surges
        ]
        self._day_start = day_start
        self._scale = 1.0 / 3600.0  # profile is per hour
        start = parse_hhmm(scenario.start) * 60.0
        end = parse_hhmm(scenario.end) * 60.0
        if arrivals.calls is not None:
            expected = self.expected_calls(start, end)
            self._scale *= arrivals.calls / expected
        elif arrivals.base_calls is not None:
            expected = self.expected_calls(start, end, surges=False)
            self._scale *= arrivals.base_calls / expected
        self.peak = max(self.rate_at_offset(t) for t in self._grid(start, end)) * 1.000001

    def _grid(self, start: float, end: float) -> list[float]:
        marks = {start, end, *(x for x in self._xs if start <= x <= end)}
        for s, e, _ in self._surges:
            marks.update(t for t in (s, e, s - 1e-6, e - 1e-6) if start <= t <= end)
        return sorted(marks)

    def rate_at_offset(self, offset_s: float, *, surges: bool = True) -> float:
        """Calls per second at `offset_s` seconds after the day's local midnight."""
        xs, ys = self._xs, self._ys
        t = offset_s % 86400.0
        i = bisect.bisect_right(xs, t) - 1
        i = min(max(i, 0), len(xs) - 2)
        x0, x1 = xs[i], xs[i + 1]
        y = ys[i] + (ys[i + 1] - ys[i]) * ((t - x0) / (x1 - x0) if x1 > x0 else 0.0)
        if surges:
            for s, e, factor in self._surges:
                if s <= offset_s < e:
                    y *= factor
        return y * self._scale

    def next_arrival(self, rng: random.Random, after: float, end: float) -> float | None:
        """The next arrival offset after `after` (before `end`), by thinning: candidates
        at the peak rate, each kept with probability rate / peak. None: no more today."""
        peak = self.peak
        if peak <= 0:
            return None
        t = after
        while True:
            t += rng.expovariate(peak)
            if t >= end:
                return None
            if rng.random() * peak < self.rate_at_offset(t):
                return t

    def expected_calls(self, start: float, end: float, *, surges: bool = True) -> float:
        """Integral of the rate over [start, end) (offsets in seconds), to one second."""
        total = 0.0
        step = 60.0
        t = start
        while t < end:
            width = min(step, end - t)
            total += self.rate_at_offset(t + width / 2, surges=surges) * width
            t += width
        return total


class Simulation:
    """One scenario run against one kernel. `run()` returns the result."""

    def __init__(
        self, scenario: Scenario, centre: Centre, *, seed: int | None = None,
        listeners: tuple[Listener, ...] = (),
    ) -> None:
        self.scenario = scenario
        self.centre = centre
        self.seed = scenario.seed if seed is None else seed
        self.rng = random.Random(self.seed)
        self.callbacks = CallbackLedger()
        self._talks = 0  # conversations bridged and not yet ended (calls and callbacks)
        self._roster_plan = 0  # bumped when a mode switch replaces the roster's logins
        config = centre.config
        self.tz = ZoneInfo(config.centre.timezone)
        self.stats = LiveStats(timezone=self.tz)
        self.kernel = build_kernel(centre, mode=scenario.mode)
        midnight = datetime.combine(scenario.day, datetime.min.time(), tzinfo=self.tz)
        self.midnight = midnight.timestamp()
        self.start = self.midnight + parse_hhmm(scenario.start) * 60.0
        self.end = self.midnight + parse_hhmm(scenario.end) * 60.0
        self.stop = self.end + scenario.drain_s
        self.profile = ArrivalProfile(scenario, self.midnight)
        self.totals = SimulationTotals()
        # One virtual-time heap for the citizens, the agents and the kernel's timers.
        self.clock = VirtualClock(self.start)
        # The simulator reads no old records, so the in-memory log can stay small.
        self.runtime = CentreRuntime(
            self.kernel, self.clock, queues=config.queues, stats=self.stats, log_size=4096
        )
        self.runtime.listen(self._on_record)
        for listener in listeners:
            self.runtime.listen(listener)
        self._link = self.runtime.attach("simulator", self, dialler=True)
        # The simulator is the PBX of every softphone as well.
        self._link.claim_endpoints(seat.endpoint for seat in config.seats.values())
        self.runtime.add_notifier(self)  # and the reserve staff's phones
        self._seats: dict[str, SeatStateChanged] = {}  # agent -> last change (logged in)
        self._mode = scenario.mode
        self._played: list[_Citizen] = []  # got a Play in the batch being delivered
        self._gone: list[str] = []  # calls whose channel ended in the current step
        self._transfers = 0  # transferred away, the PBX's hang-up report still to come
        self._citizens: dict[str, _Citizen] = {}
        self._call_numbers = itertools.count(1)
        self._modes: list[tuple[float, str]] = [(self.start, scenario.mode)]
        self._logged_in_samples: list[tuple[float, int]] = []
        c = scenario.citizens
        a = scenario.agents
        rng = self.rng
        self._patience = c.patience_s.sampler(rng) if c.patience_s is not None else None
        self._talk = c.talk_s.sampler(rng)
        self._think = c.think_s.sampler(rng)
        self._record = c.record_s.sampler(rng)
        self._callback_delay = c.callback_answer_s.sampler(rng)
        self._answer_delay = a.answer_delay_s.sampler(rng)
        self._login_delay = a.login_delay_s.sampler(rng)
        self._ready_delay = a.ready_after_login_s.sampler(rng)
        self._pause_every = a.pause_every_s.sampler(rng) if a.pause_every_s is not None else None
        self._pause_len = a.pause_s.sampler(rng)
        self._wrap_up = a.wrap_up_s.sampler(rng) if a.wrap_up_s is not None else None
        self._called_in_delay = a.called_in_delay_s.sampler(rng)
        lines = list(scenario.arrivals.lines.items())
        self._line_names = [name for name, _ in lines]
        self._line_cum = list(itertools.accumulate(w for _, w in lines))
        self._answers: dict[str, tuple[list[Answer], list[float]]] = {
            prompt: (list(options), list(itertools.accumulate(o.weight for o in options)))
            for prompt, options in c.answers.items()
        }
        self._prompt_s: dict[str, float] = {}
        self._agents: dict[str, _AgentSim] = {}
        self._free_seats: list[str] = sorted(
            name for name, seat in config.seats.items() if not seat.guest
        )
        self._guest_seats: set[str] = {name for name, seat in config.seats.items() if seat.guest}
        only = set(a.only)
        for agent_id in config.agents:
            if not only or agent_id in only:
                self._agents[agent_id] = _AgentSim(agent_id)
        self._handlers: dict[type[Any], Callable[[Any], None]] = {
            Play: self._do_play,
            CollectDigits: self._do_listen,
            Recognize: self._do_listen,
            Enqueue: self._do_enqueued,
            RequestCallback: self._do_ivr_callback,
            Transfer: self._do_transfer,
            Hangup: self._do_hangup,
            Record: self._do_record,
            SetVariable: _ignore,
            HoldWithMusic: self._do_hold,
            Announce: self._do_announce,
            RingSeat: self._do_ring,
            StopRinging: self._do_stop_ringing,
            Bridge: self._do_bridge,
            DialCitizen: self._do_dial,
            # Live-call buttons pressed on a real desk while simulated citizens call in:
            # a simulated citizen waits out a hold, and departments and supervisors have
            # no simulated phones, so only the agent leaving the citizen changes anything.
            HoldCitizen: _ignore,
            ResumeCitizen: _ignore,
            AddParty: _ignore,
            JoinSupervisor: _ignore,
            DropSupervisor: _ignore,
            LeaveToParty: self._do_leave_to_party,
            ReleaseAgent: self._do_release_agent,
        }

    # --- the loop ---------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.clock.time

    def _at(self, when: float, action: _Action, arg: Any = None) -> None:
        self.clock.at(when, action, arg)  # raises for a time in the past

    def _feed(self, event: Any) -> None:
        """Post one event; the runtime handles it now and routes its commands back here."""
        self._link.step(event)
        gone = self._gone
        if gone:
            for call_id in gone:
                self._link.release(call_id)
            gone.clear()

    # --- the driver's side: commands from the runtime, records from the fact log --------

    def execute(self, command: Command) -> None:
        handler = self._handlers.get(type(command))
        if handler is None:
            raise TypeError(f"the simulator cannot execute {type(command).__name__}")
        handler(command)

    def flush(self) -> None:
        """The batch is complete: a Play with no question after it owes a report."""
        played = self._played
        if played:
            for citizen in played:
                self._settle_play(citizen)
            played.clear()

    def _on_record(self, _seq: int, record: Any) -> None:
        kind = type(record)
        if kind is SeatStateChanged:
            if record.new is SeatState.LOGGED_OUT:
                self._seats.pop(record.agent_id, None)
            else:
                self._seats[record.agent_id] = record
        elif kind is ModeChanged:
            self._mode = record.new
        else:
            self.callbacks.apply(record)

    def run(self) -> SimulationResult:
        self._plan_agents()
        for supervisor in self.scenario.supervisor:
            when = self.midnight + parse_hhmm(supervisor.at) * 60.0
            self._at(when, self._switch_mode, supervisor)
        self._next_arrival(self.start)
        self._at(self.start, self._sample_logins, None)
        step = self.clock.step
        stop = self.stop
        end = self.end
        clock = self.clock
        while step(stop):
            if clock.time >= end and self._all_settled():
                break
        counters = self.runtime.counters
        self.totals.events = counters.events
        if counters.driver_errors or counters.failures or counters.rejected:
            raise RuntimeError(
                f"the simulated day went wrong: {self.runtime.counters_view()} (see the log)"
            )
        return SimulationResult(
            self.scenario, self.start, self.end, self.now, self.totals, self.kernel, self.tz,
            self.seed, self.stats,
            self._modes, self._logged_in_samples, self.callbacks, not self._all_settled(),
        )

    def _all_settled(self) -> bool:
        """No citizen on the line, no conversation, no transfer or callback in flight."""
        return not (self._citizens or self._talks or self.callbacks.pending
                    or self._transfers)

    # --- citizens ---------------------------------------------------------------------

    def _next_arrival(self, after: float) -> None:
        midnight = self.midnight
        offset = self.profile.next_arrival(self.rng, after - midnight, self.end - midnight)
        if offset is not None:
            self._at(midnight + offset, self._arrive, None)

    def _arrive(self, _: Any) -> None:
        now = self.now
        self._next_arrival(now)
        rng = self.rng
        n = next(self._call_numbers)
        call_id = f"sim-{n}"
        line = self._line_names[
            bisect.bisect_right(self._line_cum, rng.random() * self._line_cum[-1])
        ]
        withheld = rng.random() < self.scenario.arrivals.withheld
        caller = "" if withheld else f"1{rng.randrange(3, 10)}{rng.randrange(10**9):09d}"
        patience = self._patience() if self._patience is not None else math.inf
        citizen = _Citizen(call_id, line, now, patience)
        self._citizens[call_id] = citizen
        self.totals.arrivals += 1
        self._feed(CallArrived(call_id, line, caller, now))

    def _settle_play(self, citizen: _Citizen) -> None:
        """After a command batch: a Play with no question after it owes a PlaybackFinished."""
        if citizen.play_pending and not citizen.done:
            citizen.play_pending = False
            if citizen.in_ivr:
                self._at(citizen.play_end, self._playback_done, (citizen, citizen.token))

    def _playback_done(self, arg: tuple[_Citizen, int]) -> None:
        citizen, token = arg
        if token != citizen.token or citizen.done:
            return
        citizen.token += 1
        self._feed(PlaybackFinished(citizen.call_id, self.now))

    def _prompt_length(self, prompt: Any) -> float:
        length = self._prompt_s.get(prompt.id + prompt.language)
        if length is None:
            length = prompt_duration_s(prompt, self.centre.directory)
            self._prompt_s[prompt.id + prompt.language] = length
        return length

    def _do_play(self, command: Play) -> None:
        citizen = self._citizens.get(command.call_id)
        if citizen is None:
            return  # a callback request's announcement, or a caller already gone
        length = 0.0
        for prompt in command.prompts:
            length += self._prompt_length(prompt)
        start = max(self.now, citizen.play_end) if citizen.play_pending else self.now
        citizen.play_start = start
        citizen.play_end = start + length
        citizen.last_prompts = tuple(p.id for p in command.prompts)
        if not citizen.play_pending:
            self._played.append(citizen)
        citizen.play_pending = True

    def _choose(self, citizen: _Citizen) -> Answer | None:
        answers = self._answers
        for prompt_id in reversed(citizen.last_prompts):
            found = answers.get(prompt_id)
            if found is not None:
                options, cum = found
                pick = bisect.bisect_right(cum, self.rng.random() * cum[-1])
                return options[min(pick, len(options) - 1)]
        return None

    def _do_listen(self, command: CollectDigits | Recognize) -> None:
        citizen = self._citizens[command.call_id]
        citizen.play_pending = False  # the question's own prompt: no report needed
        citizen.token += 1
        token = citizen.token
        answer = self._choose(citizen)
        rng = self.rng
        barge = rng.random() < self.scenario.citizens.barge_in
        if barge and citizen.play_end > self.now:
            # Answers while the question is still playing (never before now).
            begin = max(citizen.play_start, self.now)
            respond = begin + rng.random() * (citizen.play_end - begin)
        else:
            respond = max(self.now, citizen.play_end) + self._think()
        listen_from = max(self.now, citizen.play_end)
        if isinstance(command, CollectDigits):
            timeout = command.first_timeout_s
            digits_ok, speech_ok = True, False
            if answer is None and command.min_digits > 1:
                # Nobody told us what this caller types: a plausible number of that size.
                size = min(max(command.min_digits, 8), command.max_digits)
                answer = Answer(press="".join(str(rng.randrange(10)) for _ in range(size)))
        else:
            timeout = command.no_speech_timeout_s
            digits_ok, speech_ok = command.also_digits, True
        if answer is None or answer.silence or (answer.press is not None and not digits_ok) \
                or (answer.say is not None and not speech_ok):
            self._at(listen_from + timeout, self._no_input, (citizen, token))
        elif answer.hang_up:
            self._at(respond, self._ivr_hang_up, (citizen, token))
        elif answer.press is not None:
            self._at(respond, self._press, (citizen, token, answer.press))
        else:
            said = answer.say or ""
            self._at(respond + len(said) / _SPEECH_CHARS_PER_S, self._say, (citizen, token, answer))

    def _press(self, arg: tuple[_Citizen, int, str]) -> None:
        citizen, token, digits = arg
        if token != citizen.token or citizen.done:
            return
        citizen.token += 1
        self._feed(DigitsReceived(citizen.call_id, digits, self.now))

    def _say(self, arg: tuple[_Citizen, int, Answer]) -> None:
        citizen, token, answer = arg
        if token != citizen.token or citizen.done:
            return
        citizen.token += 1
        self._feed(SpeechRecognized(citizen.call_id, answer.say or "", answer.confidence,
                                    self.now, answer.intent))

    def _no_input(self, arg: tuple[_Citizen, int]) -> None:
        citizen, token = arg
        if token != citizen.token or citizen.done:
            return
        citizen.token += 1
        self._feed(NoInput(citizen.call_id, self.now))

    def _ivr_hang_up(self, arg: tuple[_Citizen, int]) -> None:
        citizen, token = arg
        if token != citizen.token or citizen.done:
            return
        self.totals.hung_up_in_ivr += 1
        self._finish(citizen)
        self._feed(CallerHungUp(citizen.call_id, self.now))

    def _finish(self, citizen: _Citizen) -> None:
        citizen.done = True
        citizen.token += 1
        self._citizens.pop(citizen.call_id, None)
        self._gone.append(citizen.call_id)

    def _do_enqueued(self, command: Enqueue) -> None:
        citizen = self._citizens.get(command.call_id)
        if citizen is not None:
            citizen.play_pending = False  # the "transferring" prompt plays over the hold
            citizen.in_ivr = False
            self.totals.enqueued += 1

    def _do_ivr_callback(self, command: RequestCallback) -> None:
        # The centre answers with its goodbye (`Hangup`, callback registered) or, when no
        # callback can be promised, with a message to record: the citizen waits to hear.
        citizen = self._citizens.get(command.call_id)
        if citizen is not None:
            citizen.in_ivr = False

    def _do_transfer(self, command: Transfer) -> None:
        citizen = self._citizens.get(command.call_id)
        if citizen is not None:
            self.totals.transfers += 1
            citizen.in_ivr = False
            self._finish(citizen)
            self._transfers += 1
            # The PBX reports the channel gone once the transfer has taken it away.
            self._at(max(self.now, citizen.play_end) + 1.0, self._transferred_away,
                     command.call_id)

    def _transferred_away(self, call_id: str) -> None:
        self._transfers -= 1
        self._feed(CallerHungUp(call_id, self.now))

    def _do_hangup(self, command: Hangup) -> None:
        citizen = self._citizens.get(command.call_id)
        if citizen is not None:
            if command.reason in REFUSED:
                self.totals.refused += 1
                if command.reason == QUEUE_REFUSED:
                    self.totals.enqueued -= 1  # the ACD refused the Enqueue we counted
            elif citizen.queued_at is None and command.reason == CALLBACK_REGISTERED:
                self.totals.ivr_callbacks += 1
            elif citizen.queued_at is None:
                self.totals.ivr_hangups_by_centre += 1
            self._finish(citizen)

    def _do_record(self, command: Record) -> None:
        citizen = self._citizens.get(command.call_id)
        if citizen is None:
            return
        citizen.play_pending = False
        citizen.waiting = False
        citizen.token += 1
        length = min(self._record(), command.max_duration_s)
        self._at(max(self.now, citizen.play_end) + length, self._recorded, (citizen, citizen.token))

    def _recorded(self, arg: tuple[_Citizen, int]) -> None:
        citizen, token = arg
        if token != citizen.token or citizen.done:
            return
        citizen.token += 1
        self._feed(RecordingFinished(citizen.call_id, self.now, f"rec-{citizen.call_id}", 30.0))

    def _do_hold(self, command: HoldWithMusic) -> None:
        citizen = self._citizens.get(command.call_id)
        if citizen is None or citizen.waiting:
            return  # a callback request's citizen-first hold, or an overflow (same wait)
        citizen.waiting = True
        citizen.play_pending = False
        if citizen.queued_at is None:
            citizen.queued_at = self.now
        citizen.token += 1
        if citizen.patience < math.inf:
            since = citizen.queued_at if citizen.rewait_from is None else citizen.rewait_from
            self._at(since + citizen.patience, self._abandon, (citizen, citizen.token))

    def _do_announce(self, command: Announce) -> None:
        """A queue announcement; one that offers a callback key may be taken up."""
        key = command.callback_key
        if key is None:
            return
        citizen = self._citizens.get(command.call_id)
        if citizen is None or not citizen.waiting or citizen.done:
            return
        self.totals.callback_offers_heard += 1
        if self.rng.random() >= self.scenario.citizens.callback_accept:
            return
        spoken = sum(self._prompt_length(p) for p in command.prompts) if command.prompts \
            else _SPOKEN_ANNOUNCEMENT_S
        # The hold token is left alone: the pending abandonment stays armed, and whichever
        # comes first (hanging up, an agent, or the key) wins.
        self._at(self.now + spoken + self._think(), self._press_callback_key,
                 (citizen, citizen.token, key))

    def _press_callback_key(self, arg: tuple[_Citizen, int, str]) -> None:
        citizen, token, key = arg
        if token != citizen.token or citizen.done or not citizen.waiting:
            return  # answered, hung up or let out of the queue meanwhile
        self.totals.callback_keys_pressed += 1
        self._feed(DigitsReceived(citizen.call_id, key, self.now))

    def _abandon(self, arg: tuple[_Citizen, int]) -> None:
        citizen, token = arg
        if token != citizen.token or citizen.done or not citizen.waiting:
            return
        self.totals.abandoned_waiting += 1
        self._finish(citizen)
        self._feed(CallerHungUp(citizen.call_id, self.now))

    # --- agents answering -------------------------------------------------------------

    def _do_ring(self, command: RingSeat) -> None:
        agent = self._agents.get(command.agent_id)
        if agent is None:
            agent = self._agents[command.agent_id] = _AgentSim(command.agent_id)
        agent.ring_token += 1
        token = agent.ring_token
        self.totals.rings += 1
        rng = self.rng
        delay = self._answer_delay()
        if rng.random() < self.scenario.agents.ring_no_answer or delay >= command.timeout_s:
            self._at(self.now + command.timeout_s, self._ring_missed,
                     (agent, token, command.call_id))
        else:
            self._at(self.now + delay, self._ring_answered, (agent, token, command.call_id))

    def _do_stop_ringing(self, command: StopRinging) -> None:
        agent = self._agents.get(command.agent_id)
        if agent is not None:
            agent.ring_token += 1

    def _ring_answered(self, arg: tuple[_AgentSim, int, str]) -> None:
        agent, token, call_id = arg
        if token != agent.ring_token:
            return
        agent.ring_token += 1
        self._feed(SeatAnswered(agent.agent_id, call_id, self.now))

    def _ring_missed(self, arg: tuple[_AgentSim, int, str]) -> None:
        agent, token, call_id = arg
        if token != agent.ring_token:
            return
        agent.ring_token += 1
        self.totals.rings_missed += 1
        self._feed(SeatNoAnswer(agent.agent_id, call_id, self.now, "timeout"))
        # The ACD pauses a seat that missed a ring; the agent notices and comes back.
        self._at(self.now + self._ready_delay(), self._ready_again, agent)

    def _ready_again(self, agent: _AgentSim) -> None:
        view = self._seats.get(agent.agent_id)
        if agent.logged_in and view is not None and view.new is SeatState.PAUSED \
                and view.reason != self.scenario.agents.pause_reason:
            self._feed(AgentReady(agent.agent_id, self.now))

    def _do_bridge(self, command: Bridge) -> None:
        citizen = self._citizens.get(command.call_id)
        talk = 0
        if citizen is not None:
            citizen.waiting = False
            citizen.talking = True
            citizen.token += 1  # no abandonment now
            citizen.talk += 1
            talk = citizen.talk
        self._talks += 1
        self._at(self.now + self._talk(), self._talk_over,
                 (command.call_id, command.agent_id, talk))

    def _talk_over(self, arg: tuple[str, str, int]) -> None:
        call_id, agent_id, talk = arg
        self._talks -= 1
        citizen = self._citizens.get(call_id)
        if citizen is not None and citizen.talk != talk:
            return  # the agent handed the citizen on before this conversation would end
        self._citizens.pop(call_id, None)
        if citizen is not None:
            citizen.done = True
        self._gone.append(call_id)
        self._feed(CallEnded(call_id, self.now))
        self._agent_wraps_up(agent_id)

    def _agent_wraps_up(self, agent_id: str) -> None:
        agent = self._agents.get(agent_id)
        if self._wrap_up is not None and agent is not None:
            agent.wrap_token += 1
            self._at(self.now + self._wrap_up(), self._wrap_up_done, (agent, agent.wrap_token))

    def _do_release_agent(self, command: ReleaseAgent) -> None:
        """A transfer: the agent's conversation is over, the citizen waits again (the
        `HoldWithMusic` that follows), with patience counted from now."""
        citizen = self._citizens.get(command.call_id)
        if citizen is not None:
            citizen.talking = False
            citizen.talk += 1
            citizen.rewait_from = self.now
        self._agent_wraps_up(command.agent_id)

    def _do_leave_to_party(self, command: LeaveToParty) -> None:
        # The citizen goes on with the department until the conversation's own end.
        self._agent_wraps_up(command.agent_id)

    def _wrap_up_done(self, arg: tuple[_AgentSim, int]) -> None:
        agent, token = arg
        if token != agent.wrap_token:
            return
        view = self._seats.get(agent.agent_id)
        if view is not None and view.new is SeatState.WRAP_UP:
            self._feed(AgentReady(agent.agent_id, self.now))  # notes done before the limit

    def _do_dial(self, command: DialCitizen) -> None:
        self.totals.callback_dials += 1
        if self.rng.random() < self.scenario.citizens.callback_answer:
            delay = min(self._callback_delay(), command.timeout_s * 0.99)
            self._at(self.now + delay, self._callback_answered, command.request_id)
        else:
            self._at(self.now + command.timeout_s, self._callback_failed, command.request_id)

    def _callback_answered(self, request_id: str) -> None:
        self._feed(CallbackAnswered(request_id, self.now))

    def _callback_failed(self, request_id: str) -> None:
        self.totals.callback_dials_failed += 1
        self._feed(CallbackFailed(request_id, self.now, "no-answer"))

    # --- agents coming and going ------------------------------------------------------

    def _roster_shifts(self, mode: str) -> dict[str, list[tuple[float, float]]]:
        """Agent -> shift intervals (epoch) of `mode`'s roster for the simulated day."""
        config = self.centre.config
        roster_name = config.modes[mode].roster if mode in config.modes else None
        if roster_name is None:
            return {}
        roster = config.rosters[roster_name]
        out: dict[str, list[tuple[float, float]]] = {}
        day = self.scenario.day
        for offset in (-1, 0, 1):  # yesterday's night shift .. the drain after midnight
            on = day + timedelta(days=offset)
            base = datetime.combine(on, datetime.min.time(), tzinfo=self.tz).timestamp()
            for shift_name, agent_ids in roster.plan_for(on).items():
                shift = config.shifts[shift_name]
                begin = base + parse_hhmm(shift.start) * 60.0
                finish = base + parse_hhmm(shift.end) * 60.0
                if finish <= begin:
                    finish += 86400.0
                if begin >= self.stop or finish <= self.start:
                    continue
                for agent_id in agent_ids:
                    out.setdefault(agent_id, []).append((begin, finish))
        return out

    def _plan_agents(self) -> None:
        if self.scenario.agents.logins is Logins.ALL:
            for agent in self._agents.values():
                self._at(self.start, self._login, (agent, math.inf, None))
            return
        self._plan_roster(self.scenario.mode, called_in=False)

    def _plan_roster(self, mode: str, *, called_in: bool) -> None:
        """Log the roster's agents in for their shifts (called in: come in late, some).

        The new plan replaces the old roster's logins still to come: after a switch to
        emergency nobody turns up for a normal shift (they are on the emergency roster
        or in the reserve). Agents at their seats stay until their shift ends.
        """
        rng = self.rng
        self._roster_plan += 1
        plan = self._roster_plan
        share = self.scenario.agents.called_in_share
        for agent_id, intervals in self._roster_shifts(mode).items():
            agent = self._agents.get(agent_id)
            if agent is None:
                continue
            for begin, finish in sorted(intervals):
                if finish <= self.now:
                    continue
                if agent.logged_in and begin <= agent.leave_at:
                    agent.leave_at = max(agent.leave_at, finish)  # a shift that runs on
                    continue
                if begin <= self.now:
                    if called_in and rng.random() >= share:
                        continue
                    delay = self._called_in_delay() if called_in else self._login_delay()
                    when = self.now + delay
                else:
                    when = begin + self._login_delay()
                if when < finish:
                    self._at(when, self._login, (agent, finish, plan))
        config = self.centre.config
        roster_name = config.modes[mode].roster if mode in config.modes else None
        if roster_name is not None:
            for guest_id, guest in config.rosters[roster_name].guests.items():
                if guest_id in self._agents or guest.seat is None:
                    continue
                sim = _AgentSim(guest_id, (guest.skill,), guest.seat)
                self._agents[guest_id] = sim
                self._at(self.now + self._called_in_delay() if called_in else self.start,
                         self._login, (sim, self.stop, None))

    def _login(self, arg: tuple[_AgentSim, float, int | None]) -> None:
        """Log in at a free seat until `leave_at`; `plan`: the roster plan that asked
        (None: reserve or guest staff, called in for the rest of the day)."""
        agent, leave_at, plan = arg
        if plan is not None and plan != self._roster_plan:
            return  # a shift of a roster that is no longer the active one
        if agent.logged_in:
            agent.leave_at = max(agent.leave_at, leave_at)
            return
        if agent.fixed_seat is not None:
            seat = agent.fixed_seat
            if agent.agent_id in self._seats:
                return
        elif self._free_seats:
            seat = self._free_seats.pop()
        else:
            self.totals.no_free_seat += 1
            return
        agent.seat = seat
        agent.logged_in = True
        agent.leave_at = leave_at
        self.totals.logins += 1
        self._feed(AgentLoggedIn(agent.agent_id, seat, self.now, agent.guest_skills))
        self._at(self.now + self._ready_delay(), self._ready_after_login, agent)
        if leave_at < math.inf:
            self._at(leave_at, self._logout, agent)

    def _ready_after_login(self, agent: _AgentSim) -> None:
        view = self._seats.get(agent.agent_id)
        if view is None or view.new is not SeatState.PAUSED:
            return
        self._feed(AgentReady(agent.agent_id, self.now))
        self._plan_pause(agent)

    def _plan_pause(self, agent: _AgentSim) -> None:
        if self._pause_every is None:
            return
        agent.pause_token += 1
        self._at(self.now + self._pause_every(), self._pause, (agent, agent.pause_token))

    def _pause(self, arg: tuple[_AgentSim, int]) -> None:
        agent, token = arg
        if token != agent.pause_token or not agent.logged_in:
            return
        view = self._seats.get(agent.agent_id)
        if view is None:
            return
        if view.new not in (SeatState.READY, SeatState.ON_CALL, SeatState.WRAP_UP):
            # Ringing (or already paused): ask again a little later.
            self._at(self.now + _RETRY_BUSY_S, self._pause, (agent, token))
            return
        # On a call the ACD keeps the pause until the wrap-up ends.
        self._feed(AgentPaused(agent.agent_id, self.scenario.agents.pause_reason, self.now))
        length = self._pause_len()
        self._at(self.now + length, self._back_from_pause, (agent, token, length))

    def _back_from_pause(self, arg: tuple[_AgentSim, int, float]) -> None:
        agent, token, length = arg
        if token != agent.pause_token or not agent.logged_in:
            return
        view = self._seats.get(agent.agent_id)
        if view is None:
            return
        if view.new in (SeatState.ON_CALL, SeatState.WRAP_UP):
            self._at(self.now + _RETRY_BUSY_S, self._back_from_pause, arg)  # not begun yet
            return
        if view.new is SeatState.PAUSED and view.reason == self.scenario.agents.pause_reason:
            due = view.at + length
            if due > self.now:
                self._at(due, self._back_from_pause, arg)
                return
            self._feed(AgentReady(agent.agent_id, self.now))
        self._plan_pause(agent)

    def _logout(self, agent: _AgentSim) -> None:
        if not agent.logged_in:
            return
        if self.now < agent.leave_at:
            # The shift was extended (a mode switch kept them on): leave at its new end.
            if agent.leave_at < math.inf:
                self._at(agent.leave_at, self._logout, agent)
            return
        view = self._seats.get(agent.agent_id)
        if view is not None and view.new in (SeatState.ON_CALL, SeatState.RINGING):
            self._at(self.now + _RETRY_BUSY_S, self._logout, agent)
            return
        agent.logged_in = False
        agent.pause_token += 1
        self.totals.logouts += 1
        if view is not None:
            self._feed(AgentLoggedOut(agent.agent_id, self.now))
        if agent.seat is not None and agent.seat not in self._guest_seats:
            self._free_seats.append(agent.seat)
        agent.seat = None

    def notify(self, command: NotifyReserve) -> None:
        rng = self.rng
        share = self.scenario.agents.called_in_share
        for agent_id in command.agent_ids:
            agent = self._agents.get(agent_id)
            if agent is None or agent.logged_in or agent.login_pending:
                continue
            if rng.random() >= share:
                continue
            agent.login_pending = True
            self._at(self.now + self._called_in_delay(), self._reserve_login, agent)

    def _reserve_login(self, agent: _AgentSim) -> None:
        agent.login_pending = False
        # Reserve staff stay for the rest of the simulated day.
        self._login((agent, self.stop, None))

    # --- supervisors ------------------------------------------------------------------

    def _switch_mode(self, action: Any) -> None:
        until = self.now + action.for_s if action.for_s is not None else None
        self._feed(ModeSwitched(action.mode, action.by, action.reason, self.now, until))
        self._modes.append((self.now, action.mode))
        if self.scenario.agents.logins is Logins.ROSTER:
            self._plan_roster(action.mode, called_in=True)

    def _sample_logins(self, _: Any) -> None:
        logged = sum(1 for a in self._agents.values() if a.logged_in)
        self._logged_in_samples.append((self.now, logged))
        if self.now < self.stop:
            self._at(self.now + 300.0, self._sample_logins, None)
        current = self._mode
        if current != self._modes[-1][1]:  # an automatic return happened inside the ACD
            self._modes.append((self.now, current))


def _ignore(_: Any) -> None:
    return None


def simulate(
    scenario: Scenario, centre: Centre, *, seed: int | None = None,
    listeners: tuple[Listener, ...] = (),
) -> SimulationResult:
    """Run `scenario` against a loaded centre (`hotline.config.loader.Centre`).

    `listeners` get every record of the fact log, `(seq, record)`, as it is made.
    """
    return Simulation(scenario, centre, seed=seed, listeners=listeners).run()
