"""Live-call actions and the speech path on the wire (the ARI test server, loopback).

Supervisors through snoop channels (traces/ari/snoop-*: spy=both hears the conversation,
whisper=out speaks to the agent only, a snoop of a channel that hangs up only leaves its
bridge and Stasis), barge into the conversation itself, an agent leaving a three-way
call to the department, hold and resume of the citizen, and the externalMedia speech
path (traces/ari/media-*), including its fallback to keys when no recogniser is free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.telephony.ari import AriClient
from hotline.telephony.ari.fake_asterisk import FakeAsterisk, Origin, RingOutcome
from hotline.vocabulary.events import (
    AgentHolds,
    AgentLeavesThreeWay,
    AgentLoggedIn,
    AgentReady,
    AgentTransfers,
    CallerHungUp,
    DigitsReceived,
    SupervisorJoins,
    ThreeWayStarted,
)
from hotline.vocabulary.facts import (
    AgentLeftToParty,
    CallFinished,
    CallTransferred,
    CitizenHeld,
    PartyCalled,
    SupervisorJoined,
    SupervisorLeft,
)
from hotline.vocabulary.states import CallStage
from tests.telephony.ari.test_driver import FakeSpeech, Harness, Heard, start_harness, stop_harness
from tests.telephony.ari.test_driver_faults import waiting_caller


def agent_leg(h: Harness) -> str:
    ring = h.requests("POST", "/ari/channels")
    return next(r[2]["channelId"] for r in ring if r[2]["appArgs"].startswith("agent,"))


def conversation(h: Harness, cid: str) -> set[str]:
    return next((set(b.channels) for b in h.fake.bridges.values()
                 if b.name == h.driver.call_id_of(cid)), set())


def supervisor_bridge(h: Harness) -> set[str]:
    return next((set(b.channels) for b in h.fake.bridges.values()
                 if b.name.startswith("supervise")), set())


async def talk(h: Harness) -> str:
    h.fake.add_endpoint("8001", RingOutcome.ANSWER)
    h.fake.add_endpoint("8100", RingOutcome.ANSWER)
    h.fake.add_endpoint("12319@trunk", RingOutcome.ANSWER)
    cid = await waiting_caller(h)
    await h.log_in("1001", "s01")
    await h.until(lambda: len(conversation(h, cid)) == 2, "caller and agent bridged")
    return cid




# --- supervisors --------------------------------------------------------------------------


async def test_whisper_snoops_the_agent_and_speaks_to_the_agent_only(h: Harness) -> None:
    cid = await talk(h)
    call_id, agent = h.driver.call_id_of(cid), agent_leg(h)
    await h.post(SupervisorJoins(call_id, "1036", "PJSIP/8100", "whisper", h.clock.now()))
    await h.until(lambda: len(supervisor_bridge(h)) == 2, "the supervisor bridge")
    sup = next(r for r in h.requests("POST", "/ari/channels")
               if r[2]["appArgs"] == f"supervisor,{call_id},1036")
    assert sup[2]["endpoint"] == "PJSIP/8100"
    (snoop,) = h.requests("POST", f"/channels/{agent}/snoop")
    # Fact 12 shapes: the agent's channel is spied on both ways, the supervisor's voice
    # goes out to the agent; the citizen hears nothing of it.
    assert snoop[2]["spy"] == "both" and snoop[2]["whisper"] == "out"
    assert supervisor_bridge(h) == {snoop[2]["snoopId"], sup[2]["channelId"]}
    assert h.fake.channels[snoop[2]["snoopId"]].name.startswith(f"Snoop/{agent}-")
    assert conversation(h, cid) == {cid, agent}
    # The supervisor's identity is on record, with the agent they coached.
    assert h.facts(SupervisorJoined) == [
        SupervisorJoined(call_id, "1036", "whisper", "1001", h.clock.now())]
    assert h.driver.stats.rest_errors == 0

    # The citizen hangs up: the agent's leg, its snoop (which only leaves bridge and
    # Stasis, fact 12), the supervisor's line and both bridges go with the call.
    h.fake.hang_up(cid)
    await h.until(lambda: not h.fake.channels and not h.fake.bridges, "all cleared")
    assert h.stage(cid) is None and h.driver.live_calls == 0
    assert h.runtime.counters.rejected == {} and h.driver.stats.rest_errors == 0


async def test_barge_joins_the_conversation_and_the_supervisor_hangs_up(h: Harness) -> None:
    cid = await talk(h)
    call_id, agent = h.driver.call_id_of(cid), agent_leg(h)
    await h.post(SupervisorJoins(call_id, "1036", "PJSIP/8100", "barge", h.clock.now()))
    await h.until(lambda: len(conversation(h, cid)) == 3, "three in the conversation")
    sup = next(r[2]["channelId"] for r in h.requests("POST", "/ari/channels")
               if r[2]["appArgs"] == f"supervisor,{call_id},1036")
    assert conversation(h, cid) == {cid, agent, sup}
    assert not h.requests("POST", "/snoop") and not supervisor_bridge(h)
    assert h.facts(SupervisorJoined)[0].mode == "barge"

    # The supervisor puts the phone down: they leave, the conversation goes on.
    h.fake.hang_up(sup)
    await h.until(lambda: bool(h.facts(SupervisorLeft)), "the supervisor left")
    assert h.facts(SupervisorLeft)[0].supervisor_id == "1036"
    assert h.facts(SupervisorLeft)[0].reason == "left"
    assert conversation(h, cid) == {cid, agent}
    assert h.stage(cid) is CallStage.TALKING
    assert h.runtime.counters.rejected == {}


async def test_supervisor_phone_unreachable_is_a_supervisor_leaving(h: Harness) -> None:
    cid = await talk(h)
    call_id = h.driver.call_id_of(cid)
    await h.post(SupervisorJoins(call_id, "1036", "PJSIP/8199", "listen", h.clock.now()))
    await h.until(lambda: bool(h.facts(SupervisorLeft)), "the supervisor left")
    assert not h.requests("POST", "/snoop")  # fact 10: 500 at once, nothing to spy for
    assert h.stage(cid) is CallStage.TALKING and conversation(h, cid) == {cid, agent_leg(h)}


# --- three-way, hold ----------------------------------------------------------------------


async def test_agent_leaves_the_citizen_with_the_department(h: Harness) -> None:
    cid = await talk(h)
    call_id, agent = h.driver.call_id_of(cid), agent_leg(h)
    await h.post(ThreeWayStarted(call_id, "1001", "dept-1", "12319", h.clock.now()))
    await h.until(lambda: len(conversation(h, cid)) == 3, "the department joined")
    party = next(c for c in conversation(h, cid) if c not in (cid, agent))
    assert h.fake.channels[party].endpoint == "PJSIP/12319@trunk"
    assert h.facts(PartyCalled)[0].party_id == "dept-1"

    await h.post(AgentLeavesThreeWay(call_id, "1001", h.clock.now()))
    await h.until(lambda: agent not in h.fake.channels, "the agent's leg hung up")
    assert conversation(h, cid) == {cid, party}  # citizen and department still talk
    assert h.facts(AgentLeftToParty) == [
        AgentLeftToParty(call_id, "1001", ("dept-1",), h.clock.now())]
    assert h.kernel.seat("1001").state.value == "wrap-up"
    assert not [r for r in h.records if type(r) is CallerHungUp]

    # The department hangs up: the citizen's line is cleared too, the call ends once.
    h.fake.hang_up(party)
    await h.until(lambda: not h.fake.channels and not h.fake.bridges, "all cleared")
    await h.driver.idle()
    await h.runtime.drain()
    finished = [f for f in h.facts(CallFinished) if f.call_id == call_id]
    assert len(finished) == 1 and finished[0].outcome.value == "answered"
    assert h.driver.live_calls == 0
    assert h.runtime.counters.driver_errors == 0


async def test_citizen_hangs_up_while_held(h: Harness) -> None:
    cid = await talk(h)
    call_id, agent = h.driver.call_id_of(cid), agent_leg(h)
    await h.post(AgentHolds(call_id, "1001", h.clock.now()))
    await h.until(lambda: h.fake.channels[cid].moh and conversation(h, cid) == {agent},
                  "held: out of the bridge, music on")
    assert h.facts(CitizenHeld)[0].agent_id == "1001"
    h.fake.hang_up(cid)
    await h.until(lambda: not h.fake.channels and not h.fake.bridges, "all cleared")
    assert sum(1 for r in h.records if type(r) is CallerHungUp) == 1
    assert h.stage(cid) is None and h.driver.live_calls == 0


# --- the speech path ----------------------------------------------------------------------


@dataclass
class FakeMedia:
    """Stands in for the AudioSocket server: hands out the UUID each stream will name."""

    external_host: str = "127.0.0.1:40001"
    expected: dict[str, str] = field(default_factory=dict)
    forgotten: list[str] = field(default_factory=list)

    def expect(self, call_id: str) -> str:
        uuid = f"0f2a8c2e-5b6d-4e3a-9a1b-{len(self.expected):012d}"
        self.expected[call_id] = uuid
        return uuid

    def forget(self, call_id: str) -> None:
        self.forgotten.append(call_id)


async def test_external_media_joins_the_speech_bridge_after_its_stasis_start(
    fake: FakeAsterisk, client: AriClient
) -> None:
    # A loaded Asterisk: the snoop's and the media channel's StasisStart come a while
    # after the REST answers; adding them to a bridge before that would be 422.
    fake.stasis_delay = 0.05
    media = FakeMedia()
    h = await start_harness(fake, client, media=media)
    try:
        cid = fake.caller_enters("13900000031", args=("12345",))
        call_id = h.driver.call_id_of(cid)
        await h.until(lambda: any(len(b.channels) == 2 and b.name.startswith("speech")
                                  for b in fake.bridges.values()), "the speech bridge")
        (snoop,) = h.requests("POST", f"/channels/{cid}/snoop")
        assert snoop[2]["spy"] == "in" and "whisper" not in snoop[2]  # the caller only
        (em,) = h.requests("POST", "/channels/externalMedia")
        assert em[2]["encapsulation"] == "audiosocket" and em[2]["transport"] == "tcp"
        assert em[2]["format"] == "slin" and em[2]["external_host"] == "127.0.0.1:40001"
        assert em[2]["data"] == media.expected[call_id]
        bridge = next(b for b in fake.bridges.values() if b.name.startswith("speech"))
        assert set(bridge.channels) == {snoop[2]["snoopId"], em[2]["channelId"]}
        assert fake.channels[em[2]["channelId"]].origin is Origin.MEDIA
        (add,) = h.requests("POST", f"/bridges/{bridge.id}/addChannel")
        assert add[2]["channel"] == f"{snoop[2]['snoopId']},{em[2]['channelId']}"
        assert h.driver.stats.rest_errors == 0

        # The caller hangs up: the media path is torn down with the call.
        fake.hang_up(cid)
        await h.until(lambda: not fake.channels and not fake.bridges, "all cleared")
        assert media.forgotten == [call_id]
    finally:
        await stop_harness(h)


async def test_no_free_recogniser_opens_no_media_and_takes_keys(
    fake: FakeAsterisk, client: AriClient
) -> None:
    media = FakeMedia()
    h = await start_harness(fake, client, speech=FakeSpeech(answer=Heard.KEYS_ONLY),
                            media=media)
    try:
        cid = fake.caller_enters("13900000032", args=("12345",))
        await h.until(lambda: bool(h.speech.listens), "the greeting listens")
        fake.press(cid, "0")
        await h.until(lambda: h.stage(cid) is CallStage.WAITING, "the key took the caller on")
        digits = [r for r in h.records if type(r) is DigitsReceived]
        assert [d.digits for d in digits] == ["0"]
        assert not h.requests("POST", "/channels/externalMedia")
        assert not h.requests("POST", "/snoop") and not media.expected
    finally:
        await stop_harness(h)


# --- transfer to a colleague --------------------------------------------------------------


async def test_transfer_to_a_ready_colleague_rebridges_the_citizen(h: Harness) -> None:
    """The first agent's leg goes, the citizen leaves that bridge and hears music, the
    colleague's phone rings and the citizen is bridged with them in a fresh bridge."""
    cid = await talk(h)
    call_id, first = h.driver.call_id_of(cid), agent_leg(h)
    old_bridge = next(b.id for b in h.fake.bridges.values() if b.name == call_id)
    h.fake.add_endpoint("8002", RingOutcome.ANSWER)
    await h.post(AgentLoggedIn("1002", "s02", h.clock.now()))
    await h.post(AgentReady("1002", h.clock.now()))
    await h.post(AgentTransfers(call_id, "1001", h.clock.now(), to_agent="1002"))

    await h.until(lambda: first not in h.fake.channels, "the first agent's leg hung up")
    await h.until(lambda: conversation(h, cid) != set() and first not in conversation(h, cid)
                  and len(conversation(h, cid)) == 2, "citizen bridged with the colleague")
    second = next(r[2]["channelId"] for r in h.requests("POST", "/ari/channels")
                  if r[2]["appArgs"].startswith("agent,") and r[2]["endpoint"] == "PJSIP/8002")
    assert conversation(h, cid) == {cid, second}
    assert old_bridge not in h.fake.bridges  # the first conversation's bridge is gone
    assert h.requests("POST", f"/channels/{cid}/moh")  # music between the two agents
    (moved,) = h.facts(CallTransferred)
    assert (moved.from_agent, moved.to_agent) == ("1001", "1002")
    assert h.stage(cid) is CallStage.TALKING
    # Our own hang-up of the first leg is not an agent hanging up the call.
    assert not h.facts(CallFinished)
    assert h.runtime.counters.rejected == {} and h.driver.stats.rest_errors == 0

    h.fake.hang_up(cid)
    await h.until(lambda: bool(h.facts(CallFinished)), "the call finished")
    assert h.facts(CallFinished)[0].outcome.value == "answered"
    await h.until(lambda: not h.fake.channels and not h.fake.bridges, "all cleared")
