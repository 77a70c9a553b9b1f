"""What the ACD says to a caller, as prompt ids with placeholders the centre fills in.

The ACD decides *what* to say (which prompts, with which numbers); the centre kernel
says it in the caller's language by resolving each prompt id in the prompt catalogue
(`config/prompts.yaml`) and filling the placeholders from the `Announce` command. The
texts below are the built-in Mandarin defaults, used when the ACD runs on its own (the
test harness, benchmarks) or a catalogue lacks a prompt; the config check makes sure
the shipped catalogue has every id in every language a line uses (`KERNEL_PROMPTS`).

Placeholders are ``{name}`` and only the names listed per prompt in `PLACEHOLDERS`
exist; anything else in braces is left as written (never an error at run time).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from hotline.vocabulary.commands import Announce, Prompt

CALLBACK_KEY = "1"
"""The key a waiting caller presses to be called back instead (when the queue offers it)."""

QUEUE_POSITION = "queue.position"
QUEUE_EXPECTED_WAIT = "queue.expected_wait"
QUEUE_WAIT_UNKNOWN = "queue.wait_unknown"  # nobody staffed: never announce a wait of 0
QUEUE_CALLBACK_OFFER = "queue.callback_offer"
QUEUE_CALLBACK_CONFIRMED = "queue.callback_confirmed"  # the caller chose a callback by key
EXIT_RECORD = "acd.exit.record"  # max wait / max length: leave a message
EXIT_CALLBACK = "acd.exit.callback"  # max wait / max length: a callback keeps the place
QUEUE_CALLBACK_BY = "queue.callback_by"  # when the promised callback will come
QUEUE_CALLBACK_FULL = "queue.callback_full"  # no callback can be promised: leave a message

DEFAULT_TEXTS: Mapping[str, str] = {
    QUEUE_POSITION: "您目前排在第{position}位，请耐心等待。",
    QUEUE_EXPECTED_WAIT: "预计等待约{minutes}分钟。",
    QUEUE_WAIT_UNKNOWN: "目前坐席全忙，请您耐心等待。",
    QUEUE_CALLBACK_OFFER: "如需回电，请按{key}。",
    QUEUE_CALLBACK_CONFIRMED: "已为您登记回电，我们将按您的排队顺序回电，请保持电话畅通，再见。",
    EXIT_RECORD: "当前来电较多，请在提示音后留言，我们将尽快处理。",
    EXIT_CALLBACK: "您的来电已登记，我们将按您的排队顺序回电，请保持电话畅通。",
    QUEUE_CALLBACK_BY: "我们将在{callback_by}前给您回电。",
    QUEUE_CALLBACK_FULL: "今日回电已约满，请在提示音后留言，我们将尽快处理。",
}
DEFAULT_LANGUAGE = "zh"

KERNEL_PROMPTS: tuple[str, ...] = tuple(DEFAULT_TEXTS)
"""Prompt ids the centre kernel itself plays (not named by any flow)."""

PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    QUEUE_POSITION: frozenset({"position", "ahead"}),
    QUEUE_EXPECTED_WAIT: frozenset({"minutes"}),
    QUEUE_CALLBACK_OFFER: frozenset({"key"}),
    QUEUE_CALLBACK_BY: frozenset({"callback_by"}),  # local clock time, "HH:MM"
}
"""Placeholder names each kernel prompt may use (none for the others)."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders_in(text: str) -> frozenset[str]:
    return frozenset(_PLACEHOLDER.findall(text))


def fill(text: str, values: Mapping[str, str]) -> str:
    """Replace ``{name}`` by its value; unknown names stay as written (no format() pitfalls)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def minutes(expected_wait_s: float) -> int:
    """Whole minutes to announce, rounded up and at least 1 (a wait is never "0 minutes")."""
    return max(1, math.ceil(expected_wait_s / 60.0))


def announcement_values(announce: Announce) -> dict[str, str]:
    """Placeholder values carried by an `Announce` command."""
    values: dict[str, str] = {}
    if announce.position is not None:
        values["position"] = str(announce.position)
        values["ahead"] = str(max(0, announce.position - 1))
    if announce.expected_wait_s is not None:
        values["minutes"] = str(minutes(announce.expected_wait_s))
    if announce.callback_key is not None:
        values["key"] = announce.callback_key
    if announce.callback_by is not None:
        values["callback_by"] = announce.callback_by
    return values


def default_prompt(prompt_id: str, values: Mapping[str, str] | None = None) -> Prompt:
    """The built-in Mandarin prompt, placeholders filled (the catalogue may replace it)."""
    return Prompt(prompt_id, fill(DEFAULT_TEXTS[prompt_id], values or {}), DEFAULT_LANGUAGE)


def queue_announcement(
    call_id: str,
    position: int | None,
    expected_wait_s: float | None,
    *,
    say_wait: bool,
    callback_key: str | None,
) -> Announce:
    """The periodic announcement: place, expected wait (or "unknown"), callback offer.

    ``say_wait`` is the queue's ``announce.expected_wait``; with it on and no estimate
    (nobody staffed) the caller hears `QUEUE_WAIT_UNKNOWN`, never a wait of zero.
    """
    bare = Announce(call_id, position, expected_wait_s, (), callback_key)
    values = announcement_values(bare)
    ids: list[str] = []
    if position is not None:
        ids.append(QUEUE_POSITION)
    if say_wait:
        ids.append(QUEUE_EXPECTED_WAIT if expected_wait_s is not None else QUEUE_WAIT_UNKNOWN)
    if callback_key is not None:
        ids.append(QUEUE_CALLBACK_OFFER)
    return Announce(
        call_id, position, expected_wait_s,
        tuple(default_prompt(i, values) for i in ids), callback_key,
    )
