from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hotline.telephony.ari import AriClient, AriConfig, AriEventStream, Connected
from hotline.telephony.ari.fake_asterisk import FakeAsterisk
from hotline.telephony.ari.swagger import AriSpec

if TYPE_CHECKING:
    from tests.telephony.ari.test_driver import Harness

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "asterisk"
DOCS = SHARED / "ari-api-docs"
TRACES = SHARED / "traces" / "ari"


def load_spec() -> AriSpec | None:
    return AriSpec.load(DOCS) if DOCS.is_dir() else None


@pytest.fixture
async def fake() -> AsyncIterator[FakeAsterisk]:
    async with FakeAsterisk(spec=load_spec()) as server:
        yield server
    assert server.violations == []


@pytest.fixture
def config(fake: FakeAsterisk) -> AriConfig:
    return AriConfig.from_env(
        {"HOTLINE_ARI_PASSWORD": fake.password},
        base_url=fake.base_url,
        app=fake.app,
        username=fake.username,
        request_timeout=2.0,
        ping_interval=0.05,
        ping_timeout=0.05,
        close_timeout=0.05,
        backoff_initial=0.005,
        backoff_max=0.02,
    )


@pytest.fixture
async def client(config: AriConfig) -> AsyncIterator[AriClient]:
    async with AriClient(config) as ari:
        yield ari


@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


@pytest.fixture
async def stream(
    fake: FakeAsterisk, config: AriConfig, client: AriClient, rng: random.Random
) -> AsyncIterator[AriEventStream]:
    """A connected event stream (its first item, Connected, already consumed)."""
    async with AriEventStream(config, client, rng=rng) as events:
        first = await asyncio.wait_for(anext(events), 2)
        assert isinstance(first, Connected)
        yield events


@pytest.fixture
async def h(fake: FakeAsterisk, client: AriClient) -> AsyncIterator[Harness]:
    """The ARI driver on a runtime and kernel of the sample centre, connected to `fake`."""
    # The harness lives with the driver's own tests; imported here when first used so
    # collecting this directory does not import a test module ahead of its turn.
    from tests.telephony.ari.test_driver import start_harness, stop_harness

    harness = await start_harness(fake, client)
    try:
        yield harness
    finally:
        await stop_harness(harness)
