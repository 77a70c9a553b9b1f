"""The service's API under load: HTTP latency and websocket fan-out during 300+ live calls.

The whole service runs in this process (`hotline.service.server.CentreService`: SQLite
store, kernel, runtime on the real clock, fact writer, uvicorn on 127.0.0.1), with the
real-time simulator feeding calls through the sample centre (every agent logged in,
long conversations, impatient callers: the number of live calls levels off) until at
least `--calls` calls are live. Then,
for `--seconds`, clients in a child process (so their work does not
share the interpreter with the server's) talk to it over loopback:

* HTTP (httpx, `--http-clients` concurrent loops): `GET /api/live` (the wallboard's
  live statistics, supervisor) and `GET /api/agents/{id}/desk` (an agent's state);
* websockets (`--sockets`, half wallboards as supervisors, half agents' desks).

Prints `name: value` lines:
  api_rps               HTTP requests answered per second (both routes)
  api_p99_ms            p99 latency of those requests (target < 50)
  ws_fanout_p99_ms      p99 of: a wallboard message's build time (`live.at`) → received,
                        and a seat change (`seat.since`) → the agent's desk received it
                        (target < 100)
  live_calls_min / _max live calls during the measurement

Run: .venv/bin/python bench/api.py [--calls 300] [--seconds 20] [--sockets 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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


def live_calls(running: Running) -> int:
    view = running.runtime.view().centre
    return sum(n for _, n in view.live_calls) if view is not None else 0


class Clients:
    """The load: runs on its own loop in a thread."""

    def __init__(self, base: str, agents: list[str], args: argparse.Namespace) -> None:
        self.base = base
        self.ws_base = base.replace("http://", "ws://")
        self.agents = agents
        self.args = args
        self.http_ms: list[float] = []
        self.fanout_ms: list[float] = []
        self.messages = 0
        self.errors = 0
        self.elapsed = 0.0

    async def login(self, client: httpx.AsyncClient, name: str) -> str:
        response = await client.post(f"{self.base}/api/auth/login",
                                     json={"username": name, "password": PASSWORD})
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    async def run(self) -> None:
        args = self.args
        limits = httpx.Limits(max_connections=args.http_clients + 8)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            supervisor = await self.login(client, "bench-super")
            desks = round(args.sockets * args.desk_share)
            agent_tokens = [await self.login(client, f"bench-{a}")
                            for a in self.agents[:max(desks, 1)]]
            stop = asyncio.Event()
            ready: list[None] = []
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
            self.fanout_ms.clear()
            began = time.perf_counter()
            deadline = began + args.seconds
            loops = [
                asyncio.create_task(self.http_loop(client, supervisor, agent_tokens, i,
                                                   deadline))
                for i in range(args.http_clients)
            ]
            await asyncio.gather(*loops)
            self.elapsed = time.perf_counter() - began
            stop.set()
            await asyncio.gather(*sockets, return_exceptions=True)

    async def http_loop(self, client: httpx.AsyncClient, supervisor: str,
                        agent_tokens: list[str], i: int, deadline: float) -> None:
        live = {"Authorization": f"Bearer {supervisor}"}
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            if n % 2:
                url, headers = f"{self.base}/api/live", live
            else:
                k = (i + n) % len(agent_tokens)
                url = f"{self.base}/api/agents/{self.agents[k]}/desk"
                headers = {"Authorization": f"Bearer {agent_tokens[k]}"}
            t0 = time.perf_counter()
            response = await client.get(url, headers=headers)
            took = (time.perf_counter() - t0) * 1000.0
            if response.status_code != 200:
                self.errors += 1
                continue
            self.http_ms.append(took)

    async def _socket(self, path: str, token: str, stop: asyncio.Event, ready: list[None],
                      on_message: Callable[[dict[str, Any], float], None]) -> None:
        async with websockets.connect(self.ws_base + path, max_size=None) as ws:
            await ws.send(json.dumps({"token": token}))
            first = json.loads(await ws.recv())
            on_message(first, time.time())
            ready.append(None)
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                on_message(json.loads(raw), time.time())

    async def wallboard(self, token: str, stop: asyncio.Event, ready: list[None]) -> None:
        def seen(message: dict[str, Any], at: float) -> None:
            self.messages += 1
            if message.get("type") == "update":
                self.fanout_ms.append((at - message["live"]["at"]) * 1000.0)

        await self._socket("/api/ws/wallboard", token, stop, ready, seen)

    async def desk(self, token: str, stop: asyncio.Event, ready: list[None]) -> None:
        last_since: list[float | None] = [None]

        def seen(message: dict[str, Any], at: float) -> None:
            self.messages += 1
            seat = message.get("desk", {}).get("seat")
            since = seat.get("since") if seat else None
            if message.get("type") == "update" and since is not None \
                    and last_since[0] is not None and since != last_since[0]:
                self.fanout_ms.append((at - since) * 1000.0)
            last_since[0] = since

        await self._socket("/api/ws/desk", token, stop, ready, seen)


async def run_clients(base: str, args: argparse.Namespace) -> dict[str, Any]:
    """The load from a child process (its own interpreter: no GIL shared with the
    service); its figures come back as one JSON line."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client", base, "--seconds", str(args.seconds),
        "--sockets", str(args.sockets), "--http-clients", str(args.http_clients),
        "--desk-share", str(args.desk_share),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the client process failed ({child.returncode})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def client_main(args: argparse.Namespace) -> int:
    agents = list(load_centre(ROOT / "config").config.agents)
    clients = Clients(args.client, agents, args)
    await clients.run()
    print(json.dumps({"http_ms": clients.http_ms, "fanout_ms": clients.fanout_ms,
                      "messages": clients.messages, "errors": clients.errors,
                      "elapsed": clients.elapsed}))
    return 0


