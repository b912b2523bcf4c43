"""winback: accounts that go quiet are enrolled in the organization's winback cadence

`tenant_settings` gains `winback_cadence_id` (nullable, a cadence of the same
organization). `account_winbacks` keeps one row per lapse of an account — its status
turning inactive or winback target since a given last transaction — with the
enrolment the winback sweep made; its unique key (tenant, account, last transaction
date) is what makes the sweep act once per lapse, even twice at once.

Revision ID: c9e4a1d7b2f8
Revises: b7d2e9f1c3a6
Create Date: 2026-12-07 03:10:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.db import ddl

revision = "c9e4a1d7b2f8"
down_revision = "b7d2e9f1c3a6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenant_settings", sa.Column("winback_cadence_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_tenant_settings_tenant_id_winback_cadence_id_cadences"),
        "tenant_settings",
        "cadences",
        ["tenant_id", "winback_cadence_id"],
        ["tenant_id", "id"],
    )
    op.create_table(
        "account_winbacks",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("last_transaction_on", sa.Date(), nullable=False),
        sa.Column("tenure", sa.String(length=16), nullable=False),
        sa.Column("activity", sa.String(length=16), nullable=False),
        sa.Column("cadence_id", sa.UUID(), nullable=False),
        sa.Column("enrollment_id", sa.UUID(), nullable=True),
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
            "tenure IN ('prospect', 'new_customer', 'active_customer', 'winback_target')",
            name=op.f("ck_account_winbacks_tenure_valid"),
        ),
        sa.CheckConstraint(
            "activity IN ('active', 'passive', 'inactive', 'no_transaction')",
            name=op.f("ck_account_winbacks_activity_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "account_id"],
            ["accounts.tenant_id", "accounts.id"],
            name=op.f("fk_account_winbacks_tenant_id_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "cadence_id"],
            ["cadences.tenant_id", "cadences.id"],
            name=op.f("fk_account_winbacks_tenant_id_cadence_id_cadences"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "enrollment_id"],
            ["cadence_enrollments.tenant_id", "cadence_enrollments.id"],
            name=op.f("fk_account_winbacks_tenant_id_enrollment_id_cadence_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_account_winbacks_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_account_winbacks")),
        sa.UniqueConstraint(
            "tenant_id",
            "account_id",
            "last_transaction_on",
            name=op.f("uq_account_winbacks_tenant_id_account_id_last_transaction_on"),
        ),
        info={"tenancy": "tenant"},
    )
    for statement in ddl.enable_tenant_rls("account_winbacks"):
        op.execute(statement)
    op.execute(ddl.attach_audit("account_winbacks"))


def downgrade() -> None:
    op.execute(ddl.detach_audit("account_winbacks"))
    for statement in ddl.disable_tenant_rls("account_winbacks"):
        op.execute(statement)
    op.drop_table("account_winbacks")
    op.drop_constraint(
        op.f("fk_tenant_settings_tenant_id_winback_cadence_id_cadences"),
        "tenant_settings",
        type_="foreignkey",
    )
    op.drop_column("tenant_settings", "winback_cadence_id")
