"""Hand-off from a freed agent to the next waiting caller, on a live Asterisk.

When a live Asterisk is reachable (ASTERISK_ARI_URL, ASTERISK_ARI_USER,
HOTLINE_ARI_PASSWORD; ASTERISK_AMI_HOST/PORT/USER and HOTLINE_AMI_SECRET for the
observer and the app_queue run): agents are Local channels whose other half runs the
`bench-agents` context (Answer, Wait a random 2-3 s, Hangup); callers arrive faster than
the agents can serve them. The same load runs twice, one after the other:

  ours       callers are Local channels originated into an ARI app; the AriDriver, the
             CentreRuntime and the kernel (a one-queue centre, no IVR, no wrap-up) ring
             the seats (`Local/90NN@bench-agents`) and bridge.
  app_queue  callers are Local channels running Queue(bench) (`bench-callers,queue`),
             with the same agents as dynamic members `Local/90NN@bench-agents/n`
             (strategy leastrecent, ringinuse no, wrapuptime 0, retry 1).

Both are observed the same way, by a second ARI application subscribed to every channel
(`subscribeAll`), with the timestamps Asterisk gives its events when it publishes them:
an agent becomes free when its `;2` half is destroyed (ChannelDestroyed), it is rung when
a Dial (no dialstatus yet) targets its `;1` Local channel. ARI stamps to the millisecond.
AMI's `Timestamp` (`timestampevents = yes`) is taken later, when the manager's own queue
formats the event (manager.c stamps `ast_tvnow()` there), so it adds that queue's lag,
which differs from one event to the next: the same gaps stamped by AMI (Hangup,
DialBegin) are printed beside them as `*_ami_stamped_*`. A hand-off counts when callers
were waiting as the agent became free (ours: from the runtime's facts; app_queue: from
QueueCallerJoin/Leave).

Prints `name: value` lines:
  handoff_p50_ms / handoff_p99_ms          ours: agent free -> next caller rung
  agent_time_lost_pct                      ours: agent time idle while callers waited
  app_queue_handoff_p50_ms / _p99_ms / app_queue_agent_time_lost_pct   the same for
                                           Asterisk's app_queue in the same run
  handoffs / app_queue_handoffs            how many hand-offs were measured
  handoff_{teardown,delivery,kernel,ring}_p50_ms / _p99_ms   ours, split: Asterisk's
      Local teardown (;2 destroyed -> the hang-up request on the ;1 leg the driver
      acts on), websocket delivery to the driver, driver + runtime + kernel until
      RingSeat is executed, and the one-step originate (one REST call) until the Dial
  handoff_ami_stamped_p50_ms / _p99_ms, app_queue_handoff_ami_stamped_p50_ms / _p99_ms
      the same hand-offs stamped by AMI instead

Asterisk's dialplan must have the `bench-agents` and `bench-callers` contexts and a
`bench` queue: tests/live/asterisk/ holds such a configuration and its README says how
to run it. Without a reachable Asterisk it prints one `handoff: skipped ...` line and
exits 0.

Run: .venv/bin/python bench/handoff.py [--agents 8] [--seconds 60] [--load 1.5]
(60 s give about 150 hand-offs: the p99 is then not just the largest one)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline.composition import build_kernel  # noqa: E402
from hotline.config.loader import load_centre  # noqa: E402
from hotline.runtime.centre_runtime import CentreRuntime  # noqa: E402
from hotline.runtime.clock import RealClock  # noqa: E402
from hotline.telephony.ami.client import AmiClient, AmiSettings  # noqa: E402
from hotline.telephony.ami.codec import Event  # noqa: E402
from hotline.telephony.ari import (  # noqa: E402
    AriClient,
    AriConfig,
    AriError,
    AriEventStream,
    new_id,
)
from hotline.telephony.ari.driver import AriDriver, AriDriverSettings  # noqa: E402
from hotline.telephony.ari.events import (  # noqa: E402
    ChannelDestroyed,
    ChannelHangupRequest,
    Dial,
)
from hotline.vocabulary import events as ev  # noqa: E402
from hotline.vocabulary.commands import RingSeat  # noqa: E402

APP = "hotline-bench"
QUEUE = "bench"
MEAN_TALK_S = 2.5
AGENT_CHANNEL = re.compile(r"^Local/(90\d\d)@bench-agents-[0-9a-f]+;([12])$")

FLOW = "name: direct\nstart: to_queue\nnodes:\n  to_queue: {type: queue, queue: general}\n"


def centre_yaml(agents: int) -> str:
    lines = [
        "centre: {name: handoff bench, timezone: Asia/Shanghai}",
        'lines:\n  "12345": {flow: direct}',
        "skills: [general]",
        "queues:\n  general:\n    skills: [general]\n    min_level: 1\n    wrap_up_s: 0\n"
        "    ring_timeout_s: 15\n    announce: {first_after_s: 86400, every_s: 86400}\n"
        "    max_wait_s: 3600\n    max_length: 1000\n    callback: {enabled: false}",
        "modes:\n  normal: {description: the only mode}",
        "teams:\n  t: {description: everyone}",
        "agents:",
        *(f"  a{n}: {{name: A{n}, team: t, skills: {{general: 3}}}}" for n in range(1, agents + 1)),
        "seats:",
        *(f"  s{n}: Local/{9000 + n}@bench-agents" for n in range(1, agents + 1)),
    ]
    return "\n".join(lines) + "\n"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


# --- the observers: ARI and AMI events with Asterisk's timestamps --------------------------


@dataclass
class Moments:
    """When agents were freed and rung, as one source stamped them."""

    rung: dict[str, list[float]] = field(default_factory=dict)  # agent -> ring times
    freed: dict[str, list[float]] = field(default_factory=dict)  # agent -> ;2 end times

    def clear(self) -> None:
        self.rung.clear()
        self.freed.clear()


@dataclass
class Timeline:
    """What the observers showed during one phase."""

    ari: Moments = field(default_factory=Moments)  # ChannelDestroyed ;2, Dial -> ;1
    ami: Moments = field(default_factory=Moments)  # Hangup ;2, DialBegin -> ;1
    waiting: list[tuple[float, int]] = field(default_factory=list)  # (t, +1/-1), app_queue
    # ours only, for the breakdown: agent -> times
    ended: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (stamp of
    # the ;1 leg's end the driver acted on, when the driver took it)
    commanded: dict[str, list[float]] = field(default_factory=dict)  # RingSeat executed

    def clear(self) -> None:
        self.ari.clear()
        self.ami.clear()
        self.waiting.clear()
        self.ended.clear()
        self.commanded.clear()


def stamp(event: Event) -> float:
    value = event.get("Timestamp")
    return float(value) if value else time.time()


async def observe(ami: AmiClient, timeline: Timeline) -> None:
    names = {"DialBegin", "Hangup", "QueueCallerJoin", "QueueCallerLeave"}
    subscription = ami.events(names=names, maxsize=100_000)
    with contextlib.closing(subscription):
        async for event in subscription:
            name = event.name
            if name == "DialBegin":
                match = AGENT_CHANNEL.match(event.get("DestChannel") or "")
                if match:
                    timeline.ami.rung.setdefault(match.group(1), []).append(stamp(event))
            elif name == "Hangup":
                match = AGENT_CHANNEL.match(event.get("Channel") or "")
                if match and match.group(2) == "2":
                    timeline.ami.freed.setdefault(match.group(1), []).append(stamp(event))
            elif event.get("Queue") == QUEUE:
                step = 1 if name == "QueueCallerJoin" else -1
                timeline.waiting.append((stamp(event), step))


async def watch(stream: AriEventStream, timeline: Timeline) -> None:
    """Every channel's events (`subscribeAll`), stamped when Asterisk published them."""
    async for item in stream:
        if isinstance(item, ChannelDestroyed):
            match = AGENT_CHANNEL.match(item.channel.name)
            if match and match.group(2) == "2":
                timeline.ari.freed.setdefault(match.group(1), []).append(
                    item.timestamp.timestamp())
        elif isinstance(item, Dial) and not item.dialstatus:
            match = AGENT_CHANNEL.match(item.peer.name)
            if match and match.group(2) == "1":
                timeline.ari.rung.setdefault(match.group(1), []).append(
                    item.timestamp.timestamp())


