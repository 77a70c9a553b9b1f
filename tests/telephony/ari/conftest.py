from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotline.telephony.ari import AriClient, AriConfig, AriEventStream, Connected
from hotline.telephony.ari.fake_asterisk import FakeAsterisk
from hotline.telephony.ari.swagger import AriSpec

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
