"""Rebuild a kernel's live state from its fact log (a restart, a hot standby).

The kernel is deterministic: the same accepted events in the same order give the same
state, the same commands and the same facts. The log keeps every accepted event exactly
as the kernel took it (an out-of-order time already corrected), so replaying the log's
events into a fresh kernel built from the same configuration rebuilds the live state
exactly: waiting callers in the same order with their original arrival times and
priorities, seats in their states with their timers, callbacks owed, the mode and its
return time, each call's stage and IVR session.

The replayed commands are not sent again (the PBX already did them); only the timers
still running matter, and `replay` returns them with their absolute due times so the
runtime can arm them again (one already overdue fires at once).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, get_args

from hotline.centre.kernel import CentreKernel
from hotline.vocabulary.commands import CancelTimer, StartTimer
from hotline.vocabulary.errors import KernelError
from hotline.vocabulary.events import Event, TimerFired

_EVENT_TYPES = frozenset(get_args(Event))


@dataclass(frozen=True, slots=True)
class PendingTimer:
    """A timer the rebuilt kernel expects to fire: owner, name, absolute due time."""

    owner: str
    name: str
    due: float


@dataclass(frozen=True, slots=True)
class Replayed:
    events: int  # events replayed
    last_at: float | None  # the time of the last one (None: an empty log)
    timers: tuple[PendingTimer, ...]  # in due order


def replay(kernel: CentreKernel, records: Iterable[Any]) -> Replayed:
    """Feed the log's events into `kernel` (fresh, same configuration); drop the rest.

    Facts in the log are derived from the events, so they are skipped: the kernel
    derives them again (and drops them here: they are on record already).
    """
    live: dict[tuple[str, str], float] = {}
    count = 0
    last_at: float | None = None
    for record in records:
        if type(record) not in _EVENT_TYPES:
            continue
        if isinstance(record, TimerFired):
            live.pop((record.call_id, record.timer), None)
        try:
            commands = kernel.handle(record)
        except Exception as exc:
            # A logged event was accepted once: refusing it now means the configuration
            # changed under the log, and the rebuilt state would be wrong.
            raise KernelError(
                f"the log does not replay: event {count + 1} ({type(record).__name__}) "
                f"is refused: {exc}"
            ) from exc
        count += 1
        last_at = record.at
        for command in commands:
            if isinstance(command, StartTimer):
                live[(command.call_id, command.timer)] = record.at + command.seconds
            elif isinstance(command, CancelTimer):
                live.pop((command.call_id, command.timer), None)
        kernel.take_facts()  # already on record
    # A stable sort of the timers in the order they were armed: equal due times fire in
    # that order, as they would have in the original runtime.
    timers = sorted(
        (PendingTimer(owner, name, due) for (owner, name), due in live.items()),
        key=lambda t: t.due,
    )
    return Replayed(count, last_at, tuple(timers))