def waiting_at(changes: list[tuple[float, int]]) -> Callable[[float], int]:
    ordered = sorted(changes)

    def count(t: float) -> int:
        return sum(step for at, step in ordered if at <= t)

    return count


def handoffs(
    moments: Moments, waiting: Callable[[float], int], start: float, end: float,
    agents: int,
) -> tuple[list[float], float]:
    """Gaps (s) from an agent freed with callers waiting to its next ring, and the share
    (%) of agent time in [start, end] lost that way."""
    gaps: list[float] = []
    lost = 0.0
    for agent, frees in moments.freed.items():
        rings = sorted(moments.rung.get(agent, []))
        for freed in frees:
            if not start <= freed <= end or waiting(freed) <= 0:
                continue
            later = [r for r in rings if r >= freed]
            if not later:
                continue  # the phase ended first
            gap = later[0] - freed
            gaps.append(gap)
            lost += min(later[0], end) - freed
    return gaps, 100.0 * lost / (agents * (end - start))


def gap_figures(
    prefix: str, timeline: Timeline, waiting: Callable[[float], int], start: float,
    end: float, agents: int,
) -> dict[str, float]:
    gaps, lost = handoffs(timeline.ari, waiting, start, end, agents)
    ami_gaps, _ = handoffs(timeline.ami, waiting, start, end, agents)
    return {
        f"{prefix}handoff_p50_ms": pct(gaps, 0.50) * 1000,
        f"{prefix}handoff_p99_ms": pct(gaps, 0.99) * 1000,
        f"{prefix}agent_time_lost_pct": lost,
        f"{prefix}handoffs": float(len(gaps)),
        f"{prefix}handoff_ami_stamped_p50_ms": pct(ami_gaps, 0.50) * 1000,
        f"{prefix}handoff_ami_stamped_p99_ms": pct(ami_gaps, 0.99) * 1000,
    }


