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
        # owner wire → kind → live name; keyed by the wire string, so the hot path (every
        # entry cancels its timers when it is served) never builds owner objects.
        self._names: dict[str, dict[TimerKind, str]] = {}

    def arm(self, owner: TimerOwner, kind: TimerKind, seconds: float) -> None:
        """(Re)start the owner's timer of this kind; a running one is cancelled first."""
        wire = owner.wire
        names = self._names.get(wire)
        if names is None:
            names = self._names[wire] = {}
        else:
            old = names.get(kind)
            if old is not None:
                del self._kind_of[(wire, old)]
                self._emit(CancelTimer(wire, old))
        self._generation += 1
        name = f"{kind.value}#{self._generation}"
        self._kind_of[(wire, name)] = kind
        names[kind] = name
        self._emit(StartTimer(wire, name, max(0.0, seconds)))

    def cancel(self, owner: TimerOwner, kind: TimerKind) -> None:
        wire = owner.wire
        names = self._names.get(wire)
        if names is None:
            return
        name = names.pop(kind, None)
        if name is not None:
            del self._kind_of[(wire, name)]
            self._emit(CancelTimer(wire, name))
        if not names:
            del self._names[wire]

    def cancel_all(self, owner: TimerOwner) -> None:
        """Cancel every timer the owner has running (a place that left its queue)."""
        wire = owner.wire
        names = self._names.pop(wire, None)
        if names is None:
            return
        for name in names.values():
            del self._kind_of[(wire, name)]
            self._emit(CancelTimer(wire, name))

    def is_armed(self, owner: TimerOwner, kind: TimerKind) -> bool:
        return kind in self._names.get(owner.wire, ())

    def fired(self, wire: str, name: str) -> tuple[TimerOwner, TimerKind] | None:
        """(owner, kind) of a live timer that just fired (now spent), or None when stale."""
        kind = self._kind_of.pop((wire, name), None)
        if kind is None:
            return None
        names = self._names[wire]
        del names[kind]
        if not names:
            del self._names[wire]
        return parse_owner(wire), kind

    def __len__(self) -> int:
        return len(self._kind_of)
