"""The ARI client and the supervised event stream against a real Asterisk 20.

Callers and agent phones are sipp (tests/live/sipp/) talking PJSIP to Asterisk's
127.0.0.1:5070; callers enter `from-sip` 500 -> `stasis-test` -> Stasis(hotline-test,
inbound, <caller number>).
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

import pytest

from hotline.telephony.ari import (
    AriClient,
    AriError,
    AriEventStream,
    Connected,
    Disconnected,
    new_id,
)
from hotline.telephony.ari.events import (
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    ChannelStateChange,
    Dial,
    PlaybackFinished,
    StasisEnd,
    StasisStart,
)
from hotline.telephony.ari.models import ChannelState

from .conftest import TEST_APP, EventLog, SippRun, ari_config, needs_asterisk, needs_sipp, sipp

pytestmark = [pytest.mark.asterisk, needs_asterisk]


async def test_asterisk_answers_and_is_version_20(ari: AriClient) -> None:
    info = await ari.request("GET", "/asterisk/info")
    assert info["system"]["version"].startswith("20.")
    status = await ari.asterisk_status()
    assert status.startup_time
    await ari.ping()


async def test_bad_password_is_401() -> None:
    async with AriClient(replace(ari_config(), password="not-the-password")) as wrong:
        with pytest.raises(AriError) as refused:
            await wrong.ping()
    assert refused.value.status == 401


@needs_sipp
async def test_sip_caller_answered_played_dtmf_and_hung_up(
    ari: AriClient, events: EventLog, sipps: list[SippRun], tmp_path: Path
) -> None:
    caller = await sipp("caller-dtmf.xml", port=5071, service="500", tmp=tmp_path)
    sipps.append(caller)
    start = await events.wait_for(lambda i: isinstance(i, StasisStart), 10)
    channel = start.channel
    assert start.args == ("inbound", "pjcaller")
    assert channel.name.startswith("PJSIP/pjcaller-")
    assert channel.state is ChannelState.RING
    assert channel.protocol_id  # the SIP Call-ID
    assert channel.dialplan.context == "stasis-test"

    await ari.answer(channel.id)
    await events.wait_for(
        lambda i: isinstance(i, ChannelStateChange) and i.channel.id == channel.id
        and i.channel.state is ChannelState.UP
    )
    playback = await ari.play(channel.id, "sound:hello-world")
    finished = await events.wait_for(
        lambda i: isinstance(i, PlaybackFinished) and i.playback.id == playback.id
    )
    assert finished.playback.state.value == "done"

    # sipp sends 4, 2, # as SIP INFO 1.5 s after the answer.
    await events.wait_for(
        lambda i: isinstance(i, ChannelDtmfReceived) and i.digit == "#", 10
    )
    digits = "".join(e.digit for e in events.of(ChannelDtmfReceived, channel.id))
    assert digits == "42#"

    await ari.hangup(channel.id)
    request = await events.wait_for(
        lambda i: isinstance(i, ChannelHangupRequest) and i.channel.id == channel.id
    )
    assert request.soft and request.cause == 32  # our own DELETE (fact 2)
    await events.wait_for(lambda i: isinstance(i, StasisEnd) and i.channel.id == channel.id)
    assert await caller.wait(15) == 0  # sipp got the BYE and answered it


@needs_sipp
async def test_caller_hangs_up_in_stasis(
    ari: AriClient, events: EventLog, sipps: list[SippRun], tmp_path: Path
) -> None:
    caller = await sipp("caller-bye.xml", port=5071, service="500", tmp=tmp_path)
    sipps.append(caller)
    start = await events.wait_for(lambda i: isinstance(i, StasisStart), 10)
    await ari.answer(start.channel.id)
    await events.wait_for(
        lambda i: isinstance(i, StasisEnd) and i.channel.id == start.channel.id, 10
    )
    request = events.of(ChannelHangupRequest, start.channel.id)
    assert request and not request[0].soft  # a far-end BYE has no `soft`
    # A dialplan channel gets no ChannelDestroyed after StasisEnd (fact 1).
    assert not events.of(ChannelDestroyed, start.channel.id)
    assert await caller.wait(15) == 0


async def test_dropped_websocket_reconnects_and_channel_survives(ari: AriClient) -> None:
    stream = AriEventStream(ari_config(), ari)
    stream.start()
    log = EventLog(stream)
    channel_id = new_id("live")
    try:
        first = await log.wait_for(lambda i: isinstance(i, Connected), 10)
        assert first.gap_seconds is None
        await ari.originate("Local/silent@caller", app=TEST_APP, channel_id=channel_id)
        await log.wait_for(lambda i: isinstance(i, StasisStart) and i.channel.id == channel_id)

        # Kill the TCP connection under the websocket (no close frame).
        ws = stream._ws
        assert ws is not None
        ws.transport.abort()
        await log.wait_for(lambda i: isinstance(i, Disconnected), 10)
        again = await log.wait_for(
            lambda i: isinstance(i, Connected) and i.attempt == 2, 10
        )
        assert again.gap_seconds is not None and again.startup_time == first.startup_time
        # Closing the websocket does not take the channel out of the app (fact 13).
        app = await ari.get_application(TEST_APP)
        assert channel_id in app.channel_ids
        # And the new socket gets its events.
        mark = len(log.items)
        await ari.hangup(channel_id)
        await log.wait_for(
            lambda i: isinstance(i, StasisEnd) and i.channel.id == channel_id, since=mark
        )
    finally:
        await log.aclose()
        await stream.aclose()
        with contextlib.suppress(AriError):
            await ari.hangup(channel_id)


# --- ringing agent phones -----------------------------------------------------------------


async def _ring(ari: AriClient, events: EventLog, endpoint: str, timeout: int) -> str:
    leg = new_id("agent")
    await ari.create_channel(endpoint, channel_id=leg, app_args=("agent",))
    # The 200 of /channels/create can come before the channel is in Stasis; a dial sent
    # at once then fails with 409 "Channel not in Stasis application" (seen under load).
    await events.wait_for(lambda i: isinstance(i, StasisStart) and i.channel.id == leg)
    await ari.dial(leg, timeout=timeout)
    return leg


@needs_sipp
async def test_agent_that_answers(
    ari: AriClient, events: EventLog, sipps: list[SippRun], tmp_path: Path
) -> None:
    phone = await sipp("agent-answer.xml", port=5072, uas=True, tmp=tmp_path)
    sipps.append(phone)
    leg = await _ring(ari, events, "PJSIP/pjagent", 10)
    await events.wait_for(lambda i: isinstance(i, Dial) and i.peer.id == leg
                          and i.dialstatus == "ANSWER", 10)
    statuses = [e.dialstatus for e in events.of(Dial) if e.peer.id == leg]
    assert statuses[0] == "" and "RINGING" in statuses
    await ari.hangup(leg)
    destroyed = await events.wait_for(
        lambda i: isinstance(i, ChannelDestroyed) and i.channel.id == leg
    )
    assert destroyed.cause == 16
    assert await phone.wait(15) == 0


@needs_sipp
async def test_agent_that_is_busy(
    ari: AriClient, events: EventLog, sipps: list[SippRun], tmp_path: Path
) -> None:
    phone = await sipp("busy.xml", port=5074, uas=True, tmp=tmp_path)
    sipps.append(phone)
    leg = await _ring(ari, events, "PJSIP/pjbusy", 10)
    destroyed = await events.wait_for(
        lambda i: isinstance(i, ChannelDestroyed) and i.channel.id == leg, 10
    )
    assert (destroyed.cause, destroyed.tech_cause) == (17, 486)
    assert await phone.wait(15) == 0


@needs_sipp
async def test_agent_that_does_not_answer(
    ari: AriClient, events: EventLog, sipps: list[SippRun], tmp_path: Path
) -> None:
    phone = await sipp("ring-forever.xml", port=5073, uas=True, tmp=tmp_path)
    sipps.append(phone)
    leg = await _ring(ari, events, "PJSIP/pjring", 2)
    destroyed = await events.wait_for(
        lambda i: isinstance(i, ChannelDestroyed) and i.channel.id == leg, 10
    )
    assert (destroyed.cause, destroyed.tech_cause) == (19, 480)
    assert await phone.wait(15) == 0  # sipp saw the CANCEL


async def test_unregistered_and_unknown_endpoints_fail_at_once(ari: AriClient) -> None:
    for endpoint in ("PJSIP/pjseat2", "PJSIP/no-such-seat"):
        with pytest.raises(AriError) as failed:
            await ari.create_channel(endpoint, app_args=("agent",))
        assert failed.value.status == 500  # fact 10
