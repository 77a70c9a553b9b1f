"""The asyncio client over real loopback sockets against the fake Asterisk."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hotline.telephony.ami.client import AmiClient, AmiSettings, ConnectionState
from hotline.telephony.ami.codec import Event
from hotline.telephony.ami.errors import (
    AmiActionError,
    AmiConfigError,
    AmiConnectionLost,
    AmiLoginError,
    AmiTimeoutError,
    EventsLost,
    UnsafeActionError,
)
from hotline.telephony.ami.fake_asterisk import FakeAsterisk

from .conftest import settings_for


async def wait_for(predicate: object, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.005)


async def test_login_reads_banner_and_sends_credentials(
    pbx: FakeAsterisk, client: AmiClient
) -> None:
    assert client.state is ConnectionState.CONNECTED
    assert client.banner is not None and client.banner.version == "9.0.0"
    login = pbx.received[0]
    assert login.name == "Login" and login["Username"] == "hotline"
    assert login.action_id  # every action carries one
    assert client.sessions == 1


async def test_failed_login_closes_and_raises(
    pbx: FakeAsterisk, caplog: pytest.LogCaptureFixture
) -> None:
    pbx.login_failure_delay = 0.05
    caplog.set_level(logging.DEBUG)
    settings = AmiSettings("hotline", "wrong-secret", port=pbx.port)
    client = AmiClient(settings)
    with pytest.raises(AmiLoginError, match="Authentication failed"):
        await client.connect()
    assert client.state is ConnectionState.CLOSED
    await wait_for(lambda: pbx.connections == 0)
    assert "wrong-secret" not in caplog.text
    assert "wrong-secret" not in repr(settings)
    await client.close()


def test_secret_comes_from_environment() -> None:
    settings = AmiSettings.from_environment(
        "hotline", environ={"HOTLINE_AMI_SECRET": "s3cret"}, port=5039
    )
    assert settings.secret == "s3cret" and settings.port == 5039
    assert settings.host == "127.0.0.1"
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings)
    with pytest.raises(AmiConfigError, match="HOTLINE_AMI_SECRET"):
        AmiSettings.from_environment("hotline", environ={})


async def test_responses_matched_by_action_id_out_of_order(
    pbx: FakeAsterisk, client: AmiClient
) -> None:
    pbx.delays["Ping"] = 0.05
    slow = asyncio.create_task(client.ping())
    await asyncio.sleep(0.01)
    fast = await client.pjsip_endpoints()  # answered while the Ping still waits
    assert not slow.done()
    pong = await slow
    assert pong["Ping"] == "Pong"
    assert len(fast.items) == 5


async def test_action_timeout_and_late_answer_is_ignored(
    pbx: FakeAsterisk, client: AmiClient
) -> None:
    pbx.delays["DeviceStateList"] = 0.1
    with pytest.raises(AmiTimeoutError):
        await client.device_states(timeout=0.02)
    await asyncio.sleep(0.15)  # the late list arrives and is dropped quietly
    assert (await client.ping())["Ping"] == "Pong"


async def test_list_action_collects_items(client: AmiClient) -> None:
    result = await client.pjsip_endpoints()
    assert [e["ObjectName"] for e in result.items] == [
        "pjagent", "pjbusy", "pjcaller", "pjring", "pjseat1"
    ]  # fmt: skip
    assert result.complete is not None and result.complete["ListItems"] == "5"
    assert result.response.starts_list


async def test_no_contacts_error_is_an_empty_list(pbx: FakeAsterisk, client: AmiClient) -> None:
    empty = await client.pjsip_contacts()
    assert empty.items == () and empty.complete is None
    with pytest.raises(AmiActionError, match="No Contacts found"):
        await client.list_action("PJSIPShowContacts")
    await pbx.register()
    [contact] = (await client.pjsip_contacts()).items
    assert contact["Uri"] == "sip:pjseat1@127.0.0.1:5075"


async def test_error_response_is_typed(client: AmiClient) -> None:
    with pytest.raises(AmiActionError) as caught:
        await client.send_action("NoSuchAction")
    assert caught.value.action == "NoSuchAction"
    assert caught.value.response.is_error
    assert "Invalid/unknown command" in caught.value.message


async def test_injection_refused_before_sending(pbx: FakeAsterisk, client: AmiClient) -> None:
    sent = len(pbx.received)
    with pytest.raises(UnsafeActionError):
        await client.send_action("Setvar", {"Value": "x\r\nAction: Hangup"})
    with pytest.raises(UnsafeActionError):
        await client.originate("PJSIP/8001", application="Playback", caller_id="A\nB")
    with pytest.raises(UnsafeActionError):
        await client.originate("PJSIP/8001", application="Playback", variables={"A": "1,EVIL=2"})
    await client.ping()
    assert [a.name for a in pbx.received[sent:]] == ["Ping"]


async def test_events_subscription_and_split_utf8(pbx: FakeAsterisk, client: AmiClient) -> None:
    async with client.events(names={"NewCallerid"}) as sub:
        data = (
            "Event: NewCallerid\r\nPrivilege: call,all\r\nChannel: PJSIP/8001-00000001\r\n"
            "CallerIDNum: 13800000000\r\nCallerIDName: 李四\r\n\r\n"
        ).encode()
        cut = data.index("李".encode()) + 1
        pbx.split_at = {pbx_offset(pbx) + cut}
        await pbx.push(data)
        event = await anext(sub)
    assert event.name == "NewCallerid" and event["CallerIDName"] == "李四"


def pbx_offset(pbx: FakeAsterisk) -> int:
    [peer] = pbx._peers
    return peer.sent


async def test_bounded_queue_reports_lost_events(pbx: FakeAsterisk, client: AmiClient) -> None:
    sub = client.events(maxsize=2)
    await pbx.push(b"".join(f"Event: E{i}\r\nN: {i}\r\n\r\n".encode() for i in range(5)))
    await client.ping()  # everything pushed before the Pong has been dispatched
    assert (await anext(sub)).name == "E0"
    assert (await anext(sub)).name == "E1"
    with pytest.raises(EventsLost) as lost:
        await anext(sub)
    assert lost.value.count == 3
    await pbx.push(b"Event: E5\r\n\r\n")
    assert (await anext(sub)).name == "E5"
    sub.close()
    with pytest.raises(StopAsyncIteration):
        await anext(sub)


async def test_list_items_do_not_reach_subscribers(client: AmiClient) -> None:
    async with client.events() as sub:
        await client.device_states()
        await client.ping()
        assert sub._queue == type(sub._queue)()


async def test_reconnect_after_drop_logs_in_again(pbx: FakeAsterisk, client: AmiClient) -> None:
    sessions: list[int] = []
    client.on_session(sessions.append)
    await pbx.drop_connections()
    await wait_for(lambda: client.sessions == 2 and client.state is ConnectionState.CONNECTED)
    assert sessions == [2]
    assert pbx.logins == 2
    assert (await client.ping())["Ping"] == "Pong"


async def test_pending_action_fails_on_drop(pbx: FakeAsterisk, client: AmiClient) -> None:
    pbx.silent.add("DeviceStateList")
    task = asyncio.create_task(client.device_states())
    await asyncio.sleep(0.02)
    await pbx.drop_connections()
    with pytest.raises(AmiConnectionLost):
        await task


async def test_action_waits_for_reconnect(pbx: FakeAsterisk, client: AmiClient) -> None:
    await pbx.drop_connections()
    await wait_for(lambda: client.state is not ConnectionState.CONNECTED)
    # Sent during the gap: not failed, it waits for the new session within its timeout.
    assert (await client.ping(timeout=2.0))["Ping"] == "Pong"


async def test_dead_peer_detected_by_ping(pbx: FakeAsterisk) -> None:
    client = AmiClient(settings_for(pbx, ping_interval=0.02, ping_timeout=0.05))
    await client.connect()
    try:
        pbx.silent.add("Ping")  # socket open, Asterisk hung
        await wait_for(lambda: client.sessions >= 2)
        pbx.silent.clear()
        await wait_for(lambda: client.state is ConnectionState.CONNECTED)
        assert (await client.ping())["Ping"] == "Pong"
    finally:
        await client.close()


async def test_reconnect_retries_until_asterisk_is_back(pbx: FakeAsterisk) -> None:
    client = AmiClient(settings_for(pbx))
    await client.connect()
    port = pbx.port
    await pbx.close()
    await wait_for(lambda: client.state is ConnectionState.RECONNECTING)
    async with FakeAsterisk(port=port) as again:
        await wait_for(lambda: client.state is ConnectionState.CONNECTED)
        assert again.logins == 1
    await client.close()


def test_backoff_grows_caps_and_jitters() -> None:
    settings = AmiSettings("u", "s", reconnect_initial_delay=1.0, reconnect_max_delay=8.0)
    client = AmiClient.__new__(AmiClient)
    client.settings = settings
    import random

    client._rng = random.Random(7)
    delays = [client.backoff_delay(n) for n in range(8)]
    for n, delay in enumerate(delays):
        step = min(8.0, 2.0**n)
        assert step / 2 <= delay <= step
    assert len(set(delays)) == len(delays)


async def test_originate_async_matched_to_originate_response(
    pbx: FakeAsterisk, client: AmiClient
) -> None:
    pbx.originate_delay = 0.02
    result = await client.originate(
        "PJSIP/pjagent",
        context="caller",
        exten="speak",
        caller_id='"Citizen" <5551234>',
        ring_timeout=3,
        variables={"HOTLINE_CALL": "c-1"},
    )
    assert result.success and result.reason == 4
    sent = pbx.received[-1]
    assert sent.name == "Originate" and sent["Async"] == "true" and sent["Timeout"] == "3000"
    assert sent["Variable"] == "HOTLINE_CALL=c-1"
    assert result.event["CallerIDName"] == "Citizen"
    pbx.originate_reason = 5
    busy = await client.originate("PJSIP/pjbusy", application="Playback", data="beep")
    assert not busy.success and busy.reason == 5


async def test_close_is_clean_and_final(pbx: FakeAsterisk, client: AmiClient) -> None:
    sub = client.events()
    await client.close()
    assert pbx.received[-1].name == "Logoff"
    assert client.state is ConnectionState.CLOSED
    with pytest.raises(StopAsyncIteration):
        await anext(sub)
    with pytest.raises(AmiConnectionLost):
        await client.ping()
    await client.close()


async def test_event_kinds_are_frozen(client: AmiClient) -> None:
    event = Event((("Event", "X"),), "X")
    with pytest.raises(AttributeError):
        event.name = "Y"  # type: ignore[misc]
