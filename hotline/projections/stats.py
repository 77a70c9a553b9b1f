"""Live statistics, built only from the ACD's facts (`hotline.vocabulary.facts`).

Counting rules (they make the figures add up by construction):

* A call belongs to the queue and line of its **first offer** (`CallQueued`), as the
  facts define; overflows do not count it twice.
* A window counts the calls **offered** in it (cohort counting, like interval reports):
  ``offered == answered + abandoned + abandoned_short + exited + waiting`` holds for every
  queue, line and window, where ``waiting`` are the window's calls still in the queue.
* Short abandons (the caller hung up before ``short_abandon_s``, default 5 s) are counted
  apart and left out of the service level, as 12345 reporting does.
* Service level = answered within target / (offered - short abandons - still waiting):
  calls still waiting are not decided yet; exits (record, callback) count as misses.
* Handle time (talk + the wrap-up that follows) is counted in the window where the
  conversation ended; a conversation whose wrap-up is still running is not yet counted.
* Occupancy = time busy (ringing, on call, wrap-up) / time available (busy + ready),
  over all seats, in each window; paused and logged-out time is not available time.

The collector is pure: it never reads a clock; `snapshot(now)` takes the time.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

from hotline.vocabulary.facts import (
    AcdFact,
    CallAbandoned,
    CallAnswered,
    CallbackCancelled,
    CallbackCompleted,
    CallbackDeclined,
    CallbackGaveUp,
    CallbackOverdue,
    CallbackRequested,
    CallCompleted,
    CallExited,
    CallQueued,
    MissedCallCallback,
    ModeChanged,
    SeatStateChanged,
)
from hotline.vocabulary.states import SeatState

WINDOW_S = 15 * 60.0
DEFAULT_TIMEZONE = "Asia/Shanghai"
ANSWER_TARGET_S = 15.0  # 12345 standard: the 15-second answer rate (target 80%)
SHORT_ABANDON_S = 5.0
_COUNTED = frozenset({
    SeatStateChanged, CallQueued, CallAnswered, CallAbandoned, CallExited, CallCompleted,
    CallbackRequested, CallbackCompleted, CallbackGaveUp, CallbackCancelled,
    MissedCallCallback, CallbackDeclined, CallbackOverdue, ModeChanged,
})  # the record types that change a figure; everything else is passed over

BUSY_STATES = frozenset({SeatState.RINGING, SeatState.ON_CALL, SeatState.WRAP_UP})
AVAILABLE_STATES = BUSY_STATES | {SeatState.READY}


class StatsError(ValueError):
    """A fact the statistics cannot place (unknown call, time going backwards)."""


class Outcome(StrEnum):
    WAITING = "waiting"
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    ABANDONED_SHORT = "abandoned-short"
    EXITED = "exited"


@dataclass(slots=True)
class CallRecord:
    """One offered call as the statistics see it (mutable only through `LiveStats`)."""

    call_id: str
    queue: str
    line: str
    queued_at: float
    outcome: Outcome = Outcome.WAITING
    waited_s: float = 0.0
    ended_at: float | None = None


@dataclass(frozen=True, slots=True)
class HandledCall:
    """One finished conversation: talk time plus the wrap-up that followed it."""

    queue: str
    line: str
    agent_id: str
    ended_at: float  # end of the conversation
    talk_s: float
    wrap_s: float

    @property
    def handle_s(self) -> float:
        return self.talk_s + self.wrap_s


@dataclass(frozen=True, slots=True)
class SeatSegment:
    """A seat spent [start, end) in `state`."""

    agent_id: str
    state: SeatState
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures of one scope (queue, line or whole centre) over one window."""

    offered: int = 0
    answered: int = 0
    answered_within_target: int = 0
    abandoned: int = 0  # after the short-abandon threshold
    abandoned_short: int = 0
    exited: int = 0
    waiting: int = 0  # offered in the window and still waiting
    total_wait_answered_s: float = 0.0
    handled: int = 0  # conversations ended (with their wrap-up) in the window
    total_handle_s: float = 0.0
    total_talk_s: float = 0.0

    @property
    def service_level(self) -> float | None:
        decided = self.offered - self.abandoned_short - self.waiting
        return self.answered_within_target / decided if decided > 0 else None

    @property
    def answer_rate(self) -> float | None:
        decided = self.offered - self.waiting
        return self.answered / decided if decided > 0 else None

    @property
    def asa_s(self) -> float | None:
        return self.total_wait_answered_s / self.answered if self.answered else None

    @property
    def aht_s(self) -> float | None:
        return self.total_handle_s / self.handled if self.handled else None

    @property
    def att_s(self) -> float | None:
        """Average talk time."""
        return self.total_talk_s / self.handled if self.handled else None


