"""ARI REST calls over one httpx.AsyncClient, typed.

Every resource the bridge creates (channel, bridge, playback, snoop, recording) gets an
id chosen here, so a request whose answer was lost can be retried: if the retry says
"already exists", we fetch the resource by that id instead of creating a second one.
Errors are judged by status code only; Asterisk's reason phrases are not standard
(`404 Variable Not Found`, `400 Not Found`; README fact 19).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from hotline.telephony.ari.config import AriConfig
from hotline.telephony.ari.models import (
    Application,
    AsteriskStatus,
    Bridge,
    BridgeType,
    Channel,
    DeviceState,
    Endpoint,
    LiveRecording,
    Playback,
    StoredRecording,
)

_log = logging.getLogger(__name__)

T = TypeVar("T")
ParamValue = str | int | float | bool | Sequence[str] | None


class AriError(Exception):
    """Asterisk answered with an error status. `status` 0 means no answer at all."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"ARI {status}: {message}")
        self.status = status
        self.message = message


class AriUnavailable(AriError):
    """Transport failure or timeout: Asterisk did not answer (it may have acted)."""

    def __init__(self, message: str) -> None:
        super().__init__(0, message)


def new_id(prefix: str) -> str:
    """A client-generated resource id (unique, readable in Asterisk's logs)."""
    return f"{prefix}-{uuid.uuid4().hex}"


def _segment(value: str) -> str:
    # Channel ids contain ';' (Local channels, "X;2") which Asterisk takes verbatim.
    return quote(value, safe=";:@")


