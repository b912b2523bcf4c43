"""webhook log retention: finished deliveries and their dispatched events expire

`baton_retention_sweep` gains two kinds: `webhook_deliveries` (delivered or failed
attempts older than WEBHOOK_LOG_DAYS) and `outbox_events` (dispatched events older
than that which no delivery names any more), each read oldest first through a new
partial index. The downgrade puts the previous function back.

Revision ID: f1b2c3d4e5a6
Revises: e6a1c3f8d2b4
Create Date: 2026-12-07 14:50:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.jobs import ddl as jobs_ddl

revision = "f1b2c3d4e5a6"
down_revision = "e6a1c3f8d2b4"
branch_labels = None
depends_on = None


def _replace(function: str) -> str:
    return function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.create_index(
        "ix_outbox_events_dispatched",
        "outbox_events",
        ["dispatched_at"],
        postgresql_where=sa.text("dispatched_at IS NOT NULL"),
    )
    op.create_index(
        "ix_webhook_deliveries_finished",
        "webhook_deliveries",
        ["created_at"],
        postgresql_where=sa.text("status IN ('delivered', 'failed')"),
    )
    op.execute(_replace(jobs_ddl.RETENTION_FUNCTION_V4))


def downgrade() -> None:
    op.execute(_replace(jobs_ddl.RETENTION_FUNCTION_V3))
    op.drop_index("ix_webhook_deliveries_finished", table_name="webhook_deliveries")
    op.drop_index("ix_outbox_events_dispatched", table_name="outbox_events")
