from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hotline.telephony.ami.client import AmiClient, AmiSettings
from hotline.telephony.ami.fake_asterisk import FakeAsterisk


def settings_for(pbx: FakeAsterisk, **options: float) -> AmiSettings:
    values: dict[str, float] = {
        "action_timeout": 2.0,
        "login_timeout": 2.0,
        "ping_interval": 30.0,
        "reconnect_initial_delay": 0.01,
        "reconnect_max_delay": 0.05,
    }
    values.update(options)
    return AmiSettings("hotline", "hotline-ami-test", port=pbx.port, **values)  # type: ignore[arg-type]


@pytest.fixture
async def pbx() -> AsyncIterator[FakeAsterisk]:
    async with FakeAsterisk() as server:
        yield server


@pytest.fixture
async def client(pbx: FakeAsterisk) -> AsyncIterator[AmiClient]:
    ami = AmiClient(settings_for(pbx))
    await ami.connect()
    yield ami
    await ami.close()
