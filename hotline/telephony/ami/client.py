"""Thin asyncio adapter over the AMI codec: login, actions, lists, events, keepalive.

One connection per client. A reader task owns the socket's input and dispatches
responses by ActionID (Asterisk interleaves answers and events in any order); a pinger
detects a silent dead peer; a supervisor reconnects with capped exponential backoff and
jitter and logs in again. Nothing here blocks the loop; nothing logs the secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import os
import random
import secrets
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from hotline.telephony.ami.codec import (
    DEFAULT_MAX_MESSAGE_BYTES,
    AmiDecoder,
    Banner,
    Event,
    Fields,
    Response,
    Role,
    check_key,
    check_value,
    encode_action,
)
from hotline.telephony.ami.errors import (
    AmiActionError,
    AmiConfigError,
    AmiConnectionLost,
    AmiError,
    AmiLoginError,
    AmiProtocolError,
    AmiTimeoutError,
    EventsLost,
    UnsafeActionError,
)

log = logging.getLogger(__name__)

SECRET_ENV = "HOTLINE_AMI_SECRET"
NO_CONTACTS_MESSAGE = "No Contacts found"
_READ_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class AmiSettings:
    """Where and how to talk AMI. The secret never appears in repr or logs."""

    username: str
    secret: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 5038
    connect_timeout: float = 5.0
    login_timeout: float = 5.0  # a refused login is answered after about 1 s
    action_timeout: float = 5.0
    ping_interval: float = 20.0
    ping_timeout: float = 5.0
    reconnect_initial_delay: float = 0.5
    reconnect_max_delay: float = 30.0
    event_queue_size: int = 1000
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    @classmethod
    def from_environment(
        cls, username: str, *, environ: Mapping[str, str] | None = None, **options: object
    ) -> AmiSettings:
        """Settings whose secret comes from ``HOTLINE_AMI_SECRET`` (never from config)."""
        env = os.environ if environ is None else environ
        secret = env.get(SECRET_ENV)
        if not secret:
            raise AmiConfigError(f"the AMI secret is not set: export {SECRET_ENV}")
        return cls(username, secret, **options)  # type: ignore[arg-type]


class ConnectionState(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ListResult:
    """A list action: its ``Success`` response, the items, and the ``...Complete`` event
    (None when Asterisk answered an empty list with an error, as PJSIPShowContacts does)."""

    response: Response
    items: tuple[Event, ...]
    complete: Event | None


@dataclass(frozen=True, slots=True)
class OriginateResult:
    """The ``OriginateResponse`` of an async Originate. ``reason`` is Asterisk's control
    frame number: 4 answered, 5 busy, 8 congestion, 3 rang without answer, 0 failed."""

    success: bool
    reason: int
    channel: str
    uniqueid: str
    event: Event


class _Kind(enum.Enum):
    SINGLE = "single"
    LIST = "list"
    ORIGINATE = "originate"


@dataclass(slots=True)
class _Pending:
    name: str
    kind: _Kind
    future: asyncio.Future[object]
    response: Response | None = None
    items: list[Event] = field(default_factory=list)


class EventSubscription:
    """Async iterator over live events with a bounded queue that never blocks the reader.

    When the queue is full new events are dropped; once the queued ones are read, the next
    read raises `EventsLost` once (then iteration goes on): the consumer resynchronises.
    """

    def __init__(self, owner: AmiClient, maxsize: int, names: frozenset[str] | None) -> None:
        self._owner = owner
        self._queue: deque[Event] = deque()
        self._maxsize = maxsize
        self._names = names
        self._lost = 0
        self._closed = False
        self._wakeup = asyncio.Event()

    def _offer(self, event: Event) -> None:
        if self._closed or (self._names is not None and event.name.lower() not in self._names):
            return
        if len(self._queue) >= self._maxsize:
            self._lost += 1
        else:
            self._queue.append(event)
        self._wakeup.set()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._owner._subscriptions.discard(self)
            self._wakeup.set()

    def __aiter__(self) -> EventSubscription:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._queue:
                return self._queue.popleft()
            if self._lost:  # the gap comes after the events still queued
                lost, self._lost = self._lost, 0
                raise EventsLost(lost)
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    async def __aenter__(self) -> EventSubscription:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


SessionListener = Callable[[int], None]


class _Connection:
    """One TCP session: its streams, decoder and reader task."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_bytes: int
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = AmiDecoder(Role.CLIENT, max_message_bytes=max_bytes)
        self.banner: asyncio.Future[Banner] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await self.writer.wait_closed()
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


