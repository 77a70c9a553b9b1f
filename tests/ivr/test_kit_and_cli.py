"""The test kit (fakes, run_flow rendering), the environment, and the `hotline` commands."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from hotline.cli import main
from hotline.ivr.environment import StaticEnvironment
from hotline.testing import (
    KeywordClassifier,
    ScriptedRecognizer,
    Utterance,
    run_flow,
    sample_engine,
    sample_environment,
)
from hotline.testing.fakes import satisfaction_classifier
from hotline.vocabulary.commands import Recognize


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# --- fakes ------------------------------------------------------------------------------


def test_keyword_classifier_ranks_by_matched_keywords() -> None:
    classifier = KeywordClassifier({"complaint": ["投诉", "噪音"], "epidemic": ["疫情"]})
    ranked = classifier.classify("我要投诉，晚上噪音太大", top_k=3)
    assert [s.label for s in ranked] == ["complaint"] and ranked[0].confidence == 1.0
    tie = classifier.classify("投诉疫情", top_k=1)
    assert len(tie) == 1 and tie[0].confidence == 0.5
    assert classifier.classify("天气不错") == []


def test_satisfaction_fake_prefers_the_longer_phrase() -> None:
    classifier = satisfaction_classifier()
    assert classifier.classify("不满意", 1)[0].label == "dissatisfied"
    assert classifier.classify("基本满意吧", 1)[0].label == "basically_satisfied"
    assert classifier.classify("非常满意", 1)[0].label == "satisfied"


def test_scripted_recognizer_answers_in_order_then_silence() -> None:
    recognizer = ScriptedRecognizer(["投诉", Utterance("嗯", confidence=0.2, intent="x"), None])
    command = Recognize("c1", "zh", ("投诉",))
    first = recognizer.answer(command, 1.0)
    assert first is not None and (first.text, first.confidence) == ("投诉", 0.9)
    second = recognizer.answer(command, 2.0)
    assert second is not None and (second.confidence, second.intent, second.at) == (0.2, "x", 2.0)
    assert recognizer.answer(command, 3.0) is None  # scripted silence
    assert recognizer.answer(command, 4.0) is None  # script exhausted
    assert recognizer.heard == [("投诉",)] * 4 and recognizer.remaining == 0


# --- run_flow's transcript ---------------------------------------------------------------------


def test_transcript_text_reads_like_the_call() -> None:
    run = run_flow(sample_engine(), ["2", "楼下噪音扰民，我要投诉"], env=sample_environment())
    text = run.text()
    assert "IVR: 您好，12345热线，马上为您转接人工服务。" in text
    assert "caller presses 2" in text
    assert "caller says “楼下噪音扰民，我要投诉” (confidence 0.90)" in text
    assert text.endswith(
        "=> queued in 'complaints' (priority 0, skills complaints, tags complaint)")


def test_transcript_of_a_call_cut_short() -> None:
    run = run_flow(sample_engine(), ["0"], env=sample_environment(), hang_up_after=1)
    assert run.text().endswith("caller hangs up")


def test_run_flow_refuses_runaway_calls() -> None:
    with pytest.raises(RuntimeError, match="still in the IVR after 3 events"):
        # The enterprise flow's menu retries a silent caller (the 12345 greeting does not).
        run_flow(sample_engine(), [], flow="enterprise", line="12345-8",
                 env=sample_environment(), max_events=3)


# --- environment --------------------------------------------------------------------------


def test_static_environment_office_hours_holidays_and_lists() -> None:
    env = StaticEnvironment(holidays={"cn": frozenset({date(2020, 1, 27)})},
                            caller_lists={"vip": frozenset({"1"})},
                            line_schedules={"8": "office"})
    assert env.is_open("office", at("2020-02-10T08:30:00+08:00"))
    assert not env.is_open("office", at("2020-02-10T08:29:00+08:00"))
    assert not env.is_open("office", at("2020-02-10T12:30:00+08:00"))  # lunch
    assert not env.is_open("office", at("2020-02-10T17:30:00+08:00"))  # end excluded
    assert not env.is_open("office", at("2020-02-08T10:00:00+08:00"))  # Saturday
    assert not env.is_open("office", at("2020-01-27T10:00:00+08:00"))  # holiday
    assert env.is_open("always", at("2020-01-27T03:00:00+08:00"))
    assert env.is_holiday("cn", at("2020-01-27T23:59:00+08:00"))
    assert env.caller_in("vip", "1") and not env.caller_in("vip", "2")
    assert env.line_open("12345", at("2020-02-08T03:00:00+08:00"))  # no hours: open
    assert not env.line_open("8", at("2020-02-08T10:00:00+08:00"))
    assert env.minute_of_day(at("2020-02-10T01:30:00Z")) == 9 * 60 + 30  # CST
    with pytest.raises(KeyError):
        env.is_open("nope", 0.0)


# --- CLI ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _in_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.ivr.files import SAMPLE_CONFIG

    monkeypatch.chdir(SAMPLE_CONFIG.parent)  # the commands default to ./config


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_call_main_menu_with_keys_and_speech(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "call", "--line", "12345", "--keys", "2",
                           "--say", "小区噪音扰民我要投诉")
    assert code == 0
    assert "caller presses 2" in out and "=> queued in 'complaints'" in out


def test_cli_call_emergency_mode_and_after_hours(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "call", "--line", "12345", "--mode", "emergency",
                           "--keys", "4")
    assert code == 0 and "疫情防控相关问题请按4" in out and "=> queued in 'epidemic'" in out
    code, out, _ = run_cli(capsys, "call", "--line", "12345-8", "--at", "2020-02-10T20:00",
                           "--keys", "2 1")
    assert code == 0 and "=> callback booked to 13912345678 via 'enterprise'" in out


def test_cli_call_reports_unused_answers_and_bad_input(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    code, out, _ = run_cli(capsys, "call", "--line", "12345", "--keys", "0,1,2")
    assert code == 0 and "(2 answer(s) not used" in out
    code, _, err = run_cli(capsys, "call", "--line", "12346")
    assert code == 1 and "no line '12346' (did you mean" in err and "lines: 12345," in err
    with pytest.raises(SystemExit):
        main(["call", "--keys", "1a"])
    assert "is not keys" in capsys.readouterr().err


def test_cli_call_without_centre_yaml_reads_flows_directly(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil
    from pathlib import Path

    from hotline.ivr.files import SAMPLE_CONFIG

    directory = Path(str(tmp_path))
    shutil.copytree(SAMPLE_CONFIG / "flows", directory / "flows")
    shutil.copy(SAMPLE_CONFIG / "prompts.yaml", directory / "prompts.yaml")
    code, out, _ = run_cli(capsys, "call", "--config", str(directory), "--line", "police",
                           "--keys", "2")
    assert code == 0 and "=> queued in 'police'" in out
    (directory / "flows" / "police.yaml").write_text("name: police\nstart: x\nnodes: {x: 1}\n")
    code, _, err = run_cli(capsys, "call", "--config", str(directory), "--line", "police")
    assert code == 2 and "police.yaml" in err and "nodes.x" in err


@pytest.mark.parametrize(("fmt", "expected"), [
    ("text", "1 企业服务 -> enterprise: (another flow)"),
    ("mermaid", 'n_greeting -->|"4 疫情防控 [emergency]"| n_epidemic_queue'),
    ("dot", '"greeting" -> "to_agent" [label="0 人工服务"];'),
])
def test_cli_flows_show(capsys: pytest.CaptureFixture[str], fmt: str, expected: str) -> None:
    code, out, _ = run_cli(capsys, "flows", "show", "main", "--format", fmt)
    assert code == 0 and expected in out


def test_cli_flows_show_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "flows", "show", "mian")
    assert code == 1 and "did you mean 'main'?" in err
