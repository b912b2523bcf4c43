"""retention: soft-deleted records purged after the organization's retention; old audit rows

`tenant_settings` gains `retention_days` (1 to 3650, default 90): how long a
soft-deleted record stays restorable before the purge sweep deletes it with its
dependants. `baton_retention_sweep` gains the kind `audit_log` (rows older than 730
days, deletes and user removals excepted), served by the partial index
`ix_audit_log_at_expirable`; the downgrade puts the previous function back.

Revision ID: d3b8f6a2e1c4
Revises: c9e4a1d7b2f8
Create Date: 2026-12-07 03:20:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.audit.models import EXPIRABLE_AUDIT
from baton.jobs import ddl as jobs_ddl

revision = "d3b8f6a2e1c4"
down_revision = "c9e4a1d7b2f8"
branch_labels = None
depends_on = None


def _replace(function: str) -> str:
    return function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.add_column(
        "tenant_settings",
        sa.Column("retention_days", sa.Integer(), server_default=sa.text("90"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_tenant_settings_retention_days_range"),
        "tenant_settings",
        "retention_days BETWEEN 1 AND 3650",
    )
    op.create_index(
        "ix_audit_log_at_expirable",
        "audit_log",
        ["at"],
        postgresql_where=sa.text(EXPIRABLE_AUDIT),
    )
    op.execute(_replace(jobs_ddl.RETENTION_FUNCTION_V2))


def downgrade() -> None:
    op.execute(_replace(jobs_ddl.RETENTION_FUNCTION_V1))
    op.drop_index("ix_audit_log_at_expirable", table_name="audit_log")
    op.drop_constraint(
        op.f("ck_tenant_settings_retention_days_range"), "tenant_settings", type_="check"
    )
    op.drop_column("tenant_settings", "retention_days")
