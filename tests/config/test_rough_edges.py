"""What a new user meets first: clear errors from `hotline call` and the scenario check."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.editing import CentreCopy
from hotline.cli import main
from hotline.config.loader import load_centre
from hotline.ivr.files import FlowFileError, load_flows
from hotline.simulation.scenario import check_against_centre, load_scenario
from hotline.vocabulary.problems import ConfigError


def _argparse_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(["call", *args])
    assert stopped.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(("args", "words"), [
    (("--confidence", "7"), "argument --confidence: '7' is not a confidence from 0 to 1"),
    (("--confidence", "nan"), "argument --confidence: 'nan'"),
    (("--hang-up-after", "-3"), "argument --hang-up-after: '-3' is not a count of events"),
    (("--at", "yesterday"), "argument --at: 'yesterday' is not a time in ISO format"),
])
def test_bad_call_options_are_argparse_errors(capsys: pytest.CaptureFixture[str],
                                              args: tuple[str, ...], words: str) -> None:
    assert words in _argparse_error(capsys, *args)


def test_good_call_options_still_work(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "--confidence", "1", "--hang-up-after", "0",
                 "--at", "2020-02-10T20:00"]) == 0
    assert "caller hangs up" in capsys.readouterr().out


def test_unknown_mode_lists_the_modes_with_did_you_mean(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "--mode", "panic"]) == 2
    err = capsys.readouterr().err
    assert "argument --mode: unknown mode 'panic'; modes: emergency, normal" in err
    assert main(["call", "--mode", "emergncy"]) == 2
    assert "(did you mean 'emergency'?)" in capsys.readouterr().err


def test_missing_config_directory_is_named(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert main(["call", "--config", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"{missing}: no such directory" in err and "no flow files" not in err
    with pytest.raises(FlowFileError, match="no such directory"):
        load_flows(missing / "flows")


def _scenario(path: Path, logins: str) -> Path:
    path.write_text(
        "name: t\nconfig: c\nday: 2026-03-10\nstart: \"08:00\"\nend: \"09:00\"\n"
        "arrivals:\n  profile: {\"08:00\": 60}\n  lines: {\"12345\": 1}\n"
        f"agents:\n  logins: {logins}\n", encoding="utf-8")
    return path


def test_roster_logins_on_a_mode_without_roster_is_a_located_error(
        centre: CentreCopy) -> None:
    loaded = load_centre(centre.root)
    assert loaded.modes["normal"].roster is None
    file = _scenario(Path("scenario.yaml"), "roster")
    scenario, _ = load_scenario(file)
    with pytest.raises(ConfigError) as caught:
        check_against_centre(scenario, file, loaded)
    [problem] = caught.value.problems
    assert str(problem).startswith("scenario.yaml:10:11 agents.logins: ")
    assert "mode 'normal' has no roster (rosters: normal)" in problem.message
    assert "`logins: all`" in problem.message
    everyone = _scenario(Path("everyone.yaml"), "all")
    check_against_centre(load_scenario(everyone)[0], everyone, loaded)  # no error


def test_roster_logins_work_when_the_mode_has_a_roster(centre: CentreCopy) -> None:
    centre.edit("centre.yaml", "  normal:\n    description: normal operation\n",
                "  normal:\n    description: normal operation\n    roster: normal\n")
    file = _scenario(Path("scenario.yaml"), "roster")
    check_against_centre(load_scenario(file)[0], file, load_centre(centre.root))


def test_a_shape_error_does_not_hide_cross_reference_errors(centre: CentreCopy) -> None:
    # A bad ring timeout and an unknown overflow queue in the same queue: both at once.
    centre.edit("centre.yaml", "overflow: {after_s: 120, to: backup}",
                "overflow: {after_s: 120, to: bakup}\n    ring_timeout_s: 0")
    problems = centre.problems()
    assert any("queues.general.ring_timeout_s: must be more than 0, got 0" in p for p in problems)
    assert any("queues.general.overflow.to:" in p and "bakup" in p
               and "did you mean 'backup'" in p for p in problems), problems
    assert len(problems) == 2


def test_a_bad_agent_does_not_make_queues_look_unstaffed(centre: CentreCopy) -> None:
    centre.edit("centre.yaml", "skills: {general: 4}", "skills: {general: 6}")
    problems = centre.problems()
    assert len(problems) == 1 and "must be at most 5, got 6" in problems[0]
