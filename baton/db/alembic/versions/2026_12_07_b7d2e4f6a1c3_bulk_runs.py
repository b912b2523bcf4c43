"""bulk runs: bulk actions above the request's share, run by the worker with progress

`bulk_runs` holds each large bulk action: its rows (resolved when asked), the action
and its parameters, and each row's result as the job goes. Operational (not audited:
each row it changes is), RLS forced like every tenant table.

Revision ID: b7d2e4f6a1c3
Revises: f4b2d9a6c1e3
Create Date: 2026-12-07 14:40:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from baton.db import ddl

revision = "b7d2e4f6a1c3"
down_revision = "f4b2d9a6c1e3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulk_runs",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "results",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), server_default="running", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'completed')", name=op.f("ck_bulk_runs_status_valid")
        ),
        sa.CheckConstraint(
            "entity IN ('deals', 'leads', 'targets', 'accounts', 'contacts')",
            name=op.f("ck_bulk_runs_entity_valid"),
        ),
        sa.CheckConstraint(
            "rows_total = cardinality(ids) AND rows_done BETWEEN 0 AND rows_total",
            name=op.f("ck_bulk_runs_progress_valid"),
        ),
        sa.CheckConstraint(
            "(status = 'completed') = (rows_done = rows_total AND finished_at IS NOT NULL)",
            name=op.f("ck_bulk_runs_completed_when_done"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_bulk_runs_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_bulk_runs_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_bulk_runs")),
        info={"tenancy": "tenant_operational"},
    )
    for statement in ddl.enable_tenant_rls("bulk_runs"):
        op.execute(statement)


def downgrade() -> None:
    for statement in ddl.disable_tenant_rls("bulk_runs"):
        op.execute(statement)
    op.drop_table("bulk_runs")
