"""SQL and HTML/script injection in every text input of the API is harmless.

The text inputs are read from the OpenAPI document: every string property of every JSON
body, every string query parameter and every path parameter. A field added to a request
model is injected into without a change here; a new writing route must say here how to
reach it (`SCENARIOS`), else `test_every_writing_route_has_a_scenario` fails.

For each input and each payload the answer is below 500 and JSON; an accepted write
returns the payload verbatim and the store gives it back verbatim; afterwards every table
is still there with the rows it should have, and users still log in. The web pages put
data in the page with `textContent` only (checked on their scripts).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from api.conftest import PASSWORD, USERS, Harness
from api.test_workorders import seed_calls
from hotline.store.models import Base, User, WorkOrder

PAYLOADS = [
    "'; DROP TABLE work_orders; --",
    "\" OR 1=1; DELETE FROM users WHERE ''='",
    "' UNION SELECT password_hash, username FROM users --",
    "<script>alert('x')</script>",
    "\"><img src=x onerror=alert(1)>",
    "{{7*7}} ${7*7} %s %n \\x27",
    "nul\x00byte",
]
STATIC_JS = Path(__file__).resolve().parents[2] / "hotline" / "api" / "static" / "js"


@dataclass(frozen=True, slots=True)
class Scenario:
    """How to send one writing request: who, with which path parameters (made fresh by
    `setup` when the write changes what it acts on), a valid body to inject into, and
    where the written text can be read back."""

    user: str
    body: dict[str, Any]
    setup: Callable[[Harness], Awaitable[dict[str, str]]] | None = None
    read_back: str | None = None  # a GET path (with the same parameters)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-field body


async def _agent_on_seat(harness: Harness) -> dict[str, str]:
    headers = await harness.headers("agent1")
    await harness.client.post("/api/agents/1001/login", json={"seat_id": "s01"}, headers=headers)
    return {"agent_id": "1001"}


async def _new_order(harness: Harness) -> dict[str, str]:
    created = await harness.client.post("/api/workorders", json={"call_id": "c-1"},
                                        headers=await harness.headers("agent1"))
    assert created.status_code == 201, created.text
    return {"number": created.json()["number"]}


async def _dispatched_order(harness: Harness) -> dict[str, str]:
    params = await _new_order(harness)
    done = await harness.client.post(
        f"/api/workorders/{params['number']}/actions",
        json={"action": "dispatch", "department": "zjj"}, headers=await harness.headers("super"))
    assert done.status_code == 200, done.text
    return params


async def _call(_harness: Harness) -> dict[str, str]:
    return {"call_id": "c-1", "agent_id": "1001"}


SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("POST", "/api/auth/login"): Scenario("", {"username": "super", "password": "x"}),
    ("POST", "/api/agents/{agent_id}/login"): Scenario("agent1", {"seat_id": "s01"},
                                                       _call),
    ("POST", "/api/agents/{agent_id}/pause"): Scenario(
        "agent1", {"reason": "meal"}, _agent_on_seat, "/api/agents/{agent_id}/desk"),
    ("POST", "/api/agents/{agent_id}/call/three-way"): Scenario("agent1", {"number": "12345"},
                                                                _call),
    ("POST", "/api/agents/{agent_id}/call/transfer"): Scenario("agent1", {"queue": "general"},
                                                               _call),
    ("POST", "/api/calls/{call_id}/supervise"): Scenario(
        "super", {"mode": "listen", "endpoint": "PJSIP/9001"}, _call),
    ("POST", "/api/mode"): Scenario(
        "super", {"mode": "normal", "reason": "drill", "confirm": True}, None,
        "/api/mode/history"),
    ("POST", "/api/workorders"): Scenario(
        "agent1", {"call_id": "c-1"}, None, "/api/workorders/{number}"),
    ("POST", "/api/workorders/{number}/actions"): Scenario(
        "super", {"action": "dispatch", "department": "zjj"}, _new_order,
        "/api/workorders/{number}",
        fields={
            "answer": {"action": "answer_directly", "answer": ""},
            "reason": {"action": "return", "reason": ""},
            "parent": {"action": "merge", "parent": ""},
        }),
}
# A department returns an order dispatched to it (the `reason` of a return).
RETURN_BY = ("dept_zjj", _dispatched_order)


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def is_text(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(option.get("type") == "string" and "format" not in option
               and "enum" not in option and "const" not in option for option in options)


def body_text_fields(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, int]:
    """Text properties of the operation's JSON body, with their maximum length."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return {}
    schema = resolve(spec, content["schema"])
    out = {}
    for name, prop in schema.get("properties", {}).items():
        prop = resolve(spec, prop)
        if is_text(prop):
            lengths = [o.get("maxLength", 10_000) for o in prop.get("anyOf", [prop])]
            out[name] = max(lengths)
    return out


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def writing_routes(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m, p) for m, p, op in operations(spec) if body_text_fields(spec, op)}


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def echoed(payload: str, answer: Any) -> bool:
    return any(payload in text for text in strings(answer))


def fill(path: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: quote(params[m.group(1)], safe=""), path)


def assert_json(response: httpx.Response, what: str) -> Any:
    assert response.status_code < 500, (what, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), what
    return response.json()


async def headers_for(harness: Harness, user: str) -> dict[str, str]:
    return await harness.headers(user) if user else {}


async def test_every_writing_route_has_a_scenario(harness: Harness) -> None:
    spec = harness.app.openapi()
    assert writing_routes(spec) == set(SCENARIOS)
    fields = {(m, p, f) for m, p, op in operations(spec) for f in body_text_fields(spec, op)}
    assert len(fields) >= 15  # the enumeration sees the forms' text fields


