"""The service's API under load: HTTP latency and websocket fan-out during 300+ live calls.

Three processes, so that each figure measures the service and nothing else:

* the *server* (`bench/api.py --serve`, a child): the whole service as `hotline serve
  --simulate` runs it (`hotline.service.server.CentreService`: SQLite store, kernel,
  runtime, fact writer, uvicorn on 127.0.0.1), with the real-time simulator feeding
  calls through the sample centre (every agent logged in, long conversations, impatient
  callers: the number of live calls levels off) until at least `--calls` calls are live;
* the *clients*, two children (`bench/api.py --client URL --part http|sockets`), that
  start measuring together for `--seconds`, over loopback:
  - HTTP (`--http-clients` concurrent keep-alive connections, a minimal HTTP/1.1 client
    so that the clients' own CPU does not show as server latency): `GET /api/live` (the
    wallboard's live statistics, supervisor) and `GET /api/agents/{id}/desk` (an
    agent's state and screen pop);
  - websockets (`--sockets`, half wallboards as supervisors, half agents' desks), each
    wallboard message read only as far as its build time;
* this process, which only starts the other two, tells the server when the measurement
  begins and ends, and prints the figures.

The machine's CPUs are shared by the server, the clients (kept cheap: `clients_cpu_share`)
and whatever else runs (`load_avg_1m_before`): with other work on the machine the
figures are an upper bound on what a dedicated server would show.

Browsers offer permessage-deflate and uvicorn accepts it by default: each message is then
compressed once per socket, which undoes "encode once" (run with and without
`--no-deflate` to see what it costs).

Prints `name: value` lines:
  api_rps               HTTP requests answered per second (both routes)
  api_p99_ms            p99 latency of those requests, as the client sees it (target < 50)
  ws_fanout_p99_ms      p99 of: a wallboard message's build time (`live.at`) → received,
                        and a seat change (`seat.since`) → the agent's desk received it
                        (target < 100)
  server_cpu_share      server process CPU time / wall time during the measurement
  clients_cpu_share     the same for the two clients' processes together (near 1 or
                        more: the clients, not the server, limit the figures)
  server_cpu_ms_per_response  server CPU time / (HTTP answers + websocket messages)
  server_loop_lag_p99_ms      p99 of how late the server's event loop wakes a 10 ms sleeper
  live_picture_build_ms       one shared live picture (view, KPIs, wallboard and /api/live
                              JSON) with the bench's calls live; live_pictures_per_s: built
  ws_wallboard_message_kb     mean size of a wallboard message
  load_avg_1m_before    the machine's load before the run (other work skews the figures)
  live_calls_min / _max live calls during the measurement (sampled by the server)

Run: .venv/bin/python bench/api.py [--calls 300] [--seconds 20] [--sockets 200]
     [--no-deflate]     (clients do not offer permessage-deflate)
     [--profile FILE]   (cProfile of the server during the measurement; top to stderr)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import websockets  # noqa: E402
from sqlalchemy.engine import URL  # noqa: E402

from hotline.api.accounts import add_user  # noqa: E402
from hotline.api.settings import ApiSettings  # noqa: E402
from hotline.config.loader import Centre, load_centre  # noqa: E402
from hotline.service.server import CentreService, Running, ServeOptions  # noqa: E402
from hotline.simulation.scenario import DistKind, Logins, Scenario, load_scenario  # noqa: E402
from hotline.store.models import UserRole  # noqa: E402
from hotline.workorders.catalogue import load_catalogue  # noqa: E402

PASSWORD = "bench-password-0"
# A wallboard message starts `{"type":"update","live":{"at":<build time>,...`.
CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")
WALLBOARD_HEAD = re.compile(r'\{"type":"(?P<type>\w+)","live":\{"at":(?P<at>[0-9.e+-]+)')


def bench_scenario(base: Scenario, calls_per_s: float, patience_s: float) -> Scenario:
    """A steady stream of callers who talk for many minutes and give up waiting after
    `patience_s` on average: every agent busy, the queue long but steady (about
    rate x patience waiting, plus the IVR and 128 conversations)."""
    arrivals = base.arrivals.model_copy(update={
        "calls": calls_per_s * 86400.0, "base_calls": None, "profile": {"00:00": 1.0},
        "surges": (),
    })
    citizens = base.citizens.model_copy(update={
        "patience_s": base.citizens.talk_s.model_copy(update={
            "dist": DistKind.EXPONENTIAL, "mean": patience_s, "min": None, "max": None}),
        "callback_accept": 0.0,
        "talk_s": base.citizens.talk_s.model_copy(update={"mean": 900.0}),
    })
    agents = base.agents.model_copy(update={
        "logins": Logins.ALL, "pause_every_s": None, "ring_no_answer": 0.0,
        "ready_after_login_s": base.agents.answer_delay_s,
    })
    return base.model_copy(update={"arrivals": arrivals, "citizens": citizens,
                                   "agents": agents, "supervisor": ()})


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class KeepAlive:
    """One keep-alive HTTP/1.1 connection, just enough for the bench's GETs: httpx costs
    the clients' process about a millisecond of CPU per request, which would show in the
    figures as the server's latency; this costs a few tens of microseconds."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, token: str) -> int:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: "
                          f"Bearer {token}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = CONTENT_LENGTH.search(head)
        if length is None:
            raise RuntimeError(f"no content-length in {head[:200]!r}")
        await self.reader.readexactly(int(length[1]))
        return int(head[9:12])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()


