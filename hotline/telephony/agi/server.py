"""The thin asyncio FastAGI server: one `AgiSession` per call over the sans-I/O codec.

Asterisk connects to us (`AGI(agi://127.0.0.1:4573/script?query)`), sends the
environment and then waits for commands. An `asyncio.Protocol` feeds the codec
directly, so an unsolicited `HANGUP` is seen the moment it arrives, with no reader task
per call. The application is a coroutine `handler(session)`, one task per call; when it
returns, fails or the caller has gone (plus a short grace), the socket is closed at once,
because Asterisk only tears the channel down when we close (trace fact 6).

A command costs one write and one future: the reply resolves it straight from
`data_received` (no reader task, no lock, no timer of its own: one timer per session
watches the deadline of the command on the wire).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from hotline.telephony.agi.codec import (
    NEED_DATA,
    AgiConnection,
    AgiEnvironment,
    ConnectionClosed,
    DeadChannel,
    HangupRequested,
    Reply,
    Result,
)
from hotline.telephony.agi.commands import (
    DTMF_DIGITS,
    AgiCommand,
    ChannelState,
    DigitsResult,
    PlaybackResult,
    RecordingResult,
    ascii_digit,
    command_line,
    describe,
)
from hotline.telephony.agi.errors import (
    AgiCommandError,
    AgiConnectionLost,
    AgiDeadChannel,
    AgiError,
    AgiProtocolError,
    AgiTimeout,
    UnsafeArgument,
)

__all__ = ["AgiHandler", "AgiServer", "AgiSession", "AgiSettings"]

log = logging.getLogger(__name__)

AgiHandler = Callable[["AgiSession"], Coroutine[Any, Any, None]]
# A command waiting for the one on the wire: its reply's future, name, line, timeout, and
# whether only a 200 reply will do.
_Queued = tuple["asyncio.Future[Any]", str, bytes, float, bool]


@dataclass(frozen=True, slots=True)
class AgiSettings:
    """FastAGI server settings (loopback by default; 4573 is the FastAGI port)."""

    host: str = "127.0.0.1"
    port: int = 4573
    # A quick command (ANSWER, GET VARIABLE, ...) answers in milliseconds.
    command_timeout_s: float = 10.0
    # STREAM FILE / EXEC last as long as their audio; commands with their own timeout
    # (GET DATA, WAIT FOR DIGIT, RECORD FILE) get it plus command_timeout_s.
    media_timeout_s: float = 600.0
    # A peer that connects but sends no environment is not Asterisk.
    environment_timeout_s: float = 10.0
    # After HANGUP the handler may still read variables; then we cancel it and close.
    hangup_grace_s: float = 1.0
    # On stop(): how long running calls may go on before they are cancelled.
    stop_grace_s: float = 5.0


def _check_digits(escape_digits: str) -> str:
    if any(ch not in DTMF_DIGITS for ch in escape_digits):
        raise UnsafeArgument(f"escape digits must be DTMF keys: {escape_digits!r}")
    return escape_digits


def _check_name(kind: str, value: str) -> str:
    if not value or value.isspace():
        raise UnsafeArgument(f"{kind} must not be empty")
    return value


class AgiSession:
    """One call's AGI link. Commands run one at a time (AGI is strictly
    request/reply); each typed helper sends one command and reads its reply. Commands
    from several tasks queue: each goes on the wire when the one before is answered,
    and its timeout counts from then.

    `hung_up` turns true on the unsolicited `HANGUP`, on a `511` reply, on our own
    successful `hangup()`, or when the socket closes; `wait_hung_up()` waits for it.

    Handing a call to the ARI application (the next step's driver): set what the
    queueing side needs as channel variables (`set_variable("HOTLINE_CALL_ID", ...)`,
    the chosen queue, the flow's answers), then `finish()`. Closing the socket without
    HANGUP ends AGI() with AGISTATUS=SUCCESS and the channel continues in the dialplan,
    whose next priority is `Stasis(<app>,...)`: the ARI driver gets StasisStart with
    those variables and takes the call from there.
    """

    def __init__(
        self,
        transport: asyncio.Transport,
        connection: AgiConnection,
        env: AgiEnvironment,
        settings: AgiSettings,
    ) -> None:
        self.env = env
        self.settings = settings
        self._loop = asyncio.get_running_loop()
        self._transport = transport
        self._conn = connection
        # The command on the wire (AGI has at most one: Asterisk reads the next line only
        # after answering, through a buffered reader that would strand a second one) and
        # the commands of other tasks waiting for their turn, in order.
        self._current: asyncio.Future[Any] | None = None
        self._current_strict = False  # its reply must be 200 (a typed helper's)
        self._queued: deque[_Queued] = deque()
        self._hung_up = asyncio.Event()
        self._closed = asyncio.Event()
        self._close_reason: AgiError | None = None
        # The command on the wire has a deadline. One timer per session watches it and
        # is moved only when a deadline comes earlier than the timer (`_put_on_wire`), so
        # a command costs no timer of its own.
        self._deadline = 0.0
        self._deadline_name = ""
        self._deadline_wait = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # -- state -------------------------------------------------------------------

    @property
    def hung_up(self) -> bool:
        return self._hung_up.is_set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_hung_up(self) -> None:
        await self._hung_up.wait()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # -- commands ----------------------------------------------------------------

    async def command(self, name: str, *args: str, timeout: float | None = None) -> Reply:
        """Send any command (`name` its words, `args` quoted safely) and return the raw
        reply, whatever its code. The typed helpers below are built on this."""
        reply: asyncio.Future[Reply] = self._loop.create_future()
        self._request(reply, name, command_line(name, args), timeout, strict=False)
        return await reply

    async def run(self, command: AgiCommand, *, timeout: float | None = None) -> Reply:
        """Send a command built with `commands.build`; return its raw reply."""
        reply: asyncio.Future[Reply] = self._loop.create_future()
        self._request(reply, command.name, command.line(), timeout, strict=False)
        return await reply

    def _result(self, name: str, *args: str, timeout: float | None = None
                ) -> asyncio.Future[Result]:
        """Send a command that must answer `200`; anything else fails the future with
        `AgiDeadChannel` (511) or `AgiCommandError`. (A future, not a coroutine: the
        typed helpers await it directly.)"""
        result: asyncio.Future[Result] = self._loop.create_future()
        self._request(result, name, command_line(name, args), timeout, strict=True)
        return result

    def _request(self, future: asyncio.Future[Any], name: str, line: bytes,
                 timeout: float | None, *, strict: bool) -> None:
        """Send `line` now, or queue it behind the command on the wire; `future` gets
        the reply."""
        if self._transport.is_closing():  # also true once the connection is lost
            raise AgiConnectionLost(f"{name}: session closed") from self._close_reason
        wait = self.settings.command_timeout_s if timeout is None else timeout
        if self._current is None:
            self._put_on_wire(future, name, line, wait, strict)
        else:
            # Another task's command is running: this one goes out when it is answered.
            self._queued.append((future, name, line, wait, strict))

    def _put_on_wire(self, future: asyncio.Future[Any], name: str, line: bytes, wait: float,
                     strict: bool) -> None:
        self._transport.write(self._conn.send(line))
        self._current = future
        self._current_strict = strict
        # The deadline counts from the moment Asterisk has the command.
        deadline = self._loop.time() + wait
        self._deadline = deadline
        self._deadline_name = name
        self._deadline_wait = wait
        timer = self._timer
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(deadline, self._on_timer, deadline)

    def _next_command(self) -> None:
        """Put the next waiting command on the wire (skipping those given up)."""
        while self._queued:
            future, name, line, wait, strict = self._queued.popleft()
            if future.done():  # its task was cancelled while it waited: never sent
                continue
            try:
                self._put_on_wire(future, name, line, wait, strict)
            except AgiProtocolError as exc:  # the codec has failed: so does every waiter
                future.set_exception(exc)
                continue
            return

    def _on_timer(self, when: float) -> None:
        self._timer = None
        future = self._current
        if future is None:
            return  # idle: the next command arms it again
        if self._deadline > when:
            # Later commands moved the deadline on: look again then.
            self._timer = self._loop.call_at(self._deadline, self._on_timer, self._deadline)
            return
        error = AgiTimeout(f"{self._deadline_name}: no reply within {self._deadline_wait} s")
        if not future.done():
            future.set_exception(error)
        # The reply may still come and would be taken for the next command's.
        self._abort(error)

    async def answer(self) -> None:
        result = await self._result("ANSWER")
        if result.as_int() < 0:
            raise AgiCommandError("ANSWER", result, "answer failed")

    async def stream_file(
        self,
        file: str,
        escape_digits: str = "",
        offset: int | None = None,
        *,
        timeout: float | None = None,
    ) -> PlaybackResult:
        args = [_check_name("file", file), _check_digits(escape_digits)]
        if offset is not None:
            args.append(str(int(offset)))
        limit = self.settings.media_timeout_s if timeout is None else timeout
        result = await self._result("STREAM FILE", *args, timeout=limit)
        return PlaybackResult.from_reply(result)

    async def get_data(
        self,
        file: str,
        timeout_ms: int = 5000,
        max_digits: int = 20,
        *,
        timeout: float | None = None,
    ) -> DigitsResult:
        """Play `file` and collect up to `max_digits` keys; `#` ends early."""
        if not 1 <= max_digits <= 1023:
            raise UnsafeArgument("max_digits must be 1..1023")
        if timeout_ms < 0:
            raise UnsafeArgument("timeout_ms must be >= 0")
        limit = self.settings.media_timeout_s if timeout is None else timeout
        result = await self._result(
            "GET DATA", _check_name("file", file), str(timeout_ms), str(max_digits), timeout=limit
        )
        if result.result == "-1":
            raise AgiCommandError("GET DATA", result, "failed (channel hung up?)")
        return DigitsResult.from_reply(result)

    async def wait_for_digit(self, timeout_ms: int, *, timeout: float | None = None) -> str | None:
        """One key, or None after `timeout_ms` (-1 waits for ever)."""
        if timeout_ms < -1:
            raise UnsafeArgument("timeout_ms must be >= -1")
        limit = timeout
        if limit is None:
            limit = (
                self.settings.media_timeout_s
                if timeout_ms < 0
                else timeout_ms / 1000 + self.settings.command_timeout_s
            )
        result = await self._result("WAIT FOR DIGIT", str(timeout_ms), timeout=limit)
        if result.as_int() < 0:
            raise AgiCommandError("WAIT FOR DIGIT", result, "failed (channel hung up?)")
        return ascii_digit(result)

    async def _say(self, name: str, what: str, escape_digits: str) -> str | None:
        result = await self._result(
            name, what, _check_digits(escape_digits), timeout=self.settings.media_timeout_s
        )
        if result.as_int() < 0:
            raise AgiCommandError(name, result, "failed (channel hung up?)")
        return ascii_digit(result)

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        if not digits or not digits.isascii() or not digits.isdigit():
            raise UnsafeArgument(f"SAY DIGITS takes digits: {digits!r}")
        return await self._say("SAY DIGITS", digits, escape_digits)

    async def say_number(self, number: int, escape_digits: str = "") -> str | None:
        return await self._say("SAY NUMBER", str(int(number)), escape_digits)

    async def say_alpha(self, text: str, escape_digits: str = "") -> str | None:
        return await self._say("SAY ALPHA", _check_name("text", text), escape_digits)

    async def record_file(
        self,
        file: str,
        format: str = "wav",
        escape_digits: str = "#",
        timeout_ms: int = 60_000,
        *,
        beep: bool = False,
        silence_s: int | None = None,
        timeout: float | None = None,
    ) -> RecordingResult:
        args = [_check_name("file", file), _check_name("format", format)]
        args += [_check_digits(escape_digits), str(int(timeout_ms))]
        if beep or silence_s is not None:
            args.append("0")  # the sample offset comes first, positionally
        if beep:
            args.append("BEEP")
        if silence_s is not None:
            args.append(f"s={int(silence_s)}")
        limit = timeout_ms / 1000 + self.settings.command_timeout_s if timeout is None else timeout
        result = await self._result("RECORD FILE", *args, timeout=limit)
        return RecordingResult.from_reply(result)

    async def set_variable(self, name: str, value: str) -> None:
        await self._result("SET VARIABLE", _check_name("variable name", name), value)

    async def get_variable(self, name: str) -> str | None:
        """A channel variable or function read (`CHANNEL(state)`); None when unset."""
        result = await self._result("GET VARIABLE", _check_name("variable name", name))
        return result.value if result.result == "1" else None

    async def get_full_variable(self, expression: str) -> str | None:
        """Evaluate a dialplan expression (`${CALLERID(num)}`). Never pass caller text:
        Asterisk evaluates functions in it."""
        result = await self._result("GET FULL VARIABLE", _check_name("expression", expression))
        return result.value if result.result == "1" else None

    async def exec_(self, app: str, *args: str, timeout: float | None = None) -> int:
        """Run a dialplan application; its arguments are joined with `,` (so an element
        holding `,` is refused: it would become another argument). Returns the app's
        result; an unknown application raises `AgiCommandError`."""
        if not app.isascii() or not app.replace("_", "").isalnum():
            raise UnsafeArgument(f"not an application name: {app!r}")
        if any("," in a for a in args):
            raise UnsafeArgument("an application argument must not contain ','")
        limit = self.settings.media_timeout_s if timeout is None else timeout
        words = (app, ",".join(args)) if args else (app,)
        result = await self._result("EXEC", *words, timeout=limit)
        code = result.as_int()
        if code == -2:
            raise AgiCommandError("EXEC", result, f"application {app} not found")
        return code

    async def verbose(self, message: str, level: int = 1) -> None:
        await self._result("VERBOSE", message, str(int(level)))

    async def noop(self, text: str = "") -> None:
        await self._result("NOOP", *((text,) if text else ()))

    async def channel_status(self) -> ChannelState:
        result = await self._result("CHANNEL STATUS")
        code = result.as_int()
        if code < 0:
            raise AgiCommandError("CHANNEL STATUS", result, "no such channel")
        try:
            return ChannelState(code)
        except ValueError:
            raise AgiProtocolError(f"unknown channel state {code}") from None

    async def hangup(self) -> None:
        """Hang the channel up; then `finish()` (the server does it when the handler
        returns)."""
        result = await self._result("HANGUP")
        if result.as_int() != 1:
            raise AgiCommandError("HANGUP", result, "hangup failed")
        self._hung_up.set()

    async def finish(self) -> None:
        """End AGI: close the socket now. The channel goes on in the dialplan if it is
        still up (the hand-off), or is torn down if it has hung up."""
        self._abort(None)
        await self._closed.wait()

    # -- called by the protocol ----------------------------------------------------

    def _abort(self, reason: AgiError | None) -> None:
        if self._close_reason is None:
            self._close_reason = reason
        self._transport.close()

    def _on_hangup(self) -> None:
        self._hung_up.set()

    def _on_reply(self, reply: Reply) -> None:
        future = self._current  # the codec checked that a command is outstanding
        self._current = None
        dead = isinstance(reply, DeadChannel)
        if dead:
            self._hung_up.set()
        if future is not None and not future.done():
            if not self._current_strict or isinstance(reply, Result):
                future.set_result(reply)
            else:
                name = self._deadline_name
                failure = AgiDeadChannel if dead else AgiCommandError
                future.set_exception(failure(name, reply, describe(reply)))
        if self._queued:
            self._next_command()

    def _on_closed(self, error: AgiError | None) -> None:
        if self._close_reason is None:
            self._close_reason = error
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._hung_up.set()
        self._closed.set()
        waiting = [self._current] if self._current is not None else []
        waiting += [queued[0] for queued in self._queued]
        self._current = None
        self._queued.clear()
        for future in waiting:
            if not future.done():
                lost = AgiConnectionLost("connection closed before the reply")
                lost.__cause__ = error
                future.set_exception(lost)


class _AgiProtocol(asyncio.Protocol):
    """Bytes in -> codec -> session. Creates the session when the environment is in."""

    def __init__(self, server: AgiServer) -> None:
        self._server = server
        self._conn = AgiConnection()
        self._transport: asyncio.Transport | None = None
        self._session: AgiSession | None = None
        self._early_hangup = False
        self._env_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        loop = asyncio.get_running_loop()
        self._env_timer = loop.call_later(
            self._server.settings.environment_timeout_s, self._no_environment
        )

    def _no_environment(self) -> None:
        if self._session is None and self._transport is not None:
            log.warning("AGI peer sent no environment in time; closing")
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        self._feed(data)

    def eof_received(self) -> bool | None:
        self._feed(b"")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._env_timer is not None:
            self._env_timer.cancel()
        if self._session is not None:
            self._session._on_closed(AgiConnectionLost(str(exc)) if exc else None)

    def _feed(self, data: bytes) -> None:
        assert self._transport is not None
        try:
            self._conn.receive_data(data)
            while True:
                event = self._conn.next_event()
                if event is NEED_DATA or isinstance(event, ConnectionClosed):
                    break
                if isinstance(event, Result) and self._session is not None:
                    self._session._on_reply(event)  # the usual event first
                elif isinstance(event, AgiEnvironment):
                    self._start(event)
                elif isinstance(event, HangupRequested):
                    if self._session is None:
                        self._early_hangup = True
                    else:
                        self._session._on_hangup()
                elif self._session is not None:
                    self._session._on_reply(event)
        except AgiProtocolError as exc:
            log.warning("AGI protocol error, closing: %s", exc)
            if self._session is not None:
                self._session._abort(exc)
            self._transport.close()

    def _start(self, env: AgiEnvironment) -> None:
        assert self._transport is not None
        if self._env_timer is not None:
            self._env_timer.cancel()
        session = AgiSession(self._transport, self._conn, env, self._server.settings)
        if self._early_hangup:
            session._on_hangup()
        self._session = session
        self._server._spawn(session)


class AgiServer:
    """Accepts FastAGI connections and runs `handler(session)` for each call.

    A handler's exception is logged and ends that call only. `stop()` stops accepting,
    lets running calls finish for `stop_grace_s`, then cancels them.
    """

    def __init__(self, handler: AgiHandler, settings: AgiSettings | None = None) -> None:
        self.handler = handler
        self.settings = settings or AgiSettings()
        self._server: asyncio.Server | None = None
        self._calls: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("server not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _AgiProtocol(self),
            self.settings.host,
            self.settings.port,
            backlog=1024,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._calls:
            _, late = await asyncio.wait(set(self._calls), timeout=self.settings.stop_grace_s)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> AgiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _spawn(self, session: AgiSession) -> None:
        task = asyncio.get_running_loop().create_task(self._run_call(session))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _run_call(self, session: AgiSession) -> None:
        call = asyncio.get_running_loop().create_task(self.handler(session))
        hangup = asyncio.get_running_loop().create_task(session.wait_hung_up())
        try:
            await asyncio.wait({call, hangup}, return_when=asyncio.FIRST_COMPLETED)
            if not call.done():
                # The caller has gone: a moment to finish up, then the channel must go.
                await asyncio.wait({call}, timeout=self.settings.hangup_grace_s)
        finally:
            hangup.cancel()
            if not call.done():
                call.cancel()
            await asyncio.wait({call, hangup})
            session._abort(None)
        if not call.cancelled() and (error := call.exception()) is not None:
            if isinstance(error, AgiError) and session.hung_up:
                # Commands failing because the caller went away is the normal end.
                log.info("AGI call %s ended by hang-up: %s", session.env.channel, error)
            else:
                log.error(
                    "AGI handler failed on %s: %r", session.env.channel, error, exc_info=error
                )
        await session.wait_closed()
