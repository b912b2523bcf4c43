"""workflow move rollups: the stage-conversion report's exact per-day rollups

`workflow_move_days`: per (workflow, UTC day, from step, to step) the ledger's moves
and backward moves. `step_duration_days`: per (workflow, step left, UTC day) a
histogram of the time spent in the step at display precision (`baton_duration_bucket`),
with coarse rows (`baton_duration_coarse`) to find a percentile's bucket quickly.
Both kept by statement triggers on workflow_history in the writing transaction and
backfilled here. `activity_days`: per (UTC day, owner) the activities done that day
and the planned ones due that day, for the activity report, kept by statement
triggers on activities and backfilled the same way.

Revision ID: 65cdc61380a3
Revises: 9fc1c45304ad
Create Date: 2026-12-07 21:10:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.db import ddl

revision = "65cdc61380a3"
down_revision = "9fc1c45304ad"
branch_labels = None
depends_on = None

_INFO = {"tenancy": "tenant", "audited": False, "app_privileges": ("SELECT", "INSERT", "UPDATE")}


def upgrade() -> None:
    op.create_table(
        "workflow_move_days",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("from_step_id", sa.Uuid(), nullable=True),
        sa.Column("to_step_id", sa.Uuid(), nullable=False),
        sa.Column("moves", sa.BigInteger(), nullable=False),
        sa.Column("backwards", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_workflow_move_days_tenant_id_tenants")
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "workflow_id",
            "day",
            "from_step_id",
            "to_step_id",
            name="uq_workflow_move_days_key",
            postgresql_nulls_not_distinct=True,
        ),
        info=_INFO,
    )
    op.create_table(
        "step_duration_days",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.Uuid(), nullable=False),
        sa.Column("span", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("moves", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("span IN (0, 1)", name=op.f("ck_step_duration_days_span_known")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_step_duration_days_tenant_id_tenants")
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "workflow_id",
            "step_id",
            "span",
            "bucket",
            "day",
            name="uq_step_duration_days_key",
        ),
        info=_INFO,
    )
    op.create_index(
        "ix_step_duration_days_coarse",
        "step_duration_days",
        ["tenant_id", "workflow_id", "day"],
        unique=False,
        postgresql_where=sa.text("span = 1"),
    )
    for table in ("workflow_move_days", "step_duration_days"):
        for statement in ddl.enable_tenant_rls(table):
            op.execute(statement)
    for function in (*ddl.DURATION_FUNCTIONS, *ddl.WORKFLOW_MOVES_FUNCTIONS):
        op.execute(function)
    # The triggers first: CREATE TRIGGER locks the ledger against writes until this
    # transaction commits, so the backfill sees every committed move and every later
    # one goes through the triggers.
    for trigger in ddl.WORKFLOW_MOVES_TRIGGERS:
        op.execute(trigger)
    for backfill in ddl.WORKFLOW_MOVES_BACKFILL:
        op.execute(backfill)

    op.create_table(
        "activity_days",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("planned", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_activity_days_tenant_id_tenants")
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "day",
            "owner_id",
            name="uq_activity_days_key",
            postgresql_nulls_not_distinct=True,
        ),
        info=_INFO,
    )
    for statement in ddl.enable_tenant_rls("activity_days"):
        op.execute(statement)
    for function in ddl.ACTIVITY_DAYS_FUNCTIONS:
        op.execute(function)
    for trigger in ddl.ACTIVITY_DAYS_TRIGGERS:
        op.execute(trigger)
    op.execute(ddl.ACTIVITY_DAYS_BACKFILL)


def downgrade() -> None:
    for statement in ddl.DROP_ACTIVITY_DAYS:
        op.execute(statement)
    for statement in ddl.disable_tenant_rls("activity_days"):
        op.execute(statement)
    op.drop_table("activity_days")
    for statement in ddl.DROP_WORKFLOW_MOVES:
        op.execute(statement)
    for statement in ddl.DROP_DURATION_FUNCTIONS:
        op.execute(statement)
    for table in ("step_duration_days", "workflow_move_days"):
        for statement in ddl.disable_tenant_rls(table):
            op.execute(statement)
    op.drop_index("ix_step_duration_days_coarse", table_name="step_duration_days")
    op.drop_table("step_duration_days")
    op.drop_table("workflow_move_days")
