"""The flow engine on small hand-made flows: each node kind, each rule, each illegal event."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from hotline.ivr.compiled import FlowError
from hotline.ivr.engine import Ending, FlowEngine, IllegalEvent, IvrState, Phase
from hotline.ivr.environment import StaticEnvironment
from hotline.ivr.prompts import PromptCatalogue
from hotline.testing import KeywordClassifier, Say, run_flow
from hotline.vocabulary.commands import (
    CollectDigits,
    Enqueue,
    Hangup,
    Play,
    Recognize,
    Record,
    RequestCallback,
    SetVariable,
    Transfer,
)
from hotline.vocabulary.events import (
    CallContext,
    CallerHungUp,
    DigitsReceived,
    IvrEvent,
    NoInput,
    PlaybackFinished,
    RecordingFinished,
    SpeechRecognized,
    SpeechStarted,
    TimerFired,
    TransferFailed,
)

from .helpers import PROMPTS, make_engine, make_flow

ENV = StaticEnvironment()
MONDAY_10 = datetime.fromisoformat("2020-02-10T10:00:00+08:00").timestamp()
CALL = CallContext("c1", "12345", "13912345678", MONDAY_10)

MENU = {
    "type": "menu",
    "prompts": "menu",
    "options": {1: {"goto": "q1", "say": ["企业服务", "企业"]},
                2: {"goto": "q2", "say": ["投诉"]}},
}
QUEUES = {
    "q1": {"type": "queue", "queue": "one", "tags": ["a"]},
    "q2": {"type": "queue", "queue": "two", "priority": 3, "skills": ["s"]},
}


def menu_engine(**menu: Any) -> FlowEngine:
    return make_engine(make_flow({"m": {**MENU, **menu}, **QUEUES}))


def step(engine: FlowEngine, state: IvrState, event: IvrEvent,
         env: StaticEnvironment = ENV) -> tuple[IvrState, list[Any]]:
    """`engine.step` with the commands typed loosely, for attribute checks in asserts."""
    return engine.step(state, event, env)


def started(engine: FlowEngine, env: StaticEnvironment = ENV,
            call: CallContext = CALL) -> tuple[IvrState, list[Any]]:
    return engine.start(call, env, "t")


# --- start and the shape of what is sent ------------------------------------------------


def test_menu_with_spoken_words_plays_then_recognises_with_its_grammar() -> None:
    state, commands = started(menu_engine())
    assert [type(c) for c in commands] == [Play, Recognize]
    play, listen = commands
    assert play.interruptible and play.prompts[0].text == "<menu>"
    assert listen.grammar == ("企业服务", "企业", "投诉") and listen.also_digits
    assert (state.phase, state.node, state.attempts) == (Phase.LISTENING, "t:m", 0)


def test_menu_without_words_collects_one_key() -> None:
    engine = make_engine(make_flow({"m": {**MENU, "options": {1: {"goto": "q1"}}}, **QUEUES}))
    state, commands = started(engine)
    assert commands[1] == CollectDigits("c1", 1, 1, "", 5.0, 5.0)
    assert state.phase is Phase.COLLECTING


def test_key_choice_enqueues_with_queue_fields_and_ends() -> None:
    engine = menu_engine()
    state, _ = started(engine)
    state, commands = step(engine, state, DigitsReceived("c1", "2", 1.0), ENV)
    assert commands == [Enqueue("c1", "two", 3, ("s",), ())]
    assert state.phase is Phase.ENDED and state.ending is Ending.ENQUEUED and state.finished


def test_typed_ahead_keys_use_the_first() -> None:
    engine = menu_engine()
    state, _ = started(engine)
    _, commands = step(engine, state, DigitsReceived("c1", "19", 1.0), ENV)
    assert isinstance(commands[-1], Enqueue) and commands[-1].queue == "one"


@pytest.mark.parametrize(
    ("event", "queue"),
    [
        (SpeechRecognized("c1", "我想要企业服务", 0.8, 1.0), "one"),
        (SpeechRecognized("c1", "企业 服务。", 0.8, 1.0), "one"),
        (SpeechRecognized("c1", "我要投诉", 0.8, 1.0), "two"),
        (SpeechRecognized("c1", "嗯", 0.8, 1.0, intent="2"), "two"),  # intent = key
        (SpeechRecognized("c1", "嗯", 0.8, 1.0, intent="企业"), "one"),  # intent = phrase
        (SpeechRecognized("c1", "什么", 0.8, 1.0, alternatives=("投诉",)), "two"),
    ],
)
def test_menu_speech_matching(event: SpeechRecognized, queue: str) -> None:
    engine = menu_engine()
    state, _ = started(engine)
    _, commands = step(engine, state, event, ENV)
    assert isinstance(commands[-1], Enqueue) and commands[-1].queue == queue


def test_low_confidence_is_a_no_match() -> None:
    engine = menu_engine(min_confidence=0.7)
    state, _ = started(engine)
    state, commands = step(engine, state, SpeechRecognized("c1", "投诉", 0.69, 1.0), ENV)
    assert state.attempts == 1 and state.node == "t:m"
    assert [p.id for p in commands[0].prompts] == ["pardon", "menu"]
    assert commands[1].min_confidence == 0.7


def test_retries_then_on_failure() -> None:
    engine = menu_engine(retries=1, no_input=["again"], on_failure="q2")
    state, _ = started(engine)
    state, commands = step(engine, state, NoInput("c1", 1.0), ENV)
    assert [p.id for p in commands[0].prompts] == ["again", "menu"] and state.attempts == 1
    state, commands = step(engine, state, DigitsReceived("c1", "7", 2.0), ENV)
    assert commands == [Enqueue("c1", "two", 3, ("s",), ())]


def test_zero_retries_fail_at_once_with_flow_default_fallback() -> None:
    engine = menu_engine(retries=0)
    state, _ = started(engine)
    state, commands = step(engine, state, NoInput("c1", 1.0), ENV)
    assert commands[-1] == Hangup("c1", "failed") and state.ending is Ending.HUNG_UP


def test_empty_digits_count_as_no_input() -> None:
    engine = menu_engine()
    state, _ = started(engine)
    _, commands = step(engine, state, DigitsReceived("c1", "", 1.0), ENV)
    assert commands[0].prompts[0].id == "again"


def test_ignored_events_while_waiting_keep_the_state() -> None:
    engine = menu_engine()
    state, _ = started(engine)
    for event in (PlaybackFinished("c1", 1.0), SpeechStarted("c1", 1.0)):
        after, commands = step(engine, state, event, ENV)
        assert after is state and commands == []


def test_option_sets_variables() -> None:
    engine = menu_engine(options={1: {"goto": "q1", "set": {"topic": "x", "vip": True}}})
    state, _ = started(engine)
    state, commands = step(engine, state, DigitsReceived("c1", "1", 1.0), ENV)
    assert commands[:2] == [SetVariable("c1", "topic", "x"), SetVariable("c1", "vip", "true")]
    assert state.variables == {"topic": "x", "vip": "true"}


# --- per-mode menus ----------------------------------------------------------------------


def mode_engine() -> FlowEngine:
    return menu_engine(modes={"emergency": {
        "prompts": "menu_emergency",
        "add": {4: {"goto": "q2", "say": ["疫情"]}},
        "replace": {1: {"goto": "q2"}},
        "remove": [2],
    }})


def test_mode_override_adds_replaces_and_removes_options() -> None:
    engine = mode_engine()
    emergency = StaticEnvironment(mode="emergency")
    state, commands = started(engine, emergency)
    assert commands[0].prompts[0].id == "menu_emergency"
    assert commands[1].grammar == ("疫情",)
    assert state.mode == "emergency"
    _, out = step(engine, state, DigitsReceived("c1", "1", 1.0), emergency)
    assert out[-1].queue == "two"  # replaced
    after, out = step(engine, state, DigitsReceived("c1", "2", 1.0), emergency)
    assert after.attempts == 1  # removed: a wrong key now
    _, out = step(engine, state, SpeechRecognized("c1", "疫情", 0.9, 1.0), emergency)
    assert out[-1].queue == "two"


def test_menu_choice_uses_the_mode_the_caller_heard() -> None:
    engine = mode_engine()
    state, _ = started(engine)  # normal mode
    emergency = StaticEnvironment(mode="emergency")
    _, out = step(engine, state, DigitsReceived("c1", "2", 1.0), emergency)
    assert out[-1].queue == "two"  # option 2 was offered; it still counts


# --- play ------------------------------------------------------------------------------------


def play_engine(interruptible: bool) -> FlowEngine:
    return make_engine(make_flow({
        "p": {"type": "play", "prompts": ["hello", "notice"], "next": "q1",
              "interruptible": interruptible}, **QUEUES}))


def test_play_waits_for_playback_then_moves_on() -> None:
    engine = play_engine(False)
    state, commands = started(engine)
    hello, notice = PROMPTS.resolve("hello", "zh"), PROMPTS.resolve("notice", "zh")
    assert commands == [Play("c1", (hello, notice), False)]
    state, commands = step(engine, state, PlaybackFinished("c1", 1.0), ENV)
    assert commands == [Enqueue("c1", "one", 0, (), ("a",))]


@pytest.mark.parametrize("event", [DigitsReceived("c1", "1", 1.0), SpeechStarted("c1", 1.0)])
def test_interruptible_play_is_skipped_by_barge_in(event: IvrEvent) -> None:
    engine = play_engine(True)
    state, _ = started(engine)
    _, commands = step(engine, state, event, ENV)
    assert isinstance(commands[-1], Enqueue)


def test_play_without_prompts_in_a_mode_falls_through() -> None:
    engine = make_engine(make_flow({
        "p": {"type": "play", "prompts": "hello", "next": "q1",
              "modes": {"emergency": {"prompts": []}}}, **QUEUES}))
    _, commands = started(engine, StaticEnvironment(mode="emergency"))
    assert commands == [Enqueue("c1", "one", 0, (), ("a",))]


# --- collect -------------------------------------------------------------------------------


def collect_engine(**extra: Any) -> FlowEngine:
    return make_engine(make_flow({
        "c": {"type": "collect", "prompts": "ask", "variable": "no", "min_digits": 4,
              "max_digits": 6, "next": "q1", **extra}, **QUEUES}))


def test_collect_sends_its_limits() -> None:
    _, commands = started(collect_engine(terminator="*", inter_digit_timeout_s=2))
    assert commands[1] == CollectDigits("c1", 4, 6, "*", 5.0, 2.0)


@pytest.mark.parametrize(
    ("digits", "ok"),
    [("1234", True), ("123456", True), ("123", False), ("1234567", False), ("12*4", False),
     ("١٢٣٤", False)],  # Arabic-Indic digits are decimal but not keypad keys
)
def test_collect_length_and_keys(digits: str, ok: bool) -> None:
    engine = collect_engine()
    state, _ = started(engine)
    state, commands = step(engine, state, DigitsReceived("c1", digits, 1.0), ENV)
    if ok:
        assert commands[0] == SetVariable("c1", "no", digits) and state.variables["no"] == digits
    else:
        assert state.attempts == 1 and commands[0].prompts[0].id == "pardon"


def test_collect_pattern() -> None:
    engine = collect_engine(pattern="20[0-9]{2,4}")
    state, _ = started(engine)
    after, _ = step(engine, state, DigitsReceived("c1", "1999", 1.0), ENV)
    assert after.attempts == 1
    after, _ = step(engine, state, DigitsReceived("c1", "2020", 1.0), ENV)
    assert after.variables["no"] == "2020"


# --- speech ----------------------------------------------------------------------------------


def speech_engine(default: str | None = "q1", **kwargs: Any) -> FlowEngine:
    node: dict[str, Any] = {"type": "speech", "prompts": "ask", "intents": {"complaint": "q2"},
                            "variable": "said", "intent_variable": "intent"}
    if default:
        node["default"] = default
    classifier = KeywordClassifier({"complaint": ["投诉"], "other": ["天气"]})
    return make_engine(make_flow({"s": node, **QUEUES}), classifier=classifier, **kwargs)


def test_speech_node_listens_to_free_speech_only() -> None:
    state, commands = started(speech_engine())
    assert commands[1].grammar == () and not commands[1].also_digits
    with pytest.raises(IllegalEvent, match="speech only"):
        step(speech_engine(), state, DigitsReceived("c1", "1", 1.0), ENV)


def test_speech_intent_from_classifier_and_variables() -> None:
    engine = speech_engine()
    state, _ = started(engine)
    state, commands = step(engine, state, SpeechRecognized("c1", "我要投诉", 0.9, 1.0), ENV)
    assert commands[:2] == [SetVariable("c1", "said", "我要投诉"),
                            SetVariable("c1", "intent", "complaint")]
    assert commands[-1].queue == "two"


def test_speech_unlisted_intent_goes_to_default_and_no_default_is_no_match() -> None:
    engine = speech_engine()
    state, _ = started(engine)
    _, commands = step(engine, state, SpeechRecognized("c1", "天气不错", 0.9, 1.0), ENV)
    assert commands[-1].queue == "one"
    engine = speech_engine(default=None)
    state, _ = started(engine)
    after, _ = step(engine, state, SpeechRecognized("c1", "天气不错", 0.9, 1.0), ENV)
    assert after.attempts == 1


def test_speech_empty_transcript_is_a_no_match_even_with_default() -> None:
    engine = speech_engine()
    state, _ = started(engine)
    after, _ = step(engine, state, SpeechRecognized("c1", "  ", 0.9, 1.0), ENV)
    assert after.attempts == 1


def test_speech_without_classifier_uses_recogniser_intent() -> None:
    engine = make_engine(make_flow({"s": {"type": "speech", "prompts": "ask",
                                          "intents": {"complaint": "q2"}}, **QUEUES}))
    state, _ = started(engine)
    _, commands = step(engine, state, SpeechRecognized("c1", "x", 0.9, 1.0, "complaint"), ENV)
    assert commands[-1].queue == "two"
    after, _ = step(engine, state, SpeechRecognized("c1", "我要投诉", 0.9, 1.0), ENV)
    assert after.attempts == 1  # nothing can classify it, and there is no default


# --- branch --------------------------------------------------------------------------------


def branch_engine(when: dict[str, Any]) -> FlowEngine:
    return make_engine(make_flow({"b": {"type": "branch", "cases": [{"when": when, "goto": "q1"}],
                                        "default": "q2"}, **QUEUES}))


def branch_goes(when: dict[str, Any], env: StaticEnvironment = ENV,
                call: CallContext = CALL) -> str:
    _, commands = branch_engine(when).start(call, env, "t")
    last = commands[-1]
    assert isinstance(last, Enqueue)
    queue = last.queue
    return "case" if queue == "one" else "default"


HOLIDAY = StaticEnvironment(holidays={"cn": frozenset({date(2020, 2, 10)})})
LISTS = StaticEnvironment(caller_lists={"vip": frozenset({"13912345678"})})
EVENING_CALL = CallContext("c1", "12345", "13912345678",
                           datetime.fromisoformat("2020-02-10T23:30:00+08:00").timestamp())


@pytest.mark.parametrize(
    ("when", "env", "call", "expected"),
    [
        ({}, ENV, CALL, "case"),
        ({"mode": "emergency"}, ENV, CALL, "default"),
        ({"mode": ["normal", "emergency"]}, ENV, CALL, "case"),
        ({"open": "office"}, ENV, CALL, "case"),
        ({"open": "office"}, ENV, EVENING_CALL, "default"),
        ({"open": "office"}, HOLIDAY, CALL, "default"),
        ({"closed": "office"}, ENV, EVENING_CALL, "case"),
        ({"open": "always"}, ENV, EVENING_CALL, "case"),
        ({"holiday": "cn"}, HOLIDAY, CALL, "case"),
        ({"holiday": "cn"}, ENV, CALL, "default"),
        ({"not_holiday": "cn"}, HOLIDAY, CALL, "default"),
        ({"time_between": ["09:00", "10:00"]}, ENV, CALL, "default"),  # end excluded
        ({"time_between": ["10:00", "10:01"]}, ENV, CALL, "case"),
        ({"time_between": ["22:00", "06:00"]}, ENV, EVENING_CALL, "case"),  # wraps midnight
        ({"time_between": ["22:00", "06:00"]}, ENV, CALL, "default"),
        ({"caller_in": "vip"}, LISTS, CALL, "case"),
        ({"caller_not_in": "vip"}, LISTS, CALL, "default"),
        ({"variables": {"x": "1"}}, ENV, CallContext("c1", "1", "2", 0, variables=(("x", "1"),)),
         "case"),
        ({"variables": {"x": "1"}}, ENV, CALL, "default"),
        ({"unset": ["x"]}, ENV, CALL, "case"),
        ({"line_open": True}, ENV, CALL, "case"),  # a line without hours is always open
        ({"line_open": False}, StaticEnvironment(line_schedules={"12345": "office"}),
         EVENING_CALL, "case"),
        ({"mode": "normal", "holiday": "cn"}, ENV, CALL, "default"),  # all must hold
    ],
)
def test_branch_conditions(when: dict[str, Any], env: StaticEnvironment, call: CallContext,
                           expected: str) -> None:
    assert branch_goes(when, env, call) == expected


def test_unknown_schedule_is_an_error_not_closed() -> None:
    with pytest.raises(KeyError):
        branch_goes({"open": "offcie"})


def test_set_node_and_goto_across_flows_with_language_switch() -> None:
    first = make_flow({"s": {"type": "set", "variables": {"lang": "en"}, "next": "g"},
                       "g": {"type": "goto", "target": "other:"}}, name="first")
    other = make_flow({"p": {"type": "play", "prompts": "hello", "next": "q1"}, **QUEUES},
                      name="other", language="en")
    engine = make_engine(first, other)
    state, commands = engine.start(CALL, ENV, "first")
    assert commands[0] == SetVariable("c1", "lang", "en")
    assert isinstance(commands[1], Play) and commands[1].prompts[0].text == "<hello en>"
    assert state.node == "other:p" and state.flow == "other" and state.language == "en"


# --- record, transfer, callback, survey, hangup --------------------------------------------


def test_record_then_next_with_the_recording_name() -> None:
    engine = make_engine(make_flow({
        "r": {"type": "record", "prompts": "ask", "next": "bye", "max_duration_s": 60,
              "purpose": "complaint"},
        "bye": {"type": "hangup", "prompts": "thanks"}}))
    state, commands = started(engine)
    assert commands[0].interruptible is False
    assert commands[1] == Record("c1", 60.0, True, "complaint")
    same, nothing = step(engine, state, PlaybackFinished("c1", 1.0), ENV)
    assert same is state and nothing == []
    end, commands = step(engine, state, RecordingFinished("c1", 2.0, "rec-9", 12.0), ENV)
    assert commands[0] == SetVariable("c1", "recording", "rec-9")
    assert commands[-1] == Hangup("c1", "normal") and end.ending is Ending.HUNG_UP
    end, commands = step(engine, state, NoInput("c1", 2.0), ENV)  # silent caller: no message
    assert not any(isinstance(c, SetVariable) for c in commands) and end.finished


def test_transfer_without_fallback_hangs_up_when_it_fails() -> None:
    engine = make_engine(make_flow({"x": {"type": "transfer", "destination": "110"}}))
    state, commands = started(engine)
    assert commands == [Transfer("c1", "110")]
    assert state.phase is Phase.TRANSFERRING and state.ending is Ending.TRANSFERRED
    end, commands = step(engine, state, TransferFailed("c1", 1.0, "busy"), ENV)
    assert commands == [Hangup("c1", "transfer-failed")] and end.phase is Phase.ENDED


def callback_engine(**extra: Any) -> FlowEngine:
    return make_engine(make_flow({
        "cb": {"type": "callback", "prompts": "offer", "queue": "general", "priority": 2,
               "tags": ["cb"], "on_decline": "q1", **extra}, **QUEUES}))


def test_callback_accept_by_key_and_voice() -> None:
    engine = callback_engine()
    state, commands = started(engine)
    assert commands[1].grammar[:2] == ("好的", "需要")
    for event in (DigitsReceived("c1", "1", 1.0), SpeechRecognized("c1", "好的谢谢", 0.9, 1.0)):
        end, out = step(engine, state, event, ENV)
        assert out == [RequestCallback("c1", "general", "13912345678", 2, (), ("cb",))]
        assert end.ending is Ending.CALLBACK


def test_callback_decline_and_number_variable() -> None:
    engine = callback_engine()
    state, _ = started(engine)
    for event in (DigitsReceived("c1", "2", 1.0), SpeechRecognized("c1", "不需要", 0.9, 1.0)):
        _, out = step(engine, state, event, ENV)
        assert out[-1].queue == "one"  # "不需要" contains "需要": the longer phrase wins
    engine = callback_engine(number_variable="cb_number")
    call = CallContext("c1", "12345", "", 0.0, variables=(("cb_number", "025123"),))
    state, _ = engine.start(call, ENV, "t")
    _, out = step(engine, state, DigitsReceived("c1", "1", 1.0), ENV)
    assert out[-1].number == "025123"


def test_survey_keys_and_unknown_key() -> None:
    engine = make_engine(make_flow({
        "s": {"type": "survey", "prompts": "question", "speech": False, "next": "bye"},
        "bye": {"type": "hangup"}}))
    state, commands = started(engine)
    assert isinstance(commands[1], CollectDigits)
    _, out = step(engine, state, DigitsReceived("c1", "3", 1.0), ENV)
    assert out[0] == SetVariable("c1", "satisfaction", "dissatisfied")
    after, _ = step(engine, state, DigitsReceived("c1", "5", 1.0), ENV)
    assert after.attempts == 1


def test_survey_speech_needs_a_confident_known_label() -> None:
    classifier = KeywordClassifier({"satisfied": ["满意"], "weird": ["天气"]})
    engine = make_engine(make_flow({
        "s": {"type": "survey", "prompts": "question", "next": "bye"},
        "bye": {"type": "hangup"}}), satisfaction=classifier)
    state, _ = started(engine)
    _, out = step(engine, state, SpeechRecognized("c1", "满意", 0.9, 1.0), ENV)
    assert out[0] == SetVariable("c1", "satisfaction", "satisfied")
    after, _ = step(engine, state, SpeechRecognized("c1", "天气", 0.9, 1.0), ENV)
    assert after.attempts == 1  # a label that is not a satisfaction answer
    after, _ = step(engine, state, SpeechRecognized("c1", "x", 0.9, 1.0, intent="nope"), ENV)
    assert after.attempts == 1


# --- illegal events --------------------------------------------------------------------------

FLOWS_FOR_PHASES: dict[str, dict[str, Any]] = {
    "playing": {"p": {"type": "play", "prompts": "hello", "next": "q1"}, **QUEUES},
    "collecting": {"c": {"type": "collect", "prompts": "ask", "variable": "v", "next": "q1"},
                   **QUEUES},
    "listening": {"s": {"type": "speech", "prompts": "ask", "intents": {}, "default": "q1"},
                  **QUEUES},
    "recording": {"r": {"type": "record", "next": "q1"}, **QUEUES},
    "transferring": {"x": {"type": "transfer", "destination": "110", "on_failure": "q1"},
                     **QUEUES},
    "ended": {**QUEUES},
}


def state_in(phase: str) -> tuple[FlowEngine, IvrState]:
    engine = make_engine(make_flow(FLOWS_FOR_PHASES[phase]))
    state, _ = started(engine)
    assert state.phase.value == phase
    return engine, state


ILLEGAL = [
    ("playing", DigitsReceived("c1", "1", 1.0)),  # not interruptible
    ("playing", SpeechStarted("c1", 1.0)),
    ("playing", NoInput("c1", 1.0)),
    ("playing", SpeechRecognized("c1", "x", 0.9, 1.0)),
    ("playing", RecordingFinished("c1", 1.0)),
    ("playing", TransferFailed("c1", 1.0)),
    ("collecting", SpeechRecognized("c1", "x", 0.9, 1.0)),
    ("collecting", SpeechStarted("c1", 1.0)),
    ("collecting", RecordingFinished("c1", 1.0)),
    ("listening", DigitsReceived("c1", "1", 1.0)),  # a speech node takes no keys
    ("listening", TransferFailed("c1", 1.0)),
    ("recording", DigitsReceived("c1", "1", 1.0)),
    ("recording", SpeechRecognized("c1", "x", 0.9, 1.0)),
    ("transferring", DigitsReceived("c1", "1", 1.0)),
    ("transferring", NoInput("c1", 1.0)),
    ("ended", PlaybackFinished("c1", 1.0)),
    ("ended", CallerHungUp("c1", 1.0)),
    ("ended", DigitsReceived("c1", "1", 1.0)),
] + [(phase, TimerFired("c1", "t", 1.0)) for phase in FLOWS_FOR_PHASES] + [
    (phase, PlaybackFinished("other-call", 1.0)) for phase in FLOWS_FOR_PHASES
]


@pytest.mark.parametrize(("phase", "event"), ILLEGAL, ids=lambda v: getattr(v, "__name__", str(v))
                         if not isinstance(v, str) else v)
def test_illegal_events_raise_and_leave_the_state(phase: str, event: IvrEvent) -> None:
    engine, state = state_in(phase)
    before = (state.phase, state.node, state.attempts, dict(state.variables), state.ending)
    with pytest.raises(IllegalEvent) as info:
        step(engine, state, event, ENV)
    assert info.value.state is state and info.value.event is event
    assert (state.phase, state.node, state.attempts, dict(state.variables), state.ending) == before


@pytest.mark.parametrize("phase", ["playing", "collecting", "listening", "recording",
                                   "transferring"])
def test_caller_hang_up_ends_every_live_phase_silently(phase: str) -> None:
    engine, state = state_in(phase)
    end, commands = step(engine, state, CallerHungUp("c1", 1.0), ENV)
    assert commands == []
    assert end.phase is Phase.ENDED and end.ending is Ending.CALLER_HUNG_UP


# --- construction errors -----------------------------------------------------------------


def test_unknown_prompt_is_refused_at_construction() -> None:
    flow = make_flow({"p": {"type": "play", "prompts": "nope", "next": "q1"}, **QUEUES})
    with pytest.raises(FlowError, match="no prompt named 'nope'"):
        make_engine(flow)


def test_unknown_line_and_flow() -> None:
    engine = menu_engine()
    with pytest.raises(FlowError, match="no flow for line"):
        engine.start(CALL, ENV)
    with pytest.raises(FlowError, match="no flow named 'zz'"):
        engine.start(CALL, ENV, "zz")


def test_goto_loop_and_dangling_refs_do_not_compile() -> None:
    loop = make_flow({"a": {"type": "goto", "target": "b"}, "b": {"type": "goto", "target": "a"}})
    with pytest.raises(FlowError, match="goto loop"):
        make_engine(loop)
    dangling = make_flow({"a": {"type": "play", "prompts": "hello", "next": "nowhere"}})
    with pytest.raises(FlowError, match="no node named 'nowhere'"):
        make_engine(dangling)


def test_input_node_without_any_fallback_does_not_compile() -> None:
    from hotline.ivr.model import Flow

    flow = Flow.model_validate({"name": "t", "start": "m", "nodes": {"m": MENU, **QUEUES}})
    with pytest.raises(FlowError, match="no on_failure"):
        make_engine(flow)


def test_decision_loop_without_input_is_stopped() -> None:
    flow = make_flow({
        "a": {"type": "set", "variables": {"x": "1"}, "next": "b"},
        "b": {"type": "branch", "cases": [{"when": {"variables": {"x": "1"}}, "goto": "a"}],
              "default": "q1"}, **QUEUES})
    with pytest.raises(FlowError, match="without caller input"):
        started(make_engine(flow))


def test_missing_language_uses_fallback_then_any_text() -> None:
    flow = make_flow({"p": {"type": "play", "prompts": "zh_only", "next": "q1"}, **QUEUES},
                     language="en")
    engine = make_engine(flow, fallback_language="zh")
    _, commands = started(engine)
    assert commands[0].prompts[0].language == "zh"
    engine = make_engine(flow)
    _, commands = started(engine)
    assert commands[0].prompts[0].text == "<zh_only>"


def test_prompt_resolution() -> None:
    catalogue = PromptCatalogue.model_validate(
        {"g": {"zh": "你好", "en": "hi", "audio": {"zh": "g.wav"}}})
    assert catalogue.resolve("g", "zh").audio == "g.wav"
    assert catalogue.resolve("g", "en").audio is None
    assert catalogue.resolve("g", "fr", "en").text == "hi"
    with pytest.raises(LookupError, match="no 'fr' text"):
        catalogue.resolve("g", "fr")
    with pytest.raises(LookupError, match="no prompt named"):
        catalogue.resolve("x", "zh")


def test_run_flow_speech_to_a_keys_only_question_is_a_script_error() -> None:
    from hotline.testing import ScriptError

    with pytest.raises(ScriptError, match="only takes keys"):
        run_flow(collect_engine(), [Say("一二三四")], flow="t", strict=True)
    with pytest.raises(ScriptError, match="only listens to speech"):
        run_flow(speech_engine(), ["1"], flow="t", strict=True)
    # not strict: like a real line, words at a keypad question are silence
    run = run_flow(collect_engine(), [Say("一二三四"), "1234"], flow="t")
    assert run.heard.count("again") == 1 and run.variables["no"] == "1234"
