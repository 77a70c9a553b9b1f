"""The shipped sample flows, end to end, through scripted callers."""

from __future__ import annotations

from datetime import date

import pytest

from hotline.ivr.engine import Ending, FlowEngine, IllegalEvent
from hotline.testing import (
    Say,
    SwitchMode,
    Utterance,
    run_flow,
    sample_environment,
)
from hotline.vocabulary.commands import Enqueue, Hangup, RequestCallback, SetVariable, Transfer
from hotline.vocabulary.events import DigitsReceived

EVENING = "2020-02-10T20:00:00+08:00"  # Monday, after office hours
SATURDAY = "2020-02-08T10:00:00+08:00"


def enqueued(run: object) -> Enqueue:
    terminal = getattr(run, "terminal")  # noqa: B009 - keeps the helper's type simple
    assert isinstance(terminal, Enqueue), terminal
    return terminal


# --- 12345 main menu ----------------------------------------------------------------------


def test_silent_caller_goes_straight_to_an_agent_after_the_greeting(
        engine: FlowEngine) -> None:
    # GB/T 33358-2016: no menu to get through; one short greeting, then a person.
    run = run_flow(engine, [], env=sample_environment())
    assert run.heard == ["greeting", "transferring"]
    assert "no_input" not in run.heard
    assert enqueued(run) == Enqueue("call-12345", "general", 0, ("general",), ())
    assert run.ending is Ending.ENQUEUED


def test_key_0_during_the_greeting_also_reaches_an_agent(engine: FlowEngine) -> None:
    run = run_flow(engine, ["0"], env=sample_environment())
    assert run.heard == ["greeting", "transferring"]
    assert enqueued(run).queue == "general"


def test_option_1_enterprise_by_key_goes_to_the_enterprise_flow(engine: FlowEngine) -> None:
    run = run_flow(engine, ["1", "1"], env=sample_environment())
    assert "enterprise_menu" in run.heard
    assert run.variables["topic"] == "resumption"  # the enterprise menu's own choice wins
    queue = enqueued(run)
    assert (queue.queue, queue.tags) == ("enterprise", ("enterprise", "resumption"))


def test_option_1_by_voice_and_vip_enterprise_priority(engine: FlowEngine) -> None:
    env = sample_environment(caller_lists={"vip_enterprises": frozenset({"02588888888"}),
                                           "blocked": frozenset()})
    run = run_flow(engine, [Say("我是企业的，想问复工复产"), "1"], caller="02588888888", env=env)
    queue = enqueued(run)
    assert queue.priority == 5 and "vip" in queue.tags


@pytest.mark.parametrize(
    ("words", "queue", "tags", "intent"),
    [
        ("楼下饭店油烟扰民，我要投诉", "complaints", ("complaint",), "complaint"),
        ("核酸检测点在哪里？", "epidemic", ("epidemic",), "epidemic"),
        ("我们公司的营业执照怎么办理", "enterprise", ("enterprise",), "enterprise"),
        ("请问公积金怎么办理", "general", (), "consultation"),
    ],
)
def test_option_2_free_speech_is_classified_into_a_queue(
    engine: FlowEngine, words: str, queue: str, tags: tuple[str, ...], intent: str
) -> None:
    run = run_flow(engine, ["2", Say(words)], env=sample_environment())
    got = enqueued(run)
    assert (got.queue, got.tags) == (queue, tags)
    assert run.variables["request_text"] == words
    assert run.variables["intent"] == intent


def test_option_2_unclassified_speech_goes_to_the_general_queue(engine: FlowEngine) -> None:
    run = run_flow(engine, ["2", Say("你好你好")], env=sample_environment())
    assert enqueued(run).queue == "general"
    assert "intent" not in run.variables
    assert run.variables["request_text"] == "你好你好"


def test_option_2_intent_from_the_recogniser_is_used(engine: FlowEngine) -> None:
    run = run_flow(engine, ["2", Say("嗯……", intent="complaint")], env=sample_environment())
    assert enqueued(run).queue == "complaints"


