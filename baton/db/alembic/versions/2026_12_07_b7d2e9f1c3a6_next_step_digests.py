"""next step digests: one overdue next-step digest per owner and day

`next_step_digests` records, per owner, the day (the organization's calendar) their
digest of open deals with an overdue next step was sent; its unique key (tenant,
user, day) is what keeps the sweep to one digest a day, even twice at once.

Revision ID: b7d2e9f1c3a6
Revises: a41c7e2b9d05
Create Date: 2026-12-07 03:00:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.db import ddl

revision = "b7d2e9f1c3a6"
down_revision = "a41c7e2b9d05"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "next_step_digests",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("deal_count", sa.Integer(), nullable=False),
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
            "deal_count >= 1", name=op.f("ck_next_step_digests_deal_count_positive")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_next_step_digests_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_next_step_digests_user_id_users")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_next_step_digests")),
        sa.UniqueConstraint(
            "tenant_id", "user_id", "day", name=op.f("uq_next_step_digests_tenant_id_user_id_day")
        ),
        info={"tenancy": "tenant"},
    )
    for statement in ddl.enable_tenant_rls("next_step_digests"):
        op.execute(statement)
    op.execute(ddl.attach_audit("next_step_digests"))


def downgrade() -> None:
    op.execute(ddl.detach_audit("next_step_digests"))
    for statement in ddl.disable_tenant_rls("next_step_digests"):
        op.execute(statement)
    op.drop_table("next_step_digests")
