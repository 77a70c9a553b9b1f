"""Run-time speech of prompts with filled-in words: real espeak-ng and sox where the
words matter, a scripted renderer where counting and timing matter."""

from __future__ import annotations

import asyncio
import logging
import shutil
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hotline.ivr.files import SAMPLE_CONFIG, load_ivr_config
from hotline.ivr.prompts import PromptCatalogue
from hotline.ivr.render import RenderJob, RenderResult
from hotline.queue.announcements import (
    QUEUE_CALLBACK_BY,
    QUEUE_CALLBACK_CONFIRMED,
    QUEUE_EXPECTED_WAIT,
    QUEUE_POSITION,
    QUEUE_WAIT_UNKNOWN,
    default_prompt,
)
from hotline.telephony.spoken import (
    Renderer,
    SpokenPrompts,
    SpokenSettings,
    announcement_prompts,
    render_in_thread,
    speech_digest,
)
from hotline.vocabulary.commands import Prompt

TOOLS = shutil.which("espeak-ng") is not None and shutil.which("sox") is not None
needs_tools = pytest.mark.skipif(
    not TOOLS, reason="espeak-ng and sox are not installed (make sysdeps installs them)")


@pytest.fixture(scope="module")
def catalogue() -> PromptCatalogue:
    return load_ivr_config(SAMPLE_CONFIG)[1]


def spoken_for(catalogue: PromptCatalogue, sounds: Path, renderer: Renderer = render_in_thread,
               **settings: Any) -> SpokenPrompts:
    return SpokenPrompts.from_catalogue(catalogue, SpokenSettings(sounds, **settings),
                                        base=SAMPLE_CONFIG, renderer=renderer)


def position(n: int, language: str = "zh") -> Prompt:
    text = {"zh": f"您目前排在第{n}位，请耐心等待。",
            "en": f"You are number {n} in the queue. Please hold."}[language]
    return Prompt(QUEUE_POSITION, text, language)


def tts_name(prompt: Prompt) -> str:
    return f"hotline/tts/{prompt.language}/{speech_digest(prompt.language, prompt.text)}"


def wav_facts(path: Path) -> tuple[int, int, int, int]:
    with wave.open(str(path)) as wav:
        return wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes()


