"""The flow validator: the sample is clean, and every rule has a fixture naming its field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import ValidationError

from hotline.ivr.model import Flow
from hotline.ivr.prompts import PromptCatalogue
from hotline.ivr.validate import FlowCheckContext, check_flows
from hotline.vocabulary.problems import Problem

from .helpers import PROMPTS, make_flow

SAMPLE_CONTEXT = dict(
    queues=frozenset({"general", "enterprise", "complaints", "progress", "epidemic", "safety",
                      "police", "english"}),
    modes=frozenset({"normal", "emergency"}),
    schedules=frozenset({"office", "always"}),
    calendars=frozenset({"cn"}),
    caller_lists=frozenset({"vip_enterprises", "blocked"}),
    skills=frozenset({"general", "enterprise", "complaints", "epidemic", "safety", "police",
                      "english"}),
)


def context(prompts: PromptCatalogue = PROMPTS, **changes: Any) -> FlowCheckContext:
    base: dict[str, Any] = {**SAMPLE_CONTEXT, "prompts": prompts,
                            "queues": SAMPLE_CONTEXT["queues"] | {"one", "two"},
                            "transfer_destinations": frozenset({"110", "12345"})}
    return FlowCheckContext(**{**base, **changes})


def problems(*flows: Flow, **ctx: Any) -> list[Problem]:
    found = check_flows({f.name: f for f in flows}, context(**ctx))
    return [p for flow_problems in found.values() for p in flow_problems]


QUEUES = {
    "q1": {"type": "queue", "queue": "one"},
    "q2": {"type": "queue", "queue": "two"},
}
MENU = {"type": "menu", "prompts": "menu",
        "options": {1: {"goto": "q1", "say": ["企业"]}, 2: {"goto": "q2", "say": ["投诉"]}}}


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, found
    return found[0]


# --- the sample ----------------------------------------------------------------------------


def test_sample_flows_have_no_problems(sample: tuple[Mapping[str, Flow], PromptCatalogue]
                                       ) -> None:
    flows, prompts = sample
    languages = {name: frozenset({"zh"}) for name in ("main", "enterprise", "safety", "police")}
    languages["english"] = frozenset({"en"})
    ctx = FlowCheckContext(prompts=prompts, languages=languages,
                           transfer_destinations=frozenset({"110"}),
                           intents=frozenset({"complaint", "consultation", "enterprise",
                                              "epidemic"}),
                           **SAMPLE_CONTEXT)  # type: ignore[arg-type]
    assert check_flows(flows, ctx) == {name: [] for name in flows}


def test_sample_centre_loads_through_the_config_loader() -> None:
    from hotline.config.loader import load_centre
    from hotline.ivr.files import SAMPLE_CONFIG

    centre = load_centre(SAMPLE_CONFIG)
    assert set(centre.flows) >= {"main", "enterprise", "safety", "police", "english", "survey"}


def test_sample_lines_in_the_test_kit_match_centre_yaml() -> None:
    from hotline.config.loader import load_centre
    from hotline.ivr.files import SAMPLE_CONFIG
    from hotline.testing import SAMPLE_LINES

    centre = load_centre(SAMPLE_CONFIG)
    assert {number: line.flow for number, line in centre.lines.items()} == dict(SAMPLE_LINES)


def test_a_clean_flow_has_no_problems() -> None:
    assert problems(make_flow({"m": MENU, **QUEUES})) == []


# --- references -----------------------------------------------------------------------------


def test_dangling_goto_suggests_the_closest_name() -> None:
    flow = make_flow({"m": {**MENU, "options": {3: {"goto": "enterprize"}}},
                      "enterprise": {"type": "queue", "queue": "one"}})
    # only the typo: 'enterprise' is not also reported as unreachable (no cascade)
    problem = only(problems(flow))
    assert problem.path == ("nodes", "m", "options", "3", "goto")
    assert problem.message == "no node named 'enterprize' (did you mean 'enterprise'?)"


def test_reference_into_another_flow() -> None:
    other = make_flow({"welcome": {"type": "hangup"}}, name="other")
    flow = make_flow({"m": {**MENU, "options": {1: {"goto": "other:welcom"},
                                                2: {"goto": "othr:"}}}})
    found = problems(flow, other)
    messages = {p.path: p.message for p in found}
    assert messages[("nodes", "m", "options", "1", "goto")] == \
        "no node named 'welcom' in flow 'other' (did you mean 'welcome'?)"
    assert messages[("nodes", "m", "options", "2", "goto")] == \
        "no flow named 'othr' (did you mean 'other'?)"


def test_missing_start_node() -> None:
    flow = Flow.model_validate({"name": "t", "start": "mian", "nodes": {"main": QUEUES["q1"]}})
    problem = only(problems(flow))
    assert problem.path == ("start",)
    assert problem.message == "no node named 'mian' (did you mean 'main'?)"


@pytest.mark.parametrize(
    ("node", "path", "message"),
    [
        ({"type": "queue", "queue": "generl"}, ("nodes", "x", "queue"),
         "no queue named 'generl' (did you mean 'general'?)"),
        ({"type": "queue", "queue": "one", "skills": ["enterprize"]}, ("nodes", "x", "skills", 0),
         "no skill named 'enterprize' (did you mean 'enterprise'?)"),
        ({"type": "transfer", "destination": "119"}, ("nodes", "x", "destination"),
         "no transfer destination named '119' (did you mean '110'?)"),
        ({"type": "hangup", "modes": {"emergncy": {"prompts": "bye"}}},
         ("nodes", "x", "modes", "emergncy"),
         "no mode named 'emergncy' (did you mean 'emergency'?)"),
        ({"type": "branch", "cases": [{"when": {"mode": ["normal", "emergancy"]}, "goto": "q1"}],
          "default": "q1"}, ("nodes", "x", "cases", 0, "when", "mode", 1),
         "no mode named 'emergancy' (did you mean 'emergency'?)"),
        ({"type": "branch", "cases": [{"when": {"open": "ofice"}, "goto": "q1"}], "default": "q1"},
         ("nodes", "x", "cases", 0, "when", "open"),
         "no schedule named 'ofice' (did you mean 'office'?)"),
        ({"type": "branch", "cases": [{"when": {"closed": "night"}, "goto": "q1"}],
          "default": "q1"}, ("nodes", "x", "cases", 0, "when", "closed"),
         "no schedule named 'night'"),
        ({"type": "branch", "cases": [{"when": {"holiday": "cm"}, "goto": "q1"}], "default": "q1"},
         ("nodes", "x", "cases", 0, "when", "holiday"), "no holiday calendar named 'cm'"),
        ({"type": "branch", "cases": [{"when": {"caller_in": "vip_enterprise"}, "goto": "q1"}],
          "default": "q1"}, ("nodes", "x", "cases", 0, "when", "caller_in"),
         "no caller list named 'vip_enterprise' (did you mean 'vip_enterprises'?)"),
        ({"type": "hangup", "prompts": ["bye", "by"]}, ("nodes", "x", "prompts", 1),
         "no prompt named 'by' (did you mean 'bye'?)"),
        ({"type": "survey", "prompts": "question", "next": "q1", "keys": {1: "happy"}},
         ("nodes", "x", "keys", "1"), "unknown satisfaction answer 'happy'"),
    ],
)
def test_unknown_names(node: dict[str, Any], path: tuple[Any, ...], message: str) -> None:
    flow = make_flow({"x": node, **QUEUES})
    found = [p for p in problems(flow) if "cannot be reached" not in p.message]
    problem = only(found)
    assert (problem.path, problem.message) == (path, message)


def test_unknown_intent_when_the_classifier_labels_are_known() -> None:
    flow = make_flow({"s": {"type": "speech", "intents": {"complain": "q1"}}, **QUEUES})
    found = [p for p in problems(flow, intents=frozenset({"complaint"}))
             if "reached" not in p.message]
    assert only(found).path == ("nodes", "s", "intents", "complain")
    assert "did you mean 'complaint'" in only(found).message


# --- graph rules -----------------------------------------------------------------------------


def test_unreachable_node() -> None:
    flow = make_flow({"m": MENU, **QUEUES, "orphan": {"type": "hangup"}})
    problem = only(problems(flow))
    assert problem.path == ("nodes", "orphan")
    assert problem.message == "node 'orphan' cannot be reached from the start of any flow"


def test_node_reached_from_another_flow_is_reachable() -> None:
    other = make_flow({"a": {"type": "hangup"}, "b": {"type": "hangup"}}, name="other")
    flow = make_flow({"m": {**MENU, "options": {1: {"goto": "other:b"}}}})
    assert problems(flow, other) == []


def test_loop_without_caller_input() -> None:
    flow = make_flow({
        "a": {"type": "play", "prompts": "hello", "next": "b"},
        "b": {"type": "branch", "cases": [{"when": {"mode": "emergency"}, "goto": "q1"}],
              "default": "a"},
        **QUEUES})
    problem = only([p for p in problems(flow) if "reached" not in p.message])
    assert problem.path == ("nodes", "a")
    assert problem.message == "nodes 'a', 'b' can repeat forever without the caller answering"


def test_self_loop_and_cross_flow_loop_reported_once() -> None:
    one = make_flow({"a": {"type": "goto", "target": "two:"}}, name="one")
    two = make_flow({"b": {"type": "set", "variables": {"x": "1"}, "next": "one:a"}}, name="two")
    found = [p for p in problems(one, two) if "reached" not in p.message]
    assert len(found) == 1 and "'a', 'two:b'" in found[0].message
    selfish = make_flow({"a": {"type": "play", "prompts": "hello", "next": "a"}})
    assert "'a' can repeat" in only([p for p in problems(selfish)
                                     if "reached" not in p.message]).message


def test_loop_through_a_question_is_fine() -> None:
    flow = make_flow({
        "m": {**MENU, "options": {1: {"goto": "p"}, 2: {"goto": "q2"}}},
        "p": {"type": "play", "prompts": "hello", "next": "m"}, **QUEUES})
    assert [p for p in problems(flow) if "reached" not in p.message] == []


def test_input_node_without_a_fallback_is_a_dead_end() -> None:
    flow = Flow.model_validate({"name": "t", "start": "m", "nodes": {"m": MENU, **QUEUES}})
    problem = only(problems(flow))
    assert problem.path == ("nodes", "m")
    assert "no on_failure here and no defaults.on_failure" in problem.message


def test_speech_node_with_nowhere_to_go() -> None:
    flow = make_flow({"s": {"type": "speech", "intents": {}}})
    problem = only(problems(flow))
    assert problem.path == ("nodes", "s", "intents")


# --- languages ------------------------------------------------------------------------------


def test_prompt_missing_in_a_language_of_the_line() -> None:
    flow = make_flow({"p": {"type": "play", "prompts": ["hello", "zh_only"], "next": "q1"},
                      "q1": QUEUES["q1"]})
    found = problems(flow, languages={"t": frozenset({"zh", "en"})})
    problem = only(found)
    assert problem.path == ("nodes", "p", "prompts", 1)
    assert problem.message == "prompt 'zh_only' has no 'en' text, and callers in 'en' reach it"
    assert problems(flow, languages={"t": frozenset({"zh", "en"})}, fallback_language="zh") == []


def test_languages_follow_the_call_into_other_flows() -> None:
    english = make_flow({"p": {"type": "play", "prompts": "zh_only", "next": "q1"},
                         "q1": QUEUES["q1"]}, name="english", language="en")
    shared = make_flow({"p": {"type": "play", "prompts": "zh_only", "next": "q1"},
                        "q1": QUEUES["q1"]}, name="shared")
    main = make_flow({"m": {**MENU, "options": {1: {"goto": "english:"},
                                                2: {"goto": "shared:"}}}}, name="main")
    found = check_flows({f.name: f for f in (main, english, shared)},
                        context(languages={"main": frozenset({"zh", "en"})}))
    # english: always en; shared: reached by main's zh and en callers
    assert [p.message for p in found["english"]] == \
        ["prompt 'zh_only' has no 'en' text, and callers in 'en' reach it"]
    assert [p.path for p in found["shared"]] == [("nodes", "p", "prompts", 0)]
    assert found["main"] == []
    alone = check_flows({"shared": shared}, context())  # nobody reaches it: default language
    assert alone["shared"] == []


# --- menus ----------------------------------------------------------------------------------


def test_mode_add_of_an_existing_key_collides() -> None:
    flow = make_flow({"m": {**MENU, "modes": {"emergency": {"add": {1: {"goto": "q2"}}}}},
                      **QUEUES})
    problem = only(problems(flow))
    assert problem.path == ("nodes", "m", "modes", "emergency", "add", "1")
    assert problem.message == "key '1' is already an option (use replace)"


def test_mode_replace_and_remove_of_missing_keys() -> None:
    flow = make_flow({"m": {**MENU, "modes": {"emergency": {
        "replace": {5: {"goto": "q2"}}, "remove": [7]}}}, **QUEUES})
    found = {p.path: p.message for p in problems(flow)}
    assert found == {
        ("nodes", "m", "modes", "emergency", "replace", "5"):
            "no option '5' to replace (use add)",
        ("nodes", "m", "modes", "emergency", "remove", 0): "no option '7' to remove",
    }


def test_mode_that_removes_every_option() -> None:
    flow = make_flow({"m": {**MENU, "modes": {"emergency": {"remove": [1, 2]}}}, **QUEUES})
    assert only(problems(flow)).message == "the menu has no options left in mode 'emergency'"


def test_duplicate_spoken_words_across_options() -> None:
    flow = make_flow({"m": {**MENU, "options": {1: {"goto": "q1", "say": ["人工服务"]},
                                                2: {"goto": "q2", "say": ["人工 服务！"]}}},
                      **QUEUES})
    problem = only(problems(flow))
    assert problem.path == ("nodes", "m", "options", "2", "say", 0)
    assert problem.message == "'人工 服务！' is also said for option '1'"


def test_duplicate_spoken_words_after_a_mode_change() -> None:
    flow = make_flow({"m": {**MENU, "modes": {"emergency": {
        "add": {4: {"goto": "q2", "say": ["企业"]}}}}}, **QUEUES})
    problem = only(problems(flow))
    assert problem.path == ("nodes", "m", "modes", "emergency", "add", "4", "say", 0)
    assert problem.message == "'企业' is also said for option '1' in mode 'emergency'"


def test_repeat_key_collides_with_an_option() -> None:
    flow = make_flow({"m": {**MENU, "repeat_key": "1"}, **QUEUES})
    problem = only(problems(flow))
    assert problem.path == ("nodes", "m", "repeat_key")
    flow = make_flow({"m": {**MENU, "repeat_key": "*", "modes": {"emergency": {
        "add": {"*": {"goto": "q2"}}}}}, **QUEUES})
    assert only(problems(flow)).path == ("nodes", "m", "modes", "emergency", "add", "*")


def test_callback_keys_and_words_collide() -> None:
    flow = make_flow({"c": {"type": "callback", "queue": "one", "on_decline": "q1",
                            "accept_key": "1", "decline_key": "1",
                            "decline_say": ["好的"]}, **QUEUES})
    found = {p.path: p.message for p in problems(flow) if "reached" not in p.message}
    assert found == {("nodes", "c", "decline_key"): "key '1' both accepts and declines",
                     ("nodes", "c", "decline_say", 0): "'好的' both accepts and declines"}


def test_flow_name_must_match_its_key() -> None:
    flow = make_flow({"q": QUEUES["q1"]}, name="x")
    found = check_flows({"y": flow}, context())
    assert found["y"][0].path == ("name",)


# --- shape errors (pydantic) name their field --------------------------------------------------


@pytest.mark.parametrize(
    ("node", "loc_part", "text"),
    [
        ({"type": "collect", "variable": "v", "next": "q1", "min_digits": 5, "max_digits": 2},
         "collect", "min_digits (5) is larger than max_digits (2)"),
        ({"type": "collect", "variable": "v", "next": "q1", "pattern": "[0-9"},
         "pattern", "not a valid regular expression"),
        ({"type": "menu", "options": {"x": {"goto": "q1"}}}, "options", "should match pattern"),
        ({"type": "menu", "options": {}}, "options", "at least one option"),
        ({"type": "play", "prompts": "hello", "next": "q1", "colour": "red"}, "colour",
         "Extra inputs are not permitted"),
        ({"type": "teleport"}, "x", "does not match any of the expected tags"),
        # every node that does not end the call must say where it goes next
        ({"type": "play", "prompts": "hello"}, "next", "Field required"),
        ({"type": "record"}, "next", "Field required"),
        ({"type": "branch", "cases": []}, "default", "Field required"),
        ({"type": "branch", "cases": [{"when": {"time_between": ["25:00", "06:00"]},
                                       "goto": "q1"}], "default": "q1"},
         "time_between", "not a time of day"),
    ],
)
def test_shape_errors(node: dict[str, Any], loc_part: str, text: str) -> None:
    with pytest.raises(ValidationError) as info:
        make_flow({"x": node, **QUEUES})
    errors = info.value.errors()
    assert any(loc_part in [str(p) for p in e["loc"]] and text in e["msg"] for e in errors), errors


def test_shorthands_in_files() -> None:
    flow = make_flow({"m": {**MENU, "options": {0: {"goto": "q1", "say": "人工",
                                                    "set": {"n": 5, "b": False}}},
                            "modes": {"emergency": {"remove": 0, "add": {1: {"goto": "q2"}}}}},
                      **QUEUES})
    menu = flow.nodes["m"]
    assert menu.type == "menu"
    option = menu.options["0"]
    assert option.say == ("人工",) and option.set == {"n": "5", "b": "false"}
    assert menu.modes["emergency"].remove == ("0",)


@pytest.mark.parametrize(
    ("entry", "loc", "text"),
    [
        ({"zh": "x", "Chinese": "y"}, ("g",), "'Chinese' is not a language code"),
        ({"zh": ""}, ("g", "zh"), "at least 1 character"),
        ({"zh": 5}, ("g", "zh"), "valid string"),
        ({"zh": "x", "audio": {"en": "x.wav"}}, ("g",), "audio given for en but no text"),
        ({}, ("g",), "needs its text in at least one language"),
    ],
)
def test_prompt_catalogue_errors_name_the_entry(entry: dict[str, Any], loc: tuple[str, ...],
                                                text: str) -> None:
    with pytest.raises(ValidationError) as info:
        PromptCatalogue.model_validate({"g": entry})
    error = info.value.errors()[0]
    assert error["loc"] == loc and text in error["msg"]
