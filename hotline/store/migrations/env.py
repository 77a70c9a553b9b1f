"""Alembic environment: migrations run on a connection handed in by `hotline.store.migrate`.

The store's engines are async; `migrate` opens one, and runs Alembic (synchronous) on
its connection through ``run_sync``, so there is no second, blocking driver and no
``alembic.ini``. Offline mode (``--sql``) renders SQL for the URL's dialect.
"""

from __future__ import annotations

from alembic import context

from hotline.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "run migrations through hotline.store.migrate (upgrade/downgrade), "
            "which supplies the connection"
        )
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables where needed.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
