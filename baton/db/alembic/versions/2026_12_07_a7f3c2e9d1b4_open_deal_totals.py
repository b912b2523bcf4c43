"""open deal totals: the pipeline and forecast reports' exact rollup

Per (workflow, step, owner, currency, probability override, month of the expected
close) the open, live deals' count and amount, kept by statement triggers on deals in
the writing transaction (as `pipeline_column_totals` is for the board) and backfilled
here.

Revision ID: a7f3c2e9d1b4
Revises: e2a7c4f9b1d3
Create Date: 2026-12-07 17:40:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.db import ddl

revision = "a7f3c2e9d1b4"
down_revision = "e2a7c4f9b1d3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open_deal_totals",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("probability", sa.SmallInteger(), nullable=True),
        sa.Column("close_month", sa.Date(), nullable=True),
        sa.Column("deal_count", sa.BigInteger(), nullable=False),
        sa.Column("amount_total", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.CheckConstraint(
            "currency ~ '^[A-Z]{3}$'", name=op.f("ck_open_deal_totals_currency_code")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_open_deal_totals_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "workflow_id", "step_id"],
            ["workflow_steps.tenant_id", "workflow_steps.workflow_id", "workflow_steps.id"],
            name=op.f("fk_open_deal_totals_tenant_id_workflow_id_step_id_workflow_steps"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_open_deal_totals_tenant_id_tenants")
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "workflow_id",
            "step_id",
            "owner_id",
            "currency",
            "probability",
            "close_month",
            name="uq_open_deal_totals_key",
            postgresql_nulls_not_distinct=True,
        ),
        info={
            "tenancy": "tenant",
            "audited": False,
            "app_privileges": ("SELECT", "INSERT", "UPDATE"),
        },
    )
    for statement in ddl.enable_tenant_rls("open_deal_totals"):
        op.execute(statement)
    for function in ddl.OPEN_DEAL_TOTALS_FUNCTIONS:
        op.execute(function)
    # The triggers first: CREATE TRIGGER locks deals against writes until this
    # transaction commits, so the backfill sees every committed deal and every later
    # write goes through the triggers: nothing is counted twice or missed.
    for trigger in ddl.OPEN_DEAL_TOTALS_TRIGGERS:
        op.execute(trigger)
    op.execute(ddl.OPEN_DEAL_TOTALS_BACKFILL)


def downgrade() -> None:
    for statement in ddl.DROP_OPEN_DEAL_TOTALS:
        op.execute(statement)
    for statement in ddl.disable_tenant_rls("open_deal_totals"):
        op.execute(statement)
    op.drop_table("open_deal_totals")
