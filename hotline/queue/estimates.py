"""Expected wait from recent handle times and staffed seats, and repeat-caller memory."""

from __future__ import annotations

import math
from collections import deque

HANDLE_TIME_SAMPLES = 50  # recent conversations per queue behind the expected wait
REPEAT_WINDOW_S = 24 * 3600.0


class HandleTimes:
    """Recent handle times (talk + wrap-up) per queue, with a default until calls come in."""

    def __init__(self, default_s: float, samples: int = HANDLE_TIME_SAMPLES) -> None:
        if default_s <= 0:
            raise ValueError("the default handle time must be > 0")
        self._default_s = default_s
        self._samples = samples
        self._by_queue: dict[str, deque[float]] = {}

    def add(self, queue: str, seconds: float) -> None:
        self._by_queue.setdefault(queue, deque(maxlen=self._samples)).append(max(0.0, seconds))

    def mean(self, queue: str) -> float:
        samples = self._by_queue.get(queue)
        if not samples:
            return self._default_s
        mean = sum(samples) / len(samples)
        # Zero-length handle times (instant hang-ups) must not promise a zero wait.
        return mean if mean > 0 else self._default_s


def expected_wait_s(position: int, handle_s: float, staffed: int) -> float | None:
    """Seconds until a caller at ``position`` (1 = next) is likely served.

    None when nobody is staffed: the wait is unknown, and never announced as 0. With
    position >= 1 and a positive handle time the answer is at least one second.
    """
    if staffed <= 0:
        return None
    return float(max(1, math.ceil(position * handle_s / staffed)))


class RecentCallers:
    """Numbers seen within a sliding window (24 h): the ``repeat_caller`` tag."""

    def __init__(self, window_s: float = REPEAT_WINDOW_S) -> None:
        self._window_s = window_s
        self._last: dict[str, float] = {}
        self._order: deque[tuple[float, str]] = deque()

    def seen_then_note(self, number: str, at: float) -> bool:
        """Did ``number`` call within the window? Records this call either way."""
        if not number:
            return False  # withheld numbers are never "repeat"
        while self._order and at - self._order[0][0] > self._window_s:
            when, old = self._order.popleft()
            if self._last.get(old) == when:
                del self._last[old]
        seen = number in self._last
        self._last[number] = at
        self._order.append((at, number))
        return seen

    def __len__(self) -> int:
        return len(self._last)


LIVE_LOAD_WINDOW_S = 900.0  # arrivals of the last 15 minutes set the live load


class LiveLoad:
    """The live traffic the agents must carry: recent arrivals per queue, as Erlangs.

    Offered load = arrival rate x mean handle time, summed over the queues. Agents beyond
    that load are the spare capacity a callback promise may count on; a centre whose
    live calls already need every agent has none to promise.
    """

    def __init__(self, window_s: float = LIVE_LOAD_WINDOW_S) -> None:
        self._window_s = window_s
        self._arrivals: deque[tuple[float, str]] = deque()
        self._counts: dict[str, int] = {}

    def arrived(self, queue: str, at: float) -> None:
        self._arrivals.append((at, queue))
        self._counts[queue] = self._counts.get(queue, 0) + 1
        self._forget_before(at - self._window_s)

    def erlangs(self, at: float, handle: HandleTimes) -> float:
        self._forget_before(at - self._window_s)
        return sum(
            count / self._window_s * handle.mean(queue) for queue, count in self._counts.items()
        )

    def _forget_before(self, cutoff: float) -> None:
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] < cutoff:
            _, queue = arrivals.popleft()
            left = self._counts[queue] - 1
            if left:
                self._counts[queue] = left
            else:
                del self._counts[queue]
