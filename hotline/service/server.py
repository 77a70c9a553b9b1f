"""`hotline serve`: one centre, live: store, restored kernel, runtime, API and drivers.

    options = ServeOptions(config_dir=Path("config"), database_url=url, port=8000)
    code = await serve(options, centre, catalogue, stop=stop_event)

Start-up, in order (each step needs the one before):

1. *Election* (PostgreSQL): take the centre's advisory lock (`hotline.service.election`).
   With `standby`, wait for it; without, refuse to start if another process holds it
   (two active kernels on one store would number the same records). SQLite has no
   standby: a single process owns the file.
2. *Store*: run the migrations, sync the reference data (departments, categories,
   agents), start the fact writer (a spill file an earlier run left is written first).
3. *Restore*: rebuild the kernel from the whole fact log, number new records after the
   log's last one, re-arm the kernel's pending timers (`hotline.service.restore`).
4. *Runtime*: start it with the store recorder subscribed (facts, CDR rows, mode
   switches), then the drivers: the Asterisk bridge (`hotline.service.telephony`: an
   ARI driver per server, FastAGI, AMI presence, speech), whose ARI drivers take back
   the calls the restored kernel holds as soon as their websockets connect; or the
   real-time simulator (`--simulate`), which adopts the calls and seats the restored
   kernel holds.
5. *API*: uvicorn in-process on `host:port` (127.0.0.1 unless told otherwise); when the
   user table is empty a demo supervisor is created and its password printed once.

Shutdown (SIGINT/SIGTERM, or `stop` set): the API stops taking requests, the drivers
stop taking calls, the runtime processes what it holds (its last commands still reach
Asterisk), the recorder writes everything to the store (or the spill file), the lock is
released. If the lock's connection is lost, another process may already be active: the
service stops at once without writing more to the store (what it holds goes to the
spill file) and `serve` returns `EXIT_DEMOTED`. If another client takes an ARI
application over, the service stops gracefully and returns `EXIT_TAKEN_OVER` rather
than fight it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import uvicorn
from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.api.accounts import add_user
from hotline.api.app import create_app
from hotline.api.security import StoreSessions
from hotline.api.services import Services
from hotline.api.settings import ApiSettings
from hotline.api.sync import sync_reference_data
from hotline.config.loader import Centre
from hotline.runtime.centre_runtime import CentreRuntime
from hotline.runtime.clock import RealClock, TimerClock
from hotline.service.election import AdvisoryLock, LockLost, StandbyRefused, lock_key
from hotline.service.recorder import StoreRecorder
from hotline.service.restore import Restored, restore_centre
from hotline.service.telephony import Telephony, TelephonyFailure, TelephonyOptions
from hotline.simulation.realtime import PacedClock, RealtimeSimulation
from hotline.simulation.scenario import Scenario
from hotline.store.engine import create_engine, show_url
from hotline.store.factlog import FactWriter
from hotline.store.migrate import upgrade
from hotline.store.models import User, UserRole
from hotline.workorders.catalogue import Catalogue

log = logging.getLogger("hotline.service")

EXIT_OK = 0
EXIT_REFUSED = 2  # bad options, or another process is active (without --standby)
EXIT_DEMOTED = 3  # the lock was lost: another process may be active now
EXIT_FAILED = 1

DEMO_SUPERVISOR = "supervisor"
# How far the store's last record may lie ahead of this machine's clock (a standby's
# clock a little behind the active one's) before the service refuses to run on it.
MAX_CLOCK_LEAD_S = 10.0


class StoreAhead(ValueError):
    """The store's records lie ahead of the wall clock: a simulation ran faster than
    real time on it. Calls in real time cannot continue a timeline that is ahead."""


async def _catch_up_with(last_at: float | None, *, limit_s: float = MAX_CLOCK_LEAD_S) -> None:
    """Before a real-time centre takes calls, the wall clock must have passed the store's
    last record (the kernel, the statistics and the CDR take time only forwards)."""
    lead = (last_at or 0.0) - time.time()
    if lead <= 0:
        return
    if lead > limit_s:
        raise StoreAhead(
            f"the store's last record is {lead:.0f} s ahead of this machine's clock (a "
            "simulation faster than real time ran on it); continue it with --simulate, "
            "or serve real calls from another database (--db)")
    log.warning("the store's last record is %.1f s ahead of this machine's clock; "
                "waiting for it before taking calls", lead)
    await asyncio.sleep(lead)


def async_url(url: str | URL) -> URL:
    """The async driver's URL for `sqlite://` and `postgresql://` given plainly."""
    target = make_url(url)
    driver = target.drivername
    if driver == "sqlite":
        return target.set(drivername="sqlite+aiosqlite")
    if driver in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        return target.set(drivername="postgresql+asyncpg")
    return target