@dataclass(frozen=True, slots=True)
class ScopeFigures:
    """A queue's, a line's or the centre's figures: both windows plus the live wait."""

    last_15min: Figures
    today: Figures
    waiting_now: int  # every call of this scope still waiting, however old
    longest_wait_s: float


@dataclass(frozen=True, slots=True)
class CallbackFigures:
    requested: int = 0
    completed: int = 0
    gave_up: int = 0
    pending: int = 0
    cancelled: int = 0  # no longer owed (the citizen called again first)
    declined: int = 0  # not offered: the promise window was full (a message instead)
    overdue: int = 0  # owed past the time promised
    # Missed-call callbacks (漏接电话回拨), also counted in the figures above.
    missed_requested: int = 0
    missed_completed: int = 0
    missed_cancelled: int = 0
    missed_gave_up: int = 0


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    at: float
    today_start: float
    centre: ScopeFigures
    queues: Mapping[str, ScopeFigures]
    lines: Mapping[str, ScopeFigures]
    agents_by_state: Mapping[SeatState, int]
    occupancy_15min: float | None
    occupancy_today: float | None
    callbacks_today: CallbackFigures


@dataclass(slots=True)
class _FigureCounter:
    """Mutable accumulator behind `Figures` (used only while computing a snapshot)."""

    offered: int = 0
    answered: int = 0
    within: int = 0
    abandoned: int = 0
    short: int = 0
    exited: int = 0
    waiting: int = 0
    wait_sum: float = 0.0
    handled: int = 0
    handle_sum: float = 0.0
    talk_sum: float = 0.0

    def add_call(self, call: CallRecord, target_s: float) -> None:
        self.offered += 1
        outcome = call.outcome
        if outcome is Outcome.ANSWERED:
            self.answered += 1
            self.wait_sum += call.waited_s
            if call.waited_s <= target_s:
                self.within += 1
        elif outcome is Outcome.ABANDONED:
            self.abandoned += 1
        elif outcome is Outcome.ABANDONED_SHORT:
            self.short += 1
        elif outcome is Outcome.EXITED:
            self.exited += 1
        else:
            self.waiting += 1

    def settle(self, call: CallRecord, target_s: float) -> None:
        """A call counted while waiting got its outcome: count it again, as it ended."""
        self.offered -= 1
        self.waiting -= 1
        self.add_call(call, target_s)

    def add_handled(self, handled: HandledCall) -> None:
        self.handled += 1
        self.handle_sum += handled.handle_s
        self.talk_sum += handled.talk_s

    def freeze(self) -> Figures:
        return Figures(
            offered=self.offered,
            answered=self.answered,
            answered_within_target=self.within,
            abandoned=self.abandoned,
            abandoned_short=self.short,
            exited=self.exited,
            waiting=self.waiting,
            total_wait_answered_s=self.wait_sum,
            handled=self.handled,
            total_handle_s=self.handle_sum,
            total_talk_s=self.talk_sum,
        )


def summarise(
    calls: Iterable[CallRecord],
    handled: Iterable[HandledCall] = (),
    target_s: float = ANSWER_TARGET_S,
) -> Figures:
    """Figures for any set of calls and conversations (e.g. the simulator's hours)."""
    counter = _FigureCounter()
    for call in calls:
        counter.add_call(call, target_s)
    for done in handled:
        counter.add_handled(done)
    return counter.freeze()


def occupancy(segments: Iterable[SeatSegment], start: float, end: float) -> float | None:
    """Busy time / available time of the segments' overlap with [start, end)."""
    busy = 0.0
    available = 0.0
    for seg in segments:
        overlap = min(seg.end, end) - max(seg.start, start)
        if overlap <= 0.0:
            continue
        if seg.state in BUSY_STATES:
            busy += overlap
            available += overlap
        elif seg.state is SeatState.READY:
            available += overlap
    return busy / available if available > 0.0 else None


@dataclass(slots=True)
class _PendingHandle:
    queue: str
    line: str
    call_end: float
    talk_s: float


@dataclass(slots=True)
class _SeatNow:
    state: SeatState
    since: float
    seat_id: str = ""


