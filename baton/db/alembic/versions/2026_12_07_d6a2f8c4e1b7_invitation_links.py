"""invitation links, and retention of spent invitations and finished bulk runs

`invitations` holds each pending one-time link an admin gave someone to join with a
role: only the link's SHA-256 (redacted in the audit trail), its serial (a resend
issues the next and voids the old), its expiry, and when it was accepted or revoked.
At most one open invitation per email in an organization. RLS forced and audited like
every tenant table.

`baton_retention_sweep` gains two kinds: `invitations` spent (used, revoked or expired)
more than SPENT_INVITATION_DAYS ago, and `bulk_runs` finished more than BULK_RUN_DAYS
ago, through a new partial index. `baton_audit_trail` leaves out of the whole
organization's trail the rows of tables a security event tells (credentials,
invitations): a sign-in was listed twice. The downgrade puts the previous functions
back.

Revision ID: d6a2f8c4e1b7
Revises: a7f3c2e9d1b4
Create Date: 2026-12-07 17:40:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.audit import ddl as audit_ddl
from baton.db import ddl
from baton.jobs import ddl as jobs_ddl

revision = "d6a2f8c4e1b7"
down_revision = "a7f3c2e9d1b4"
branch_labels = None
depends_on = None


def _replace(function: str) -> str:
    return function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("link_serial", sa.Integer(), server_default="1", nullable=False),
        sa.Column("link_emailed_serial", sa.Integer(), nullable=True),
        sa.Column("invited_by", sa.UUID(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_user_id", sa.UUID(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
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
            "role IN ('admin', 'manager', 'marketing', 'sales', 'viewer')",
            name=op.f("ck_invitations_role_valid"),
        ),
        sa.CheckConstraint(
            "octet_length(token_hash) = 32", name=op.f("ck_invitations_token_hash_length")
        ),
        sa.CheckConstraint("link_serial >= 1", name=op.f("ck_invitations_link_serial_positive")),
        sa.CheckConstraint(
            "accepted_at IS NULL OR revoked_at IS NULL",
            name=op.f("ck_invitations_accepted_or_revoked"),
        ),
        sa.CheckConstraint(
            "(accepted_at IS NULL) = (accepted_user_id IS NULL)",
            name=op.f("ck_invitations_accepted_by_someone"),
        ),
        sa.ForeignKeyConstraint(
            ["accepted_user_id"],
            ["users.id"],
            name=op.f("fk_invitations_accepted_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["users.id"], name=op.f("fk_invitations_invited_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_invitations_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_invitations")),
        sa.UniqueConstraint(
            "tenant_id", "token_hash", name=op.f("uq_invitations_tenant_id_token_hash")
        ),
        info={"tenancy": "tenant"},
    )
    op.create_index(
        "uq_invitations_tenant_id_email_open",
        "invitations",
        ["tenant_id", "email"],
        unique=True,
        postgresql_where=sa.text("accepted_at IS NULL AND revoked_at IS NULL"),
    )
    for statement in ddl.enable_tenant_rls("invitations"):
        op.execute(statement)
    op.execute(ddl.attach_audit("invitations", redact=("token_hash",)))
    op.create_index(
        "ix_bulk_runs_finished_at",
        "bulk_runs",
        ["finished_at"],
        postgresql_where=sa.text("finished_at IS NOT NULL"),
    )
    op.execute(_replace(jobs_ddl.RETENTION_FUNCTION))
    op.execute(audit_ddl.TRAIL_FUNCTION_V2)


def downgrade() -> None:
    op.execute(audit_ddl.TRAIL_FUNCTION_V1)
    op.execute(_replace(jobs_ddl.RETENTION_FUNCTION_V4))
    op.drop_index("ix_bulk_runs_finished_at", table_name="bulk_runs")
    op.execute(ddl.detach_audit("invitations"))
    for statement in ddl.disable_tenant_rls("invitations"):
        op.execute(statement)
    op.drop_table("invitations")
