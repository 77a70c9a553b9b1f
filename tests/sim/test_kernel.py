"""The centre's front door: events in, commands out, every call in exactly one place."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest

from hotline.centre.kernel import CentreKernel, Refusal
from hotline.composition import build_kernel, rules_from_config
from hotline.config.calendar import CentreEnvironment
from hotline.config.loader import Centre
from hotline.projections.stats import LiveStats
from hotline.queue.acd import Acd
from hotline.vocabulary.commands import (
    Bridge,
    CollectDigits,
    Enqueue,
    Hangup,
    HoldWithMusic,
    Play,
    Recognize,
    Record,
    RequestCallback,
    RingSeat,
    StartTimer,
    Transfer,
)
from hotline.vocabulary.errors import KernelError
from hotline.vocabulary.events import (
    AgentLoggedIn,
    AgentReady,
    CallArrived,
    CallEnded,
    CallerHungUp,
    DigitsReceived,
    ModeSwitched,
    NoInput,
    PlaybackFinished,
    RecordingFinished,
    SeatAnswered,
    SpeechRecognized,
    TimerFired,
    TransferFailed,
)
from hotline.vocabulary.facts import (
    CallAbandoned,
    CallAnswered,
    CallbackRequested,
    CallCompleted,
    CallExited,
    CallFinished,
    CallQueued,
    CallStageChanged,
    ModeChanged,
    StaleEvent,
)
from hotline.vocabulary.states import CallOutcome, CallStage, SeatState

from .kit import IN_ACD, TZ, T, only

NIGHT = datetime(2026, 3, 10, 22, 0, tzinfo=TZ).timestamp()


def to_main_menu(kernel: CentreKernel, call_id: str = "c1", at: float = T) -> None:
    # 12345 is an intake line (GB/T 33358): the greeting listens while it plays, and a
    # caller who says nothing is queued; keys and speech are shortcuts, none required.
    out = kernel.handle(CallArrived(call_id, "12345", "13800000001", at))
    assert [p.id for p in only(out, Play)[0].prompts] == ["greeting"]
    assert only(out, Recognize), "the greeting listens for keys and speech"


def login(kernel: CentreKernel, agent: str, seat: str, at: float = T) -> None:
    kernel.handle(AgentLoggedIn(agent, seat, at))
    kernel.handle(AgentReady(agent, at))


def test_a_call_walks_from_the_ivr_to_an_agent_and_is_counted(
    kernel: CentreKernel, stats: LiveStats
) -> None:
    login(kernel, "1001", "s01")
    to_main_menu(kernel)
    out = kernel.handle(DigitsReceived("c1", "0", T + 6))
    assert only(out, Enqueue)[0].queue == "general"
    ring = only(out, RingSeat)[0]
    assert ring.agent_id == "1001"
    assert kernel.stage("c1") in IN_ACD
    out = kernel.handle(SeatAnswered("1001", "c1", T + 9))
    assert only(out, Bridge)
    kernel.handle(CallEnded("c1", T + 200))
    assert kernel.stage("c1") is None
    facts = kernel.take_facts()
    assert [type(f) for f in facts if type(f) in (CallQueued, CallAnswered, CallCompleted)] == [
        CallQueued, CallAnswered, CallCompleted,
    ]
    assert [(f.old, f.new) for f in only(facts, CallStageChanged)] == [
        (CallStage.IVR, CallStage.WAITING),
        (CallStage.WAITING, CallStage.RINGING),
        (CallStage.RINGING, CallStage.TALKING),
        (CallStage.TALKING, CallStage.ENDED),
    ]
    assert only(facts, CallFinished) == [CallFinished("c1", CallOutcome.ANSWERED, T + 200)]
    assert isinstance(facts[0], AgentLoggedIn)  # each accepted event precedes its facts
    snap = stats.snapshot(T + 300)
    assert snap.queues["general"].today.answered == 1
    assert snap.queues["general"].today.answered_within_target == 1
    assert snap.agents_by_state[SeatState.WRAP_UP] == 1
    assert kernel.take_facts() == []  # drained


def test_speech_reaches_the_same_queue_as_keys(kernel: CentreKernel) -> None:
    to_main_menu(kernel)
    out = kernel.handle(SpeechRecognized("c1", "转人工", 0.9, T + 7))
    assert only(out, Enqueue)[0].queue == "general"
    assert only(out, HoldWithMusic), "nobody is ready: the caller waits"


def test_unknown_line_is_hung_up_politely(kernel: CentreKernel) -> None:
    out = kernel.handle(CallArrived("x", "99999", "138", T))
    assert out == [Hangup("x", "unknown-line")]
    assert kernel.stage("x") is None


def test_hang_up_in_the_ivr_forgets_the_call(kernel: CentreKernel) -> None:
    to_main_menu(kernel)
    assert kernel.handle(CallerHungUp("c1", T + 8)) == []
    assert kernel.stage("c1") is None
    # The PBX may report the end twice; the second report changes nothing.
    kernel.take_facts()
    assert kernel.handle(CallerHungUp("c1", T + 8)) == []
    assert kernel.stale["CallerHungUp"] == 1
    assert [type(f) for f in kernel.take_facts()] == [CallerHungUp, StaleEvent]


def test_hang_up_in_the_ivr_is_abandoned_in_the_ivr(kernel: CentreKernel) -> None:
    to_main_menu(kernel)
    kernel.handle(CallerHungUp("c1", T + 8))
    facts = kernel.take_facts()
    assert only(facts, CallFinished) == [
        CallFinished("c1", CallOutcome.ABANDONED_IN_IVR, T + 8)
    ]
    assert not only(facts, CallQueued)  # never reached a queue: no ACD facts


def test_hang_up_while_waiting_is_an_abandon(kernel: CentreKernel) -> None:
    to_main_menu(kernel)
    kernel.handle(DigitsReceived("c1", "0", T + 6))
    kernel.handle(CallerHungUp("c1", T + 46))
    assert kernel.stage("c1") is None
    abandoned = only(kernel.take_facts(), CallAbandoned)
    assert abandoned and abandoned[0].waited_s == pytest.approx(40.0)


def test_mode_switch_shows_at_the_next_ivr_decision_and_in_the_acd(
    kernel: CentreKernel,
) -> None:
    kernel.handle(CallArrived("c1", "12345", "13800000001", T))  # hearing the greeting
    out = kernel.handle(ModeSwitched("emergency", "supervisor-1", "epidemic surge", T + 1))
    assert kernel.mode == "emergency"
    changed = only(kernel.take_facts(), ModeChanged)
    assert changed and changed[0].by == "supervisor-1" and changed[0].old == "normal"
    assert out == [] or all(type(c).__name__ == "NotifyReserve" for c in out)
    # c1 was already listening to the normal greeting: its options are the normal ones.
    out = kernel.handle(DigitsReceived("c1", "4", T + 6))
    assert only(out, Enqueue)[0].queue == "general"
    # A new call now starts with the emergency greeting and its emergency-only option.
    out = kernel.handle(CallArrived("c2", "12345", "13800000002", T + 10))
    assert [p.id for p in only(out, Play)[0].prompts] == ["greeting", "emergency_announcement"]
    out = kernel.handle(DigitsReceived("c2", "4", T + 14))
    assert only(out, Enqueue)[0].queue == "epidemic"


def test_queue_exit_to_a_message_then_goodbye(kernel: CentreKernel) -> None:
    to_main_menu(kernel)
    kernel.handle(SpeechRecognized("c1", "投诉", 0.9, T + 7))  # -> free-speech request
    out = kernel.handle(SpeechRecognized("c1", "投诉噪音", 0.9, T + 12, intent="complaint"))
    assert only(out, Enqueue)[0].queue == "complaints"
    max_wait = next(c for c in out if isinstance(c, StartTimer) and "max-wait" in c.timer)
    out = kernel.handle(TimerFired("c1", max_wait.timer, T + 12 + max_wait.seconds))
    assert only(out, Record), "complaints exit to a recorded message"
    assert kernel.stage("c1") is CallStage.RECORDING
    exited = only(kernel.take_facts(), CallExited)
    assert exited[0].action == "record"
    out = kernel.handle(RecordingFinished("c1", T + 1000, "rec-1", 30.0))
    assert out == [Hangup("c1", "message-recorded")]
    assert kernel.stage("c1") is None


def test_callback_chosen_in_the_ivr_keeps_a_place_and_ends_the_line(
    kernel: CentreKernel,
) -> None:
    # The enterprise line is closed at night: leave a message or book a callback.
    out = kernel.handle(CallArrived("c1", "12345-8", "13800000001", NIGHT))
    def asks(commands: Sequence[object]) -> bool:
        return any(isinstance(c, CollectDigits | Recognize) for c in commands)

    while not asks(out):
        out = kernel.handle(PlaybackFinished("c1", NIGHT + 3))
    out = kernel.handle(DigitsReceived("c1", "2", NIGHT + 5))  # book a callback
    while not only(out, RequestCallback):
        assert asks(out), out
        out = kernel.handle(DigitsReceived("c1", "1", NIGHT + 9))  # accept
    assert out[-1] == Hangup("c1", "callback-registered")
    assert kernel.stage("c1") is None
    assert only(kernel.take_facts(), CallbackRequested)


def test_transfer_then_failure_comes_back_to_the_flow(kernel: CentreKernel) -> None:
    kernel.handle(CallArrived("c1", "962110", "13800000001", T))
    kernel.handle(PlaybackFinished("c1", T + 8))
    out = kernel.handle(DigitsReceived("c1", "1", T + 10))
    assert only(out, Transfer)
    assert kernel.stage("c1") is CallStage.TRANSFERRING
    out = kernel.handle(TransferFailed("c1", T + 20, "busy"))
    assert kernel.stage("c1") in (CallStage.IVR, *IN_ACD, None)
    assert out, "the caller is never left in silence"


def test_stale_events_are_ignored_counted_and_change_nothing(kernel: CentreKernel) -> None:
    assert kernel.handle(DigitsReceived("ghost", "1", T)) == []
    to_main_menu(kernel)
    with pytest.raises(KernelError, match="already in the centre"):
        kernel.handle(CallArrived("c1", "12345", "138", T + 5))
    # Not recording: the IVR session refuses it and stays exactly as it was.
    assert kernel.handle(RecordingFinished("c1", T + 5)) == []
    assert kernel.stage("c1") is CallStage.IVR
    assert kernel.handle(TimerFired("ghost", "ivr.timeout", T + 5)) == []
    assert kernel.stale == {"DigitsReceived": 1, "RecordingFinished": 1, "TimerFired": 1}
    stale = only(kernel.take_facts(), StaleEvent)
    assert [(s.kind, s.subject) for s in stale] == [
        ("DigitsReceived", "ghost"), ("RecordingFinished", "c1"), ("TimerFired", "ghost"),
    ]
    # The call still works after the stale events: silence at the greeting queues it.
    out = kernel.handle(NoInput("c1", T + 11))
    assert only(out, Enqueue)


def test_a_hand_off_the_acd_refuses_ends_the_call_politely(centre: Centre) -> None:

    # An ACD that lacks the epidemic queue the flows still name (a config slip).
    rules = {mode: {name: r for name, r in queues.items() if name != "epidemic"}
             for mode, queues in rules_from_config(centre.config).items()}
    base = build_kernel(centre)
    acd = Acd(rules, [], {"s01": "PJSIP/8001"})
    kernel = CentreKernel(base.engine, acd, CentreEnvironment(centre.config, "normal"),
                          lambda number, mode: ("main", None, True))
    to_main_menu(kernel)
    kernel.handle(SpeechRecognized("c1", "投诉", 0.9, T + 7))
    out = kernel.handle(SpeechRecognized("c1", "隔离政策", 0.9, T + 12, intent="epidemic"))
    assert only(out, Enqueue)[0].queue == "epidemic"
    assert out[-1] == Hangup("c1", "queue-refused")
    assert kernel.stage("c1") is None
    assert list(kernel.refusals) == [
        Refusal("c1", "Enqueue", "epidemic", kernel.refusals[0].reason)
    ]
    assert "epidemic" in kernel.refusals[0].reason
