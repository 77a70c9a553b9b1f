"""Prompts whose words are known only during the call, as sounds Asterisk can play.

    spoken = SpokenPrompts.from_catalogue(
        catalogue, SpokenSettings(Path("/var/lib/asterisk/sounds")), base=config_dir)
    await spoken.warm(announcement_prompts(catalogue, ("zh", "en")))  # at start-up
    await spoken.media(prompt)    # "hotline/zh/greeting" or "hotline/tts/zh/3f2a..."
    await spoken.sounds(prompts)  # the same for a whole Play or Announce

The ACD's announcements fill numbers into catalogue texts (您目前排在第{position}位 becomes
您目前排在第3位), and no file rendered ahead of time says them. A prompt whose text is
its catalogue text plays the file `hotline prompts build` made (`hotline/<language>/<id>`,
`hotline.ivr.render.sound_name`). Any other text is spoken by the renderer `prompts build`
uses (`hotline.ivr.render.render_one`: espeak-ng, voice `cmn` for Mandarin and `en` for
English, then sox to 8 kHz mono 16-bit WAV) into
`<sounds>/<prefix>/tts/<language>/<sha256 of language and text>.wav`, played as
`hotline/tts/<language>/<sha256>`.

- The file is the cache: a text is rendered once, also across restarts (a file from an
  earlier run is found on disk; `render_one` writes a temporary name and renames it).
  The same text asked for by several calls at once is rendered once.
- Renders run on worker threads (the tools are processes; the event loop never waits
  on them), at most `max_renders` at once; `warm` uses at most `warm_renders` of those,
  so a live caller's text is not stuck behind the start-up batch.
- A caller waits at most `timeout_s` for a render. On a timeout or a failure a warning
  is logged and the caller hears the fallback; a render that is late goes on and its
  file serves the next caller; a text that failed is tried again after `retry_after_s`.
- The fallback is the prompt's own pre-rendered file when `prompts build` makes one (its
  catalogue text has no placeholders), else the pre-rendered file of the prompt
  `fallbacks` names (a position falls back to "all agents are busy, please hold"), else
  nothing: `sounds` leaves the prompt out rather than play a missing file.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hotline.ivr.prompts import MissingPrompt, PromptCatalogue
from hotline.ivr.render import (
    SOUND_PREFIX,
    RenderJob,
    RenderResult,
    Source,
    plan_render,
    render_one,
    sound_name,
    voice_for,
)
from hotline.queue.announcements import (
    CALLBACK_KEY,
    QUEUE_CALLBACK_OFFER,
    QUEUE_EXPECTED_WAIT,
    QUEUE_POSITION,
    QUEUE_WAIT_UNKNOWN,
    announcement_values,
    default_prompt,
    fill,
)
from hotline.vocabulary.commands import Announce, Prompt

__all__ = [
    "TTS_DIRECTORY",
    "Renderer",
    "SpokenPrompts",
    "SpokenSettings",
    "WarmReport",
    "announcement_prompts",
    "render_in_thread",
    "speech_digest",
]

log = logging.getLogger(__name__)

TTS_DIRECTORY = "tts"
"""Below the sound prefix: `hotline/tts/<language>/<digest>`."""

Renderer = Callable[[RenderJob, Path], Awaitable[RenderResult]]
"""Renders `job` into `<out_dir>/<language>/<prompt_id>.wav` (`render_one`'s contract)."""


async def render_in_thread(job: RenderJob, out_dir: Path) -> RenderResult:
    """`hotline.ivr.render.render_one` (espeak-ng and sox) on a worker thread."""
    return await asyncio.to_thread(render_one, job, out_dir)


def _default_fallbacks() -> Mapping[str, str]:
    return {QUEUE_POSITION: QUEUE_WAIT_UNKNOWN}


@dataclass(frozen=True, slots=True)
class SpokenSettings:
    # Asterisk's sounds directory (`astdatadir`/sounds); `prompts build` writes the
    # catalogue into <sounds_dir>/<prefix>/<language>/, run-time speech goes to .../tts/.
    sounds_dir: Path
    prefix: str = SOUND_PREFIX
    max_renders: int = 2  # espeak-ng + sox pipelines at once (each busy on one core)
    warm_renders: int = 1  # how many of those `warm` may take
    timeout_s: float = 3.0  # a caller waits this long for a render, then hears the fallback
    retry_after_s: float = 300.0  # a text that failed to render is tried again after this
    # prompt id -> a prompt id to say instead when the words cannot be rendered
    fallbacks: Mapping[str, str] = field(default_factory=_default_fallbacks)

    def __post_init__(self) -> None:
        if self.max_renders < 1 or not 1 <= self.warm_renders <= self.max_renders:
            raise ValueError("need max_renders >= 1 and 1 <= warm_renders <= max_renders")
        if self.timeout_s < 0 or self.retry_after_s < 0:
            raise ValueError("timeout_s and retry_after_s must not be negative")
        sound_name("x", "zh", self.prefix)  # plain directory names, or ValueError

    @property
    def tts_prefix(self) -> str:
        return f"{self.prefix}/{TTS_DIRECTORY}" if self.prefix else TTS_DIRECTORY

    @property
    def tts_dir(self) -> Path:
        """Where rendered texts go: `<tts_dir>/<language>/<digest>.wav`."""
        return self.sounds_dir / self.tts_prefix


def speech_digest(language: str, text: str) -> str:
    """The cache key and file name of a spoken text."""
    return hashlib.sha256(f"{language}\n{text}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Speech:
    """One text to be spoken in one language, and where its sound lives."""

    language: str
    text: str
    digest: str
    name: str  # the Asterisk sound name: hotline/tts/<language>/<digest>

    @property
    def relative(self) -> Path:
        return Path(self.language) / f"{self.digest}.wav"


class _Outcome(enum.Enum):
    RENDERED = "rendered"
    FOUND = "found"  # on disk already (an earlier run)
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class WarmReport:
    rendered: int = 0
    cached: int = 0  # already on disk or rendered in this run
    static: int = 0  # the catalogue text itself: the pre-rendered file serves it
    failed: int = 0  # no voice for the language, or the tools failed


class SpokenPrompts:
    """Turns resolved prompts into Asterisk sound names; see the module docstring.

    `static_texts` maps (prompt id, language) to the text whose file `prompts build`
    renders; `from_catalogue` takes them from the catalogue's render plan. Create it
    anywhere; use it from one event loop.
    """

    def __init__(
        self,
        static_texts: Mapping[tuple[str, str], str],
        settings: SpokenSettings,
        *,
        renderer: Renderer = render_in_thread,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._static = dict(static_texts)
        self._renderer = renderer
        self._clock = clock
        self._slots = asyncio.Semaphore(settings.max_renders)
        self._ready: set[str] = set()  # digests whose file is on disk
        self._failed: dict[str, float] = {}  # digest -> when its render failed
        self._renders: dict[str, asyncio.Task[_Outcome]] = {}  # in flight, by digest
        self._warned_languages: set[str] = set()

    @classmethod
    def from_catalogue(
        cls,
        catalogue: PromptCatalogue,
        settings: SpokenSettings,
        *,
        base: Path,
        renderer: Renderer = render_in_thread,
        clock: Callable[[], float] = time.monotonic,
    ) -> SpokenPrompts:
        """Static texts from `prompts build`'s own plan (`base`: the config directory,
        where the catalogue's recordings are), so both agree on what has a file. Looks
        for the recordings on disk: call it while starting up, not on a live loop."""
        plan = plan_render(catalogue, base=base)
        texts = {(job.prompt_id, job.language): job.text for job in plan.jobs}
        return cls(texts, settings, renderer=renderer, clock=clock)

    # --- naming ---------------------------------------------------------------------------

    def is_static(self, prompt: Prompt) -> bool:
        """The prompt says its catalogue text: the pre-rendered file says it."""
        return self._static.get((prompt.id, prompt.language)) == prompt.text

    def static_name(self, prompt_id: str, language: str) -> str | None:
        """The pre-rendered sound of a prompt, None when `prompts build` makes none."""
        if (prompt_id, language) not in self._static:
            return None
        return sound_name(prompt_id, language, self.settings.prefix)

    def _speech(self, prompt: Prompt) -> _Speech | None:
        if voice_for(prompt.language) is None:
            if prompt.language not in self._warned_languages:
                self._warned_languages.add(prompt.language)
                log.warning("no text-to-speech voice for language %r: its prompts with "
                            "run-time words are replaced by their fallback", prompt.language)
            return None
        digest = speech_digest(prompt.language, prompt.text)
        try:
            name = sound_name(digest, prompt.language, self.settings.tts_prefix)
        except ValueError as exc:
            log.warning("prompt %r: %s", prompt.id, exc)
            return None
        return _Speech(prompt.language, prompt.text, digest, name)

    def _fallback(self, prompt: Prompt) -> str | None:
        own = self.static_name(prompt.id, prompt.language)
        if own is not None:
            return own
        instead = self.settings.fallbacks.get(prompt.id)
        return None if instead is None else self.static_name(instead, prompt.language)

    # --- playing ------------------------------------------------------------------------

    async def media(self, prompt: Prompt) -> str:
        """The sound to play for `prompt`: its pre-rendered file, its words rendered
        now (or earlier), or the fallback. With nothing better it is the prompt's own
        `hotline/<language>/<id>`, as drivers played before there was run-time speech
        (`ValueError` if the id cannot be a sound name: `sounds` leaves it out)."""
        found, _ = await self._resolve(prompt)
        return found if found is not None else sound_name(
            prompt.id, prompt.language, self.settings.prefix)

    async def sounds(self, prompts: Iterable[Prompt]) -> list[str]:
        """The sounds of several prompts in order; a prompt with nothing to play is left
        out, and a fallback is not said twice in a row."""
        out: list[str] = []
        for prompt in prompts:
            found, fallback = await self._resolve(prompt)
            if found is None:
                log.warning("prompt %r (%s) has no sound to play; left out", prompt.id,
                            prompt.language)
            elif not (fallback and out and out[-1] == found):
                out.append(found)
        return out

    async def _resolve(self, prompt: Prompt) -> tuple[str | None, bool]:
        """The sound, and whether it is a fallback."""
        if self.is_static(prompt):
            return sound_name(prompt.id, prompt.language, self.settings.prefix), False
        speech = self._speech(prompt)
        if speech is None:
            return self._fallback(prompt), True
        if speech.digest in self._ready:
            return speech.name, False
        failed_at = self._failed.get(speech.digest)
        if failed_at is not None and self._clock() - failed_at < self.settings.retry_after_s:
            return self._fallback(prompt), True
        render = self._render_task(speech)
        try:
            outcome = await asyncio.wait_for(asyncio.shield(render), self.settings.timeout_s)
        except TimeoutError:
            log.warning("speech for prompt %r (%s) not ready within %.1f s; the fallback "
                        "plays (the file serves later calls)", prompt.id, prompt.language,
                        self.settings.timeout_s)
            return self._fallback(prompt), True
        if outcome is _Outcome.FAILED:
            return self._fallback(prompt), True
        return speech.name, False

    # --- rendering ------------------------------------------------------------------------

    def _render_task(self, speech: _Speech) -> asyncio.Task[_Outcome]:
        task = self._renders.get(speech.digest)
        if task is None:
            task = asyncio.get_running_loop().create_task(
                self._render(speech), name=f"speech-{speech.digest[:12]}")
            self._renders[speech.digest] = task
            task.add_done_callback(lambda _: self._renders.pop(speech.digest, None))
        return task

    async def _render(self, speech: _Speech) -> _Outcome:
        tts_dir = self.settings.tts_dir
        job = RenderJob(speech.digest, speech.language, Source.TTS, speech.text)
        async with self._slots:
            if await asyncio.to_thread((tts_dir / speech.relative).is_file):
                self._ready.add(speech.digest)
                return _Outcome.FOUND
            try:
                error = (await self._renderer(job, tts_dir)).error
            except (OSError, ValueError) as exc:  # e.g. no permission on the directory
                error = f"{type(exc).__name__}: {exc}"
        if error:
            self._failed[speech.digest] = self._clock()
            log.warning("text-to-speech of %r (%s) failed, the fallback plays: %s",
                        speech.text, speech.language, error)
            return _Outcome.FAILED
        self._failed.pop(speech.digest, None)
        self._ready.add(speech.digest)
        return _Outcome.RENDERED

    async def warm(self, prompts: Iterable[Prompt]) -> WarmReport:
        """Render what `prompts` would need ahead of the calls (e.g.
        `announcement_prompts`): files already on disk are taken as they are."""
        static = unvoiced = 0
        wanted: dict[str, _Speech] = {}
        for prompt in prompts:
            if self.is_static(prompt):
                static += 1
                continue
            speech = self._speech(prompt)
            if speech is None:
                unvoiced += 1
            else:
                wanted.setdefault(speech.digest, speech)
        languages = {speech.language for speech in wanted.values()}
        self._ready |= await asyncio.to_thread(self._on_disk, languages)
        cached = sum(1 for digest in wanted if digest in self._ready)
        todo = [speech for digest, speech in wanted.items() if digest not in self._ready]
        todo.reverse()  # popped from the end: in the order given
        counts = dict.fromkeys(_Outcome, 0)

        async def worker() -> None:
            while todo:
                counts[await self._render_task(todo.pop())] += 1

        await asyncio.gather(*(worker() for _ in range(self.settings.warm_renders)))
        return WarmReport(
            rendered=counts[_Outcome.RENDERED],
            cached=cached + counts[_Outcome.FOUND],
            static=static,
            failed=counts[_Outcome.FAILED] + unvoiced,
        )

    def _on_disk(self, languages: Iterable[str]) -> set[str]:
        """Digests with a file in the cache (one directory listing per language)."""
        found: set[str] = set()
        for language in languages:
            try:
                names = os.listdir(self.settings.tts_dir / language)
            except FileNotFoundError:
                continue
            found.update(name[:-4] for name in names if name.endswith(".wav")
                         and not name.startswith("."))
        return found

    async def aclose(self) -> None:
        """Stop waiting for renders in flight (on shutdown); a tool already running
        finishes on its worker thread and its file is kept."""
        tasks = list(self._renders.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


def announcement_prompts(
    catalogue: PromptCatalogue | None,
    languages: Iterable[str],
    *,
    positions: Iterable[int] = range(1, 51),
    minutes: Iterable[int] = range(1, 61),
    fallback_language: str | None = None,
) -> list[Prompt]:
    """The queue announcements with the common numbers in them, worded as the centre
    says them (the catalogue's text in the language, else the ACD's built-in text), for
    `SpokenPrompts.warm`: positions 1-50, expected waits of 1-60 minutes, the callback
    offer."""
    numbers = [(QUEUE_POSITION, Announce("", n, None)) for n in positions]
    numbers += [(QUEUE_EXPECTED_WAIT, Announce("", None, m * 60.0)) for m in minutes]
    numbers.append((QUEUE_CALLBACK_OFFER, Announce("", None, None, (), CALLBACK_KEY)))
    return [
        _announced(catalogue, prompt_id, language, fallback_language,
                   announcement_values(announce))
        for language in dict.fromkeys(languages)
        for prompt_id, announce in numbers
    ]


def _announced(catalogue: PromptCatalogue | None, prompt_id: str, language: str,
               fallback_language: str | None, values: Mapping[str, str]) -> Prompt:
    # As the centre kernel words an announcement: the catalogue's text in the call's
    # language (else the fallback language), placeholders filled; an id the catalogue
    # lacks keeps the ACD's built-in text.
    if catalogue is None:
        return default_prompt(prompt_id, values)
    try:
        found = catalogue.resolve(prompt_id, language, fallback_language)
    except MissingPrompt:
        return default_prompt(prompt_id, values)
    return Prompt(found.id, fill(found.text, values), found.language)
