"""`hotline serve` beside Asterisk: the ARI drivers, FastAGI, AMI presence, speech.

    telephony = Telephony(options, runtime, seats=endpoints)
    services = Services.build(..., presence=telephony.presence)
    await telephony.start(restored)      # listeners bound, websockets connecting
    failure = await telephony.failed()   # returns only when the centre must stop
    await telephony.stop_intake()        # no new calls; what runs goes on
    await runtime.stop()                 # the kernel drains; its last commands still go out
    await telephony.close()

Per Asterisk server (`hotline.config.settings.AsteriskServer`), all attached to the one
runtime:

- an `AriDriver` on its own `AriClient` and supervised `AriEventStream` (reconnects
  with backoff; the driver reconciles after each reconnect and settles every call when
  Asterisk restarted). On the stream's first connect, before any event is handled, the
  driver `restore`s the calls a kernel rebuilt from the store still holds: a waiting
  caller whose channel is still up keeps their place, a vanished one is settled. Events
  arriving meanwhile wait in the stream, so none is handled before its call is known.
- `ApplicationTakenOver` (another process opened the same ARI application) is not
  fought: `failed()` returns a `TelephonyFailure` and the service stops with
  `EXIT_TAKEN_OVER`.
- a FastAGI server and `AgiDriver` (when the server has an AGI port), sharing one
  `HandOffs` with the ARI driver, its call ids prefixed as the ARI driver's, so a caller
  the FastAGI IVR queues is taken over by the ARI application under the same id.
- an AMI `PresenceMonitor` (when a secret is set): softphone registration and device
  state for the API's seat view (`SoftphonePresence`, the API's `SeatPresenceSource`).
  With one server, that server rings every seat. With several, the call's own server
  rings the seat: directly when the softphone is registered on it, else through the
  trunk to the server it is registered on (`AriDriverSettings.remote_seat_template`,
  ``PJSIP/{resource}@{server}``: each Asterisk needs a PJSIP trunk endpoint named after
  every other one), so the citizen and the agent always meet in one bridge.

Speech: with a recogniser model configured, one `SpeechService`, one `MediaRouter` and
one AudioSocket listener serve every server (each driver has its own `SpeechBridge`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hotline.api.presence import SoftphoneStatus
from hotline.asr.port import SpeechOutcome
from hotline.asr.service import SpeechService
from hotline.asr.settings import AsrSettings
from hotline.centre.kernel import CentreKernel
from hotline.config.settings import AsteriskServer
from hotline.ivr.prompts import PromptCatalogue
from hotline.runtime.centre_runtime import CentreRuntime, DriverLink
from hotline.service.restore import Restored
from hotline.telephony.agi.driver import AgiDriver, AgiDriverSettings
from hotline.telephony.agi.handoff import HandOffs
from hotline.telephony.agi.server import AgiServer, AgiSettings
from hotline.telephony.ami.client import AmiClient, AmiSettings
from hotline.telephony.ami.errors import AmiError
from hotline.telephony.ami.presence import PresenceMonitor, SeatPresence
from hotline.telephony.ari.config import AriConfig
from hotline.telephony.ari.driver import (
    ApplicationTakenOverError,
    AriDriver,
    AriDriverSettings,
)
from hotline.telephony.ari.rest import AriClient
from hotline.telephony.ari.stream import AriEventStream, Connected, StreamItem
from hotline.telephony.media.audiosocket_server import AudioSocketServer
from hotline.telephony.media.bridge import SpeechBridge
from hotline.telephony.media.router import MediaRouter
from hotline.telephony.spoken import SpokenPrompts, SpokenSettings, announcement_prompts

log = logging.getLogger("hotline.service.telephony")

EXIT_TAKEN_OVER = 4  # another process took an ARI application over: an operator must look
EXIT_TELEPHONY_FAILED = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class TelephonyOptions:
    """Which Asterisk servers to run beside, and how patiently to talk to them.

    `ari`, `ari_driver`, `agi`, `agi_driver` and `ami` are templates: the server's own
    address, credentials and name are filled in per server; their timeouts, backoff and
    keepalives apply to every server.
    """

    servers: tuple[AsteriskServer, ...]
    media_host: str = "127.0.0.1"  # where Asterisk connects with a caller's audio
    media_port: int = 0
    asr: AsrSettings | None = None  # speech when it names a model, else keys only
    ari: AriConfig = field(default_factory=AriConfig)
    ari_driver: AriDriverSettings = field(default_factory=AriDriverSettings)
    agi: AgiSettings = field(default_factory=AgiSettings)
    agi_driver: AgiDriverSettings = field(default_factory=AgiDriverSettings)
    ami: AmiSettings = field(default_factory=lambda: AmiSettings("hotline", ""))
    # AMI unreachable at start: try again after this long, doubling up to the maximum
    # (once logged in, AmiClient reconnects by itself).
    ami_retry_s: float = 5.0
    ami_retry_max_s: float = 120.0
    # Announcements with numbers spoken at run time (`SpokenPrompts`), with the
    # catalogue they come from and the directory its recordings are relative to.
    spoken: SpokenSettings | None = None
    prompts: PromptCatalogue | None = None
    config_dir: Path = Path("config")

    def __post_init__(self) -> None:
        names = [server.name for server in self.servers]
        if len(set(names)) != len(names):
            raise ValueError(f"two Asterisk servers share a name: {names}")
        ports = [s.agi_port for s in self.servers if s.agi_port]
        if len(set(ports)) != len(ports):
            raise ValueError(f"two Asterisk servers share a FastAGI port: {ports}")


@dataclass(frozen=True, slots=True)
class TelephonyFailure:
    """Why the centre must stop (see `Telephony.failed`), and its exit code."""

    reason: str
    code: int


# --- seat presence for the API ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Seen:
    presence: SeatPresence
    since: float


class SoftphonePresence:
    """The AMI presence of every server, as the API's `SeatPresenceSource`.

    An endpoint may exist on several servers (the same pjsip.conf everywhere); the
    softphone is where it is registered (the latest registration when a phone moved
    and the old server has not noticed yet), else the latest news of it.
    `since` is wall-clock time: the seat view shows how long a phone has been in its
    state, whatever clock the centre's calls run on.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._seen: dict[str, dict[str, _Seen]] = {}  # endpoint -> server -> last change

    def update(self, server: str, change: SeatPresence) -> None:
        by_server = self._seen.setdefault(change.endpoint, {})
        by_server[server] = _Seen(change, self._clock())

    def server_of(self, endpoint: str) -> str | None:
        """The server the endpoint's softphone is registered on (None: nowhere known)."""
        registered = [(seen.since, server) for server, seen in
                      self._seen.get(endpoint, {}).items() if seen.presence.registered]
        return max(registered)[1] if registered else None

    def softphone(self, endpoint: str) -> SoftphoneStatus | None:
        by_server = self._seen.get(endpoint)
        if not by_server:
            return None
        server = self.server_of(endpoint)
        if server is not None:
            seen = by_server[server]
        else:
            seen = max(by_server.values(), key=lambda s: s.since)
        presence = seen.presence
        return SoftphoneStatus(presence.registered, presence.contact or "",
                               presence.device_state.value, seen.since)


