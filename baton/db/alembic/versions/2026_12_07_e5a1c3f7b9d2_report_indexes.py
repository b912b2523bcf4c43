"""report indexes: what the cockpit's reports read, along an index

`ix_workflow_history_flow` (the ledger's moves by workflow and time, covering what
stage conversion reads), `ix_deals_open_pipeline` (open deals per workflow and step, covering currency,
probability, amount, owner and expected close date: the pipeline and forecast
reports read it alone), `ix_leads_created` (leads by creation time: lead funnel and
sources), `ix_activities_cadence_due` (cadence steps by due time: cadence adherence).

Revision ID: e5a1c3f7b9d2
Revises: 9dadf6b24a6d
Create Date: 2026-12-07 04:50:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e5a1c3f7b9d2"
down_revision = "9dadf6b24a6d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_workflow_history_flow",
        "workflow_history",
        ["tenant_id", "workflow_id", "at"],
        postgresql_include=["from_step_id", "to_step_id", "seconds_in_previous_step", "backwards"],
    )
    op.create_index(
        "ix_deals_open_pipeline",
        "deals",
        ["tenant_id", "workflow_id", "step_id"],
        postgresql_include=["currency", "probability", "amount", "owner_id", "expected_close_date"],
        postgresql_where=sa.text("outcome IS NULL AND deleted_at IS NULL"),
    )
    op.create_index(
        "ix_leads_created",
        "leads",
        ["tenant_id", "created_at"],
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_activities_cadence_due",
        "activities",
        ["tenant_id", "due_at"],
        postgresql_where=sa.text("enrollment_id IS NOT NULL AND deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_activities_cadence_due", table_name="activities")
    op.drop_index("ix_leads_created", table_name="leads")
    op.drop_index("ix_deals_open_pipeline", table_name="deals")
    op.drop_index("ix_workflow_history_flow", table_name="workflow_history")