@dataclass(slots=True)
class LiveStats:
    """Consumes ACD facts in time order; `snapshot(now)` gives the live figures.

    Keeps only what today's and the last 15 minutes' figures need (plus calls still
    waiting), so memory stays bounded over weeks of running.
    """

    target_s: float = ANSWER_TARGET_S
    short_abandon_s: float = SHORT_ABANDON_S
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    _calls: list[CallRecord] = field(default_factory=list)  # by queued_at
    _queued_at: list[float] = field(default_factory=list)  # parallel, for bisect
    _open: dict[str, CallRecord] = field(default_factory=dict)  # waiting, by call id
    _handled: list[HandledCall] = field(default_factory=list)  # by ended_at
    _handled_at: list[float] = field(default_factory=list)
    _pending: dict[str, _PendingHandle] = field(default_factory=dict)  # by agent
    _seats: dict[str, _SeatNow] = field(default_factory=dict)
    _segments: list[SeatSegment] = field(default_factory=list)  # closed, by end
    _callbacks: dict[str, float] = field(default_factory=dict)  # pending request -> at
    _callback_log: list[tuple[float, str]] = field(default_factory=list)  # (at, kind)
    _missed: set[str] = field(default_factory=set)  # pending missed-call callback requests
    _modes: list[ModeChanged] = field(default_factory=list)
    # Today's figures kept up to date fact by fact (a busy day is too long to recount on
    # every wallboard refresh); rebuilt from the records when the local day changes.
    _today: dict[tuple[str, str], _FigureCounter] = field(default_factory=dict)
    _day_start: float = -math.inf
    _next_day: float = -math.inf
    _last_at: float = -math.inf
    _kept_from: float = -math.inf  # records before this were pruned

    # -- ingestion ---------------------------------------------------------------------

    def apply(self, fact: AcdFact) -> None:
        """Take one fact. Raises `StatsError` (and changes nothing) on a fact out of place.

        Records that change no figure (the accepted events of the log, overflows, ring
        attempts, the centre's stage moves) return at once: most records are of these.
        """
        if type(fact) not in _COUNTED:
            return
        if fact.at < self._last_at:
            raise StatsError(
                f"fact {type(fact).__name__} at {fact.at} is older than the last one "
                f"({self._last_at}); facts must arrive in time order"
            )
        if fact.at >= self._next_day:
            self._roll_day(fact.at)
        # Most frequent first: this runs for every fact of a busy centre.
        if isinstance(fact, SeatStateChanged):
            self._on_seat(fact)
        elif isinstance(fact, CallQueued):
            self._on_queued(fact)
        elif isinstance(fact, CallAnswered | CallAbandoned | CallExited):
            self._on_outcome(fact)
        elif isinstance(fact, CallCompleted):
            self._on_completed(fact)
        elif isinstance(fact, CallbackRequested):
            self._callbacks[fact.request_id] = fact.at
            self._callback_log.append((fact.at, "requested"))
        elif isinstance(fact, CallbackCompleted | CallbackGaveUp | CallbackCancelled):
            self._callbacks.pop(fact.request_id, None)
            kind = (
                "completed" if isinstance(fact, CallbackCompleted)
                else "gave-up" if isinstance(fact, CallbackGaveUp) else "cancelled"
            )
            self._callback_log.append((fact.at, kind))
            if fact.request_id in self._missed:
                self._missed.discard(fact.request_id)
                self._callback_log.append((fact.at, "missed-" + kind))
        elif isinstance(fact, MissedCallCallback):
            self._missed.add(fact.request_id)
            self._callback_log.append((fact.at, "missed-requested"))
        elif isinstance(fact, CallbackDeclined):
            self._callback_log.append((fact.at, "declined"))
        elif isinstance(fact, CallbackOverdue):
            self._callback_log.append((fact.at, "overdue"))
        elif isinstance(fact, ModeChanged):
            self._modes.append(fact)
        self._last_at = fact.at

    def apply_all(self, facts: Iterable[AcdFact]) -> None:
        for fact in facts:
            self.apply(fact)

    def _on_queued(self, fact: CallQueued) -> None:
        if fact.call_id in self._open:
            raise StatsError(f"call {fact.call_id!r} queued twice (it is still waiting)")
        record = CallRecord(fact.call_id, fact.queue, fact.line, fact.at)
        self._open[fact.call_id] = record
        self._calls.append(record)
        self._queued_at.append(fact.at)
        for counter in self._today_counters(record.queue, record.line):
            counter.add_call(record, self.target_s)

    def _on_outcome(self, fact: CallAnswered | CallAbandoned | CallExited) -> None:
        record = self._open.pop(fact.call_id, None)
        if record is None:
            raise StatsError(
                f"{type(fact).__name__} for call {fact.call_id!r}, which is not waiting"
            )
        record.waited_s = fact.waited_s
        record.ended_at = fact.at
        if isinstance(fact, CallAnswered):
            record.outcome = Outcome.ANSWERED
        elif isinstance(fact, CallExited):
            record.outcome = Outcome.EXITED
        elif fact.waited_s < self.short_abandon_s:
            record.outcome = Outcome.ABANDONED_SHORT
        else:
            record.outcome = Outcome.ABANDONED
        if record.queued_at >= self._day_start:  # else it belongs to yesterday's figures
            for counter in self._today_counters(record.queue, record.line):
                counter.settle(record, self.target_s)

    def _on_completed(self, fact: CallCompleted) -> None:
        pending = _PendingHandle(fact.queue, fact.line, fact.at, fact.talk_s)
        seat = self._seats.get(fact.agent_id)
        if seat is not None and seat.state in (SeatState.ON_CALL, SeatState.WRAP_UP):
            # The wrap-up is (or is about to be) running: finish when the seat leaves it.
            self._pending[fact.agent_id] = pending
        else:
            self._finish_handle(fact.agent_id, pending, 0.0)

    def _on_seat(self, fact: SeatStateChanged) -> None:
        now = self._seats.get(fact.agent_id)
        if now is not None:
            if now.since < fact.at:
                self._segments.append(SeatSegment(fact.agent_id, now.state, now.since, fact.at))
            old = now.state
        else:
            old = fact.old
        pending = self._pending.get(fact.agent_id)
        if pending is not None:
            if old is SeatState.WRAP_UP and fact.new is not SeatState.WRAP_UP:
                wrap_s = fact.at - now.since if now is not None else 0.0
                del self._pending[fact.agent_id]
                self._finish_handle(fact.agent_id, pending, wrap_s)
            elif old is SeatState.ON_CALL and fact.new is not SeatState.WRAP_UP:
                del self._pending[fact.agent_id]
                self._finish_handle(fact.agent_id, pending, 0.0)
        self._seats[fact.agent_id] = _SeatNow(fact.new, fact.at, fact.seat_id)

    def _finish_handle(self, agent_id: str, pending: _PendingHandle, wrap_s: float) -> None:
        done = HandledCall(
            pending.queue, pending.line, agent_id, pending.call_end, pending.talk_s, wrap_s
        )
        # Wrap-ups end out of order across agents: keep the list sorted by end time.
        index = bisect.bisect_right(self._handled_at, done.ended_at)
        self._handled.insert(index, done)
        self._handled_at.insert(index, done.ended_at)
        if done.ended_at >= self._day_start:
            for counter in self._today_counters(done.queue, done.line):
                counter.add_handled(done)

    def _today_counters(self, queue: str, line: str) -> tuple[_FigureCounter, ...]:
        today = self._today
        out = []
        for key in (("centre", ""), ("queue", queue), ("line", line)):
            counter = today.get(key)
            if counter is None:
                counter = today[key] = _FigureCounter()
            out.append(counter)
        return tuple(out)

    def _roll_day(self, at: float) -> None:
        """A new local day began: today's figures restart from the calls offered since."""
        start = self.today_start(at)
        midnight = datetime.fromtimestamp(start, self.timezone)
        following = datetime.combine(midnight.date() + timedelta(days=1), time(),
                                     tzinfo=self.timezone)
        self._day_start = start
        self._next_day = following.timestamp()
        self._today = {}
        first = bisect.bisect_left(self._queued_at, start)
        for call in self._calls[first:]:
            for counter in self._today_counters(call.queue, call.line):
                counter.add_call(call, self.target_s)
        first = bisect.bisect_left(self._handled_at, start)
        for done in self._handled[first:]:
            for counter in self._today_counters(done.queue, done.line):
                counter.add_handled(done)

    # -- queries -----------------------------------------------------------------------

    def today_start(self, now: float) -> float:
        local = datetime.fromtimestamp(now, self.timezone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight.timestamp()

    def snapshot(self, now: float) -> StatsSnapshot:
        """Figures as of `now` (which must not be before the last fact)."""
        if now < self._last_at:
            raise StatsError(f"snapshot at {now} is before the last fact ({self._last_at})")
        if now >= self._next_day:
            self._roll_day(now)
        day_start = self._day_start
        self._prune(min(day_start, now - WINDOW_S))
        # The last 15 minutes are few enough to count afresh; today is kept running.
        counters: dict[tuple[str, str, str], _FigureCounter] = {
            (scope, key, "today"): counter for (scope, key), counter in self._today.items()
        }

        def counter(scope: str, key: str, window: str) -> _FigureCounter:
            found = counters.get((scope, key, window))
            if found is None:
                found = counters[(scope, key, window)] = _FigureCounter()
            return found

        start = now - WINDOW_S
        first = bisect.bisect_left(self._queued_at, start)
        for call in self._calls[first:]:
            counter("centre", "", "15min").add_call(call, self.target_s)
            counter("queue", call.queue, "15min").add_call(call, self.target_s)
            counter("line", call.line, "15min").add_call(call, self.target_s)
        first = bisect.bisect_left(self._handled_at, start)
        for done in self._handled[first:]:
            counter("centre", "", "15min").add_handled(done)
            counter("queue", done.queue, "15min").add_handled(done)
            counter("line", done.line, "15min").add_handled(done)
        waiting: dict[tuple[str, str], list[float]] = {}
        for call in self._open.values():
            for key in (("centre", ""), ("queue", call.queue), ("line", call.line)):
                waiting.setdefault(key, []).append(now - call.queued_at)

        def scope(kind: str, key: str) -> ScopeFigures:
            waits = waiting.get((kind, key), [])
            return ScopeFigures(
                last_15min=counter(kind, key, "15min").freeze(),
                today=counter(kind, key, "today").freeze(),
                waiting_now=len(waits),
                longest_wait_s=max(waits, default=0.0),
            )

        queue_names = sorted({k for s, k, _ in counters if s == "queue"})
        line_names = sorted({k for s, k, _ in counters if s == "line"})
        by_state = dict.fromkeys(SeatState, 0)
        for seat in self._seats.values():
            by_state[seat.state] += 1
        segments = self._segments_until(now)
        return StatsSnapshot(
            at=now,
            today_start=day_start,
            centre=scope("centre", ""),
            queues={name: scope("queue", name) for name in queue_names},
            lines={name: scope("line", name) for name in line_names},
            agents_by_state=by_state,
            occupancy_15min=occupancy(segments, now - WINDOW_S, now),
            occupancy_today=occupancy(segments, day_start, now),
            callbacks_today=self.callbacks(since=day_start),
        )

    def callbacks(self, since: float = -math.inf) -> CallbackFigures:
        """Callback requests made, completed and given up since `since`; pending now."""
        kinds = [kind for at, kind in self._callback_log if at >= since]
        return CallbackFigures(
            requested=kinds.count("requested"),
            completed=kinds.count("completed"),
            gave_up=kinds.count("gave-up"),
            pending=len(self._callbacks),
            cancelled=kinds.count("cancelled"),
            declined=kinds.count("declined"),
            overdue=kinds.count("overdue"),
            missed_requested=kinds.count("missed-requested"),
            missed_completed=kinds.count("missed-completed"),
            missed_cancelled=kinds.count("missed-cancelled"),
            missed_gave_up=kinds.count("missed-gave-up"),
        )

    def _segments_until(self, now: float) -> list[SeatSegment]:
        """Closed segments plus each seat's current state, open until `now`."""
        current = [
            SeatSegment(agent, seat.state, seat.since, now)
            for agent, seat in self._seats.items()
            if seat.since < now
        ]
        return self._segments + current

    def _prune(self, keep_from: float) -> None:
        """Forget finished records older than every window (waiting calls stay)."""
        if keep_from <= self._kept_from:
            return
        self._kept_from = keep_from
        cut = bisect.bisect_left(self._queued_at, keep_from)
        if cut:
            kept_old = [c for c in self._calls[:cut] if c.outcome is Outcome.WAITING]
            self._calls = kept_old + self._calls[cut:]
            self._queued_at = [c.queued_at for c in kept_old] + self._queued_at[cut:]
        cut = bisect.bisect_left(self._handled_at, keep_from)
        if cut:
            del self._handled[:cut]
            del self._handled_at[:cut]
        self._segments = [s for s in self._segments if s.end > keep_from]
        self._callback_log = [(at, kind) for at, kind in self._callback_log if at >= keep_from]

    @property
    def open_calls(self) -> Mapping[str, CallRecord]:
        return self._open

    def calls(self) -> list[CallRecord]:
        """Every call still kept (all of them until a snapshot prunes), by offer time."""
        return list(self._calls)

    def handled(self) -> list[HandledCall]:
        """Finished conversations still kept, by end time."""
        return list(self._handled)

    def seat_segments(self, now: float) -> list[SeatSegment]:
        """Seat state segments still kept, each seat's current one closed at `now`."""
        return self._segments_until(now)

    @property
    def mode_changes(self) -> list[ModeChanged]:
        """Every mode switch seen (the audit trail: who, when, why, from what to what)."""
        return list(self._modes)
