"""The ARI event websocket, supervised.

The packaged ARI clients (ari-py, aioari, asyncari) either die or go silent when the
event websocket drops, and none notices a half-open socket. This supervisor instead:

- reconnects with bounded exponential backoff plus jitter;
- after every (re)connect yields `Connected`: Asterisk keeps no events for a
  disconnected app (README fact 13), so the driver must reconcile then
  (`GET /channels`, `/bridges`, `/applications/{app}`);
- compares `/asterisk/info` `startup_time` across connects and yields
  `AsteriskRestarted` (a restart drops the TCP connection with no close frame, 1006,
  fact 16) so every channel can be settled;
- on `ApplicationReplaced` (another socket took the app; ours would stay open but
  deaf, fact 14) yields `ApplicationTakenOver`, logs an error and stops for good;
- notices a dead socket by a missed pong (websockets keepalive), never freezes;
- measures the time without a websocket: channels that enter the app meanwhile are
  hung up by Asterisk, so a gap is logged as an alert and reported in `Connected`.

Consume everything, in order, from one async iterator:

    async with AriEventStream(config, client) as stream:
        async for item in stream:
            ...  # AriEvent | Connected | Disconnected | AsteriskRestarted | ...
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from hotline.telephony.ari.config import AriConfig
from hotline.telephony.ari.events import ApplicationReplaced, AriEvent, parse_frame
from hotline.telephony.ari.rest import AriClient, AriError

_log = logging.getLogger(__name__)


class StreamState(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKING_OFF = "backing_off"
    TAKEN_OVER = "taken_over"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Connected:
    """The websocket is (re)connected: reconcile with GET /channels, /bridges,
    /applications/{app} now. `gap_seconds` is None on the first connect."""

    attempt: int
    startup_time: str
    gap_seconds: float | None


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The websocket closed; events are being lost until the next `Connected`."""

    code: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class AsteriskRestarted:
    """`startup_time` changed: every channel we knew is gone; settle them all."""

    previous_startup_time: str
    startup_time: str


@dataclass(frozen=True, slots=True)
class ApplicationTakenOver:
    """Another websocket owns the app now. We stopped; an operator must look."""

    application: str


StreamItem = AriEvent | Connected | Disconnected | AsteriskRestarted | ApplicationTakenOver


@dataclass(frozen=True, slots=True)
class _End:
    error: BaseException | None = None


def backoff_delay(
    attempt: int, *, initial: float, maximum: float, jitter: float, rng: random.Random
) -> float:
    """Exponential delay for the n-th consecutive failure (n >= 1), capped, with the
    `jitter` fraction drawn at random so many bridges do not reconnect in lockstep."""
    base = min(maximum, initial * 2.0 ** max(0, attempt - 1))
    spread: float = base * jitter * rng.random()
    return base * (1.0 - jitter) + spread


