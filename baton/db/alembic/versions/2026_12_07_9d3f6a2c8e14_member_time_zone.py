"""member time zone: every page shows times in the viewer's zone

Members gain `timezone` (an IANA name; null: the organization's). Authentication
answers the zone a request's pages use — the member's, else the organization's — in
the same round trip, so showing local times costs no statement: both authentication
functions are created again with a `timezone` column (their result type changes, so
they are dropped first).

Revision ID: 9d3f6a2c8e14
Revises: 3f7a1c9e5b20
Create Date: 2026-12-07 02:20:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.db import ddl

revision = "9d3f6a2c8e14"
down_revision = "3f7a1c9e5b20"
branch_labels = None
depends_on = None

_SIGNATURE = "(uuid, bytea, text, text)"


def _replace_functions(*created: str) -> None:
    op.execute(f"DROP FUNCTION baton_authenticate{_SIGNATURE}")
    op.execute(f"DROP FUNCTION baton_authenticate_session{_SIGNATURE}")
    for function in created:
        op.execute(function)


def upgrade() -> None:
    op.add_column("memberships", sa.Column("timezone", sa.String(64), nullable=True))
    op.create_check_constraint(
        op.f("ck_memberships_timezone_length"),
        "memberships",
        "timezone IS NULL OR length(timezone) BETWEEN 1 AND 64",
    )
    _replace_functions(ddl.AUTHENTICATE_FUNCTION_V2, ddl.AUTHENTICATE_SESSION_FUNCTION)


def downgrade() -> None:
    _replace_functions(ddl.AUTHENTICATE_FUNCTION_V1, ddl.AUTHENTICATE_SESSION_FUNCTION_V1)
    op.drop_constraint(op.f("ck_memberships_timezone_length"), "memberships", type_="check")
    op.drop_column("memberships", "timezone")
