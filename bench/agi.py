"""FastAGI against process-per-call AGI, over loopback, in one run.

Prints `name: value` lines:
  fastagi_calls_per_s      500 concurrent calls through our AgiServer (each: env, ANSWER,
      2 GET VARIABLE, 2 STREAM FILE, GET DATA), answered by a fake Asterisk client in a
      process of its own (a real Asterisk is one; the server's loop is not shared)
  process_agi_calls_per_s  the same call as a classic AGI script: one Python process per
      call speaking AGI on stdin/stdout (bench/_agi_script.py), a few at a time
  fastagi_vs_process_ratio the two rates divided (target >= 20)
  agi_command_rtt_us       one command round trip on an open session (GET VARIABLE)
  loopback_echo_rtt_us     the floor: the same exchange with no AGI stack, a bare
      asyncio.Protocol writing the command line and the next one on each reply line
      (target: agi_command_rtt_us within 2x of it)

Measured in one run, in turns, so both sides of each comparison meet the same machine:
the two rates are the best of three trials each. Both round trips use the same peer
(the fake Asterisk below, connecting to a server on loopback), the same event loop and
the same bytes, on connections that take turns; each is the best batch of 100 round
trips (as `timeit` reports: slower batches measure the other processes on the machine,
not the code; batches are short and alike, so either has the same chance of an
undisturbed one).

Run: .venv/bin/python bench/agi.py
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline.telephony.agi import AgiServer, AgiSession, AgiSettings  # noqa: E402

FASTAGI_CALLS = 500
PROCESS_CALLS = 40
PROCESS_CONCURRENCY = 4
RATE_TRIALS = 3
RTT_WARMUP = 200
RTT_ROUNDS = 100  # per batch: a few milliseconds
RTT_BATCHES = 50
RTT_TRIALS = 3
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


def asterisk_process(port: int, calls: int, conn: Connection) -> None:
    """The fake Asterisk's process: its own interpreter and loop, like a real Asterisk
    (and like the process-per-call side, whose scripts run in processes of their own)."""

    async def run() -> None:
        conn.send("ready")
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "go"
        await asyncio.gather(*(fake_asterisk_call(port) for _ in range(calls)))
        conn.send("done")

    asyncio.run(run())


async def fastagi_rate() -> float:
    async with AgiServer(call_flow, AgiSettings(port=0)) as server:
        ours, theirs = multiprocessing.Pipe()
        context = multiprocessing.get_context("spawn")
        pbx = context.Process(target=asterisk_process,
                              args=(server.port, FASTAGI_CALLS, theirs), daemon=True)
        pbx.start()
        loop = asyncio.get_running_loop()
        try:
            assert await loop.run_in_executor(None, ours.recv) == "ready"
            started = time.perf_counter()
            ours.send("go")
            assert await loop.run_in_executor(None, ours.recv) == "done"
            return FASTAGI_CALLS / (time.perf_counter() - started)
        finally:
            pbx.join(5)


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
    batches: list[float] = []

    async def handler(session: AgiSession) -> None:
        for _ in range(RTT_WARMUP):
            await session.get_variable("X")
        for _ in range(RTT_BATCHES):
            started = time.perf_counter()
            for _ in range(RTT_ROUNDS):
                await session.get_variable("X")
            batches.append((time.perf_counter() - started) / RTT_ROUNDS * 1e6)

    async with AgiServer(handler, AgiSettings(port=0)) as server:
        await fake_asterisk_call(server.port)
    return min(batches)


class _BareCommander(asyncio.Protocol):
    """The floor: write the command line, and the next one on each reply line; no
    parsing, no futures, no task."""

    def __init__(self, done: asyncio.Future[float]) -> None:
        self.done = done
        self.environment = b""
        self.replies = 0
        self.started = 0.0
        self.batches: list[float] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if not self.environment.endswith(b"\n\n"):
            self.environment += data
            if self.environment.endswith(b"\n\n"):
                self.transport.write(b"GET VARIABLE X\n")
            return
        self.replies += data.count(b"\n")
        timed = self.replies - RTT_WARMUP
        if timed >= 0 and timed % RTT_ROUNDS == 0:
            now = time.perf_counter()
            if timed:
                self.batches.append((now - self.started) / RTT_ROUNDS * 1e6)
            self.started = now
        if len(self.batches) == RTT_BATCHES:
            self.done.set_result(min(self.batches))
            self.transport.close()
        else:
            self.transport.write(b"GET VARIABLE X\n")


async def echo_rtt_us() -> float:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()
    server = await loop.create_server(lambda: _BareCommander(done), "127.0.0.1", 0)
    await fake_asterisk_call(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()
    return await done


async def round_trips() -> tuple[float, float]:
    """The best batch of each, over connections that take turns."""
    agi: list[float] = []
    echo: list[float] = []
    for _ in range(RTT_TRIALS):
        agi.append(await command_rtt_us())
        echo.append(await echo_rtt_us())
    return min(agi), min(echo)


async def rates() -> tuple[float, float]:
    """The best FastAGI and process-per-call rates over trials that take turns."""
    fast: list[float] = []
    proc: list[float] = []
    for _ in range(RATE_TRIALS):
        fast.append(await fastagi_rate())
        proc.append(await process_rate())
    return max(fast), max(proc)


async def main() -> None:
    fast, proc = await rates()
    print(f"fastagi_calls_per_s: {fast:.0f}")
    print(f"process_agi_calls_per_s: {proc:.1f}")
    print(f"fastagi_vs_process_ratio: {fast / proc:.1f}")
    agi, echo = await round_trips()
    print(f"agi_command_rtt_us: {agi:.1f}")
    print(f"loopback_echo_rtt_us: {echo:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
