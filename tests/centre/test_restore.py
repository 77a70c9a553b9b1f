"""Restore: a kernel rebuilt from the fact log answers every later event as the original.

Hypothesis drives a kernel with the random PBX (agents' transfers included), then
rebuilds a second kernel from the first one's record alone
(`hotline.centre.restore.replay`), the record having travelled as JSON lines, and feeds
both the same later events: the commands, the facts and the refusals must be identical,
step by step.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.centre.restore import replay
from hotline.composition import build_kernel
from hotline.config.loader import Centre
from hotline.vocabulary import codec
from hotline.vocabulary.errors import AcdError, KernelError
from hotline.vocabulary.events import AgentLoggedIn, CallArrived, DigitsReceived
from hotline.vocabulary.states import CallStage

from .drive import T0, Drive, talking_calls
from .pbx import RandomPbx


def _answer(kernel: Any, event: Any) -> tuple[list[Any], list[Any], str | None]:
    try:
        commands = kernel.handle(event)
    except (KernelError, AcdError) as exc:
        return [], [], type(exc).__name__
    return commands, kernel.take_facts(), None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_kernel_rebuilt_from_its_facts_answers_like_the_original(
    centre: Centre, data: st.DataObject
) -> None:
    drive = Drive(build_kernel(centre), RandomPbx(T0), tuple(centre.config.queues))
    if data.draw(st.booleans(), label="citizens talking first"):
        talking_calls(drive, 2)  # agents' transfers (and their races) come early and often
    for _ in range(data.draw(st.integers(0, 80), label="before")):
        drive.step(data)
    log = [codec.loads(codec.dumps(record)) for record in drive.records]
    rebuilt = build_kernel(centre)
    replayed = replay(rebuilt, log)
    # The same timers still run, due at the same times (to the few milliseconds by which
    # an event's time may have been corrected).
    rebuilt_timers = {(t.owner, t.name): t.due for t in replayed.timers}
    assert rebuilt_timers.keys() == drive.pbx.timers.keys()
    for key, due in rebuilt_timers.items():
        assert abs(due - drive.pbx.timers[key]) < 0.01, key
    for _ in range(data.draw(st.integers(1, 40), label="after")):
        event = drive.step(data)
        assert _answer(rebuilt, event) == drive.last


def test_replay_rebuilds_stages_and_timers(centre: Centre) -> None:
    kernel = build_kernel(centre)
    kernel.handle(AgentLoggedIn("1001", "s01", T0))
    kernel.handle(CallArrived("c1", "12345", "13800000001", T0 + 1))
    kernel.handle(DigitsReceived("c1", "0", T0 + 3))
    log = kernel.take_facts()
    rebuilt = build_kernel(centre)
    replayed = replay(rebuilt, log)
    assert replayed.events == 3 and replayed.last_at == T0 + 3
    assert rebuilt.stage("c1") == kernel.stage("c1") is not None
    assert rebuilt.stage("c1") is not CallStage.ENDED
    assert rebuilt.take_facts() == []  # the replayed facts are on record already


def test_a_log_the_configuration_no_longer_accepts_is_refused_loudly(centre: Centre) -> None:
    kernel = build_kernel(centre)
    kernel.handle(AgentLoggedIn("1001", "s01", T0))
    log = kernel.take_facts()
    log[0] = AgentLoggedIn("nobody", "s01", T0)
    try:
        replay(build_kernel(centre), log)
    except KernelError as exc:
        assert "does not replay" in str(exc)
    else:  # pragma: no cover - the assertion below explains
        raise AssertionError("an unknown agent in the log must stop the restore")
