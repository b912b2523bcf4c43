"""identity under RLS: `tenants` and `users` policies and the narrow definer functions

`tenants` and `users` get row level security (enabled, not forced: the owner still
sees every row): the app role sees the organization it is scoped to and its members,
or while signing in its own login and organizations. Sign-in's lookup by email,
registration's checks, adding a login, slug lookups and the sweeps' fan-out go
through SECURITY DEFINER functions (`baton.identity.ddl`).

Revision ID: f3c9a7e1d5b2
Revises: e6a1c3f8d2b4
Create Date: 2026-12-07 14:30:00.000000+00:00
"""

from __future__ import annotations

from alembic import op

from baton.identity import ddl as identity_ddl

revision = "f3c9a7e1d5b2"
down_revision = "e6a1c3f8d2b4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in identity_ddl.POLICIES:
        op.execute(statement)
    for function in identity_ddl.FUNCTIONS:
        op.execute(function)
    for signature in identity_ddl.SIGNATURES:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


def downgrade() -> None:
    for signature in identity_ddl.SIGNATURES:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for statement in identity_ddl.DROP_POLICIES:
        op.execute(statement)
