"""Scenario days on virtual time through the real centre kernel, flows and ACD."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter

from hotline.cli import main
from hotline.config.loader import Centre
from hotline.projections.stats import Outcome
from hotline.simulation.engine import SimulationResult, simulate
from hotline.simulation.report import build_report, format_report
from hotline.simulation.scenario import Dist, Scenario, check_against_centre, load_scenario
from hotline.vocabulary.problems import ConfigError
from hotline.vocabulary.states import CallStage

from .kit import ROOT

EMERGENCY = ROOT / "scenarios" / "emergency_day.yaml"
NORMAL = ROOT / "scenarios" / "normal_day.yaml"


def _surge_morning(centre: Centre) -> tuple[Scenario, SimulationResult]:
    """The emergency day cut to 08:00-12:00 (switch and surge at 10:00), 6,000 calls."""
    scenario, _ = load_scenario(EMERGENCY)
    arrivals = scenario.arrivals.model_copy(update={"calls": 6000})
    scenario = scenario.model_copy(
        update={"start": "08:00", "end": "12:00", "drain_s": 1800, "arrivals": arrivals}
    )
    return scenario, simulate(scenario, centre)


@pytest.fixture(scope="module")
def surge(centre: Centre) -> tuple[Scenario, SimulationResult]:
    return _surge_morning(centre)


def test_supervisor_switches_to_emergency_at_ten(surge: tuple[Scenario, SimulationResult]
                                                 ) -> None:
    _, result = surge
    changes = result.stats.mode_changes
    assert [(c.old, c.new) for c in changes] == [("normal", "emergency")]
    assert changes[0].at == result.start + 2 * 3600
    assert changes[0].by == "值班长 张敏"
    assert result.kernel.mode == "emergency"
    # Calls queued after the switch can reach the emergency-only epidemic option.
    calls = result.stats.calls()
    switch = changes[0].at
    epidemic_after = sum(1 for c in calls if c.queue == "epidemic" and c.queued_at >= switch)
    epidemic_before = sum(1 for c in calls if c.queue == "epidemic" and c.queued_at < switch)
    assert epidemic_after > 5 * max(epidemic_before, 1)


def test_reserve_and_emergency_roster_log_in_over_the_next_hour(
    surge: tuple[Scenario, SimulationResult],
) -> None:
    _, result = surge
    switch = result.start + 2 * 3600
    before = [n for at, n in result.logged_in_samples if switch - 1800 <= at < switch]
    after = [n for at, n in result.logged_in_samples if switch + 3600 <= at < switch + 7200]
    assert before and after
    assert max(before) < min(after), "more agents after the call-in than before"
    # They come in gradually, not all at the switch.
    first_quarter = [n for at, n in result.logged_in_samples if switch < at <= switch + 900]
    assert first_quarter and max(first_quarter) < min(after)


def test_surge_triples_the_arrivals(surge: tuple[Scenario, SimulationResult]) -> None:
    _, result = surge
    calls = result.stats.calls()
    switch = result.start + 2 * 3600
    # Same shape in the profile around 09:00-11:00; the surge multiplies it by three.
    before = sum(1 for c in calls if switch - 3600 <= c.queued_at < switch)
    after = sum(1 for c in calls if switch <= c.queued_at < switch + 3600)
    assert 2.3 < after / before < 3.7


def test_kpis_add_up(surge: tuple[Scenario, SimulationResult]) -> None:
    _, result = surge
    report = build_report(result)
    totals = result.totals
    for row in (*report.hours, *report.modes, report.day):
        f = row.figures
        assert f.offered == f.answered + f.abandoned + f.abandoned_short + f.exited + f.waiting
        if f.service_level is not None:
            assert 0.0 <= f.service_level <= 1.0
        if row.occupancy is not None:
            assert 0.0 <= row.occupancy <= 1.0
    assert sum(r.figures.offered for r in report.hours) == report.day.figures.offered
    assert sum(r.figures.offered for r in report.modes) == report.day.figures.offered
    assert sum(r.figures.answered for r in report.hours) == report.day.figures.answered
    # Every call reaching a queue is offered once (overflows are not counted twice).
    assert report.day.figures.offered == totals.enqueued
    # Every arrival is accounted for on the driver side.
    still_in_ivr = result.kernel.live_calls()[CallStage.IVR]
    assert totals.arrivals == (
        totals.enqueued + totals.ivr_hangups_by_centre + totals.hung_up_in_ivr
        + totals.transfers + totals.ivr_callbacks + totals.refused + still_in_ivr
    )
    # Answered calls were talked to: conversations ended (with wrap-up) as many times.
    answered = sum(1 for c in result.stats.calls() if c.outcome is Outcome.ANSWERED)
    assert answered == report.day.figures.answered
    assert result.totals.rings >= answered
    text = format_report(result)
    assert "per hour" in text and "per mode" in text and "emergency" in text


def test_same_seed_same_day_other_seed_other_day(centre: Centre) -> None:
    scenario, _ = load_scenario(NORMAL)
    arrivals = scenario.arrivals.model_copy(update={"calls": 1500})
    short = scenario.model_copy(update={"start": "08:00", "end": "10:00", "arrivals": arrivals})
    a = build_report(simulate(short, centre)).day.figures
    b = build_report(simulate(short, centre)).day.figures
    c = build_report(simulate(short, centre, seed=99)).day.figures
    assert a == b
    assert a != c


def test_shipped_scenarios_are_valid(centre: Centre) -> None:
    for path in (ROOT / "scenarios").glob("*.yaml"):
        scenario, config_dir = load_scenario(path)
        assert config_dir == (ROOT / "config").resolve()
        check_against_centre(scenario, path, centre)


def test_scenario_errors_name_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\n"
        "day: 2026-03-10\n"
        "arrivals:\n"
        "  profile: {\"09:00\": 100}\n"
        "  lines: {\"12345\": 1}\n"
        "citizens:\n"
        "  talk_s: {dist: uniform, min: 10}\n"
        "  barge_in: 2\n"
        "agents:\n"
        "  logins: sometimes\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_scenario(bad)
    text = str(caught.value)
    assert f"{bad}:7:" in text and "talk_s" in text and "max" in text
    assert f"{bad}:8:" in text and "barge_in" in text
    assert f"{bad}:10:" in text and "logins" in text


def test_scenario_names_are_checked_against_the_centre(tmp_path: Path, centre: Centre) -> None:
    bad = tmp_path / "names.yaml"
    bad.write_text(
        "name: names\n"
        "day: 2026-03-10\n"
        "arrivals:\n"
        "  profile: {\"09:00\": 100}\n"
        "  lines: {\"12346\": 1}\n"
        "citizens:\n"
        "  answers:\n"
        "    main_menuu: [{press: \"1\"}]\n"
        "supervisor:\n"
        "  - {at: \"10:00\", mode: emergancy}\n",
        encoding="utf-8",
    )
    scenario, _ = load_scenario(bad)
    with pytest.raises(ConfigError) as caught:
        check_against_centre(scenario, bad, centre)
    text = str(caught.value)
    assert f"{bad}:5:" in text and "12346" in text
    assert f"{bad}:8:" in text and "main_menu" in text
    assert f"{bad}:10:" in text and "emergency" in text


def test_cli_simulate_reports_and_rejects(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    small = tmp_path / "small.yaml"
    text = NORMAL.read_text(encoding="utf-8")
    text = text.replace("config: ../config", f"config: {ROOT / 'config'}")
    text = text.replace('start: "00:00"', 'start: "09:00"').replace('end: "24:00"', 'end: "10:00"')
    small.write_text(text, encoding="utf-8")
    assert main(["simulate", str(small), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "09:00" in out and "SL80/15" in out and "seed 3" in out and "per mode" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nday: not-a-date\narrivals: {}\n", encoding="utf-8")
    assert main(["simulate", str(broken)]) == 2
    assert f"{broken}:2:" in capsys.readouterr().err


def test_supervisor_actions_must_fall_inside_the_day(tmp_path: Path) -> None:
    bad = tmp_path / "early.yaml"
    bad.write_text(
        "name: early\nday: 2026-03-10\nstart: \"09:00\"\nend: \"12:00\"\n"
        "arrivals: {profile: {\"09:00\": 100}, lines: {\"12345\": 1}}\n"
        "supervisor:\n  - {at: \"08:00\", mode: emergency}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="outside the simulated day"):
        load_scenario(bad)


def test_agents_who_finish_notes_early_shorten_the_handle_time(centre: Centre) -> None:
    scenario, _ = load_scenario(NORMAL)
    agents = scenario.agents.model_copy(update={"pause_every_s": None})
    short = scenario.model_copy(update={
        "start": "09:00", "end": "11:00", "agents": agents,
        "arrivals": scenario.arrivals.model_copy(update={"calls": 1200}),
    })
    queue_limits = build_report(simulate(short, centre)).day.figures
    five_seconds = TypeAdapter(Dist).validate_python(5)
    early = short.model_copy(update={
        "agents": agents.model_copy(update={"wrap_up_s": five_seconds}),
    })
    fast = build_report(simulate(early, centre)).day.figures
    assert fast.handled > 0 and queue_limits.handled > 0
    wrap_fast = (fast.total_handle_s - fast.total_talk_s) / fast.handled
    wrap_limits = (queue_limits.total_handle_s - queue_limits.total_talk_s) / queue_limits.handled
    assert wrap_fast == pytest.approx(5.0, abs=0.5)
    assert wrap_limits > 15.0  # the queues' own limits (20-60 s) when nobody hurries
