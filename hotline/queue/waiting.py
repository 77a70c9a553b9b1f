"""Waiting places: calls and callback requests in queues, and the index the router reads.

A place (`Entry`) is ranked by (effective priority desc, band, order asc). The order is
the sequence taken once, when the caller is first offered to a queue, and never changes:
a ring that nobody answers, an overflow or a switch to a callback puts the entry back
with the same order, i.e. at its original place.

Transferred calls: a citizen an agent hands on to a queue (or whose ring at a named
agent fails) has already waited and talked once and must not queue twice, so it waits
in the *transferred band*, at the head of its priority band: ahead of every caller of
the same effective priority who has not been transferred, behind any caller of a higher
one (an epidemic-tagged caller still comes first in emergency mode). Among transferred
calls the order is that of their transfers (first handed on, first served). The call
keeps its id, first queue and sequence, so its statistics still count from its arrival.

Two indexes over the waiting entries, both sorted containers (O(log n) add/remove):

* per queue, every waiting entry by rank: positions for announcements and snapshots;
* per *bucket* (queue, required skills, priority, band), entries by order. Inside a bucket
  all entries share rules and skills and the head has waited longest, so the head is
  the entry most widened by skill expansion: if any entry of the bucket may go to a
  seat, the head may. A seat that becomes ready therefore looks only at bucket heads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

from sortedcontainers import SortedList

from hotline.vocabulary.errors import AcdError


class EntryKind(StrEnum):
    CALL = "call"  # a citizen on the line
    CALLBACK = "callback"  # a request to call the citizen back, holding a place


class EntryState(StrEnum):
    WAITING = "waiting"
    RESTING = "resting"  # a callback between attempts (retry spacing); not offered
    RINGING = "ringing"  # a seat is reserved (and rung) for it
    DIALLING = "dialling"  # a callback dial to the citizen is in flight
    TALKING = "talking"


class EntryTrigger(StrEnum):
    RING = "ring"  # a seat is reserved and rung (a call, or a citizen who answered)
    DIAL = "dial"  # the citizen of a callback is dialled
    CONNECT = "connect"  # citizen and agent are bridged
    RETURN = "return"  # back to its original place in the queue
    REST = "rest"  # out of the line for a while (retry spacing, calling hours closed)
    TRANSFER = "transfer"  # the agent handed the citizen on: waiting again


NORMAL_BAND = 1
TRANSFERRED_BAND = 0  # ranks first within a priority: a transferred citizen never queues twice


E, G = EntryState, EntryTrigger
TRANSITIONS: Mapping[tuple[EntryState, EntryTrigger], EntryState] = {
    (E.WAITING, G.RING): E.RINGING,
    (E.DIALLING, G.RING): E.RINGING,  # citizen-first: the citizen answered, ring the seat
    (E.WAITING, G.DIAL): E.DIALLING,  # citizen-first: the seat is reserved, not rung
    (E.RINGING, G.DIAL): E.DIALLING,  # agent-first: the agent answered, dial the citizen
    (E.RINGING, G.CONNECT): E.TALKING,
    (E.DIALLING, G.CONNECT): E.TALKING,  # agent-first: the citizen answered
    (E.RINGING, G.RETURN): E.WAITING,
    (E.DIALLING, G.RETURN): E.WAITING,
    (E.RESTING, G.RETURN): E.WAITING,
    (E.DIALLING, G.REST): E.RESTING,
    (E.WAITING, G.REST): E.RESTING,
    (E.TALKING, G.TRANSFER): E.WAITING,
}
"""Every legal move of a place; leaving the ACD (outcome) is not a state but removal."""
del E, G


def move(entry: Entry, trigger: EntryTrigger) -> EntryState:
    """The only place an entry's state changes. Illegal pairs raise and change nothing."""
    new = TRANSITIONS.get((entry.state, trigger))
    if new is None:
        raise AcdError(f"{entry.id}: cannot {trigger} while {entry.state}")
    entry.state = new
    return new


def transition_table() -> str:
    """The entry state machine as a Markdown table, generated from `TRANSITIONS` (docs)."""
    rows = ["| from | trigger | to |", "|---|---|---|"]
    rows += [f"| {old} | {trigger} | {new} |" for (old, trigger), new in TRANSITIONS.items()]
    return "\n".join(rows)


BucketKey = tuple[str, tuple[str, ...], int, int]  # queue, required skills, priority, band


