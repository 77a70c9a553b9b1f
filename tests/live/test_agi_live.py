"""The FastAGI server with a real Asterisk 20: a sipp caller dials `from-sip` 410, which
answers and runs AGI(agi://127.0.0.1:${AGIPORT}/live?lang=en,first arg,second-arg).
The test binds its own port and sets the AGIPORT global over ARI."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hotline.telephony.agi import AgiServer, AgiSession, AgiSettings
from hotline.telephony.ari import AriClient

from .conftest import SippRun, needs_asterisk, needs_sipp, sipp

pytestmark = [pytest.mark.asterisk, needs_asterisk, needs_sipp]


async def _serve(ari: AriClient, handler: object) -> AgiServer:
    server = AgiServer(handler, AgiSettings(port=0, hangup_grace_s=0.5))  # type: ignore[arg-type]
    await server.start()
    await ari.request("POST", "/asterisk/variable",
                      {"variable": "AGIPORT", "value": str(server.port)})
    return server


async def test_fastagi_call_from_a_sip_caller(
    ari: AriClient, sipps: list[SippRun], tmp_path: Path
) -> None:
    seen: dict[str, object] = {}
    done = asyncio.Event()

    async def handler(session: AgiSession) -> None:
        try:
            env = session.env
            seen["script"] = env.network_script
            seen["query"] = env.query
            seen["args"] = env.args
            seen["channel"] = env.channel
            seen["caller"] = env.caller_number
            seen["status"] = await session.channel_status()
            seen["played"] = await session.stream_file("hello-world")
            seen["digits"] = await session.get_data("beep", 5000, 4)
            await session.set_variable("HOTLINE_RESULT", "ok")
            seen["variable"] = await session.get_variable("HOTLINE_RESULT")
        finally:
            done.set()

    server = await _serve(ari, handler)
    try:
        caller = await sipp("caller-agi.xml", port=5071, service="410", tmp=tmp_path)
        sipps.append(caller)
        await asyncio.wait_for(done.wait(), 20)
        assert await caller.wait(15) == 0  # the dialplan hung up after AGI: BYE
    finally:
        await server.stop()
    assert seen["script"] == "live?lang=en"
    assert seen["query"] == (("lang", "en"),)
    assert seen["args"] == ("first arg", "second-arg")
    assert str(seen["channel"]).startswith("PJSIP/pjcaller-")
    assert seen["caller"] == "pjcaller"
    assert seen["played"].digit is None and not seen["played"].failed  # type: ignore[attr-defined]
    assert seen["digits"].digits == "123"  # type: ignore[attr-defined]
    assert seen["variable"] == "ok"


async def test_caller_hangs_up_during_stream_file(
    ari: AriClient, sipps: list[SippRun], tmp_path: Path
) -> None:
    result: dict[str, object] = {}
    closed = asyncio.Event()

    async def handler(session: AgiSession) -> None:
        try:
            result["played"] = await session.stream_file("demo-congrats")
            await session.wait_hung_up()
            result["hung_up"] = session.hung_up
        finally:
            closed.set()

    server = await _serve(ari, handler)
    try:
        caller = await sipp("caller-bye.xml", port=5071, service="410", tmp=tmp_path)
        sipps.append(caller)
        await asyncio.wait_for(closed.wait(), 20)
        assert await caller.wait(15) == 0
        for _ in range(50):
            if server.active_calls == 0:
                break
            await asyncio.sleep(0.1)
        assert server.active_calls == 0  # the socket was closed after the hang-up
    finally:
        await server.stop()
    assert result["hung_up"] is True
