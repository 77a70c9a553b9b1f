"""Fuzzing every operation of the OpenAPI document: no input gives a server error.

schemathesis generates requests from the app's own `/openapi.json`, valid ones and
invalid ones, for every operation; each is sent with a real user's token (a supervisor
on both databases; an agent and a department user once) and must be answered below 500.
A 2xx answer must also match the response schema the document declares for it (those
are exact: the routes' response models); error answers are not checked against the
document, which names only some of them.

Generation is derandomised (Hypothesis' `derandomize`, no example database) and bounded,
so a run is reproducible: the same requests in the same order every time. Each operation
is fuzzed twice: with generated path parameters (mostly unknown ids) and with ones naming
a real agent, call and work order, so the bodies reach the handlers' logic instead of
stopping at a 404. The agent and the department user get every other request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.conftest import Harness, on_databases
from api.test_workorders import seed_calls

BASE = "http://hotline"
# Examples per operation, per generation mode (valid, invalid) and per kind of path
# parameters (generated, known): about 600 requests for a supervisor.
EXAMPLES = 10
# Logging out would end the session the run uses (test_access checks logout itself).
SKIPPED = {("POST", "/api/auth/logout")}


@dataclass(frozen=True, slots=True)
class Sent:
    case: Case
    response: httpx.Response

    def describe(self, problem: str) -> str:
        request = self.response.request
        body = request.content.decode("utf-8", "replace")[:300]
        return (f"{request.method} {request.url} body={body!r} -> "
                f"{self.response.status_code} {self.response.text[:300]!r}: {problem}")


def draw(strategy: st.SearchStrategy[Case], examples: int) -> list[Case]:
    """Up to `examples` cases, the same ones on every run."""
    cases: list[Case] = []

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(case: Case) -> None:
        cases.append(case)

    with contextlib.suppress(Unsatisfiable):  # e.g. no invalid input for a route without any
        collect()
    return cases


PLAIN = {"type", "title", "description"}


def can_be_invalid(declared: dict[str, Any]) -> bool:
    """Whether an operation has any input that can be invalid: a body, or a parameter
    that is more than any string (a path's plain string parameter cannot be)."""
    if "requestBody" in declared:
        return True
    for parameter in declared.get("parameters", []):
        schema = parameter.get("schema", {})
        if set(schema) - PLAIN or schema.get("type") != "string":
            return True
    return False


@functools.cache
def cached_cases(spec_json: str, known_json: str, examples: int) -> tuple[Case, ...]:
    """Generated once per test run for a given spec (generation costs seconds)."""
    return tuple(cases_for(json.loads(spec_json), json.loads(known_json), examples))


def cases_for(spec: dict[str, Any], known: dict[str, str], examples: int) -> list[Case]:
    schema = schemathesis.openapi.from_dict(spec)
    cases: list[Case] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        names = {p.name for p in operation.path_parameters}
        fixed = {name: known[name] for name in names if name in known}
        variants: list[dict[str, str] | None] = [None, fixed] if fixed else [None]
        modes = [GenerationMode.POSITIVE]
        if can_be_invalid(spec["paths"][operation.path][operation.method.lower()]):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            for path_parameters in variants:
                strategy = operation.as_strategy(mode, path_parameters=path_parameters)
                cases.extend(draw(strategy, examples))
    return cases


def request_kwargs(case: Case, headers: dict[str, str]) -> dict[str, Any]:
    """schemathesis' rendering of a case (requests' keywords) as httpx's."""
    rendered = case.as_transport_kwargs(base_url=BASE, headers=headers)
    out: dict[str, Any] = {
        "method": rendered["method"], "url": rendered["url"],
        "headers": rendered.get("headers") or {}, "params": rendered.get("params"),
    }
    if "json" in rendered:
        out["json"] = rendered["json"]
    elif rendered.get("data") is not None:
        data = rendered["data"]
        out["content"] = data if isinstance(data, bytes | str) else json.dumps(data)
    return out


async def send_all(harness: Harness, cases: list[Case], user: str) -> list[Sent]:
    headers = await harness.headers(user)
    sent = []
    for case in cases:
        kwargs = request_kwargs(case, headers)
        response = await harness.client.request(**kwargs)
        sent.append(Sent(case, response))
    return sent


def problems(sent: list[Sent]) -> list[str]:
    found = []
    for item in sent:
        checks: list[Callable[..., bool | None]] = [not_a_server_error]
        if 200 <= item.response.status_code < 300:
            checks.append(response_schema_conformance)
        try:
            item.case.validate_response(item.response, checks=checks)
        except FailureGroup as group:
            found.append(item.describe("; ".join(str(f.title) for f in group.exceptions)))
    return found


async def prepared(harness: Harness) -> dict[str, str]:
    """A call and a work order to aim at; the ids the fuzz uses as known path parameters."""
    await seed_calls(harness)
    created = await harness.client.post(
        "/api/workorders", json={"call_id": "c-1", "content": "电梯故障"},
        headers=await harness.headers("agent1"))
    assert created.status_code == 201, created.text
    return {"agent_id": "1001", "call_id": "c-1", "number": created.json()["number"]}


async def fuzz(harness: Harness, users: tuple[str, ...], every: int = 1) -> None:
    known = await prepared(harness)
    for user in users:  # before the fuzz's failed logins throttle this client's address
        await harness.token(user)
    spec = json.dumps(harness.app.openapi(), sort_keys=True)
    generated = await asyncio.to_thread(cached_cases, spec, json.dumps(known, sort_keys=True),
                                        EXAMPLES)
    by_operation: dict[tuple[str, str], list[Case]] = {}
    for case in generated:
        by_operation.setdefault((case.method.upper(), case.operation.path), []).append(case)
    declared = {(method.upper(), path) for path, operations in harness.app.openapi()["paths"]
                .items() for method in operations}
    assert set(by_operation) == declared - SKIPPED  # every operation is fuzzed
    cases = [case for group in by_operation.values() for case in group[::every]]
    found: list[str] = []
    for user in users:
        sent = await send_all(harness, cases, user)
        statuses = {item.response.status_code for item in sent}
        assert statuses & {200, 201, 204}, f"{user}: nothing succeeded ({sorted(statuses)})"
        found += problems(sent)
    assert found == [], "\n".join(found)


async def test_no_server_error_for_a_supervisor(harness: Harness) -> None:
    await fuzz(harness, ("super",))


@on_databases("sqlite")
async def test_no_server_error_for_an_agent_or_a_department(harness: Harness) -> None:
    await fuzz(harness, ("agent1", "dept_zjj"), every=2)
