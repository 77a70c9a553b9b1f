"""FastAGI against process-per-call AGI, over loopback, in one run.

Prints `name: value` lines:
  fastagi_calls_per_s      500 concurrent calls through our AgiServer (each: env, ANSWER,
      2 GET VARIABLE, 2 STREAM FILE, GET DATA), answered by a fake Asterisk client
  process_agi_calls_per_s  the same call as a classic AGI script: one Python process per
      call speaking AGI on stdin/stdout (bench/_agi_script.py), a few at a time
  fastagi_vs_process_ratio the two rates divided (target >= 20)
  agi_command_rtt_us       one command round trip on an open session (GET VARIABLE)
  loopback_echo_rtt_us     a bare asyncio line echo over loopback: the floor (target:
      agi_command_rtt_us within 2x of it)

Run: .venv/bin/python bench/agi.py
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline.telephony.agi import AgiServer, AgiSession, AgiSettings  # noqa: E402

FASTAGI_CALLS = 500
PROCESS_CALLS = 40
PROCESS_CONCURRENCY = 4
RTT_ROUNDS = 3000
SCRIPT = Path(__file__).with_name("_agi_script.py")

ENV = (
    b"agi_network: yes\nagi_network_script: hotline?lang=zh\n"
    b"agi_request: agi://127.0.0.1:4573/hotline?lang=zh\n"
    b"agi_channel: PJSIP/pjcaller-00000003\nagi_language: zh\nagi_type: PJSIP\n"
    b"agi_uniqueid: 1795636067.47\nagi_version: 20.20.1\nagi_callerid: 13800000000\n"
    b"agi_calleridname: Citizen\nagi_callingpres: 0\nagi_callingani2: 0\n"
    b"agi_callington: 0\nagi_callingtns: 0\nagi_dnid: 12345\nagi_rdnis: unknown\n"
    b"agi_context: from-sip\nagi_extension: 12345\nagi_priority: 1\n"
    b"agi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 139654515566272\n\n"
)


def asterisk_reply(command: bytes) -> bytes:
    """What Asterisk answers to the bench's commands (shapes from the traces)."""
    if command.startswith(b"GET VARIABLE"):
        return b"200 result=1 (normal)\n"
    if command.startswith(b"STREAM FILE"):
        return b"200 result=0 endpos=11234\n"
    if command.startswith(b"GET DATA"):
        return b"200 result=1\n"
    return b"200 result=0\n"


async def call_flow(session: AgiSession) -> None:
    await session.answer()
    await session.get_variable("HOTLINE_LINE")
    await session.get_variable("HOTLINE_MODE")
    await session.stream_file("welcome")
    await session.get_data("menu", 5000, 1)
    await session.stream_file("thanks")


async def fake_asterisk_call(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(ENV)
    while line := await reader.readline():
        writer.write(asterisk_reply(line))
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def fastagi_rate() -> float:
    async with AgiServer(call_flow, AgiSettings(port=0)) as server:
        started = time.perf_counter()
        await asyncio.gather(*(fake_asterisk_call(server.port) for _ in range(FASTAGI_CALLS)))
        return FASTAGI_CALLS / (time.perf_counter() - started)


async def process_call(limit: asyncio.Semaphore) -> None:
    async with limit:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            str(SCRIPT),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(ENV)
        while line := await proc.stdout.readline():
            proc.stdin.write(asterisk_reply(line))
        proc.stdin.close()
        if await proc.wait() != 0:
            raise RuntimeError("AGI script failed")


async def process_rate() -> float:
    limit = asyncio.Semaphore(PROCESS_CONCURRENCY)
    started = time.perf_counter()
    await asyncio.gather(*(process_call(limit) for _ in range(PROCESS_CALLS)))
    return PROCESS_CALLS / (time.perf_counter() - started)


async def command_rtt_us() -> float:
    result: list[float] = []

    async def handler(session: AgiSession) -> None:
        for _ in range(200):  # warm up
            await session.get_variable("X")
        started = time.perf_counter()
        for _ in range(RTT_ROUNDS):
            await session.get_variable("X")
        result.append((time.perf_counter() - started) / RTT_ROUNDS * 1e6)

    async with AgiServer(handler, AgiSettings(port=0)) as server:
        await fake_asterisk_call(server.port)
    return result[0]


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def echo_rtt_us() -> float:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(200):
        writer.write(b"GET VARIABLE X\n")
        await reader.readline()
    started = time.perf_counter()
    for _ in range(RTT_ROUNDS):
        writer.write(b"GET VARIABLE X\n")
        await reader.readline()
    elapsed = (time.perf_counter() - started) / RTT_ROUNDS * 1e6
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return elapsed


async def main() -> None:
    fast = await fastagi_rate()
    proc = await process_rate()
    print(f"fastagi_calls_per_s: {fast:.0f}")
    print(f"process_agi_calls_per_s: {proc:.1f}")
    print(f"fastagi_vs_process_ratio: {fast / proc:.1f}")
    print(f"agi_command_rtt_us: {await command_rtt_us():.1f}")
    print(f"loopback_echo_rtt_us: {await echo_rtt_us():.1f}")


if __name__ == "__main__":
    asyncio.run(main())
