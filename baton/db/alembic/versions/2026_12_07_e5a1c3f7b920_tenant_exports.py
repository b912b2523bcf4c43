"""tenant exports: an organization's whole-data export jobs and their ZIPs

`exports` holds each export an admin asked for: its status and progress while the
worker runs it, then the ZIP (one CSV per table and a manifest) in `archive`.
Operational (not audited), RLS forced like every tenant table.

Revision ID: e5a1c3f7b920
Revises: 2c8b648d50ea
Create Date: 2026-12-07 05:00:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from baton.db import ddl

revision = "e5a1c3f7b920"
down_revision = "2c8b648d50ea"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("requested_by", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("tables_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("tables_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_done", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("manifest", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("archive", sa.LargeBinary(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
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
            "status IN ('queued', 'running', 'completed', 'failed')",
            name=op.f("ck_exports_status_valid"),
        ),
        sa.CheckConstraint(
            "(status = 'completed') = (archive IS NOT NULL)",
            name=op.f("ck_exports_archive_iff_completed"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_exports_requested_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_exports_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_exports")),
        info={"tenancy": "tenant_operational"},
    )
    for statement in ddl.enable_tenant_rls("exports"):
        op.execute(statement)


def downgrade() -> None:
    for statement in ddl.disable_tenant_rls("exports"):
        op.execute(statement)
    op.drop_table("exports")
