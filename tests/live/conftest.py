"""Live tests against a real Asterisk 20 on this machine (loopback only).

They skip unless ASTERISK_ARI_URL is set. What they need:

  ASTERISK_ARI_URL      e.g. http://127.0.0.1:8088/ari
  ASTERISK_ARI_USER     the ari.conf user (default "hotline")
  HOTLINE_ARI_PASSWORD  its password
  ASTERISK_AMI_HOST / ASTERISK_AMI_PORT / ASTERISK_AMI_USER, HOTLINE_AMI_SECRET (AMI tests)
  ASTERISK_SIP_HOST / ASTERISK_SIP_PORT  Asterisk's PJSIP UDP transport (default :5070)

and `sipp` (Debian `sip-tester`) on PATH for the SIP tests. The Asterisk must run the
live-test dialplan and PJSIP endpoints (contexts `stasis-test`, `from-sip`, `caller`;
endpoints pjcaller/pjagent/pjring/pjbusy/pjseat1/pjseat2): tests/live/asterisk/ holds
that configuration and its README says how to point an Asterisk at it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hotline.telephony.ari import AriClient, AriConfig, AriEventStream, Connected

SIPP_DIR = Path(__file__).resolve().parent / "sipp"
ARI_URL = os.environ.get("ASTERISK_ARI_URL", "")
TEST_APP = "hotline-test"  # the app of the `stasis-test` context

needs_asterisk = pytest.mark.skipif(
    not ARI_URL, reason="no live Asterisk: ASTERISK_ARI_URL is not set"
)
needs_sipp = pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed")
needs_ami = pytest.mark.skipif(
    not os.environ.get("HOTLINE_AMI_SECRET"), reason="no AMI secret: HOTLINE_AMI_SECRET"
)


def sip_target() -> str:
    host = os.environ.get("ASTERISK_SIP_HOST", "127.0.0.1")
    return f"{host}:{os.environ.get('ASTERISK_SIP_PORT', '5070')}"


def ari_config(app: str = TEST_APP, **settings: Any) -> AriConfig:
    base: dict[str, Any] = {
        "base_url": ARI_URL,
        "app": app,
        "username": os.environ.get("ASTERISK_ARI_USER", "hotline"),
        "request_timeout": 5.0,
        "backoff_initial": 0.05,
        "backoff_max": 0.5,
        "ping_interval": 2.0,
        "ping_timeout": 2.0,
    }
    base.update(settings)
    return AriConfig.from_env(**base)


class EventLog:
    """Everything an `AriEventStream` yields, kept in order, with waits on it."""

    def __init__(self, stream: AriEventStream) -> None:
        self.stream = stream
        self.items: list[Any] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        async for item in self.stream:
            self.items.append(item)
            self._changed.set()

    async def wait_for(
        self, match: Callable[[Any], bool], timeout: float = 10.0, *, since: int = 0
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            for item in self.items[since:]:
                if match(item):
                    return item
            left = deadline - time.monotonic()
            if left <= 0:
                kinds = [type(i).__name__ for i in self.items[since:]]
                raise AssertionError(f"not seen within {timeout} s; saw {kinds}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    def of(self, kind: type, channel_id: str | None = None) -> list[Any]:
        found: list[Any] = [i for i in self.items if isinstance(i, kind)]
        if channel_id is not None:
            found = [i for i in found if getattr(i, "channel", None) is not None
                     and i.channel.id == channel_id]
        return found

    async def aclose(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@pytest.fixture
async def ari() -> AsyncIterator[AriClient]:
    async with AriClient(ari_config()) as client:
        yield client


@pytest.fixture
async def events(ari: AriClient) -> AsyncIterator[EventLog]:
    """The `hotline-test` app's event stream, connected (first item is `Connected`)."""
    stream = AriEventStream(ari_config(), ari)
    stream.start()
    log = EventLog(stream)
    try:
        await log.wait_for(lambda i: isinstance(i, Connected), 10)
        yield log
    finally:
        await log.aclose()
        await stream.aclose()


@dataclass
class SippRun:
    process: asyncio.subprocess.Process
    name: str

    async def wait(self, timeout: float = 30.0) -> int:
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"sipp {self.name} did not finish within {timeout} s") from None

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def sipp(
    scenario: str,
    *,
    port: int,
    service: str | None = None,
    uas: bool = False,
    timeout_s: int = 60,
    tmp: Path | None = None,
) -> SippRun:
    """Start one sipp call (UAC towards Asterisk, or a UAS waiting on `port`)."""
    args = ["-sf", str(SIPP_DIR / scenario), "-i", "127.0.0.1", "-p", str(port),
            "-m", "1", "-nostdin", "-timeout", f"{timeout_s}s", "-timeout_error",
            "-max_recv_loops", "1000"]
    if tmp is not None:
        args += ["-trace_err", "-error_file", str(tmp / f"{scenario}-{port}-errors.log")]
    if service is not None:
        args += ["-s", service]
    if not uas:
        args.insert(0, sip_target())
    process = await asyncio.create_subprocess_exec(
        "sipp", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return SippRun(process, scenario)


@pytest.fixture
async def sipps() -> AsyncIterator[list[SippRun]]:
    """Track started sipp processes so a failing test never leaves one behind."""
    runs: list[SippRun] = []
    yield runs
    for run in runs:
        await run.stop()
