"""record as of: read a record's past state from the audit log

Revision ID: 7c2e5b1d9a40
Revises: 3f79a20fc509
Create Date: 2026-11-29 15:45:00+00:00
"""

from __future__ import annotations

from alembic import op

from baton.db import ddl

revision = "7c2e5b1d9a40"
down_revision = "3f79a20fc509"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(ddl.RECORD_AS_OF_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS baton_record_as_of(text, uuid, timestamptz)")
