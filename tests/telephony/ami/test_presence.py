"""Seat presence: the pure tracker, and the monitor against the fake Asterisk."""

from __future__ import annotations

import asyncio

from hotline.telephony.ami.client import AmiClient
from hotline.telephony.ami.codec import Event
from hotline.telephony.ami.fake_asterisk import FakeAsterisk
from hotline.telephony.ami.presence import (
    DeviceState,
    PresenceCause,
    PresenceMonitor,
    PresenceTracker,
    SeatPresence,
)

from .conftest import settings_for

URI = "sip:pjseat1@127.0.0.1:5075"


def ev(name: str, **headers: str) -> Event:
    return Event((("Event", name), *headers.items()), name)


def test_device_state_both_spellings() -> None:
    assert DeviceState.parse("NOT_INUSE") is DeviceState.NOT_INUSE
    assert DeviceState.parse("Not in use") is DeviceState.NOT_INUSE
    assert DeviceState.parse("Unavailable") is DeviceState.UNAVAILABLE
    assert DeviceState.parse("Ring+Inuse") is DeviceState.RINGINUSE
    assert DeviceState.parse("whatever") is DeviceState.UNKNOWN
    assert DeviceState.parse(None) is DeviceState.UNKNOWN


def test_snapshot_then_recorded_register_and_unregister() -> None:
    tracker = PresenceTracker()
    changes = tracker.apply_snapshot(
        [
            ev("EndpointList", ObjectName="pjseat1", Contacts="", DeviceState="Unavailable"),
            ev(
                "EndpointList",
                ObjectName="pjagent",
                Contacts="pjagent/sip:pjagent@127.0.0.1:5072,",
                DeviceState="Not in use",
            ),
        ],
        [],
        [ev("DeviceStateChange", Device="Queue:hotline_avail", State="INUSE")],
    )
    assert {c.endpoint for c in changes} == {"PJSIP/pjseat1", "PJSIP/pjagent"}
    assert tracker.get("PJSIP/pjseat1") == SeatPresence(
        "PJSIP/pjseat1", False, None, DeviceState.UNAVAILABLE, PresenceCause.SNAPSHOT
    )
    agent = tracker.get("PJSIP/pjagent")
    assert agent is not None and not agent.registered  # static contact, no REGISTER
    assert agent.contact == "sip:pjagent@127.0.0.1:5072"
    assert tracker.get("Queue:hotline_avail") is None

    # The recorded registration burst (traces/ami/pjsip-status-stream.txt).
    seq = [
        ev("ChallengeSent", AccountID="pjseat1"),
        ev("PeerStatus", ChannelType="PJSIP", Peer="PJSIP/pjseat1", PeerStatus="Reachable"),
        ev("DeviceStateChange", Device="PJSIP/pjseat1", State="NOT_INUSE"),
        ev("ContactStatus", URI=URI, ContactStatus="NonQualified", AOR="pjseat1",
           EndpointName="pjseat1", RoundtripUsec="0"),
    ]  # fmt: skip
    out = [tracker.apply_event(e) for e in seq]
    assert out[0] is None
    assert [c.cause for c in out[1:] if c] == [
        PresenceCause.PEER_STATUS,
        PresenceCause.DEVICE_STATE,
        PresenceCause.CONTACT_STATUS,
    ]
    assert tracker.get("PJSIP/pjseat1") == SeatPresence(
        "PJSIP/pjseat1", True, URI, DeviceState.NOT_INUSE, PresenceCause.CONTACT_STATUS
    )
    ringing = tracker.apply_event(ev("DeviceStateChange", Device="PJSIP/pjseat1", State="RINGING"))
    assert ringing is not None and ringing.device_state is DeviceState.RINGING
    assert (
        tracker.apply_event(ev("DeviceStateChange", Device="PJSIP/pjseat1", State="RINGING"))
        is None
    )

    gone = [
        tracker.apply_event(e)
        for e in [
            ev("PeerStatus", Peer="PJSIP/pjseat1", PeerStatus="Unreachable"),
            ev("DeviceStateChange", Device="PJSIP/pjseat1", State="UNAVAILABLE"),
            ev("ContactStatus", URI=URI, ContactStatus="Removed", EndpointName="pjseat1"),
        ]
    ]
    assert gone[0] is not None and not gone[0].registered and gone[0].contact is None
    assert gone[2] is None  # already known
    final = tracker.get("PJSIP/pjseat1")
    assert final is not None and final.device_state is DeviceState.UNAVAILABLE


