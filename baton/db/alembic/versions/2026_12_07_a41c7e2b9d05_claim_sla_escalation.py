"""claim sla escalation: overdue pooled leads are escalated to the managers

`lead_escalations` keeps, per pool entry, when the claim SLA sweep last told the
organization's managers and admins about an overdue lead and how many times; its
unique key (tenant, pool entry) is what makes two sweeps at once escalate once.
`tenant_settings` gains `claim_escalation_hours` (1 to 720, default 24): how long
until the next notice while the lead stays unclaimed.

Revision ID: a41c7e2b9d05
Revises: 4c2e8b7d1f35
Create Date: 2026-12-07 02:45:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.db import ddl

revision = "a41c7e2b9d05"
down_revision = "4c2e8b7d1f35"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "tenant_settings",
        sa.Column(
            "claim_escalation_hours", sa.Integer(), server_default=sa.text("24"), nullable=False
        ),
    )
    op.create_check_constraint(
        op.f("ck_tenant_settings_claim_escalation_hours_range"),
        "tenant_settings",
        "claim_escalation_hours BETWEEN 1 AND 720",
    )
    op.create_table(
        "lead_escalations",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("pool_entry_id", sa.UUID(), nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalation_count", sa.Integer(), nullable=False),
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
        sa.CheckConstraint(
            "escalation_count >= 1", name=op.f("ck_lead_escalations_escalation_count_positive")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lead_id"],
            ["leads.tenant_id", "leads.id"],
            name=op.f("fk_lead_escalations_tenant_id_lead_id_leads"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_lead_escalations_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_lead_escalations")),
        sa.UniqueConstraint(
            "tenant_id", "pool_entry_id", name=op.f("uq_lead_escalations_tenant_id_pool_entry_id")
        ),
        info={"tenancy": "tenant"},
    )
    op.create_index(
        "ix_lead_escalations_tenant_id_lead_id", "lead_escalations", ["tenant_id", "lead_id"]
    )
    for statement in ddl.enable_tenant_rls("lead_escalations"):
        op.execute(statement)
    op.execute(ddl.attach_audit("lead_escalations"))


def downgrade() -> None:
    op.execute(ddl.detach_audit("lead_escalations"))
    for statement in ddl.disable_tenant_rls("lead_escalations"):
        op.execute(statement)
    op.drop_index("ix_lead_escalations_tenant_id_lead_id", table_name="lead_escalations")
    op.drop_table("lead_escalations")
    op.drop_constraint(
        op.f("ck_tenant_settings_claim_escalation_hours_range"), "tenant_settings", type_="check"
    )
    op.drop_column("tenant_settings", "claim_escalation_hours")