def default_spill_path(url: URL) -> Path:
    """Beside the SQLite file; `var/facts-<database>.spill.jsonl` for PostgreSQL (one
    per store, so a standby on the same machine writes what the active one left)."""
    if url.get_backend_name() == "sqlite" and url.database:
        return Path(url.database + ".spill.jsonl")
    return Path("var") / f"facts-{url.database or 'hotline'}.spill.jsonl"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOptions:
    database_url: URL
    host: str = "127.0.0.1"
    port: int = 8000
    scenario: Scenario | None = None  # simulated calls (real time, `speed`-fold)
    speed: float = 1.0
    seed: int | None = None
    standby: bool = False
    spill_path: Path | None = None
    api: ApiSettings = field(default_factory=ApiSettings)
    telephony: TelephonyOptions | None = None  # the Asterisk servers to run beside
    # Fact records held in memory while the database is down, before they are spilled.
    fact_buffer: int = 20_000
    create_demo_supervisor: bool = True


@dataclass(slots=True)
class Running:
    """What an active service is made of (for tests and the bench)."""

    engine: AsyncEngine
    restored: Restored
    runtime: CentreRuntime
    recorder: StoreRecorder
    services: Services
    simulation: RealtimeSimulation | None
    clock: TimerClock
    port: int = 0
    telephony: Telephony | None = None


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handlers: `serve` owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class CentreService:
    """One centre process. `run()` goes through start-up, waits for a stop, shuts down."""

    def __init__(
        self, options: ServeOptions, centre: Centre, catalogue: Catalogue, *,
        out: TextIO | None = None, on_active: Callable[[Running], None] | None = None,
    ) -> None:
        self.options = options
        self.centre = centre
        self.catalogue = catalogue
        self._out = out
        self._on_active = on_active
        self.running: Running | None = None
        self.state = "starting"  # starting, standby, active, stopping, stopped
        self._api_task: asyncio.Task[None] | None = None
        self._api: _ApiServer | None = None

    def say(self, text: str) -> None:
        """A line for the operator (stdout), never a secret except the one-time login."""
        if self._out is not None:
            print(text, file=self._out, flush=True)

    async def run(self, stop: asyncio.Event) -> int:
        options = self.options
        url = options.database_url
        lock: AdvisoryLock | None = None
        if url.get_backend_name() == "postgresql":
            lock = AdvisoryLock(url, lock_key(self.centre.config.centre.name))
            if options.standby:
                self.state = "standby"
                name = self.centre.config.centre.name
                # Said once the lock was found taken, so it means what it says.
                await _first(lock.acquire(on_standby=lambda: self.say(
                    f"hotline: standing by for {name} on {show_url(url)}")), stop.wait())
                if not lock.held:
                    await lock.release()
                    self.state = "stopped"
                    return EXIT_OK
            elif not await lock.try_acquire():
                await lock.release()
                self.say("hotline serve: another process is active for this centre on "
                         f"{show_url(url)}; start this one with --standby to take over "
                         "when it stops")
                self.state = "stopped"
                return EXIT_REFUSED
        elif options.standby:
            raise StandbyRefused(
                "standby needs PostgreSQL (two processes elect the active one through a "
                "PostgreSQL advisory lock); SQLite is a single-process store"
            )
        try:
            return await self._active(stop, lock)
        finally:
            if lock is not None:
                await lock.release()
            self.state = "stopped"

    async def _active(self, stop: asyncio.Event, lock: AdvisoryLock | None) -> int:
        running = await self.start()
        self.state = "active"
        if self._on_active is not None:
            self._on_active(running)
        assert self._api_task is not None
        api = self._api_task
        while True:
            waits: list[Any] = [stop.wait(), asyncio.shield(api)]
            if lock is not None:
                waits.append(lock.watch())
            if running.telephony is not None:
                waits.append(running.telephony.failed())
            try:
                outcome = await _first(*waits)
            except Exception:
                log.exception("the API server failed; stopping")
                await self.stop()
                return EXIT_FAILED
            if isinstance(outcome, TelephonyFailure):
                self.say(f"hotline: stopping: {outcome.reason}")
                await self.stop()
                return outcome.code
            if not isinstance(outcome, LockLost) or lock is None:
                break
            # The database (or the way to it) went away. Calls go on, records wait in
            # the writer; once the database answers, the lock is taken back, unless
            # another process took it meanwhile.
            log.warning("%s; the centre goes on and takes the lock back when the database "
                        "answers", outcome.reason)
            await _first(lock.regain(), stop.wait())
            if stop.is_set():
                break
            if not lock.held:
                log.error("another process took the centre's lock during the outage; "
                          "standing down without writing more to the store")
                self.say("hotline: another process is active now; demoted")
                await self.abort()
                self._set_spill_aside(running)
                return EXIT_DEMOTED
        await self.stop()
        return EXIT_OK

    def _set_spill_aside(self, running: Running) -> None:
        """Records a demoted process could not store were numbered beside the new active
        process's: they are kept for inspection, never written into the log."""
        spill = self.options.spill_path or default_spill_path(self.options.database_url)
        if spill.exists() and spill.stat().st_size > 0:
            aside = spill.with_name(f"{spill.name}.demoted-{int(time.time())}")
            spill.rename(aside)
            log.error("records this process could not store are kept in %s", aside)

    # --- start-up --------------------------------------------------------------------------

    async def start(self) -> Running:
        options = self.options
        centre = self.centre
        url = options.database_url
        if url.get_backend_name() == "sqlite" and url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        await upgrade(url)
        engine = create_engine(url)
        await sync_reference_data(engine, centre, self.catalogue)
        spill = options.spill_path or default_spill_path(url)
        writer = FactWriter(engine, spill, batch_size=min(1000, options.fact_buffer),
                            memory_limit=options.fact_buffer)
        recorder = StoreRecorder(engine, spill, writer=writer)
        await recorder.open()
        restored = await restore_centre(centre, engine)
        recorder.cdr = restored.cdr
        clock: TimerClock
        if options.scenario is not None:
            clock = PacedClock(max(time.time(), restored.last_at or 0.0), options.speed)
        else:
            try:
                await _catch_up_with(restored.last_at)
            except BaseException:
                await recorder.close()
                await engine.dispose()
                raise
            clock = RealClock()
        runtime = restored.runtime_on(clock, queues=tuple(centre.config.queues))
        recorder.attach(runtime, rewrite=restored.recent_calls)
        api_settings = options.api
        telephony: Telephony | None = None
        if options.telephony is not None and options.telephony.servers:
            telephony = Telephony(options.telephony, runtime, seats=(
                seat.endpoint for seat in centre.config.seats.values()))
        # Sessions and login throttling run on wall time (`--simulate --speed 10` must not
        # end a 12-hour session after 72 minutes); what the API stamps on the centre's
        # events (logins, mode switches) is the runtime's own time. Sessions live in the
        # store, so a restart or a standby taking over keeps everyone logged in.
        sessions = await StoreSessions.open(engine, time.time)
        services = Services.build(runtime=runtime, engine=engine, centre=centre,
                                  catalogue=self.catalogue, settings=api_settings,
                                  sessions=sessions, clock=time.time,
                                  presence=telephony.presence if telephony else None)
        services = dataclasses.replace(services, clock=runtime.clock.now)
        await runtime.start()
        restored.arm_timers(runtime)
        if telephony is not None:
            try:
                await telephony.start(restored)
            except BaseException:
                await runtime.stop()
                await recorder.close()
                await engine.dispose()
                raise
        simulation = None
        if options.scenario is not None:
            assert isinstance(clock, PacedClock)
            simulation = RealtimeSimulation(options.scenario, centre, runtime, clock,
                                            seed=options.seed,
                                            live_calls=restored.live_calls)
            clock.start()
            simulation.begin()
        running = Running(engine, restored, runtime, recorder, services, simulation, clock,
                          telephony=telephony)
        self.running = running
        try:
            port = await self._start_api(create_app(services, api_settings))
        except BaseException:
            # The API never served; the drivers may have taken calls: stop them in order.
            self._api = self._api_task = None
            await self.stop()
            raise
        running.port = port
        await self._announce(running)
        return running

    async def _start_api(self, app: Any) -> int:
        options = self.options
        config = uvicorn.Config(app, host=options.host, port=options.port, lifespan="off",
                                log_level="warning", ws="websockets-sansio",
                                # Deflate compresses every message once per socket,
                                # undoing the wallboard's encode-once; on the centre's
                                # LAN the bytes cost less than the CPU (bench/api.py).
                                ws_per_message_deflate=False, access_log=False)
        server = _ApiServer(config)
        self._api = server
        self._api_task = asyncio.create_task(server.serve(), name="hotline-api")
        while not server.started:
            if self._api_task.done():
                self._api_task.result()  # raises what stopped it
                raise OSError(f"the API could not listen on {options.host}:{options.port}")
            await asyncio.sleep(0.01)
        sock: socket.socket = server.servers[0].sockets[0]
        port: int = sock.getsockname()[1]
        return port

    async def _announce(self, running: Running) -> None:
        options = self.options
        restored = running.restored
        host = options.host if ":" not in options.host else f"[{options.host}]"
        waiting = 0
        view = running.runtime.view().centre
        if view is not None:
            waiting = sum(q.waiting_count for q in view.queues)
        self.say(f"hotline: active; {self.centre.config.centre.name}; store "
                 f"{show_url(options.database_url)}; restored {restored.records} records "
                 f"(last seq {restored.last_seq}), {len(restored.live_calls)} live calls, "
                 f"{waiting} waiting")
        if running.simulation is not None:
            name = running.simulation.scenario.name
            self.say(f"hotline: simulated calls ({name}) at {options.speed:g}x real time")
        if running.telephony is not None:
            for link in running.telephony.links:
                server = link.server
                parts = [f"ARI {server.ari_url} app {server.ari_app!r}"]
                if link.agi_port is not None:
                    parts.append(f"FastAGI on {server.agi_host}:{link.agi_port}")
                if server.ami:
                    parts.append(f"AMI {server.ami_address}:{server.ami_port}")
                self.say(f"hotline: Asterisk {server.name}: {'; '.join(parts)}")
        self.say(f"hotline: serving http://{host}:{running.port}/ (API under /api)")
        if options.create_demo_supervisor:
            password = await ensure_demo_supervisor(running.engine, running.services)
            if password is not None:
                # Printed once, to the operator's terminal; never logged.
                self.say(f"hotline: log in as {DEMO_SUPERVISOR!r} with password {password} "
                         "(shown once; add users with `hotline users add`)")

    # --- shutdown ----------------------------------------------------------------------------

    async def stop(self) -> None:
        """Graceful: no new requests or calls, the runtime drained, every record stored."""
        running = await self._wind_down()
        if running is None:
            return
        await running.recorder.close()
        await running.engine.dispose()
        self.say(f"hotline: stopped; last seq {running.runtime.log.next_seq - 1}")

    async def abort(self) -> None:
        """Demoted: stop at once; records not yet stored go to the spill file."""
        running = await self._wind_down()
        if running is None:
            return
        await running.recorder.abort()
        await running.engine.dispose()

    async def _wind_down(self) -> Running | None:
        """What stopping and aborting share: the API, the drivers' intake, the runtime
        (its last commands still reach Asterisk), then the drivers' connections."""
        running = self.running
        self.state = "stopping"
        await self._stop_api()
        if running is None:
            return None
        await self._stop_drivers(running)
        await running.runtime.stop()
        if running.telephony is not None:
            await running.telephony.close()
        return running

    async def _stop_drivers(self, running: Running) -> None:
        """No new calls from any driver; calls in progress stay with Asterisk (a restart
        takes them back)."""
        if running.telephony is not None:
            await running.telephony.stop_intake()
        if running.simulation is not None:
            running.simulation.finish()
        if isinstance(running.clock, PacedClock):
            running.clock.stop()

    async def _stop_api(self) -> None:
        if self._api is not None:
            self._api.should_exit = True
        if self._api_task is not None:
            with contextlib.suppress(asyncio.CancelledError, SystemExit):
                await self._api_task
            self._api_task = None


async def ensure_demo_supervisor(engine: AsyncEngine, services: Services) -> str | None:
    """A supervisor with a random password when nobody can log in yet; the password
    (None when users exist)."""
    async with engine.connect() as connection:
        users = await connection.scalar(select(func.count()).select_from(User))
    if users:
        return None
    password = secrets.token_urlsafe(12)
    await add_user(engine, services.passwords, DEMO_SUPERVISOR, password, UserRole.SUPERVISOR)
    return password


async def _first(*awaitables: Any) -> Any:
    """The result of whichever finishes first; the others are cancelled."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
