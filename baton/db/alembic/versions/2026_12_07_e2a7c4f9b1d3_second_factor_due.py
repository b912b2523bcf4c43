"""second factor due: authentication answers whether an admin must enrol first

`baton_authenticate` also answers `second_factor_due`: the member is an admin, the
organization requires two-factor sign-in of admins, and they have not turned it on.
The request's unit of work then lets their sign-ins reach only enrolment and sign-out
(`baton.identity.enrolment`), in the same round trip as before. The return type
changes, so the function is dropped and created again (the app role's EXECUTE is
granted again by `baton db upgrade`, as for every function).

Revision ID: e2a7c4f9b1d3
Revises: c5f1a9e3d7b2
Create Date: 2026-12-07 18:00:00.000000+00:00
"""

from __future__ import annotations

from alembic import op

from baton.db import ddl

revision = "e2a7c4f9b1d3"
down_revision = "c5f1a9e3d7b2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP FUNCTION baton_authenticate(uuid, bytea, text, text)")
    op.execute(ddl.AUTHENTICATE_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION baton_authenticate(uuid, bytea, text, text)")
    op.execute(ddl.AUTHENTICATE_FUNCTION_V3)
