"""Rendering the prompt catalogue into the sound files Asterisk plays.

    plan = plan_render(catalogue, base=config_dir, languages=("zh", "en"),
                       required=referenced_prompts(flows, "zh"))
    results = render(plan, out_dir, jobs=2)

Every prompt with a text in a language becomes ``<out>/<language>/<id>.wav``: 8 kHz,
16-bit, mono PCM, which Asterisk plays without transcoding. Installed under Asterisk's
sounds directory as ``hotline/`` (``/var/lib/asterisk/sounds/hotline/zh/greeting.wav``),
a prompt is the sound ``hotline/zh/greeting``: `STREAM FILE hotline/zh/greeting` over
FastAGI, ``sound:hotline/zh/greeting`` over ARI (`sound_name`).

Where the catalogue names a recording (``audio: {zh: sounds/zh/greeting.wav}``, relative
to the config directory) it is converted with sox; when that file is missing the text
is spoken instead and the plan carries a warning. Otherwise the text is spoken offline
by espeak-ng (voice ``cmn`` for Mandarin, ``en`` for English) and resampled by sox.
Texts with placeholders (``{position}``) are not rendered: the words differ per call,
so they need text-to-speech at run time (or digit prompts); the plan lists them.

The text reaches espeak-ng on its standard input, never as an argument or through a
shell, so no prompt text can become an option or a command.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from hotline.ivr.prompts import PromptCatalogue

__all__ = [
    "SAMPLE_RATE",
    "SOUND_PREFIX",
    "VOICES",
    "Missing",
    "RenderError",
    "RenderJob",
    "RenderPlan",
    "RenderResult",
    "Source",
    "plan_render",
    "render",
    "render_one",
    "sound_name",
    "voice_for",
]

SAMPLE_RATE = 8000
SOUND_PREFIX = "hotline"
VOICES: Mapping[str, str] = {"zh": "cmn", "en": "en"}
"""espeak-ng voice per catalogue language (the part before any ``-``)."""

_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]+)?")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
TIMEOUT_S = 120.0


class RenderError(RuntimeError):
    """A tool failed or is missing; the message says which and why."""


def sound_name(prompt_id: str, language: str, prefix: str = SOUND_PREFIX) -> str:
    """The Asterisk sound name of a rendered prompt: ``hotline/zh/greeting``."""
    if _ID.fullmatch(prompt_id) is None or ".." in prompt_id:
        raise ValueError(f"prompt id {prompt_id!r} cannot be a sound file name")
    if _LANGUAGE.fullmatch(language) is None:
        raise ValueError(f"{language!r} is not a language code")
    if prefix and re.fullmatch(r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*", prefix) is None:
        raise ValueError(f"sound prefix {prefix!r} must be plain directory names")
    return f"{prefix}/{language}/{prompt_id}" if prefix else f"{language}/{prompt_id}"


def voice_for(language: str) -> str | None:
    return VOICES.get(language.partition("-")[0])


class Source(Enum):
    RECORDING = "recording"
    TTS = "tts"


@dataclass(frozen=True, slots=True)
class RenderJob:
    prompt_id: str
    language: str
    source: Source
    text: str
    recording: Path | None = None  # set for Source.RECORDING
    warning: str = ""  # e.g. the catalogue's recording is missing: spoken instead

    @property
    def relative(self) -> Path:
        """The output file below the output directory: ``zh/greeting.wav``."""
        return Path(self.language) / f"{self.prompt_id}.wav"


@dataclass(frozen=True, slots=True)
class Missing:
    """A prompt a flow needs that has neither a recording nor a text in `language`."""

    prompt_id: str
    language: str
    why: str


@dataclass(frozen=True, slots=True)
class RenderPlan:
    jobs: tuple[RenderJob, ...]
    runtime: tuple[tuple[str, str, tuple[str, ...]], ...]  # (id, language, placeholders)
    missing: tuple[Missing, ...]
    refused: tuple[tuple[str, str], ...]  # (id, why): ids that cannot be file names

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(f"{j.prompt_id} ({j.language}): {j.warning}" for j in self.jobs if j.warning)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.refused


@dataclass(frozen=True, slots=True)
class RenderResult:
    job: RenderJob
    path: Path
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def plan_render(
    catalogue: PromptCatalogue,
    *,
    base: Path,
    languages: Iterable[str] | None = None,
    required: Iterable[tuple[str, str]] = (),
) -> RenderPlan:
    """What `render` will do. `languages`: which to render (default: every language a
    prompt has); `required`: (id, language) pairs that must be playable (a flow plays
    them), reported in `missing` when neither a text nor a recording exists."""
    wanted = None if languages is None else frozenset(languages)
    jobs: list[RenderJob] = []
    runtime: list[tuple[str, str, tuple[str, ...]]] = []
    refused: list[tuple[str, str]] = []
    for prompt_id in catalogue.ids():
        entry = catalogue.root[prompt_id]
        for language, text in entry.texts.items():
            if wanted is not None and language not in wanted:
                continue
            try:
                sound_name(prompt_id, language)
            except ValueError as exc:
                refused.append((prompt_id, str(exc)))
                continue
            names = tuple(dict.fromkeys(_PLACEHOLDER.findall(text)))
            if names:
                runtime.append((prompt_id, language, names))
                continue
            audio = entry.audio.get(language)
            if audio is not None:
                path = Path(audio)
                path = path if path.is_absolute() else base / path
                if path.is_file():
                    jobs.append(RenderJob(prompt_id, language, Source.RECORDING, text, path))
                    continue
                jobs.append(RenderJob(prompt_id, language, Source.TTS, text, None,
                                      f"recording {audio} not found; spoken by text-to-speech"))
                continue
            jobs.append(RenderJob(prompt_id, language, Source.TTS, text))
    missing: list[Missing] = []
    for prompt_id, language in dict.fromkeys(required):
        if prompt_id not in catalogue:
            missing.append(Missing(prompt_id, language, "not in the prompt catalogue"))
        elif language not in catalogue.languages_of(prompt_id):
            missing.append(Missing(prompt_id, language, f"no {language} text or recording"))
    return RenderPlan(tuple(jobs), tuple(runtime), tuple(missing), tuple(refused))


def _run(args: Sequence[str], stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(list(args), input=stdin, capture_output=True, check=False,
                              timeout=TIMEOUT_S)
    except FileNotFoundError:
        raise RenderError(f"{args[0]} is not installed (make sysdeps installs it)") from None
    except subprocess.TimeoutExpired:
        raise RenderError(f"{args[0]} took longer than {TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"{args[0]} failed ({done.returncode}): "
                          f"{detail[-1] if detail else 'no message'}")
    return done.stdout


_SOX_OUT = ("-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer")


def render_one(job: RenderJob, out_dir: Path) -> RenderResult:
    """Render one prompt to ``out_dir/<language>/<id>.wav`` (written atomically)."""
    target = out_dir / job.relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.stem}.partial.wav")
    try:
        if job.source is Source.RECORDING:
            assert job.recording is not None
            _run(["sox", str(job.recording), *_SOX_OUT, str(partial)])
        else:
            voice = voice_for(job.language)
            if voice is None:
                raise RenderError(f"no espeak-ng voice configured for {job.language!r}")
            speech = _run(["espeak-ng", "-v", voice, "--stdin", "--stdout"],
                          stdin=job.text.encode("utf-8"))
            _run(["sox", "-t", "wav", "-", *_SOX_OUT, str(partial)], stdin=speech)
        partial.replace(target)
    except RenderError as exc:
        partial.unlink(missing_ok=True)
        return RenderResult(job, target, str(exc))
    return RenderResult(job, target)


def render(plan: RenderPlan, out_dir: Path, *, jobs: int = 1) -> list[RenderResult]:
    """Render every job of `plan`; `jobs` > 1 runs that many tool pipelines at once
    (the work happens in espeak-ng and sox processes). Results in plan order."""
    if jobs <= 1 or len(plan.jobs) <= 1:
        return [render_one(job, out_dir) for job in plan.jobs]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda job: render_one(job, out_dir), plan.jobs))
