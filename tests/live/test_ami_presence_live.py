"""Seat presence over a real AMI: a sipp softphone registers and unregisters
`pjseat1` (digest auth); `pjseat2` is never registered; `pjagent` has a static
contact (online for Asterisk, but not registered)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotline.telephony.ami.client import AmiClient, AmiSettings
from hotline.telephony.ami.presence import PresenceMonitor, SeatPresence

from .conftest import SippRun, needs_ami, needs_asterisk, needs_sipp, sipp

pytestmark = [pytest.mark.asterisk, needs_asterisk, needs_ami]


@pytest.fixture
async def ami() -> AsyncIterator[AmiClient]:
    settings = AmiSettings.from_environment(
        os.environ.get("ASTERISK_AMI_USER", "hotline"),
        host=os.environ.get("ASTERISK_AMI_HOST", "127.0.0.1"),
        port=int(os.environ.get("ASTERISK_AMI_PORT", "5038")),
    )
    client = AmiClient(settings)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()


async def _until(check: object, timeout: float = 10.0) -> None:
    for _ in range(int(timeout * 20)):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_ping_and_endpoint_list(ami: AmiClient) -> None:
    await ami.ping()
    endpoints = await ami.pjsip_endpoints()
    names = {item.get("ObjectName") for item in endpoints.items}
    assert {"pjcaller", "pjagent", "pjseat1", "pjseat2"} <= names
    assert endpoints.complete is not None


@needs_sipp
async def test_softphone_registers_and_unregisters(
    ami: AmiClient, sipps: list[SippRun], tmp_path: Path
) -> None:
    # A failed earlier run may have left pjseat1 registered (Expires: 300): clear it.
    contacts = await ami.pjsip_contacts()
    if any("pjseat1" in (c.get("URI") or "") for c in contacts.items):
        cleanup = await sipp("unregister.xml", port=5075, service="pjseat1", tmp=tmp_path)
        sipps.append(cleanup)
        assert await cleanup.wait(15) == 0
    changes: list[SeatPresence] = []
    monitor = PresenceMonitor(ami, changes.append)
    await monitor.start()
    try:
        tracker = monitor.tracker
        seat1, seat2 = tracker.get("PJSIP/pjseat1"), tracker.get("PJSIP/pjseat2")
        assert seat1 is not None and not seat1.registered
        assert seat2 is not None and not seat2.registered
        static = tracker.get("PJSIP/pjagent")
        assert static is not None and not static.registered  # a static contact only

        phone = await sipp("register.xml", port=5075, service="pjseat1", tmp=tmp_path)
        sipps.append(phone)
        assert await phone.wait(15) == 0
        # PeerStatus (Reachable) and ContactStatus come in the same millisecond, in that
        # order (fact 18): wait for both, the contact is only known from the second.
        await _until(lambda: (s := tracker.get("PJSIP/pjseat1")) is not None and s.registered
                     and s.contact is not None)
        now = tracker.get("PJSIP/pjseat1")
        assert now is not None and now.contact is not None and "5075" in now.contact
        assert any(c.endpoint == "PJSIP/pjseat1" and c.registered for c in changes)
        other = tracker.get("PJSIP/pjseat2")
        assert other is not None and not other.registered

        gone = await sipp("unregister.xml", port=5075, service="pjseat1", tmp=tmp_path)
        sipps.append(gone)
        assert await gone.wait(15) == 0
        await _until(
            lambda: (s := tracker.get("PJSIP/pjseat1")) is not None and not s.registered
        )
    finally:
        await monitor.stop()