async def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    config = ROOT / "config"
    centre: Centre = load_centre(config)
    catalogue = load_catalogue(config / "workorders.yaml", calendars=centre.config.holidays,
                               modes=centre.config.modes)
    base_scenario, _ = load_scenario(ROOT / "scenarios" / "emergency_day.yaml")
    scenario = bench_scenario(base_scenario, args.rate, args.patience)
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        url = URL.create("sqlite+aiosqlite", database=str(Path(tmp) / "hotline.db"))
        api = ApiSettings(argon2_time_cost=1, argon2_memory_kib=64, wallboard_period_s=1.0)
        options = ServeOptions(database_url=url, host="127.0.0.1", port=0, scenario=scenario,
                               speed=1.0, seed=1, api=api, spill_path=Path(tmp) / "spill",
                               create_demo_supervisor=False)
        service = CentreService(options, centre, catalogue)
        began = time.perf_counter()
        running = await service.start()
        agents = list(centre.config.agents)
        passwords = running.services.passwords
        await add_user(running.engine, passwords, "bench-super", PASSWORD, UserRole.SUPERVISOR)
        for agent in agents[: max(1, round(args.sockets * args.desk_share))]:
            await add_user(running.engine, passwords, f"bench-{agent}", PASSWORD,
                           UserRole.AGENT, agent_id=agent)
        while live_calls(running) < args.calls:
            if time.perf_counter() - began > 60:
                print(f"only {live_calls(running)} live calls after 60 s", file=sys.stderr)
                break
            await asyncio.sleep(0.2)
        load = asyncio.create_task(run_clients(f"http://127.0.0.1:{running.port}", args))
        low = high = live_calls(running)
        while not load.done():
            await asyncio.sleep(0.25)
            now_live = live_calls(running)
            low, high = min(low, now_live), max(high, now_live)
        counters = running.runtime.counters
        await service.stop()
        result = load.result()
    http: list[float] = result["http_ms"]
    print(f"api_rps: {len(http) / result['elapsed']:.0f}")
    print(f"api_p99_ms: {p99(http):.1f}")
    print(f"api_median_ms: {statistics.median(http):.1f}")
    print(f"ws_fanout_p99_ms: {p99(result['fanout_ms']):.1f}")
    print(f"ws_connections: {args.sockets}")
    print(f"ws_messages: {result['messages']}")
    print(f"live_calls_min: {low}")
    print(f"live_calls_max: {high}")
    print(f"http_errors: {result['errors']}")
    print(f"runtime_failures: {counters.failures + counters.driver_errors}")
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
    parser.add_argument("--client", default=None, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(client_main(parsed) if parsed.client else main(parsed)))