class Entry:
    """One place in a queue (live state owned by the ACD)."""

    __slots__ = (
        "agent_id",
        "answered_at",
        "attempts",
        "band",
        "base_priority",
        "callback_offered",
        "caller",
        "citizen_live",
        "dial_lapsed",
        "first_queue",
        "id",
        "kind",
        "line",
        "max_wait_due",
        "missed_call",
        "offered_at",
        "order",
        "origin_call",
        "overflow_due",
        "priority",
        "promised_by",
        "queue",
        "queue_entered_at",
        "requested_at",
        "seq",
        "skills",
        "state",
        "tags",
        "transfers",
        "visited",
    )

    def __init__(
        self,
        id: str,
        kind: EntryKind,
        line: str,
        caller: str,
        queue: str,
        skills: tuple[str, ...],
        tags: tuple[str, ...],
        base_priority: int,
        priority: int,
        seq: int,
        at: float,
    ) -> None:
        self.id = id
        self.kind = kind
        self.line = line
        self.caller = caller
        self.first_queue = queue
        self.queue = queue
        self.skills = skills
        self.tags = tags
        self.base_priority = base_priority
        self.priority = priority
        self.seq = seq
        self.offered_at = at
        self.queue_entered_at = at
        self.requested_at = at
        self.state = EntryState.WAITING
        self.agent_id: str | None = None
        self.answered_at: float | None = None
        self.visited = {queue}
        self.overflow_due = False
        self.max_wait_due = False
        # callbacks
        self.origin_call = id
        self.attempts = 0
        self.citizen_live = kind is EntryKind.CALL
        self.callback_offered = False  # an announcement told this caller the callback key
        self.missed_call = False  # a callback the ACD made for an abandoned caller
        self.promised_by: float | None = None  # the callback time the caller was promised
        self.dial_lapsed = False  # the dial guard gave up the last dial: late results settle
        # transfers by agents (see the module docstring)
        self.band = NORMAL_BAND
        self.order = seq
        self.transfers = 0

    @property
    def rank(self) -> tuple[int, int, int]:
        return (-self.priority, self.band, self.order)

    def rank_as_transferred(self, order: int) -> None:
        """Wait in the transferred band, at `order` (taken when the transfer is made)."""
        self.band = TRANSFERRED_BAND
        self.order = order


class WaitingIndex:
    """The waiting entries of every queue, indexed for positions and for routing."""

    def __init__(self) -> None:
        self._by_queue: dict[str, Any] = {}  # queue → SortedList[(−prio, band, order, id)]
        self._buckets: dict[BucketKey, Any] = {}  # bucket → SortedList[(order, id)]
        self._where: dict[str, tuple[BucketKey, tuple[int, int, int, str]]] = {}
        self._callbacks: dict[str, int] = {}  # queue → callback requests waiting there

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, entry_id: str) -> bool:
        return entry_id in self._where

    def add(self, entry: Entry, required: tuple[str, ...]) -> None:
        if entry.id in self._where:
            raise ValueError(f"{entry.id} is already waiting")
        # A bucket holds one band: inside it the head is still the longest waiting (the
        # most widened) entry, since a transferred call's wait restarts at its transfer.
        bucket: BucketKey = (entry.queue, required, entry.priority, entry.band)
        rank = (*entry.rank, entry.id)
        self._by_queue.setdefault(entry.queue, SortedList()).add(rank)
        self._buckets.setdefault(bucket, SortedList()).add((entry.order, entry.id))
        self._where[entry.id] = (bucket, rank)
        if entry.kind is EntryKind.CALLBACK:
            self._callbacks[entry.queue] = self._callbacks.get(entry.queue, 0) + 1

    def remove(self, entry: Entry) -> None:
        bucket, rank = self._where.pop(entry.id)
        if entry.kind is EntryKind.CALLBACK:
            self._callbacks[bucket[0]] -= 1
        self._by_queue[bucket[0]].remove(rank)
        lst = self._buckets[bucket]
        lst.remove((rank[2], entry.id))  # the order it was added with
        if not lst:
            del self._buckets[bucket]  # seats scan bucket heads: keep only live buckets

    def length(self, queue: str) -> int:
        return len(self._by_queue.get(queue, ()))

    def callbacks_waiting(self, queue: str) -> int:
        return self._callbacks.get(queue, 0)

    def position(self, entry: Entry) -> int:
        """1-based place in its queue (1 = next to be served)."""
        _, rank = self._where[entry.id]
        return int(self._by_queue[entry.queue].bisect_left(rank)) + 1

    def heads(self) -> Iterator[tuple[BucketKey, str]]:
        """(bucket, id of its longest-waiting entry) for every non-empty bucket."""
        for bucket, lst in self._buckets.items():
            yield bucket, lst[0][1]

    def in_queue(self, queue: str) -> Iterator[str]:
        """Ids in rank order."""
        for *_, entry_id in self._by_queue.get(queue, ()):
            yield entry_id

    def clear(self) -> None:
        self._by_queue.clear()
        self._buckets.clear()
        self._where.clear()
        self._callbacks.clear()
