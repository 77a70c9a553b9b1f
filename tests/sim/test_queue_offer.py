"""The centre kernel with a caller on hold: spoken announcements, the callback key, the
ring guard, guest levels from config and the config check of the kernel's prompts."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from hotline.centre.kernel import CALLBACK_REGISTERED, CentreKernel
from hotline.composition import build_kernel, guests_from_config, rules_from_config
from hotline.config.calendar import CentreEnvironment
from hotline.config.loader import Centre, kernel_prompt_problems, load_centre
from hotline.projections.stats import LiveStats
from hotline.queue.acd import NO_REPORT, Acd
from hotline.vocabulary.commands import (
    Announce,
    CollectDigits,
    Enqueue,
    Hangup,
    Recognize,
    RingSeat,
    StartTimer,
    StopRinging,
)
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentReady,
    CallArrived,
    DigitsReceived,
    PlaybackFinished,
    SeatAnswered,
    SpeechRecognized,
    TimerFired,
)
from hotline.vocabulary.facts import CallbackRequested, CallExited, RingNoAnswer
from hotline.vocabulary.problems import ConfigError

from .kit import CONFIG, IN_ACD, T, only


def asks(commands: Sequence[object]) -> bool:
    return any(isinstance(c, CollectDigits | Recognize) for c in commands)


def to_queue(kernel: CentreKernel, call_id: str, line: str = "12345", key: str = "0",
             caller: str = "13800000001") -> list[object]:
    """Walk a call through the line's flow to its agent option; return the hand-off step."""
    out: list[object] = list(kernel.handle(CallArrived(call_id, line, caller, T)))
    while not asks(out):
        out = list(kernel.handle(PlaybackFinished(call_id, T + 4)))
    out = list(kernel.handle(DigitsReceived(call_id, key, T + 6)))
    assert only(out, Enqueue), out
    assert kernel.stage(call_id) in IN_ACD
    return out


def occupy(kernel: CentreKernel, agent: str = "1001", seat: str = "s01",
           line: str = "12345", key: str = "0") -> None:
    """Staff the queue with one agent who is busy on another call: callbacks can be
    promised (someone will make them), yet the next caller has to wait."""
    kernel.handle(AgentLoggedIn(agent, seat, T - 120))
    kernel.handle(AgentReady(agent, T - 120))
    out = list(kernel.handle(CallArrived(f"busy-{agent}", line, "13900000000", T - 60)))
    while not asks(out):
        out = list(kernel.handle(PlaybackFinished(f"busy-{agent}", T - 56)))
    out = list(kernel.handle(DigitsReceived(f"busy-{agent}", key, T - 54)))
    [ring] = only(out, RingSeat)
    kernel.handle(SeatAnswered(agent, ring.call_id, T - 50))
    kernel.take_facts()


def fire(kernel: CentreKernel, commands: Sequence[object], kind: str, at: float) -> list[object]:
    timer = next(c for c in commands if isinstance(c, StartTimer) and kind in c.timer)
    return list(kernel.handle(TimerFired(timer.call_id, timer.timer, at)))


def test_the_announcement_is_spoken_in_mandarin_with_the_callback_offer(
    kernel: CentreKernel,
) -> None:
    occupy(kernel)
    out = to_queue(kernel, "c1")
    [announce] = only(fire(kernel, out, "acd.announce", T + 36), Announce)
    assert announce.callback_key == "1"
    assert [(p.id, p.text, p.language, p.audio) for p in announce.prompts] == [
        ("queue.position", "您目前排在第1位，请耐心等待。", "zh", None),
        ("queue.expected_wait", "预计等待约3分钟。", "zh", None),
        ("queue.callback_offer", "如需回电，请按1，我们将保留您的排队顺序。", "zh", None),
        # One agent, 0.4 of whom the live calls of the last 15 min need: 180 s / 0.6.
        ("queue.callback_by", "我们将在10:05前给您回电。", "zh", None),
    ]
    assert announce.callback_by == "10:05"


