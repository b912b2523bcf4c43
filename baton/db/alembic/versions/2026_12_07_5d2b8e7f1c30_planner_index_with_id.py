"""planner index with id: `ix_activities_planned_due` on (tenant_id, due_at, id)

The planner pages by (due_at, id) from the start of today, then the undated rows
(`activities.queries._planner`). With the id in the index each part is one range of
it read in the page's order: at 1 000 000 deals (500 000 planned activities) the
planner read every overdue row before today's (1.9 s); with this index and the
two-part query it reads the page's rows (0.1 ms).

Revision ID: 5d2b8e7f1c30
Revises: 65cdc61380a3
Create Date: 2026-12-07 22:15:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5d2b8e7f1c30"
down_revision = "65cdc61380a3"
branch_labels = None
depends_on = None

_PLANNED = sa.text("status = 'planned' AND deleted_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_activities_planned_due", table_name="activities")
    op.create_index(
        "ix_activities_planned_due",
        "activities",
        ["tenant_id", "due_at", "id"],
        postgresql_where=_PLANNED,
    )


def downgrade() -> None:
    op.drop_index("ix_activities_planned_due", table_name="activities")
    op.create_index(
        "ix_activities_planned_due",
        "activities",
        ["tenant_id", "due_at"],
        postgresql_where=_PLANNED,
    )
