"""The ACD kernel: queues, routing, seats, callbacks and centre mode behind one object.

Shape::

    acd = Acd(rules_by_mode, agents, seats, rosters, tz="Asia/Shanghai")
    out = acd.enqueue(Enqueue(...), line="12345", caller="138...", at=t)
    out = acd.handle(SeatAnswered(...))          # any `AcdEvent`
    out.commands   # tuple of commands for the drivers (RingSeat, Bridge, StartTimer, ...)
    out.facts      # tuple of `hotline.vocabulary.facts` for statistics, the store, the wallboard

Every call returns the commands *and* the facts of that one step, so nothing is left
buffered between events. Decisions are made inside the event that makes them possible:
a seat that becomes ready takes the best waiting caller it may serve, a caller who
arrives takes the best ready seat, in the same step. Time only moves with events: the
``at`` of each event; widening skills, announcements, overflow, maximum wait, wrap-up,
pause limits, callback retries and the mode's automatic return are timers the kernel
asks for with `StartTimer` and hears back as `TimerFired`. All ACD timer names start with
``acd.`` (so the centre can route `TimerFired` here) and carry a generation number, so a
timer that fires after it was cancelled is recognised and ignored.

Illegal events raise `AcdError` (or its `SeatError`) before anything changes. A
`TimerFired` the ACD does not know (stale, or not an ``acd.`` timer) is ignored.

Ring guard: every `RingSeat` also starts ``acd.ring-guard`` (ring timeout + 5 s). If the
driver's `SeatAnswered` / `SeatNoAnswer` never comes, the guard stops the ring
(`StopRinging`), pauses the seat (``no-answer``) and puts the call back at its place
(`RingNoAnswer`, cause ``no-report``). A report that arrives after the guard is settled
once without any change: a late `SeatNoAnswer` is a no-op, a late `SeatAnswered` gets
`StopRinging` so the driver drops the agent's leg; a further report is illegal again.

Announcements (`hotline.queue.announcements`): every ``announce.every_s`` a waiting
caller gets `Announce` with their position, the expected wait (prompt
``queue.wait_unknown`` instead when nobody is staffed, never 0) and, when the current
mode's queue has callbacks enabled and the caller's number is known, the callback offer
(``callback_key="1"``). The prompts carry built-in Mandarin texts; the centre kernel
re-resolves them in the caller's language.

Keys on hold (`DigitsReceived`): the callback key while *waiting* in a queue that offers
callbacks is the caller choosing a callback (as `CallbackChosen`); every other key, and
any key while ringing or talking, is ignored.

Callers leaving the queue: ``exit: record`` gives `Announce` (exit prompt) + `Record`
(purpose ``work-order``) and the ACD lets go of the call; a callback (``exit: callback``
with callbacks enabled and a known number, or the caller's choice while waiting) gives
`Announce` (``acd.exit.callback``, or ``queue.callback_confirmed`` for a choice) +
`Hangup(reason="callback-registered")` and a request ``<call_id>.cb`` takes the
caller's place (same rank). A callback chosen in the IVR (`request_callback`) gets a new
place and the same ``<call_id>.cb`` id. Agent-first: `RingSeat(request)` →
`SeatAnswered` → `DialCitizen` → `CallbackAnswered` → `Bridge`. Citizen-first: the seat
is reserved (state ringing, not rung) and `DialCitizen` goes out → `CallbackAnswered` →
`RingSeat` → `SeatAnswered` → `Bridge`. `CallbackFailed` frees the seat; the request
rests ``retry_spacing_s`` out of the line and returns to its place, until ``attempts``.

Transfers (`transfer_call`): an agent hands a talking citizen on to a queue or to a
named, ready colleague; the citizen leaves the agent's seat (`ReleaseAgent`, wrap-up),
hears music and waits again at the head of its priority band, or rings the colleague
(falling back to that head-of-band place should the ring fail). The call keeps its id,
its first queue and its record; what follows is told by `TransferAnswered`,
`TransferAbandoned`, `TransferExited` (never a second outcome). Refusals are
`TransferRefused` facts with a `TransferRefusal` reason.

Rules the code relies on (see also `hotline.vocabulary.facts` for how outcomes are counted):

* a fresh login is *paused* (reason ``login``) until the agent sends `AgentReady`;
* rank = effective priority (queue base + call priority + the current mode's tag
  bonuses) descending, then transferred calls before the others, then order of first
  offer (of transfer, for transferred calls); skill expansion and the maximum wait count
  from the first offer (from the transfer), overflow ``after_s`` from entering the
  current queue;
* a queue's ``teams`` restrict every agent choice, also ``any_agent`` expansion steps;
* pause limits of a reason are the smallest over the current mode's queues; at the limit
  the seat is made ready again (reason ``pause-limit``); wrap-up uses the limit of the
  queue the call came from, re-applied at once when the mode changes;
* the active roster does not restrict routing: it says who is scheduled and missing,
  gives guests their skills, and lists the reserve called in on a mode switch.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hotline.agents.directory import (
    GUEST_SKILL_LEVEL,
    Agent,
    Guest,
    SeatDef,
    index_agents,
    index_guests,
    index_seats,
)
from hotline.agents.rosters import Attendance, Roster, attendance
from hotline.agents.seats import Seat, SeatBoard, SeatTrigger, SeatView
from hotline.queue.announcements import (
    CALLBACK_KEY,
    EXIT_CALLBACK,
    EXIT_RECORD,
    QUEUE_CALLBACK_BY,
    QUEUE_CALLBACK_CONFIRMED,
    QUEUE_CALLBACK_FULL,
    default_prompt,
    queue_announcement,
)
from hotline.queue.estimates import HandleTimes, LiveLoad, RecentCallers, expected_wait_s
from hotline.queue.rules import QueueRules, RulesByMode, check_rules_by_mode
from hotline.queue.timers import TimerBook
from hotline.queue.waiting import (
    TRANSFERRED_BAND,
    Entry,
    EntryKind,
    EntryState,
    EntryTrigger,
    WaitingIndex,
    move,
)
from hotline.vocabulary.commands import (
    AcdCommand,
    Announce,
    Bridge,
    DialCitizen,
    Enqueue,
    Hangup,
    HoldWithMusic,
    NotifyReserve,
    Prompt,
    Record,
    ReleaseAgent,
    RequestCallback,
    RingSeat,
    StopRinging,
)
from hotline.vocabulary.errors import AcdError, RulesError
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    CallbackAnswered,
    CallbackChosen,
    CallbackFailed,
    CallEnded,
    CallerHungUp,
    DigitsReceived,
    ModeSwitched,
    SeatAnswered,
    SeatNoAnswer,
    TimerFired,
)
from hotline.vocabulary.facts import (
    AcdFact,
    CallAbandoned,
    CallAnswered,
    CallbackAttemptFailed,
    CallbackCancelled,
    CallbackCompleted,
    CallbackDeclined,
    CallbackDialled,
    CallbackGaveUp,
    CallbackOverdue,
    CallbackPromised,
    CallbackRequested,
    CallCompleted,
    CallExited,
    CallOverflowed,
    CallQueued,
    CallTransferred,
    EventIgnored,
    MissedCallCallback,
    ModeChanged,
    RingNoAnswer,
    TransferAbandoned,
    TransferAnswered,
    TransferExited,
    TransferRefused,
)
from hotline.vocabulary.ports import Clock
from hotline.vocabulary.queueing import CallbackOrder, ExitAction, TransferRefusal
from hotline.vocabulary.states import SeatState
from hotline.vocabulary.timers import (
    CENTRE,
    CentreOwner,
    EntryOwner,
    SeatOwner,
    TimerKind,
    TimerOwner,
)

AcdEvent = (
    AgentLoggedIn
    | AgentLoggedOut
    | AgentReady
    | AgentPaused
    | SeatAnswered
    | SeatNoAnswer
    | CallEnded
    | CallerHungUp
    | TimerFired
    | CallbackAnswered
    | CallbackFailed
    | CallbackChosen
    | DigitsReceived
    | ModeSwitched
)

# Timer kinds (the name sent out is "<kind>#<generation>").
EXPAND = TimerKind.EXPAND
ANNOUNCE = TimerKind.ANNOUNCE
OVERFLOW = TimerKind.OVERFLOW
MAX_WAIT = TimerKind.MAX_WAIT
WAIT_CHECK = TimerKind.WAIT_CHECK
WAIT_CHECK_EVERY_S = 15.0
RETRY = TimerKind.RETRY
WRAP_UP = TimerKind.WRAP_UP
PAUSE_LIMIT = TimerKind.PAUSE_LIMIT
MODE_RETURN = TimerKind.MODE_RETURN
RING_GUARD = TimerKind.RING_GUARD
DIAL_GUARD = TimerKind.DIAL_GUARD
CALLING_HOURS = TimerKind.CALLING_HOURS
CALLBACK_DUE = TimerKind.CALLBACK_DUE
CENTRE_TIMER_OWNER = CENTRE.wire

REPEAT_CALLER_TAG = "repeat_caller"
RECORD_MAX_S = 120.0

_PROMISE_STEP_S = 1800.0  # the roster is read every half hour of a future promise window
_SCHEDULED_CACHE_SIZE = 4096  # roster look-ups kept for callback promises
RING_GUARD_GRACE_S = 5.0  # past the ring timeout, for the driver's own report to arrive
NO_REPORT = "no-report"  # `RingNoAnswer.cause` when the guard gave up the ring
_LAPSED_RINGS_KEPT = 1024  # rings given up by the guard, remembered for late reports
_ENDED_KEPT = 4096  # ids that left the ACD, remembered so late reports are absorbed
MISSED_CALL = "missed-call"  # `CallExited`-like reason of a missed-call callback request
CALLED_AGAIN = "called-again"  # `CallbackCancelled.reason`
DIAL_ABANDONED = "dial-abandoned"  # `Hangup` reason: a dial the guard gave up

CALLBACK_REGISTERED = "callback-registered"  # `Hangup` reason: a callback took the place

EXIT_RECORD_PROMPT = default_prompt(EXIT_RECORD)
CALLBACK_FULL_PROMPT = default_prompt(QUEUE_CALLBACK_FULL)


@dataclass(frozen=True, slots=True)
class AcdOutput:
    """What one step produced: commands for drivers and facts for everyone else."""

    commands: tuple[AcdCommand, ...] = ()
    facts: tuple[AcdFact, ...] = ()


@dataclass(frozen=True, slots=True)
class WaitingView:
    id: str  # call id, or request id for a callback
    kind: EntryKind
    queue: str
    state: EntryState
    position: int | None  # None unless waiting (ringing, resting between attempts, ...)
    waited_s: float
    priority: int
    tags: tuple[str, ...]
    agent_id: str | None
    transferred: bool = False  # an agent handed this citizen on: it waits first in its band


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    waiting: tuple[WaitingView, ...]  # waiting ones first, by position
    longest_wait_s: float
    staffed: int  # logged-in, not paused, qualified seats

    @property
    def waiting_count(self) -> int:
        """Callers (and callback requests) waiting for a seat now, ringing ones excluded."""
        return sum(1 for w in self.waiting if w.position is not None)


@dataclass(frozen=True, slots=True)
class CallbackPromise:
    """Can a callback in a queue be promised now, and by when? (see `Acd.callback_promise`)"""

    possible: bool
    callback_by: float | None = None  # kernel-clock time; None: no promise is made
    reason: str = ""  # why not: "window-full" | "nobody-staffed"


def _owner(owner: str | TimerOwner) -> TimerOwner:
    """A bare string names a waiting place (call or request id)."""
    return EntryOwner(owner) if isinstance(owner, str) else owner


class _Limits:
    """The seat limits in force in the ACD's current mode (for the seat chokepoint)."""

    __slots__ = ("_acd",)

    def __init__(self, acd: Acd) -> None:
        self._acd = acd

    def pause_limit_s(self, reason: str) -> float | None:
        return self._acd._pause_limits.get(reason)

    def wrap_up_s(self, queue: str | None) -> float:
        return self._acd._rules(queue).wrap_up_s if queue else 0.0


