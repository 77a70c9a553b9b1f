"""Alembic migrations of the store; run them through `hotline.store.migrate`."""