def breakdown(timeline: Timeline, start: float, end: float) -> dict[str, list[float]]:
    """Ours, per hand-off: Asterisk's Local teardown (;2 destroyed -> the end of the ;1
    leg the driver acts on), event delivery (-> the driver has it), runtime + kernel (->
    RingSeat executed) and ringing (-> Dial: the one-step originate's REST call)."""
    parts: dict[str, list[float]] = {"teardown": [], "delivery": [], "kernel": [], "ring": []}
    moments = timeline.ari
    for agent, frees in moments.freed.items():
        for freed in frees:
            if not start <= freed <= end:
                continue
            gone = [d for d in timeline.ended.get(agent, []) if freed <= d[1] < freed + 1]
            if not gone:
                continue
            stamped, taken = gone[0]
            commands = [c for c in timeline.commanded.get(agent, []) if taken <= c < taken + 1]
            if not commands:
                continue
            rings = [r for r in moments.rung.get(agent, [])
                     if commands[0] <= r < commands[0] + 1]
            if not rings:
                continue
            parts["teardown"].append(stamped - freed)
            parts["delivery"].append(taken - stamped)
            parts["kernel"].append(commands[0] - taken)
            parts["ring"].append(rings[0] - commands[0])
    return parts


# --- the load ------------------------------------------------------------------------------


async def arrivals(
    agents: int, seconds: float, load: float, waiting: Callable[[], int],
    start_call: Callable[[], Any], rng: random.Random,
) -> None:
    """Poisson arrivals at `load` x the agents' capacity, holding at most 2 x agents
    callers in the queue (enough that a caller always waits when an agent frees)."""
    rate = load * agents / MEAN_TALK_S
    began = time.monotonic()
    tasks: set[asyncio.Task[Any]] = set()
    while time.monotonic() - began < seconds:
        await asyncio.sleep(rng.expovariate(rate))
        if waiting() < 2 * agents:
            task = asyncio.create_task(start_call())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks, return_exceptions=True)


async def clear_channels(ari: AriClient) -> None:
    for _ in range(10):
        channels = await ari.list_channels()
        ours = [c for c in channels if "@bench-" in c.name]
        if not ours:
            return
        for channel in ours:
            with contextlib.suppress(AriError):
                await ari.hangup(channel.id)
        await asyncio.sleep(1.0)