class Acd:
    """The automatic call distributor of one centre (single-threaded, no I/O)."""

    def __init__(
        self,
        rules_by_mode: RulesByMode,
        agents: Iterable[Agent],
        seats: Iterable[SeatDef] | Mapping[str, str],
        rosters: Mapping[str, Roster] | None = None,
        *,
        tz: ZoneInfo | str = "Asia/Shanghai",
        mode: str | None = None,
        clock: Clock | None = None,
        default_handle_s: float = 180.0,
        guests: Iterable[Guest] = (),
    ) -> None:
        check_rules_by_mode(rules_by_mode)
        self._rules_by_mode = {m: dict(q) for m, q in rules_by_mode.items()}
        self._agents = index_agents(agents)
        self._guests = index_guests(guests)
        self._seat_defs = index_seats(seats)
        self._rosters = dict(rosters or {})
        self._tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        start_mode = mode or ("normal" if "normal" in rules_by_mode else next(iter(rules_by_mode)))
        if start_mode not in rules_by_mode:
            raise RulesError(f"unknown start mode {start_mode!r}")
        if default_handle_s <= 0:
            raise RulesError("default_handle_s must be > 0")
        self._mode = start_mode
        self._mode_since = 0.0
        self._return_to: str | None = None
        self._clock = clock
        self._cmds: list[AcdCommand] = []
        self._facts: list[AcdFact] = []
        self._timers = TimerBook(self._cmds.append)
        self._board = SeatBoard(self._facts.append, timers=self._timers, limits=_Limits(self))
        self._waiting = WaitingIndex()
        self._entries: dict[str, Entry] = {}
        # (agent, call) → endpoint of rings given up (guard, timeout, hang-up, pause), oldest
        # first (bounded): a late report about one is settled once, harmlessly.
        self._lapsed: dict[tuple[str, str], str] = {}
        self._lapsed_dials: dict[str, None] = {}  # requests whose dial the guard gave up
        self._ended: dict[str, None] = {}  # ids that left the ACD (bounded), for late events
        self._owed_by_number: dict[str, str] = {}  # number → callback request owed to it
        self._owed_in_queue: Counter[str] = Counter()  # queue → callback requests owed
        self._live_load = LiveLoad()
        self._stale: Counter[str] = Counter()
        self._seq = 0
        self._recent_callers = RecentCallers()
        self._handle_times = HandleTimes(default_handle_s)
        self._staffed_cache: dict[str, tuple[int, str, int]] = {}
        # (mode, queue, minute) -> agents scheduled: the roster and the agents are fixed,
        # and every booking in one closed period walks the same half-hour moments.
        self._scheduled_cache: dict[tuple[str, str, float], int] = {}
        self._pause_limits = self._pause_limits_of(start_mode)
        self._handlers: dict[type[Any], Callable[[Any], None]] = {
            AgentLoggedIn: self._on_login,
            AgentLoggedOut: self._on_logout,
            AgentReady: self._on_ready,
            AgentPaused: self._on_paused,
            SeatAnswered: self._on_seat_answered,
            SeatNoAnswer: self._on_seat_no_answer,
            CallEnded: self._on_call_ended,
            CallerHungUp: self._on_caller_hung_up,
            TimerFired: self._on_timer,
            CallbackAnswered: self._on_callback_answered,
            CallbackFailed: self._on_callback_failed,
            CallbackChosen: self._on_callback_chosen,
            DigitsReceived: self._on_digits,
            ModeSwitched: self._on_mode_switched,
        }

    # ================================================================ public entry points
    def handle(self, event: AcdEvent) -> AcdOutput:
        handler = self._handlers.get(type(event))
        if handler is None:
            raise AcdError(f"the ACD does not handle {type(event).__name__}")
        return self._step(lambda: handler(event))

    def enqueue(self, command: Enqueue, *, line: str, caller: str, at: float) -> AcdOutput:
        """The IVR handed a caller to ``command.queue`` (``caller`` "" when withheld)."""
        return self._step(lambda: self._enqueue(command, line, caller, at))

    def request_callback(self, command: RequestCallback, *, line: str, at: float) -> AcdOutput:
        """The caller chose a callback in the IVR: a new place in the queue, no call waits."""
        return self._step(lambda: self._request_callback(command, line, at))

    def transfer_call(
        self, call_id: str, from_agent_id: str, *, queue: str | None = None,
        to_agent: str | None = None, at: float,
    ) -> AcdOutput:
        """The agent talking on ``call_id`` hands the citizen on: to ``queue`` or to the
        agent ``to_agent`` (exactly one).

        A request that can never be right (neither or both targets, an unknown queue or
        agent, the agent themself) raises `AcdError` before anything changes. A transfer
        the live state does not allow is refused with a `TransferRefused` fact and changes
        nothing else: the citizen stays with the agent. Otherwise, in this one step: the
        citizen leaves the agent's seat (`ReleaseAgent`; the conversation's
        `CallCompleted`; the seat to wrap-up through the seat chokepoint), hears music
        again (`HoldWithMusic`) and re-enters, first in its priority band
        (`hotline.queue.waiting`), its wait counted from now:

        * to a queue: refused while the queue is at its ``max_length`` or nobody who could
          serve it is logged in and unpaused (the nearest thing a queue has to closed);
          then offered to the best ready seat, or waiting;
        * to a named agent: refused unless that agent's seat is ready; then that seat is
          rung, skills and teams aside (the agent chose a colleague). Should the ring fail
          (no answer, rejected, the agent pauses or logs out meanwhile) the citizen waits
          in the queue the call was served from, first in its band: never back to the
          first agent, never ringing nowhere.
        """
        self.check_transfer(from_agent_id, queue=queue, to_agent=to_agent)
        return self._step(lambda: self._transfer(call_id, from_agent_id, queue, to_agent, at))

    def check_transfer(
        self, from_agent_id: str, *, queue: str | None = None, to_agent: str | None = None
    ) -> None:
        """Raise `AcdError` for a transfer request that can never be right (see
        `transfer_call`); whether the live state allows it is not checked here."""
        if bool(queue) == bool(to_agent):
            raise AcdError("a transfer names exactly one of a queue or an agent")
        if queue:
            self.rules(queue)  # an unknown queue raises here
        elif to_agent == from_agent_id:
            raise AcdError(f"agent {from_agent_id} cannot transfer a call to themself")
        elif (
            to_agent not in self._agents and to_agent not in self._guests
            and self._board.find(to_agent or "") is None
        ):
            raise AcdError(f"unknown agent {to_agent}")

    def apply_mode(self, mode: str, at: float) -> AcdOutput:
        """The centre switched its mode: apply it to queues and seats (no audit, no timer).

        Waiting places are re-ranked and their timers re-armed, running wrap-ups and
        pauses are re-timed against the new limits, the new roster's reserve is notified
        and ready seats are offered callers. The centre owns the switch itself, its
        audit fact and any automatic return. Applying the current mode changes nothing.
        """
        if mode not in self._rules_by_mode:
            raise AcdError(f"unknown mode {mode!r} (known: {', '.join(self._rules_by_mode)})")
        if mode == self._mode:
            return AcdOutput()
        return self._step(lambda: self._apply_mode(mode, "", at))

    def callback_promise(self, queue: str, at: float) -> CallbackPromise:
        """May a callback in ``queue`` be offered now, and when would it come?

        The offer is limited only when the queue's callback rule has a promise window.
        Capacity = staffed agents x window / mean handle time; a new request is possible
        while the callbacks already owed in the queue plus the callers waiting there
        still leave room. The kernel asks this before it offers or accepts a callback.
        """
        self.rules(queue)
        return self._promise(queue, at, None)

    @property
    def stale(self) -> Mapping[str, int]:
        """Stale events absorbed without a change, by kind (late answer, second hang-up...)."""
        return dict(self._stale)

    def _step(self, action: Callable[[], None]) -> AcdOutput:
        # Cleared in place: the seat board appends its facts to this same list, so facts
        # come out in the order they happened.
        self._cmds.clear()
        self._facts.clear()
        try:
            action()
            return AcdOutput(tuple(self._cmds), tuple(self._facts))
        finally:
            self._cmds.clear()
            self._facts.clear()

    # ================================================================ read-only views
    @property
    def mode(self) -> str:
        return self._mode

    @property
    def mode_since(self) -> float:
        """When the current mode was switched on (0.0: since start-up)."""
        return self._mode_since

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(self._rules_by_mode)

    def rules(self, queue: str) -> QueueRules:
        """The rules of ``queue`` in the current mode."""
        try:
            return self._rules_by_mode[self._mode][queue]
        except KeyError:
            raise AcdError(f"unknown queue {queue!r}") from None

    def knows(self, call_id: str) -> bool:
        """Is this call (or callback request) in the ACD's hands?"""
        return call_id in self._entries

    def seat(self, agent_id: str) -> SeatView | None:
        seat = self._board.find(agent_id)
        return None if seat is None else self._board.view(seat)

    def seats(self) -> tuple[SeatView, ...]:
        return tuple(self._board.view(s) for s in self._board.seats())

    def seats_by_state(self) -> dict[SeatState, tuple[SeatView, ...]]:
        out: dict[SeatState, list[SeatView]] = {
            s: [] for s in SeatState if s is not SeatState.LOGGED_OUT
        }
        for seat in self._board.seats():
            out[seat.state].append(self._board.view(seat))
        return {state: tuple(views) for state, views in out.items()}

    def queue_view(self, queue: str, at: float | None = None) -> QueueView:
        rules = self.rules(queue)
        now = self._now(at)
        views: list[WaitingView] = []
        for entry_id in self._waiting.in_queue(queue):
            views.append(self._entry_view(self._entries[entry_id], now))
        views.extend(
            self._entry_view(e, now)
            for e in self._entries.values()
            if e.queue == queue and e.state not in (EntryState.WAITING, EntryState.TALKING)
        )
        longest = max((v.waited_s for v in views), default=0.0)
        return QueueView(rules.name, tuple(views), longest, self._staffed(queue))

    def position(self, call_id: str) -> int | None:
        entry = self._entries.get(call_id)
        if entry is None or entry.id not in self._waiting:
            return None
        return self._waiting.position(entry)

    def expected_wait_s(self, call_id: str) -> float | None:
        """Expected wait of a waiting entry; None when unknown (nobody staffed)."""
        entry = self._entries.get(call_id)
        if entry is None or entry.id not in self._waiting:
            return None
        return self._expected_wait(entry)

    def attendance(self, at: float | None = None) -> Attendance | None:
        """Scheduled / logged-in / missing agents of the active roster (None: no roster)."""
        roster = self._active_roster()
        if roster is None:
            return None
        logged_in = (s.agent_id for s in self._board.seats())
        return attendance(roster, self._now(at), self._tz, logged_in)

    def _now(self, at: float | None) -> float:
        if at is not None:
            return at
        if self._clock is None:
            raise AcdError("no clock was given: pass `at`")
        return self._clock.now()

    def _entry_view(self, entry: Entry, now: float) -> WaitingView:
        position = self._waiting.position(entry) if entry.id in self._waiting else None
        return WaitingView(
            entry.id, entry.kind, entry.queue, entry.state, position,
            max(0.0, now - entry.offered_at), entry.priority, entry.tags, entry.agent_id,
            entry.band == TRANSFERRED_BAND,
        )

    # ================================================================ helpers
    def _rules(self, queue: str) -> QueueRules:
        return self._rules_by_mode[self._mode][queue]

    def _required(self, entry: Entry) -> tuple[str, ...]:
        return tuple(sorted(set(self._rules(entry.queue).skills) | set(entry.skills)))

    def _entry(self, entry_id: str) -> Entry:
        entry = self._entries.get(entry_id)
        if entry is None:
            raise AcdError(f"call {entry_id} is not in the ACD")
        return entry

    def _active_roster(self) -> Roster | None:
        return self._rosters.get(self._mode) or self._rosters.get("normal")

    def _pause_limits_of(self, mode: str) -> dict[str, float]:
        limits: dict[str, float] = {}
        for rules in self._rules_by_mode[mode].values():
            for reason, limit in rules.pause_limits_s.items():
                limits[reason] = min(limit, limits.get(reason, math.inf))
        return limits

    # --- timers ------------------------------------------------------------------------
    def _arm(self, owner: str | TimerOwner, kind: TimerKind, seconds: float) -> None:
        self._timers.arm(_owner(owner), kind, seconds)

    def _cancel(self, owner: str | TimerOwner, kind: TimerKind) -> None:
        self._timers.cancel(_owner(owner), kind)

    def _ignore(self, event: object, subject: str, reason: str, at: float) -> None:
        """A stale event: counted and logged, nothing else changes."""
        self._stale[reason] += 1
        self._facts.append(EventIgnored(type(event).__name__, subject, reason, at))

    def _move(self, entry: Entry, trigger: EntryTrigger) -> None:
        """The ACD's one place for entry moves: the table, then the waiting index."""
        old = entry.state
        new = move(entry, trigger)  # raises (nothing changed) on an illegal move
        if old is EntryState.WAITING and entry.id in self._waiting:
            self._waiting.remove(entry)
        if new is EntryState.WAITING:
            self._waiting.add(entry, self._required(entry))

    def _arm_entry(self, entry: Entry, at: float) -> None:
        rules = self._rules(entry.queue)
        waited = at - entry.offered_at
        nxt = rules.next_expansion_after(waited)
        if nxt is None:
            self._cancel(entry.id, EXPAND)
        else:
            self._arm(entry.id, EXPAND, nxt - waited)
        is_call = entry.kind is EntryKind.CALL
        if is_call and rules.announce is not None:
            ann = rules.announce
            if waited < ann.first_after_s:
                due = ann.first_after_s
            else:
                rounds = math.floor((waited - ann.first_after_s) / ann.every_s) + 1
                due = ann.first_after_s + rounds * ann.every_s
            self._arm(entry.id, ANNOUNCE, due - waited)
        else:
            self._cancel(entry.id, ANNOUNCE)
        if is_call and rules.overflow is not None and rules.overflow.after_s is not None:
            self._arm(entry.id, OVERFLOW, entry.queue_entered_at + rules.overflow.after_s - at)
        else:
            self._cancel(entry.id, OVERFLOW)
        if is_call and rules.max_wait_s is not None:
            self._arm(entry.id, MAX_WAIT, entry.offered_at + rules.max_wait_s - at)
        else:
            self._cancel(entry.id, MAX_WAIT)
        # Staffing can drop while a caller waits: the expected wait is looked at again
        # regularly, announcements or not.
        if is_call and rules.overflow is not None and rules.overflow.expected_wait_over_s:
            self._arm(entry.id, WAIT_CHECK, WAIT_CHECK_EVERY_S)
        else:
            self._cancel(entry.id, WAIT_CHECK)
        change = self._hours_change_s(entry, at)
        if change is None:
            self._cancel(entry.id, CALLING_HOURS)
        else:
            self._arm(entry.id, CALLING_HOURS, change)

    # --- calling hours and promises ------------------------------------------------------
    def _local_minute(self, at: float) -> float:
        local = datetime.fromtimestamp(at, self._tz)
        return local.hour * 60 + local.minute + local.second / 60.0

    def _calling_open(self, entry: Entry, at: float) -> bool:
        if entry.kind is not EntryKind.CALLBACK:
            return True
        return self._rules(entry.queue).callback.open_at(self._local_minute(at))

    def _hours_change_s(self, entry: Entry, at: float) -> float | None:
        if entry.kind is not EntryKind.CALLBACK:
            return None
        rule = self._rules(entry.queue).callback
        minute = self._local_minute(at)
        change = rule.next_change_s(minute)
        # Land just past the boundary, so the fire sees the hours already changed.
        return None if change is None else change + 0.5

    def _back_in_line(self, entry: Entry, at: float) -> None:
        """A callback may be offered again: back at its place, or resting till hours open."""
        if self._calling_open(entry, at):
            self._move(entry, EntryTrigger.RETURN)
            self._offer_entry(entry, at)
        elif entry.state is not EntryState.RESTING:
            self._move(entry, EntryTrigger.REST)
        self._arm_hours(entry, at)

    def _arm_hours(self, entry: Entry, at: float) -> None:
        change = self._hours_change_s(entry, at)
        if change is not None:
            self._arm(entry.id, CALLING_HOURS, change)

    def _promise(self, queue: str, at: float, entry: Entry | None) -> CallbackPromise:
        rule = self._rules(queue).callback
        if not rule.promises:
            return CallbackPromise(True)
        minute = self._local_minute(at)
        start = at
        if not rule.open_at(minute):
            start = at + (rule.next_change_s(minute) or 0.0)
        ends: list[float] = []
        if rule.promise_within_s is not None:
            ends.append(at + rule.promise_within_s)
        if rule.promise_until_close:
            close = rule.next_change_s(self._local_minute(start))
            ends.append(start + (close or 0.0))
        end = min(ends)
        handle = self._handle_times.mean(queue)
        # Callers waiting ahead (callback requests among them are already owed).
        waiting = (
            self._waiting.position(entry) - 1
            if entry is not None and entry.id in self._waiting
            else self._waiting.length(queue)
        )
        ahead = max(0, waiting - self._waiting.callbacks_waiting(queue))
        load = self._owed_in_queue[queue] + ahead + 1  # this one included
        if start <= at:
            # Calling hours are open: callbacks are made by the agents the live traffic
            # leaves free. Agents serve several queues, so the spare capacity is the
            # centre's (logged-in agents beyond the live load), set against every callback
            # owed in the centre; this queue's own staff bounds it too.
            staffed = self._staffed(queue)
            if staffed <= 0:
                return CallbackPromise(False, None, "nobody-staffed")
            spare = min(
                float(staffed),
                self._available_agents() - self._live_load.erlangs(at, self._handle_times),
            )
            owed = sum(self._owed_in_queue.values()) + ahead + 1
            if spare <= 0:
                return CallbackPromise(False, None, "window-full")
            callback_by = start + owed * handle / spare
            if callback_by > end:
                return CallbackPromise(False, None, "window-full")
            return CallbackPromise(True, callback_by)
        # Closed now (a booking at night): the agents the active roster schedules once
        # the hours open, walked through the window half an hour at a time.
        need = load * handle  # agent-seconds of work owed, this call included
        moment, anybody = start, False
        while moment < end:
            scheduled = self._scheduled_for(queue, moment)
            span = min(_PROMISE_STEP_S, end - moment)
            anybody = anybody or scheduled > 0
            if scheduled * span >= need:
                return CallbackPromise(True, moment + need / scheduled)
            need -= scheduled * span
            moment += span
        return CallbackPromise(False, None, "window-full" if anybody else "nobody-staffed")

    def _available_agents(self) -> int:
        """Agents logged in and not paused (ready, ringing, talking or in wrap-up)."""
        return sum(
            1 for seat in self._board.seats()
            if seat.state is not SeatState.PAUSED and seat.state is not SeatState.LOGGED_OUT
        )

    def _scheduled_for(self, queue: str, when: float) -> int:
        """Agents the active roster schedules at `when` who qualify for `queue`."""
        # Shifts start and end on whole minutes: the minute decides.
        minute = math.floor(when / 60.0) * 60.0
        key = (self._mode, queue, minute)
        cached = self._scheduled_cache.get(key)
        if cached is not None:
            return cached
        roster = self._active_roster()
        count = 0
        if roster is not None:
            rules = self._rules(queue)
            for agent_id in roster.scheduled(minute, self._tz):
                agent = self._agents.get(agent_id)
                if agent is None or (rules.teams and agent.team not in rules.teams):
                    continue
                if all(agent.skills.get(s, 0) >= rules.min_level for s in rules.skills):
                    count += 1
        if len(self._scheduled_cache) >= _SCHEDULED_CACHE_SIZE:
            self._scheduled_cache.clear()  # old periods: cheaper to forget than to age
        self._scheduled_cache[key] = count
        return count

    def _cancel_entry_timers(self, entry: Entry) -> None:
        self._timers.cancel_all(EntryOwner(entry.id))

    # --- expected wait ---------------------------------------------------------------
    def _staffed(self, queue: str) -> int:
        cached = self._staffed_cache.get(queue)
        if cached is not None and cached[0] == self._board.version and cached[1] == self._mode:
            return cached[2]
        rules = self._rules(queue)
        count = sum(
            1
            for seat in self._board.seats()
            if seat.state is not SeatState.PAUSED
            and seat.qualifies(rules.skills, rules.min_level, rules.teams)
        )
        self._staffed_cache[queue] = (self._board.version, self._mode, count)
        return count

    def _expected_wait(self, entry: Entry) -> float | None:
        return expected_wait_s(
            self._waiting.position(entry),
            self._handle_times.mean(entry.queue),
            self._staffed(entry.queue),
        )

    # ================================================================ matching
    def _offer_seat(self, seat: Seat, at: float) -> None:
        """A seat is ready: give it the best waiting entry it may serve, if any."""
        if seat.state is not SeatState.READY:
            return
        # Bucket heads best-first; the first one this seat may serve is the answer.
        heads = sorted(
            (entry.rank, bucket, entry)
            for bucket, entry in (
                (bucket, self._entries[entry_id]) for bucket, entry_id in self._waiting.heads()
            )
        )
        skills = seat.skills
        for _, (queue, required, _prio, _band), entry in heads:
            rules = self._rules(queue)
            level, any_agent = rules.level_after(at - entry.offered_at)
            if rules.teams and seat.team not in rules.teams:
                continue
            if any_agent or all(skills.get(skill, 0) >= level for skill in required):
                self._reserve(entry, seat, at)
                return

    def _offer_entry(self, entry: Entry, at: float) -> None:
        """An entry is (newly) waiting: give it the best ready seat, if any qualifies."""
        if entry.state is not EntryState.WAITING:
            return
        rules = self._rules(entry.queue)
        level, any_agent = rules.level_after(at - entry.offered_at)
        seat = self._board.best_ready(
            rules.strategy, self._required(entry), level, rules.teams, any_agent
        )
        if seat is not None:
            self._reserve(entry, seat, at)

    def _reserve(self, entry: Entry, seat: Seat, at: float) -> None:
        self._board.transition(seat, SeatTrigger.OFFER, entry.id, at)
        seat.call_id = entry.id
        entry.agent_id = seat.agent_id
        rules = self._rules(entry.queue)
        if entry.citizen_live or rules.callback.order is CallbackOrder.AGENT_FIRST:
            self._move(entry, EntryTrigger.RING)
            self._ring(entry, seat)
        else:
            self._dial(entry, seat, at)

    def _ring(self, entry: Entry, seat: Seat) -> None:
        """Ring the reserved seat; every `RingSeat` goes out here, with its guard timer.

        The driver reports `SeatNoAnswer` after ``timeout_s``; should that report be lost,
        the guard treats the ring as unanswered a little later, so no caller is stranded.
        """
        timeout_s = self._rules(entry.queue).ring_timeout_s
        self._lapsed.pop((seat.agent_id, entry.id), None)  # a new ring of the same pair
        self._cmds.append(RingSeat(entry.id, seat.agent_id, seat.endpoint, timeout_s))
        self._arm(entry.id, RING_GUARD, timeout_s + RING_GUARD_GRACE_S)

    def _ring_unanswered(self, entry: Entry, seat: Seat, cause: str, at: float) -> None:
        """Nobody answered the ring: the seat pauses (``no-answer``), the call goes back."""
        self._cancel(entry.id, RING_GUARD)
        self._note_lapsed(seat, entry.id)
        self._board.transition(seat, SeatTrigger.NO_ANSWER, "no-answer", at)
        self._facts.append(RingNoAnswer(entry.id, entry.queue, seat.agent_id, at, cause))
        self._put_back(entry, at)

    def _ring_guard_fired(self, entry: Entry, at: float) -> None:
        seat = self._board.find(entry.agent_id or "")
        if entry.state is not EntryState.RINGING or seat is None or seat.call_id != entry.id:
            return
        if seat.state is not SeatState.RINGING:
            return  # reserved for a citizen-first dial, not rung: the dial has its own end
        # The driver may still be ringing the softphone: stop it before moving on.
        self._cmds.append(StopRinging(entry.id, seat.agent_id, seat.endpoint))
        self._ring_unanswered(entry, seat, NO_REPORT, at)

    def _late_ring_report(self, event: SeatAnswered | SeatNoAnswer, answered: bool) -> bool:
        """A report about a ring that already ended: settled here, True if so.

        A late `SeatNoAnswer` changes nothing. A late `SeatAnswered` means the softphone
        picked up a call that has moved on (ring timeout, guard, caller gone, agent
        paused): `StopRinging` tells the driver to drop that leg. Neither changes any
        state; both are counted as stale. A further report is illegal again.
        """
        agent_id, call_id = event.agent_id, event.call_id
        seat = self._board.find(agent_id)
        if seat is not None and seat.state is SeatState.RINGING and seat.call_id == call_id:
            return False  # the same pair rings again now: this report is about that ring
        endpoint = self._lapsed.pop((agent_id, call_id), None)
        if endpoint is None:
            return False
        if answered:
            self._cmds.append(StopRinging(call_id, agent_id, endpoint))
        self._ignore(event, call_id, "late-answer" if answered else "late-no-answer", event.at)
        return True

    def _dial(self, entry: Entry, seat: Seat, at: float) -> None:
        # Guard of the "one dial in flight" rule: every dial goes through here, and the
        # table refuses a second DIAL while dialling.
        rules = self._rules(entry.queue)
        self._move(entry, EntryTrigger.DIAL)
        entry.attempts += 1
        entry.dial_lapsed = False
        self._lapsed_dials.pop(entry.id, None)
        self._cmds.append(
            DialCitizen(
                entry.id, entry.caller, seat.agent_id, seat.endpoint,
                rules.callback.ring_timeout_s, entry.attempts,
            )
        )
        # Should the dial's result never come, the agent must not stay trapped.
        self._arm(entry.id, DIAL_GUARD, rules.callback.ring_timeout_s + RING_GUARD_GRACE_S)
        self._facts.append(CallbackDialled(entry.id, entry.attempts, seat.agent_id, at))

    def _put_back(self, entry: Entry, at: float) -> None:
        """Back to the queue at the original place (same sequence), then try seats."""
        entry.agent_id = None
        self._move(entry, EntryTrigger.RETURN)
        if entry.max_wait_due:
            self._exit(entry, "max-wait", at)
            return
        if entry.overflow_due:
            entry.overflow_due = False
            self._overflow(entry, "after-s", at)
        if not self._calling_open(entry, at):
            self._back_in_line(entry, at)  # hours closed meanwhile: rest till they open
            return
        self._offer_entry(entry, at)  # a no-op when the overflow already placed it

    def _ready_seats_in_order(self) -> list[Seat]:
        ready = [s for s in self._board.seats() if s.state is SeatState.READY]
        ready.sort(key=lambda s: (s.ready_since, s.serial))
        return ready

    # ================================================================ calls
    def _enqueue(self, command: Enqueue, line: str, caller: str, at: float) -> None:
        rules = self.rules(command.queue)
        if command.call_id in self._entries or f"{command.call_id}.cb" in self._entries:
            raise AcdError(f"call {command.call_id} is already in the ACD")
        self._ended.pop(command.call_id, None)
        tags = tuple(dict.fromkeys(command.tags))
        if self._recent_callers.seen_then_note(caller, at) and REPEAT_CALLER_TAG not in tags:
            tags = (*tags, REPEAT_CALLER_TAG)
        self._called_again(caller, command.call_id, at)
        self._live_load.arrived(command.queue, at)
        self._seq += 1
        entry = Entry(
            command.call_id, EntryKind.CALL, line, caller, command.queue,
            tuple(command.skills), tags, command.priority,
            rules.effective_priority(command.priority, tags), self._seq, at,
        )
        self._entries[entry.id] = entry
        self._facts.append(CallQueued(entry.id, entry.queue, line, entry.priority, tags, at))
        self._cmds.append(HoldWithMusic(entry.id, entry.queue))
        self._waiting.add(entry, self._required(entry))
        self._arm_entry(entry, at)
        self._offer_entry(entry, at)
        if entry.state is EntryState.WAITING:
            self._after_queueing(entry, at)

    def _after_queueing(self, entry: Entry, at: float) -> None:
        """Checks for a caller who is (newly) waiting in its current queue."""
        rules = self._rules(entry.queue)
        if rules.max_length is not None and self._waiting.length(entry.queue) > rules.max_length:
            self._exit(entry, "max-length", at)
            return
        self._check_expected_wait(entry, at)

    def _check_expected_wait(self, entry: Entry, at: float) -> None:
        overflow = self._rules(entry.queue).overflow
        if overflow is None or overflow.expected_wait_over_s is None:
            return
        if overflow.to in entry.visited:
            return
        expected = self._expected_wait(entry)
        if expected is None or expected > overflow.expected_wait_over_s:
            self._overflow(entry, "expected-wait", at)

    def _overflow(self, entry: Entry, reason: str, at: float) -> None:
        rules = self._rules(entry.queue)
        if rules.overflow is None or rules.overflow.to in entry.visited:
            return  # never back into a queue the caller already left
        target = rules.overflow.to
        old = entry.queue
        self._waiting.remove(entry)
        entry.queue = target
        entry.queue_entered_at = at
        entry.visited.add(target)
        entry.priority = self._rules(target).effective_priority(entry.base_priority, entry.tags)
        self._waiting.add(entry, self._required(entry))
        self._facts.append(CallOverflowed(entry.id, old, target, at, reason))
        self._cmds.append(HoldWithMusic(entry.id, target))
        self._arm_entry(entry, at)
        self._offer_entry(entry, at)
        if entry.state is EntryState.WAITING:
            self._after_queueing(entry, at)

    def _exit(self, entry: Entry, reason: str, at: float) -> None:
        """Let a waiting caller out of the queue: to a message, or to a callback."""
        rules = self._rules(entry.queue)
        if entry.id in self._waiting:
            self._waiting.remove(entry)
        wants_callback = rules.exit is ExitAction.CALLBACK or reason == "caller-choice"
        if wants_callback and rules.callback.enabled and entry.caller:
            promise = self._promise(entry.queue, at, entry)
            if promise.possible:
                self._to_callback(entry, entry.caller, reason, at, promise)
                return
            # A promise the centre cannot keep is not made: a message instead.
            self._facts.append(CallbackDeclined(entry.id, entry.queue, promise.reason, at))
        self._forget(entry)
        self._facts.append(self._exited(entry, ExitAction.RECORD, at, reason))
        self._cmds.append(Announce(entry.id, None, None, (EXIT_RECORD_PROMPT,)))
        self._cmds.append(Record(entry.id, RECORD_MAX_S, True, "work-order"))

    def _to_callback(
        self, entry: Entry, number: str, reason: str, at: float, promise: CallbackPromise
    ) -> None:
        """The caller hangs up; a callback request takes over their place (same sequence)."""
        self._forget(entry)
        self._facts.append(self._exited(entry, ExitAction.CALLBACK, at, reason))
        confirm = QUEUE_CALLBACK_CONFIRMED if reason == "caller-choice" else EXIT_CALLBACK
        self._cmds.append(Announce(entry.id, None, None, self._confirmation(confirm, promise),
                                   callback_by=self._clock_text(promise)))
        self._cmds.append(Hangup(entry.id, CALLBACK_REGISTERED))
        self._new_request(self._request_in_place_of(entry, number, at), at, promise)

    def _exited(
        self, entry: Entry, action: ExitAction, at: float, reason: str
    ) -> CallExited | TransferExited:
        """The fact of a caller let out of the queue: the call's outcome, unless an agent
        already answered it once (a transferred citizen's outcome was that answer)."""
        waited = at - entry.offered_at
        if entry.transfers:
            return TransferExited(entry.id, entry.queue, waited, action.value, at, reason)
        return CallExited(entry.id, entry.first_queue, entry.line, waited, action.value, at,
                          reason)

    def _request_callback(self, command: RequestCallback, line: str, at: float) -> None:
        rules = self.rules(command.queue)
        if not rules.callback.enabled:
            raise AcdError(f"queue {command.queue} does not offer callbacks")
        if not command.number:
            raise AcdError(f"callback for {command.call_id} has no number")
        request_id = f"{command.call_id}.cb"
        if command.call_id in self._entries or request_id in self._entries:
            raise AcdError(f"call {command.call_id} is already in the ACD")
        promise = self._promise(command.queue, at, None)
        if not promise.possible:
            # The window is full: the caller leaves a message instead (a work order).
            self._facts.append(CallbackDeclined(command.call_id, command.queue,
                                                promise.reason, at))
            self._cmds.append(Announce(command.call_id, None, None, (CALLBACK_FULL_PROMPT,)))
            self._cmds.append(Record(command.call_id, RECORD_MAX_S, True, "work-order"))
            return
        self._seq += 1
        tags = tuple(dict.fromkeys(command.tags))
        request = Entry(
            request_id, EntryKind.CALLBACK, line, command.number, command.queue,
            tuple(command.skills), tags, command.priority,
            rules.effective_priority(command.priority, tags), self._seq, at,
        )
        request.origin_call = command.call_id
        if promise.callback_by is not None:
            prompts = self._confirmation(QUEUE_CALLBACK_CONFIRMED, promise)[1:]
            self._cmds.append(Announce(command.call_id, None, None, prompts,
                                       callback_by=self._clock_text(promise)))
        self._new_request(request, at, promise)

    def _new_request(self, request: Entry, at: float, promise: CallbackPromise) -> None:
        self._entries[request.id] = request
        self._owed_in_queue[request.queue] += 1
        self._owed_by_number.setdefault(request.caller, request.id)
        self._facts.append(
            CallbackRequested(request.id, request.origin_call, request.queue, request.line,
                              request.caller, at)
        )
        if promise.callback_by is not None:
            request.promised_by = promise.callback_by
            self._facts.append(
                CallbackPromised(request.id, request.queue, promise.callback_by, at)
            )
            self._arm(request.id, CALLBACK_DUE, promise.callback_by - at)
        self._waiting.add(request, self._required(request))
        self._arm_entry(request, at)
        if self._calling_open(request, at):
            self._offer_entry(request, at)
        else:
            self._move(request, EntryTrigger.REST)  # dialled when the calling hours open

    def _forget(self, entry: Entry) -> None:
        if entry.id in self._waiting:
            self._waiting.remove(entry)
        self._cancel_entry_timers(entry)
        del self._entries[entry.id]
        if entry.kind is EntryKind.CALLBACK:
            self._owed_in_queue[entry.queue] -= 1
            if self._owed_by_number.get(entry.caller) == entry.id:
                del self._owed_by_number[entry.caller]
        self._ended[entry.id] = None
        if len(self._ended) > _ENDED_KEPT:
            del self._ended[next(iter(self._ended))]

    def _abandon(self, entry: Entry, at: float) -> None:
        self._forget(entry)
        if entry.kind is not EntryKind.CALL:
            self._facts.append(CallbackGaveUp(entry.id, entry.attempts, "citizen-hung-up", at))
            return
        waited = at - entry.offered_at
        if entry.transfers:
            self._facts.append(TransferAbandoned(entry.id, entry.queue, waited, at))
        else:
            self._facts.append(
                CallAbandoned(entry.id, entry.first_queue, entry.line, waited, at))
        self._missed_call(entry, waited, at)

    def _connect(self, entry: Entry, seat: Seat, at: float) -> None:
        self._move(entry, EntryTrigger.CONNECT)
        entry.citizen_live = True
        entry.answered_at = at
        self._cancel_entry_timers(entry)
        self._cmds.append(Bridge(entry.id, seat.agent_id, seat.endpoint))
        if entry.kind is EntryKind.CALL and entry.transfers:
            self._facts.append(
                TransferAnswered(entry.id, entry.queue, seat.agent_id, at - entry.offered_at, at)
            )
        elif entry.kind is EntryKind.CALL:
            self._facts.append(
                CallAnswered(entry.id, entry.first_queue, entry.line, seat.agent_id,
                             at - entry.offered_at, at, entry.queue)
            )
        else:
            self._facts.append(
                CallbackCompleted(entry.id, seat.agent_id, entry.attempts,
                                  at - entry.requested_at, at)
            )

    def _end_talk(self, entry: Entry, at: float) -> None:
        self._forget(entry)
        self._conversation_over(entry, at)

    def _conversation_over(self, entry: Entry, at: float) -> None:
        """The agent's conversation with the citizen is over (the call ended, or was
        handed on): its handle time, `CallCompleted`, and the seat to wrap-up."""
        seat = self._board.get(entry.agent_id or "")
        rules = self._rules(entry.queue)
        talk_s = at - (entry.answered_at if entry.answered_at is not None else at)
        self._handle_times.add(entry.queue, talk_s + rules.wrap_up_s)
        self._facts.append(
            CallCompleted(entry.id, entry.first_queue, entry.line, seat.agent_id, talk_s, at)
        )
        seat.wrap_queue = entry.queue  # before the move: the chokepoint times this queue's limit
        self._board.transition(seat, SeatTrigger.CALL_END, "after-call", at)
        if seat.pending_logout:
            self._board.transition(seat, SeatTrigger.LOGOUT, "logout", at)
        elif self._board.wrap_up_over(seat, at):
            self._finish_wrap_up(seat, at)

    def _transfer(
        self, call_id: str, from_agent: str, queue: str | None, to_agent: str | None,
        at: float,
    ) -> None:
        """`transfer_call` once the request itself is sound (see there)."""
        refusal = self._transfer_refusal(call_id, from_agent, queue, to_agent)
        if refusal is not None:
            self._facts.append(
                TransferRefused(call_id, from_agent, refusal.value, at, queue or "",
                                to_agent or "")
            )
            return
        entry = self._entries[call_id]
        seat = self._board.get(from_agent)
        target = self._board.get(to_agent) if to_agent else None
        self._facts.append(CallTransferred(call_id, from_agent, at, queue or "", to_agent or ""))
        self._cmds.append(ReleaseAgent(call_id, seat.agent_id, seat.endpoint))
        self._conversation_over(entry, at)  # may offer the freed seat a caller: not this one
        entry.agent_id = None
        entry.answered_at = None
        if queue:
            entry.queue = queue
            entry.visited = {queue}  # a deliberate hand-off: earlier overflows do not bind
        # A new wait: expansion, overflow, maximum wait and announcements count from now.
        entry.offered_at = entry.queue_entered_at = at
        entry.overflow_due = entry.max_wait_due = False
        entry.callback_offered = False
        entry.priority = self._rules(entry.queue).effective_priority(
            entry.base_priority, entry.tags)
        entry.transfers += 1
        self._seq += 1
        entry.rank_as_transferred(self._seq)
        self._move(entry, EntryTrigger.TRANSFER)
        self._cmds.append(HoldWithMusic(entry.id, entry.queue))
        self._arm_entry(entry, at)
        if target is not None:
            self._reserve(entry, target, at)
            return
        self._offer_entry(entry, at)
        if entry.state is EntryState.WAITING:
            self._after_queueing(entry, at)

    def _transfer_refusal(
        self, call_id: str, from_agent: str, queue: str | None, to_agent: str | None
    ) -> TransferRefusal | None:
        """Why the live state does not allow this transfer now (None: it does)."""
        entry = self._entries.get(call_id)
        seat = self._board.find(from_agent)
        if (
            entry is None or entry.state is not EntryState.TALKING or seat is None
            or seat.state is not SeatState.ON_CALL or seat.call_id != call_id
        ):
            return TransferRefusal.NOT_ON_CALL
        if entry.kind is not EntryKind.CALL:
            return TransferRefusal.CALLBACK_CALL
        if queue:
            rules = self._rules(queue)
            if rules.max_length is not None and self._waiting.length(queue) >= rules.max_length:
                return TransferRefusal.QUEUE_FULL
            if self._staffed(queue) == 0:
                return TransferRefusal.NOBODY_STAFFED
            return None
        target = self._board.find(to_agent or "")
        if target is None:
            return TransferRefusal.AGENT_LOGGED_OUT
        if target.state is SeatState.PAUSED:
            return TransferRefusal.AGENT_PAUSED
        if target.state is not SeatState.READY:
            return TransferRefusal.AGENT_BUSY
        return None

    # --- call events ----------------------------------------------------------------
    def _on_seat_answered(self, event: SeatAnswered) -> None:
        if self._late_ring_report(event, answered=True):
            return
        seat, entry = self._ringing_pair(event.agent_id, event.call_id)
        self._cancel(entry.id, RING_GUARD)
        self._board.transition(seat, SeatTrigger.ANSWER, entry.id, event.at)
        seat.call_id = entry.id
        if entry.citizen_live:
            self._connect(entry, seat, event.at)
        else:
            self._dial(entry, seat, event.at)  # agent-first callback: the agent is on the line

    def _on_seat_no_answer(self, event: SeatNoAnswer) -> None:
        if self._late_ring_report(event, answered=False):
            return
        seat, entry = self._ringing_pair(event.agent_id, event.call_id)
        self._ring_unanswered(entry, seat, event.cause, event.at)

    def _ringing_pair(self, agent_id: str, call_id: str) -> tuple[Seat, Entry]:
        """The seat and the call it rings for, or the ACD's error when they do not match."""
        seat = self._board.get(agent_id)
        entry = self._entries.get(call_id)
        if (
            seat.state is not SeatState.RINGING
            or seat.call_id != call_id
            or entry is None
            or entry.state is not EntryState.RINGING
        ):
            raise AcdError(f"agent {agent_id} was not ringing for {call_id}")
        return seat, entry

    def _on_call_ended(self, event: CallEnded) -> None:
        entry = self._entries.get(event.call_id)
        if entry is None and event.call_id in self._ended:
            self._ignore(event, event.call_id, "after-end", event.at)
            return
        entry = self._entry(event.call_id)
        if entry.state is not EntryState.TALKING:
            raise AcdError(f"call {event.call_id} is not connected ({entry.state})")
        self._end_talk(entry, event.at)

    def _on_caller_hung_up(self, event: CallerHungUp) -> None:
        entry = self._entries.get(event.call_id)
        if entry is None and event.call_id in self._ended:
            self._ignore(event, event.call_id, "after-end", event.at)  # a second hang-up
            return
        entry = self._entry(event.call_id)
        if entry.state is EntryState.TALKING:
            self._end_talk(entry, event.at)
            return
        if not entry.citizen_live:
            # No citizen leg of ours is up (waiting, resting or mid-dial request): the
            # dial's own result settles it.
            self._ignore(event, entry.id, "no-citizen-leg", event.at)
            return
        if entry.state is EntryState.RINGING:
            # A caller, or the citizen of a callback on hold for the agent (citizen-first).
            seat = self._board.get(entry.agent_id or "")
            self._cmds.append(StopRinging(entry.id, seat.agent_id, seat.endpoint))
            self._note_lapsed(seat, entry.id)
            self._abandon(entry, event.at)
            self._release_seat(seat, "caller-hung-up", event.at)
            return
        self._abandon(entry, event.at)

    def _on_callback_chosen(self, event: CallbackChosen) -> None:
        entry = self._entries.get(event.call_id)
        if entry is None and event.call_id in self._ended:
            self._ignore(event, event.call_id, "after-end", event.at)
            return
        entry = self._entry(event.call_id)
        rules = self._rules(entry.queue)
        number = event.number or entry.caller
        if entry.kind is not EntryKind.CALL or entry.state is not EntryState.WAITING:
            raise AcdError(f"call {event.call_id} is not waiting")
        if not rules.callback.enabled:
            raise AcdError(f"queue {entry.queue} does not offer callbacks")
        if not number:
            raise AcdError(f"call {event.call_id}: no number to call back")
        self._choose_callback(entry, number, event.at)

    def _on_digits(self, event: DigitsReceived) -> None:
        """Keys a caller in the ACD's hands pressed (on hold, ringing or talking).

        Only `CALLBACK_KEY` while waiting in a queue that offers callbacks, after an
        announcement has told the caller about it, means anything: it is the caller
        choosing a callback (`CallbackChosen`; the place is kept, or a message when the
        promise can no longer be kept). Any other key, a key before the offer was heard,
        while ringing/talking or in a queue without callbacks is ignored: keys on hold
        are often pressed by mistake and must not end a wait. Keys after the caller left
        are stale and counted.
        """
        entry = self._entries.get(event.call_id)
        if entry is None and event.call_id in self._ended:
            self._ignore(event, event.call_id, "after-end", event.at)
            return
        entry = self._entry(event.call_id)
        if (
            event.digits == CALLBACK_KEY
            and entry.state is EntryState.WAITING
            and entry.callback_offered
            and entry.kind is EntryKind.CALL
            and bool(entry.caller)
            and self._rules(entry.queue).callback.enabled
        ):
            self._choose_callback(entry, entry.caller, event.at)

    def _on_callback_answered(self, event: CallbackAnswered) -> None:
        entry = self._entries.get(event.request_id)
        if entry is None or entry.state is not EntryState.DIALLING:
            if self._late_dial_report(event, answered=True):
                return
            raise AcdError(f"no dial in flight for {event.request_id}")
        self._cancel(entry.id, DIAL_GUARD)
        seat = self._board.get(entry.agent_id or "")
        if seat.state is SeatState.ON_CALL:
            self._connect(entry, seat, event.at)  # agent-first: the agent already waits
            return
        entry.citizen_live = True
        self._cmds.append(HoldWithMusic(entry.id, entry.queue))
        if seat.pending_logout or seat.pending_pause:
            # Citizen-first, and the reserved agent asked to leave meanwhile: the citizen
            # is on the line now and waits at the request's place for the next agent.
            entry.agent_id = None
            self._move(entry, EntryTrigger.RETURN)
            self._release_seat(seat, "callback-answered", event.at)
            self._offer_entry(entry, event.at)
            return
        # Citizen-first: the citizen is on the line now; ring the reserved seat.
        self._move(entry, EntryTrigger.RING)
        self._ring(entry, seat)

    def _on_callback_failed(self, event: CallbackFailed) -> None:
        entry = self._entries.get(event.request_id)
        if entry is None or entry.state is not EntryState.DIALLING:
            if self._late_dial_report(event, answered=False):
                return
            raise AcdError(f"no dial in flight for {event.request_id}")
        self._dial_failed(entry, event.cause, event.at)

    # ================================================================ seats
    def _on_login(self, event: AgentLoggedIn) -> None:
        seat_def = self._seat_defs.get(event.seat_id)
        if seat_def is None:
            raise AcdError(f"unknown seat {event.seat_id}")
        self._board.check_login(event.agent_id, event.seat_id)
        agent = self._agents.get(event.agent_id)
        guest_skills = self._guest_skills(event, agent is None)
        if agent is None and not guest_skills:
            raise AcdError(f"unknown agent {event.agent_id} (and no guest skills)")
        skills: dict[str, int] = dict(agent.skills) if agent is not None else {}
        for skill, level in guest_skills.items():
            skills[skill] = max(skills.get(skill, 0), level)
        self._board.login(
            event.agent_id, event.seat_id, seat_def.endpoint,
            agent.team if agent is not None else "", skills, agent is None, event.at,
        )

    def _guest_skills(self, event: AgentLoggedIn, unknown_agent: bool) -> dict[str, int]:
        """Skill → level a login brings as a guest (empty: none).

        Skills: those the login names, else (for someone with no agent record) today's
        entry in the active roster, else the guest directory's. Levels: the active
        roster's entry for the skill, else the directory's, else `GUEST_SKILL_LEVEL`.
        """
        roster = self._active_roster()
        today = (
            roster.guest_skills(event.agent_id, event.at, self._tz) if roster is not None else {}
        )
        known = self._guests.get(event.agent_id)
        directory = dict(known.skills) if known is not None else {}
        if event.guest_skills:
            names: Iterable[str] = event.guest_skills
        elif unknown_agent:
            names = today or directory
        else:
            return {}
        return {
            skill: today.get(skill, directory.get(skill, GUEST_SKILL_LEVEL)) for skill in names
        }

    def _release_ring(self, seat: Seat, trigger: SeatTrigger, reason: str, at: float) -> None:
        """The agent leaves (pause or logout) while a call rings: the call goes back."""
        entry = self._entries[seat.call_id or ""]
        self._cancel(entry.id, RING_GUARD)
        self._cmds.append(StopRinging(entry.id, seat.agent_id, seat.endpoint))
        self._note_lapsed(seat, entry.id)
        self._board.transition(seat, trigger, reason, at)
        self._facts.append(RingNoAnswer(entry.id, entry.queue, seat.agent_id, at, reason))
        self._put_back(entry, at)

    def _on_logout(self, event: AgentLoggedOut) -> None:
        seat = self._board.get(event.agent_id)
        if seat.state is SeatState.ON_CALL or self._dialling_for(seat) is not None:
            # Mid-call or mid-dial: leave once it ends (the dial guard bounds the wait).
            seat.pending_logout = True
            return
        if seat.state is SeatState.RINGING:
            self._release_ring(seat, SeatTrigger.LOGOUT, "logout", event.at)
        else:
            self._board.transition(seat, SeatTrigger.LOGOUT, "logout", event.at)

    def _on_ready(self, event: AgentReady) -> None:
        seat = self._board.get(event.agent_id)
        if seat.state is SeatState.READY:
            return  # already ready: a repeated button press changes nothing
        if seat.state not in (SeatState.PAUSED, SeatState.WRAP_UP):
            raise AcdError(f"agent {event.agent_id} cannot become ready while {seat.state}")
        self._make_ready(seat, "ready", event.at)

    def _make_ready(self, seat: Seat, reason: str, at: float) -> None:
        trigger = SeatTrigger.WRAP_DONE if seat.state is SeatState.WRAP_UP else SeatTrigger.READY
        self._board.transition(seat, trigger, reason, at)
        self._offer_seat(seat, at)

    def _on_paused(self, event: AgentPaused) -> None:
        seat = self._board.get(event.agent_id)
        if not event.reason:
            raise AcdError("a pause needs a reason code")
        if seat.state is SeatState.ON_CALL or self._dialling_for(seat) is not None:
            seat.pending_pause = event.reason  # applied when the call (or dial) ends
            return
        if seat.state is SeatState.RINGING:
            self._release_ring(seat, SeatTrigger.PAUSE, event.reason, event.at)
        else:
            self._board.transition(seat, SeatTrigger.PAUSE, event.reason, event.at)

    def _finish_wrap_up(self, seat: Seat, at: float) -> None:
        if seat.pending_logout:
            self._board.transition(seat, SeatTrigger.LOGOUT, "logout", at)
        elif seat.pending_pause:
            self._board.transition(seat, SeatTrigger.PAUSE, seat.pending_pause, at)
        else:
            self._make_ready(seat, "wrap-up-done", at)

    # ================================================================ timers

    # ================================================================ timers
    def _on_timer(self, event: TimerFired) -> None:
        fired = self._timers.fired(event.call_id, event.timer)
        if fired is None:
            # Cancelled or replaced before it fired: not an error, but counted.
            self._stale["late-timer"] += 1
            return
        owner, kind = fired
        at = event.at
        if isinstance(owner, CentreOwner):
            if kind is MODE_RETURN and self._return_to is not None:
                back, self._return_to = self._return_to, None
                self._switch(back, "timer", "automatic return", at, None)
            return
        if isinstance(owner, SeatOwner):
            seat = self._board.find(owner.agent_id)
            if seat is None:
                return
            if kind is WRAP_UP and seat.state is SeatState.WRAP_UP:
                self._finish_wrap_up(seat, at)
            elif kind is PAUSE_LIMIT and seat.state is SeatState.PAUSED:
                self._make_ready(seat, "pause-limit", at)
            return
        entry = self._entries.get(owner.entry_id)
        if entry is None:
            return
        self._on_entry_timer(entry, kind, at)

    def _on_entry_timer(self, entry: Entry, kind: TimerKind, at: float) -> None:
        waiting = entry.state is EntryState.WAITING
        rules = self._rules(entry.queue)
        if kind is EXPAND:
            nxt = rules.next_expansion_after(at - entry.offered_at)
            if nxt is not None:
                self._arm(entry.id, EXPAND, nxt - (at - entry.offered_at))
            self._offer_entry(entry, at)
        elif kind is ANNOUNCE:
            if rules.announce is not None:
                self._arm(entry.id, ANNOUNCE, rules.announce.every_s)
                if waiting:
                    self._announce(entry, rules, at)
        elif kind is WAIT_CHECK:
            self._arm(entry.id, WAIT_CHECK, WAIT_CHECK_EVERY_S)
            if waiting:
                self._check_expected_wait(entry, at)
        elif kind is OVERFLOW:
            if waiting:
                self._overflow(entry, "after-s", at)
            elif entry.state is EntryState.RINGING:
                entry.overflow_due = True
        elif kind is MAX_WAIT:
            if waiting:
                self._exit(entry, "max-wait", at)
            elif entry.state is EntryState.RINGING:
                entry.max_wait_due = True
        elif kind is RING_GUARD:
            self._ring_guard_fired(entry, at)
        elif kind is DIAL_GUARD:
            self._dial_guard_fired(entry, at)
        elif kind is RETRY:
            if entry.state is EntryState.RESTING:
                self._back_in_line(entry, at)
        elif kind is CALLING_HOURS:
            self._calling_hours_changed(entry, at)
        elif kind is CALLBACK_DUE and entry.promised_by is not None:
            self._facts.append(CallbackOverdue(entry.id, entry.queue, entry.promised_by, at))

    def _announce(self, entry: Entry, rules: QueueRules, at: float) -> None:
        announce = rules.announce
        assert announce is not None
        position = self._waiting.position(entry)
        expected = self._expected_wait(entry)
        promise = self._promise(entry.queue, at, entry) if self._offers_callback(entry) else None
        offer = promise is not None and promise.possible
        entry.callback_offered = entry.callback_offered or offer
        out = queue_announcement(
            entry.id,
            position if announce.position else None,
            expected if announce.expected_wait else None,
            say_wait=announce.expected_wait,
            callback_key=CALLBACK_KEY if offer else None,
        )
        if offer and promise is not None and promise.callback_by is not None:
            by = default_prompt(QUEUE_CALLBACK_BY, {"callback_by": self._clock_text(promise) or ""})
            out = Announce(out.call_id, out.position, out.expected_wait_s,
                           (*out.prompts, by), out.callback_key, self._clock_text(promise))
        self._cmds.append(out)
        self._check_expected_wait(entry, at)

    def _offers_callback(self, entry: Entry) -> bool:
        """Does this waiting caller's queue offer callbacks to them at all?"""
        return (
            entry.kind is EntryKind.CALL
            and bool(entry.caller)  # a withheld number cannot be called back
            and self._rules(entry.queue).callback.enabled
        )

    # ================================================================ centre mode

    # ================================================================ centre mode
    def _on_mode_switched(self, event: ModeSwitched) -> None:
        if event.mode not in self._rules_by_mode:
            raise AcdError(f"unknown mode {event.mode!r} (known: {', '.join(self._rules_by_mode)})")
        if event.until is not None and event.until <= event.at:
            raise AcdError("the automatic return time must be in the future")
        if event.mode == self._mode:
            # Already in that mode: only a new return time for a timed switch means anything.
            if event.until is not None and self._return_to is not None:
                self._arm(CENTRE, MODE_RETURN, event.until - event.at)
            return
        self._switch(event.mode, event.by, event.reason, event.at, event.until)

    def _switch(self, mode: str, by: str, reason: str, at: float, until: float | None) -> None:
        """Today's `ModeSwitched` path: audit and return timer here, the rest shared."""
        old = self._mode
        self._facts.append(ModeChanged(old, mode, by, reason, at, until))
        if until is not None:
            self._return_to = old
            self._arm(CENTRE, MODE_RETURN, until - at)
        else:
            self._return_to = None
            self._cancel(CENTRE, MODE_RETURN)
        self._apply_mode(mode, reason, at)

    def _note_lapsed(self, seat: Seat, entry_id: str) -> None:
        """Remember a ring that ended without an answer, for a late report about it."""
        self._lapsed[(seat.agent_id, entry_id)] = seat.endpoint
        if len(self._lapsed) > _LAPSED_RINGS_KEPT:
            del self._lapsed[next(iter(self._lapsed))]

    def _called_again(self, number: str, call_id: str, at: float) -> None:
        """The citizen of a missed-call callback called again before it was made: cancel it."""
        request_id = self._owed_by_number.get(number) if number else None
        if request_id is None:
            return
        request = self._entries[request_id]
        if request.missed_call and request.state in (EntryState.WAITING, EntryState.RESTING):
            self._forget(request)
            self._facts.append(CallbackCancelled(request.id, CALLED_AGAIN, at, call_id))

    def _confirmation(self, prompt_id: str, promise: CallbackPromise) -> tuple[Prompt, ...]:
        if promise.callback_by is None:
            return (default_prompt(prompt_id),)
        return (
            default_prompt(prompt_id),
            default_prompt(QUEUE_CALLBACK_BY, {"callback_by": self._clock_text(promise) or ""}),
        )

    def _clock_text(self, promise: CallbackPromise) -> str | None:
        """The promised time as the caller hears it (local HH:MM), None without a promise."""
        if promise.callback_by is None:
            return None
        return datetime.fromtimestamp(promise.callback_by, self._tz).strftime("%H:%M")

    def _request_in_place_of(self, entry: Entry, number: str, at: float) -> Entry:
        """A callback request that keeps the call's place (same sequence and rank)."""
        request = Entry(
            f"{entry.id}.cb", EntryKind.CALLBACK, entry.line, number, entry.queue,
            entry.skills, entry.tags, entry.base_priority, entry.priority, entry.seq,
            entry.offered_at,
        )
        request.first_queue = entry.first_queue
        request.band, request.order = entry.band, entry.order
        request.queue_entered_at = entry.queue_entered_at
        request.visited = set(entry.visited)
        request.requested_at = at
        request.origin_call = entry.id
        return request

    def _missed_call(self, entry: Entry, waited: float, at: float) -> None:
        """漏接电话回拨: a long wait given up is called back, keeping the caller's place."""
        rule = self._rules(entry.queue).callback
        if rule.missed_after_s is None or waited <= rule.missed_after_s or not entry.caller:
            return
        if entry.caller in self._owed_by_number:
            return  # never two callbacks at once for one number
        # Owed work is bounded like any callback: only while it can be made in the
        # queue's promise window (declined, and counted, otherwise).
        promise = self._promise(entry.queue, at, None)
        if not promise.possible:
            self._facts.append(CallbackDeclined(entry.id, entry.queue, promise.reason, at))
            return
        request = self._request_in_place_of(entry, entry.caller, at)
        request.missed_call = True
        self._new_request(request, at, promise)
        self._facts.append(
            MissedCallCallback(request.id, entry.id, entry.queue, entry.caller, waited, at)
        )

    def _release_seat(self, seat: Seat, reason: str, at: float) -> None:
        """A reservation ended without a conversation: honour a deferred logout or pause,
        else the seat is ready and takes the next caller in this same step."""
        if seat.pending_logout:
            self._board.transition(seat, SeatTrigger.LOGOUT, "logout", at)
        elif seat.pending_pause:
            self._board.transition(seat, SeatTrigger.PAUSE, seat.pending_pause, at)
        else:
            self._board.transition(seat, SeatTrigger.CANCEL, reason, at)
            self._offer_seat(seat, at)

    def _choose_callback(self, entry: Entry, number: str, at: float) -> None:
        """The caller asked for a callback while waiting: kept if it can be promised."""
        promise = self._promise(entry.queue, at, entry)
        self._waiting.remove(entry)
        if promise.possible:
            self._to_callback(entry, number, "caller-choice", at, promise)
            return
        self._facts.append(CallbackDeclined(entry.id, entry.queue, promise.reason, at))
        self._forget(entry)
        self._facts.append(self._exited(entry, ExitAction.RECORD, at, "caller-choice"))
        self._cmds.append(Announce(entry.id, None, None, (CALLBACK_FULL_PROMPT,)))
        self._cmds.append(Record(entry.id, RECORD_MAX_S, True, "work-order"))

    def _late_dial_report(self, event: CallbackAnswered | CallbackFailed, answered: bool) -> bool:
        """A dial result after the dial guard gave that dial up: settled once, True if so.

        A late answer means a citizen picked up a dial nobody waits for any more: the
        leg is hung up. Neither report changes any state; both are counted as stale.
        """
        if event.request_id not in self._lapsed_dials:
            return False
        del self._lapsed_dials[event.request_id]
        if answered:
            self._cmds.append(Hangup(event.request_id, DIAL_ABANDONED))
        self._ignore(event, event.request_id,
                     "late-dial-answer" if answered else "late-dial-failure", event.at)
        return True

    def _dial_failed(self, entry: Entry, cause: str, at: float) -> None:
        self._cancel(entry.id, DIAL_GUARD)
        seat = self._board.get(entry.agent_id or "")
        rules = self._rules(entry.queue)
        self._facts.append(CallbackAttemptFailed(entry.id, entry.attempts, cause, at))
        entry.agent_id = None
        if entry.attempts >= rules.callback.attempts:
            self._forget(entry)
            self._facts.append(CallbackGaveUp(entry.id, entry.attempts, cause, at))
        elif rules.callback.retry_spacing_s > 0:
            self._move(entry, EntryTrigger.REST)
            self._arm(entry.id, RETRY, rules.callback.retry_spacing_s)
        elif self._calling_open(entry, at):
            self._move(entry, EntryTrigger.RETURN)
        else:
            self._back_in_line(entry, at)
        self._release_seat(seat, "callback-failed", at)
        if entry.state is EntryState.WAITING and entry.id in self._entries:
            self._offer_entry(entry, at)

    def _dial_guard_fired(self, entry: Entry, at: float) -> None:
        """The dial's result never came: the attempt failed, the agent is free again."""
        if entry.state is not EntryState.DIALLING:
            return
        self._cmds.append(Hangup(entry.id, DIAL_ABANDONED))  # drop the leg if it ever comes up
        self._lapsed_dials[entry.id] = None
        if len(self._lapsed_dials) > _LAPSED_RINGS_KEPT:
            del self._lapsed_dials[next(iter(self._lapsed_dials))]
        self._dial_failed(entry, NO_REPORT, at)

    def _dialling_for(self, seat: Seat) -> Entry | None:
        """The callback request whose dial holds this seat (agent-first or citizen-first)."""
        entry = self._entries.get(seat.call_id or "")
        if entry is not None and entry.state is EntryState.DIALLING:
            return entry
        return None

    def _calling_hours_changed(self, entry: Entry, at: float) -> None:
        """Calling hours opened or closed: waiting requests rest, resting ones come back."""
        if self._calling_open(entry, at):
            # A request resting for its retry spacing comes back with its own timer.
            if entry.state is EntryState.RESTING and not self._timers.is_armed(
                EntryOwner(entry.id), RETRY
            ):
                self._back_in_line(entry, at)
                return
        elif entry.state is EntryState.WAITING:
            self._move(entry, EntryTrigger.REST)
        self._arm_hours(entry, at)

    def _apply_mode(self, mode: str, reason: str, at: float) -> None:
        self._mode = mode
        self._mode_since = at
        self._pause_limits = self._pause_limits_of(mode)
        # Re-rank every waiting place at once with the new mode's priorities.
        waiting = [e for e in self._entries.values() if e.id in self._waiting]
        self._waiting.clear()
        for entry in self._entries.values():
            entry.priority = self._rules(entry.queue).effective_priority(
                entry.base_priority, entry.tags
            )
        for entry in waiting:
            self._waiting.add(entry, self._required(entry))
        for entry in list(self._entries.values()):
            if entry.state in (EntryState.WAITING, EntryState.RINGING):
                self._arm_entry(entry, at)
            elif entry.state is EntryState.RESTING:
                self._arm_hours(entry, at)
        roster = self._active_roster()
        if roster is not None:
            # Only those not already at a seat need a call.
            reserve = tuple(a for a in roster.reserve(at, self._tz) if self._board.find(a) is None)
            if reserve:
                self._cmds.append(NotifyReserve(reserve, mode, reason))
        for seat in list(self._board.seats()):
            if self._board.retime(seat, at):
                self._finish_wrap_up(seat, at)
        for seat in self._ready_seats_in_order():
            self._offer_seat(seat, at)
