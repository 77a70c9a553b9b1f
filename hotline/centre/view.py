"""A read-only picture of the centre for the wallboard and the API.

    view = centre_view(kernel, at=clock.now(), queues=("general", "emergency"))

Built from the kernel's public read methods only (mode, queue views, seats, live call
counts) into frozen dataclasses, so a reader can keep it, serialise it or send it to a
web page while the kernel moves on. Queues the current mode does not have are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hotline.centre.kernel import CentreKernel
from hotline.vocabulary.errors import AcdError
from hotline.vocabulary.states import SeatState


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """One entry of a queue: a waiting call (or a callback request) and its place."""

    id: str
    kind: str  # "call" or "callback"
    state: str
    position: int | None  # None unless waiting (ringing a seat, between dial attempts)
    waited_s: float
    priority: int
    tags: tuple[str, ...]
    agent_id: str | None


@dataclass(frozen=True, slots=True)
class QueuePicture:
    name: str
    waiting: tuple[WaitingCall, ...]  # waiting ones first, by position
    longest_wait_s: float
    staffed: int  # logged-in, not paused, qualified seats

    @property
    def waiting_count(self) -> int:
        return sum(1 for w in self.waiting if w.position is not None)


@dataclass(frozen=True, slots=True)
class SeatPicture:
    agent_id: str
    seat_id: str
    state: SeatState
    since: float
    reason: str
    call_id: str | None
    guest: bool


@dataclass(frozen=True, slots=True)
class CentreView:
    at: float
    mode: str
    mode_since: float
    queues: tuple[QueuePicture, ...]
    seats: tuple[SeatPicture, ...]
    live_calls: tuple[tuple[str, int], ...]  # (where: "ivr", "acd", ..., count)

    def queue(self, name: str) -> QueuePicture | None:
        return next((q for q in self.queues if q.name == name), None)

    def seat(self, agent_id: str) -> SeatPicture | None:
        return next((s for s in self.seats if s.agent_id == agent_id), None)


def centre_view(kernel: CentreKernel, at: float, queues: Iterable[str]) -> CentreView:
    """The centre as it is at `at` (waited times are measured to `at`)."""
    acd = kernel.acd
    pictures: list[QueuePicture] = []
    for name in queues:
        try:
            queue = acd.queue_view(name, at)
        except AcdError:
            continue  # not a queue of the current mode
        pictures.append(
            QueuePicture(
                queue.name,
                tuple(
                    WaitingCall(
                        w.id, str(w.kind.value), str(w.state.value), w.position, w.waited_s,
                        w.priority, w.tags, w.agent_id,
                    )
                    for w in queue.waiting
                ),
                queue.longest_wait_s,
                queue.staffed,
            )
        )
    seats = tuple(
        SeatPicture(s.agent_id, s.seat_id, s.state, s.since, s.reason, s.call_id, s.guest)
        for s in acd.seats()
    )
    live = tuple((where.value, count) for where, count in kernel.live_calls().items())
    return CentreView(at, kernel.mode, kernel.mode_since, tuple(pictures), seats, live)
