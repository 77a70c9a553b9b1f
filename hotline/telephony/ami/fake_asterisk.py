"""Test kit: an AMI peer on 127.0.0.1 that answers like the recorded Asterisk 20.20.1.

Every shape below is copied from ``shared/asterisk/traces/ami`` (banner, login accepted
and refused, Ping, unknown action, PJSIPShowEndpoints / PJSIPShowContacts /
DeviceStateList, Originate, the registration events, Logoff); the default endpoints are
the ones the traces were recorded with, so a replay of the recorded actions gives the
recorded answers. Hooks: delay or swallow answers per action, split writes at chosen
byte offsets, push events, drop every connection.

Usable by anyone testing against AMI::

    async with FakeAsterisk() as pbx:
        client = AmiClient(AmiSettings("hotline", "hotline-ami-test", port=pbx.port))
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import TracebackType

from hotline.telephony.ami.codec import Action, AmiDecoder, Role, encode_headers
from hotline.telephony.ami.errors import AmiProtocolError

BANNER = b"Asterisk Call Manager/9.0.0\r\n"

Headers = list[tuple[str, str]]


@dataclass
class FakeEndpoint:
    """A PJSIP endpoint as pjsip.conf defines it, plus its live registration."""

    name: str
    auths: str = ""
    static_contact: str | None = None  # "sip:pjagent@127.0.0.1:5072"
    max_contacts: int = 0
    contact: str | None = None  # registered contact URI
    call_id: str = ""
    expiration: int = 0
    state: str = "NOT_INUSE"


_WORDS = {
    "NOT_INUSE": "Not in use",
    "UNAVAILABLE": "Unavailable",
    "INUSE": "In use",
    "RINGING": "Ringing",
    "BUSY": "Busy",
    "ONHOLD": "On Hold",
    "UNKNOWN": "Unknown",
}


def recorded_endpoints() -> dict[str, FakeEndpoint]:
    """The endpoints of ``recorded-with/pjsip.conf`` (pjseat1 registers dynamically)."""
    eps = [
        FakeEndpoint("pjagent", static_contact="sip:pjagent@127.0.0.1:5072"),
        FakeEndpoint("pjbusy", static_contact="sip:pjbusy@127.0.0.1:5074"),
        FakeEndpoint("pjcaller", static_contact="sip:pjcaller@127.0.0.1:5071"),
        FakeEndpoint("pjring", static_contact="sip:pjring@127.0.0.1:5073"),
        FakeEndpoint("pjseat1", auths="pjseat1", max_contacts=1, state="UNAVAILABLE"),
    ]
    return {e.name: e for e in eps}


# Device states that DeviceStateList reports besides PJSIP endpoints, in recorded order
# (the PJSIP ones are slotted in where the trace has them).
RECORDED_DEVICE_ORDER = (
    "PJSIP/dyn1",
    "PJSIP/pjbusy",
    "Queue:hotline_pause_Local/agent1@queue-agents/n",
    "PJSIP/pjagent",
    "PJSIP/pjseat1",
    "Queue:hotline-noanswer_pause_Local/ringonly@queue-agents/n",
    "PJSIP/pjcaller",
    "Queue:hotline-noanswer_avail",
    "PJSIP/pjring",
    "Queue:hotline-sip_avail",
    "Queue:hotline-sip_pause_SIP/agent",
    "Queue:hotline_avail",
)
RECORDED_OTHER_DEVICES = {
    "PJSIP/dyn1": "NOT_INUSE",
    "Queue:hotline_pause_Local/agent1@queue-agents/n": "NOT_INUSE",
    "Queue:hotline-noanswer_pause_Local/ringonly@queue-agents/n": "NOT_INUSE",
    "Queue:hotline-noanswer_avail": "INUSE",
    "Queue:hotline-sip_avail": "INUSE",
    "Queue:hotline-sip_pause_SIP/agent": "NOT_INUSE",
    "Queue:hotline_avail": "INUSE",
}


@dataclass(eq=False)
class _Peer:
    writer: asyncio.StreamWriter
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    sent: int = 0
    logged_in: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class FakeAsterisk:
    """An asyncio AMI server on 127.0.0.1, port 0 unless given."""

    def __init__(
        self,
        *,
        username: str = "hotline",
        secret: str = "hotline-ami-test",
        login_failure_delay: float = 0.0,  # Asterisk waits about 1 s; tests need not
        port: int = 0,
    ) -> None:
        self.username = username
        self.secret = secret
        self.login_failure_delay = login_failure_delay
        self.host = "127.0.0.1"
        self.port = port
        self.endpoints = recorded_endpoints()
        self.other_devices = dict(RECORDED_OTHER_DEVICES)
        self.received: list[Action] = []
        self.logins = 0
        self.delays: dict[str, float] = {}  # action name -> seconds before the answer
        self.silent: set[str] = set()  # action names never answered (a hung Asterisk)
        self.split_at: set[int] = set()  # byte offsets of each connection's output
        self.originate_reason = 4  # 4 answered, 5 busy, 8 congestion, 0 failed
        self.originate_delay = 0.0
        self._server: asyncio.Server | None = None
        self._peers: set[_Peer] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> FakeAsterisk:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.drop_connections()
        for task in list(self._handlers):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FakeAsterisk:
        return await self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def drop_connections(self) -> None:
        """Abort every client connection at once (no Goodbye), like a crash."""
        for peer in list(self._peers):
            peer.writer.transport.abort()
        for peer in list(self._peers):
            for task in list(peer.tasks):
                task.cancel()
        await asyncio.sleep(0)

    @property
    def connections(self) -> int:
        return len(self._peers)

    # -- scripted happenings ----------------------------------------------------------

    async def push(self, data: bytes) -> None:
        """Send raw bytes (whole events) to every logged-in client."""
        for peer in list(self._peers):
            if peer.logged_in and not peer.writer.is_closing():
                with contextlib.suppress(OSError):
                    await self._write(peer, data)

    async def register(
        self,
        endpoint: str = "pjseat1",
        uri: str = "sip:pjseat1@127.0.0.1:5075",
        *,
        call_id: str = "1-24290@127.0.0.1",
        expiration: int = 1795686869,
    ) -> None:
        """A softphone REGISTERs: the recorded event burst, and the state changes."""
        ep = self.endpoints[endpoint]
        ep.contact, ep.call_id, ep.expiration, ep.state = uri, call_id, expiration, "NOT_INUSE"
        await self.push(
            _security(endpoint, call_id)
            + _event(
                ("PeerStatus", "system,all"),
                [
                    ("ChannelType", "PJSIP"),
                    ("Peer", f"PJSIP/{endpoint}"),
                    ("PeerStatus", "Reachable"),
                ],
            )
            + _device_event(f"PJSIP/{endpoint}", "NOT_INUSE")
            + _contact_status(endpoint, uri, "NonQualified")
        )

    async def unregister(self, endpoint: str = "pjseat1") -> None:
        """The softphone sends REGISTER with Expires: 0."""
        ep = self.endpoints[endpoint]
        uri, ep.contact, ep.state = ep.contact or "", None, "UNAVAILABLE"
        await self.push(
            _security(endpoint, ep.call_id)
            + _event(
                ("PeerStatus", "system,all"),
                [
                    ("ChannelType", "PJSIP"),
                    ("Peer", f"PJSIP/{endpoint}"),
                    ("PeerStatus", "Unreachable"),
                ],
            )
            + _device_event(f"PJSIP/{endpoint}", "UNAVAILABLE")
            + _contact_status(endpoint, uri, "Removed")
        )

    async def set_device_state(self, device: str, state: str) -> None:
        name = device.removeprefix("PJSIP/")
        if device.startswith("PJSIP/") and name in self.endpoints:
            self.endpoints[name].state = state
        else:
            self.other_devices[device] = state
        await self.push(_device_event(device, state))

    # -- serving ----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        peer = _Peer(writer)
        self._peers.add(peer)
        decoder = AmiDecoder(Role.SERVER)
        try:
            await self._write(peer, BANNER)
            while data := await reader.read(65536):
                for message in decoder.feed(data):
                    assert isinstance(message, Action)
                    self.received.append(message)
                    if not await self._handle(peer, message):
                        return
        except (AmiProtocolError, OSError):
            pass
        finally:
            self._peers.discard(peer)
            self._handlers.discard(task)
            for t in list(peer.tasks):
                t.cancel()
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _write(self, peer: _Peer, data: bytes) -> None:
        async with peer.lock:
            start, cuts = (
                peer.sent,
                sorted(o for o in self.split_at if peer.sent < o < peer.sent + len(data)),
            )
            pos = 0
            for cut in [*cuts, start + len(data)]:
                chunk = data[pos : cut - start]
                pos = cut - start
                peer.writer.write(chunk)
                await peer.writer.drain()
                if cut != start + len(data):
                    await asyncio.sleep(0.002)  # let the client read this piece alone
            peer.sent += len(data)

    async def _handle(self, peer: _Peer, action: Action) -> bool:
        """Answer one action; False ends the session."""
        name = action.name.lower()
        action_id = action.action_id
        if name == "login":
            return await self._login(peer, action)
        if not peer.logged_in or action.name in self.silent:
            return True
        if name == "logoff":
            await self._write(peer, _response("Goodbye", action_id, "Thanks for all the fish."))
            return False
        delay = self.delays.get(action.name, 0.0)
        if delay:
            task = asyncio.create_task(self._answer_later(peer, action, delay))
            peer.tasks.add(task)
            task.add_done_callback(peer.tasks.discard)
        else:
            await self._write(peer, self._answer(action))
            if name == "originate":
                self._schedule_originate(peer, action)
        return True

    async def _answer_later(self, peer: _Peer, action: Action, delay: float) -> None:
        await asyncio.sleep(delay)
        with contextlib.suppress(OSError):
            await self._write(peer, self._answer(action))

    def _schedule_originate(self, peer: _Peer, action: Action) -> None:
        async def later() -> None:
            await asyncio.sleep(self.originate_delay)
            with contextlib.suppress(OSError):
                await self._write(peer, self._originate_response(action))

        task = asyncio.create_task(later())
        peer.tasks.add(task)
        task.add_done_callback(peer.tasks.discard)

    async def _login(self, peer: _Peer, action: Action) -> bool:
        action_id = action.action_id
        if action.get("Username") != self.username or action.get("Secret") != self.secret:
            await asyncio.sleep(self.login_failure_delay)
            await self._write(peer, _response("Error", action_id, "Authentication failed"))
            return False
        peer.logged_in = True
        self.logins += 1
        await self._write(
            peer,
            _response("Success", action_id, "Authentication accepted")
            + _event(
                ("FullyBooted", "system,all"),
                [("Uptime", "11"), ("LastReload", "11"), ("Status", "Fully Booted")],
            )
            + _event(
                ("SuccessfulAuth", "security,all"),
                [
                    ("EventTV", "2026-11-26T09:49:27.993+0000"),
                    ("Severity", "Informational"),
                    ("Service", "AMI"),
                    ("EventVersion", "1"),
                    ("AccountID", self.username),
                    ("SessionID", "0x564bd46004b0"),
                    ("LocalAddress", "IPV4/TCP/127.0.0.1/5038"),
                    ("RemoteAddress", "IPV4/TCP/127.0.0.1/55066"),
                    ("UsingPassword", "0"),
                    ("SessionTV", "2026-11-26T09:49:27.993+0000"),
                ],
            ),
        )
        return True

    def _answer(self, action: Action) -> bytes:
        name, aid = action.name.lower(), action.action_id
        if name == "ping":
            return _message(
                [
                    ("Response", "Success"),
                    *_aid(aid),
                    ("Ping", "Pong"),
                    ("Timestamp", "1795635948.873168"),
                ]
            )
        if name == "pjsipshowendpoints":
            return self._endpoint_list(aid)
        if name == "pjsipshowcontacts":
            return self._contact_list(aid)
        if name == "devicestatelist":
            return self._device_state_list(aid)
        if name == "originate":
            return _response("Success", aid, "Originate successfully queued")
        return _response(
            "Error",
            aid,
            f"Invalid/unknown command: {action.name}. "
            "Use Action: ListCommands to show available commands.",
        )

    def _endpoint_list(self, aid: str | None) -> bytes:
        out = [_list_start(aid, "A listing of Endpoints follows, presented as EndpointList events")]
        for ep in self.endpoints.values():
            contact = ep.contact or ep.static_contact
            out.append(
                _message(
                    [
                        ("Event", "EndpointList"),
                        *_aid(aid),
                        ("ObjectType", "endpoint"),
                        ("ObjectName", ep.name),
                        ("Transport", "transport-udp"),
                        ("Aor", ep.name),
                        ("Auths", ep.auths),
                        ("OutboundAuths", ""),
                        ("Contacts", f"{ep.name}/{contact}," if contact else ""),
                        ("DeviceState", _WORDS.get(ep.state, ep.state)),
                        ("ActiveChannels", "0"),
                    ]
                )
            )
        out.append(_list_complete("EndpointListComplete", aid, len(self.endpoints)))
        return b"".join(out)

    def _contact_list(self, aid: str | None) -> bytes:
        live = [ep for ep in self.endpoints.values() if ep.contact]
        if not live:
            # Recorded as is: a bare LF inside the message, then the empty line.
            return (
                f"Response: Error\r\n{_aid_line(aid)}Message: No Contacts found\n\r\n\r\n".encode()
            )
        out = [_list_start(aid, "A listing of Contacts follows, presented as ContactList events")]
        for ep in live:
            assert ep.contact is not None
            host_port = ep.contact.rpartition("@")[2]
            out.append(
                _message(
                    [
                        ("Event", "ContactList"),
                        *_aid(aid),
                        ("ObjectType", "contact"),
                        ("ObjectName", f"{ep.name};@4e589f1474fc3d1c4d4d89a90cd3536d"),
                        ("ViaAddr", host_port.partition(":")[0]),
                        ("QualifyTimeout", "3.000000"),
                        ("Qualify2xxOnly", "false"),
                        ("CallId", ep.call_id),
                        ("RegServer", ""),
                        ("PruneOnBoot", "no"),
                        ("Path", ""),
                        ("Endpoint", ep.name),
                        ("ViaPort", host_port.partition(":")[2]),
                        ("AuthenticateQualify", "no"),
                        ("Uri", ep.contact),
                        ("QualifyFrequency", "0"),
                        ("UserAgent", f"sipp-{ep.name}"),
                        ("ExpirationTime", str(ep.expiration)),
                        ("OutboundProxy", ""),
                        ("Status", "NonQualified"),
                        ("RoundtripUsec", "N/A"),
                    ]
                )
            )
        out.append(_list_complete("ContactListComplete", aid, len(live)))
        return b"".join(out)

    def _device_state_list(self, aid: str | None) -> bytes:
        states = {f"PJSIP/{ep.name}": ep.state for ep in self.endpoints.values()}
        states.update(self.other_devices)
        order = [d for d in RECORDED_DEVICE_ORDER if d in states]
        order += [d for d in states if d not in order]
        out = [_list_start(aid, "Device State Changes will follow")]
        for device in order:
            out.append(
                _message(
                    [
                        ("Event", "DeviceStateChange"),
                        *_aid(aid),
                        ("Device", device),
                        ("State", states[device]),
                    ]
                )
            )
        out.append(_list_complete("DeviceStateListComplete", aid, len(order)))
        return b"".join(out)

    def _originate_response(self, action: Action) -> bytes:
        ok = self.originate_reason == 4
        caller = action.get("CallerID") or ""
        name, _, number = caller.rpartition("<")
        return _event(
            ("OriginateResponse", "call,all"),
            [
                *_aid(action.action_id),
                ("Response", "Success" if ok else "Failure"),
                (
                    "Channel",
                    f"{action.get('Channel') or ''}-0000000c;1"
                    if ok
                    else action.get("Channel") or "",
                ),
                ("Context", action.get("Context") or ""),
                ("Exten", action.get("Exten") or ""),
                ("Reason", str(self.originate_reason)),
                ("Uniqueid", "1795635949.27" if ok else "<null>"),
                ("CallerIDNum", number.rstrip(">") or "<unknown>"),
                ("CallerIDName", name.strip().strip('"') or "<unknown>"),
            ],
        )


def _aid(action_id: str | None) -> Headers:
    return [("ActionID", action_id)] if action_id is not None else []


def _aid_line(action_id: str | None) -> str:
    return f"ActionID: {action_id}\r\n" if action_id is not None else ""


def _message(headers: Headers) -> bytes:
    return encode_headers(headers)


def _response(status: str, action_id: str | None, message: str) -> bytes:
    return _message([("Response", status), *_aid(action_id), ("Message", message)])


def _list_start(action_id: str | None, message: str) -> bytes:
    return _message(
        [("Response", "Success"), *_aid(action_id), ("EventList", "start"), ("Message", message)]
    )


def _list_complete(name: str, action_id: str | None, count: int) -> bytes:
    return _message(
        [("Event", name), *_aid(action_id), ("EventList", "Complete"), ("ListItems", str(count))]
    )


def _event(name_privilege: tuple[str, str], headers: Headers) -> bytes:
    name, privilege = name_privilege
    return _message([("Event", name), ("Privilege", privilege), *headers])


def _device_event(device: str, state: str) -> bytes:
    return _event(("DeviceStateChange", "call,all"), [("Device", device), ("State", state)])


def _contact_status(endpoint: str, uri: str, status: str) -> bytes:
    return _event(
        ("ContactStatus", "system,all"),
        [
            ("URI", uri),
            ("ContactStatus", status),
            ("AOR", endpoint),
            ("EndpointName", endpoint),
            ("RoundtripUsec", "0"),
        ],
    )


def _security(endpoint: str, call_id: str) -> bytes:
    common = [
        ("EventTV", "2026-11-26T09:49:28.998+0000"),
        ("Severity", "Informational"),
        ("Service", "PJSIP"),
        ("EventVersion", "1"),
        ("AccountID", endpoint),
        ("SessionID", call_id),
        ("LocalAddress", "IPV4/UDP/127.0.0.1/5070"),
        ("RemoteAddress", "IPV4/UDP/127.0.0.1/5075"),
    ]
    return _event(("ChallengeSent", "security,all"), [*common, ("Challenge", "")]) + _event(
        ("SuccessfulAuth", "security,all"), [*common, ("UsingPassword", "1")]
    )
