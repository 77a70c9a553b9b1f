"""Every route refuses the anonymous (401) and the roles it does not serve (403).

The table below must name every route of the app: a route added without an entry here
fails `test_every_route_is_listed`, so none escapes the checks.
"""

from __future__ import annotations

import re

import pytest

from api.conftest import ROLE_USER, Harness
from hotline.store.models import UserRole

A, S, AD, D = UserRole.AGENT, UserRole.SUPERVISOR, UserRole.ADMIN, UserRole.DEPARTMENT
EVERYONE = frozenset(UserRole)
PUBLIC = {("GET", "/api/health"), ("POST", "/api/auth/login")}

ROLES: dict[tuple[str, str], frozenset[UserRole]] = {
    ("POST", "/api/auth/logout"): EVERYONE,
    ("GET", "/api/auth/me"): EVERYONE,
    ("GET", "/api/catalogue"): EVERYONE,
    ("GET", "/api/agents/{agent_id}/desk"): frozenset({A, S, AD}),
    ("POST", "/api/agents/{agent_id}/login"): frozenset({A}),
    ("POST", "/api/agents/{agent_id}/ready"): frozenset({A}),
    ("POST", "/api/agents/{agent_id}/pause"): frozenset({A}),
    ("POST", "/api/agents/{agent_id}/wrap-up-done"): frozenset({A}),
    ("POST", "/api/agents/{agent_id}/logout"): frozenset({A, S, AD}),
    ("POST", "/api/agents/{agent_id}/call/hold"): frozenset({A}),
    ("POST", "/api/agents/{agent_id}/call/resume"): frozenset({A}),
    ("POST", "/api/agents/{agent_id}/call/hangup"): frozenset({A}),
    ("POST", "/api/agents/{agent_id}/call/three-way"): frozenset({A}),
    ("POST", "/api/agents/{agent_id}/call/leave-three-way"): frozenset({A}),
    ("POST", "/api/agents/{agent_id}/call/transfer"): frozenset({A}),
    ("POST", "/api/calls/{call_id}/supervise"): frozenset({S, AD}),
    ("POST", "/api/calls/{call_id}/supervise/leave"): frozenset({S, AD}),
    ("GET", "/api/live"): frozenset({S, AD}),
    ("GET", "/api/kpis"): frozenset({S, AD}),
    ("GET", "/api/staffing"): frozenset({S, AD}),
    ("POST", "/api/mode"): frozenset({S, AD}),
    ("GET", "/api/mode/history"): frozenset({S, AD}),
    ("GET", "/api/calls"): frozenset({S, AD}),
    ("GET", "/api/calls/export.csv"): frozenset({S, AD}),
    ("GET", "/api/calls/{call_id}"): frozenset({A, S, AD}),
    ("GET", "/api/reports/daily"): frozenset({S, AD}),
    ("POST", "/api/workorders"): frozenset({A, S, AD}),
    ("GET", "/api/workorders"): EVERYONE,
    ("GET", "/api/workorders/{number}"): EVERYONE,
    ("POST", "/api/workorders/{number}/actions"): EVERYONE,
}
PARAMS = {"agent_id": "1001", "number": "12345-20260310-000001", "call_id": "c-1"}


def api_routes(harness: Harness) -> set[tuple[str, str]]:
    """Every HTTP operation the app declares (its OpenAPI document lists them all)."""
    spec = harness.app.openapi()
    return {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
    }


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], path)


async def test_every_route_is_listed(harness: Harness) -> None:
    assert api_routes(harness) == set(ROLES) | PUBLIC
    assert all(path.startswith("/api/") for _, path in api_routes(harness))


async def test_anonymous_gets_401_everywhere(harness: Harness) -> None:
    for method, path in sorted(api_routes(harness) - PUBLIC):
        for headers in ({}, {"Authorization": "Bearer not-a-token"},
                        {"Authorization": "Basic c3VwZXI6eA=="}):
            response = await harness.client.request(method, concrete(path), json={},
                                                    headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_api_paths_need_authentication_too(harness: Harness) -> None:
    assert (await harness.client.get("/api/no-such-thing")).status_code == 401
    headers = await harness.headers("super")
    assert (await harness.client.get("/api/no-such-thing", headers=headers)).status_code == 404


async def test_wrong_role_gets_403(harness: Harness) -> None:
    checked = 0
    for (method, path), allowed in sorted(ROLES.items()):
        for role in sorted(set(UserRole) - allowed):
            headers = await harness.headers(ROLE_USER[role])
            response = await harness.client.request(method, concrete(path), json={},
                                                    headers=headers)
            assert response.status_code == 403, (method, path, role, response.text)
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("name", sorted(ROLE_USER.values()))
async def test_logout_revokes_the_token(harness: Harness, name: str) -> None:
    headers = await harness.headers(name)
    assert (await harness.client.get("/api/auth/me", headers=headers)).status_code == 200
    assert (await harness.client.post("/api/auth/logout", headers=headers)).status_code == 204
    assert (await harness.client.get("/api/auth/me", headers=headers)).status_code == 401


async def test_health_and_openapi_are_public(harness: Harness) -> None:
    health = await harness.client.get("/api/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    spec = await harness.client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert "/api/workorders/{number}/actions" in paths and "/api/mode" in paths
    assert (await harness.client.get("/docs")).status_code == 404  # no CDN-script pages


async def test_security_headers_on_every_response(harness: Harness) -> None:
    supervisor = await harness.headers("super")
    for response in (
        await harness.client.get("/api/health"),
        await harness.client.get("/api/live"),  # 401
        await harness.client.get("/api/live", headers=supervisor),
        await harness.client.get("/api/calls/export.csv", headers=supervisor),
        await harness.client.get("/openapi.json"),
    ):
        h = response.headers
        csp = h["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert h["x-content-type-options"] == "nosniff"
        assert h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "no-referrer"
        assert h["cache-control"] == "no-store"


async def test_login_answers_the_same_for_unknown_user_and_wrong_password(
        harness: Harness) -> None:
    unknown = await harness.client.post("/api/auth/login",
                                        json={"username": "nobody", "password": "x"})
    wrong = await harness.client.post("/api/auth/login",
                                      json={"username": "super", "password": "x"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


async def test_login_throttled_per_username(harness: Harness) -> None:
    for _ in range(harness.settings.login_max_failures):
        response = await harness.client.post(
            "/api/auth/login", json={"username": "agent1", "password": "wrong"})
        assert response.status_code == 401
    blocked = await harness.client.post(
        "/api/auth/login", json={"username": "agent1", "password": "correct horse battery staple"})
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= harness.settings.login_window_s
    # Other users from another address are not locked out by it.
    other = harness.services.throttle.retry_after("user:agent2", "addr:198.51.100.1")
    assert other is None


async def test_login_throttled_per_address(harness: Harness) -> None:
    for i in range(harness.settings.login_max_failures):
        response = await harness.client.post(
            "/api/auth/login", json={"username": f"guess{i}", "password": "wrong"})
        assert response.status_code == 401
    blocked = await harness.client.post(
        "/api/auth/login", json={"username": "super", "password": "correct horse battery staple"})
    assert blocked.status_code == 429 and "retry-after" in blocked.headers
