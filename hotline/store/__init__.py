"""The store: SQLAlchemy models, Alembic migrations, the fact writer and restore.

SQLite (``sqlite+aiosqlite``) is the embedded default, PostgreSQL (``postgresql+asyncpg``)
the production database; both are async, so nothing here blocks the event loop.
"""

from hotline.store.calls import get_call, upsert_calls, upsert_calls_on
from hotline.store.engine import create_engine, database_url_from_env, default_url, show_url
from hotline.store.factlog import (
    FactWriter,
    WriterHealth,
    WriterState,
    last_seq,
    load_records,
    stream_records,
)
from hotline.store.migrate import current_revision, downgrade, head_revision, upgrade

__all__ = [
    "FactWriter",
    "WriterHealth",
    "WriterState",
    "create_engine",
    "current_revision",
    "database_url_from_env",
    "default_url",
    "downgrade",
    "get_call",
    "head_revision",
    "last_seq",
    "load_records",
    "show_url",
    "stream_records",
    "upgrade",
    "upsert_calls",
    "upsert_calls_on",
]
