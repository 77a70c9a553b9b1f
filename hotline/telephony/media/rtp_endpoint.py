"""The UDP side of externalMedia RTP: one port for every call, demultiplexed by source.

Why one port and not one per call: Asterisk sends each externalMedia channel's RTP from
its own local port, and the ARI response names it before the first packet
(`channelvars.UNICASTRTP_LOCAL_ADDRESS` / `UNICASTRTP_LOCAL_PORT`), so the source
address identifies the call with no extra socket, no port range to allocate or open in
a firewall, and the same `external_host` for every call. The SSRC is no key: Asterisk
picks it at random and may change it mid-call; a new SSRC only restarts that source's
reorder window. Datagrams from sources nobody bound are dropped (nobody can inject
audio into a call by guessing a port first).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from hotline.telephony.media.errors import MediaProtocolError
from hotline.telephony.media.router import MediaRouter
from hotline.telephony.media.rtp import RtpReceiver

log = logging.getLogger(__name__)
Address = tuple[str, int]


@dataclass(slots=True)
class RtpEndpointStats:
    datagrams: int = 0
    unknown_source: int = 0
    malformed: int = 0
    not_listening: int = 0  # a bound call's audio while no recognition is open


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.endpoint: RtpEndpoint | None = None  # set once the transport exists

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if self.endpoint is not None:
            self.endpoint._received(data, (str(addr[0]), int(str(addr[1]))))

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (e.g. port unreachable after a send) do not stop reception.
        log.debug("RTP endpoint socket error: %s", exc)


class RtpEndpoint:
    """Receives externalMedia RTP and hands each bound call's audio to the router."""

    def __init__(self, router: MediaRouter, transport: asyncio.DatagramTransport,
                 *, reorder_depth: int = 3, max_fill_packets: int = 5) -> None:
        self.router = router
        self.stats = RtpEndpointStats()
        self._transport = transport
        self._reorder_depth = reorder_depth
        self._max_fill_packets = max_fill_packets
        self._calls: dict[Address, str] = {}
        self._sources: dict[str, Address] = {}
        self._receivers: dict[Address, RtpReceiver] = {}

    @classmethod
    async def open(cls, router: MediaRouter, host: str = "127.0.0.1", port: int = 0,
                   *, reorder_depth: int = 3, max_fill_packets: int = 5) -> RtpEndpoint:
        """Bind the UDP port (loopback by default; port 0 picks a free one)."""
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            _Protocol, local_addr=(host, port))
        endpoint = cls(router, transport, reorder_depth=reorder_depth,
                       max_fill_packets=max_fill_packets)
        protocol.endpoint = endpoint
        return endpoint

    @property
    def local_address(self) -> Address:
        """Where Asterisk must send: the externalMedia `external_host` is `host:port`."""
        sockname = self._transport.get_extra_info("sockname")
        return str(sockname[0]), int(sockname[1])

    def bind(self, source: Address, call_id: str) -> None:
        """Audio from `source` (UNICASTRTP_LOCAL_ADDRESS:PORT) belongs to `call_id`."""
        source = (source[0], int(source[1]))
        self.unbind(call_id)
        old = self._calls.get(source)
        if old is not None:
            self._sources.pop(old, None)
        self._calls[source] = call_id
        self._sources[call_id] = source
        self._receivers.pop(source, None)

    def unbind(self, call_id: str) -> None:
        """The call's externalMedia channel is gone; its recognition hears the end now."""
        source = self._sources.pop(call_id, None)
        if source is not None:
            self._calls.pop(source, None)
            self._deliver(call_id, self._receivers.pop(source, None))
            self.router.media_ended(call_id)

    def _deliver(self, call_id: str, receiver: RtpReceiver | None) -> None:
        if receiver is not None and self.router.listening(call_id):
            for pcm in receiver.flush():
                self.router.deliver(call_id, pcm)

    def _received(self, data: bytes, source: Address) -> None:
        self.stats.datagrams += 1
        call_id = self._calls.get(source)
        if call_id is None:
            self.stats.unknown_source += 1
            return
        if not self.router.listening(call_id):
            # Cheap drop; the next recognition restarts the reorder window from scratch.
            self.stats.not_listening += 1
            self._receivers.pop(source, None)
            return
        receiver = self._receivers.get(source)
        if receiver is None:
            receiver = RtpReceiver(reorder_depth=self._reorder_depth,
                                   max_fill_packets=self._max_fill_packets)
            self._receivers[source] = receiver
        try:
            chunks = receiver.receive_datagram(data)
        except MediaProtocolError as exc:
            self.stats.malformed += 1
            log.debug("dropped a malformed RTP datagram from %s:%d: %s", *source, exc)
            return
        for pcm in chunks:
            self.router.deliver(call_id, pcm)

    def receiver(self, call_id: str) -> RtpReceiver | None:
        """The reorder state of a call's stream (for metrics)."""
        source = self._sources.get(call_id)
        return None if source is None else self._receivers.get(source)

    def close(self) -> None:
        self._transport.close()
