"""Call detail records (CDR), one per call, built from the fact log alone.

    builder = CdrBuilder()
    for record in records:          # accepted events and facts, in log order
        builder.feed(record)
    rows = builder.rows()           # one `CallDetail` per call, in arrival order

Every column comes from a record: `CallStarted` (line, caller — "" stays "" for a
withheld number — flow, mode at arrival), `IvrNodeEntered` / `DigitsReceived` /
`SpeechInterpreted` (the IVR path: nodes, keys, recognised speech with intent and
confidence), `CallQueued` (first queue, topic tags), `CallOverflowed` (queues entered),
the seat's `SeatStateChanged` (each ring attempt: seat, agent, result; the wrap-up that
followed the call), `CallAnswered` / `CallCompleted` (answer, agent, wait, talk),
`RecordingFinished` (a message left), `ModeChanged` (mode at answer), the callback facts
(a callback that took the call's place: attempts and result), `CallTransferred` /
`TransferAnswered` (an agent handed the citizen on inside the centre: every transfer,
every agent who talked with the citizen) and `CallFinished` (the one outcome). The same
log gives the same rows under Asterisk, Twilio and the simulator.

A call transferred inside the centre stays one row: `agent`, `seat`, `wait_s` and
`queue_result` are those of its first answer (what the queue statistics count),
`agents` lists everyone who talked with the citizen in order, `transfers` each hand-on
(``1001>queue:tax``, ``1001>agent:1002``), `talk_s` and `wrap_s` add up every
conversation and its wrap-up, and `outcome` is how the call finally ended (``answered``
when the last agent's conversation ended normally); ``transferred`` is kept for calls
the flow sent out of the centre.

Outcomes: answered, abandoned-in-ivr, abandoned-in-queue, short-abandon (in the queue,
before `SHORT_ABANDON_S`, as the live statistics count it), message, callback,
transferred, self-service, refused.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import IO, Any

from hotline.projections.stats import SHORT_ABANDON_S
from hotline.vocabulary.events import AgentLoggedIn, DigitsReceived, RecordingFinished
from hotline.vocabulary.facts import (
    CallAbandoned,
    CallAnswered,
    CallbackAttemptFailed,
    CallbackCompleted,
    CallbackDialled,
    CallbackGaveUp,
    CallbackRequested,
    CallCompleted,
    CallExited,
    CallFinished,
    CallOverflowed,
    CallQueued,
    CallStarted,
    CallTransferred,
    IvrNodeEntered,
    ModeChanged,
    SeatStateChanged,
    SpeechInterpreted,
    TransferAnswered,
)
from hotline.vocabulary.states import CallOutcome, SeatState

SHORT_ABANDON = "short-abandon"


@dataclass(slots=True)
class RingAttempt:
    seat: str
    agent: str
    result: str  # answered, no-answer, caller-hung-up, agent-left, ...

    def __str__(self) -> str:
        return f"{self.seat}/{self.agent}:{self.result}"


@dataclass(slots=True)
class CallDetail:
    """One call's record. Times are epoch seconds (None: did not happen)."""

    call_id: str
    line: str
    caller: str
    arrived_at: float
    flow: str = ""
    mode_at_arrival: str = ""
    answered_at: float | None = None
    ended_at: float | None = None
    queue: str = ""  # the queue it was first offered to
    queues: list[str] = field(default_factory=list)  # every queue entered (overflow too)
    seat: str = ""
    agent: str = ""
    wait_s: float | None = None
    talk_s: float | None = None
    wrap_s: float | None = None
    outcome: str = ""
    queue_result: str = ""  # in its first queue: answered, abandoned, short-abandon, exit-*
    detail: str = ""  # transfer target, refusal or exit reason
    mode_at_answer: str = ""
    tags: list[str] = field(default_factory=list)
    ivr_path: list[str] = field(default_factory=list)
    rings: list[RingAttempt] = field(default_factory=list)
    message: str = ""  # the recording of a message left
    callback_request: str = ""
    callback_attempts: int = 0
    callback_result: str = ""  # completed, given-up, or pending
    agents: list[str] = field(default_factory=list)  # who talked with the citizen, in order
    transfers: list[str] = field(default_factory=list)  # "1001>queue:tax", "1001>agent:1002"

    def as_row(self) -> dict[str, str]:
        """The CSV row: times as ISO 8601 UTC, lists joined, durations to 0.1 s."""
        row: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_at"):
                row[f.name] = _iso(value)
            elif f.name.endswith("_s"):
                row[f.name] = "" if value is None else f"{value:.1f}"
            elif f.name == "ivr_path":
                row[f.name] = " > ".join(value)
            elif isinstance(value, list):
                row[f.name] = " ".join(str(v) for v in value)
            else:
                row[f.name] = str(value)
        return row


COLUMNS = tuple(f.name for f in fields(CallDetail))


