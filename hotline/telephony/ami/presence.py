"""Seat presence: is each softphone registered, at which contact, in what device state.

`PresenceTracker` is pure (events in, `SeatPresence` changes out); `PresenceMonitor`
feeds it from an `AmiClient`: a snapshot (PJSIPShowEndpoints, PJSIPShowContacts,
DeviceStateList) at start, after every reconnect and whenever events were lost, then
live PeerStatus / ContactStatus / DeviceStateChange events.

"Registered" means a REGISTER is live (a dynamic contact, or PeerStatus Reachable). A
static ``contact=`` from pjsip.conf fills `contact` but does not count as registered:
Asterisk reports such endpoints online even with no phone behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from hotline.telephony.ami.client import AmiClient, EventSubscription
from hotline.telephony.ami.codec import Event
from hotline.telephony.ami.errors import AmiError, EventsLost

log = logging.getLogger(__name__)


class DeviceState(enum.Enum):
    """Asterisk's device states (``ast_device_state``)."""

    UNKNOWN = "UNKNOWN"
    NOT_INUSE = "NOT_INUSE"
    INUSE = "INUSE"
    BUSY = "BUSY"
    INVALID = "INVALID"
    UNAVAILABLE = "UNAVAILABLE"
    RINGING = "RINGING"
    RINGINUSE = "RINGINUSE"
    ONHOLD = "ONHOLD"

    @classmethod
    def parse(cls, text: str | None) -> DeviceState:
        """Both spellings: ``NOT_INUSE`` (DeviceStateChange) and ``Not in use``
        (EndpointList)."""
        if not text:
            return cls.UNKNOWN
        key = text.strip()
        return _WORDS.get(key.lower()) or cls.__members__.get(key.upper(), cls.UNKNOWN)


_WORDS = {
    "unknown": DeviceState.UNKNOWN,
    "not in use": DeviceState.NOT_INUSE,
    "in use": DeviceState.INUSE,
    "busy": DeviceState.BUSY,
    "invalid": DeviceState.INVALID,
    "unavailable": DeviceState.UNAVAILABLE,
    "ringing": DeviceState.RINGING,
    "ring+inuse": DeviceState.RINGINUSE,
    "on hold": DeviceState.ONHOLD,
}


class PresenceCause(enum.Enum):
    SNAPSHOT = "snapshot"
    PEER_STATUS = "peer_status"
    CONTACT_STATUS = "contact_status"
    DEVICE_STATE = "device_state"


@dataclass(frozen=True, slots=True)
class SeatPresence:
    """One endpoint's presence after a change (``endpoint`` like ``PJSIP/8001``)."""

    endpoint: str
    registered: bool
    contact: str | None
    device_state: DeviceState
    cause: PresenceCause


_REGISTERED_PEER = frozenset({"reachable", "registered", "lagged"})
_GONE_PEER = frozenset({"unreachable", "unregistered", "rejected"})
_LIVE_CONTACT = frozenset({"created", "reachable", "nonqualified", "updated"})


@dataclass(slots=True)
class _Seat:
    static_contact: str | None = None
    dynamic: dict[str, None] = field(default_factory=dict)  # ordered set of URIs
    peer_reachable: bool = False
    state: DeviceState = DeviceState.UNKNOWN

    def view(self, endpoint: str, cause: PresenceCause) -> SeatPresence:
        contact = next(reversed(self.dynamic), None) if self.dynamic else self.static_contact
        registered = bool(self.dynamic) or self.peer_reachable
        return SeatPresence(endpoint, registered, contact, self.state, cause)


def _same(a: SeatPresence | None, b: SeatPresence) -> bool:
    return a is not None and replace(a, cause=b.cause) == b


