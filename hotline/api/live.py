"""Pushing the live centre to websockets: the wallboard and the agent's desk.

Each stream sends a snapshot first (so a reconnecting page is whole again at once), then
updates: the wallboard every `period_s` and, between ticks, soon after the fact log
moves (at most `min_gap_s` apart, however busy the centre); the desk when a record
names the agent or their current call. A stream reads the runtime through its own
subscription (the runtime never waits for it) and ends when the session behind it is
revoked or expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hotline.api import centre
from hotline.api.services import Services
from hotline.runtime.factlog import FellBehind

log = logging.getLogger("hotline.api.live")

Send = Callable[[Any], Awaitable[None]]  # a JSON-ready dict, or JSON text
StillValid = Callable[[], bool]


class SessionEnded(Exception):
    """The token behind a stream was revoked or expired."""


def wallboard_message(services: Services, kind: str) -> dict[str, Any]:
    message: dict[str, Any] = {"type": kind}
    message["live"] = centre.live_view(centre.current_view(services)).model_dump(mode="json")
    try:
        message["kpis"] = centre.kpi_report(services).model_dump(mode="json")
    except centre.Unavailable:
        message["kpis"] = None
    return message


class WallboardFeed:
    """One wallboard picture shared by every connected wallboard.

    Building it (the whole centre view and the KPIs) is the expensive part; it is built
    again only when the fact log has moved or `max_age_s` has passed (waits and times in
    state keep changing), so 200 wallboards cost one build per tick, not 200.
    """

    def __init__(self, services: Services, max_age_s: float = 0.5) -> None:
        self._services = services
        self._max_age_s = max_age_s
        self._built_at = float("-inf")
        self._seq = -1
        self._texts: dict[str, str] = {}

    def message(self, kind: str) -> str:
        """The picture as JSON text, encoded once per build for every connection."""
        runtime = self._services.runtime
        now = asyncio.get_running_loop().time()
        seq = runtime.log.next_seq
        if seq != self._seq or now - self._built_at >= self._max_age_s:
            self._texts = {}
            self._seq, self._built_at = seq, now
        text = self._texts.get(kind)
        if text is None:
            text = self._texts[kind] = json.dumps(
                wallboard_message(self._services, kind), ensure_ascii=False,
                separators=(",", ":"),
            )
        return text


async def _watch(services: Services, interesting: Callable[[Any], bool],
                 changed: asyncio.Event) -> None:
    """Set `changed` whenever an interesting record is published."""
    while True:
        subscription = services.runtime.subscribe()
        try:
            async for _seq, record in subscription:
                if interesting(record):
                    changed.set()
            return  # the runtime stopped
        except FellBehind:
            changed.set()  # missed some: the next message is a full view anyway
        finally:
            subscription.close()


async def _pump(
    services: Services, send: Send, still_valid: StillValid, interesting: Callable[[Any], bool],
    message: Callable[[str], Any], period_s: float | None, min_gap_s: float,
) -> None:
    changed = asyncio.Event()
    watcher = asyncio.create_task(_watch(services, interesting, changed))
    try:
        await send(message("snapshot"))
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), period_s)
            changed.clear()
            if not still_valid():
                raise SessionEnded("the session ended")
            await send(message("update"))
            await asyncio.sleep(min_gap_s)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def wallboard(services: Services, send: Send, still_valid: StillValid,
                    period_s: float, min_gap_s: float = 0.2,
                    feed: WallboardFeed | None = None) -> None:
    shared = feed if feed is not None else WallboardFeed(services)
    await _pump(services, send, still_valid, lambda _r: True, shared.message, period_s,
                min_gap_s)


async def desk(services: Services, agent_id: str, send: Send, still_valid: StillValid,
               min_gap_s: float = 0.05) -> None:
    def interesting(record: Any) -> bool:
        if getattr(record, "agent_id", None) == agent_id:
            return True
        current = services.runtime.seat(agent_id)  # one seat, not the whole centre
        call_id = getattr(record, "call_id", None)
        return current is not None and call_id is not None and call_id == current.call_id

    def message(kind: str) -> dict[str, Any]:
        return {"type": kind, "desk": centre.desk(services, agent_id).model_dump(mode="json")}

    # Without a period the desk still checks its session now and then.
    await _pump(services, send, still_valid, interesting, message, 30.0, min_gap_s)
