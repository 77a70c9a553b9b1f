"""The live picture the API serves: the 15-second answer rate with its definition, the
softphone registration of each seat, one shared picture per change, and the screen pop's
caller history (past calls and work orders, newest first, bounded, none when withheld)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from web.pbx import ScriptedPbx

from api.conftest import PASSWORD, Harness
from hotline.api import Services, create_app
from hotline.api.presence import SoftphoneStatus
from hotline.api.views import LiveViews
from hotline.store.calls import upsert_calls
from hotline.vocabulary.events import AgentLoggedIn

CALLER = "13800138000"


async def _ready(harness: Harness, name: str, agent: str, seat: str) -> dict[str, str]:
    headers = await harness.headers(name)
    c = harness.client
    assert (await c.post(f"/api/agents/{agent}/login", json={"seat_id": seat},
                         headers=headers)).status_code == 200
    assert (await c.post(f"/api/agents/{agent}/ready", headers=headers)).status_code == 200
    return headers


def _kpi(report: dict[str, object], scope: str, name: str) -> dict[str, object]:
    scopes = report["scopes"]
    assert isinstance(scopes, list)
    found = next(s for s in scopes if s["scope"] == scope)
    return next(k for k in found["kpis"] if k["name"] == name)


async def test_queue_kpis_carry_the_15_second_answer_rate_and_its_definition(
        harness: Harness) -> None:
    await _ready(harness, "agent1", "1001", "s01")
    pbx = ScriptedPbx().attach(harness.runtime)
    ring = await pbx.call_until_ringing("c-fast", CALLER, "12345", [])
    await pbx.answer(ring)
    await harness.runtime.drain()
    report = (await harness.client.get("/api/kpis",
                                       headers=await harness.headers("super"))).json()
    pop = harness.services.screen_pops.get("c-fast")
    assert pop is not None and pop.queue is not None
    queue = f"queue:{pop.queue}"
    rate = _kpi(report, queue, "answer_rate_15s")
    assert rate["unit"] == "ratio"
    assert rate["value"] == 1.0  # answered at once: 1 within 15 s / 1 offered
    definition = str(rate["definition"])
    assert "within 15 s" in definition and "offered" in definition and "/" in definition
    # Beside it, the answer rate and the service level, each with its own definition.
    for name in ("answer_rate", "service_level"):
        assert "/" in str(_kpi(report, queue, name)["definition"])


async def test_the_picture_is_rebuilt_only_when_stale(harness: Harness) -> None:
    now = [100.0]
    views = LiveViews(harness.runtime, None, max_age_s=1.0, min_gap_s=0.5,
                      monotonic=lambda: now[0])
    first = views.picture()
    assert views.picture() is first  # nothing moved
    await harness.runtime.post(AgentLoggedIn("1001", "s01", time.time()))
    await harness.runtime.drain()
    assert views.picture() is first  # the log moved, but the picture is younger than the gap
    assert views.picture(fresh=True) is not first  # a wallboard push wants the latest
    second = views.picture()
    now[0] += 0.6
    assert views.picture() is second  # nothing moved since: still good until max age
    now[0] += 0.5
    third = views.picture()
    assert third is not second  # older than a tick: waits have moved on
    views.invalidate()
    assert views.picture() is not third
    assert views.builds == 4
    seat = third.live()
    assert seat is not None and [s.state for s in seat.seats if s.agent_id == "1001"] == [
        "paused"]


async def test_live_reads_back_the_apis_own_writes_at_once(harness: Harness) -> None:
    c, s = harness.client, await harness.headers("super")
    before = (await c.get("/api/live", headers=s)).json()
    assert all(x["agent_id"] != "1001" for x in before["seats"])
    await _ready(harness, "agent1", "1001", "s01")
    seats = (await c.get("/api/live", headers=s)).json()["seats"]
    assert [(x["agent_id"], x["state"]) for x in seats if x["agent_id"] == "1001"] == [
        ("1001", "ready")]
    assert seats[0]["softphone"] == "unknown"  # no presence source: unknown, not guessed
    kpis = await c.get("/api/kpis", headers=s)
    assert kpis.status_code == 200 and kpis.headers["content-type"] == "application/json"
    assert kpis.json()["scopes"][0]["scope"] == "centre"


@dataclass
class FakePresence:
    """What the AMI presence monitor would report, by endpoint."""

    known: dict[str, SoftphoneStatus]

    def softphone(self, endpoint: str) -> SoftphoneStatus | None:
        return self.known.get(endpoint)


Served = tuple[httpx.AsyncClient, dict[str, str]]  # a client and a supervisor's headers


@pytest.fixture
async def with_presence(harness: Harness) -> AsyncIterator[Served]:
    """The same centre served by an app whose services have a presence source."""
    config = harness.services.centre.config
    s01, s02 = config.seats["s01"].endpoint, config.seats["s02"].endpoint
    presence = FakePresence({
        s01: SoftphoneStatus(True, "sip:8001@192.0.2.10:5060", "NOT_INUSE", 1_700_000_000.0),
        s02: SoftphoneStatus(False, "", "UNAVAILABLE", 1_700_000_100.0),
    })
    services = Services.build(runtime=harness.runtime, engine=harness.engine,
                              centre=harness.services.centre,
                              catalogue=harness.services.catalogue,
                              settings=harness.settings, presence=presence)
    app = create_app(services, harness.settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hotline") as client:
        login = await client.post("/api/auth/login",
                                  json={"username": "super", "password": PASSWORD})
        assert login.status_code == 200, login.text
        yield client, {"Authorization": f"Bearer {login.json()['token']}"}


async def test_seats_show_their_softphones_registration(
        harness: Harness, with_presence: Served) -> None:
    for name, agent, seat in (("agent1", "1001", "s01"), ("agent2", "1002", "s02")):
        await _ready(harness, name, agent, seat)
    client, headers = with_presence
    seats = {s["seat_id"]: s for s in (await client.get("/api/live", headers=headers)
                                       ).json()["seats"]}
    assert seats["s01"]["softphone"] == "registered"
    assert seats["s01"]["softphone_since"] == 1_700_000_000.0
    assert seats["s02"]["softphone"] == "unregistered"
    assert seats["s01"]["endpoint"] == harness.services.centre.config.seats["s01"].endpoint
    spec = harness.app.openapi()["components"]["schemas"]["SeatOut"]["properties"]
    assert spec["softphone"]["enum"] == ["registered", "unregistered", "unknown"]


async def _past_calls(harness: Harness, caller: str, count: int, *, before: float) -> None:
    await upsert_calls(harness.engine, [
        {"call_id": f"past-{caller or 'withheld'}-{i:02d}", "line": "12345", "caller": caller,
         "arrived_at": before - 3600 * (count - i), "answered_at": before - 3600 * (count - i)
         + 8, "ended_at": before - 3600 * (count - i) + 200, "queue": "general",
         "agent": "1002", "seat": "s02", "wait_s": 8.0, "talk_s": 192.0,
         "outcome": "answered"}
        for i in range(count)
    ])


async def test_screen_pop_shows_the_callers_past_calls_and_orders_newest_first(
        harness: Harness) -> None:
    now = time.time()
    await _past_calls(harness, CALLER, 12, before=now)
    await _past_calls(harness, "13900139000", 2, before=now)  # another citizen
    c, sup = harness.client, await harness.headers("super")
    older = await c.post("/api/workorders", json={"call_id": f"past-{CALLER}-03",
                                                  "content": "路灯不亮"}, headers=sup)
    newer = await c.post("/api/workorders", json={"call_id": f"past-{CALLER}-10",
                                                  "content": "小区电梯故障"}, headers=sup)
    assert older.status_code == newer.status_code == 201, older.text
    a1 = await _ready(harness, "agent1", "1001", "s01")
    pbx = ScriptedPbx().attach(harness.runtime)
    ring = await pbx.call_until_ringing("c-now", CALLER, "12345", [])
    assert ring.agent_id == "1001"

    desk = (await c.get("/api/agents/1001/desk", headers=a1)).json()
    history = desk["call"]["history"]
    assert history["limit"] == 10
    assert [x["call_id"] for x in history["calls"]] == [
        f"past-{CALLER}-{i:02d}" for i in range(11, 1, -1)]  # newest first, ten of twelve
    assert all(x["call_id"] != "c-now" for x in history["calls"])
    assert [o["number"] for o in history["orders"]] == [newer.json()["number"],
                                                        older.json()["number"]]
    assert history["orders"][0]["content"] == "小区电梯故障"

    # Another agent sees neither this call nor its caller's history.
    a2 = await harness.headers("agent2")
    assert (await c.get("/api/agents/1001/desk", headers=a2)).status_code == 403
    assert (await c.get("/api/agents/1002/desk", headers=a2)).json()["call"] is None


async def test_a_withheld_number_has_no_history(harness: Harness) -> None:
    await _past_calls(harness, "", 3, before=time.time())  # other withheld calls
    a1 = await _ready(harness, "agent1", "1001", "s01")
    pbx = ScriptedPbx().attach(harness.runtime)
    await pbx.call_until_ringing("c-anon", "", "12345", [])
    desk = (await harness.client.get("/api/agents/1001/desk", headers=a1)).json()
    assert desk["call"]["caller"] == ""
    assert desk["call"]["history"] == {"calls": [], "orders": [], "limit": 10}