def test_the_announcement_is_spoken_in_the_lines_language(kernel: CentreKernel) -> None:
    occupy(kernel, "1042", "s02", line="12345-9", key="1")
    out = to_queue(kernel, "e1", line="12345-9", key="1")  # the English service line
    assert only(out, Enqueue)[0].queue == "english"
    [announce] = only(fire(kernel, out, "acd.announce", T + 26), Announce)
    assert all(p.language == "en" for p in announce.prompts)
    assert [p.text for p in announce.prompts] == [
        "You are number 1 in the queue. Please hold.",
        "The expected wait is about 3 minutes.",
        "To be called back instead of waiting, press 1; you keep your place in the queue.",
        "We will call you back by 10:05.",
    ]
    out = list(kernel.handle(DigitsReceived("e1", "1", T + 30)))
    [confirm] = only(out, Announce)
    assert [(p.id, p.language) for p in confirm.prompts] == [
        ("queue.callback_confirmed", "en"), ("queue.callback_by", "en"),
    ]
    assert Hangup("e1", CALLBACK_REGISTERED) in out


def test_pressing_the_key_on_hold_books_a_callback_and_ends_the_line(
    kernel: CentreKernel, stats: LiveStats,
) -> None:
    occupy(kernel)
    to_queue(kernel, "c1")
    queued = to_queue(kernel, "c2", caller="13800000002")
    [offer] = only(fire(kernel, queued, "announce", T + 36), Announce)
    assert offer.callback_key == "1"
    kernel.take_facts()
    out = kernel.handle(DigitsReceived("c2", "1", T + 40))
    [confirm] = only(out, Announce)
    assert [p.id for p in confirm.prompts] == ["queue.callback_confirmed", "queue.callback_by"]
    assert confirm.prompts[0].text.startswith("已为您登记回电")
    assert only(out, Hangup) == [Hangup("c2", CALLBACK_REGISTERED)]
    assert kernel.stage("c2") is None
    facts = kernel.take_facts()
    assert [(f.call_id, f.action, f.reason) for f in only(facts, CallExited)] == [
        ("c2", "callback", "caller-choice")
    ]
    assert [r.request_id for r in only(facts, CallbackRequested)] == ["c2.cb"]
    assert kernel.acd.position("c2.cb") == 2  # behind c1, as the call was
    snap = stats.snapshot(T + 41)
    assert snap.queues["general"].today.offered == 3  # the busy agent's call too


@pytest.mark.parametrize("digits", ["2", "0", "#", "*", "12"])
def test_other_keys_on_hold_are_ignored(kernel: CentreKernel, digits: str) -> None:
    to_queue(kernel, "c1")
    kernel.take_facts()
    assert kernel.handle(DigitsReceived("c1", digits, T + 40)) == []
    assert kernel.stage("c1") in IN_ACD
    assert kernel.take_facts() == [DigitsReceived("c1", digits, T + 40)]  # on record, no fact


def test_the_key_is_ignored_when_the_queue_offers_no_callback(centre: Centre) -> None:
    rules = {
        mode: {name: dataclasses.replace(r, callback=dataclasses.replace(r.callback,
                                                                         enabled=False))
               for name, r in queues.items()}
        for mode, queues in rules_from_config(centre.config).items()
    }
    base = build_kernel(centre)
    kernel = CentreKernel(base.engine, Acd(rules, [], {"s01": "PJSIP/8001"}),
                          CentreEnvironment(centre.config, "normal"),
                          lambda number, mode: ("main", None, True))  # engine's catalogue
    out = to_queue(kernel, "c1")
    [announce] = only(fire(kernel, out, "acd.announce", T + 36), Announce)
    assert announce.callback_key is None
    assert "queue.callback_offer" not in [p.id for p in announce.prompts]
    assert kernel.handle(DigitsReceived("c1", "1", T + 40)) == []
    assert kernel.stage("c1") in IN_ACD


def test_the_exit_prompt_comes_from_the_catalogue(kernel: CentreKernel) -> None:
    kernel.handle(CallArrived("c1", "12345", "13800000001", T))
    kernel.handle(PlaybackFinished("c1", T + 4))
    kernel.handle(SpeechRecognized("c1", "投诉", 0.9, T + 7))
    out = kernel.handle(SpeechRecognized("c1", "投诉噪音", 0.9, T + 12, intent="complaint"))
    assert only(out, Enqueue)[0].queue == "complaints"
    exit_out = fire(kernel, out, "acd.max-wait", T + 12 + 900)
    [announce] = only(exit_out, Announce)
    assert [(p.id, p.language) for p in announce.prompts] == [("acd.exit.record", "zh")]


