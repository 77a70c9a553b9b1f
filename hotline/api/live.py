"""Pushing the live centre to websockets: wallboards, agents' desks, department pages.

One `LiveHub` per app does the work once for every socket:

- it follows the runtime through **one** subscription (the runtime never waits for it),
  however many sockets are open;
- wallboards: on a change (at most twice a period) and at least every `period_s`
  (waits and times in state keep moving), one message is built from the shared live
  picture, encoded once and handed to every wallboard;
- desks are indexed by agent id, and the calls on show by call id: a record that names
  an agent, or a call on an agent's desk, makes only that agent's desk be rebuilt (once,
  however many records arrived meanwhile) and pushed to that agent's sockets;
- department pages hear of work-order changes (`hotline.api.feeds`) for their own
  department only.

Each socket has an `Outbox` that keeps only the newest picture: a slow client skips
pictures instead of queueing them, and never holds up the others. A socket's first
message is a snapshot (so a reconnecting page is whole again at once); the stream ends
when the session behind it is revoked or expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from hotline.api import centre, orders
from hotline.api.feeds import OrderChanged
from hotline.api.security import Principal
from hotline.api.services import Services
from hotline.api.views import compact_json
from hotline.runtime.factlog import FellBehind

log = logging.getLogger("hotline.api.live")

Send = Callable[[str], Awaitable[None]]  # JSON text
StillValid = Callable[[], bool]

IDLE_CHECK_S = 30.0  # a quiet socket still checks its session this often
DEPARTMENT_SNAPSHOT = 500  # orders in a department page's snapshot (its list's size)
DEPARTMENT_BACKLOG = 256  # changes queued for one department socket before a resync


class SessionEnded(Exception):
    """The token behind a stream was revoked or expired."""


class Outbox:
    """One socket's next message: a newer picture replaces one not sent yet."""

    __slots__ = ("_ready", "_text")

    def __init__(self) -> None:
        self._text: str | None = None
        self._ready = asyncio.Event()

    def put(self, text: str) -> None:
        self._text = text
        self._ready.set()

    async def take(self, timeout_s: float) -> str | None:
        """The newest message, or None when none came within `timeout_s`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout_s)
        self._ready.clear()
        text, self._text = self._text, None
        return text


async def pump(outbox: Outbox, send: Send, still_valid: StillValid,
               idle_check_s: float = IDLE_CHECK_S) -> None:
    """Send what arrives in `outbox` until the session ends (`SessionEnded`)."""
    while True:
        text = await outbox.take(idle_check_s)
        if not still_valid():
            raise SessionEnded("the session ended")
        if text is not None:
            await send(text)


class DepartmentInbox:
    """One department socket's changes, in order; past the backlog, a resync."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(DEPARTMENT_BACKLOG)

    def put(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.put_resync()  # too far behind

    def put_resync(self) -> None:
        """Drop what is queued; the socket sends a whole snapshot instead."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class LiveHub:
    def __init__(self, services: Services, period_s: float, *,
                 min_gap_s: float | None = None, desk_gap_s: float = 0.02) -> None:
        self._services = services
        self._period_s = period_s
        # Wallboards are read by people: two pictures a tick at most, however busy the
        # centre (each is sent, and compressed, once per wallboard). Desks are not held
        # back: an agent's ringing seat must show at once.
        self._min_gap_s = period_s / 2 if min_gap_s is None else min_gap_s
        self._desk_gap_s = desk_gap_s
        self._wallboards: set[Outbox] = set()
        self._desks: dict[str, set[Outbox]] = {}  # agent id -> that agent's sockets
        self._departments: dict[str, set[DepartmentInbox]] = {}  # department code -> ...
        self._showing: dict[str, str] = {}  # agent id -> the call on their desk
        self._calls: dict[str, str] = {}  # call id -> the agent whose desk shows it
        self._dirty: set[str] = set()  # agents whose desk must be rebuilt
        self._wall_wake = asyncio.Event()
        self._desk_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._order_tasks: set[asyncio.Task[None]] = set()
        self._stop_orders: Callable[[], None] | None = None
        self._users = 0

    # --- connections ---------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _joined(self) -> AsyncIterator[None]:
        """The hub's tasks run while at least one socket is open."""
        self._users += 1
        if not self._tasks:
            self._start()
        try:
            yield
        finally:
            self._users -= 1
            if self._users == 0:
                await self._stop()

    async def wallboard(self, send: Send, still_valid: StillValid) -> None:
        outbox = Outbox()
        async with self._joined():
            self._wallboards.add(outbox)
            try:
                snapshot = self._services.live.picture().wallboard_text("snapshot")
                if snapshot is not None:
                    await send(snapshot)
                # A wallboard gets a picture every period at least: that is its check.
                await pump(outbox, send, still_valid, self._period_s * 2)
            finally:
                self._wallboards.discard(outbox)

    async def desk(self, agent_id: str, send: Send, still_valid: StillValid) -> None:
        outbox = Outbox()
        async with self._joined():
            # Registered before the snapshot is built: a change from now on is pushed.
            self._desks.setdefault(agent_id, set()).add(outbox)
            try:
                await send(await self._desk_text(agent_id, "snapshot"))
                await pump(outbox, send, still_valid)
            finally:
                sockets = self._desks.get(agent_id)
                if sockets is not None:
                    sockets.discard(outbox)
                    if not sockets:
                        del self._desks[agent_id]
                        self._forget_call(agent_id)

    async def department(self, user: Principal, send: Send, still_valid: StillValid) -> None:
        code = user.department
        if code is None:
            raise ValueError("a department user without a department")
        inbox = DepartmentInbox(user)
        async with self._joined():
            self._departments.setdefault(code, set()).add(inbox)
            try:
                await send(await self._department_snapshot(user))
                while True:
                    try:
                        message = await asyncio.wait_for(inbox.queue.get(), IDLE_CHECK_S)
                    except TimeoutError:
                        message = {}
                    if not still_valid():
                        raise SessionEnded("the session ended")
                    if message is None:
                        await send(await self._department_snapshot(user))
                    elif message:
                        await send(compact_json(message))
            finally:
                inboxes = self._departments.get(code)
                if inboxes is not None:
                    inboxes.discard(inbox)
                    if not inboxes:
                        del self._departments[code]

    # --- the hub's tasks ---------------------------------------------------------------

    def _start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._follow(), name="live-follow"),
            asyncio.create_task(self._push_wallboards(), name="live-wallboards"),
            asyncio.create_task(self._push_desks(), name="live-desks"),
        ]
        self._stop_orders = self._services.order_feed.listen(self._order_changed)

    async def _stop(self) -> None:
        if self._stop_orders is not None:
            self._stop_orders()
            self._stop_orders = None
        tasks = [*self._tasks, *self._order_tasks]
        self._tasks = []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self) -> None:
        """The one subscription: mark what each record changes; never build here."""
        runtime = self._services.runtime
        while True:
            subscription = runtime.subscribe()
            try:
                async for _seq, record in subscription:
                    self._wall_wake.set()
                    agent = getattr(record, "agent_id", None)
                    if agent is not None and agent in self._desks:
                        self._dirty.add(agent)
                        self._desk_wake.set()
                    call = getattr(record, "call_id", None)
                    if call is not None:
                        shown_to = self._calls.get(call)
                        if shown_to is not None:
                            self._dirty.add(shown_to)
                            self._desk_wake.set()
                return  # the runtime stopped
            except FellBehind:
                # Records were missed: every desk is rebuilt (each message is whole).
                self._dirty.update(self._desks)
                self._desk_wake.set()
                self._wall_wake.set()
            finally:
                subscription.close()

    async def _push_wallboards(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wall_wake.wait(), self._period_s)
            self._wall_wake.clear()
            if self._wallboards:
                text = self._services.live.picture(fresh=True).wallboard_text("update")
                if text is not None:
                    for outbox in self._wallboards:
                        outbox.put(text)
            await asyncio.sleep(self._min_gap_s)

    async def _push_desks(self) -> None:
        while True:
            await self._desk_wake.wait()
            self._desk_wake.clear()
            agents = [a for a in self._dirty if a in self._desks]
            self._dirty.clear()
            texts = await asyncio.gather(*(self._desk_text(a, "update") for a in agents),
                                         return_exceptions=True)
            for agent, text in zip(agents, texts, strict=True):
                if isinstance(text, BaseException):
                    if isinstance(text, asyncio.CancelledError):
                        raise text
                    log.error("desk of %s not pushed", agent, exc_info=text)
                    continue
                for outbox in self._desks.get(agent, ()):
                    outbox.put(text)
            # Records come in bursts (one event, several facts): gather them.
            await asyncio.sleep(self._desk_gap_s)

    async def _desk_text(self, agent_id: str, kind: str) -> str:
        desk = await centre.desk(self._services, agent_id)
        call_id = desk.call.call_id if desk.call is not None else None
        if desk.seat is not None and desk.seat.call_id is not None:
            call_id = desk.seat.call_id
        if call_id is not None and agent_id in self._desks:
            self._show_call(agent_id, call_id)
        return compact_json({"type": kind, "desk": desk.model_dump(mode="json")})

    def _show_call(self, agent_id: str, call_id: str) -> None:
        if self._showing.get(agent_id) != call_id:
            self._forget_call(agent_id)
            self._showing[agent_id] = call_id
            self._calls[call_id] = agent_id

    def _forget_call(self, agent_id: str) -> None:
        old = self._showing.pop(agent_id, None)
        if old is not None and self._calls.get(old) == agent_id:
            del self._calls[old]

    # --- departments ---------------------------------------------------------------------

    def _order_changed(self, change: OrderChanged) -> None:
        if not change.departments & self._departments.keys():
            return
        task = asyncio.create_task(self._push_order(change))
        self._order_tasks.add(task)
        task.add_done_callback(self._order_tasks.discard)

    async def _push_order(self, change: OrderChanged) -> None:
        """Read the order once; tell each department whether it now holds it."""
        try:
            summary = await orders.summary_of(self._services, change.number)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("order %s not pushed: %s", change.number, exc)
            for code in change.departments:
                for inbox in self._departments.get(code, ()):
                    inbox.put_resync()
            return
        for code in change.departments:
            if summary is not None and summary.department == code:
                message = {"type": "changed", "orders": [summary.model_dump(mode="json")],
                           "gone": []}
            else:
                message = {"type": "changed", "orders": [], "gone": [change.number]}
            for inbox in self._departments.get(code, ()):
                inbox.put(message)

    async def _department_snapshot(self, user: Principal) -> str:
        found = await orders.list_orders(self._services, user, None, DEPARTMENT_SNAPSHOT, 0)
        return compact_json({"type": "snapshot",
                             "orders": [o.model_dump(mode="json") for o in found]})
