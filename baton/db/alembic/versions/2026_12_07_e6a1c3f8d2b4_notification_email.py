"""notification email: each notification's kind and email time; members' muted emails

`notifications` gains `kind` (what it is about: update, assignment, escalation,
digest; the rows that predate it were all updates) and `email_sent_at`
(when its email went out: the email job sends once). `memberships` gains
`muted_emails`, the emailed kinds the member does not want by email (default none),
and `welcome_sent_at`, when the invitation email went out. `tenant_settings` gains
`audit_retention_days` (30 to 3650, default 730), which `baton_retention_sweep` now
reads per organization; the downgrade puts the previous function back.

Revision ID: e6a1c3f8d2b4
Revises: e5a1c3f7b9d2
Create Date: 2026-12-07 04:50:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from baton.db.base import enum_check
from baton.identity.models import (
    DEFAULT_AUDIT_RETENTION_DAYS,
    MAX_RETENTION_DAYS,
    MIN_AUDIT_RETENTION_DAYS,
    MUTED_EMAILS_VALID,
)
from baton.jobs import ddl as jobs_ddl
from baton.notifications.models import NotificationKind

revision = "e6a1c3f8d2b4"
down_revision = "e5a1c3f7b9d2"
branch_labels = None
depends_on = None


def _replace(function: str) -> str:
    return function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    # The default only fills the existing rows (workflow `notify_owner` updates, the
    # only kind written before); every insert names its kind.
    op.add_column(
        "notifications",
        sa.Column("kind", sa.String(16), server_default=sa.text("'update'"), nullable=False),
    )
    op.alter_column("notifications", "kind", server_default=None)
    op.create_check_constraint(
        op.f("ck_notifications_kind_valid"), "notifications", enum_check("kind", NotificationKind)
    )
    op.add_column("notifications", sa.Column("email_sent_at", sa.DateTime(timezone=True)))
    op.add_column(
        "memberships",
        sa.Column(
            "muted_emails",
            postgresql.ARRAY(sa.String(16)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_memberships_muted_emails_valid"), "memberships", MUTED_EMAILS_VALID
    )
    op.add_column("memberships", sa.Column("welcome_sent_at", sa.DateTime(timezone=True)))
    op.add_column(
        "tenant_settings",
        sa.Column(
            "audit_retention_days",
            sa.Integer(),
            server_default=sa.text(str(DEFAULT_AUDIT_RETENTION_DAYS)),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_tenant_settings_audit_retention_days_range"),
        "tenant_settings",
        f"audit_retention_days BETWEEN {MIN_AUDIT_RETENTION_DAYS} AND {MAX_RETENTION_DAYS}",
    )
    op.execute(_replace(jobs_ddl.RETENTION_FUNCTION_V3))


def downgrade() -> None:
    op.execute(_replace(jobs_ddl.RETENTION_FUNCTION_V2))
    op.drop_constraint(
        op.f("ck_tenant_settings_audit_retention_days_range"), "tenant_settings", type_="check"
    )
    op.drop_column("tenant_settings", "audit_retention_days")
    op.drop_column("memberships", "welcome_sent_at")
    op.drop_constraint(op.f("ck_memberships_muted_emails_valid"), "memberships", type_="check")
    op.drop_column("memberships", "muted_emails")
    op.drop_column("notifications", "email_sent_at")
    op.drop_constraint(op.f("ck_notifications_kind_valid"), "notifications", type_="check")
    op.drop_column("notifications", "kind")