class Clients:
    """One part of the load (`http` or `sockets`), in a process of its own."""

    def __init__(self, base: str, agents: list[str], args: argparse.Namespace) -> None:
        self.base = base
        self.ws_base = base.replace("http://", "ws://")
        self.agents = agents
        self.args = args
        self.http_ms: list[float] = []
        self.fanout_ms: list[float] = []
        self.messages = 0
        self.wallboard_bytes: list[int] = []
        self.errors = 0
        self.elapsed = 0.0
        self.cpu_share = 0.0

    async def login(self, client: httpx.AsyncClient, name: str) -> str:
        response = await client.post(f"{self.base}/api/auth/login",
                                     json={"username": name, "password": PASSWORD})
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    async def run(self, part: str, go: Callable[[], Awaitable[None]]) -> None:
        """Log in, connect (sockets), then `go()` (every part waits for the others) and
        measure for `--seconds`."""
        args = self.args
        desks = round(args.sockets * args.desk_share)
        async with httpx.AsyncClient(timeout=30) as client:
            supervisor = await self.login(client, "bench-super")
            agent_tokens = [await self.login(client, f"bench-{a}")
                            for a in self.agents[:max(desks, 1)]]
        stop = asyncio.Event()
        ready: list[None] = []
        sockets: list[asyncio.Task[None]] = []
        if part == "sockets":
            sockets = [
                asyncio.create_task(self.wallboard(supervisor, stop, ready))
                for _ in range(args.sockets - desks)
            ] + [
                asyncio.create_task(self.desk(agent_tokens[i % len(agent_tokens)], stop, ready))
                for i in range(desks)
            ]
            while len(ready) < args.sockets:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # past the snapshots
        await go()
        self.fanout_ms.clear()
        cpu0 = time.process_time()
        began = time.perf_counter()
        deadline = began + args.seconds
        if part == "http":
            await asyncio.gather(*(
                self.http_loop(supervisor, agent_tokens, i, deadline)
                for i in range(args.http_clients)
            ))
        else:
            await asyncio.sleep(args.seconds)
        self.elapsed = time.perf_counter() - began
        self.cpu_share = (time.process_time() - cpu0) / self.elapsed
        stop.set()
        await asyncio.gather(*sockets, return_exceptions=True)

    async def http_loop(self, supervisor: str, agent_tokens: list[str], i: int,
                        deadline: float) -> None:
        host, port = self.base.removeprefix("http://").rsplit(":", 1)
        connection = KeepAlive(host, int(port))
        n = 0
        try:
            while time.perf_counter() < deadline:
                n += 1
                if n % 2:
                    path, token = "/api/live", supervisor
                else:
                    k = (i + n) % len(agent_tokens)
                    path, token = f"/api/agents/{self.agents[k]}/desk", agent_tokens[k]
                t0 = time.perf_counter()
                status = await connection.get(path, token)
                took = (time.perf_counter() - t0) * 1000.0
                if status != 200:
                    self.errors += 1
                    continue
                self.http_ms.append(took)
        finally:
            await connection.close()

    async def _socket(self, path: str, token: str, stop: asyncio.Event, ready: list[None],
                      on_message: Callable[[str | bytes, float], None]) -> None:
        # Browsers offer permessage-deflate; `--no-deflate` clients do not (what every
        # client gets once the server stops accepting it).
        compression = "deflate" if self.args.deflate else None
        async with websockets.connect(self.ws_base + path, max_size=None,
                                      compression=compression) as ws:
            await ws.send(json.dumps({"token": token}))
            on_message(await ws.recv(), time.time())
            ready.append(None)
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                on_message(raw, time.time())

    async def wallboard(self, token: str, stop: asyncio.Event, ready: list[None]) -> None:
        def seen(raw: str | bytes, at: float) -> None:
            # Only the head is read: decoding 100 wallboards' whole pictures would make
            # this process, not the server, the bottleneck the figures show.
            self.messages += 1
            self.wallboard_bytes.append(len(raw))
            head = WALLBOARD_HEAD.match(raw if isinstance(raw, str) else raw.decode())
            if head is not None and head["type"] == "update":
                self.fanout_ms.append((at - float(head["at"])) * 1000.0)

        await self._socket("/api/ws/wallboard", token, stop, ready, seen)

    async def desk(self, token: str, stop: asyncio.Event, ready: list[None]) -> None:
        last_since: list[float | None] = [None]

        def seen(raw: str | bytes, at: float) -> None:
            self.messages += 1
            message = json.loads(raw)
            seat = message.get("desk", {}).get("seat")
            since = seat.get("since") if seat else None
            if message.get("type") == "update" and since is not None \
                    and last_since[0] is not None and since != last_since[0]:
                self.fanout_ms.append((at - since) * 1000.0)
            last_since[0] = since

        await self._socket("/api/ws/desk", token, stop, ready, seen)


