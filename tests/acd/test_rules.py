"""Queue rules: validation, expansion arithmetic and the config adapter."""

from __future__ import annotations

import pytest

from hotline.queue.rules import (
    AnnounceRule,
    ExpansionStep,
    OverflowRule,
    QueueRules,
    check_rules_by_mode,
    queue_rules_from_mapping,
)
from hotline.vocabulary.errors import RulesError
from hotline.vocabulary.queueing import CallbackOrder, ExitAction, Strategy


def test_expansion_levels_over_time() -> None:
    q = QueueRules("q", min_level=4, expansion=(
        ExpansionStep(90, any_agent=True), ExpansionStep(30, min_level=2),
    ))
    assert [s.after_s for s in q.expansion] == [30, 90]  # sorted once
    assert q.level_after(0) == (4, False)
    assert q.level_after(30) == (2, False)
    assert q.level_after(95) == (2, True)
    assert q.next_expansion_after(0) == 30
    assert q.next_expansion_after(30) == 90
    assert q.next_expansion_after(90) is None


def test_effective_priority_counts_each_tag_once() -> None:
    q = QueueRules("q", priority=2, tag_priority={"epidemic": 5, "enterprise": 1})
    assert q.effective_priority(1, ("epidemic", "epidemic", "other")) == 8


@pytest.mark.parametrize(
    "build",
    [
        lambda: QueueRules("q", min_level=6),
        lambda: QueueRules("q", ring_timeout_s=0),
        lambda: QueueRules("q", max_length=0),
        lambda: QueueRules("q", overflow=OverflowRule("q", after_s=5)),
        lambda: ExpansionStep(10),
        lambda: OverflowRule("x"),
        lambda: AnnounceRule(every_s=0),
        lambda: QueueRules(""),
    ],
)
def test_bad_rules_are_refused(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RulesError):
        build()


def test_overflow_target_must_exist() -> None:
    with pytest.raises(RulesError, match="unknown queue"):
        check_rules_by_mode({"normal": {"a": QueueRules("a", overflow=OverflowRule("b", 5))}})


def test_adapter_from_plain_mapping() -> None:
    rules = queue_rules_from_mapping("tax", {
        "description": "ignored",
        "skills": ["tax"],
        "expansion": [{"after_s": 30, "min_level": 2}],
        "strategy": "fewest_calls",
        "overflow": {"to": "general", "after_s": 60},
        "exit": "callback",
        "announce": False,
        "callback": {"enabled": True, "order": "citizen_first", "attempts": 2},
        "tag_priority": {"epidemic": 5},
    })
    assert rules.skills == ("tax",)
    assert rules.expansion == (ExpansionStep(30, 2),)
    assert rules.strategy is Strategy.FEWEST_CALLS
    assert rules.exit is ExitAction.CALLBACK
    assert rules.announce is None
    assert rules.callback.order is CallbackOrder.CITIZEN_FIRST
    assert rules.overflow == OverflowRule("general", after_s=60)


@pytest.mark.parametrize(
    "data",
    [{"strategy": "random"}, {"overflow": {"to": "x", "after": 3}}, {"expansion": [5]}],
)
def test_adapter_names_what_is_wrong(data: dict[str, object]) -> None:
    with pytest.raises(RulesError, match="queue q"):
        queue_rules_from_mapping("q", data)


def test_adapter_accepts_the_config_schema_dump() -> None:
    from hotline.config import schema

    dumped = schema.Queue(
        skills=("tax",), expansion=(schema.ExpansionStep(after_s=30, min_level=2),)
    ).model_dump()
    rules = queue_rules_from_mapping("tax", dumped)
    assert rules.skills == ("tax",) and rules.expansion[0].min_level == 2