# --- ours: AriDriver + CentreRuntime + kernel ----------------------------------------------


def instrument(driver: AriDriver, timeline: Timeline) -> None:
    """Note when the driver takes the end of an agent's leg (the far end's hang-up
    request, else ChannelDestroyed) and when it executes RingSeat."""
    handle_item = driver.handle_item
    execute = driver.execute

    async def timed_item(item: Any) -> None:
        if ((isinstance(item, ChannelHangupRequest) and not item.soft)
                or isinstance(item, ChannelDestroyed)):
            match = AGENT_CHANNEL.match(item.channel.name)
            if match and match.group(2) == "1":
                timeline.ended.setdefault(match.group(1), []).append(
                    (item.timestamp.timestamp(), time.time()))
        await handle_item(item)

    def timed_execute(command: Any) -> None:
        if isinstance(command, RingSeat):
            agent = command.endpoint.removeprefix("Local/").partition("@")[0]
            timeline.commanded.setdefault(agent, []).append(time.time())
        execute(command)

    driver.handle_item = timed_item  # type: ignore[method-assign]
    driver.execute = timed_execute  # type: ignore[method-assign]


async def run_ours(
    config: AriConfig, ari: AriClient, timeline: Timeline, agents: int, seconds: float,
    load: float, warmup: float,
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="hotline-handoff-") as tmp:
        root = Path(tmp)
        (root / "flows").mkdir()
        (root / "centre.yaml").write_text(centre_yaml(agents), encoding="utf-8")
        (root / "flows" / "direct.yaml").write_text(FLOW, encoding="utf-8")
        (root / "prompts.yaml").write_text("{}\n", encoding="utf-8")
        centre = load_centre(root)
    clock = RealClock()
    runtime = CentreRuntime(build_kernel(centre), clock, queues=tuple(centre.config.queues))
    app_config = AriConfig.from_env(
        base_url=config.base_url, app=APP, username=config.username
    )
    driver = AriDriver(ari, AriDriverSettings(server="bench"), clock=clock)
    instrument(driver, timeline)
    link = runtime.attach("ari-bench", driver)
    link.claim_endpoints(seat.endpoint for seat in centre.config.seats.values())
    changes: list[tuple[float, int]] = []
    waiting_now = 0

    def on_record(_seq: int, record: Any) -> None:
        nonlocal waiting_now
        if isinstance(record, ev.CallArrived):
            waiting_now += 1
            changes.append((record.at, 1))
        elif isinstance(record, ev.SeatAnswered | ev.CallerHungUp):
            if isinstance(record, ev.CallerHungUp) and record.call_id in answered:
                return
            if isinstance(record, ev.SeatAnswered):
                answered.add(record.call_id)
            waiting_now -= 1
            changes.append((record.at, -1))

    answered: set[str] = set()
    runtime.listen(on_record)
    await runtime.start()
    stream = AriEventStream(app_config, ari)
    stream.start()
    run = asyncio.create_task(driver.run(link, stream))
    try:
        for _ in range(100):
            if any(a.name == APP for a in await ari.list_applications()):
                break
            await asyncio.sleep(0.05)
        for n in range(1, agents + 1):
            await link.post(ev.AgentLoggedIn(f"a{n}", f"s{n}", clock.now()))
            await link.post(ev.AgentReady(f"a{n}", clock.now()))

        async def caller() -> None:
            await ari.originate("Local/hold@bench-callers/n", app=APP, app_args=("12345",),
                                caller_id="13800000000")

        timeline.clear()
        began = time.time()
        await arrivals(agents, seconds, load, lambda: waiting_now, caller, random.Random(7))
        ended = time.time()
        await asyncio.sleep(0.5)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await stream.aclose()
        await driver.aclose()
        await runtime.stop()
        await clear_channels(ari)
    figures = gap_figures("", timeline, waiting_at(changes), began + warmup, ended, agents)
    figures["rejected_events"] = float(runtime.counters_view().rejected_total)
    figures["driver_rest_errors"] = float(driver.stats.rest_errors)
    for part, values in breakdown(timeline, began + warmup, ended).items():
        figures[f"handoff_{part}_p50_ms"] = pct(values, 0.50) * 1000
        figures[f"handoff_{part}_p99_ms"] = pct(values, 0.99) * 1000
    return figures