class AmiClient:
    """AMI client. ``await connect()`` once; it then stays connected until ``close()``."""

    def __init__(self, settings: AmiSettings, *, rng: random.Random | None = None) -> None:
        self.settings = settings
        self._rng = rng or random.Random()
        self._prefix = f"hl-{secrets.token_hex(4)}"
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._subscriptions: set[EventSubscription] = set()
        self._listeners: list[SessionListener] = []
        self._conn: _Connection | None = None
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()
        self._state = ConnectionState.IDLE
        self._supervisor: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None
        self._sessions = 0
        self._closing = False
        self.banner: Banner | None = None

    # -- lifecycle ------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def sessions(self) -> int:
        """How many successful logins so far (1 after connect, +1 per reconnect)."""
        return self._sessions

    def on_session(self, listener: SessionListener) -> None:
        """Call ``listener(session_number)`` after every successful (re-)login; events of
        a gap are lost, so consumers resynchronise here."""
        self._listeners.append(listener)

    async def connect(self) -> None:
        """Open, read the banner, log in; then keep the session alive in the background.
        Raises `AmiLoginError`, `AmiTimeoutError` or `OSError` on the first attempt."""
        if self._state is not ConnectionState.IDLE:
            raise AmiError(f"connect() in state {self._state.value}")
        self._state = ConnectionState.CONNECTING
        try:
            await self._open_session()
        except BaseException:
            self._state = ConnectionState.CLOSED
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name="ami-supervisor")

    async def close(self) -> None:
        if self._state is ConnectionState.CLOSED or self._closing:
            return
        self._closing = True
        if self._state is ConnectionState.CONNECTED and self._conn is not None:
            with contextlib.suppress(AmiError, OSError):
                await self.send_action("Logoff", timeout=1.0)
        self._state = ConnectionState.CLOSED
        self._connected.clear()
        for task in (self._supervisor, self._pinger):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
        self._fail_pending(AmiConnectionLost("AMI client closed"))
        for sub in list(self._subscriptions):
            sub.close()

    async def __aenter__(self) -> AmiClient:
        await self.connect()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _open_session(self) -> None:
        s = self.settings
        # asyncio.timeout, not wait_for: before 3.12 wait_for can swallow a cancellation.
        try:
            async with asyncio.timeout(s.connect_timeout):
                reader, writer = await asyncio.open_connection(
                    s.host, s.port, limit=s.max_message_bytes
                )
        except TimeoutError as exc:
            raise AmiTimeoutError(f"no TCP connection to {s.host}:{s.port}") from exc
        conn = _Connection(reader, writer, s.max_message_bytes)
        self._conn = conn
        self._lost.clear()
        conn.task = asyncio.create_task(self._read_loop(conn), name="ami-reader")
        try:
            async with asyncio.timeout(s.login_timeout):
                self.banner = await conn.banner
            await self._request(
                conn,
                "Login",
                [("Username", s.username), ("Secret", s.secret)],
                _Kind.SINGLE,
                s.login_timeout,
            )
        except AmiActionError as exc:
            await self._drop(conn)
            raise AmiLoginError(
                f"Asterisk refused the AMI login of user {s.username!r}: {exc.message.strip()}"
            ) from None
        except TimeoutError as exc:
            await self._drop(conn)
            raise AmiTimeoutError(f"no AMI banner/login answer from {s.host}:{s.port}") from exc
        except BaseException:
            await self._drop(conn)
            raise
        if self._closing:
            await self._drop(conn)
            raise AmiConnectionLost("AMI client closed during login")
        self._sessions += 1
        self._state = ConnectionState.CONNECTED
        self._connected.set()
        self._pinger = asyncio.create_task(self._ping_loop(conn), name="ami-pinger")
        log.info("AMI connected to %s:%s as %s (%s)", s.host, s.port, s.username, self.banner)
        for listener in list(self._listeners):
            listener(self._sessions)

    async def _drop(self, conn: _Connection) -> None:
        if self._conn is conn:
            self._conn = None
        await conn.close()

    async def _supervise(self) -> None:
        attempt = 0
        while not self._closing:
            await self._lost.wait()
            self._connected.clear()
            if self._pinger is not None:
                self._pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._pinger
                self._pinger = None
            if self._conn is not None:
                await self._drop(self._conn)
            self._state = ConnectionState.RECONNECTING
            while True:
                delay = self.backoff_delay(attempt)
                attempt += 1
                log.warning("AMI connection lost; reconnecting in %.2f s", delay)
                await asyncio.sleep(delay)
                if self._closing:
                    return
                try:
                    await self._open_session()
                except (AmiError, OSError) as exc:
                    log.warning("AMI reconnect failed: %s", exc)
                    continue
                attempt = 0
                break

    def backoff_delay(self, attempt: int) -> float:
        """Capped exponential backoff with jitter in [50 %, 100 %] of the step, so many
        bridge workers do not reconnect to a restarted Asterisk in lockstep."""
        s = self.settings
        step: float = min(
            s.reconnect_max_delay, s.reconnect_initial_delay * 2.0 ** min(attempt, 30)
        )
        return step * (0.5 + 0.5 * self._rng.random())

    async def _ping_loop(self, conn: _Connection) -> None:
        s = self.settings
        while True:
            await asyncio.sleep(s.ping_interval)
            try:
                await self._request(conn, "Ping", (), _Kind.SINGLE, s.ping_timeout)
            except AmiTimeoutError:
                log.warning(
                    "AMI Ping unanswered in %.1f s; dropping the connection", s.ping_timeout
                )
                conn.writer.transport.abort()
                return
            except AmiError:
                return

    # -- reading --------------------------------------------------------------------

    async def _read_loop(self, conn: _Connection) -> None:
        reason: AmiError = AmiConnectionLost("Asterisk closed the AMI connection")
        try:
            while True:
                data = await conn.reader.read(_READ_SIZE)
                if not data:
                    break
                conn.decoder.receive_data(data)
                while (message := conn.decoder.next_message()) is not None:
                    self._dispatch(conn, message)
        except AmiProtocolError as exc:
            log.error("AMI protocol error, dropping the connection: %s", exc)
            reason = AmiConnectionLost(f"AMI protocol error: {exc}")
        except OSError as exc:
            reason = AmiConnectionLost(f"AMI connection error: {exc}")
        finally:
            if not conn.banner.done():
                conn.banner.set_exception(reason)
                conn.banner.exception()  # retrieved here so an unawaited one is not logged
            if self._conn is conn:
                self._connected.clear()
                self._fail_pending(reason)
                if self._state is ConnectionState.CONNECTED and not self._closing:
                    self._lost.set()

    def _dispatch(self, conn: _Connection, message: object) -> None:
        if isinstance(message, Banner):
            if not conn.banner.done():
                conn.banner.set_result(message)
            return
        if isinstance(message, Response):
            self._on_response(message)
        elif isinstance(message, Event):
            self._on_event(message)

    def _on_response(self, response: Response) -> None:
        action_id = response.action_id or ""
        pending = self._pending.get(action_id)
        if pending is None:
            log.debug("AMI response without a waiting action: %s", response.status)
            return
        if response.is_error:
            self._finish(action_id, pending, exc=AmiActionError(pending.name, response))
            return
        pending.response = response
        if pending.kind is _Kind.SINGLE:
            self._finish(action_id, pending, result=response)
        elif pending.kind is _Kind.LIST and not response.starts_list:
            self._finish(action_id, pending, result=ListResult(response, (), None))

    def _on_event(self, event: Event) -> None:
        action_id = event.action_id
        if action_id is not None and action_id.startswith(self._prefix + "-"):
            pending = self._pending.get(action_id)
            if pending is None:
                log.debug("late AMI %s for a finished action dropped", event.name)
                return
            if pending.kind is _Kind.ORIGINATE and event.name == "OriginateResponse":
                self._finish(action_id, pending, result=_originate_result(event))
            elif pending.kind is _Kind.LIST:
                if event.completes_list and pending.response is not None:
                    result = ListResult(pending.response, tuple(pending.items), event)
                    self._finish(action_id, pending, result=result)
                else:
                    pending.items.append(event)
            return
        for sub in list(self._subscriptions):
            sub._offer(event)

    def _finish(
        self,
        action_id: str,
        pending: _Pending,
        *,
        result: object = None,
        exc: BaseException | None = None,
    ) -> None:
        self._pending.pop(action_id, None)
        if pending.future.done():
            return
        if exc is not None:
            pending.future.set_exception(exc)
        else:
            pending.future.set_result(result)

    def _fail_pending(self, exc: AmiError) -> None:
        for action_id, pending in list(self._pending.items()):
            self._finish(action_id, pending, exc=type(exc)(str(exc)))

    # -- actions --------------------------------------------------------------------

    def _next_id(self) -> str:
        return f"{self._prefix}-{next(self._ids)}"

    async def _request(
        self, conn: _Connection, name: str, fields: Fields, kind: _Kind, timeout: float
    ) -> object:
        action_id = self._next_id()
        data = encode_action(name, action_id, fields)  # refuses injection before any I/O
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(name, kind, future)
        try:
            async with asyncio.timeout(timeout):
                conn.writer.write(data)
                await conn.writer.drain()
                return await future
        except TimeoutError:
            raise AmiTimeoutError(f"AMI {name} not answered within {timeout:g} s") from None
        except AmiError:
            raise
        except OSError as exc:
            raise AmiConnectionLost(f"AMI connection error: {exc}") from exc
        finally:
            self._pending.pop(action_id, None)

    async def _call(self, name: str, fields: Fields, kind: _Kind, timeout: float | None) -> object:
        if self._state in (ConnectionState.IDLE, ConnectionState.CLOSED):
            raise AmiConnectionLost(f"AMI client is {self._state.value}")
        limit = self.settings.action_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        # While reconnecting, wait for the session within the same time budget.
        try:
            async with asyncio.timeout(limit):
                await self._connected.wait()
        except TimeoutError:
            raise AmiTimeoutError(f"AMI {name}: not connected within {limit:g} s") from None
        conn = self._conn
        if conn is None:
            raise AmiConnectionLost("AMI connection lost")
        return await self._request(conn, name, fields, kind, max(0.0, deadline - loop.time()))

    async def send_action(
        self, name: str, fields: Fields = (), *, timeout: float | None = None
    ) -> Response:
        """Send one action and return its response; ``Response: Error`` raises
        `AmiActionError`."""
        result = await self._call(name, fields, _Kind.SINGLE, timeout)
        assert isinstance(result, Response)
        return result

    async def list_action(
        self,
        name: str,
        fields: Fields = (),
        *,
        timeout: float | None = None,
        empty_when: str | None = None,
    ) -> ListResult:
        """Run a list action and gather ``EventList: start`` ... ``...Complete`` into one
        result. ``empty_when`` names the error message that means "nothing to list"."""
        try:
            result = await self._call(name, fields, _Kind.LIST, timeout)
        except AmiActionError as exc:
            if empty_when is not None and exc.message.strip() == empty_when:
                return ListResult(exc.response, (), None)
            raise
        assert isinstance(result, ListResult)
        return result

    async def ping(self, *, timeout: float | None = None) -> Response:
        return await self.send_action("Ping", timeout=timeout)

    async def pjsip_endpoints(self, *, timeout: float | None = None) -> ListResult:
        return await self.list_action("PJSIPShowEndpoints", timeout=timeout)

    async def pjsip_contacts(self, *, timeout: float | None = None) -> ListResult:
        # With no registered contact Asterisk answers Response: Error, not an empty list.
        return await self.list_action(
            "PJSIPShowContacts", timeout=timeout, empty_when=NO_CONTACTS_MESSAGE
        )

    async def device_states(self, *, timeout: float | None = None) -> ListResult:
        return await self.list_action("DeviceStateList", timeout=timeout)

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        ring_timeout: float = 30.0,
        variables: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> OriginateResult:
        """Async Originate, matched by ActionID to its ``OriginateResponse``.

        Either ``context``+``exten`` or ``application`` (+``data``). Values with CR, LF or
        NUL are refused, and so are commas or ``=`` where Asterisk splits variables.
        """
        if (application is None) == (context is None or exten is None):
            raise ValueError("originate needs context+exten or an application")
        fields: list[tuple[str, str]] = [("Channel", channel)]
        if application is not None:
            fields.append(("Application", application))
            if data is not None:
                fields.append(("Data", data))
        else:
            assert context is not None and exten is not None
            fields += [("Context", context), ("Exten", exten), ("Priority", str(priority))]
        if caller_id is not None:
            fields.append(("CallerID", caller_id))
        fields.append(("Timeout", str(round(ring_timeout * 1000))))
        fields.append(("Async", "true"))
        for name, value in (variables or {}).items():
            check_key(name)
            check_value(name, value)
            if "=" in name or "," in name or "," in value:
                raise UnsafeActionError(f"originate variable {name!r}: ',' or '=' not allowed")
            fields.append(("Variable", f"{name}={value}"))
        for key, value in fields:
            check_value(key, value)
        limit = (self.settings.action_timeout if timeout is None else timeout) + ring_timeout
        result = await self._call("Originate", fields, _Kind.ORIGINATE, limit)
        assert isinstance(result, OriginateResult)
        return result

    # -- events ---------------------------------------------------------------------

    def events(
        self, *, names: set[str] | frozenset[str] | None = None, maxsize: int | None = None
    ) -> EventSubscription:
        """Subscribe to live events (optionally only ``names``); close it when done."""
        if self._state is ConnectionState.CLOSED:
            raise AmiConnectionLost("AMI client is closed")
        wanted = None if names is None else frozenset(n.lower() for n in names)
        sub = EventSubscription(self, maxsize or self.settings.event_queue_size, wanted)
        self._subscriptions.add(sub)
        return sub


def _originate_result(event: Event) -> OriginateResult:
    reason = event.get("Reason") or "0"
    return OriginateResult(
        success=(event.get("Response") or "").lower() == "success",
        reason=int(reason) if reason.isdigit() else 0,
        channel=event.get("Channel") or "",
        uniqueid=event.get("Uniqueid") or "",
        event=event,
    )
