"""Properties over random callers: every sample flow always ends, and ends properly."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.ivr.engine import Ending, FlowEngine, IllegalEvent, Phase
from hotline.testing import (
    SAMPLE_LINES,
    Press,
    Say,
    Silence,
    SwitchMode,
    run_flow,
    sample_engine,
    sample_environment,
)
from hotline.vocabulary.commands import (
    TERMINAL_COMMANDS,
    Enqueue,
    Hangup,
    Play,
    RequestCallback,
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

ENGINE = sample_engine()  # module level: Hypothesis re-runs tests many times
QUEUES = {"general", "enterprise", "complaints", "progress", "epidemic", "safety", "police",
          "english"}
WORDS = ["企业服务", "投诉", "查询进度", "疫情", "人工", "English", "留言", "回电", "需要",
         "不用", "紧急", "报警", "满意", "基本满意", "不满意", "天气", "message", "agent",
         "我要投诉噪音", "核酸在哪做", "", "嗯"]
WEEK_START = 1581264000.0  # 2020-02-10 00:00 CST, a Monday

steps = st.one_of(
    st.builds(Press, st.text(alphabet="0123456789*#", min_size=1, max_size=14)),
    st.builds(Say, st.sampled_from(WORDS) | st.text(max_size=12),
              st.floats(min_value=0.0, max_value=1.0)),
    st.just(Silence()),
    st.builds(SwitchMode, st.sampled_from(["normal", "emergency"])),
)
ENDINGS = {Enqueue: Ending.ENQUEUED, Transfer: Ending.TRANSFERRED,
           RequestCallback: Ending.CALLBACK, Hangup: Ending.HUNG_UP}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    line=st.sampled_from(sorted({*SAMPLE_LINES, "survey"})),
    script=st.lists(steps, max_size=25),
    at=st.floats(min_value=WEEK_START, max_value=WEEK_START + 7 * 86400),
    mode=st.sampled_from(["normal", "emergency"]),
    caller=st.sampled_from(["13912345678", "", "02588888888", "13000000000"]),
    hang_up_after=st.none() | st.integers(min_value=0, max_value=40),
    transfer_fails=st.booleans(),
    report_playback=st.booleans(),
)
def test_random_callers_always_end_properly(
    line: str, script: list[Any], at: float, mode: str, caller: str,
    hang_up_after: int | None, transfer_fails: bool, report_playback: bool,
) -> None:
    env = sample_environment(mode, caller_lists={"vip_enterprises": frozenset({"02588888888"}),
                                                 "blocked": frozenset({"13000000000"})})
    language = "en" if line == "12345-9" else "zh"
    try:
        run = run_flow(ENGINE, script, line=line, caller=caller, env=env, at=at,
                       language=language, hang_up_after=hang_up_after,
                       transfer_fails=transfer_fails, report_playback=report_playback,
                       max_events=200)
    except Exception as exc:  # pragma: no cover - the assertion below explains
        raise AssertionError(f"the call raised {exc!r}") from exc
    assert run.state is not None and run.ending is not None  # it ended (bounded by max_events)
    turns = run.turns
    for i, turn in enumerate(turns):
        terminal = [c for c in turn.commands if isinstance(c, TERMINAL_COMMANDS)]
        assert len(terminal) <= 1
        if terminal:
            assert turn.commands[-1] is terminal[0]  # nothing is said after the end
            if i + 1 < len(turns):  # only a failed transfer (or a hang-up) may follow
                follower = turns[i + 1].event
                assert isinstance(terminal[0], Transfer)
                assert isinstance(follower, TransferFailed | CallerHungUp)
        for command in turn.commands:
            if isinstance(command, Play):
                assert command.prompts and all(p.text for p in command.prompts)
                if turn.node.startswith("english:"):  # that flow speaks English only
                    assert {p.language for p in command.prompts} == {"en"}
            if isinstance(command, Enqueue | RequestCallback):
                assert command.queue in QUEUES
    if run.ending is Ending.CALLER_HUNG_UP:
        assert turns[-1].commands == ()
    else:
        last = turns[-1].commands[-1]
        assert ENDINGS[type(last)] is run.ending


EVENTS = st.one_of(
    st.builds(DigitsReceived, st.just("c1"), st.text("0123456789*#", max_size=6), st.just(1.0)),
    st.builds(SpeechRecognized, st.just("c1"), st.sampled_from(WORDS),
              st.floats(0.0, 1.0), st.just(1.0),
              st.none() | st.sampled_from(["complaint", "satisfied", "1", "x"])),
    st.builds(SpeechStarted, st.just("c1"), st.just(1.0)),
    st.builds(NoInput, st.just("c1"), st.just(1.0)),
    st.builds(PlaybackFinished, st.just("c1"), st.just(1.0)),
    st.builds(RecordingFinished, st.just("c1"), st.just(1.0), st.sampled_from(["", "r1"])),
    st.builds(TimerFired, st.just("c1"), st.just("t"), st.just(1.0)),
    st.builds(TransferFailed, st.just("c1"), st.just(1.0)),
    st.builds(CallerHungUp, st.just("c1"), st.just(1.0)),
)


@settings(max_examples=300, deadline=None)
@given(flow=st.sampled_from(sorted(ENGINE.flows.starts)), events=st.lists(EVENTS, max_size=40),
       mode=st.sampled_from(["normal", "emergency"]))
def test_any_event_sequence_gives_a_step_or_an_illegal_event(
    flow: str, events: list[IvrEvent], mode: str
) -> None:
    """Like h11's fuzzing: garbage in gets only our own exception, and never a changed state."""
    engine: FlowEngine = ENGINE
    env = sample_environment(mode)
    state, _ = engine.start(CallContext("c1", "12345", "139", WEEK_START + 36000), env, flow)
    for event in events:
        try:
            after, commands = engine.step(state, event, env)
        except IllegalEvent as exc:
            assert exc.state is state
            continue
        assert after.phase is Phase.ENDED or after.ending is None or \
            after.phase is Phase.TRANSFERRING
        if isinstance(event, CallerHungUp):
            assert commands == [] and after.ending is Ending.CALLER_HUNG_UP
        state = after
