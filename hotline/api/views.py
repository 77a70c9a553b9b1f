"""The live centre as the API serves it, built once per change and shared.

Building the picture (every queue with its waiting calls, every seat, the live
statistics) costs milliseconds with hundreds of calls live; `/api/live`, `/api/kpis` and
every wallboard socket read the same picture, so it is built once and each of its forms
(the pydantic models, their JSON) is made once per build, on first use.

A picture is rebuilt when it is older than `max_age_s` (the wallboard's tick: waits and
times in state keep moving), or when the fact log has moved and the picture is at least
`min_gap_s` old; so, however busy the centre, it is built at most `1 / min_gap_s` times a
second and is never more than `min_gap_s` behind the facts. The API's own writes (a seat
action, a mode switch) call `invalidate()`, so whoever changed something reads it back.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from hotline.agents.seats import SeatView
from hotline.api.presence import SeatPresenceSource
from hotline.api.schemas import (
    Kpi,
    KpiReport,
    LiveView,
    QueueOut,
    ScopeKpis,
    SeatOut,
    WaitingCallOut,
)
from hotline.centre.view import CentreView
from hotline.projections.stats import ANSWER_TARGET_S, SHORT_ABANDON_S, Figures, StatsSnapshot
from hotline.runtime.centre_runtime import CentreRuntime, RuntimeView


def compact_json(value: Any) -> str:
    """The one JSON encoding every pushed message uses (UTF-8 text, no spaces)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- the pictures' forms ------------------------------------------------------------------


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def seat_out(seat: SeatView, presence: SeatPresenceSource | None) -> SeatOut:
    """A seat with its softphone's registration: "unknown" without a presence source
    (no AMI) or when the source has not seen the endpoint."""
    status = presence.softphone(seat.endpoint) if presence is not None else None
    return SeatOut(
        agent_id=seat.agent_id, seat_id=seat.seat_id, state=seat.state.value,
        since=seat.since, reason=seat.reason, call_id=seat.call_id, guest=seat.guest,
        endpoint=seat.endpoint,
        softphone="unknown" if status is None
        else "registered" if status.registered else "unregistered",
        softphone_since=status.since if status is not None else None,
    )


def live_view(view: CentreView, presence: SeatPresenceSource | None) -> LiveView:
    return LiveView(
        at=view.at,
        mode=view.mode,
        mode_since=view.mode_since,
        queues=[
            QueueOut(
                name=q.name, waiting_count=q.waiting_count,
                longest_wait_s=_finite(q.longest_wait_s), staffed=q.staffed,
                waiting=[
                    WaitingCallOut(
                        id=w.id, kind=w.kind, state=w.state, position=w.position,
                        waited_s=w.waited_s, priority=w.priority, tags=list(w.tags),
                        agent_id=w.agent_id,
                    )
                    for w in q.waiting
                ],
            )
            for q in view.queues
        ],
        seats=[seat_out(s, presence) for s in view.seats],
        live_calls=dict(view.live_calls),
    )


# What each KPI divides by what: shown beside the figure wherever it is displayed.
DEFINITIONS = {
    "offered": ("calls", "calls queued for an agent in the window"),
    "answered": ("calls", "calls an agent answered, of those offered in the window"),
    "answer_rate": ("ratio", "answered / (offered − still waiting)"),
    "answer_rate_15s": (
        "ratio",
        f"answered within {ANSWER_TARGET_S:.0f} s / calls offered to the queue (GB/T 33358)",
    ),
    "service_level": (
        "ratio",
        f"answered within {ANSWER_TARGET_S:.0f} s / (offered − abandoned within "
        f"{SHORT_ABANDON_S:.0f} s − still waiting)",
    ),
    "abandoned": ("calls", f"callers who hung up in the queue after {SHORT_ABANDON_S:.0f} s"),
    "abandoned_short": (
        "calls", f"callers who hung up in the queue within {SHORT_ABANDON_S:.0f} s"
    ),
    "asa_s": ("s", "total wait of answered calls / answered calls"),
    "aht_s": (
        "s", "total (talk + wrap-up) time of finished conversations / finished conversations"
    ),
    "att_s": ("s", "total talk time of finished conversations / finished conversations"),
}


def answer_rate_15s(figures: Figures) -> float | None:
    """GB/T 33358's 15-second answer rate: every call offered counts, however it ended."""
    if figures.offered <= 0:
        return None
    return figures.answered_within_target / figures.offered


def kpis_of(figures: Figures) -> list[Kpi]:
    values: dict[str, float | None] = {
        "offered": figures.offered,
        "answered": figures.answered,
        "answer_rate": figures.answer_rate,
        "answer_rate_15s": answer_rate_15s(figures),
        "service_level": figures.service_level,
        "abandoned": figures.abandoned,
        "abandoned_short": figures.abandoned_short,
        "asa_s": figures.asa_s,
        "aht_s": figures.aht_s,
        "att_s": figures.att_s,
    }
    return [
        Kpi(name=name, value=values[name], unit=unit, definition=definition)
        for name, (unit, definition) in DEFINITIONS.items()
    ]


