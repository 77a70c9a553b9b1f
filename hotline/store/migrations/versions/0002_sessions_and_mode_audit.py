"""API sessions in the store; one mode-switch audit row per fact; room for long names;
the caller indexes of the screen pop.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

- ``api_sessions``: bearer sessions by token digest (SHA-256 hex), so a restart or a
  standby taking over keeps everyone logged in.
- ``mode_switches.fact_seq`` becomes unique: the recorder is the one writer, one row per
  `ModeChanged` fact. Duplicates an older build might have left are removed first (the
  lowest id of each fact stays; they are copies of the same fact).
- ``mode_switches.by`` and ``work_order_history.actor`` hold "role:username", up to
  75 characters for a 64-character username: widened from 64 to 128.
- ``calls(caller, arrived_at)`` and ``work_orders(caller, created_at)`` indexes: the
  agent's screen pop reads a caller's past calls and orders, newest first.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A caller's past calls and orders (the screen pop), newest first.
    op.create_index(op.f("ix_calls_caller"), "calls", ["caller", "arrived_at"])
    op.create_index(op.f("ix_work_orders_caller"), "work_orders", ["caller", "created_at"])
    op.create_table(
        "api_sessions",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_api_sessions")),
    )
    op.create_index(op.f("ix_api_sessions_user_id"), "api_sessions", ["user_id"])
    op.create_index(op.f("ix_api_sessions_expires_at"), "api_sessions", ["expires_at"])

    op.execute(
        "DELETE FROM mode_switches WHERE fact_seq IS NOT NULL AND id NOT IN "
        "(SELECT MIN(id) FROM mode_switches WHERE fact_seq IS NOT NULL GROUP BY fact_seq)"
    )
    with op.batch_alter_table("mode_switches") as batch:
        batch.alter_column("by", existing_type=sa.String(length=64),
                           type_=sa.String(length=128), existing_nullable=False)
        batch.create_unique_constraint(op.f("uq_mode_switches_fact_seq"), ["fact_seq"])
    with op.batch_alter_table("work_order_history") as batch:
        batch.alter_column("actor", existing_type=sa.String(length=64),
                           type_=sa.String(length=128), existing_nullable=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_work_orders_caller"), table_name="work_orders")
    op.drop_index(op.f("ix_calls_caller"), table_name="calls")
    with op.batch_alter_table("work_order_history") as batch:
        batch.alter_column("actor", existing_type=sa.String(length=128),
                           type_=sa.String(length=64), existing_nullable=False)
    with op.batch_alter_table("mode_switches") as batch:
        batch.drop_constraint(op.f("uq_mode_switches_fact_seq"), type_="unique")
        batch.alter_column("by", existing_type=sa.String(length=128),
                           type_=sa.String(length=64), existing_nullable=False)
    op.drop_index(op.f("ix_api_sessions_expires_at"), table_name="api_sessions")
    op.drop_index(op.f("ix_api_sessions_user_id"), table_name="api_sessions")
    op.drop_table("api_sessions")
