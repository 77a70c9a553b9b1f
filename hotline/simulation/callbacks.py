"""The simulator's ledger of callback requests, built from the ACD's own facts.

Every request the ACD registers (`CallbackRequested`) gets one `CallbackRecord` that
follows it through its dials to its end: connected to an agent (`CallbackCompleted`) or
given up (`CallbackGaveUp`: attempts used up, or the citizen hung up). A request with
neither is *unsettled*; the simulator keeps running after the last arrival until none
is left (or its drain bound), and the report shows what is still unsettled then.

Where a request came from is read from the fact that precedes it in the same step: a
`CallExited` with action ``callback`` for the same call (the caller pressed the offered
key: reason ``caller-choice``; or the queue let them out: ``max-wait`` / ``max-length``);
no such fact means the callback was chosen in the IVR.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from hotline.vocabulary.facts import (
    AcdFact,
    CallbackAttemptFailed,
    CallbackCancelled,
    CallbackCompleted,
    CallbackDialled,
    CallbackGaveUp,
    CallbackRequested,
    CallExited,
    MissedCallCallback,
)

_CALLBACK_EXIT = "callback"
_CALLER_CHOICE = "caller-choice"


class CallbackOrigin(StrEnum):
    IVR = "ivr"  # chosen in a flow's callback offer, before queueing
    OFFER = "offer"  # the waiting caller pressed the key an announcement offered
    QUEUE_EXIT = "queue-exit"  # the queue's maximum wait or length turned the call into one
    MISSED_CALL = "missed-call"  # the caller hung up after a long wait: called back (漏接回拨)


class CallbackOutcome(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"  # the citizen was connected to an agent
    GAVE_UP = "gave-up"  # attempts used up, or the citizen hung up before the agent came
    CANCELLED = "cancelled"  # not needed any more (the citizen called again first)


@dataclass(slots=True)
class CallbackRecord:
    request_id: str
    queue: str
    origin: CallbackOrigin
    requested_at: float
    dials: list[float] = field(default_factory=list)  # when each attempt was dialled
    failures: list[float] = field(default_factory=list)  # when each attempt failed
    outcome: CallbackOutcome = CallbackOutcome.PENDING
    settled_at: float | None = None
    reason: str = ""  # why it was given up

    @property
    def time_to_callback_s(self) -> float | None:
        """From the request to the connection with an agent (completed requests only)."""
        if self.outcome is not CallbackOutcome.COMPLETED or self.settled_at is None:
            return None
        return self.settled_at - self.requested_at


class CallbackLedgerError(Exception):
    """A callback fact that contradicts the ledger (the ACD broke its own contract)."""


class CallbackLedger:
    """Request id -> `CallbackRecord`, fed with ACD facts in the order they were made."""

    def __init__(self) -> None:
        self.records: dict[str, CallbackRecord] = {}
        self._pending = 0
        self._exit_reasons: dict[str, str] = {}  # call id -> reason, until its request comes

    @property
    def pending(self) -> int:
        """Requests neither completed nor given up."""
        return self._pending

    def apply_all(self, facts: Iterable[AcdFact]) -> None:
        for fact in facts:
            self.apply(fact)

    def apply(self, fact: AcdFact) -> None:
        kind = type(fact)
        if kind is CallExited:
            assert isinstance(fact, CallExited)
            if fact.action == _CALLBACK_EXIT:
                self._exit_reasons[fact.call_id] = fact.reason
        elif kind is CallbackRequested:
            assert isinstance(fact, CallbackRequested)
            self._requested(fact)
        elif kind is CallbackDialled:
            assert isinstance(fact, CallbackDialled)
            self._open(fact.request_id).dials.append(fact.at)
        elif kind is CallbackAttemptFailed:
            assert isinstance(fact, CallbackAttemptFailed)
            self._open(fact.request_id).failures.append(fact.at)
        elif kind is CallbackCompleted:
            assert isinstance(fact, CallbackCompleted)
            self._settle(fact.request_id, CallbackOutcome.COMPLETED, fact.at, "")
        elif kind is CallbackGaveUp:
            assert isinstance(fact, CallbackGaveUp)
            self._settle(fact.request_id, CallbackOutcome.GAVE_UP, fact.at, fact.reason)
        elif kind is CallbackCancelled:
            assert isinstance(fact, CallbackCancelled)
            self._settle(fact.request_id, CallbackOutcome.CANCELLED, fact.at, fact.reason)
        elif kind is MissedCallCallback:
            assert isinstance(fact, MissedCallCallback)  # follows its CallbackRequested
            self._open(fact.request_id).origin = CallbackOrigin.MISSED_CALL

    def _requested(self, fact: CallbackRequested) -> None:
        if fact.request_id in self.records:
            raise CallbackLedgerError(f"callback {fact.request_id} requested twice")
        reason = self._exit_reasons.pop(fact.call_id, None)
        if reason is None:
            origin = CallbackOrigin.IVR
        elif reason == _CALLER_CHOICE:
            origin = CallbackOrigin.OFFER
        else:
            origin = CallbackOrigin.QUEUE_EXIT
        self.records[fact.request_id] = CallbackRecord(
            fact.request_id, fact.queue, origin, fact.at
        )
        self._pending += 1

    def _open(self, request_id: str) -> CallbackRecord:
        record = self.records.get(request_id)
        if record is None:
            raise CallbackLedgerError(f"callback {request_id} was never requested")
        if record.outcome is not CallbackOutcome.PENDING:
            raise CallbackLedgerError(f"callback {request_id} is already {record.outcome}")
        return record

    def _settle(self, request_id: str, outcome: CallbackOutcome, at: float, reason: str
                ) -> None:
        record = self._open(request_id)
        record.outcome = outcome
        record.settled_at = at
        record.reason = reason
        self._pending -= 1
