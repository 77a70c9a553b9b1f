"""The centre mode: one owner, one audited switch, an automatic return that keeps time."""

from __future__ import annotations

import pytest

from hotline.centre.kernel import CentreKernel
from hotline.centre.mode import MODE_TIMER_OWNER, RETURN_BY
from hotline.composition import build_kernel
from hotline.config.loader import Centre
from hotline.vocabulary.commands import CancelTimer, StartTimer
from hotline.vocabulary.errors import KernelError
from hotline.vocabulary.events import ModeSwitched, TimerFired
from hotline.vocabulary.facts import ModeChanged, StaleEvent

from .drive import T0


@pytest.fixture
def kernel(centre: Centre) -> CentreKernel:
    return build_kernel(centre)


def _audit(kernel: CentreKernel) -> list[ModeChanged]:
    return [r for r in kernel.take_facts() if isinstance(r, ModeChanged)]


def _return_timer(commands: list[object]) -> StartTimer:
    [timer] = [c for c in commands if isinstance(c, StartTimer) and c.call_id == MODE_TIMER_OWNER]
    return timer


def test_a_timed_switch_returns_by_itself_and_both_are_audited(kernel: CentreKernel) -> None:
    out = kernel.handle(ModeSwitched("emergency", "sup1", "flood", T0, until=T0 + 3600))
    timer = _return_timer(out)
    assert timer.seconds == 3600
    assert kernel.mode == "emergency" and kernel.mode_until == T0 + 3600
    kernel.handle(TimerFired(MODE_TIMER_OWNER, timer.timer, T0 + 3600))
    assert kernel.mode == "normal" and kernel.mode_until is None
    assert [(a.old, a.new, a.by, a.until) for a in _audit(kernel)] == [
        ("normal", "emergency", "sup1", T0 + 3600),
        ("emergency", "normal", RETURN_BY, None),
    ]


def test_a_timed_switch_to_the_current_mode_sets_the_return(kernel: CentreKernel) -> None:
    kernel.handle(ModeSwitched("emergency", "sup1", "flood", T0))
    assert kernel.mode_until is None
    out = kernel.handle(ModeSwitched("emergency", "sup2", "until evening", T0 + 60, T0 + 7200))
    timer = _return_timer(out)
    assert kernel.mode == "emergency" and kernel.mode_until == T0 + 7200
    audit = _audit(kernel)
    assert [(a.old, a.new, a.by, a.until) for a in audit][-1] == (
        "emergency", "emergency", "sup2", T0 + 7200)
    kernel.handle(TimerFired(MODE_TIMER_OWNER, timer.timer, T0 + 7200))
    assert kernel.mode == "normal"


def test_a_new_return_time_replaces_the_old_timer(kernel: CentreKernel) -> None:
    first = _return_timer(kernel.handle(ModeSwitched("emergency", "s", "r", T0, T0 + 600)))
    out = kernel.handle(ModeSwitched("emergency", "s", "longer", T0 + 10, T0 + 1800))
    assert CancelTimer(MODE_TIMER_OWNER, first.timer) in out
    second = _return_timer(out)
    kernel.take_facts()
    # The replaced timer may still fire (it was already on its way): it is stale.
    assert kernel.handle(TimerFired(MODE_TIMER_OWNER, first.timer, T0 + 600)) == []
    assert kernel.mode == "emergency"
    assert [type(r) for r in kernel.take_facts()] == [TimerFired, StaleEvent]
    kernel.handle(TimerFired(MODE_TIMER_OWNER, second.timer, T0 + 1800))
    assert kernel.mode == "normal"


def test_a_switch_without_a_time_cancels_the_return(kernel: CentreKernel) -> None:
    first = _return_timer(kernel.handle(ModeSwitched("emergency", "s", "r", T0, T0 + 600)))
    out = kernel.handle(ModeSwitched("emergency", "s", "open-ended now", T0 + 5))
    assert CancelTimer(MODE_TIMER_OWNER, first.timer) in out
    assert kernel.mode_until is None


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (ModeSwitched("panic", "s", "r", T0), "unknown mode 'panic' (known: normal, emergency)"),
        (ModeSwitched("emergency", "s", "r", T0, T0 - 1), "must be in the future"),
        (ModeSwitched("emergency", "", "r", T0), "who asked"),
    ],
)
def test_a_bad_switch_is_refused_and_changes_nothing(
    kernel: CentreKernel, event: ModeSwitched, message: str
) -> None:
    with pytest.raises(KernelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        kernel.handle(event)
    assert kernel.mode == "normal"
    assert kernel.take_facts() == []