# --- one server ---------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class AsteriskLink:
    """What runs for one Asterisk server."""

    server: AsteriskServer
    client: AriClient
    stream: AriEventStream
    driver: AriDriver
    link: DriverLink
    handoffs: HandOffs
    bridge: SpeechBridge | None = None
    agi_driver: AgiDriver | None = None
    agi_server: AgiServer | None = None
    ami: AmiClient | None = None
    monitor: PresenceMonitor | None = None
    task: asyncio.Task[None] | None = None
    ami_task: asyncio.Task[None] | None = None
    restored: int = 0  # calls of the store's kernel this driver took back
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # connected and restored

    @property
    def agi_port(self) -> int | None:
        return self.agi_server.port if self.agi_server is not None else None


class _AudioSocketPort:
    """The AudioSocket listener as the ARI driver's `MediaPort`: the address it gives
    Asterisk in each externalMedia request."""

    def __init__(self, server: AudioSocketServer, host: str) -> None:
        self._server = server
        self._host = host

    @property
    def external_host(self) -> str:
        _, port = self._server.local_address
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{host}:{port}"

    def expect(self, call_id: str) -> str:
        return self._server.expect(call_id)

    def forget(self, call_id: str) -> None:
        self._server.forget(call_id)


class Telephony:
    """Every Asterisk server's drivers on one runtime; see the module docstring."""

    def __init__(self, options: TelephonyOptions, runtime: CentreRuntime, *,
                 seats: Iterable[str]) -> None:
        self.options = options
        self.runtime = runtime
        self.seats = frozenset(seats)  # the centre's seat endpoints (PJSIP/8001, ...)
        self.links: list[AsteriskLink] = []
        self.presence: SoftphonePresence | None = (
            SoftphonePresence() if any(s.ami for s in options.servers) else None
        )
        self.speech: SpeechService | None = None
        self.media: AudioSocketServer | None = None
        self.spoken: SpokenPrompts | None = None
        self._warming: asyncio.Task[Any] | None = None
        self._failure: asyncio.Future[TelephonyFailure] | None = None
        self._restored: Restored | None = None

    # --- start ------------------------------------------------------------------------

    async def start(self, restored: Restored | None) -> None:
        """Bind the listeners (FastAGI, AudioSocket) and start connecting to every
        server; the kernel's restored calls are taken back on each first connect.
        Raises OSError when a port is taken, `ModelUnavailable` for a missing model."""
        self._failure = asyncio.get_running_loop().create_future()
        self._restored = restored
        router: MediaRouter | None = None
        asr = self.options.asr
        try:
            spoken = self.options.spoken
            if spoken is not None and self.options.prompts is not None:
                # Reads the recordings' presence from disk: off the loop.
                self.spoken = await asyncio.to_thread(
                    SpokenPrompts.from_catalogue, self.options.prompts, spoken,
                    base=self.options.config_dir)
            if asr is not None and asr.models:
                self.speech = SpeechService(asr)
                await self.speech.start()
                router = MediaRouter()
                self.media = await AudioSocketServer.start(router, self.options.media_host,
                                                           self.options.media_port)
            for index, server in enumerate(self.options.servers):
                link = self._attach_server(server, index == 0, router)
                self.links.append(link)
                if link.agi_server is not None:
                    await link.agi_server.start()
        except BaseException:
            await self.stop_intake()
            await self.close()
            raise
        for link in self.links:
            link.stream.start()
            link.task = asyncio.create_task(self._run(link), name=f"ari-{link.server.name}")
        if self.spoken is not None and self.options.prompts is not None:
            # The common numbers rendered ahead, one at a time beside live callers.
            catalogue = self.options.prompts
            languages = sorted({lang for pid in catalogue.ids()
                                for lang in catalogue.languages_of(pid)})
            self._warming = asyncio.create_task(
                self.spoken.warm(announcement_prompts(catalogue, languages)),
                name="spoken-prompts-warm")

    def _attach_server(self, server: AsteriskServer, first: bool,
                       router: MediaRouter | None) -> AsteriskLink:
        options = self.options
        password = server.ari_password.get_secret_value() if server.ari_password else ""
        config = replace(options.ari, base_url=server.ari_url, app=server.ari_app,
                         username=server.ari_user, password=password)
        client = AriClient(config)
        handoffs = HandOffs()
        bridge: SpeechBridge | None = None
        media: _AudioSocketPort | None = None

        async def post_speech(outcome: SpeechOutcome) -> None:
            # Through the driver (bound below): a barge-in stops its prompt first.
            await driver.post_speech(outcome)

        if self.speech is not None and router is not None and self.media is not None:
            bridge = SpeechBridge(self.speech, router, self.runtime.clock, post_speech)
            media = _AudioSocketPort(self.media, options.media_host)
        several = len(self.options.servers) > 1
        presence = self.presence
        driver = AriDriver(client, replace(options.ari_driver, server=server.name),
                           clock=self.runtime.clock, speech=bridge, media=media,
                           handoffs=handoffs, spoken=self.spoken,
                           seat_server=presence.server_of if several and presence else None)
        # The first server places callback dials (a callback outlives its call's owner).
        link = self.runtime.attach(f"ari-{server.name}", driver, dialler=first)
        if not several:
            link.claim_endpoints(sorted(self.seats))
        stream = AriEventStream(config, client)
        result = AsteriskLink(server, client, stream, driver, link, handoffs, bridge)
        if server.agi_port is not None:
            agi_driver = AgiDriver(
                now=self.runtime.clock.now, handoffs=handoffs, spoken=self.spoken,
                settings=replace(options.agi_driver, call_id_prefix=driver.call_id_of("")),
            )
            agi_driver.bind(self.runtime.attach(f"agi-{server.name}", agi_driver))
            agi_server = AgiServer(agi_driver.handle, replace(
                options.agi, host=server.agi_host, port=server.agi_port))
            result.agi_driver = agi_driver
            result.agi_server = agi_server
        if server.ami and server.ami_secret is not None:
            ami = replace(options.ami, username=server.ami_user,
                          secret=server.ami_secret.get_secret_value(),
                          host=server.ami_address, port=server.ami_port)
            result.ami_task = asyncio.create_task(self._follow_presence(result, ami),
                                                  name=f"ami-{server.name}")
        elif len(self.options.servers) > 1:
            log.warning("Asterisk %s has no AMI secret: its softphones' registrations are "
                        "unknown, so its seats are rung by whichever server brought the "
                        "call in", server.name)
        return result

    # --- ARI ----------------------------------------------------------------------------

    async def _run(self, link: AsteriskLink) -> None:
        name = link.server.name
        try:
            await link.driver.run(link.link, self._restoring(link))
        except ApplicationTakenOverError:
            self._fail(TelephonyFailure(
                f"the ARI application {link.server.ari_app!r} on Asterisk {name} "
                f"({link.server.ari_url}) was taken over by another client; stopping rather "
                "than fight it (is a second hotline serve running for this centre?)",
                EXIT_TAKEN_OVER))
            return
        except Exception as exc:  # a bug in the stream or driver: stop, loudly
            log.exception("the ARI driver for %s failed", name)
            self._fail(TelephonyFailure(f"the ARI driver for {name} failed: {exc!r}",
                                        EXIT_TELEPHONY_FAILED))
            return
        self._fail(TelephonyFailure(f"the ARI event stream of {name} ended",
                                    EXIT_TELEPHONY_FAILED))

    async def _restoring(self, link: AsteriskLink) -> AsyncIterator[StreamItem]:
        """The stream, with the store's calls taken back on the first connect: the
        channels are listed once the websocket is up, so no hang-up falls between the
        listing and the first event (events wait in the stream meanwhile). A listing
        that failed is tried again at the next connect (the driver skips calls it knows)."""
        async for item in link.stream:
            if isinstance(item, Connected) and not link.ready.is_set():
                kernel, waiting = self._to_restore(link)
                if kernel is not None and waiting:
                    link.restored = await link.driver.restore(
                        kernel, waiting, self.runtime.router, link.link.name)
                    if link.restored:
                        log.info("Asterisk %s: %d call(s) of the restored centre taken "
                                 "back", link.server.name, link.restored)
                if not waiting or link.restored:
                    link.ready.set()
            yield item

    def _to_restore(self, link: AsteriskLink) -> tuple[CentreKernel | None, tuple[str, ...]]:
        """The restored kernel and those of its live calls of this server it still holds."""
        restored = self._restored
        if restored is None:
            return None, ()
        prefix = link.driver.call_id_of("")
        kernel = restored.kernel
        return kernel, tuple(call for call in restored.live_calls
                             if call.startswith(prefix) and kernel.stage(call) is not None)

    def _fail(self, failure: TelephonyFailure) -> None:
        if self._failure is not None and not self._failure.done():
            log.critical("%s", failure.reason)
            self._failure.set_result(failure)

    async def failed(self) -> TelephonyFailure:
        """Returns only when the centre must stop (an ARI application taken over)."""
        assert self._failure is not None, "start() first"
        return await asyncio.shield(self._failure)

    async def ready(self) -> None:
        """Every server connected once (and took its restored calls back)."""
        for link in self.links:
            await link.ready.wait()

    # --- AMI presence -----------------------------------------------------------------

    async def _follow_presence(self, link: AsteriskLink, settings: AmiSettings) -> None:
        """Log in (again and again while AMI is unreachable), then follow presence; the
        client reconnects by itself afterwards and the monitor resyncs each time."""
        name = link.server.name
        delay = self.options.ami_retry_s
        while True:
            client = AmiClient(settings)
            monitor = PresenceMonitor(client, lambda change: self._on_presence(link, change))
            try:
                await client.connect()
                await monitor.start()
            except (AmiError, OSError) as exc:
                log.warning("AMI of Asterisk %s (%s:%d) not available: %s; seat presence "
                            "unknown, retrying in %.0f s", name, settings.host, settings.port,
                            exc, delay)
                await monitor.stop()
                await client.close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.options.ami_retry_max_s)
                continue
            link.ami, link.monitor = client, monitor
            return

    def _on_presence(self, link: AsteriskLink, change: SeatPresence) -> None:
        presence = self.presence
        if presence is None:
            return
        before = presence.server_of(change.endpoint)
        presence.update(link.server.name, change)
        after = presence.server_of(change.endpoint)
        if len(self.links) > 1 and change.endpoint in self.seats and after != before:
            # Each call's own driver rings the seat, through the trunk to `after` when
            # that is another server (`AriDriver.dial_string`).
            log.info("seat %s registered on Asterisk %s", change.endpoint, after)

    # --- stop ---------------------------------------------------------------------------

    async def stop_intake(self) -> None:
        """No new calls: the FastAGI listeners close (running calls get their grace),
        the event websockets close, presence stops. REST stays up for the kernel's
        last commands."""
        for link in self.links:
            if link.agi_server is not None:
                await link.agi_server.stop()
        for link in self.links:
            for task in (link.task, link.ami_task):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await link.stream.aclose()
            if link.monitor is not None:
                await link.monitor.stop()

    async def close(self) -> None:
        """After the runtime stopped: pending requests finish, connections close."""
        for link in self.links:
            await link.driver.aclose()
            if link.agi_driver is not None:
                await link.agi_driver.aclose()
            if link.bridge is not None:
                await link.bridge.aclose()
            await link.client.aclose()
            if link.ami is not None:
                await link.ami.close()
        if self.media is not None:
            await self.media.aclose()
        if self.speech is not None:
            await self.speech.aclose()
        if self._warming is not None:
            self._warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warming
        if self.spoken is not None:
            await self.spoken.aclose()


__all__ = [
    "EXIT_TAKEN_OVER",
    "AsteriskLink",
    "SoftphonePresence",
    "Telephony",
    "TelephonyFailure",
    "TelephonyOptions",
]
