"""identity under RLS and two-factor sign-in: `tenants`/`users` policies, the narrow
definer functions, TOTP columns and the organization's "admins need two-factor"

`tenants` and `users` get row level security (enabled, not forced: the owner still
sees every row): the app role sees the organization it is scoped to and its members,
or while signing in its own login and organizations. Sign-in's lookup by email,
registration's checks, adding a login, slug lookups and the sweeps' fan-out go
through SECURITY DEFINER functions (`baton.identity.ddl`).

`users` gains the TOTP secret, when it was confirmed, the last step a code was
accepted for and the hashes of unused recovery codes (the audit trigger redacts the
secret and the hashes); `tenant_settings` gains `require_admin_totp` (default false).

Revision ID: f3c9a7e1d5b2
Revises: f1d4c8a2b6e3
Create Date: 2026-12-07 14:30:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from baton.db import ddl
from baton.identity import ddl as identity_ddl

USERS_REDACTED = ("password_hash", "totp_secret", "totp_recovery_hashes")

revision = "f3c9a7e1d5b2"
down_revision = "f1d4c8a2b6e3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in identity_ddl.POLICIES:
        op.execute(statement)
    for function in identity_ddl.FUNCTIONS:
        op.execute(function)
    for signature in identity_ddl.SIGNATURES:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.add_column("users", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.add_column("users", sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.add_column(
        "users",
        sa.Column(
            "totp_recovery_hashes",
            postgresql.ARRAY(sa.String(length=64)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.add_column(
        "tenant_settings",
        sa.Column(
            "require_admin_totp", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.execute(ddl.detach_audit("users"))
    op.execute(ddl.attach_audit("users", USERS_REDACTED))


def downgrade() -> None:
    op.execute(ddl.detach_audit("users"))
    op.execute(ddl.attach_audit("users", ("password_hash",)))
    op.drop_column("tenant_settings", "require_admin_totp")
    for column in ("totp_recovery_hashes", "totp_last_step", "totp_enabled_at", "totp_secret"):
        op.drop_column("users", column)
    for signature in identity_ddl.SIGNATURES:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for statement in identity_ddl.DROP_POLICIES:
        op.execute(statement)