async def _child(*argv: str, stdin: bool = False) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, __file__, *argv, stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.PIPE if stdin else None,
        limit=1 << 26,  # the clients' report is one long JSON line
    )


async def _json_line(stream: asyncio.StreamReader | None) -> dict[str, Any]:
    """The next line that is a JSON object (other output passes to our stderr)."""
    assert stream is not None
    while True:
        raw = await stream.readline()
        if not raw:
            raise RuntimeError("a child process ended without its report")
        text = raw.decode().strip()
        if text.startswith("{"):
            found: dict[str, Any] = json.loads(text)
            return found
        if text:
            print(text, file=sys.stderr)


def _common(args: argparse.Namespace) -> list[str]:
    return ["--seconds", str(args.seconds), "--sockets", str(args.sockets),
            "--http-clients", str(args.http_clients), "--desk-share", str(args.desk_share),
            "--deflate" if args.deflate else "--no-deflate"]


# --- the server process ---------------------------------------------------------------


def live_calls(running: Running) -> int:
    view = running.runtime.view().centre
    return sum(n for _, n in view.live_calls) if view is not None else 0


async def loop_lag(lags: list[float], every_s: float = 0.01) -> None:
    """How late the server's event loop wakes a sleeper: its own work (a long step
    anywhere) and the machine's other work (no CPU for it) both show here."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + every_s
        await asyncio.sleep(every_s)
        lags.append((loop.time() - due) * 1000.0)


async def serve_main(args: argparse.Namespace) -> int:
    """The service with the bench's callers; says `ready` once enough calls are live,
    then follows `measure` / `stop` on its standard input."""
    logging.basicConfig(level=logging.WARNING)
    config = ROOT / "config"
    centre: Centre = load_centre(config)
    catalogue = load_catalogue(config / "workorders.yaml", calendars=centre.config.holidays,
                               modes=centre.config.modes)
    base_scenario, _ = load_scenario(ROOT / "scenarios" / "emergency_day.yaml")
    scenario = bench_scenario(base_scenario, args.rate, args.patience)
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        url = URL.create("sqlite+aiosqlite", database=str(Path(tmp) / "hotline.db"))
        api = ApiSettings(argon2_time_cost=1, argon2_memory_kib=64, wallboard_period_s=1.0)
        options = ServeOptions(database_url=url, host="127.0.0.1", port=0, scenario=scenario,
                               speed=1.0, seed=1, api=api, spill_path=Path(tmp) / "spill",
                               create_demo_supervisor=False)
        service = CentreService(options, centre, catalogue)
        began = time.perf_counter()
        running = await service.start()
        passwords = running.services.passwords
        await add_user(running.engine, passwords, "bench-super", PASSWORD, UserRole.SUPERVISOR)
        for agent in list(centre.config.agents)[: max(1, round(args.sockets * args.desk_share))]:
            await add_user(running.engine, passwords, f"bench-{agent}", PASSWORD,
                           UserRole.AGENT, agent_id=agent)
        while live_calls(running) < args.calls:
            if time.perf_counter() - began > 90:
                print(f"only {live_calls(running)} live calls after 90 s", file=sys.stderr)
                break
            await asyncio.sleep(0.5)
        print(json.dumps({"ready": True, "port": running.port}), flush=True)

        await commands.readline()  # "measure"
        if args.slow_callbacks:
            # asyncio names every step that holds the loop longer than this.
            loop.slow_callback_duration = args.slow_callbacks / 1000.0
            loop.set_debug(True)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        low = high = live_calls(running)
        stop = asyncio.create_task(commands.readline())
        lags: list[float] = []
        probe = asyncio.create_task(loop_lag(lags))
        while not stop.done():
            await asyncio.wait({stop}, timeout=1.0)  # sampling is itself a full view build
            now_live = live_calls(running)
            low, high = min(low, now_live), max(high, now_live)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        probe.cancel()
        if profiler is not None:
            import pstats

            profiler.disable()
            profiler.dump_stats(args.profile)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
        # What one shared picture costs with these calls live (built, then encoded for
        # the wallboards and for /api/live): the work a tick adds to the server's loop.
        views = running.services.live
        builds = []
        for _ in range(10):
            views.invalidate()
            t0 = time.perf_counter()
            picture = views.picture()
            picture.wallboard_text("update")
            picture.live_json()
            builds.append((time.perf_counter() - t0) * 1000.0)
        counters = running.runtime.counters
        await service.stop()
    print(json.dumps({"live_min": low, "live_max": high, "cpu_share": cpu / wall,
                      "loop_lag_p99_ms": p99(lags), "picture_ms": statistics.median(builds),
                      "pictures": views.builds,
                      "failures": counters.failures + counters.driver_errors}), flush=True)
    return 0


# --- the clients' process and this one ----------------------------------------------------


async def client_main(args: argparse.Namespace) -> int:
    agents = list(load_centre(ROOT / "config").config.agents)
    clients = Clients(args.client, agents, args)
    commands = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)

    async def go() -> None:
        print(json.dumps({"ready": True}), flush=True)
        await commands.readline()

    await clients.run(args.part, go)
    sizes = clients.wallboard_bytes
    print(json.dumps({"http_ms": clients.http_ms, "fanout_ms": clients.fanout_ms,
                      "messages": clients.messages, "errors": clients.errors,
                      "elapsed": clients.elapsed, "cpu_share": clients.cpu_share,
                      "wallboard_bytes": sum(sizes) / len(sizes) if sizes else 0.0}))
    return 0


async def main(args: argparse.Namespace) -> int:
    server_args = ["--serve", "--calls", str(args.calls), "--rate", str(args.rate),
                   "--patience", str(args.patience), *_common(args)]
    if args.profile:
        server_args += ["--profile", args.profile]
    if args.slow_callbacks:
        server_args += ["--slow-callbacks", str(args.slow_callbacks)]
    load_before = os.getloadavg()[0]  # other work on the machine skews every figure
    server = await _child(*server_args, stdin=True)
    try:
        ready = await _json_line(server.stdout)
        assert server.stdin is not None
        server.stdin.write(b"measure\n")
        await server.stdin.drain()
        base = f"http://127.0.0.1:{ready['port']}"
        parts = [await _child("--client", base, "--part", part, *_common(args), stdin=True)
                 for part in ("http", "sockets")]
        for part in parts:  # logged in and connected
            await _json_line(part.stdout)
        for part in parts:
            assert part.stdin is not None
            part.stdin.write(b"go\n")
            await part.stdin.drain()
        results = [await _json_line(part.stdout) for part in parts]
        for part in parts:
            await part.wait()
        result = {
            "http_ms": results[0]["http_ms"], "errors": results[0]["errors"],
            "elapsed": results[0]["elapsed"], "fanout_ms": results[1]["fanout_ms"],
            "messages": results[1]["messages"], "wallboard_bytes": results[1]["wallboard_bytes"],
            "cpu_share": results[0]["cpu_share"] + results[1]["cpu_share"],
        }
        server.stdin.write(b"stop\n")
        await server.stdin.drain()
        served = await _json_line(server.stdout)
        await server.wait()
    finally:
        for child in (server,):
            if child.returncode is None:
                child.kill()
                await child.wait()
    http: list[float] = result["http_ms"]
    responses = len(http) + result["messages"]
    print(f"load_avg_1m_before: {load_before:.2f}")
    print(f"api_rps: {len(http) / result['elapsed']:.0f}")
    print(f"api_p99_ms: {p99(http):.1f}")
    print(f"api_median_ms: {statistics.median(http):.1f}")
    print(f"ws_fanout_p99_ms: {p99(result['fanout_ms']):.1f}")
    print(f"ws_fanout_median_ms: {statistics.median(result['fanout_ms']):.1f}")
    print(f"ws_connections: {args.sockets}")
    print(f"ws_messages: {result['messages']}")
    print(f"server_cpu_share: {served['cpu_share']:.2f}")
    print(f"clients_cpu_share: {result['cpu_share']:.2f}")
    print(f"server_loop_lag_p99_ms: {served['loop_lag_p99_ms']:.1f}")
    print(f"live_picture_build_ms: {served['picture_ms']:.1f}")
    print(f"live_pictures_per_s: {served['pictures'] / result['elapsed']:.1f}")
    print(f"server_cpu_ms_per_response: "
          f"{served['cpu_share'] * result['elapsed'] * 1000.0 / max(1, responses):.2f}")
    print(f"ws_wallboard_message_kb: {result['wallboard_bytes'] / 1024.0:.1f}")
    print(f"ws_deflate_offered: {int(args.deflate)}")
    print(f"live_calls_min: {served['live_min']}")
    print(f"live_calls_max: {served['live_max']}")
    print(f"http_errors: {result['errors']}")
    print(f"runtime_failures: {served['failures']}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="live calls before measuring")
    parser.add_argument("--rate", type=float, default=8.0, help="arriving calls per second")
    parser.add_argument("--patience", type=float, default=25.0,
                        help="callers' mean patience while waiting (s)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measurement window")
    parser.add_argument("--sockets", type=int, default=200, help="websocket clients")
    parser.add_argument("--desk-share", type=float, default=0.5,
                        help="share of the websockets that are agents' desks")
    parser.add_argument("--http-clients", type=int, default=16)
    parser.add_argument("--deflate", action=argparse.BooleanOptionalAction, default=True,
                        help="websocket clients offer permessage-deflate (browsers do)")
    parser.add_argument("--slow-callbacks", type=float, default=None, metavar="MS",
                        help="log the server's loop steps longer than MS (asyncio debug)")
    parser.add_argument("--profile", default=None, metavar="FILE",
                        help="cProfile the server during the measurement into FILE")
    parser.add_argument("--client", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--part", choices=("http", "sockets"), help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    entry = serve_main if parsed.serve else client_main if parsed.client else main
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(entry(parsed)))
