"""A call's IVR under FastAGI, its wait and conversation under ARI: one kernel.

The FastAGI test peer (Asterisk's side of `agi://`, answering with recorded shapes) runs
the sample centre's IVR through the real `AgiServer` and `AgiDriver` up to `Enqueue`;
then the ARI test server (real loopback HTTP + websocket) brings the same channel into
Stasis with ``args == ["handoff", <call id>]`` and the `AriDriver` takes the call over
through the `HandOffs` both drivers share. Everything runs on one `CentreRuntime` with
the sample centre's kernel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from hotline.telephony.agi import AgiServer, AgiSettings
from hotline.telephony.agi.driver import AgiDriver, AgiDriverSettings
from hotline.telephony.agi.handoff import HandOffs, stasis_args
from hotline.telephony.ari import AriClient
from hotline.telephony.ari.fake_asterisk import FakeAsterisk, RingOutcome
from hotline.vocabulary.commands import HoldWithMusic, RingSeat
from hotline.vocabulary.events import CallArrived, CallerHungUp, SeatAnswered
from hotline.vocabulary.facts import CallFinished
from hotline.vocabulary.states import CallStage
from tests.telephony.agi.test_driver import UNIQUEID, Peer, answers, environment, fake_asterisk
from tests.telephony.ari.test_driver import Harness, start_harness, stop_harness

FAST = AgiSettings(port=0, command_timeout_s=2.0, hangup_grace_s=0.3, stop_grace_s=0.5)


@dataclass
class Both:
    h: Harness
    agi: AgiDriver
    server: AgiServer
    handoffs: HandOffs

    @property
    def call_id(self) -> str:
        # The FastAGI driver names the call as the ARI driver names its channel.
        return self.h.driver.call_id_of(UNIQUEID)

    async def ivr_up_to_the_queue(self) -> Peer:
        """The caller lets the greeting time out and is put through to the queue; the
        FastAGI script ends with the hand-off variables."""
        respond = answers(
            ("ANSWER", b"200 result=0\n"),
            ("GET DATA hotline/zh/greeting 1000 1", b"200 result= (timeout)\n"),
            ("STREAM FILE hotline/zh/transferring", b"200 result=0 endpos=24000\n"),
        )
        peer = await fake_asterisk(self.server.port, environment(), respond)
        await self.h.runtime.drain()
        return peer

    def enters_stasis(self) -> None:
        """`[hotline-after-agi]`: Stasis(app,handoff,${HOTLINE_CALL_ID}) on the same,
        answered channel (its uniqueid is its ARI id)."""
        self.h.fake.caller_enters("13800000000", args=stasis_args(self.call_id),
                                  channel_id=UNIQUEID, state="Up")

    def arrivals(self) -> int:
        return sum(1 for r in self.h.records if type(r) is CallArrived)


async def both_drivers(fake: FakeAsterisk, client: AriClient, *, handoff_timeout_s: float
                       ) -> AsyncIterator[Both]:
    handoffs = HandOffs()
    h = await start_harness(fake, client, handoffs=handoffs)
    agi = AgiDriver(now=h.clock.now, handoffs=handoffs, settings=AgiDriverSettings(
        call_id_prefix=h.driver.call_id_of(""), handoff_timeout_s=handoff_timeout_s,
        idle_timeout_s=5.0))
    agi.bind(h.runtime.attach("agi", agi))
    server = AgiServer(agi.handle, FAST)
    try:
        async with server:
            yield Both(h, agi, server, handoffs)
            await agi.aclose()
    finally:
        await stop_harness(h)


@pytest.fixture
async def both(fake: FakeAsterisk, client: AriClient) -> AsyncIterator[Both]:
    async for value in both_drivers(fake, client, handoff_timeout_s=5.0):
        yield value


@pytest.fixture
async def impatient(fake: FakeAsterisk, client: AriClient) -> AsyncIterator[Both]:
    # The FastAGI driver's hand-off deadline runs on the event loop's own time (it is
    # not a kernel timer); a short one keeps the never-taken case quick.
    async for value in both_drivers(fake, client, handoff_timeout_s=0.1):
        yield value


def channel_requests(h: Harness, channel_id: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in h.fake.requests if f"/channels/{channel_id}" in r[1]]


async def test_handed_off_call_waits_is_rung_answered_bridged_and_ends_once(
    both: Both,
) -> None:
    h, call_id = both.h, both.call_id
    peer = await both.ivr_up_to_the_queue()
    assert peer.closed_by_app and peer.commands[-1][2:] == ["HOTLINE_ACTION", "handoff"]
    # The caller waits in the queue while the channel travels; nothing went to ARI.
    assert h.kernel.stage(call_id) is CallStage.WAITING
    assert both.handoffs.is_pending(call_id)
    assert h.runtime.router.owner(call_id) is both.agi
    assert not channel_requests(h, UNIQUEID)

    both.enters_stasis()
    await h.until(lambda: bool(h.requests("POST", f"/channels/{UNIQUEID}/moh")), "hold music")
    assert both.arrivals() == 1  # the ARI side posted no second CallArrived
    assert h.driver.stats.handoffs == 1 and len(both.handoffs) == 0
    assert h.runtime.router.owner(call_id) is h.driver
    # No second IVR: no greeting, no answer (the channel is up), just the queue's music.
    assert channel_requests(h, UNIQUEID) == [("POST", f"/ari/channels/{UNIQUEID}/moh")]

    h.fake.add_endpoint("8001", RingOutcome.ANSWER)
    await h.log_in("1001", "s01")
    await h.until(lambda: h.kernel.stage(call_id) is CallStage.TALKING, "talking")
    ring = h.requests("POST", "/ari/channels")[-1]
    assert ring[2]["endpoint"] == "PJSIP/8001"
    assert ring[2]["appArgs"] == f"agent,{call_id},1001"
    await h.until(lambda: any(set(b.channels) == {UNIQUEID, ring[2]["channelId"]}
                              for b in h.fake.bridges.values()), "bridged")
    assert not h.fake.channels[UNIQUEID].moh

    h.fake.hang_up(UNIQUEID)
    await h.until(lambda: h.kernel.stage(call_id) is None, "the end")
    await h.until(lambda: not h.fake.channels and not h.fake.bridges, "every leg cleared")
    finished = [f for f in h.facts(CallFinished) if f.call_id == call_id]
    assert len(finished) == 1 and finished[0].outcome.value == "answered"
    assert sum(1 for r in h.records if type(r) is CallerHungUp) == 1
    assert both.arrivals() == 1
    assert h.runtime.counters.rejected == {} and h.runtime.counters.driver_errors == 0
    assert h.runtime.router.owner(call_id) is None


async def test_seat_rung_before_the_channel_arrives_rings_after_it(both: Both) -> None:
    h, call_id = both.h, both.call_id
    h.fake.add_endpoint("8001", RingOutcome.ANSWER)
    await h.log_in("1001", "s01")
    await both.ivr_up_to_the_queue()
    # The ACD reserved the ready seat in the Enqueue step: the ring waits with the ticket.
    assert h.kernel.stage(call_id) is CallStage.RINGING
    assert not h.requests("POST", "/ari/channels") and not channel_requests(h, UNIQUEID)
    assert both.handoffs.is_pending(call_id)

    both.enters_stasis()
    await h.until(lambda: h.kernel.stage(call_id) is CallStage.TALKING, "talking")
    (ring,) = h.requests("POST", "/ari/channels")  # rung once, after the arrival
    assert ring[2]["endpoint"] == "PJSIP/8001"
    await h.until(lambda: any(UNIQUEID in b.channels for b in h.fake.bridges.values()),
                  "bridged")
    assert [r for r in h.records if type(r) is SeatAnswered] == [
        SeatAnswered("1001", call_id, h.clock.now())]
    assert both.arrivals() == 1
    h.fake.hang_up(UNIQUEID)
    await h.until(lambda: h.kernel.stage(call_id) is None, "the end")
    assert h.runtime.counters.rejected == {}


async def test_commands_for_an_open_ticket_are_deferred_not_sent(both: Both) -> None:
    h, call_id = both.h, both.call_id
    await both.ivr_up_to_the_queue()
    requests_before = len(h.fake.requests)
    hold = HoldWithMusic(call_id, "general")
    ring = RingSeat(call_id, "1001", "PJSIP/8001", 15)
    h.driver.execute(hold)
    h.driver.execute(ring)
    await h.driver.idle()
    assert len(h.fake.requests) == requests_before
    taken = both.handoffs.take(call_id)
    assert taken is not None and taken.commands[-2:] == (hold, ring)


async def test_ticket_never_taken_then_the_channel_shows_up_late(impatient: Both) -> None:
    h, call_id = impatient.h, impatient.call_id
    await impatient.ivr_up_to_the_queue()
    # The caller hung up between the AGI script and Stasis: nobody takes the ticket, the
    # FastAGI side gives up and reports the caller gone; the queue forgets them.
    await h.until(lambda: h.kernel.stage(call_id) is None, "the hand-off given up")
    assert not impatient.handoffs.is_pending(call_id)
    assert sum(1 for r in h.records if type(r) is CallerHungUp) == 1
    assert not channel_requests(h, UNIQUEID) and not h.requests("POST", "/ari/channels")

    # A channel that still arrives with that hand-off is not served twice: no IVR, no
    # CallArrived, no claim; it is hung up.
    impatient.enters_stasis()
    await h.until(lambda: UNIQUEID not in h.fake.channels, "the late channel hung up")
    assert h.requests("DELETE", f"/channels/{UNIQUEID}")
    assert h.driver.stats.handoffs_lost == 1 and h.driver.stats.handoffs == 0
    assert impatient.arrivals() == 1
    assert h.runtime.router.owner(call_id) is None
    assert not h.requests("POST", f"/channels/{UNIQUEID}/play")
    assert h.driver.live_calls == 0


async def test_hand_off_args_without_a_shared_ticket_book_are_not_a_new_call(
    fake: FakeAsterisk, client: AriClient
) -> None:
    h = await start_harness(fake, client)  # no HandOffs: a FastAGI front is not wired
    try:
        fake.caller_enters("13800000000", args=stasis_args("ast1:1795636067.99"),
                           channel_id="1795636067.99", state="Up")
        await h.until(lambda: not fake.channels, "hung up")
        assert not [r for r in h.records if type(r) is CallArrived]
        assert h.driver.stats.handoffs_lost == 1
    finally:
        await stop_harness(h)