@dataclass
class ScriptedRenderer:
    """Stands in for espeak-ng + sox: counts renders, can hold them until released,
    can fail; a success writes a short silent 8 kHz WAV where `render_one` would."""

    fail: bool = False
    raises: Exception | None = None
    held: bool = False  # renders wait for `release()`
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    jobs: list[RenderJob] = field(default_factory=list)
    active: int = 0
    most_active: int = 0

    async def __call__(self, job: RenderJob, out_dir: Path) -> RenderResult:
        self.jobs.append(job)
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        async with self.changed:
            self.changed.notify_all()
        try:
            if self.held:
                await self.gate.wait()
            if self.raises is not None:
                raise self.raises
            target = out_dir / job.relative
            if self.fail:
                return RenderResult(job, target, "espeak-ng failed (1): no voice data")
            target.parent.mkdir(parents=True, exist_ok=True)
            with wave.open(str(target), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(8000)
                wav.writeframes(b"\0\0" * 800)
            return RenderResult(job, target)
        finally:
            self.active -= 1

    def release(self) -> None:
        self.gate.set()

    async def reached(self, active: int) -> None:
        """Until `active` renders run at once (a guard against a hang, not a timing)."""
        async with asyncio.timeout(10.0):
            async with self.changed:
                await self.changed.wait_for(lambda: self.active >= active)




# --- the real tools -------------------------------------------------------------------------


@needs_tools
async def test_filled_in_words_become_an_8khz_mono_wav(catalogue: PromptCatalogue,
                                                       tmp_path: Path) -> None:
    spoken = spoken_for(catalogue, tmp_path)
    for prompt in (position(3), position(12, "en")):
        name = await spoken.media(prompt)
        assert name == tts_name(prompt)
        rate, channels, width, frames = wav_facts(tmp_path / f"{name}.wav")
        assert (rate, channels, width) == (8000, 1, 2)
        assert frames > 8000 // 2  # a sentence, not an empty file
    assert not list(tmp_path.rglob(".*"))  # no partial file left behind


@needs_tools
async def test_text_that_looks_like_options_or_commands_is_only_spoken(
    catalogue: PromptCatalogue, tmp_path: Path,
) -> None:
    text = '--help "; rm -rf / #\n$(id) 第3位'
    spoken = spoken_for(catalogue, tmp_path)
    prompt = Prompt(QUEUE_POSITION, text, "zh")
    assert await spoken.media(prompt) == tts_name(prompt)
    assert wav_facts(tmp_path / f"{tts_name(prompt)}.wav")[0] == 8000


@needs_tools
async def test_a_text_is_rendered_once_even_across_restarts(catalogue: PromptCatalogue,
                                                           tmp_path: Path) -> None:
    renders: list[RenderJob] = []

    async def counting(job: RenderJob, out_dir: Path) -> RenderResult:
        renders.append(job)  # one espeak-ng and one sox process per render
        return await render_in_thread(job, out_dir)

    spoken = spoken_for(catalogue, tmp_path, counting)
    first = await spoken.media(position(7))
    assert await spoken.media(position(7)) == first
    assert set(await asyncio.gather(*(spoken.media(position(8)) for _ in range(4)))) == {
        tts_name(position(8))}
    assert len(renders) == 2
    restarted = spoken_for(catalogue, tmp_path, counting)  # the file is the cache
    assert await restarted.media(position(7)) == first
    report = await restarted.warm([position(7), position(8)])
    assert (report.rendered, report.cached) == (0, 2)
    assert len(renders) == 2


# --- what plays ------------------------------------------------------------------------------


async def test_catalogue_text_plays_the_prebuilt_file(catalogue: PromptCatalogue,
                                                      tmp_path: Path) -> None:
    renderer = ScriptedRenderer()
    spoken = spoken_for(catalogue, tmp_path, renderer)
    greeting = catalogue.resolve("greeting", "zh")
    busy = catalogue.resolve(QUEUE_WAIT_UNKNOWN, "en")
    assert await spoken.media(greeting) == "hotline/zh/greeting"
    assert await spoken.sounds((greeting, busy)) == ["hotline/zh/greeting",
                                                     "hotline/en/queue.wait_unknown"]
    assert renderer.jobs == []
    # A prompt the catalogue lacks (the ACD's built-in text) has no file: it is spoken.
    built_in = default_prompt(QUEUE_CALLBACK_CONFIRMED)
    assert await SpokenPrompts({}, SpokenSettings(tmp_path), renderer=renderer).media(
        built_in) == tts_name(built_in)
    assert len(renderer.jobs) == 1


async def test_the_same_text_asked_for_at_once_is_rendered_once(catalogue: PromptCatalogue,
                                                                tmp_path: Path) -> None:
    renderer = ScriptedRenderer(held=True)
    spoken = spoken_for(catalogue, tmp_path, renderer, timeout_s=60.0)
    calls = [asyncio.ensure_future(spoken.media(position(4))) for _ in range(5)]
    await renderer.reached(1)
    renderer.release()
    assert set(await asyncio.gather(*calls)) == {tts_name(position(4))}
    assert await spoken.media(position(4)) == tts_name(position(4))
    assert len(renderer.jobs) == 1


async def test_a_failed_render_falls_back_and_is_tried_again_later(
    catalogue: PromptCatalogue, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    renderer = ScriptedRenderer(fail=True)
    spoken = SpokenPrompts.from_catalogue(
        catalogue, SpokenSettings(tmp_path, retry_after_s=60.0), base=SAMPLE_CONFIG,
        renderer=renderer, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="hotline.telephony.spoken"):
        # The position's template has no file; "all agents busy, please hold" has.
        assert await spoken.media(position(5)) == "hotline/zh/queue.wait_unknown"
    assert "no voice data" in caplog.text
    assert await spoken.media(position(5)) == "hotline/zh/queue.wait_unknown"
    assert len(renderer.jobs) == 1  # not hammered while it keeps failing
    now[0] += 61.0
    renderer.fail = False
    assert await spoken.media(position(5)) == tts_name(position(5))
    assert len(renderer.jobs) == 2


async def test_a_renderer_error_falls_back(catalogue: PromptCatalogue, tmp_path: Path) -> None:
    renderer = ScriptedRenderer(raises=PermissionError(13, "Permission denied"))
    spoken = spoken_for(catalogue, tmp_path, renderer)
    assert await spoken.media(position(6, "en")) == "hotline/en/queue.wait_unknown"


async def test_words_without_a_fallback_are_left_out_rather_than_played_missing(
    catalogue: PromptCatalogue, tmp_path: Path,
) -> None:
    spoken = spoken_for(catalogue, tmp_path, ScriptedRenderer(fail=True))
    confirmed = catalogue.resolve(QUEUE_CALLBACK_CONFIRMED, "zh")
    by = Prompt(QUEUE_CALLBACK_BY, "我们将在14:30前给您回电。", "zh")
    wait = Prompt(QUEUE_EXPECTED_WAIT, "预计等待约4分钟。", "zh")
    assert await spoken.sounds((confirmed, by)) == ["hotline/zh/queue.callback_confirmed"]
    # Two failed numbers with the same fallback say it once.
    assert await spoken.sounds((position(2), wait, position(2))) == [
        "hotline/zh/queue.wait_unknown"]
    assert await spoken.media(by) == "hotline/zh/queue.callback_by"
    # A prompt that is meant twice is said twice.
    assert await spoken.sounds((confirmed, confirmed)) == [
        "hotline/zh/queue.callback_confirmed"] * 2


async def test_a_language_without_a_voice_falls_back(catalogue: PromptCatalogue,
                                                     tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    renderer = ScriptedRenderer()
    spoken = SpokenPrompts({("queue.wait_unknown", "fr"): "Patientez."}, SpokenSettings(
        tmp_path), renderer=renderer)
    with caplog.at_level(logging.WARNING, logger="hotline.telephony.spoken"):
        assert await spoken.media(Prompt(QUEUE_POSITION, "Vous êtes 3e.", "fr")) == (
            "hotline/fr/queue.wait_unknown")
    assert "no text-to-speech voice for language 'fr'" in caplog.text
    assert renderer.jobs == []


# --- limits --------------------------------------------------------------------------------


async def test_renders_at_once_never_exceed_the_bound(catalogue: PromptCatalogue,
                                                      tmp_path: Path) -> None:
    renderer = ScriptedRenderer(held=True)
    spoken = spoken_for(catalogue, tmp_path, renderer, max_renders=2, timeout_s=60.0)
    calls = [asyncio.ensure_future(spoken.media(position(n))) for n in range(1, 7)]
    await renderer.reached(2)
    for _ in range(20):  # the other four get as far as they can: the bound holds them
        await asyncio.sleep(0)
    assert renderer.active == 2 and len(renderer.jobs) == 2
    renderer.release()
    assert await asyncio.gather(*calls) == [tts_name(position(n)) for n in range(1, 7)]
    assert renderer.most_active == 2 and len(renderer.jobs) == 6


async def test_a_slow_render_does_not_hold_the_caller(catalogue: PromptCatalogue,
                                                      tmp_path: Path) -> None:
    renderer = ScriptedRenderer(held=True)
    spoken = spoken_for(catalogue, tmp_path, renderer, timeout_s=0.0)
    assert await spoken.media(position(9)) == "hotline/zh/queue.wait_unknown"
    renderer.release()
    await spoken.warm([position(9)])  # waits for the render already under way
    assert await spoken.media(position(9)) == tts_name(position(9))
    assert len(renderer.jobs) == 1


async def test_warm_renders_the_common_numbers_and_leaves_room_for_calls(
    catalogue: PromptCatalogue, tmp_path: Path,
) -> None:
    renderer = ScriptedRenderer(held=True)
    spoken = spoken_for(catalogue, tmp_path, renderer, max_renders=2, warm_renders=1,
                        timeout_s=60.0)
    prompts = announcement_prompts(catalogue, ["zh", "en"], positions=range(1, 4),
                                   minutes=range(1, 3))
    assert len(prompts) == 2 * (3 + 2 + 1)
    warming = asyncio.ensure_future(spoken.warm(prompts))
    await renderer.reached(1)
    live = asyncio.ensure_future(spoken.media(position(40)))  # a caller meanwhile
    await renderer.reached(2)
    # One slot warms, the other is the caller's: their text is not queued behind 12.
    assert [job.text for job in renderer.jobs] == [prompts[0].text, position(40).text]
    renderer.release()
    report = await warming
    assert await live == tts_name(position(40))
    assert (report.rendered, report.cached, report.failed) == (12, 0, 0)
    assert (await spoken.warm(prompts)).cached == 12
    assert len(renderer.jobs) == 13


def test_announcement_prompts_are_worded_as_the_centre_says_them(
    catalogue: PromptCatalogue,
) -> None:
    prompts = announcement_prompts(catalogue, ["zh", "en"], positions=[3], minutes=[5])
    assert [(p.id, p.language, p.text) for p in prompts] == [
        (QUEUE_POSITION, "zh", "您目前排在第3位，请耐心等待。"),
        (QUEUE_EXPECTED_WAIT, "zh", "预计等待约5分钟。"),
        ("queue.callback_offer", "zh", "如需回电，请按1，我们将保留您的排队顺序。"),
        (QUEUE_POSITION, "en", "You are number 3 in the queue. Please hold."),
        (QUEUE_EXPECTED_WAIT, "en", "The expected wait is about 5 minutes."),
        ("queue.callback_offer", "en",
         "To be called back instead of waiting, press 1; you keep your place in the queue."),
    ]
    # Without a catalogue: the ACD's built-in Mandarin.
    assert announcement_prompts(None, ["zh"], positions=[2], minutes=[])[0].text == (
        "您目前排在第2位，请耐心等待。")


def test_settings_are_checked(tmp_path: Path) -> None:
    bad_settings: list[dict[str, Any]] = [
        {"max_renders": 0}, {"warm_renders": 3}, {"timeout_s": -1.0}, {"prefix": "../etc"}]
    for bad in bad_settings:
        with pytest.raises(ValueError):
            SpokenSettings(tmp_path, **bad)
    assert SpokenSettings(tmp_path).tts_dir == tmp_path / "hotline" / "tts"
