"""Two ASGI middlewares that every HTTP request passes through.

`SecurityHeaders` adds the browser protections to every response (a Content-Security-
Policy that allows no inline script, no framing, no MIME sniffing, no referrer leak) and
`Cache-Control: no-store` to everything under `/api`.

`RequireAuthentication` is the gate: under `/api`, nothing but the public paths is
routed without a valid bearer token; the resolved `Principal` is put in the request
state for the role checks in `hotline.api.deps`. It sits before routing, so a route
added without a role check, an unknown path or a malformed body still gets 401 first.
Before that it refuses (400) a URL carrying a NUL character (``%00``) in its path or
query: no id or search term has one, and PostgreSQL cannot even compare text holding
it, so it would reach the store only to fail there. Websockets are not gated here:
they authenticate with their first message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline.api.security import Principal

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), geolocation=(), microphone=(self)"),
)
API_PREFIX = "/api"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = _under_api(scope["path"]) or scope["path"] == "/openapi.json"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(n, v) for n, v in HEADERS if n not in names]
                if no_store:
                    headers = [(n, v) for n, v in headers if n.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _under_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


class RequireAuthentication:
    def __init__(
        self,
        app: ASGIApp,
        resolve: Callable[[Scope], Principal | None],
        public: Iterable[tuple[str, str]],
    ) -> None:
        self.app = app
        self._resolve = resolve
        self._public = frozenset(public)  # (method, path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _under_api(scope["path"]):
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            await _refuse(send, 400, "a NUL character (%00) in the URL", ())
            return
        if (scope["method"], scope["path"]) not in self._public:
            principal = self._resolve(scope)
            if principal is None:
                await _unauthorised(send)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


async def _unauthorised(send: Send) -> None:
    await _refuse(send, 401, "authentication required",
                  ((b"www-authenticate", b'Bearer realm="hotline"'),))


async def _refuse(send: Send, status: int, detail: str,
                  extra: tuple[tuple[bytes, bytes], ...]) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ],
    })
    await send({"type": "http.response.body", "body": body})
