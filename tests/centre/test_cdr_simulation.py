"""`hotline simulate --facts` then `hotline cdr`: one row per call, and the CDR totals
equal the simulator's printed KPIs per queue and in total."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from hotline.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "emergency_day.yaml"
_ROW = re.compile(
    r"^(?P<queue>\S+)\s+(?P<mode>\S+)\s+(?P<offered>\d+)\s+(?P<answered>\d+)\s+"
    r"(?P<abandoned>\d+)\s+(?P<short>\d+)\s+(?P<exited>\d+)\s"
)


def _section(report: str, title: str) -> list[re.Match[str]]:
    lines = report.split(title, 1)[1].split("\n\n", 1)[0].splitlines()
    return [m for m in (_ROW.match(line) for line in lines[2:]) if m]


@pytest.mark.slow
def test_the_cdr_of_a_simulated_day_adds_up_to_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts, out = tmp_path / "day.jsonl", tmp_path / "day.csv"
    assert main(["simulate", str(SCENARIO), "--facts", str(facts)]) == 0
    report = capsys.readouterr().out
    assert main(["cdr", str(facts), "--csv", str(out)]) == 0
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    arrived = int(re.search(r"calls arrived (\d+)", report).group(1))  # type: ignore[union-attr]
    assert len(rows) == arrived == len({r["call_id"] for r in rows})
    assert all(r["outcome"] for r in rows), "every call of the drained day has an outcome"
    expected: dict[str, Counter[str]] = {}
    for match in _section(report, "per queue and mode"):
        counts = expected.setdefault(match["queue"], Counter())
        for key in ("offered", "answered", "abandoned", "short", "exited"):
            counts[key] += int(match[key])
    got: dict[str, Counter[str]] = {}
    for row in rows:
        if not row["queue"]:
            continue
        counts = got.setdefault(row["queue"], Counter())
        counts["offered"] += 1
        result = row["queue_result"]
        key = {"short-abandon": "short", "exit-record": "exited", "exit-callback": "exited"}.get(
            result, result
        )
        counts[key] += 1
    assert {q: {k: c[k] for k in ("offered", "answered", "abandoned", "short", "exited")}
            for q, c in got.items()} == {
        q: dict(c) for q, c in expected.items()
    }
    [day] = [m for m in _section(report, "per mode") if m["queue"] == "day"]
    assert sum(c["offered"] for c in got.values()) == int(day["offered"])
    assert sum(c["answered"] for c in got.values()) == int(day["answered"])
