"""Deployment settings from `HOTLINE_*` environment variables: URLs, ports and secrets.

The centre's YAML says *what* the centre does and may be committed; these settings say
*where* it runs and hold the credentials, so they come from the environment only.
`Settings.from_environ()` is called once in `main()` and the object is passed down;
nothing reads `os.environ` deep inside. Secrets are `SecretStr`: they print as `**********`
and must be unwrapped explicitly with `.get_secret_value()` where a driver sends them.

Asterisk: one server is `HOTLINE_ARI_URL` (or `ASTERISK_ARI_URL`, the name the live tests
use), `HOTLINE_ARI_USER` (or `ASTERISK_ARI_USER`), `HOTLINE_ARI_PASSWORD`; its AMI (seat
presence) runs when `HOTLINE_AMI_SECRET` is set, on `HOTLINE_AMI_HOST` (or
`ASTERISK_AMI_HOST`, else the ARI URL's host), `HOTLINE_AMI_PORT`/`HOTLINE_AMI_USER` (or
`ASTERISK_AMI_PORT`/`ASTERISK_AMI_USER`); the FastAGI server listens on
`HOTLINE_AGI_HOST:HOTLINE_AGI_PORT`. Several servers: `HOTLINE_ASTERISK_SERVERS=ast1,ast2`
and per server the same variables with the server's name as a suffix
(`HOTLINE_ARI_URL_AST2`, `HOTLINE_AMI_HOST_AST2`, `HOTLINE_AGI_PORT_AST2`, ...); a
variable without the suffix is the default for every server (the FastAGI port then
counts up from `HOTLINE_AGI_PORT`, one listener per server).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

PREFIX = "HOTLINE_"
SERVERS_VARIABLE = "HOTLINE_ASTERISK_SERVERS"
# The names the live tests (tests/live) and the bench already use; `HOTLINE_*` wins.
ALIASES: Mapping[str, str] = {
    "ari_url": "ASTERISK_ARI_URL",
    "ari_user": "ASTERISK_ARI_USER",
    "ami_host": "ASTERISK_AMI_HOST",
    "ami_port": "ASTERISK_AMI_PORT",
    "ami_user": "ASTERISK_AMI_USER",
}
# What a server of several may set for itself (`HOTLINE_<FIELD>_<SERVER>`).
_PER_SERVER = ("ari_url", "ari_user", "ari_password", "ari_app", "ami_host", "ami_port",
               "ami_user", "ami_secret", "agi_port")


class SettingsError(ValueError):
    """One or more `HOTLINE_*` variables are invalid; the message names each of them."""


def _no_credentials(value: str | None) -> str | None:
    if value is not None and (urlsplit(value).password is not None):
        raise ValueError("put the password in its own *_PASSWORD/*_SECRET variable, not the URL")
    return value


class AsteriskServer(BaseModel):
    """One Asterisk the centre runs beside: its ARI (calls), AMI (seat presence, when a
    secret is given) and the FastAGI listener this process offers its dialplan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Qualifies call ids (`<name>:<channel id>`), so two servers never collide.
    name: str = Field(default="ast1", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
    ari_url: str
    ari_user: str = "hotline"
    ari_password: SecretStr | None = None
    ari_app: str = Field(default="hotline", pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    ami_host: str | None = None  # None: the ARI URL's host
    ami_port: int = Field(default=5038, ge=1, le=65535)
    ami_user: str = "hotline"
    ami_secret: SecretStr | None = None  # AMI (presence) runs only with a secret
    agi_host: str = "127.0.0.1"
    agi_port: int | None = Field(default=4573, ge=0, le=65535)  # None: no FastAGI

    @field_validator("ari_url")
    @classmethod
    def _ari_url_without_password(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("an http:// or https:// URL, e.g. http://127.0.0.1:8088/ari")
        _no_credentials(value)
        return value

    @property
    def ami(self) -> bool:
        return self.ami_secret is not None

    @property
    def ami_address(self) -> str:
        return self.ami_host or urlsplit(self.ari_url).hostname or "127.0.0.1"


def _suffix(server: str) -> str:
    return server.upper().replace("-", "_")


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
    agi_enabled: bool = True
    # The name of the one server (call ids `<name>:<channel id>`); several: `servers`.
    asterisk_name: str = Field(default="ast1", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
    # Several Asterisk servers (HOTLINE_ASTERISK_SERVERS and suffixed variables).
    servers: tuple[AsteriskServer, ...] = ()
    # How the ARI driver dials out (callbacks, three-way parties): through your trunk.
    dial_template: str = "PJSIP/{number}@trunk"
    callback_caller_id: str = "12345"  # the number a called-back citizen sees
    moh_class: str | None = None  # Asterisk's music-on-hold class for waiting callers
    # Where Asterisk sends a caller's audio for speech (externalMedia AudioSocket); port
    # 0 picks a free one (each request names it).
    media_host: str = "127.0.0.1"
    media_port: int = Field(default=0, ge=0, le=65535)
    # Asterisk's sounds directory (`astdatadir`/sounds, readable by Asterisk): where
    # `hotline prompts build` puts the catalogue and where announcements with numbers
    # are spoken at run time (hotline/tts/). Unset: pre-rendered prompts only.
    sounds_dir: Path | None = None
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

    @field_validator("dial_template")
    @classmethod
    def _dial_template_has_number(cls, value: str) -> str:
        if "{number}" not in value or value.count("{") != 1 or value.count("}") != 1:
            raise ValueError("one {number} where the dialled number goes, e.g. "
                             "PJSIP/{number}@trunk")
        return value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `HOTLINE_<FIELD>` variables (upper case) from `environ` (default: os.environ)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name in cls.model_fields:
            if name == "servers":
                continue
            for variable in (PREFIX + name.upper(), ALIASES.get(name)):
                raw = env.get(variable) if variable else None
                if raw is not None and raw != "" and variable is not None:
                    values[name] = raw
                    sources[name] = variable
                    break
        problems: list[str] = []
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            problems += _problems(exc, lambda field: sources.get(field, PREFIX + field.upper()))
            settings = None
        names = [n.strip() for n in env.get(SERVERS_VARIABLE, "").split(",") if n.strip()]
        servers: list[AsteriskServer] = []
        if settings is not None and names:
            if len(set(map(_suffix, names))) != len(names):
                problems.append(f"{SERVERS_VARIABLE}: a server is named twice")
            for index, server in enumerate(names):
                built = _server_from_environ(settings, server, index, env, problems)
                if built is not None:
                    servers.append(built)
            ports: dict[int, str] = {}
            for built in servers:
                if built.agi_port:  # 0 picks a free port: never shared
                    other = ports.setdefault(built.agi_port, built.name)
                    if other != built.name:
                        problems.append(f"{PREFIX}AGI_PORT_{_suffix(built.name)}: port "
                                        f"{built.agi_port} is {other}'s FastAGI port too")
        elif settings is not None:
            try:
                settings.asterisk()
            except ValidationError as exc:
                problems += _problems(exc, lambda field: sources.get(
                    "asterisk_name" if field == "name" else field, PREFIX + field.upper()))
        if problems:
            raise SettingsError("invalid settings:\n" + "\n".join(problems))
        assert settings is not None
        return settings.model_copy(update={"servers": tuple(servers)}) if servers else settings

    def asterisk(self) -> tuple[AsteriskServer, ...]:
        """The Asterisk servers to run beside: the several ones, else the one named by
        `ari_url`, else none (then `hotline serve` simulates calls by default)."""
        if self.servers:
            return self.servers
        if self.ari_url is None:
            return ()
        return (AsteriskServer(
            name=self.asterisk_name, ari_url=self.ari_url, ari_user=self.ari_user or "hotline",
            ari_password=self.ari_password, ari_app=self.ari_app, ami_host=self.ami_host,
            ami_port=self.ami_port, ami_user=self.ami_user or "hotline",
            ami_secret=self.ami_secret, agi_host=self.agi_host,
            agi_port=self.agi_port if self.agi_enabled else None,
        ),)

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


def _problems(exc: ValidationError, variable_of: Callable[[str], str]) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{variable_of(field) if field else PREFIX}: {message}")
    return lines


def _server_from_environ(
    settings: Settings, server: str, index: int, env: Mapping[str, str], problems: list[str]
) -> AsteriskServer | None:
    """One of several servers: `HOTLINE_<FIELD>_<SERVER>`, else the shared value."""
    suffix = _suffix(server)
    values: dict[str, Any] = {"name": server, "agi_host": settings.agi_host}
    sources: dict[str, str] = {"name": SERVERS_VARIABLE}
    shared: dict[str, Any] = {
        "ari_user": settings.ari_user, "ari_password": settings.ari_password,
        "ari_app": settings.ari_app, "ami_port": settings.ami_port,
        "ami_user": settings.ami_user, "ami_secret": settings.ami_secret,
    }
    for name in _PER_SERVER:
        variable = f"{PREFIX}{name.upper()}_{suffix}"
        raw = env.get(variable)
        if raw:
            values[name] = raw
            sources[name] = variable
        elif shared.get(name) is not None:
            values[name] = shared[name]
            sources[name] = PREFIX + name.upper()
    if "ari_url" not in values:
        problems.append(f"{PREFIX}ARI_URL_{suffix}: not set (server {server!r} of "
                        f"{SERVERS_VARIABLE} needs its ARI URL)")
        return None
    if not settings.agi_enabled:
        values["agi_port"] = None
    elif "agi_port" not in values:
        # One listener per server, each with its own call-id prefix.
        values["agi_port"] = settings.agi_port + index if settings.agi_port else 0
    try:
        return AsteriskServer.model_validate(values)
    except ValidationError as exc:
        problems += _problems(exc, lambda field: sources.get(field, f"{PREFIX}{field.upper()}"))
        return None
