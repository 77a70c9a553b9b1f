"""The API's settings: token lifetime, login throttling, push cadence, where pages live.

Read once by `hotline serve` (`ApiSettings.from_environ()`) and passed to `create_app`;
nothing in the API reads the environment itself. No secret lives here: bearer tokens are
random and only their SHA-256 digests are kept (see `hotline.api.security`), so the
API needs no signing key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

PREFIX = "HOTLINE_API_"


class ApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # A session lasts one long shift; the agent logs in again after it.
    token_ttl_s: float = Field(default=12 * 3600.0, gt=0)
    # Login throttling: this many failures within the window, per username and per
    # client address, then 429 with Retry-After until the oldest failure leaves it.
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: float = Field(default=300.0, gt=0)
    # Argon2id cost for new hashes (verification reads the cost from the hash itself).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=64 * 1024, ge=32)
    # Websockets: the wallboard's refresh period and how long a client has to send its
    # token after connecting.
    wallboard_period_s: float = Field(default=1.0, gt=0)
    ws_auth_timeout_s: float = Field(default=10.0, gt=0)
    # Searches and exports.
    max_page: int = Field(default=500, ge=1)
    max_report_days: int = Field(default=92, ge=1)
    # The web pages (HTML/JS/CSS) served under `/`; None: the bundled `hotline/api/static`.
    static_dir: Path | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        """`HOTLINE_API_TOKEN_TTL_S=3600` and so on; unknown variables are ignored."""
        env = os.environ if environ is None else environ
        values = {
            name: env[PREFIX + name.upper()]
            for name in cls.model_fields
            if PREFIX + name.upper() in env
        }
        return cls.model_validate(values)
