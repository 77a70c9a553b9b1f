"""The ACD's timers: named per owner and kind, with a generation so late fires are spotted.

The kernel cannot stop a timer that is already on its way back as `TimerFired`, so each
`StartTimer` carries a fresh name ``<kind>#<generation>``. Only the newest name of an
(owner, kind) pair is live; a fire for any other name is stale and is ignored. Owners
and kinds are typed (`hotline.vocabulary.timers`); only their string forms go out.
"""

from __future__ import annotations

from collections.abc import Callable

from hotline.vocabulary.commands import CancelTimer, StartTimer
from hotline.vocabulary.timers import TimerKind, TimerOwner, parse_owner


class TimerBook:
    def __init__(self, emit: Callable[[StartTimer | CancelTimer], None]) -> None:
        self._emit = emit
        self._generation = 0
        self._kind_of: dict[tuple[str, str], TimerKind] = {}  # (owner wire, name) → kind
        self._name_of: dict[tuple[TimerOwner, TimerKind], str] = {}

    def arm(self, owner: TimerOwner, kind: TimerKind, seconds: float) -> None:
        """(Re)start the owner's timer of this kind; a running one is cancelled first."""
        self.cancel(owner, kind)
        self._generation += 1
        name = f"{kind.value}#{self._generation}"
        self._kind_of[(owner.wire, name)] = kind
        self._name_of[(owner, kind)] = name
        self._emit(StartTimer(owner.wire, name, max(0.0, seconds)))

    def cancel(self, owner: TimerOwner, kind: TimerKind) -> None:
        name = self._name_of.pop((owner, kind), None)
        if name is not None:
            del self._kind_of[(owner.wire, name)]
            self._emit(CancelTimer(owner.wire, name))

    def is_armed(self, owner: TimerOwner, kind: TimerKind) -> bool:
        return (owner, kind) in self._name_of

    def fired(self, wire: str, name: str) -> tuple[TimerOwner, TimerKind] | None:
        """(owner, kind) of a live timer that just fired (now spent), or None when stale."""
        kind = self._kind_of.pop((wire, name), None)
        if kind is None:
            return None
        owner = parse_owner(wire)
        del self._name_of[(owner, kind)]
        return owner, kind

    def __len__(self) -> int:
        return len(self._kind_of)