def kpi_report(snapshot: StatsSnapshot, queues: Iterable[str] = ()) -> KpiReport:
    """The live KPIs of the centre and of each queue; `queues` that took no call today
    get their (empty) figures too, so every tile states its definitions."""
    scopes = [
        ScopeKpis(scope="centre", window="last 15 minutes",
                  kpis=kpis_of(snapshot.centre.last_15min)),
        ScopeKpis(scope="centre", window="today", kpis=kpis_of(snapshot.centre.today)),
    ]
    today = {name: figures.today for name, figures in snapshot.queues.items()}
    for name in queues:
        today.setdefault(name, Figures())
    for name, figures in sorted(today.items()):
        scopes.append(ScopeKpis(scope=f"queue:{name}", window="today", kpis=kpis_of(figures)))
    occupancy = Kpi(
        name="occupancy", value=snapshot.occupancy_15min, unit="ratio",
        definition="time on calls, ringing and in wrap-up / time logged in and not paused "
        "(last 15 minutes)",
    )
    scopes[0].kpis.append(occupancy)
    return KpiReport(
        at=snapshot.at,
        today_start=snapshot.today_start,
        waiting_now=snapshot.centre.waiting_now,
        longest_wait_s=_finite(snapshot.centre.longest_wait_s),
        agents_by_state={state.value: n for state, n in snapshot.agents_by_state.items()},
        scopes=scopes,
    )


# --- the shared picture ------------------------------------------------------------------


class Picture:
    """One build of the live centre and its forms, each made on first use."""

    __slots__ = ("_kpis", "_live", "_presence", "_texts", "built_at", "seq", "view")

    def __init__(self, view: RuntimeView, seq: int, built_at: float,
                 presence: SeatPresenceSource | None) -> None:
        self.view = view
        self.seq = seq
        self.built_at = built_at
        self._presence = presence
        self._live: LiveView | None = None
        self._kpis: KpiReport | None = None
        self._texts: dict[str, str | bytes] = {}

    def live(self) -> LiveView | None:
        """None when the runtime's kernel has no centre view."""
        if self._live is None and self.view.centre is not None:
            self._live = live_view(self.view.centre, self._presence)
        return self._live

    def kpis(self) -> KpiReport | None:
        """None when live statistics are not running."""
        if self._kpis is None and self.view.stats is not None:
            centre = self.view.centre
            queues = [q.name for q in centre.queues] if centre is not None else []
            self._kpis = kpi_report(self.view.stats, queues)
        return self._kpis

    def live_json(self) -> bytes | None:
        return self._encoded("live", self.live)

    def kpis_json(self) -> bytes | None:
        return self._encoded("kpis", self.kpis)

    def wallboard_text(self, kind: str) -> str | None:
        """The wallboard's message (`snapshot` or `update`): the live view and the KPIs
        (null while statistics are not running), encoded once for every wallboard.

        Its queues carry their counts and longest wait but not the list of waiting calls
        (`waiting` is empty; `/api/live` has it): the wallboard shows counts, and with
        hundreds of callers waiting the list would be most of every message, sent to
        every wallboard every tick."""
        key = "wallboard:" + kind
        text = self._texts.get(key)
        if text is None:
            live = self.live()
            if live is None:
                return None
            kpis = self.kpis()
            board = live.model_dump(mode="json", exclude={"queues": {"__all__": {"waiting"}}})
            for queue in board["queues"]:
                queue["waiting"] = []  # the schema's shape, without the calls
            text = self._texts[key] = compact_json({
                "type": kind, "live": board,
                "kpis": kpis.model_dump(mode="json") if kpis is not None else None,
            })
        assert isinstance(text, str)
        return text

    def _encoded(self, key: str, model: Callable[[], LiveView | KpiReport | None]
                 ) -> bytes | None:
        found = self._texts.get(key)
        if found is None:
            built = model()
            if built is None:
                return None
            found = self._texts[key] = built.model_dump_json().encode()
        assert isinstance(found, bytes)
        return found


class LiveViews:
    """The shared picture; see the module docstring for when it is rebuilt."""

    def __init__(self, runtime: CentreRuntime, presence: SeatPresenceSource | None, *,
                 max_age_s: float = 1.0, min_gap_s: float = 0.2,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._runtime = runtime
        self._presence = presence
        self._max_age_s = max_age_s
        self._min_gap_s = min(min_gap_s, max_age_s)
        self._monotonic = monotonic
        self._picture: Picture | None = None
        self.builds = 0  # how many pictures were built (for the bench and tests)

    def invalidate(self) -> None:
        """The next reader gets a fresh picture (after a change made through the API)."""
        self._picture = None

    def picture(self, *, fresh: bool = False) -> Picture:
        """The current picture; `fresh`: rebuilt if the fact log moved at all since (the
        wallboards' push, itself at most one per `min_gap_s`)."""
        now = self._monotonic()
        seq = self._runtime.log.next_seq
        current = self._picture
        if current is not None:
            age = now - current.built_at
            lag_ok = seq == current.seq or (not fresh and age < self._min_gap_s)
            if age < self._max_age_s and lag_ok:
                return current
        built = Picture(self._runtime.view(), seq, now, self._presence)
        self._picture = built
        self.builds += 1
        return built
