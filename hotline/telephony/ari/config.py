"""Settings of the ARI connection. The password comes only from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode, urlsplit, urlunsplit

PASSWORD_ENV = "HOTLINE_ARI_PASSWORD"


@dataclass(frozen=True, slots=True)
class AriConfig:
    """Where Asterisk's ARI lives and how patiently we talk to it.

    `password` is excluded from repr so logging the config never leaks it.
    """

    base_url: str = "http://127.0.0.1:8088/ari"
    app: str = "hotline"
    username: str = "hotline"
    password: str = field(default="", repr=False)
    request_timeout: float = 5.0
    connect_timeout: float = 5.0
    # REST connections, all kept alive: a burst of calls then reuses them instead of
    # opening (and closing) one per request, which overflows Asterisk's small listen
    # backlog (a lost SYN costs 1 s, then 3 s). Asterisk's http.conf `sessionlimit`
    # (100 by default) counts them and the event websocket: stay well below it. Not
    # more than needed either: httpx's pool checks every connection (a poll() each)
    # whenever a request starts or ends; a dozen carry thousands of requests a second
    # (bench/ari.py: 50 made the event-to-request p99 twice as long).
    max_connections: int = 12
    # A dead socket (no TCP reset, e.g. a frozen host) is noticed by a missed pong.
    ping_interval: float = 10.0
    ping_timeout: float = 5.0
    close_timeout: float = 2.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    backoff_jitter: float = 0.5  # fraction of each delay drawn at random (0..1)
    subscribe_all: bool = False
    queue_size: int = 10_000

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **settings: object
    ) -> AriConfig:
        """Build from explicit settings plus HOTLINE_ARI_PASSWORD from the environment."""
        env = os.environ if environ is None else environ
        config = cls(**settings)  # type: ignore[arg-type]
        return replace(config, password=env.get(PASSWORD_ENV, ""))

    @property
    def events_url(self) -> str:
        """The websocket URL; it carries no credentials (they go in a header)."""
        parts = urlsplit(self.base_url.rstrip("/"))
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = urlencode(
            {"app": self.app, "subscribeAll": "true" if self.subscribe_all else "false"}
        )
        return urlunsplit((scheme, parts.netloc, parts.path + "/events", query, ""))
