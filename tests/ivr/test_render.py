"""Rendering prompts to the 8 kHz WAV files Asterisk plays (espeak-ng and sox, real)."""

from __future__ import annotations

import argparse
import subprocess
import wave
from pathlib import Path

import pytest

from hotline.cli import prompts as prompts_cli
from hotline.ivr.durations import estimate_speech_s, wav_duration_s
from hotline.ivr.prompts import PromptCatalogue
from hotline.ivr.render import Source, plan_render, render, sound_name


def catalogue(data: dict[str, object]) -> PromptCatalogue:
    return PromptCatalogue.model_validate(data)


def check_wav(path: Path) -> float:
    with wave.open(str(path), "rb") as audio:
        assert (audio.getframerate(), audio.getsampwidth(), audio.getnchannels()) == (8000, 2, 1)
    length = wav_duration_s(path)
    assert length is not None
    return length


def test_texts_render_to_8khz_wavs_of_plausible_length(tmp_path: Path) -> None:
    texts = {"greeting": {"zh": "您好，欢迎致电12345政务服务便民热线。",
                          "en": "Hello, welcome to the hotline."},
             "dash": {"en": "--help; $(touch pwned) `id` <speak>"}}
    plan = plan_render(catalogue(texts), base=tmp_path)
    assert plan.ok and {j.source for j in plan.jobs} == {Source.TTS}
    results = render(plan, tmp_path / "out", jobs=2)
    assert all(r.ok for r in results), [r.error for r in results]
    for result in results:
        length = check_wav(result.path)
        expected = estimate_speech_s(result.job.text)
        assert expected / 3 < length < expected * 3, (result.job.prompt_id, length, expected)
    assert (tmp_path / "out/zh/greeting.wav").is_file()
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_recording_is_resampled_and_a_missing_one_falls_back_to_speech(tmp_path: Path) -> None:
    recorded = tmp_path / "sounds" / "hello.wav"
    recorded.parent.mkdir()
    subprocess.run(["sox", "-n", "-r", "22050", "-c", "2", str(recorded), "synth", "1.5",
                    "sine", "440"], check=True)
    data = {"hello": {"zh": "你好", "audio": {"zh": "sounds/hello.wav"}},
            "gone": {"zh": "再见", "audio": {"zh": "sounds/gone.wav"}}}
    plan = plan_render(catalogue(data), base=tmp_path)
    by_id = {job.prompt_id: job for job in plan.jobs}
    assert by_id["hello"].source is Source.RECORDING
    assert by_id["gone"].source is Source.TTS
    assert plan.warnings == ("gone (zh): recording sounds/gone.wav not found; spoken by "
                             "text-to-speech",)
    results = {r.job.prompt_id: r for r in render(plan, tmp_path / "out")}
    assert check_wav(results["hello"].path) == pytest.approx(1.5, abs=0.01)
    assert check_wav(results["gone"].path) > 0.3


def test_placeholders_and_missing_texts_are_reported(tmp_path: Path) -> None:
    data = {"queue.position": {"zh": "您目前排在第{position}位", "en": "You are number {position}"},
            "menu": {"zh": "请按1"}}
    plan = plan_render(catalogue(data), base=tmp_path,
                       required=[("menu", "zh"), ("menu", "en"), ("nowhere", "zh")])
    assert plan.runtime == (("queue.position", "zh", ("position",)),
                            ("queue.position", "en", ("position",)))
    assert [(m.prompt_id, m.language) for m in plan.missing] == [("menu", "en"),
                                                                 ("nowhere", "zh")]
    assert not plan.ok and [j.prompt_id for j in plan.jobs] == ["menu"]


def test_sound_names() -> None:
    assert sound_name("queue.position", "zh") == "hotline/zh/queue.position"
    for bad in ("../etc/passwd", "a b", "x\ny", ""):
        with pytest.raises(ValueError):
            sound_name(bad, "zh")


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    prompts_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def write_centre(root: Path, prompts_yaml: str) -> None:
    (root / "flows").mkdir(parents=True)
    (root / "centre.yaml").write_text(
        "centre: {name: t, default_language: zh}\nlanguages: [zh]\n"
        "lines: {'12345': {flow: main}}\n", encoding="utf-8")
    (root / "flows" / "main.yaml").write_text(
        "name: main\nstart: hello\nnodes:\n"
        "  hello: {type: play, prompts: [hello, later], next: bye}\n"
        "  bye: {type: hangup}\n", encoding="utf-8")
    (root / "prompts.yaml").write_text(prompts_yaml, encoding="utf-8")


def test_cli_check_lists_missing_and_renders_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_centre(tmp_path / "c", "hello: {zh: 你好}\nlater: {en: Later}\n")
    assert run_cli(["prompts", "build", str(tmp_path / "c"), "--out", str(tmp_path / "o"),
                    "--check"]) == 1
    out, err = capsys.readouterr()
    assert "would render" in out and "zh/hello.wav" in out
    assert "missing: later (zh): no zh text or recording" in err
    assert not (tmp_path / "o").exists()


def test_cli_builds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_centre(tmp_path / "c", "hello: {zh: 你好}\nlater: {zh: 稍后}\n")
    assert run_cli(["prompts", "build", str(tmp_path / "c"), "--out", str(tmp_path / "o"),
                    "--jobs", "1"]) == 0
    assert "(sound hotline/zh/hello)" in capsys.readouterr().out
    assert check_wav(tmp_path / "o" / "zh" / "later.wav") > 0.2
