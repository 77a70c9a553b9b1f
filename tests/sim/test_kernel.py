"""The centre's front door: events in, commands out, every call in exactly one place."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest

from hotline.centre.kernel import CentreKernel, Refusal, Where
from hotline.composition import build_kernel, rules_from_config
from hotline.config.calendar import CentreEnvironment
from hotline.config.loader import Centre
from hotline.ivr.engine import IllegalEvent
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
    CallQueued,
    ModeChanged,
)
from hotline.vocabulary.states import SeatState

from .kit import TZ, T, only

NIGHT = datetime(2026, 3, 10, 22, 0, tzinfo=TZ).timestamp()


def to_main_menu(kernel: CentreKernel, call_id: str = "c1", at: float = T) -> None:
    out = kernel.handle(CallArrived(call_id, "12345", "13800000001", at))
    assert [p.id for p in only(out, Play)[0].prompts] == ["greeting"]
    out = kernel.handle(PlaybackFinished(call_id, at + 4))
    assert only(out, Recognize), "the main menu listens for keys and speech"


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
    assert kernel.where("c1") is Where.ACD
    out = kernel.handle(SeatAnswered("1001", "c1", T + 9))
    assert only(out, Bridge)
    kernel.handle(CallEnded("c1", T + 200))
    assert kernel.where("c1") is None
    facts = kernel.take_facts()
    assert [type(f) for f in facts if not hasattr(f, "old")] == [
        CallQueued, CallAnswered, CallCompleted,
    ]
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
    assert kernel.where("x") is None


def test_hang_up_in_the_ivr_forgets_the_call(kernel: CentreKernel) -> None:
    to_main_menu(kernel)
    assert kernel.handle(CallerHungUp("c1", T + 8)) == []
    assert kernel.where("c1") is None
    # The PBX may report the end twice; the second report changes nothing.
    assert kernel.handle(CallerHungUp("c1", T + 8)) == []
    assert kernel.take_facts() == []  # never reached a queue: no ACD facts


def test_hang_up_while_waiting_is_an_abandon(kernel: CentreKernel) -> None:
    to_main_menu(kernel)
    kernel.handle(DigitsReceived("c1", "0", T + 6))
    kernel.handle(CallerHungUp("c1", T + 46))
    assert kernel.where("c1") is None
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
    out = kernel.handle(PlaybackFinished("c1", T + 4))
    assert [p.id for p in only(out, Play)[0].prompts] == ["main_menu_emergency"]
    out = kernel.handle(DigitsReceived("c1", "4", T + 6))  # the emergency-only option
    assert only(out, Enqueue)[0].queue == "epidemic"
    # A new call now starts with the emergency greeting.
    out = kernel.handle(CallArrived("c2", "12345", "13800000002", T + 10))
    assert [p.id for p in only(out, Play)[0].prompts] == ["greeting", "emergency_announcement"]


def test_queue_exit_to_a_message_then_goodbye(kernel: CentreKernel) -> None:
    to_main_menu(kernel)
    kernel.handle(SpeechRecognized("c1", "投诉", 0.9, T + 7))  # -> free-speech request
    out = kernel.handle(SpeechRecognized("c1", "投诉噪音", 0.9, T + 12, intent="complaint"))
    assert only(out, Enqueue)[0].queue == "complaints"
    max_wait = next(c for c in out if isinstance(c, StartTimer) and "max-wait" in c.timer)
    out = kernel.handle(TimerFired("c1", max_wait.timer, T + 12 + max_wait.seconds))
    assert only(out, Record), "complaints exit to a recorded message"
    assert kernel.where("c1") is Where.RECORDING
    exited = only(kernel.take_facts(), CallExited)
    assert exited[0].action == "record"
    out = kernel.handle(RecordingFinished("c1", T + 1000, "rec-1", 30.0))
    assert out == [Hangup("c1", "message-recorded")]
    assert kernel.where("c1") is None


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
    assert kernel.where("c1") is None
    assert only(kernel.take_facts(), CallbackRequested)


def test_transfer_then_failure_comes_back_to_the_flow(kernel: CentreKernel) -> None:
    kernel.handle(CallArrived("c1", "962110", "13800000001", T))
    kernel.handle(PlaybackFinished("c1", T + 8))
    out = kernel.handle(DigitsReceived("c1", "1", T + 10))
    assert only(out, Transfer)
    assert kernel.where("c1") is Where.TRANSFERRING
    out = kernel.handle(TransferFailed("c1", T + 20, "busy"))
    assert kernel.where("c1") in (Where.IVR, Where.ACD, None)
    assert out, "the caller is never left in silence"


def test_events_out_of_place_raise_and_change_nothing(kernel: CentreKernel) -> None:
    with pytest.raises(KernelError, match="unknown call"):
        kernel.handle(DigitsReceived("ghost", "1", T))
    to_main_menu(kernel)
    with pytest.raises(KernelError, match="already in the centre"):
        kernel.handle(CallArrived("c1", "12345", "138", T + 5))
    with pytest.raises(IllegalEvent):
        kernel.handle(RecordingFinished("c1", T + 5))  # not recording: the IVR refuses
    assert kernel.where("c1") is Where.IVR
    with pytest.raises(KernelError, match="not in IVR"):
        kernel.handle(TimerFired("ghost", "ivr.timeout", T + 5))
    # The call still works after the refused events.
    out = kernel.handle(NoInput("c1", T + 11))
    assert only(out, Recognize)


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
    assert kernel.where("c1") is None
    assert list(kernel.refusals) == [
        Refusal("c1", "Enqueue", "epidemic", kernel.refusals[0].reason)
    ]
    assert "epidemic" in kernel.refusals[0].reason
