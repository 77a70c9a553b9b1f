"""A read-only picture of the centre for the wallboard and the API.

    view = centre_view(kernel, at=clock.now(), queues=("general", "emergency"))

Built from the kernel's public read methods only (mode, queue views, seats, live call
counts) into frozen dataclasses, so a reader can keep it, serialise it or send it to a
web page while the kernel moves on. Queues the current mode does not have are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hotline.agents.seats import SeatView
from hotline.centre.kernel import CentreKernel
from hotline.queue.acd import QueueView
from hotline.vocabulary.errors import AcdError


@dataclass(frozen=True, slots=True)
class CentreView:
    at: float
    mode: str
    mode_since: float
    queues: tuple[QueueView, ...]  # the ACD's own views: one definition of each
    seats: tuple[SeatView, ...]
    live_calls: tuple[tuple[str, int], ...]  # (where: "ivr", "acd", ..., count)

    def queue(self, name: str) -> QueueView | None:
        return next((q for q in self.queues if q.name == name), None)

    def seat(self, agent_id: str) -> SeatView | None:
        return next((s for s in self.seats if s.agent_id == agent_id), None)


def centre_view(kernel: CentreKernel, at: float, queues: Iterable[str]) -> CentreView:
    """The centre as it is at `at` (waited times are measured to `at`)."""
    acd = kernel.acd
    pictures: list[QueueView] = []
    for name in queues:
        try:
            pictures.append(acd.queue_view(name, at))
        except AcdError:
            continue  # not a queue of the current mode
    seats = acd.seats()
    live = tuple((where.value, count) for where, count in kernel.live_calls().items())
    return CentreView(at, kernel.mode, kernel.mode_since, tuple(pictures), seats, live)
