"""Frames of the fake against events.json and against the recorded traces."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from hotline.telephony.ari import AriClient, AriEventStream, GenericEvent, parse_event
from hotline.telephony.ari.fake_asterisk import FakeAsterisk, RingOutcome

from .conftest import TRACES, load_spec

pytestmark = pytest.mark.skipif(not TRACES.is_dir(), reason="../shared traces absent")


def recorded_frames() -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    for path in sorted(Path(TRACES).glob("*-events.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                frames.append(json.loads(line))
    return frames


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return frozenset((k, shape(v)) for k, v in value.items() if not isinstance(v, list))
    return type(value).__name__


def test_every_recorded_frame_parses() -> None:
    frames = recorded_frames()
    assert frames
    for frame in frames:
        event = parse_event(frame)
        assert event.type == frame["type"]
        modelled = frame["type"] not in {"ChannelDialplan", "ChannelConnectedLine",
                                         "BridgeDestroyed"}
        assert isinstance(event, GenericEvent) != modelled, frame["type"]


def test_unknown_type_kept_generic() -> None:
    event = parse_event({"type": "Brand New", "timestamp": "2026-11-25T19:44:57.457+0000",
                         "application": "a", "x": 1})
    assert isinstance(event, GenericEvent) and event.raw["x"] == 1


def test_recorded_frames_validate_against_events_json() -> None:
    spec = load_spec()
    assert spec is not None
    for frame in recorded_frames():
        assert spec.check_event(frame) == [], frame["type"]


async def test_fake_frames_match_swagger_and_traces(
    fake: FakeAsterisk, client: AriClient, stream: AriEventStream
) -> None:
    fake.add_endpoint("pjagent", RingOutcome.ANSWER)
    fake.add_endpoint("pjring", RingOutcome.NO_ANSWER)
    fake.add_endpoint("pjbusy", RingOutcome.BUSY)
    caller = fake.caller_enters()
    await asyncio.sleep(0)
    await client.answer(caller)
    await client.play(caller, "sound:hello-world")
    await client.play(caller, "sound:no-such-prompt")
    fake.press(caller, "4")
    for name in ("pjagent", "pjring", "pjbusy"):
        await client.originate(f"PJSIP/{name}", timeout=4, caller_id="Hotline <4000>")
        channel = await client.create_channel(f"PJSIP/{name}", app_args=["agent"])
        await client.dial(channel.id, timeout=4)
    await asyncio.sleep(0.2)
    bridge = await client.create_bridge(bridge_id="b1")
    await client.add_channel(bridge.id, caller)
    await client.record(caller, "in-bridge")
    await client.set_variable(caller, "CALLERID(name)", "李四")
    fake.hang_up(caller)
    await asyncio.sleep(0.05)
    fake.restart()

    spec = load_spec()
    assert spec is not None
    recorded: dict[str, set[Any]] = defaultdict(set)
    for frame in recorded_frames():
        recorded[frame["type"]].add(shape(frame))
    assert fake.sent_frames
    for frame in fake.sent_frames:
        assert spec.check_event(frame) == [], frame
        assert shape(frame) in recorded[frame["type"]], frame