class CdrBuilder:
    """Feeds on records in log order; keeps one `CallDetail` per call."""

    def __init__(self) -> None:
        self._calls: dict[str, CallDetail] = {}
        self._mode = ""
        self._seat_of: dict[str, str] = {}  # agent → seat
        self._ringing: dict[str, str] = {}  # agent → the call its seat rings for
        self._wrapping: dict[str, tuple[str, float]] = {}  # agent → (call, talk end)
        self._requests: dict[str, str] = {}  # callback request → the call it came from

    def rows(self) -> list[CallDetail]:
        return list(self._calls.values())

    def get(self, call_id: str) -> CallDetail | None:
        return self._calls.get(call_id)

    def feed_all(self, records: Iterable[Any]) -> CdrBuilder:
        for record in records:
            self.feed(record)
        return self

    def feed(self, record: Any) -> None:
        handler = _HANDLERS.get(type(record))
        if handler is not None:
            handler(self, record)

    # --- records ------------------------------------------------------------------------

    def _started(self, fact: CallStarted) -> None:
        self._mode = self._mode or fact.mode
        self._calls[fact.call_id] = CallDetail(
            fact.call_id, fact.line, fact.caller, fact.at, fact.flow, fact.mode,
        )

    def _node(self, fact: IvrNodeEntered) -> None:
        call = self._calls.get(fact.call_id)
        if call is not None:
            call.ivr_path.append(fact.node)

    def _digits(self, event: DigitsReceived) -> None:
        call = self._calls.get(event.call_id)
        if call is not None and call.answered_at is None:
            call.ivr_path.append(f"key:{event.digits}")

    def _speech(self, fact: SpeechInterpreted) -> None:
        call = self._calls.get(fact.call_id)
        if call is not None:
            intent = fact.intent if fact.intent is not None else "?"
            call.ivr_path.append(f"say:{fact.text}={intent}@{fact.confidence:.2f}")

    def _queued(self, fact: CallQueued) -> None:
        call = self._calls.get(fact.call_id)
        if call is not None:
            call.queue = fact.queue
            call.queues.append(fact.queue)
            call.tags = list(fact.tags)

    def _overflowed(self, fact: CallOverflowed) -> None:
        call = self._calls.get(fact.call_id)
        if call is not None:
            call.queues.append(fact.to_queue)

    def _answered(self, fact: CallAnswered) -> None:
        call = self._calls.get(fact.call_id)
        if call is not None:
            call.answered_at = fact.at
            call.agent = fact.agent_id
            call.seat = self._seat_of.get(fact.agent_id, "")
            call.wait_s = fact.waited_s
            call.mode_at_answer = self._mode
            call.queue_result = "answered"
            call.agents.append(fact.agent_id)

    def _transferred(self, fact: CallTransferred) -> None:
        call = self._calls.get(fact.call_id)
        if call is not None:
            target = f"queue:{fact.queue}" if fact.queue else f"agent:{fact.to_agent}"
            call.transfers.append(f"{fact.from_agent}>{target}")
            if fact.queue:
                call.queues.append(fact.queue)

    def _transfer_answered(self, fact: TransferAnswered) -> None:
        call = self._calls.get(fact.call_id)
        if call is not None:
            call.agents.append(fact.agent_id)

    def _abandoned(self, fact: CallAbandoned) -> None:
        call = self._calls.get(fact.call_id)
        if call is not None:
            call.wait_s = fact.waited_s
            call.queue_result = (
                SHORT_ABANDON if fact.waited_s < SHORT_ABANDON_S else "abandoned"
            )

    def _exited(self, fact: CallExited) -> None:
        call = self._calls.get(fact.call_id)
        if call is not None:
            call.wait_s = fact.waited_s
            call.queue_result = f"exit-{fact.action}"

    def _completed(self, fact: CallCompleted) -> None:
        call = self._calls.get(fact.call_id)
        if call is None:
            call = self._calls.get(self._requests.get(fact.call_id, ""))
        if call is not None:
            # Every conversation of the call adds up (a transfer makes several).
            call.talk_s = (call.talk_s or 0.0) + fact.talk_s
            self._wrapping[fact.agent_id] = (call.call_id, fact.at)

    def _recorded(self, event: RecordingFinished) -> None:
        call = self._calls.get(event.call_id)
        if call is not None:
            call.message = event.recording or "recorded"

    def _finished(self, fact: CallFinished) -> None:
        call = self._calls.get(fact.call_id)
        if call is None:
            return
        call.ended_at = fact.at
        call.detail = fact.detail
        outcome = fact.outcome.value
        if (
            fact.outcome is CallOutcome.ABANDONED_IN_QUEUE
            and call.answered_at is None  # not a citizen who hung up after a transfer
            and call.wait_s is not None
            and call.wait_s < SHORT_ABANDON_S
        ):
            outcome = SHORT_ABANDON
        call.outcome = outcome

    def _mode_changed(self, fact: ModeChanged) -> None:
        self._mode = fact.new

    def _login(self, event: AgentLoggedIn) -> None:
        self._seat_of[event.agent_id] = event.seat_id

    def _seat(self, fact: SeatStateChanged) -> None:
        agent = fact.agent_id
        if fact.seat_id:
            self._seat_of[agent] = fact.seat_id
        if fact.new is SeatState.RINGING:
            # A seat is reserved with the call (or callback request) id as the reason.
            self._ringing[agent] = fact.reason
            call = self._calls.get(fact.reason)
            if call is not None:
                call.rings.append(RingAttempt(self._seat_of.get(agent, ""), agent, "ringing"))
        elif fact.old is SeatState.RINGING:
            call = self._calls.get(self._ringing.pop(agent, ""))
            if call is not None and call.rings:
                call.rings[-1].result = _ring_result(fact)
        if fact.old is SeatState.WRAP_UP:
            wrapping = self._wrapping.pop(agent, None)
            if wrapping is not None:
                call = self._calls.get(wrapping[0])
                if call is not None:
                    call.wrap_s = (call.wrap_s or 0.0) + fact.at - wrapping[1]

    def _callback_requested(self, fact: CallbackRequested) -> None:
        self._requests[fact.request_id] = fact.call_id
        call = self._calls.get(fact.call_id)
        if call is not None:
            call.callback_request = fact.request_id
            call.callback_result = "pending"

    def _callback_dialled(self, fact: CallbackDialled) -> None:
        call = self._calls.get(self._requests.get(fact.request_id, ""))
        if call is not None:
            call.callback_attempts = fact.attempt

    def _callback_failed(self, fact: CallbackAttemptFailed) -> None:
        call = self._calls.get(self._requests.get(fact.request_id, ""))
        if call is not None:
            call.callback_result = f"pending ({fact.cause})"

    def _callback_completed(self, fact: CallbackCompleted) -> None:
        call = self._calls.get(self._requests.get(fact.request_id, ""))
        if call is not None:
            call.callback_result = "completed"
            call.callback_attempts = fact.attempts
            call.agent = call.agent or fact.agent_id
            call.agents.append(fact.agent_id)

    def _callback_gave_up(self, fact: CallbackGaveUp) -> None:
        call = self._calls.get(self._requests.get(fact.request_id, ""))
        if call is not None:
            call.callback_result = f"given-up ({fact.reason})"


