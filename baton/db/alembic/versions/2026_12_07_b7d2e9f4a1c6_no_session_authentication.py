"""no session authentication: every tenant setting is transaction-local

`baton_authenticate_session` set tenant, actor and role for the connection, so the
deal move's statements could run without a transaction between them; behind a
transaction-mode pooler another client's statements could run in between with them.
The move now runs in a transaction with `baton_authenticate` (`baton.core.
autocommit`), and nothing calls the session variant: it is dropped, so nothing can
again. The downgrade creates it as `9d3f6a2c8e14` left it.

Revision ID: b7d2e9f4a1c6
Revises: f3c9a7e1d5b2
Create Date: 2026-12-07 14:45:00.000000+00:00
"""

from __future__ import annotations

from alembic import op

from baton.db import ddl

revision = "b7d2e9f4a1c6"
down_revision = "f3c9a7e1d5b2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP FUNCTION baton_authenticate_session(uuid, bytea, text, text)")


def downgrade() -> None:
    op.execute(ddl.AUTHENTICATE_SESSION_FUNCTION)
