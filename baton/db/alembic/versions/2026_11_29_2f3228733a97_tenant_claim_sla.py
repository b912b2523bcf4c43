"""tenant claim sla

The sales pool's claim SLA becomes an organization setting: `tenant_settings`
gains `claim_sla_hours` (1 to 720 hours). Existing organizations get 24 hours, the
value every pool entry has used so far, through the column's server default; pool
entries already written keep their `claim_due_at`.

Revision ID: 2f3228733a97
Revises: b02f3d7ea747
Create Date: 2026-11-29 17:21:14.322522+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2f3228733a97"
down_revision = "b02f3d7ea747"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NOT NULL with a constant default: PostgreSQL ≥ 11 stores the default in the
    # catalog, so existing rows are not rewritten (and the audit trigger does not fire).
    op.add_column(
        "tenant_settings",
        sa.Column("claim_sla_hours", sa.Integer(), server_default=sa.text("24"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_tenant_settings_claim_sla_hours_range"),
        "tenant_settings",
        "claim_sla_hours BETWEEN 1 AND 720",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_tenant_settings_claim_sla_hours_range"), "tenant_settings", type_="check"
    )
    op.drop_column("tenant_settings", "claim_sla_hours")