def _ring_result(fact: SeatStateChanged) -> str:
    if fact.new is SeatState.ON_CALL:
        return "answered"
    if fact.new is SeatState.LOGGED_OUT:
        return "agent-left"
    return fact.reason or fact.new.value


_HANDLERS: dict[type[Any], Any] = {
    CallStarted: CdrBuilder._started,
    IvrNodeEntered: CdrBuilder._node,
    DigitsReceived: CdrBuilder._digits,
    SpeechInterpreted: CdrBuilder._speech,
    CallQueued: CdrBuilder._queued,
    CallOverflowed: CdrBuilder._overflowed,
    CallAnswered: CdrBuilder._answered,
    CallTransferred: CdrBuilder._transferred,
    TransferAnswered: CdrBuilder._transfer_answered,
    CallAbandoned: CdrBuilder._abandoned,
    CallExited: CdrBuilder._exited,
    CallCompleted: CdrBuilder._completed,
    RecordingFinished: CdrBuilder._recorded,
    CallFinished: CdrBuilder._finished,
    ModeChanged: CdrBuilder._mode_changed,
    AgentLoggedIn: CdrBuilder._login,
    SeatStateChanged: CdrBuilder._seat,
    CallbackRequested: CdrBuilder._callback_requested,
    CallbackDialled: CdrBuilder._callback_dialled,
    CallbackAttemptFailed: CdrBuilder._callback_failed,
    CallbackCompleted: CdrBuilder._callback_completed,
    CallbackGaveUp: CdrBuilder._callback_gave_up,
}


def cdr_rows(records: Iterable[Any]) -> list[CallDetail]:
    """One `CallDetail` per call in the records, in arrival order."""
    return CdrBuilder().feed_all(records).rows()


def write_csv(rows: Iterable[CallDetail], out: IO[str]) -> int:
    """Write the rows as CSV (header first); returns how many were written."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row.as_row())
        count += 1
    return count


def _iso(at: float | None) -> str:
    if at is None:
        return ""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")


def queue_totals(rows: Iterable[CallDetail]) -> dict[str, dict[str, int]]:
    """Per first queue: offered, and how many ended each way in the queue (the same
    counts, by the same definitions, as the live statistics' figures of the day)."""
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        if not row.queue:
            continue
        counts = totals.setdefault(row.queue, {"offered": 0})
        counts["offered"] += 1
        key = row.queue_result or "waiting"
        counts[key] = counts.get(key, 0) + 1
    return totals
