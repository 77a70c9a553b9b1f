"""KPIs of a simulated day, per hour, per mode and per queue, from the kernel's own facts.

Call figures come from the live statistics the kernel fed with the ACD's facts
(`hotline.projections.stats`), so the simulator reports exactly what the wallboard would show:
calls are counted in the hour (and mode) they were offered to a queue. Callback figures
come from the simulator's ledger of the same facts (`hotline.simulation.callbacks`):
requests, dials, connections, failed attempts and requests given up, each counted in
the hour it happened, with the mean time from request to connection; requests still
unsettled when the run stopped are listed by queue, never dropped.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from hotline.projections.stats import (
    AVAILABLE_STATES,
    BUSY_STATES,
    CallRecord,
    Figures,
    HandledCall,
    Outcome,
    SeatSegment,
    summarise,
)
from hotline.simulation.callbacks import CallbackOrigin, CallbackOutcome, CallbackRecord
from hotline.simulation.engine import SimulationResult


@dataclass(frozen=True, slots=True)
class KpiRow:
    label: str
    mode: str
    figures: Figures
    occupancy: float | None
    max_wait_s: float
    agents_logged_in: float | None  # average over the period


@dataclass(frozen=True, slots=True)
class CallbackRow:
    """Callback work in a period: each event counted in the period it happened in."""

    label: str
    mode: str
    requested: int
    dialled: int  # dial attempts placed
    completed: int  # citizens connected to an agent
    failed: int  # dial attempts that failed (no answer, busy)
    gave_up: int  # requests ended without a connection
    mean_time_to_callback_s: float | None  # request -> connection, over `completed`


@dataclass(frozen=True, slots=True)
class Report:
    hours: tuple[KpiRow, ...]
    modes: tuple[KpiRow, ...]
    day: KpiRow
    queues: tuple[KpiRow, ...] = ()  # per queue of first offer and mode
    callback_hours: tuple[CallbackRow, ...] = ()
    callback_modes: tuple[CallbackRow, ...] = ()
    callback_day: CallbackRow | None = None


def _mode_at(modes: Sequence[tuple[float, str]], at: float) -> str:
    current = modes[0][1]
    for since, mode in modes:
        if since <= at:
            current = mode
        else:
            break
    return current


def _max_wait(calls: Iterable[CallRecord], now: float) -> float:
    longest = 0.0
    for call in calls:
        waited = now - call.queued_at if call.outcome is Outcome.WAITING else call.waited_s
        longest = max(longest, waited)
    return longest


def _average_logged_in(samples: Sequence[tuple[float, int]], start: float, end: float
                       ) -> float | None:
    inside = [n for at, n in samples if start <= at < end]
    return sum(inside) / len(inside) if inside else None


class _SeatTime:
    """Busy and available seat-seconds per elementary interval between `edges`."""

    def __init__(self, segments: Iterable[SeatSegment], edges: Iterable[float]) -> None:
        self.edges = sorted(set(edges))
        count = max(len(self.edges) - 1, 0)
        self.busy = [0.0] * count
        self.available = [0.0] * count
        for seg in segments:
            if seg.state not in AVAILABLE_STATES:
                continue
            is_busy = seg.state in BUSY_STATES
            i = max(bisect.bisect_right(self.edges, seg.start) - 1, 0)
            while i < count and self.edges[i] < seg.end:
                overlap = min(seg.end, self.edges[i + 1]) - max(seg.start, self.edges[i])
                if overlap > 0:
                    self.available[i] += overlap
                    if is_busy:
                        self.busy[i] += overlap
                i += 1

    def occupancy(self, spans: Iterable[tuple[float, float]]) -> float | None:
        busy = available = 0.0
        for start, end in spans:
            for i in range(len(self.busy)):
                if start <= self.edges[i] and self.edges[i + 1] <= end:
                    busy += self.busy[i]
                    available += self.available[i]
        return busy / available if available > 0 else None


def _row(label: str, mode: str, calls: list[CallRecord], handled: list[HandledCall],
         seat_time: _SeatTime, spans: list[tuple[float, float]], now: float,
         samples: Sequence[tuple[float, int]]) -> KpiRow:
    logged = [x for s, e in spans if (x := _average_logged_in(samples, s, e)) is not None]
    return KpiRow(
        label, mode, summarise(calls, handled), seat_time.occupancy(spans),
        _max_wait(calls, now), sum(logged) / len(logged) if logged else None,
    )


def _callback_row(label: str, mode: str, records: Iterable[CallbackRecord],
                  spans: list[tuple[float, float]], last: float) -> CallbackRow:
    """`last`: the end of the whole report; something at that very moment (the run stops
    on the event that settles the last request) belongs to the span that ends there."""
    def inside(at: float | None) -> bool:
        return at is not None and any(lo <= at < hi or at == hi == last for lo, hi in spans)

    requested = dialled = failed = gave_up = 0
    waits: list[float] = []
    for record in records:
        requested += inside(record.requested_at)
        dialled += sum(1 for at in record.dials if inside(at))
        failed += sum(1 for at in record.failures if inside(at))
        if inside(record.settled_at):
            if record.outcome is CallbackOutcome.COMPLETED:
                wait = record.time_to_callback_s
                assert wait is not None
                waits.append(wait)
            else:
                gave_up += 1
    mean = sum(waits) / len(waits) if waits else None
    return CallbackRow(label, mode, requested, dialled, len(waits), failed, gave_up, mean)


def build_report(result: SimulationResult) -> Report:
    stats = result.stats
    calls = stats.calls()
    handled = stats.handled()
    now = result.finished
    modes = result.modes
    tz = result.timezone
    samples = result.logged_in_samples
    # Arrivals stop at `end`; calls still in the IVR then may reach a queue during the
    # drain, so the rows run on to the last event and every offered call is in one row.
    end_all = max(result.end, result.finished)
    hour_edges = [result.start]
    while hour_edges[-1] < end_all:
        hour_edges.append(min(hour_edges[-1] + 3600.0, end_all))
    if len(hour_edges) == 1:
        hour_edges.append(end_all + 1.0)
    end_all = hour_edges[-1]
    switch_times = [since for since, _ in modes if result.start < since < end_all]
    seat_time = _SeatTime(stats.seat_segments(now), [*hour_edges, *switch_times])
    hours: list[KpiRow] = []
    for start, end in itertools.pairwise(hour_edges):
        in_hour = [c for c in calls if start <= c.queued_at < end]
        done = [h for h in handled if start <= h.ended_at < end]
        label = datetime.fromtimestamp(start, tz).strftime("%H:%M")
        if start >= result.end:
            label += "*"  # after the last arrival: calls still finishing
        first, last = _mode_at(modes, start), _mode_at(modes, end - 1e-6)
        mode = first if first == last else f"{first}→{last}"
        hours.append(_row(label, mode, in_hour, done, seat_time, [(start, end)], now, samples))
    # Per mode: the periods the centre spent in it.
    bounds = [*modes, (end_all, "")]
    spans_by_mode: dict[str, list[tuple[float, float]]] = {}
    for (since, mode), (until, _) in itertools.pairwise(bounds):
        lo, hi = max(since, result.start), min(until, end_all)
        if hi > lo:
            spans_by_mode.setdefault(mode, []).append((lo, hi))
    mode_rows = []
    for mode, spans in spans_by_mode.items():
        in_mode = [c for c in calls if any(lo <= c.queued_at < hi for lo, hi in spans)]
        done = [h for h in handled if any(lo <= h.ended_at < hi for lo, hi in spans)]
        mode_rows.append(_row(mode, mode, in_mode, done, seat_time, spans, now, samples))
    day = _row("day", "all", calls, handled, seat_time, [(result.start, end_all)], now,
               samples)
    # Per queue and mode: where the priorities show (epidemic first in an emergency).
    queue_rows = []
    for mode, spans in spans_by_mode.items():
        in_mode = [c for c in calls if any(lo <= c.queued_at < hi for lo, hi in spans)]
        for queue in sorted({c.queue for c in in_mode}):
            mine = [c for c in in_mode if c.queue == queue]
            done = [h for h in handled if h.queue == queue
                    and any(lo <= h.ended_at < hi for lo, hi in spans)]
            queue_rows.append(KpiRow(queue, mode, summarise(mine, done), None,
                                     _max_wait(mine, now), None))
    records = list(result.callbacks.records.values())
    cb_hours = tuple(
        _callback_row(row.label, row.mode, records, [span], end_all)
        for row, span in zip(hours, itertools.pairwise(hour_edges), strict=True)
    )
    cb_modes = tuple(
        _callback_row(mode, mode, records, spans, end_all)
        for mode, spans in spans_by_mode.items()
    )
    cb_day = _callback_row("day", "all", records, [(result.start, end_all)], end_all)
    return Report(tuple(hours), tuple(mode_rows), day, tuple(queue_rows), cb_hours, cb_modes,
                  cb_day)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:5.1f}%"


def _secs(value: float | None) -> str:
    if value is None or math.isinf(value):
        return "-"
    return f"{value:6.1f}"


_HEADER = (
    f"{'period':<10} {'mode':<18} {'offered':>7} {'answered':>8} {'abandon':>7} "
    f"{'short':>5} {'exited':>6} {'SL80/15':>7} {'ASA s':>6} {'AHT s':>6} "
    f"{'occup':>6} {'maxwait':>7} {'agents':>6}"
)


def _line(row: KpiRow) -> str:
    f = row.figures
    agents = "-" if row.agents_logged_in is None else f"{row.agents_logged_in:6.1f}"
    return (
        f"{row.label:<10} {row.mode:<18} {f.offered:>7} {f.answered:>8} {f.abandoned:>7} "
        f"{f.abandoned_short:>5} {f.exited:>6} {_pct(f.service_level):>7} {_secs(f.asa_s):>6} "
        f"{_secs(f.aht_s):>6} {_pct(row.occupancy):>6} {row.max_wait_s:7.0f} {agents:>6}"
    )


def _callback_line(result: SimulationResult) -> str:
    records = result.callbacks.records.values()
    origins = {origin: 0 for origin in CallbackOrigin}
    for record in records:
        origins[record.origin] += 1
    t = result.totals
    unsettled: dict[str, int] = {}
    for record in records:
        if record.outcome is CallbackOutcome.PENDING:
            unsettled[record.queue] = unsettled.get(record.queue, 0) + 1
    text = (
        f"callback requests {len(records)} (chosen in the IVR {origins[CallbackOrigin.IVR]}, "
        f"offer accepted while waiting {origins[CallbackOrigin.OFFER]} of "
        f"{t.callback_offers_heard} offers heard, let out of the queue "
        f"{origins[CallbackOrigin.QUEUE_EXIT]}, missed calls called back "
        f"{origins[CallbackOrigin.MISSED_CALL]}); unsettled at the end "
        f"{result.unsettled_callbacks}"
    )
    if unsettled:
        text += " (" + ", ".join(f"{q} {n}" for q, n in sorted(unsettled.items())) + ")"
    if result.cut_off:
        text += "; the drain bound stopped the run"
    return text


_CB_HEADER = (
    f"{'period':<10} {'mode':<18} {'requested':>9} {'dialled':>7} {'connected':>9} "
    f"{'failed':>6} {'gave up':>7} {'mean time to callback':>21}"
)


def _cb_line(row: CallbackRow) -> str:
    mean = row.mean_time_to_callback_s
    wait = "-" if mean is None else f"{mean / 60:6.1f} min"
    return (
        f"{row.label:<10} {row.mode:<18} {row.requested:>9} {row.dialled:>7} "
        f"{row.completed:>9} {row.failed:>6} {row.gave_up:>7} {wait:>21}"
    )


def format_report(result: SimulationResult, report: Report | None = None) -> str:
    report = report or build_report(result)
    t = result.totals
    scenario = result.scenario
    lines = [
        f"scenario {scenario.name} on {scenario.day} ({scenario.start}-{scenario.end}), "
        f"seed {result.seed}",
        f"calls arrived {t.arrivals}, reached a queue {t.enqueued}, "
        f"ended in the IVR by the centre {t.ivr_hangups_by_centre}, "
        f"hung up in the IVR {t.hung_up_in_ivr}, transferred {t.transfers}, "
        f"callbacks chosen in the IVR {t.ivr_callbacks}, refused {t.refused}",
        f"rings {t.rings} (missed {t.rings_missed}), callback dials {t.callback_dials} "
        f"(failed {t.callback_dials_failed}), agent logins {t.logins}, logouts {t.logouts}"
        + (f", logins without a free seat {t.no_free_seat}" if t.no_free_seat else ""),
        _callback_line(result),
        "",
        "per hour (calls counted in the hour they were queued; SL excludes short abandons;"
        " * = after the last arrival)",
        _HEADER,
        *(_line(row) for row in report.hours),
        "",
        "per mode",
        _HEADER,
        *(_line(row) for row in report.modes),
        _line(report.day),
    ]
    if report.queues:
        lines += [
            "",
            "per queue and mode (queue of first offer; AHT of conversations served there)",
            _HEADER.replace("period    ", "queue     "),
            *(_line(row) for row in report.queues),
        ]
    if report.callback_day is not None and report.callback_day.requested:
        lines += [
            "",
            "callbacks per hour (each counted when it happened; connected = citizen and "
            "agent talking)",
            _CB_HEADER,
            *(_cb_line(row) for row in report.callback_hours
              if row.requested or row.dialled or row.gave_up),
            "",
            "callbacks per mode",
            _CB_HEADER,
            *(_cb_line(row) for row in report.callback_modes),
            _cb_line(report.callback_day),
        ]
    changes = result.stats.mode_changes
    if changes:
        lines.append("")
        lines.append("mode switches")
        tz = result.timezone
        for change in changes:
            when = datetime.fromtimestamp(change.at, tz).strftime("%H:%M:%S")
            lines.append(f"  {when} {change.old} → {change.new} by {change.by}: {change.reason}")
    return "\n".join(lines)
