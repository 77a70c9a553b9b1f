"""How long prompts take to play, and how long a caller needs to reach a queue.

Both `hotline describe` (time to a person per line) and the simulator (how long a
virtual caller listens) size prompts here, so the two agree:

- a prompt with a recorded file that exists lasts as long as the file (WAV header);
- otherwise it is estimated from its text: Mandarin about 4.5 characters a second,
  Latin script about 14 characters a second, never under `MIN_PROMPT_S`.

`time_to_queue` walks the flow graph (`hotline.ivr.reach`) from a line's start and adds
up what a caller sits through before an `Enqueue`: prompts, and for callers who press
nothing the input timeouts, retries and no-input prompts too.
"""

from __future__ import annotations

import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hotline.ivr.model import (
    BranchNode,
    CallbackNode,
    CollectNode,
    Flow,
    GotoNode,
    MenuNode,
    Node,
    PlayNode,
    QueueNode,
    RecordNode,
    SetNode,
    SpeechNode,
    SurveyNode,
)
from hotline.ivr.prompts import MissingPrompt, PromptCatalogue
from hotline.ivr.reach import Walk, choice_refs, mode_prompts, resolve, silent_refs
from hotline.vocabulary.commands import Prompt

MANDARIN_CHARS_PER_S = 4.5
LATIN_CHARS_PER_S = 14.0
MIN_PROMPT_S = 0.8  # even "好的" takes a moment to say
_CJK_FROM = 0x2E80  # CJK radicals onward: spoken at the Mandarin rate
_MAX_PATHS = 10_000  # a guard: sample flows have dozens of paths


def estimate_speech_s(text: str) -> float:
    """Seconds to speak `text`: CJK characters at the Mandarin rate, the rest at the Latin."""
    cjk = sum(1 for ch in text if ord(ch) >= _CJK_FROM)
    return max(MIN_PROMPT_S, cjk / MANDARIN_CHARS_PER_S + (len(text) - cjk) / LATIN_CHARS_PER_S)


def wav_duration_s(path: Path) -> float | None:
    """The length of a WAV file from its header, or None when it is missing or not a WAV."""
    try:
        with wave.open(str(path), "rb") as audio:
            rate = audio.getframerate()
            return audio.getnframes() / rate if rate > 0 else None
    except (OSError, EOFError, wave.Error):
        return None


def prompt_duration_s(prompt: Prompt, base: Path | None = None) -> float:
    """The recording's length when `prompt.audio` names a WAV that exists (relative paths
    under `base`, the config directory), else the estimate from the text."""
    if prompt.audio is not None:
        path = Path(prompt.audio)
        if base is not None and not path.is_absolute():
            path = base / path
        length = wav_duration_s(path)
        if length is not None:
            return length
    return estimate_speech_s(prompt.text)


@dataclass(frozen=True, slots=True)
class QueueReach:
    """The longest way to a queue found: how long, which queue, through which nodes."""

    seconds: float
    queue: str
    path: tuple[str, ...]  # "flow:node" keys from the start to the queue node


@dataclass(frozen=True)
class _Costs:
    flows: Mapping[str, Flow]
    mode: str
    speak: Callable[[str], float]  # prompt id -> seconds

    def prompts(self, ids: tuple[str, ...]) -> float:
        return sum(self.speak(prompt_id) for prompt_id in ids)

    def no_input(self, flow: Flow, node: Node) -> float:
        """Sitting through an input node without answering until it gives up."""
        defaults = flow.defaults
        retries = getattr(node, "retries", None)
        retries = defaults.retries if retries is None else retries
        timeout = getattr(node, "timeout_s", None)
        timeout = defaults.timeout_s if timeout is None else timeout
        no_input = getattr(node, "no_input", None)
        no_input = defaults.no_input if no_input is None else no_input
        asked = self.prompts(mode_prompts(node, self.mode))
        return (retries + 1) * (asked + timeout) + retries * self.prompts(no_input)


def time_to_queue(
    flows: Mapping[str, Flow],
    start: str,
    mode: str,
    speak: Callable[[str], float],
    *,
    silent: bool = False,
) -> QueueReach | None:
    """The longest time from answer to an `Enqueue`, starting at flow `start`'s start.

    `speak` gives a prompt id's length in the caller's language. With `silent`, the
    caller never answers (only no-input ways are taken); otherwise every choice counts,
    the caller answering as soon as a question's prompts end. Branches on the centre
    mode follow `mode`; other conditions may go either way. None: no queue reachable.
    """
    costs = _Costs(flows, mode, speak)
    walk = Walk(flows, mode)
    best: QueueReach | None = None
    explored = 0
    # Depth-first over simple paths: (key, seconds so far, path so far).
    stack: list[tuple[str, float, tuple[str, ...]]] = []
    first = resolve(flows, f"{start}:", start)
    if first is None:
        return None
    stack.append((first, 0.0, (first,)))
    while stack and explored < _MAX_PATHS:
        key, seconds, path = stack.pop()
        explored += 1
        flow, node = walk.node(key)
        if flow is None or node is None:
            continue
        if isinstance(node, QueueNode):
            if best is None or seconds > best.seconds:
                best = QueueReach(seconds, node.queue, path)
            continue
        steps: list[tuple[str, float]] = []
        if isinstance(node, PlayNode):
            steps = [(ref, costs.prompts(mode_prompts(node, mode))) for ref in silent_refs(node)]
        elif isinstance(node, SetNode | GotoNode | BranchNode):
            steps = [(ref, 0.0) for ref in walk.branch_refs(node)]
        elif isinstance(node, RecordNode):
            steps = [(node.next, costs.prompts(mode_prompts(node, mode)) + node.max_duration_s)]
        elif isinstance(node, MenuNode | CollectNode | SpeechNode | CallbackNode | SurveyNode):
            failure = walk.on_failure(flow, node)
            if failure is not None:
                steps.append((failure, costs.no_input(flow, node)))
            if not silent:
                asked = costs.prompts(mode_prompts(node, mode))
                steps += [(ref, asked) for ref in choice_refs(node, mode)]
        for ref, cost in steps:
            target = resolve(flows, ref, flow.name)
            if target is not None and target not in path:
                stack.append((target, seconds + cost, (*path, target)))
    return best


def catalogue_speaker(prompts: PromptCatalogue, language: str, fallback: str | None,
                      base: Path | None) -> Callable[[str], float]:
    """prompt id -> seconds in `language` (0 for an id the catalogue cannot resolve)."""
    cache: dict[str, float] = {}

    def speak(prompt_id: str) -> float:
        if prompt_id not in cache:
            # A flow may switch language (`language: en`): then any text is a better
            # guess than none.
            wanted = (language, fallback, *sorted(prompts.languages_of(prompt_id)))
            cache[prompt_id] = 0.0
            for lang in dict.fromkeys(w for w in wanted if w is not None):
                try:
                    prompt = prompts.resolve(prompt_id, lang)
                except MissingPrompt:
                    continue
                cache[prompt_id] = prompt_duration_s(prompt, base)
                break
        return cache[prompt_id]

    return speak