# --- Asterisk's app_queue ------------------------------------------------------------------


async def run_app_queue(
    ari: AriClient, ami: AmiClient, timeline: Timeline, agents: int, seconds: float,
    load: float, warmup: float,
) -> dict[str, float]:
    members = [f"Local/{9000 + n}@bench-agents/n" for n in range(1, agents + 1)]
    for interface in members:
        with contextlib.suppress(Exception):
            await ami.send_action("QueueRemove", {"Queue": QUEUE, "Interface": interface})
        await ami.send_action("QueueAdd", {"Queue": QUEUE, "Interface": interface,
                                           "MemberName": interface.split("@")[0]})
    timeline.clear()

    def waiting() -> int:
        return sum(step for _, step in timeline.waiting)

    async def caller() -> None:
        await ari.request("POST", "/channels", {
            "endpoint": "Local/queue@bench-callers/n", "context": "bench-callers",
            "extension": "hold", "priority": 1, "callerId": "13800000000",
            "channelId": new_id("aq"),
        })

    try:
        began = time.time()
        await arrivals(agents, seconds, load, waiting, caller, random.Random(7))
        ended = time.time()
        await asyncio.sleep(0.5)
    finally:
        await clear_channels(ari)
        for interface in members:
            with contextlib.suppress(Exception):
                await ami.send_action("QueueRemove", {"Queue": QUEUE, "Interface": interface})
    return gap_figures("app_queue_", timeline, waiting_at(list(timeline.waiting)),
                       began + warmup, ended, agents)


# --- main ----------------------------------------------------------------------------------


async def reachable(config: AriConfig) -> str | None:
    """None when ARI and AMI answer, else why not."""
    if not config.base_url or not os.environ.get("ASTERISK_ARI_URL"):
        return "ASTERISK_ARI_URL is not set"
    if not os.environ.get("HOTLINE_AMI_SECRET"):
        return "HOTLINE_AMI_SECRET is not set (the observer needs AMI)"
    try:
        async with AriClient(config) as ari:
            await ari.ping()
    except AriError as exc:
        return f"ARI at {config.base_url} does not answer: {exc}"
    return None


async def run(agents: int, seconds: float, load: float, warmup: float) -> dict[str, float]:
    config = AriConfig.from_env(
        base_url=os.environ.get("ASTERISK_ARI_URL", ""), app=APP,
        username=os.environ.get("ASTERISK_ARI_USER", "hotline"),
    )
    why = await reachable(config)
    if why is not None:
        print(f"handoff: skipped (no live Asterisk reachable: {why})")
        return {}
    settings = AmiSettings.from_environment(
        os.environ.get("ASTERISK_AMI_USER", "hotline"),
        host=os.environ.get("ASTERISK_AMI_HOST", "127.0.0.1"),
        port=int(os.environ.get("ASTERISK_AMI_PORT", "5038")),
        event_queue_size=100_000,
    )
    ami = AmiClient(settings)
    await ami.connect()
    timeline = Timeline()
    observers = [asyncio.create_task(observe(ami, timeline))]
    figures: dict[str, float] = {}
    try:
        async with AriClient(config) as ari, AriClient(config) as watcher:
            everything = AriEventStream(
                replace(config, app=f"{APP}-watch", subscribe_all=True, queue_size=100_000),
                watcher)
            everything.start()
            observers.append(asyncio.create_task(watch(everything, timeline)))
            try:
                await clear_channels(ari)
                figures.update(
                    await run_ours(config, ari, timeline, agents, seconds, load, warmup))
                await asyncio.sleep(1.0)
                figures.update(
                    await run_app_queue(ari, ami, timeline, agents, seconds, load, warmup))
            finally:
                await everything.aclose()
    finally:
        for task in observers:
            task.cancel()
        await asyncio.gather(*observers, return_exceptions=True)
        await ami.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--load", type=float, default=1.5,
                        help="arrival rate as a multiple of the agents' capacity")
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()
    figures = asyncio.run(run(args.agents, args.seconds, args.load, args.warmup))
    for name, value in figures.items():
        print(f"{name}: {value:.4g}")


if __name__ == "__main__":
    main()
