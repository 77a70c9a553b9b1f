"""The ARI driver's faults: lost websocket, takeover, Asterisk's and our own restart,
hang-ups during every command, failed dials, no free recogniser."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hotline.centre.restore import replay
from hotline.composition import build_kernel
from hotline.config.loader import load_centre
from hotline.runtime.centre_runtime import RuntimeClosed
from hotline.runtime.clock import VirtualClock
from hotline.telephony.ari import AriClient, AriEventStream
from hotline.telephony.ari.driver import (
    ApplicationTakenOverError,
    AriDriver,
    AriDriverSettings,
    live_call_ids,
)
from hotline.telephony.ari.events import StasisStart, parse_event
from hotline.telephony.ari.fake_asterisk import FakeAsterisk, RingOutcome
from hotline.vocabulary import events as ev
from hotline.vocabulary.commands import (
    CollectDigits,
    DialCitizen,
    Play,
    Prompt,
    Record,
    RingSeat,
)
from hotline.vocabulary.events import CallerHungUp, SeatNoAnswer
from hotline.vocabulary.states import CallStage
from tests.telephony.ari.test_driver import (
    CONFIG,
    START,
    FakeSpeech,
    Harness,
    Heard,
    driver_config,
    start_harness,
    stop_harness,
)


def hang_ups(h: Harness, call_id: str) -> int:
    return sum(1 for r in h.records if type(r) is CallerHungUp and r.call_id == call_id)


async def waiting_caller(h: Harness, number: str = "13900000001") -> str:
    """A caller who pressed 0 at the greeting and waits in the general queue."""
    cid = h.fake.caller_enters(number, args=("12345",))
    await h.until(lambda: bool(h.requests("POST", f"/channels/{cid}/play")), "greeting")
    h.fake.press(cid, "0")
    await h.until(lambda: h.stage(cid) is CallStage.WAITING, "waiting")
    await h.until(lambda: bool(h.requests("POST", f"/channels/{cid}/moh")), "music")
    return cid


# --- websocket and Asterisk faults -----------------------------------------------------


async def test_websocket_drop_reconciles_vanished_and_keeps_live_calls(h: Harness) -> None:
    stays = await waiting_caller(h, "13900000001")
    leaves = await waiting_caller(h, "13900000002")
    moh_before = len(h.requests("POST", f"/channels/{stays}/moh"))
    h.fake.drop_websocket()
    h.fake.hang_up(leaves)  # its events are lost with the socket (fact 13)
    await h.fake.wait_for_websocket(2)
    await h.until(lambda: h.driver.stats.reconciled >= 1, "the reconcile")
    await h.until(lambda: h.stage(leaves) is None, "the vanished call settled")
    assert hang_ups(h, h.driver.call_id_of(leaves)) == 1
    assert h.stage(stays) is CallStage.WAITING
    assert h.driver.stats.reconnects == 1 and h.driver.stats.reconciled >= 1
    # Nothing was sent again for the live call.
    assert len(h.requests("POST", f"/channels/{stays}/moh")) == moh_before
    # Events flow again on the new socket.
    h.fake.hang_up(stays)
    await h.until(lambda: h.stage(stays) is None, "the live call ends normally")
    assert hang_ups(h, h.driver.call_id_of(stays)) == 1


async def test_application_replaced_stops_loudly(h: Harness) -> None:
    h.fake.replace_application()
    with pytest.raises(ApplicationTakenOverError):
        await asyncio.wait_for(h.run, 2)
    h.driver.execute(Play("ast1:x", (Prompt("p", "p", "zh", "beep"),)))
    assert not h.requests("POST", "/channels/x/play")


async def test_asterisk_restart_settles_every_call(h: Harness) -> None:
    waiting = await waiting_caller(h)
    in_ivr = h.fake.caller_enters("13900000003", args=("12345",))
    await h.until(lambda: h.stage(in_ivr) is CallStage.IVR, "in the IVR")
    h.fake.restart()
    await h.until(lambda: h.stage(waiting) is None and h.stage(in_ivr) is None, "settled")
    assert hang_ups(h, h.driver.call_id_of(waiting)) == 1
    assert hang_ups(h, h.driver.call_id_of(in_ivr)) == 1
    await h.fake.wait_for_websocket(2)
    fresh = h.fake.caller_enters("13900000004", args=("12345",))
    await h.until(lambda: h.stage(fresh) is CallStage.IVR, "a call after the restart")


async def test_our_restart_keeps_waiting_callers_in_place(
    fake: FakeAsterisk, client: AriClient
) -> None:
    first = await start_harness(fake, client)
    try:
        keeps = await waiting_caller(first, "13900000011")
        second = await waiting_caller(first, "13900000012")
        leaves = await waiting_caller(first, "13900000013")
    finally:
        await stop_harness(first)  # the process goes; Asterisk keeps the channels
    records = list(first.records)
    fake.hang_up(leaves)  # while we were down
    kernel = build_kernel(load_centre(CONFIG))
    replayed = replay(kernel, records)
    assert kernel.stage(first.driver.call_id_of(keeps)) is CallStage.WAITING
    clock = VirtualClock(replayed.last_at or START)
    h = await start_harness(fake, client, kernel=kernel, clock=clock)
    try:
        restored = await h.driver.restore(kernel, live_call_ids(records), h.runtime.router,
                                          h.link.name)
        assert restored == 3
        await h.until(lambda: h.stage(leaves) is None, "the gone caller settled")
        assert hang_ups(h, h.driver.call_id_of(leaves)) == 1
        # Music again for those still waiting, once each.
        await h.until(lambda: len(h.requests("POST", f"/channels/{keeps}/moh")) == 2, "moh")
        await h.until(lambda: len(h.requests("POST", f"/channels/{second}/moh")) == 2, "moh")
        assert await h.driver.restore(kernel, live_call_ids(records), h.runtime.router,
                                      h.link.name) == 0  # nothing twice
        # The first in line is served first: their place was kept.
        fake.add_endpoint("8001", RingOutcome.ANSWER)
        await h.log_in("1001", "s01")
        await h.until(lambda: h.stage(keeps) is CallStage.TALKING, "the first caller served")
        assert h.stage(second) is CallStage.WAITING
        await h.until(lambda: any(keeps in b.channels for b in fake.bridges.values()), "bridge")
    finally:
        await stop_harness(h)


# --- far-end hang-up during every command kind ------------------------------------------


async def _in_play(h: Harness) -> str:
    cid = h.fake.caller_enters("13900000021", args=("12345",))
    await h.until(lambda: bool(h.requests("POST", f"/channels/{cid}/play")), "playing")
    return cid


async def _in_collect(h: Harness) -> str:
    cid = await _in_play(h)
    h.fake.press(cid, "3")  # work-order number: a digit collection
    await h.until(lambda: len(h.requests("POST", f"/channels/{cid}/play")) == 2, "collecting")
    h.fake.press(cid, "1")
    return cid


async def _in_record(h: Harness) -> str:
    cid = await _in_play(h)
    h.driver.execute(Record(h.driver.call_id_of(cid), 30))
    await h.until(lambda: bool(h.requests("POST", f"/channels/{cid}/record")), "recording")
    return cid


async def _ringing(h: Harness) -> str:
    h.fake.add_endpoint("8001", RingOutcome.NO_ANSWER)
    h.fake.time_scale = 1.0  # the phone rings its full 15 s (the hang-up comes first)
    cid = await waiting_caller(h)
    await h.log_in("1001", "s01")
    await h.until(lambda: bool(h.requests("POST", "/ari/channels")), "ringing")
    return cid


async def _talking(h: Harness) -> str:
    h.fake.add_endpoint("8001", RingOutcome.ANSWER)
    cid = await waiting_caller(h)
    await h.log_in("1001", "s01")
    await h.until(lambda: any(cid in b.channels for b in h.fake.bridges.values()), "bridged")
    return cid


@pytest.mark.parametrize("during", [_in_play, _in_collect, _in_record, _ringing, _talking,
                                    waiting_caller])
async def test_far_end_hang_up_is_one_caller_hung_up(h: Harness, during: Any) -> None:
    cid = await during(h)
    call_id = h.driver.call_id_of(cid)
    h.fake.hang_up(cid)
    await h.until(lambda: h.stage(cid) is None, "ended")
    await h.until(lambda: set(h.fake.channels) <= set(), "every leg cleared")
    await h.driver.idle()
    await h.runtime.drain()
    assert hang_ups(h, call_id) == 1
    assert not [r for r in h.records if type(r) in (SeatNoAnswer, ev.CallEnded)]
    assert h.runtime.counters.driver_errors == 0 and h.runtime.counters.failures == 0
    assert h.driver.live_calls == 0


# --- translation details on a bare link ----------------------------------------------------


class RecordingLink:
    """A `DriverLink` stand-in that keeps what the driver posts."""

    name = "ari-test"

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.claimed: list[str] = []

    async def post(self, event: Any) -> None:
        self.events.append(event)

    def offer(self, event: Any) -> bool:
        self.events.append(event)
        return True

    def claim_endpoint(self, endpoint: str) -> None:
        pass

    def claim_call(self, call_id: str) -> None:
        self.claimed.append(call_id)

    def release(self, call_id: str) -> None:
        pass

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


class Bare:
    def __init__(self, fake: FakeAsterisk, driver: AriDriver, link: RecordingLink,
                 clock: VirtualClock, speech: FakeSpeech) -> None:
        self.fake, self.driver, self.link, self.clock, self.speech = (
            fake, driver, link, clock, speech)

    async def until(self, condition: Any, what: str) -> None:
        for _ in range(400):
            if condition():
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def bare(fake: FakeAsterisk, client: AriClient) -> AsyncIterator[Bare]:
    clock = VirtualClock(START)
    speech = FakeSpeech()
    driver = AriDriver(client, AriDriverSettings(server="ast9", playback_timeout_s=60),
                       clock=clock, speech=speech)
    link = RecordingLink()
    stream = AriEventStream(driver_config(fake), client)
    stream.start()
    run = asyncio.create_task(driver.run(link, stream))
    await fake.wait_for_websocket()
    try:
        yield Bare(fake, driver, link, clock, speech)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await stream.aclose()
        await driver.aclose()


async def _arrived(bare: Bare, number: str = "5551234", **kwargs: Any) -> str:
    cid = bare.fake.caller_enters(number, **kwargs)
    await bare.until(lambda: bare.link.of(ev.CallArrived), "CallArrived")
    return cid


async def test_arrival_names_line_and_withheld_caller(bare: Bare) -> None:
    cid = await _arrived(bare, "anonymous", args=("12345-8",))
    (arrived,) = bare.link.of(ev.CallArrived)
    assert arrived == ev.CallArrived(f"ast9:{cid}", "12345-8", "", START)
    other = bare.fake.caller_enters("5550000", args=(), exten="12380")
    await bare.until(lambda: len(bare.link.of(ev.CallArrived)) == 2, "second")
    assert bare.link.of(ev.CallArrived)[1].line == "12380"
    assert bare.link.of(ev.CallArrived)[1].call_id == f"ast9:{other}"


async def test_digits_with_terminator_and_timeouts(bare: Bare) -> None:
    cid = await _arrived(bare)
    call_id = f"ast9:{cid}"
    bare.driver.execute(CollectDigits(call_id, 1, 6, "#", 5.0, 3.0))
    for digit in "42#":
        bare.fake.press(cid, digit)
    await bare.until(lambda: bare.link.of(ev.DigitsReceived), "digits")
    assert bare.link.of(ev.DigitsReceived)[0].digits == "42"
    bare.driver.execute(CollectDigits(call_id, 1, 6, "#", 5.0, 3.0))
    bare.fake.press(cid, "7")
    await asyncio.sleep(0.05)
    bare.clock.advance(3.0)  # inter-digit timeout: what was typed
    assert bare.link.of(ev.DigitsReceived)[1].digits == "7"
    bare.driver.execute(CollectDigits(call_id, 1, 6, "#", 5.0, 3.0))
    bare.clock.advance(5.0)  # first-digit timeout: no input
    assert len(bare.link.of(ev.NoInput)) == 1


async def test_playback_that_never_finishes_is_reported_by_our_timeout(bare: Bare) -> None:
    cid = await _arrived(bare)
    call_id = f"ast9:{cid}"
    bare.driver.execute(Play(call_id, (Prompt("x", "x", "zh", "bogus:nothing"),)))
    await bare.until(lambda: any(r[1].endswith("/play") for r in bare.fake.requests), "play")
    await asyncio.sleep(0.05)
    assert not bare.link.of(ev.PlaybackFinished)  # fact 5: Asterisk never says
    bare.clock.advance(60)
    assert bare.link.of(ev.PlaybackFinished) == [ev.PlaybackFinished(call_id, START + 60)]


async def test_no_free_recogniser_keeps_collecting_keys(bare: Bare) -> None:
    bare.speech.answer = Heard.KEYS_ONLY
    cid = await _arrived(bare)
    call_id = f"ast9:{cid}"
    from hotline.vocabulary.commands import Recognize

    bare.driver.execute(Recognize(call_id, "zh", ("投诉",), 5.0))
    bare.fake.press(cid, "1")
    await bare.until(lambda: bare.link.of(ev.DigitsReceived), "the key")
    assert bare.link.of(ev.DigitsReceived)[0].digits == "1"
    assert bare.speech.stopped == [call_id]
    bare.clock.advance(10)
    assert not bare.link.of(ev.NoInput)  # the bridge owns the no-input timer


@pytest.mark.parametrize(
    ("outcome", "cause"),
    [(RingOutcome.UNREGISTERED, "unreachable"), (RingOutcome.BUSY, "busy"),
     (RingOutcome.NO_ANSWER, "timeout")],
)
async def test_seat_ring_outcomes(bare: Bare, outcome: RingOutcome, cause: str) -> None:
    cid = await _arrived(bare, "13800000000", name="李四")
    bare.fake.add_endpoint("8001", outcome)
    bare.driver.execute(RingSeat(f"ast9:{cid}", "1001", "PJSIP/8001", 1))
    await bare.until(lambda: bare.link.of(ev.SeatNoAnswer), "the ring's outcome")
    assert bare.link.of(ev.SeatNoAnswer) == [
        ev.SeatNoAnswer("1001", f"ast9:{cid}", START, cause)]
    ring = next(r for r in bare.fake.requests if r[1].endswith("/ari/channels"))
    assert ring[2]["endpoint"] == "PJSIP/8001" and ring[2]["timeout"] == "1"
    assert ring[2]["callerId"] == '"李四" <13800000000>'
    assert ring[2]["appArgs"] == f"agent,ast9:{cid},1001"


async def test_callback_dial_outcomes(bare: Bare) -> None:
    bare.driver.execute(DialCitizen("ast9:c1.cb", "13700000000", "1001", "PJSIP/8001", 30, 1))
    await bare.until(lambda: bare.link.of(ev.CallbackFailed), "unreachable")
    assert bare.link.of(ev.CallbackFailed)[0].cause == "unreachable"
    bare.fake.add_endpoint("13700000000@trunk", RingOutcome.ANSWER)
    bare.driver.execute(DialCitizen("ast9:c2.cb", "13700000000", "1001", "PJSIP/8001", 30, 1))
    await bare.until(lambda: bare.link.of(ev.CallbackAnswered), "answered")
    assert bare.link.of(ev.CallbackAnswered)[0].request_id == "ast9:c2.cb"


class _StoppedLink:
    """A runtime that is stopping: it takes nothing more."""

    def __init__(self) -> None:
        self.claimed: list[str] = []

    async def post(self, event: Any) -> None:
        raise RuntimeClosed("the centre runtime is stopped")

    def offer(self, event: Any) -> bool:
        raise RuntimeClosed("the centre runtime is stopped")

    def claim_endpoint(self, endpoint: str) -> None:
        self.claimed.append(endpoint)

    def release(self, call_id: str) -> None:
        pass


async def test_events_after_the_runtime_stopped_are_dropped_not_raised(
    client: AriClient,
) -> None:
    """A caller arriving (or a timer of ours firing) while the service stops has no
    runtime to tell: counted and logged, never an exception in a loop callback."""
    trace = CONFIG.parent / ".." / "shared" / "asterisk" / "traces" / "ari" / "call-events.jsonl"
    if not trace.exists():
        pytest.skip("the recorded ARI traces (../shared/asterisk) are not here")
    first = json.loads(trace.read_text(encoding="utf-8").splitlines()[0])
    event = parse_event(first)
    assert isinstance(event, StasisStart)
    driver = AriDriver(client, AriDriverSettings(server="ast1"), clock=VirtualClock(START))
    driver.bind(_StoppedLink())
    await driver.handle_item(event)
    assert driver.stats.dropped_after_stop == 1 and driver.stats.posted == 0
    await driver.aclose()
