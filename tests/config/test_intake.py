"""Time to a person: intake lines warn when callers must choose first; describe shows
how long a caller takes to reach a queue."""

from __future__ import annotations

import argparse
import io
import shutil
import wave
from pathlib import Path

import pytest

from config.editing import CentreCopy
from hotline.cli.config import run_check, run_describe
from hotline.config.loader import Centre, load_centre
from hotline.ivr.durations import (
    LATIN_CHARS_PER_S,
    MANDARIN_CHARS_PER_S,
    MIN_PROMPT_S,
    catalogue_speaker,
    estimate_speech_s,
    prompt_duration_s,
    time_to_queue,
    wav_duration_s,
)
from hotline.vocabulary.commands import Prompt

SAMPLE = Path(__file__).parents[2] / "config"


@pytest.fixture
def sample_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CentreCopy:
    shutil.copytree(SAMPLE, tmp_path / "s")
    monkeypatch.chdir(tmp_path)
    return CentreCopy(Path("s"))


def _check(directory: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_check(argparse.Namespace(directory=str(directory)), out, err)
    return code, out.getvalue(), err.getvalue()


def test_sample_intake_lines_need_no_menu_choice(sample: Centre) -> None:
    assert sample.warnings == ()
    assert sample.lines["12345"].kind == "intake"
    assert sample.lines["12345-8"].kind == "enterprise"


def test_menu_that_must_be_answered_on_an_intake_line_is_a_warning(
        sample_copy: CentreCopy) -> None:
    # A silent caller at the greeting now hears goodbye instead of reaching an agent.
    sample_copy.edit("flows/main.yaml", "    timeout_s: 1\n    on_failure: to_agent\n",
                     "    timeout_s: 1\n    on_failure: goodbye\n")
    code, out, err = _check(Path("s"))
    assert code == 0 and err == ""
    warnings = [line for line in out.splitlines() if "warning:" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("s/flows/main.yaml:")
    assert " nodes.greeting: warning: intake lines 12345, 12380: " in warnings[0]
    assert "'goodbye'" in warnings[0] and "GB/T 33358-2016" in warnings[0]
    assert out.rstrip().endswith("configuration OK (1 warning)")


def test_a_line_of_another_kind_may_use_a_menu(sample_copy: CentreCopy) -> None:
    sample_copy.edit("flows/main.yaml", "    timeout_s: 1\n    on_failure: to_agent\n",
                     "    timeout_s: 1\n    on_failure: goodbye\n")
    sample_copy.edit("centre.yaml", '  "12345":\n    kind: intake', '  "12345":\n    kind: report')
    sample_copy.edit("centre.yaml", '  "12380":\n    kind: intake', '  "12380":\n    kind: report')
    assert load_centre(Path("s")).warnings == ()


def test_a_menu_only_in_emergency_mode_is_found(sample_copy: CentreCopy) -> None:
    # In emergency mode 12345 is sent to the police flow, whose menu ends the call for a
    # silent caller: in that mode an intake caller must choose to reach a person.
    sample_copy.edit("flows/police.yaml", "  on_failure: police_queue\n", "  on_failure: bye\n")
    sample_copy.append("flows/police.yaml", "  bye: {type: hangup, prompts: goodbye}\n")
    sample_copy.edit("centre.yaml", '      "12345-8": {schedule: always}',
                     '      "12345-8": {schedule: always}\n      "12345": {flow: police}')
    warnings = [str(w) for w in load_centre(Path("s")).warnings]
    assert len(warnings) == 1
    assert warnings[0].startswith("s/flows/police.yaml:")
    assert "nodes.menu: warning: intake line 12345: " in warnings[0]


def test_choices_that_lead_nowhere_near_a_person_are_not_warned(
        sample_copy: CentreCopy) -> None:
    # The after-hours menu offers a message or a callback: no queue either way.
    centre = load_centre(Path("s"))
    assert not any("after_hours" in str(w) for w in centre.warnings)


def test_describe_reports_time_to_a_person_per_line_and_mode(sample: Centre) -> None:
    out = io.StringIO()
    assert run_describe(argparse.Namespace(directory=str(SAMPLE)), out, io.StringIO()) == 0
    text = out.getvalue()
    section = text[text.index("time to a person"):]
    row = next(line for line in section.splitlines() if line.strip().startswith("12345 "))
    assert "normal:" in row and "emergency:" in row and "silent" in row


def test_silent_caller_reaches_an_agent_on_12345_within_15_s(sample: Centre) -> None:
    speak = catalogue_speaker(sample.prompts, "zh", None, None)

    silent = time_to_queue(sample.flows, "main", "normal", speak, silent=True)
    assert silent is not None and silent.queue == "general"
    greeting = speak("greeting")
    assert silent.seconds == pytest.approx(greeting + 1.0)  # the greeting, then 1 s to answer
    assert silent.seconds < 15
    emergency = time_to_queue(sample.flows, "main", "emergency", speak, silent=True)
    assert emergency is not None
    assert emergency.seconds == pytest.approx(greeting + speak("emergency_announcement") + 1.0)
    # Taking shortcuts can take longer (e.g. the enterprise menu), never less.
    longest = time_to_queue(sample.flows, "main", "normal", speak)
    assert longest is not None and longest.seconds > silent.seconds


def test_silent_time_counts_retries_timeouts_and_no_input_prompts(sample: Centre) -> None:
    lengths = {"police_notice": 3.0, "police_menu": 4.0, "no_input": 2.0}

    def speak(prompt_id: str) -> float:
        return lengths.get(prompt_id, 0.0)

    police = sample.flows["police"]
    menu = police.nodes["menu"]
    retries = police.defaults.retries
    timeout = police.defaults.timeout_s
    assert getattr(menu, "retries", None) is None and getattr(menu, "timeout_s", None) is None
    silent = time_to_queue(sample.flows, "police", "normal", speak, silent=True)
    assert silent is not None
    assert silent.seconds == pytest.approx(
        3.0 + (retries + 1) * (4.0 + timeout) + retries * 2.0)


def test_speech_estimate_uses_the_two_rates() -> None:
    assert estimate_speech_s("一二三四五六七八九") == pytest.approx(9 / MANDARIN_CHARS_PER_S)
    assert estimate_speech_s("x" * 28) == pytest.approx(28 / LATIN_CHARS_PER_S)
    assert estimate_speech_s("好") == MIN_PROMPT_S


def _wav(path: Path, seconds: float, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(b"\0\0" * int(seconds * rate))


def test_a_recording_that_exists_sets_the_prompt_length(tmp_path: Path) -> None:
    (tmp_path / "sounds").mkdir()
    _wav(tmp_path / "sounds" / "hi.wav", 2.5)
    prompt = Prompt(id="hi", text="您好" * 20, language="zh", audio="sounds/hi.wav")
    assert wav_duration_s(tmp_path / "sounds" / "hi.wav") == pytest.approx(2.5)
    assert prompt_duration_s(prompt, tmp_path) == pytest.approx(2.5)
    missing = Prompt(id="hi", text="您好" * 20, language="zh", audio="sounds/none.wav")
    assert prompt_duration_s(missing, tmp_path) == pytest.approx(40 / MANDARIN_CHARS_PER_S)
    (tmp_path / "sounds" / "bad.wav").write_bytes(b"not a wav")
    assert wav_duration_s(tmp_path / "sounds" / "bad.wav") is None
