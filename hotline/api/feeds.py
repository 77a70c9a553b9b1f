"""Work-order changes made through this API, told to whoever follows them in-process
(the department sockets), right after the change is committed.

Orders change only through the API (`hotline.api.orders`), so this is every change the
process makes; a department page that reconnects gets a fresh snapshot anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OrderChanged:
    number: str
    # Departments the order was with before the change and is with after it: both
    # pages must hear of it (one sees it arrive, the other sees it leave).
    departments: frozenset[str]


OrderListener = Callable[[OrderChanged], None]


class OrderFeed:
    def __init__(self) -> None:
        self._listeners: list[OrderListener] = []

    def listen(self, listener: OrderListener) -> Callable[[], None]:
        """Call `listener(change)` for every change (fast, no I/O); returns the undo."""
        self._listeners.append(listener)

        def stop() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return stop

    def publish(self, change: OrderChanged) -> None:
        for listener in list(self._listeners):
            listener(change)