def test_a_lost_ring_report_never_strands_the_caller(kernel: CentreKernel) -> None:
    kernel.handle(AgentLoggedIn("1001", "s01", T))
    kernel.handle(AgentReady("1001", T))
    out = to_queue(kernel, "c1")
    ring = only(out, RingSeat)[0]
    guard = fire(kernel, out, "acd.ring-guard", T + 6 + ring.timeout_s + 5)
    assert StopRinging("c1", "1001", ring.endpoint) in guard
    assert kernel.stage("c1") in IN_ACD
    assert kernel.acd.position("c1") == 1
    lapsed = only(kernel.take_facts(), RingNoAnswer)
    assert [(f.call_id, f.cause) for f in lapsed] == [("c1", NO_REPORT)]
    # The softphone's answer turns up after all: the driver is told to drop that leg.
    late = kernel.handle(SeatAnswered("1001", "c1", T + 40))
    assert late == [StopRinging("c1", "1001", ring.endpoint)]
    assert kernel.acd.position("c1") == 1


def test_guest_levels_come_from_the_config(centre: Centre) -> None:
    roster = centre.config.rosters["emergency"]
    some_guest = next(iter(roster.guests))
    changed = roster.model_copy(update={"guests": {
        **roster.guests,
        some_guest: roster.guests[some_guest].model_copy(update={"level": 3}),
    }})
    config = centre.config.model_copy(
        update={"rosters": {**centre.config.rosters, "emergency": changed}}
    )
    guests = {g.id: g for g in guests_from_config(config)}
    skill = roster.guests[some_guest].skill
    assert guests[some_guest].skills[skill] == 3
    seat = roster.guests[some_guest].seat or "guest1"
    kernel = build_kernel(dataclasses.replace(centre, config=config))
    kernel.handle(AgentLoggedIn(some_guest, seat, T, guest_skills=(skill,)))
    view = kernel.acd.seat(some_guest)
    assert view is not None and view.guest and dict(view.skills) == {skill: 3}


# --- the config check of the kernel's own prompts ---------------------------------------
def test_the_sample_catalogue_has_every_kernel_prompt(centre: Centre) -> None:
    assert kernel_prompt_problems(centre.prompts, centre.config) == []


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "c"
    shutil.copytree(CONFIG, target)
    return target


def _edit_prompts(directory: Path, old: str, new: str) -> None:
    file = directory / "prompts.yaml"
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_kernel_prompt_missing_in_a_lines_language_is_reported(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    _edit_prompts(directory, "  en: You are number {position} in the queue. Please hold.\n", "")
    with pytest.raises(ConfigError) as caught:
        load_centre(directory)
    [problem] = caught.value.problems
    assert problem.file.endswith("prompts.yaml") and problem.path == ("queue.position",)
    assert "no text in en" in problem.message


def test_a_kernel_prompt_with_an_unknown_placeholder_is_reported(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    _edit_prompts(directory, "预计等待约{minutes}分钟。", "预计等待约{minute}分钟。")
    with pytest.raises(ConfigError) as caught:
        load_centre(directory)
    [problem] = caught.value.problems
    assert problem.path == ("queue.expected_wait", "zh")
    assert "unknown placeholder {minute} (known: {minutes})" in problem.message


def test_a_missing_kernel_prompt_is_fine_for_mandarin_lines_only(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    file = directory / "prompts.yaml"
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("queue.wait_unknown:\n")
    del lines[start:start + 3]
    file.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_centre(directory)  # the English line would hear Mandarin
    [problem] = caught.value.problems
    assert "'queue.wait_unknown' is missing for en" in problem.message
    centre = load_centre(CONFIG)
    mandarin_only = centre.config.model_copy(update={"lines": {
        number: line for number, line in centre.config.lines.items() if line.language != "en"
    }})
    catalogue = load_centre(CONFIG).prompts
    trimmed = type(catalogue).model_validate(
        {k: v for k, v in catalogue.root.items() if k != "queue.wait_unknown"}
    )
    assert kernel_prompt_problems(trimmed, mandarin_only) == []


def test_no_callback_is_offered_when_nobody_could_make_it(kernel: CentreKernel) -> None:
    out = to_queue(kernel, "c1")  # nobody is logged in at all
    [announce] = only(fire(kernel, out, "acd.announce", T + 36), Announce)
    assert announce.callback_key is None and announce.callback_by is None
    assert [p.id for p in announce.prompts] == ["queue.position", "queue.wait_unknown"]
