"""Test kit: a fake Asterisk that replays recorded FastAGI sessions over a real socket.

A trace is the `*.log` form of ../shared/asterisk/traces/agi (exact bytes with times):

       0.000 AST->APP b'agi_network: yes\\n'
       0.000 APP->AST b'ANSWER\\n'
       0.001 NOTE answer the channel

`replay()` plays Asterisk's side: it connects to a FastAGI server (Asterisk is the
client in FastAGI), sends the environment, and answers each command with the recorded
bytes, unsolicited `HANGUP` lines included. A command counts as the recorded one when
Asterisk would read the same words (`parse_args`), so quoting style may differ. After
the last exchange it waits for the application to close the socket and reports how
long that took (Asterisk only tears the channel down when we close).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.telephony.agi.commands import parse_args

if TYPE_CHECKING:
    from hotline.telephony.agi.codec import Reply
    from hotline.telephony.agi.server import AgiSession

__all__ = [
    "AgiTrace",
    "Exchange",
    "ReplayReport",
    "ScriptedCall",
    "load_trace",
    "load_traces",
    "parse_trace",
    "replay",
]

_LINE = re.compile(r"\s*[0-9.]+ (AST->APP|APP->AST) (b'.*'|b\".*\")\s*")
_INVALID = b"510 Invalid or unknown command\n"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One command the application sent and everything Asterisk sent until the next."""

    command: bytes
    reply: bytes


@dataclass(frozen=True, slots=True)
class AgiTrace:
    name: str
    environment: bytes  # the agi_* block with its empty line
    preamble: bytes  # anything Asterisk sent after it before the first command
    exchanges: tuple[Exchange, ...]

    def asterisk_bytes(self) -> bytes:
        """Everything Asterisk sent, in order (what the codec must parse)."""
        return self.environment + self.preamble + b"".join(e.reply for e in self.exchanges)

    def commands(self) -> tuple[bytes, ...]:
        return tuple(e.command for e in self.exchanges)


def parse_trace(text: str, name: str = "trace") -> AgiTrace:
    """Read the `*.log` format; NOTE lines are skipped."""
    environment = bytearray()
    preamble = bytearray()
    exchanges: list[tuple[bytes, bytearray]] = []
    in_env = True
    for raw in text.splitlines():
        match = _LINE.fullmatch(raw)
        if match is None:
            continue
        direction = match.group(1)
        data = ast.literal_eval(match.group(2))
        if not isinstance(data, bytes):
            raise ValueError(f"{name}: not a bytes literal: {raw!r}")
        if direction == "AST->APP":
            if in_env:
                environment += data
                in_env = data != b"\n"
            elif exchanges:
                exchanges[-1][1].extend(data)
            else:
                preamble += data
        else:
            in_env = False
            exchanges.append((data, bytearray()))
    return AgiTrace(
        name=name,
        environment=bytes(environment),
        preamble=bytes(preamble),
        exchanges=tuple(Exchange(cmd, bytes(reply)) for cmd, reply in exchanges),
    )


def load_trace(path: Path) -> AgiTrace:
    return parse_trace(path.read_text(encoding="utf-8"), name=path.stem)


def load_traces(directory: Path) -> dict[str, AgiTrace]:
    """Every `*.log` trace in `directory`, by name (`hotline-1`, ...)."""
    return {p.stem: load_trace(p) for p in sorted(directory.glob("*.log"))}


@dataclass(slots=True)
class ReplayReport:
    commands: list[bytes] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    closed_by_app: bool = False
    # Seconds from our last write to the application's close; None if it never closed.
    close_delay_s: float | None = None

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.closed_by_app


async def replay(
    trace: AgiTrace,
    host: str,
    port: int,
    *,
    chunk_size: int | None = None,
    idle_timeout_s: float = 5.0,
) -> ReplayReport:
    """Play Asterisk for `trace` against the FastAGI server at host:port.

    `chunk_size` writes Asterisk's bytes in pieces of that size (lines split across
    reads). A command that differs from the recording is answered `510` and reported.
    """
    report = ReplayReport()
    reader, writer = await asyncio.open_connection(host, port)
    last_write = time.perf_counter()

    async def send(data: bytes) -> None:
        nonlocal last_write
        if chunk_size is None:
            writer.write(data)
        else:
            for start in range(0, len(data), chunk_size):
                writer.write(data[start : start + chunk_size])
                await writer.drain()
        await writer.drain()
        last_write = time.perf_counter()

    try:
        await send(trace.environment + trace.preamble)
        for exchange in trace.exchanges:
            line = await asyncio.wait_for(reader.readline(), idle_timeout_s)
            if not line:
                report.closed_by_app = True
                report.close_delay_s = time.perf_counter() - last_write
                report.mismatches.append(f"application closed before {exchange.command!r}")
                return report
            report.commands.append(line)
            if not _same_command(line, exchange.command):
                report.mismatches.append(f"expected {exchange.command!r}, got {line!r}")
                await send(_INVALID)
                continue
            await send(exchange.reply)
        # The application should close now; anything else it sends is extra.
        while True:
            line = await asyncio.wait_for(reader.readline(), idle_timeout_s)
            if not line:
                report.closed_by_app = True
                report.close_delay_s = time.perf_counter() - last_write
                break
            report.commands.append(line)
            report.mismatches.append(f"command after the recording ended: {line!r}")
            await send(_INVALID)
    except TimeoutError:
        report.mismatches.append(f"application idle for {idle_timeout_s} s without closing")
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        report.closed_by_app = True
        report.close_delay_s = time.perf_counter() - last_write
        report.mismatches.append(f"connection broken: {exc!r}")
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return report


def _same_command(sent: bytes, recorded: bytes) -> bool:
    try:
        return parse_args(sent.decode("utf-8").rstrip("\n")) == parse_args(
            recorded.decode("utf-8").rstrip("\n")
        )
    except UnicodeDecodeError:
        return sent == recorded


class ScriptedCall:
    """A FastAGI handler that sends the trace's commands, word for word, through the
    generic `session.command()` and keeps the replies (in order) in `replies`."""

    def __init__(self, trace: AgiTrace) -> None:
        self.trace = trace
        self.replies: list[Reply] = []

    async def __call__(self, session: AgiSession) -> None:
        for exchange in self.trace.exchanges:
            words = parse_args(exchange.command.decode("utf-8").rstrip("\n"))
            self.replies.append(await session.command(words[0], *words[1:]))