def test_option_2_unclear_speech_is_asked_again_then_an_agent_helps(engine: FlowEngine) -> None:
    run = run_flow(engine, ["2", Say("投诉", confidence=0.2), None, Say("投诉", 0.1)],
                   env=sample_environment())
    assert run.heard.count("ask_request") == 3
    assert run.heard.count("no_match") == 1 and run.heard.count("no_input") == 1
    assert enqueued(run).queue == "general"
    assert run.nodes[-1] == "main:to_agent"


def test_option_3_valid_work_order_number_then_self_service(engine: FlowEngine) -> None:
    # 13 digits is too long: asked again with the explanation, then 12 digits are fine
    run = run_flow(engine, ["3", "2020021012345#", "202002101234#", "1"],
                   env=sample_environment())
    assert run.heard.count("order_number_invalid") == 1
    assert run.variables["order_number"] == "202002101234"
    assert SetVariable("call-12345", "order_number", "202002101234") in run.commands
    assert run.heard[-2:] == ["progress_self_service", "goodbye"]
    assert isinstance(run.terminal, Hangup) and run.ending is Ending.HUNG_UP


def test_option_3_progress_queue_by_voice(engine: FlowEngine) -> None:
    run = run_flow(engine, [Say("查询办理进度"), "20200210", Say("转人工")],
                   env=sample_environment())
    queue = enqueued(run)
    assert (queue.queue, queue.tags) == ("progress", ("progress",))
    assert run.variables["topic"] == "progress"


def test_option_3_invalid_numbers_exhaust_retries(engine: FlowEngine) -> None:
    run = run_flow(engine, ["3", "123", "*12", "12#"], env=sample_environment())
    assert run.heard.count("order_number_invalid") == 2
    assert "order_number" not in run.variables
    assert run.nodes[-1] == "main:to_agent"


def test_option_4_exists_only_in_emergency_mode(engine: FlowEngine) -> None:
    normal = run_flow(engine, ["4"], env=sample_environment())
    # A key the greeting does not know is no dead end: the caller gets an agent.
    assert "no_match" not in normal.heard and enqueued(normal).queue == "general"
    emergency = run_flow(engine, ["4"], env=sample_environment("emergency"))
    assert emergency.heard[:2] == ["greeting", "emergency_announcement"]
    queue = enqueued(emergency)
    assert (queue.queue, queue.priority, queue.tags) == ("epidemic", 5, ("epidemic",))
    silent = run_flow(engine, [], env=sample_environment("emergency"))
    assert enqueued(silent).queue == "general"


def test_emergency_menu_understands_epidemic_words(engine: FlowEngine) -> None:
    run = run_flow(engine, [Say("我想问一下隔离政策")], env=sample_environment("emergency"))
    assert enqueued(run).queue == "epidemic"
    normal = run_flow(engine, [Say("我想问一下隔离政策")], env=sample_environment())
    assert enqueued(normal).queue == "general"


def test_mode_switch_is_seen_by_calls_reaching_the_greeting_later(engine: FlowEngine) -> None:
    # The greeting's options were decided when it was entered (normal mode): 4 is not
    # one of them, so the caller goes to a person rather than to the epidemic queue.
    run = run_flow(engine, [SwitchMode("emergency"), "4"], env=sample_environment())
    assert run.heard.count("emergency_announcement") == 0
    assert enqueued(run).queue == "general"


def test_option_9_english_service_switches_language(engine: FlowEngine) -> None:
    run = run_flow(engine, ["9", "1"], env=sample_environment())
    plays = [p for c in run.commands if hasattr(c, "prompts") for p in c.prompts]
    english = [p for p in plays if p.id in ("english_welcome", "english_menu", "transferring")]
    assert {p.language for p in english} == {"en"}
    assert plays[0].language == "zh"
    assert enqueued(run).queue == "english"
    assert run.state is not None and run.state.language == "en"