def test_snapshot_with_registered_contact_and_vanished_endpoint() -> None:
    tracker = PresenceTracker()
    tracker.apply_snapshot(
        [ev("EndpointList", ObjectName="old", Contacts="", DeviceState="Unavailable")], [], []
    )
    changes = tracker.apply_snapshot(
        [ev("EndpointList", ObjectName="pjseat1", Contacts=f"pjseat1/{URI},",
            DeviceState="Not in use")],
        [ev("ContactList", Endpoint="pjseat1", Uri=URI)],
        [ev("DeviceStateChange", Device="PJSIP/pjseat1", State="INUSE")],
    )  # fmt: skip
    assert changes == [
        SeatPresence("PJSIP/pjseat1", True, URI, DeviceState.INUSE, PresenceCause.SNAPSHOT)
    ]
    assert tracker.get("PJSIP/old") is None
    assert tracker.apply_snapshot([], [], []) == []
    assert tracker.snapshot() == {}


def test_other_technologies_and_missing_fields_are_ignored() -> None:
    tracker = PresenceTracker()
    assert tracker.apply_event(ev("PeerStatus", Peer="SIP/agent", PeerStatus="Reachable")) is None
    assert (
        tracker.apply_event(ev("DeviceStateChange", Device="Stasis:seat1", State="INUSE")) is None
    )
    assert tracker.apply_event(ev("ContactStatus", ContactStatus="Removed")) is None
    assert tracker.apply_event(ev("Newchannel")) is None
    sip = PresenceTracker(technologies=("SIP",))
    change = sip.apply_event(ev("PeerStatus", Peer="SIP/agent", PeerStatus="Registered"))
    assert change is not None and change.registered


async def next_change(queue: asyncio.Queue[SeatPresence]) -> SeatPresence:
    async with asyncio.timeout(2):
        return await queue.get()


async def test_monitor_follows_the_fake_asterisk(pbx: FakeAsterisk, client: AmiClient) -> None:
    changes: asyncio.Queue[SeatPresence] = asyncio.Queue()
    monitor = PresenceMonitor(client, changes.put_nowait)
    await monitor.start()
    try:
        initial = {}
        while not changes.empty():
            change = changes.get_nowait()
            initial[change.endpoint] = change
        assert set(initial) == {
            "PJSIP/pjagent", "PJSIP/pjbusy", "PJSIP/pjcaller", "PJSIP/pjring",
            "PJSIP/pjseat1", "PJSIP/dyn1",
        }  # fmt: skip
        assert not initial["PJSIP/pjseat1"].registered
        assert initial["PJSIP/pjseat1"].device_state is DeviceState.UNAVAILABLE

        await pbx.register()
        seen = [await next_change(changes) for _ in range(3)]
        assert seen[-1] == SeatPresence(
            "PJSIP/pjseat1", True, URI, DeviceState.NOT_INUSE, PresenceCause.CONTACT_STATUS
        )
        await pbx.set_device_state("PJSIP/pjseat1", "INUSE")
        assert (await next_change(changes)).device_state is DeviceState.INUSE

        # Events lost while disconnected are recovered by the snapshot after re-login.
        seat = pbx.endpoints["pjseat1"]
        seat.contact, seat.state = None, "UNAVAILABLE"  # unregistered, events never sent
        await pbx.drop_connections()
        change = await next_change(changes)
        assert change.cause is PresenceCause.SNAPSHOT
        assert not change.registered and change.device_state is DeviceState.UNAVAILABLE
    finally:
        await monitor.stop()


async def test_monitor_resyncs_after_lost_events(pbx: FakeAsterisk) -> None:
    client = AmiClient(settings_for(pbx, event_queue_size=1))
    await client.connect()
    changes: list[SeatPresence] = []
    monitor = PresenceMonitor(client, changes.append)
    try:
        await monitor.start()
        changes.clear()
        await pbx.register()  # five events into a queue of one: the rest are lost
        async with asyncio.timeout(2):
            while not (
                (seat := monitor.tracker.get("PJSIP/pjseat1")) is not None
                and seat.registered
                and seat.contact == URI
            ):
                await asyncio.sleep(0.005)
        assert changes[-1].contact == URI
        # One write, one read: the queue of one overflowed and a snapshot was taken again.
        assert [a.name for a in pbx.received].count("PJSIPShowEndpoints") == 2
    finally:
        await monitor.stop()
        await client.close()


async def test_faulty_consumer_does_not_stop_tracking(pbx: FakeAsterisk, client: AmiClient) -> None:
    calls: list[str] = []

    def explode(change: SeatPresence) -> None:
        calls.append(change.endpoint)
        raise RuntimeError("consumer bug")

    monitor = PresenceMonitor(client, explode)
    await monitor.start()
    try:
        await pbx.set_device_state("PJSIP/pjagent", "RINGING")
        async with asyncio.timeout(2):
            while calls.count("PJSIP/pjagent") < 2:
                await asyncio.sleep(0.005)
    finally:
        await monitor.stop()
