"""Recorded Asterisk 20 AMI streams (../shared/asterisk/traces/ami): the decoder gives the
same messages however the bytes are split, and the fake Asterisk answers like them.
Skips when ../shared is absent."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path

import pytest

from hotline.telephony.ami.codec import AmiDecoder, AmiMessage, Event, Response, Role
from hotline.telephony.ami.fake_asterisk import FakeAsterisk

TRACES = Path(__file__).resolve().parents[3].parent / "shared" / "asterisk" / "traces" / "ami"
pytestmark = pytest.mark.skipif(not TRACES.is_dir(), reason="../shared traces not present")
LINE = re.compile(r"^\s*[\d.]+ (AST->APP|APP->AST) (b(['\"]).*\3)(\s+#.*)?$")


def chunks(name: str, direction: str) -> list[bytes]:
    out: list[bytes] = []
    for line in (TRACES / name).read_text(encoding="utf-8").splitlines():
        match = LINE.match(line)
        if match and match.group(1) == direction:
            value = ast.literal_eval(match.group(2))
            assert isinstance(value, bytes)
            out.append(value)
    return out


def decode(pieces: list[bytes], role: Role = Role.CLIENT) -> list[object]:
    decoder = AmiDecoder(role)
    out: list[object] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    assert not decoder.mid_message
    return out


RAW = ["badlogin-raw.log", "pjsip-status-raw.log", "queue-raw.log"]


@pytest.mark.parametrize("name", RAW)
def test_recorded_stream_split_anywhere_gives_the_same_messages(name: str) -> None:
    pieces = chunks(name, "AST->APP")
    stream = b"".join(pieces)
    whole = decode([stream])
    assert decode(pieces) == whole  # as Asterisk wrote it
    assert decode([stream[i : i + 1] for i in range(len(stream))]) == whole  # every boundary
    stride = 1 if len(stream) < 2000 else len(stream) // 250
    for cut in range(0, len(stream) + 1, stride):
        assert decode([stream[:cut], stream[cut:]]) == whole


@pytest.mark.parametrize("name", RAW)
def test_every_action_gets_its_response(name: str) -> None:
    actions = decode(chunks(name, "APP->AST"), Role.SERVER)
    answers = decode(chunks(name, "AST->APP"))
    answered = {m.action_id for m in answers if isinstance(m, Response)}
    sent = [a.action_id for a in actions if isinstance(a, AmiMessage)]
    # badlogin: Asterisk hangs up before answering the Ping sent behind the bad login.
    missing = [a for a in sent if a not in answered]
    assert missing == (["after-bad-login"] if name.startswith("badlogin") else [])


def by_action(messages: list[object], action_id: str) -> list[AmiMessage]:
    return [m for m in messages if isinstance(m, AmiMessage) and m.action_id == action_id]


def strip_time(message: AmiMessage) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in message.headers if k not in ("EventTV",))


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes, until: str
) -> list[object]:
    """Send recorded action bytes; read until a message named/complete ``until``."""
    writer.write(data)
    await writer.drain()
    decoder = AmiDecoder(Role.CLIENT)
    out: list[object] = []
    decoder.feed(b"Asterisk Call Manager/9.0.0\r\n")
    async with asyncio.timeout(2):
        while not any(
            isinstance(m, Event | Response) and until in (m.action_id, getattr(m, "name", ""))
            for m in out
        ):
            out.extend(decoder.feed(await reader.read(65536)))
    return out


async def test_fake_asterisk_answers_like_the_recording() -> None:
    recorded = decode(chunks("pjsip-status-raw.log", "AST->APP"))
    actions = {
        a.action_id: raw
        for raw in chunks("pjsip-status-raw.log", "APP->AST")
        for a in decode([raw], Role.SERVER)
        if isinstance(a, AmiMessage)
    }
    async with FakeAsterisk() as pbx:
        reader, writer = await asyncio.open_connection(pbx.host, pbx.port)
        try:
            assert await reader.readline() == b"Asterisk Call Manager/9.0.0\r\n"
            got = await exchange(reader, writer, actions["login-1"], "SuccessfulAuth")
            assert [strip_time(m) for m in got if isinstance(m, AmiMessage)] == [
                strip_time(m) for m in recorded[1:4] if isinstance(m, AmiMessage)
            ]
            for action_id, last in [
                ("eps-1", "EndpointListComplete"),
                ("contacts-1", "contacts-1"),
                ("dsl-1", "DeviceStateListComplete"),
            ]:
                got = await exchange(reader, writer, actions[action_id], last)
                assert by_action(got, action_id) == by_action(recorded, action_id), action_id

            # pjseat1 registers: the recorded burst, then the recorded listings.
            start = next(
                i
                for i, m in enumerate(recorded)
                if isinstance(m, Event) and m.name == "AorListComplete"
            )
            burst = [m for m in recorded[start + 1 : start + 6] if isinstance(m, AmiMessage)]
            await pbx.register()
            got = await exchange(reader, writer, b"", "ContactStatus")
            assert [strip_time(m) for m in got if isinstance(m, AmiMessage)] == [
                strip_time(m) for m in burst
            ]
            for action_id, last in [
                ("contacts-2", "ContactListComplete"),
                ("dsl-2", "DeviceStateListComplete"),
            ]:
                got = await exchange(reader, writer, actions[action_id], last)
                assert by_action(got, action_id) == by_action(recorded, action_id), action_id
            got = await exchange(reader, writer, actions["logoff-1"], "logoff-1")
            assert by_action(got, "logoff-1") == by_action(recorded, "logoff-1")
        finally:
            writer.close()
            await writer.wait_closed()


async def test_fake_refuses_bad_login_like_the_recording() -> None:
    recorded = decode(chunks("badlogin-raw.log", "AST->APP"))
    async with FakeAsterisk(login_failure_delay=0.01) as pbx:
        reader, writer = await asyncio.open_connection(pbx.host, pbx.port)
        try:
            for raw in chunks("badlogin-raw.log", "APP->AST"):
                writer.write(raw)
            async with asyncio.timeout(2):
                data = await reader.read()  # until Asterisk closes the socket
        finally:
            writer.close()
            await writer.wait_closed()
    assert decode([data]) == recorded
