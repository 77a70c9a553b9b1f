"""Deployment settings from `HOTLINE_*` environment variables: URLs, ports and secrets.

The centre's YAML says *what* the centre does and may be committed; these settings say
*where* it runs and hold the credentials, so they come from the environment only.
`Settings.from_environ()` is called once in `main()` and the object is passed down;
nothing reads `os.environ` deep inside. Secrets are `SecretStr`: they print as `**********`
and must be unwrapped explicitly with `.get_secret_value()` where a driver sends them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

PREFIX = "HOTLINE_"


class SettingsError(ValueError):
    """One or more `HOTLINE_*` variables are invalid; the message names each of them."""


def _no_credentials(value: str | None) -> str | None:
    if value is not None and (urlsplit(value).password is not None):
        raise ValueError("put the password in its own *_PASSWORD/*_SECRET variable, not the URL")
    return value


class Settings(BaseModel):
    """Where the centre's collaborators live and how to log in to them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    config_dir: Path = Path("config")
    # Asterisk REST Interface (the primary driver).
    ari_url: str | None = None  # e.g. http://127.0.0.1:8088/ari
    ari_user: str | None = None
    ari_password: SecretStr | None = None
    ari_app: str = "hotline"
    # Asterisk Manager Interface (queue and peer events).
    ami_host: str | None = None
    ami_port: int = Field(default=5038, ge=1, le=65535)
    ami_user: str | None = None
    ami_secret: SecretStr | None = None
    # FastAGI server this process offers to Asterisk's dialplan.
    agi_host: str = "127.0.0.1"
    agi_port: int = Field(default=4573, ge=0, le=65535)
    # Twilio webhooks.
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    # Store: a PostgreSQL URL may carry a password, so the whole URL is secret.
    database_url: SecretStr = SecretStr("sqlite:///./var/hotline.db")
    # HTTP API and web pages; loopback unless deliberately exposed.
    bind_host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    @field_validator("ari_url")
    @classmethod
    def _ari_url_without_password(cls, value: str | None) -> str | None:
        return _no_credentials(value)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `HOTLINE_<FIELD>` variables (upper case) from `environ` (default: os.environ)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = raw
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            lines = []
            for error in exc.errors(include_url=False):
                variable = PREFIX + str(error["loc"][0]).upper() if error["loc"] else PREFIX
                message = error["msg"].removeprefix("Value error, ")
                lines.append(f"{variable}: {message}")
            raise SettingsError("invalid settings:\n" + "\n".join(lines)) from None

    def database_url_for_logs(self) -> str:
        """The database URL with any password masked, safe to print."""
        return mask_url(self.database_url.get_secret_value())


def mask_url(url: str) -> str:
    """`postgresql://u:pw@h/db` -> `postgresql://u:***@h/db`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else f":***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
