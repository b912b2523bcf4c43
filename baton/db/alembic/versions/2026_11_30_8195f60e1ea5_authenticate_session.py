"""authenticate for the autocommit pool: settings that outlive the statement

A deal move sent with a bearer token or API key runs without an explicit transaction
(`baton.core.autocommit`): authentication, the load and the one writing statement are
each their own transaction, which saves the BEGIN and COMMIT round trips. The tenant,
actor and role that RLS, audit and the workflow guard read must then outlive the
authenticating statement: `baton_authenticate_session` sets them for the connection,
and empties the actor, role and transition settings first, so nothing of the previous
request on that connection survives it.

Revision ID: 8195f60e1ea5
Revises: 6e521e98473f
Create Date: 2026-11-30 02:00:00.000000+00:00
"""

from __future__ import annotations

from alembic import op

from baton.db import ddl

revision = "8195f60e1ea5"
down_revision = "6e521e98473f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(ddl.AUTHENTICATE_SESSION_FUNCTION_V1)


def downgrade() -> None:
    op.execute("DROP FUNCTION baton_authenticate_session(uuid, bytea, text, text)")