def test_the_greeting_is_never_repeated(engine: FlowEngine) -> None:
    run = run_flow(engine, ["7"], env=sample_environment())
    assert run.heard.count("greeting") == 1
    assert "no_match" not in run.heard
    assert enqueued(run).queue == "general"


def test_no_input_goes_to_an_agent_without_retries(engine: FlowEngine) -> None:
    run = run_flow(engine, [], env=sample_environment())
    assert run.heard.count("greeting") == 1
    assert run.heard.count("no_input") == 0
    assert run.nodes[-1] == "main:to_agent"


def test_unclear_words_go_to_an_agent(engine: FlowEngine) -> None:
    run = run_flow(engine, [Say("天气怎么样")], env=sample_environment())
    assert run.heard.count("no_match") == 0
    assert run.nodes[-1] == "main:to_agent"


def test_blocked_caller_is_told_politely_and_hung_up(engine: FlowEngine) -> None:
    env = sample_environment(caller_lists={"vip_enterprises": frozenset(),
                                           "blocked": frozenset({"13000000000"})})
    run = run_flow(engine, ["1"], caller="13000000000", env=env)
    assert run.heard == ["blocked_notice"]
    assert run.terminal == Hangup("call-12345", "blocked")
    assert run.unused_script == 1


# --- hours: the 24/7 line vs lines with business hours ----------------------------------


def test_12345_is_open_at_night_but_enterprise_services_are_closed(engine: FlowEngine) -> None:
    run = run_flow(engine, ["1", "1"], at=EVENING, env=sample_environment())
    assert run.heard[:2] == ["greeting", "enterprise_after_hours"]
    assert run.terminal == Hangup("call-12345", "normal")
    assert run.variables["recording"].endswith("enterprise:leave_message")


def test_enterprise_line_after_hours_offers_a_callback(engine: FlowEngine) -> None:
    run = run_flow(engine, ["2", "1"], line="12345-8", at=EVENING, env=sample_environment())
    assert run.heard == ["enterprise_after_hours", "callback_offer"]
    assert run.terminal == RequestCallback("call-12345-8", "enterprise", "13912345678", 0,
                                           ("enterprise",), ("enterprise", "after_hours"))
    assert run.ending is Ending.CALLBACK


def test_enterprise_line_callback_by_voice_and_declined(engine: FlowEngine) -> None:
    run = run_flow(engine, [Say("预约回电"), Say("需要")], line="12345-8", at=SATURDAY,
                   env=sample_environment())
    assert isinstance(run.terminal, RequestCallback)
    declined = run_flow(engine, ["2", Say("不用了")], line="12345-8", at=SATURDAY,
                        env=sample_environment())
    assert declined.heard[-2:] == ["leave_message", "message_thanks"]


def test_enterprise_callback_with_withheld_number_takes_a_message(engine: FlowEngine) -> None:
    run = run_flow(engine, ["2", "1"], line="12345-8", caller="", at=EVENING,
                   env=sample_environment())
    assert not any(isinstance(c, RequestCallback) for c in run.commands)
    assert run.heard[-2:] == ["leave_message", "message_thanks"]


def test_enterprise_line_is_closed_on_holidays(engine: FlowEngine) -> None:
    env = sample_environment(holidays={"cn": frozenset({date(2020, 2, 10)})})
    run = run_flow(engine, [], line="12345-8", env=env)
    assert run.heard[0] == "enterprise_after_hours"
    open_day = run_flow(engine, ["0"], line="12345-8", env=sample_environment())
    assert open_day.heard[:2] == ["enterprise_welcome", "enterprise_menu"]