def _params(raw: Mapping[str, ParamValue]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if isinstance(value, bool):
            params[key] = "true" if value else "false"
        elif isinstance(value, str):
            params[key] = value
        elif isinstance(value, int | float):
            params[key] = str(value)
        else:
            params[key] = ",".join(value)  # swagger allowMultiple: comma separated
    return params


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        # Originate failures say {"error": ...}; everything else {"message": ...}.
        for key in ("message", "error"):
            value = body.get(key)
            if isinstance(value, str):
                return value
    return str(body)


class AriClient:
    """Asynchronous ARI REST client (one per Asterisk).

    Use as `async with AriClient(config) as ari:`. `transport` lets tests swap the
    network (httpx.MockTransport); by default a real connection pool is used.
    """

    def __init__(
        self, config: AriConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self._http = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/") + "/",
            auth=httpx.BasicAuth(config.username, config.password),
            timeout=httpx.Timeout(config.request_timeout, connect=config.connect_timeout),
            limits=httpx.Limits(max_connections=config.max_connections,
                                max_keepalive_connections=config.max_connections),
            transport=transport,
            headers={"Accept": "application/json"},
        )
        # At most one request per pooled connection is handed to httpx: its pool matches
        # queued requests to connections with a scan of both on every change, so a
        # backlog of hundreds of calls' requests would cost milliseconds per request on
        # the event loop. Waiting here is a plain FIFO.
        self._slots = asyncio.Semaphore(config.max_connections)

    async def __aenter__(self) -> AriClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing ---------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, ParamValue] | None = None,
        *,
        json_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """One REST call; returns the decoded JSON body (None for 204)."""
        try:
            async with self._slots:
                response = await self._http.request(
                    method,
                    path.lstrip("/"),
                    params=_params(params or {}),
                    json=json_body,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                )
        except httpx.TimeoutException as exc:
            raise AriUnavailable(f"{method} {path} timed out") from exc
        except httpx.TransportError as exc:
            raise AriUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise AriError(response.status_code, _error_message(response))
        if response.status_code == 204 or not response.content:
            return None
        if not response.headers.get("content-type", "").startswith("application/json"):
            return response.content
        return response.json()

    async def _create(
        self, send: Callable[[], Awaitable[T]], fetch: Callable[[], Awaitable[T]]
    ) -> T:
        """Create with a client id; after a lost answer retry once, then look it up."""
        try:
            return await send()
        except AriUnavailable:
            _log.warning("ARI create request got no answer; retrying with the same id")
        try:
            return await send()
        except AriError as retry_error:
            if isinstance(retry_error, AriUnavailable):
                raise
            try:
                return await fetch()
            except AriError:
                raise retry_error from None

    # -- asterisk and applications --------------------------------------------------

    async def asterisk_status(self) -> AsteriskStatus:
        body = await self.request("GET", "/asterisk/info", {"only": "status"})
        return AsteriskStatus.from_json(body)

    async def ping(self) -> None:
        await self.request("GET", "/asterisk/ping")

    async def list_applications(self) -> list[Application]:
        return [Application.from_json(a) for a in await self.request("GET", "/applications")]

    async def get_application(self, name: str | None = None) -> Application:
        app = name or self.config.app
        return Application.from_json(await self.request("GET", f"/applications/{_segment(app)}"))

    async def subscribe(self, event_sources: Sequence[str], app: str | None = None) -> Application:
        """Subscribe the app to e.g. `endpoint:PJSIP/pjseat1`, `deviceState:Stasis:seat1`."""
        name = app or self.config.app
        body = await self.request(
            "POST", f"/applications/{_segment(name)}/subscription", {"eventSource": event_sources}
        )
        return Application.from_json(body)

    async def unsubscribe(
        self, event_sources: Sequence[str], app: str | None = None
    ) -> Application:
        name = app or self.config.app
        body = await self.request(
            "DELETE",
            f"/applications/{_segment(name)}/subscription",
            {"eventSource": event_sources},
        )
        return Application.from_json(body)

    # -- channels -------------------------------------------------------------------

    async def list_channels(self) -> list[Channel]:
        return [Channel.from_json(c) for c in await self.request("GET", "/channels")]

    async def get_channel(self, channel_id: str) -> Channel:
        return Channel.from_json(await self.request("GET", f"/channels/{_segment(channel_id)}"))

    async def originate(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: Sequence[str] = (),
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        timeout: int | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """One-step originate into the app (`POST /channels`): Dial events come before
        StasisStart; an unanswered call only gets ChannelDestroyed (fact 11)."""
        return await self._new_channel(
            "/channels", endpoint, app, app_args, channel_id, other_channel_id, variables,
            {"timeout": timeout, "callerId": caller_id},
        )

    async def create_channel(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: Sequence[str] = (),
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """`POST /channels/create`: StasisStart at once (state Down); then `dial()`."""
        return await self._new_channel(
            "/channels/create", endpoint, app, app_args, channel_id, other_channel_id,
            variables, {},
        )

    async def _new_channel(
        self,
        path: str,
        endpoint: str,
        app: str | None,
        app_args: Sequence[str],
        channel_id: str | None,
        other_channel_id: str | None,
        variables: Mapping[str, str] | None,
        extra: Mapping[str, ParamValue],
    ) -> Channel:
        """Both ways of making a channel, with a client-generated id (idempotent retry)."""
        cid = channel_id or new_id("ch")
        params: dict[str, ParamValue] = {
            "endpoint": endpoint,
            "app": app or self.config.app,
            "appArgs": ",".join(app_args) if app_args else None,
            "channelId": cid,
            "otherChannelId": other_channel_id,
            **extra,
        }
        body = {"variables": dict(variables)} if variables else None

        async def send() -> Channel:
            return Channel.from_json(await self.request("POST", path, params, json_body=body))

        return await self._create(send, lambda: self.get_channel(cid))

    async def dial(
        self, channel_id: str, *, timeout: int | None = None, caller: str | None = None
    ) -> None:
        await self.request(
            "POST",
            f"/channels/{_segment(channel_id)}/dial",
            {"timeout": timeout, "caller": caller},
        )

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{_segment(channel_id)}/answer")

    async def hangup(self, channel_id: str, *, reason: str | None = None) -> None:
        """`reason` is one of swagger's values (normal, busy, no_answer, ...)."""
        await self.request("DELETE", f"/channels/{_segment(channel_id)}", {"reason": reason})

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        """Play; a missing sound still answers 201 then fails; an unknown scheme never
        finishes (fact 5), so the caller must keep its own timeout."""
        return await self._play(f"/channels/{_segment(channel_id)}/play", media,
                                playback_id, lang)

    async def _play(self, path: str, media: str | Sequence[str], playback_id: str | None,
                    lang: str | None) -> Playback:
        pid = playback_id or new_id("pb")
        uris = [media] if isinstance(media, str) else list(media)

        async def send() -> Playback:
            return Playback.from_json(
                await self.request("POST", path, {"media": uris, "playbackId": pid,
                                                  "lang": lang})
            )

        return await self._create(send, lambda: self.get_playback(pid))

    async def start_moh(self, channel_id: str, *, moh_class: str | None = None) -> None:
        await self.request(
            "POST", f"/channels/{_segment(channel_id)}/moh", {"mohClass": moh_class}
        )

    async def stop_moh(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{_segment(channel_id)}/moh")

    async def record(
        self,
        channel_id: str,
        name: str,
        *,
        format: str = "wav",
        max_duration_seconds: int | None = None,
        max_silence_seconds: int | None = None,
        terminate_on: str | None = None,
        beep: bool | None = None,
        if_exists: str | None = None,
    ) -> LiveRecording:
        body = await self.request(
            "POST",
            f"/channels/{_segment(channel_id)}/record",
            {
                "name": name,
                "format": format,
                "maxDurationSeconds": max_duration_seconds,
                "maxSilenceSeconds": max_silence_seconds,
                "terminateOn": terminate_on,
                "beep": beep,
                "ifExists": if_exists,
            },
        )
        return LiveRecording.from_json(body)

    async def snoop(
        self,
        channel_id: str,
        *,
        app: str | None = None,
        spy: str | None = None,
        whisper: str | None = None,
        snoop_id: str | None = None,
        app_args: Sequence[str] = (),
    ) -> Channel:
        """Snoop channel (`spy`/`whisper`: none, both, out, in). A reused id is 500."""
        sid = snoop_id or new_id("snoop")

        async def send() -> Channel:
            return Channel.from_json(
                await self.request(
                    "POST",
                    f"/channels/{_segment(channel_id)}/snoop",
                    {
                        "app": app or self.config.app,
                        "spy": spy,
                        "whisper": whisper,
                        "snoopId": sid,
                        "appArgs": ",".join(app_args) if app_args else None,
                    },
                )
            )

        return await self._create(send, lambda: self.get_channel(sid))

    async def external_media(
        self,
        *,
        external_host: str,
        format: str = "ulaw",
        encapsulation: str = "rtp",
        transport: str = "udp",
        channel_id: str | None = None,
        app: str | None = None,
        direction: str | None = None,
        connection_type: str | None = None,
        data: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """RTP µ-law (`rtp`/`udp`/`ulaw`) or AudioSocket (`audiosocket`/`tcp`/`slin`,
        with `data` the AudioSocket UUID) towards `external_host` (host:port)."""
        cid = channel_id or new_id("media")
        body = {"variables": dict(variables)} if variables else None

        async def send() -> Channel:
            return Channel.from_json(
                await self.request(
                    "POST",
                    "/channels/externalMedia",
                    {
                        "channelId": cid,
                        "app": app or self.config.app,
                        "external_host": external_host,
                        "format": format,
                        "encapsulation": encapsulation,
                        "transport": transport,
                        "direction": direction,
                        "connection_type": connection_type,
                        "data": data,
                    },
                    json_body=body,
                )
            )

        return await self._create(send, lambda: self.get_channel(cid))

    async def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        await self.request(
            "POST",
            f"/channels/{_segment(channel_id)}/continue",
            {"context": context, "extension": extension, "priority": priority, "label": label},
        )

    async def redirect(self, channel_id: str, endpoint: str) -> None:
        await self.request(
            "POST", f"/channels/{_segment(channel_id)}/redirect", {"endpoint": endpoint}
        )

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        await self.request(
            "POST",
            f"/channels/{_segment(channel_id)}/variable",
            {"variable": variable, "value": value},
        )

    async def get_variable(self, channel_id: str, variable: str) -> str:
        body = await self.request(
            "GET", f"/channels/{_segment(channel_id)}/variable", {"variable": variable}
        )
        return str(body.get("value", "")) if isinstance(body, dict) else ""

    async def send_dtmf(self, channel_id: str, dtmf: str) -> None:
        await self.request("POST", f"/channels/{_segment(channel_id)}/dtmf", {"dtmf": dtmf})

    # -- bridges --------------------------------------------------------------------

    async def list_bridges(self) -> list[Bridge]:
        return [Bridge.from_json(b) for b in await self.request("GET", "/bridges")]

    async def get_bridge(self, bridge_id: str) -> Bridge:
        return Bridge.from_json(await self.request("GET", f"/bridges/{_segment(bridge_id)}"))

    async def create_bridge(
        self,
        *,
        bridge_id: str | None = None,
        type: BridgeType = BridgeType.MIXING,
        name: str | None = None,
    ) -> Bridge:
        bid = bridge_id or new_id("br")

        async def send() -> Bridge:
            return Bridge.from_json(
                await self.request(
                    "POST", "/bridges", {"type": type.value, "bridgeId": bid, "name": name}
                )
            )

        return await self._create(send, lambda: self.get_bridge(bid))

    async def add_channel(
        self, bridge_id: str, channel_ids: str | Sequence[str], *, role: str | None = None
    ) -> None:
        ids = [channel_ids] if isinstance(channel_ids, str) else list(channel_ids)
        await self.request(
            "POST",
            f"/bridges/{_segment(bridge_id)}/addChannel",
            {"channel": ids, "role": role},
        )

    async def remove_channel(self, bridge_id: str, channel_ids: str | Sequence[str]) -> None:
        ids = [channel_ids] if isinstance(channel_ids, str) else list(channel_ids)
        await self.request(
            "POST", f"/bridges/{_segment(bridge_id)}/removeChannel", {"channel": ids}
        )

    async def play_on_bridge(
        self,
        bridge_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        """While bridge MOH runs this fails at once (fact 8): stop MOH, play, restart."""
        return await self._play(f"/bridges/{_segment(bridge_id)}/play", media,
                                playback_id, lang)

    async def start_bridge_moh(self, bridge_id: str, *, moh_class: str | None = None) -> None:
        await self.request("POST", f"/bridges/{_segment(bridge_id)}/moh", {"mohClass": moh_class})

    async def stop_bridge_moh(self, bridge_id: str) -> None:
        """409 when no music is playing (fact 7)."""
        await self.request("DELETE", f"/bridges/{_segment(bridge_id)}/moh")

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{_segment(bridge_id)}")

    # -- playbacks and recordings ---------------------------------------------------

    async def get_playback(self, playback_id: str) -> Playback:
        return Playback.from_json(
            await self.request("GET", f"/playbacks/{_segment(playback_id)}")
        )

    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"/playbacks/{_segment(playback_id)}")

    async def get_live_recording(self, name: str) -> LiveRecording:
        return LiveRecording.from_json(
            await self.request("GET", f"/recordings/live/{_segment(name)}")
        )

    async def stop_recording(self, name: str) -> None:
        await self.request("POST", f"/recordings/live/{_segment(name)}/stop")

    async def cancel_recording(self, name: str) -> None:
        await self.request("DELETE", f"/recordings/live/{_segment(name)}")

    async def list_stored_recordings(self) -> list[StoredRecording]:
        body = await self.request("GET", "/recordings/stored")
        return [StoredRecording.from_json(r) for r in body]

    async def delete_stored_recording(self, name: str) -> None:
        await self.request("DELETE", f"/recordings/stored/{_segment(name)}")

    async def get_stored_recording_file(self, name: str) -> bytes:
        body = await self.request("GET", f"/recordings/stored/{_segment(name)}/file")
        return body if isinstance(body, bytes) else b""

    # -- endpoints and device states --------------------------------------------------

    async def list_endpoints(self) -> list[Endpoint]:
        return [Endpoint.from_json(e) for e in await self.request("GET", "/endpoints")]

    async def get_endpoint(self, technology: str, resource: str) -> Endpoint:
        return Endpoint.from_json(
            await self.request(
                "GET", f"/endpoints/{_segment(technology)}/{_segment(resource)}"
            )
        )

    async def list_device_states(self) -> list[DeviceState]:
        return [DeviceState.from_json(d) for d in await self.request("GET", "/deviceStates")]

    async def get_device_state(self, name: str) -> DeviceState:
        return DeviceState.from_json(
            await self.request("GET", f"/deviceStates/{_segment(name)}")
        )

    async def set_device_state(self, name: str, state: str) -> None:
        """Only `Stasis:` devices; `state` like NOT_INUSE, INUSE, BUSY, UNAVAILABLE."""
        await self.request("PUT", f"/deviceStates/{_segment(name)}", {"deviceState": state})

    async def delete_device_state(self, name: str) -> None:
        await self.request("DELETE", f"/deviceStates/{_segment(name)}")