class AriEventStream:
    """Supervised event websocket for one ARI application (see module docstring)."""

    def __init__(
        self,
        config: AriConfig,
        client: AriClient,
        *,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._client = client
        self._rng = rng or random.Random()
        self._monotonic = monotonic
        self._queue: asyncio.Queue[StreamItem | _End] = asyncio.Queue(config.queue_size)
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._state = StreamState.IDLE
        self._startup_time: str | None = None
        self._down_since: float | None = None
        self._connects = 0
        self._ended = False

    # -- public ---------------------------------------------------------------------

    @property
    def state(self) -> StreamState:
        return self._state

    @property
    def connects(self) -> int:
        return self._connects

    def seconds_without_websocket(self) -> float | None:
        """How long the app has had no websocket (None while connected)."""
        if self._down_since is None:
            return None
        return self._monotonic() - self._down_since

    def start(self) -> None:
        if self._task is None:
            self._down_since = self._monotonic()
            self._task = asyncio.create_task(self._run(), name=f"ari-events-{self._config.app}")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._state is not StreamState.TAKEN_OVER:
            self._state = StreamState.CLOSED

    async def __aenter__(self) -> AriEventStream:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AriEventStream:
        return self

    async def __anext__(self) -> StreamItem:
        if self._ended:
            raise StopAsyncIteration
        item = await self._queue.get()
        if isinstance(item, _End):
            self._ended = True
            if item.error is not None:
                raise item.error
            raise StopAsyncIteration
        return item

    # -- the supervisor -------------------------------------------------------------

    async def _run(self) -> None:
        try:
            failures = 0
            while True:
                self._state = StreamState.CONNECTING
                connected = await self._session()
                if self._state is StreamState.TAKEN_OVER:
                    await self._queue.put(_End())
                    return
                failures = 0 if connected else failures + 1
                self._state = StreamState.BACKING_OFF
                delay = backoff_delay(
                    max(1, failures),
                    initial=self._config.backoff_initial,
                    maximum=self._config.backoff_max,
                    jitter=self._config.backoff_jitter,
                    rng=self._rng,
                )
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # hand a bug to the consumer rather than go silent
            _log.exception("ARI event stream crashed")
            await self._queue.put(_End(exc))
        finally:
            await self._close_ws()

    def _auth_header(self) -> dict[str, str]:
        token = f"{self._config.username}:{self._config.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(token).decode("ascii")}

    async def _session(self) -> bool:
        """Connect, report, pump frames until the socket dies. True if it connected."""
        url = self._config.events_url
        try:
            self._ws = await connect(
                url,
                additional_headers=self._auth_header(),
                open_timeout=self._config.connect_timeout,
                ping_interval=self._config.ping_interval,
                ping_timeout=self._config.ping_timeout,
                close_timeout=self._config.close_timeout,
                max_size=2**24,
            )
        except InvalidStatus as exc:
            code = exc.response.status_code
            level = logging.ERROR if code in (401, 403) else logging.WARNING
            _log.log(level, "ARI websocket %s refused: HTTP %d", url, code)
            return False
        except (OSError, TimeoutError, WebSocketException) as exc:
            _log.warning("ARI websocket %s unreachable: %s", url, type(exc).__name__)
            return False
        # Ask for startup_time only once the socket is up, so no restart can slip
        # between the two and no event is missed before the resync signal.
        try:
            info = await self._client.asterisk_status()
        except AriError as exc:
            _log.warning("ARI websocket up but /asterisk/info failed: %s", exc)
            await self._close_ws()
            return False
        self._connects += 1
        gap = self.seconds_without_websocket() if self._connects > 1 else None
        self._down_since = None
        self._state = StreamState.CONNECTED
        previous, self._startup_time = self._startup_time, info.startup_time
        if previous is not None and previous != info.startup_time:
            _log.error(
                "Asterisk restarted (startup_time %s -> %s): its channels are gone",
                previous,
                info.startup_time,
            )
            await self._queue.put(AsteriskRestarted(previous, info.startup_time))
        if gap is not None:
            _log.error(
                "ARI app %r had no websocket for %.3f s: calls sent to it meanwhile were "
                "hung up by Asterisk and their events lost; resyncing",
                self._config.app,
                gap,
            )
        else:
            _log.info("ARI websocket connected for app %r", self._config.app)
        await self._queue.put(Connected(self._connects, info.startup_time, gap))
        await self._pump()
        return True

    async def _pump(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            async for frame in ws:
                event = parse_frame(frame)
                if event is None:
                    continue
                if isinstance(event, ApplicationReplaced):
                    await self._queue.put(event)
                    await self._taken_over()
                    return
                await self._queue.put(event)
        except ConnectionClosed:
            pass  # reported below with the close code
        code = ws.close_code if ws.close_code is not None else 1006
        reason = ws.close_reason or ""
        self._down_since = self._monotonic()
        _log.warning("ARI websocket closed (code %s %r); reconnecting", code, reason)
        await self._close_ws()
        await self._queue.put(Disconnected(code, reason))

    async def _taken_over(self) -> None:
        self._state = StreamState.TAKEN_OVER
        self._down_since = self._monotonic()
        _log.critical(
            "ARI app %r was taken over by another websocket (ApplicationReplaced); "
            "this bridge stopped listening and will not reconnect",
            self._config.app,
        )
        await self._close_ws()
        await self._queue.put(ApplicationTakenOver(self._config.app))

    async def _close_ws(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