def test_main_after_hours_menu_on_a_line_with_hours(engine: FlowEngine) -> None:
    # A line sharing the main flow but with business hours gets the message/callback offer.
    env = sample_environment(line_schedules={"12380": "office"})
    run = run_flow(engine, ["1"], line="12380", at=EVENING, env=env)
    assert run.heard == ["after_hours", "leave_message", "message_thanks"]
    failed = run_flow(engine, [], line="12380", at=EVENING, env=env)
    assert failed.heard.count("after_hours") == 3
    assert failed.heard[-2:] == ["leave_message", "message_thanks"]  # on_failure: a message


def test_enterprise_menu_in_emergency_mode_adds_epidemic(engine: FlowEngine) -> None:
    run = run_flow(engine, ["4"], line="12345-8", env=sample_environment("emergency"))
    queue = enqueued(run)
    assert (queue.queue, queue.tags) == ("epidemic", ("epidemic", "enterprise"))


# --- other lines -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "priority", "tags"),
    [(["1"], 10, ("safety", "urgent")), ([Say("这里着火了")], 10, ("safety", "urgent")),
     (["2"], 0, ("safety",)), (["0"], 0, ("safety",)), ([], 0, ("safety",))],
)
def test_safety_line(engine: FlowEngine, script: list[object], priority: int,
                     tags: tuple[str, ...]) -> None:
    run = run_flow(engine, script, line="12350", env=sample_environment())  # type: ignore[arg-type]
    queue = enqueued(run)
    assert (queue.queue, queue.priority, queue.tags) == ("safety", priority, tags)


def test_safety_report_by_message(engine: FlowEngine) -> None:
    run = run_flow(engine, ["3"], line="12350", env=sample_environment())
    assert run.heard[-2:] == ["leave_message", "message_thanks"]
    assert run.variables["recording"]


def test_police_line_advises_110_then_transfers(engine: FlowEngine) -> None:
    run = run_flow(engine, ["1"], line="962110", env=sample_environment())
    assert run.heard == ["police_notice", "police_menu", "police_transfer"]
    assert run.terminal == Transfer("call-962110", "110")
    assert run.ending is Ending.TRANSFERRED


def test_police_transfer_failure_goes_to_an_urgent_queue(engine: FlowEngine) -> None:
    run = run_flow(engine, [Say("我要报警")], line="962110", transfer_fails=True,
                   env=sample_environment())
    queue = enqueued(run)
    assert (queue.queue, queue.priority) == ("police", 10)


def test_police_notice_cannot_be_skipped(engine: FlowEngine) -> None:
    state, _ = engine.start(_call("962110"), sample_environment())
    with pytest.raises(IllegalEvent, match="cannot be interrupted"):
        engine.step(state, DigitsReceived("c1", "2", 1.0), sample_environment())


def test_police_non_emergency(engine: FlowEngine) -> None:
    run = run_flow(engine, ["2"], line="962110", env=sample_environment())
    assert enqueued(run) == Enqueue("call-962110", "police", 0, ("police",), ("police",))


def test_english_line(engine: FlowEngine) -> None:
    run = run_flow(engine, [Say("I would like to leave a message")], line="12345-9",
                   language="en", env=sample_environment())
    assert run.heard == ["english_welcome", "english_menu", "leave_message", "message_thanks"]
    assert all(p.language == "en" for c in run.commands if hasattr(c, "prompts")
               for p in c.prompts)


# --- outbound satisfaction survey ----------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "label"),
    [("1", "satisfied"), ("2", "basically_satisfied"), ("3", "dissatisfied"),
     (Say("非常满意"), "satisfied"), (Say("还行吧，基本满意"), "basically_satisfied"),
     (Say("不满意，问题没解决"), "dissatisfied"),
     (Utterance("嗯", intent="dissatisfied"), "dissatisfied")],
)
def test_survey_answers(engine: FlowEngine, answer: object, label: str) -> None:
    run = run_flow(engine, [answer], line="survey", env=sample_environment())  # type: ignore[list-item]
    assert run.variables["satisfaction"] == label
    assert run.heard[-1] == "survey_thanks"