async def test_text_in_every_body_field_is_stored_and_returned_verbatim(
        harness: Harness) -> None:
    await seed_calls(harness)
    for name in USERS:  # before the injected logins throttle this client's address
        await harness.token(name)
    spec = harness.app.openapi()
    accepted = 0
    for method, path, operation in operations(spec):
        for name, max_length in body_text_fields(spec, operation).items():
            scenario = SCENARIOS[(method, path)]
            user, setup = scenario.user, scenario.setup
            if (path, name) == ("/api/workorders/{number}/actions", "reason"):
                user, setup = RETURN_BY
            for payload in PAYLOADS:
                text = payload[:max_length]
                params = await setup(harness) if setup is not None else {}
                body = {**scenario.body, **scenario.fields.get(name, {}), name: text}
                response = await harness.client.request(
                    method, fill(path, params), json=body,
                    headers=await headers_for(harness, user))
                answer = assert_json(response, (method, path, name, text))
                if "\x00" in text and path != "/api/auth/login":
                    # PostgreSQL text cannot hold U+0000: refused as invalid, never a 500
                    # (a login with one is a wrong login: test_a_nul_in_a_login_...).
                    assert response.status_code == 422, (method, path, name, response.text)
                    continue
                if response.status_code >= 300:
                    continue
                accepted += 1
                assert echoed(text, answer), (method, path, name, text, answer)
                if scenario.read_back is not None:
                    if isinstance(answer, dict) and "number" in answer:
                        params = {**params, "number": answer["number"]}
                    again = await harness.client.get(fill(scenario.read_back, params),
                                                     headers=await headers_for(harness, user))
                    assert echoed(text, assert_json(again, scenario.read_back)), (path, name)
    # Every free-text field of the forms took the payloads (not all refused as invalid).
    assert accepted >= (len(PAYLOADS) - 1) * 7
    await assert_store_intact(harness)


async def test_text_in_query_and_path_parameters_is_only_data(harness: Harness) -> None:
    await seed_calls(harness)
    spec = harness.app.openapi()
    supervisor = await harness.headers("super")
    checked = 0
    for method, path, operation in operations(spec):
        if method != "GET":
            continue
        parameters = operation.get("parameters", [])
        path_names = [p["name"] for p in parameters if p["in"] == "path"]
        query = [p["name"] for p in parameters
                 if p["in"] == "query" and is_text(resolve(spec, p.get("schema", {})))]
        for payload in PAYLOADS:
            urls = [fill(path, dict.fromkeys(path_names, payload))] if path_names else []
            base = fill(path, dict.fromkeys(path_names, "c-1"))
            urls += [str(httpx.URL(base, params={name: payload})) for name in query]
            for url in urls:
                response = await harness.client.get(url, headers=supervisor)
                assert response.status_code < 500, (url, response.text)
                if response.status_code == 200 and url.startswith("/api/calls?"):
                    assert response.json()["total"] == 0, url  # matched nothing
                checked += 1
    assert checked >= len(PAYLOADS) * 8
    await assert_store_intact(harness)


async def assert_store_intact(harness: Harness) -> None:
    """Every table is there and answers; the users and orders are the ones made."""
    async with harness.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            await connection.scalar(select(func.count()).select_from(table))
        users = set((await connection.execute(select(User.username))).scalars())
        orders = await connection.scalar(select(func.count()).select_from(WorkOrder))
    assert users == set(USERS)
    listed = await harness.client.get("/api/workorders?limit=500",
                                      headers=await harness.headers("super"))
    assert len(listed.json()) == orders
    # From another address (this client's failed logins may have throttled its own).
    transport = httpx.ASGITransport(app=harness.app, client=("198.51.100.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hotline") as other:
        fresh = await other.post("/api/auth/login",
                                 json={"username": "admin", "password": PASSWORD})
    assert fresh.status_code == 200, fresh.text


@pytest.mark.parametrize("script", sorted(STATIC_JS.glob("*.js")), ids=lambda p: p.name)
def test_pages_never_parse_data_as_html(script: Path) -> None:
    source = script.read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "setAttribute(\"on", "srcdoc"):
        assert sink not in source, f"{script.name} uses {sink}"


async def test_a_nul_in_a_login_is_a_wrong_password(harness: Harness) -> None:
    """PostgreSQL text cannot hold U+0000: such a username is nobody, not a server error."""
    for name in ("super\x00", "\x00"):
        response = await harness.client.post("/api/auth/login",
                                             json={"username": name, "password": PASSWORD})
        assert response.status_code == 401, response.text


async def test_a_nul_in_a_url_is_refused_before_it_reaches_the_store(harness: Harness) -> None:
    supervisor = await harness.headers("super")
    for url in ("/api/calls?caller=138%00", "/api/calls/c-1%00", "/api/calls/export.csv?line=%00",
                "/api/workorders/12345%00", "/api/agents/1001%00/desk",
                "/api/mode/history?limit=1&x=%00"):
        for headers in (supervisor, {}):
            response = await harness.client.get(url, headers=headers)
            assert response.status_code == 400, (url, response.text)
            assert response.json() == {"detail": "a NUL character (%00) in the URL"}
    # "%2500" is the text "%00", not a NUL: an ordinary (empty) search.
    plain = await harness.client.get("/api/calls?caller=%2500", headers=supervisor)
    assert plain.status_code == 200 and plain.json()["total"] == 0
