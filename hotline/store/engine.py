"""Async engines for the store: SQLite (embedded default) and PostgreSQL (production).

URLs are SQLAlchemy URLs, ``sqlite+aiosqlite:///path/to/hotline.db`` or
``postgresql+asyncpg://user@host/db``. The password comes from the environment (the URL
itself, or ``HOTLINE_DATABASE_PASSWORD`` filled in by `database_url_from_env`) and is hidden
wherever a URL is shown: `show_url` for logs, health pages and error messages.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_SQLITE_PATH = Path("hotline.db")
SQLITE_BUSY_TIMEOUT_MS = 5000

# Environment variables read by `database_url_from_env`.
ENV_URL = "HOTLINE_DATABASE_URL"
ENV_PASSWORD = "HOTLINE_DATABASE_PASSWORD"


def default_url(path: Path = DEFAULT_SQLITE_PATH) -> URL:
    return URL.create("sqlite+aiosqlite", database=str(path))


def database_url_from_env(
    environ: Mapping[str, str] | None = None, *, default: Path = DEFAULT_SQLITE_PATH
) -> URL:
    """The URL from ``HOTLINE_DATABASE_URL`` (SQLite file by default), with the password from
    ``HOTLINE_DATABASE_PASSWORD`` when the URL carries none (keeps it out of config files)."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_URL)
    url = make_url(raw) if raw else default_url(default)
    password = env.get(ENV_PASSWORD)
    if password and url.password is None:
        url = url.set(password=password)
    return url


def show_url(url: str | URL) -> str:
    """The URL as it may be logged or displayed: the password replaced by ``***``."""
    return make_url(url).render_as_string(hide_password=True)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# PostgreSQL's text and JSONB cannot hold U+0000: one such character in a record would
# make every write of it fail, and a writer retrying it would stall behind it. The
# store's writers (fact log, CDR rows, mode-switch audit) write U+FFFD in its place, on
# both databases alike, whatever brought it (a form's text, a driver's caller id).
NUL = "\x00"
REPLACEMENT = "\ufffd"
# An escaped NUL in JSON text: "\u0000" preceded by an even number of backslashes (an
# odd number means the backslash itself is escaped: the text is a literal "\u0000").
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def without_nul(text: str) -> str:
    """`text` as the store keeps it: U+0000 replaced by U+FFFD."""
    return text.replace(NUL, REPLACEMENT) if NUL in text else text


def _json_serializer(value: Any) -> str:
    # Callers' words and addresses are Chinese: keep them readable in the database.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" in text:  # rare: checked on the encoded text, not walked value by value
        text = _JSON_NUL.sub(r"\1\\ufffd", text)
    return text


def create_engine(url: str | URL | None = None, **options: Any) -> AsyncEngine:
    """An async engine for ``url`` (the default SQLite file when None).

    SQLite gets WAL journaling (readers never block the writer), a busy timeout (the
    API's readers and the fact writer share the file) and enforced foreign keys.
    PostgreSQL connections are pinged on checkout so a restarted server is noticed on
    the next use instead of as a failed write.
    """
    target = default_url() if url is None else make_url(url)
    kwargs: dict[str, Any] = {"json_serializer": _json_serializer}
    if target.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    kwargs.update(options)
    engine = create_async_engine(target, **kwargs)
    if target.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        if _is_file_database(dbapi_connection):
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL keeps commits durable with NORMAL at a fraction of FULL's fsyncs.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _is_file_database(dbapi_connection: Any) -> bool:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA database_list")
        rows = cursor.fetchall()
    finally:
        cursor.close()
    # An in-memory database has an empty file name and cannot use WAL.
    return any(row[1] == "main" and row[2] for row in rows)