def test_survey_without_an_answer_says_goodbye_unrated(engine: FlowEngine) -> None:
    run = run_flow(engine, ["9", Say("今天天气不错"), None], line="survey",
                   env=sample_environment())
    assert "satisfaction" not in run.variables
    assert run.heard[-1] == "goodbye"


# --- hang-up at every step --------------------------------------------------------------------

SCRIPTS = [
    ("12345", ["2", Say("我要投诉噪音")]),
    ("12345", ["3", "20200210", "1"]),
    ("12345", ["7", "8", "9", "2"]),
    ("12345-8", ["2", "1"]),
    ("12350", ["3"]),
    ("962110", ["1"]),
    ("survey", ["1"]),
]


@pytest.mark.parametrize(("line", "script"), SCRIPTS)
def test_hang_up_at_every_step(engine: FlowEngine, line: str, script: list[object]) -> None:
    full = run_flow(engine, script, line=line, at=EVENING, env=sample_environment(),  # type: ignore[arg-type]
                    transfer_fails=True)
    events = len(full.turns) - 1
    assert events > 0
    for n in range(events):
        run = run_flow(engine, script, line=line, at=EVENING, env=sample_environment(),  # type: ignore[arg-type]
                       hang_up_after=n, transfer_fails=True)
        assert run.ending is Ending.CALLER_HUNG_UP
        assert run.turns[-1].commands == ()
        assert len(run.turns) == n + 2
        # what happened before the hang-up is exactly what the full call did
        assert [t.commands for t in run.turns[:-1]] == [t.commands for t in full.turns[: n + 1]]


def _call(line: str):  # type: ignore[no-untyped-def]
    from hotline.vocabulary.events import CallContext

    return CallContext("c1", line, "13912345678", 0.0)


@pytest.mark.parametrize(
    ("script", "tags"),
    [(["1"], ("enterprise", "resumption")), ([Say("惠企政策")], ("enterprise", "policy")),
     (["2"], ("enterprise",)), (["0"], ("enterprise",)), (["3"], ("enterprise", "policy")),
     (["*", "2"], ("enterprise",)), ([None, "5", None], ("enterprise",))],
)
def test_enterprise_line_menu_options(engine: FlowEngine, script: list[object],
                                      tags: tuple[str, ...]) -> None:
    run = run_flow(engine, script, line="12345-8", env=sample_environment())  # type: ignore[arg-type]
    queue = enqueued(run)
    assert (queue.queue, queue.tags, queue.skills) == ("enterprise", tags, ("enterprise",))
    assert run.heard[0] == "enterprise_welcome"


def test_sample_calls_through_the_configured_centre_environment() -> None:
    from hotline.config.calendar import CentreEnvironment
    from hotline.config.loader import load_centre
    from hotline.ivr.files import SAMPLE_CONFIG
    from hotline.testing import sample_engine

    centre = load_centre(SAMPLE_CONFIG)
    engine = sample_engine()
    env = CentreEnvironment(centre.config, "normal")
    closed = run_flow(engine, ["1"], line="12345-8", at=EVENING, env=env)
    assert closed.heard[0] == "enterprise_after_hours"
    open_ = run_flow(engine, ["2"], line="12345-8", env=env)
    assert open_.heard[0] == "enterprise_welcome"
    emergency = run_flow(engine, ["4"], env=CentreEnvironment(centre.config, "emergency"))
    assert enqueued(emergency).queue == "epidemic"


def test_english_line_out_of_hours_takes_a_message(engine: FlowEngine) -> None:
    run = run_flow(engine, [], line="12345-9", language="en", at="2020-02-10T21:00:00+08:00",
                   env=sample_environment())
    assert run.heard == ["english_closed", "leave_message", "message_thanks"]
    saturday = run_flow(engine, ["1"], line="12345-9", language="en", at=SATURDAY,
                        env=sample_environment())
    assert enqueued(saturday).queue == "english"
