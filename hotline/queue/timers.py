"""The ACD's timers: named per owner and kind, with a generation so late fires are spotted.

The kernel cannot stop a timer that is already on its way back as `TimerFired`, so each
`StartTimer` carries a fresh name ``<kind>#<generation>``. Only the newest name of an
(owner, kind) pair is live; a fire for any other name is stale and is ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from hotline.vocabulary.commands import CancelTimer, StartTimer


class TimerBook:
    def __init__(self, emit: Callable[[StartTimer | CancelTimer], None]) -> None:
        self._emit = emit
        self._generation = 0
        self._kind_of: dict[tuple[str, str], str] = {}  # (owner, name) → kind
        self._name_of: dict[tuple[str, str], str] = {}  # (owner, kind) → name

    def arm(self, owner: str, kind: str, seconds: float) -> None:
        """(Re)start the owner's timer of this kind; a running one is cancelled first."""
        self.cancel(owner, kind)
        self._generation += 1
        name = f"{kind}#{self._generation}"
        self._kind_of[(owner, name)] = kind
        self._name_of[(owner, kind)] = name
        self._emit(StartTimer(owner, name, max(0.0, seconds)))

    def cancel(self, owner: str, kind: str) -> None:
        name = self._name_of.pop((owner, kind), None)
        if name is not None:
            del self._kind_of[(owner, name)]
            self._emit(CancelTimer(owner, name))

    def is_armed(self, owner: str, kind: str) -> bool:
        return (owner, kind) in self._name_of

    def fired(self, owner: str, name: str) -> str | None:
        """The kind of a live timer that just fired (now spent), or None when stale."""
        kind = self._kind_of.pop((owner, name), None)
        if kind is not None:
            del self._name_of[(owner, kind)]
        return kind

    def __len__(self) -> int:
        return len(self._kind_of)