class PresenceTracker:
    """Pure presence state for endpoints of the given technologies (default PJSIP)."""

    def __init__(self, technologies: Iterable[str] = ("PJSIP",)) -> None:
        self._techs = tuple(f"{t}/" for t in technologies)
        self._seats: dict[str, _Seat] = {}
        self._views: dict[str, SeatPresence] = {}

    def get(self, endpoint: str) -> SeatPresence | None:
        return self._views.get(endpoint)

    def snapshot(self) -> dict[str, SeatPresence]:
        return dict(self._views)

    def _tracked(self, device: str | None) -> bool:
        return bool(device) and device is not None and device.startswith(self._techs)

    def _emit(self, endpoint: str, cause: PresenceCause) -> SeatPresence | None:
        view = self._seats[endpoint].view(endpoint, cause)
        if _same(self._views.get(endpoint), view):
            return None
        self._views[endpoint] = view
        return view

    def apply_snapshot(
        self, endpoints: Iterable[Event], contacts: Iterable[Event], device_states: Iterable[Event]
    ) -> list[SeatPresence]:
        """Replace the state with a fresh listing; return what changed."""
        seats: dict[str, _Seat] = {}
        for ev in endpoints:  # EndpointList
            name = ev.get("ObjectName")
            if not name:
                continue
            seat = seats.setdefault(f"PJSIP/{name}", _Seat())
            seat.state = DeviceState.parse(ev.get("DeviceState"))
            # "Contacts: aor/sip:uri,aor2/sip:uri2," lists static and dynamic contacts.
            for item in (ev.get("Contacts") or "").split(","):
                _, slash, uri = item.strip().partition("/")
                if slash and uri and seat.static_contact is None:
                    seat.static_contact = uri
        for ev in contacts:  # ContactList: only dynamic (registered) contacts
            owner, registered_uri = ev.get("Endpoint"), ev.get("Uri")
            if owner and registered_uri:
                seat = seats.setdefault(f"PJSIP/{owner}", _Seat())
                seat.dynamic[registered_uri] = None
                seat.peer_reachable = True
                if seat.static_contact == registered_uri:
                    seat.static_contact = None
        for ev in device_states:  # DeviceStateChange items of DeviceStateList
            device = ev.get("Device")
            if self._tracked(device) and device is not None:
                seats.setdefault(device, _Seat()).state = DeviceState.parse(ev.get("State"))
        changes: list[SeatPresence] = []
        for endpoint in list(self._views):
            if endpoint not in seats:  # gone from the configuration
                del self._views[endpoint]
        self._seats = {e: s for e, s in seats.items() if self._tracked(e)}
        for endpoint in self._seats:
            change = self._emit(endpoint, PresenceCause.SNAPSHOT)
            if change is not None:
                changes.append(change)
        return changes

    def apply_event(self, event: Event) -> SeatPresence | None:
        """Fold one live event; return the new presence if it changed anything."""
        name = event.name
        if name == "PeerStatus":
            endpoint = event.get("Peer")
            if not self._tracked(endpoint) or endpoint is None:
                return None
            status = (event.get("PeerStatus") or "").lower()
            seat = self._seats.setdefault(endpoint, _Seat())
            if status in _REGISTERED_PEER:
                seat.peer_reachable = True
            elif status in _GONE_PEER:
                seat.peer_reachable = False
                seat.dynamic.clear()
            return self._emit(endpoint, PresenceCause.PEER_STATUS)
        if name == "ContactStatus":
            aor_endpoint, uri = event.get("EndpointName"), event.get("URI")
            if not aor_endpoint or not uri:
                return None
            endpoint = f"PJSIP/{aor_endpoint}"
            if not self._tracked(endpoint):
                return None
            status = (event.get("ContactStatus") or "").lower()
            seat = self._seats.setdefault(endpoint, _Seat())
            if status in _LIVE_CONTACT:
                seat.dynamic.pop(uri, None)
                seat.dynamic[uri] = None  # most recent last
            else:  # Removed, Unreachable, Unknown
                seat.dynamic.pop(uri, None)
                if not seat.dynamic:
                    seat.peer_reachable = False
            return self._emit(endpoint, PresenceCause.CONTACT_STATUS)
        if name == "DeviceStateChange":
            device = event.get("Device")
            if not self._tracked(device) or device is None:
                return None
            self._seats.setdefault(device, _Seat()).state = DeviceState.parse(event.get("State"))
            return self._emit(device, PresenceCause.DEVICE_STATE)
        return None


PRESENCE_EVENTS = frozenset({"PeerStatus", "ContactStatus", "DeviceStateChange"})


class PresenceMonitor:
    """Keeps a `PresenceTracker` in step with Asterisk and reports each change to
    ``on_change`` (called on the loop; keep it quick, e.g. post to the runtime inbox)."""

    def __init__(
        self,
        client: AmiClient,
        on_change: Callable[[SeatPresence], None],
        *,
        tracker: PresenceTracker | None = None,
    ) -> None:
        self.client = client
        self.tracker = tracker or PresenceTracker()
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None
        self._resync_needed = asyncio.Event()
        client.on_session(lambda _session: self._resync_needed.set())

    async def start(self) -> None:
        """Subscribe, take the first snapshot, then follow events in the background."""
        subscription = self.client.events(names=PRESENCE_EVENTS)
        try:
            await self.resync()
        except BaseException:
            subscription.close()
            raise
        self._resync_needed.clear()
        self._task = asyncio.create_task(self._follow(subscription), name="ami-presence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def resync(self) -> None:
        endpoints = await self.client.pjsip_endpoints()
        contacts = await self.client.pjsip_contacts()
        states = await self.client.device_states()
        changes = self.tracker.apply_snapshot(endpoints.items, contacts.items, states.items)
        self._report(changes)

    def _report(self, changes: Iterable[SeatPresence]) -> None:
        for change in changes:
            try:
                self._on_change(change)
            except Exception:  # a faulty consumer must not stop presence tracking
                log.exception("SeatPresence consumer failed on %s", change.endpoint)

    async def _follow(self, subscription: EventSubscription) -> None:
        with contextlib.closing(subscription):
            while True:
                if self._resync_needed.is_set():
                    self._resync_needed.clear()
                    await self._try_resync()
                next_event = asyncio.ensure_future(anext(subscription))
                resync = asyncio.ensure_future(self._resync_needed.wait())
                try:
                    await asyncio.wait({next_event, resync}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    resync.cancel()
                    if not next_event.done():
                        next_event.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await next_event
                if not next_event.done() or next_event.cancelled():
                    continue
                try:
                    event = next_event.result()
                except StopAsyncIteration:
                    return
                except EventsLost as lost:
                    log.warning("%s; taking a fresh presence snapshot", lost)
                    self._resync_needed.set()
                    continue
                change = self.tracker.apply_event(event)
                if change is not None:
                    self._report([change])

    async def _try_resync(self) -> None:
        try:
            await self.resync()
        except AmiError as exc:  # the next session or lost-event signal retries
            log.warning("presence snapshot failed: %s", exc)
