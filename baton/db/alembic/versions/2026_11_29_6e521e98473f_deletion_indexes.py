"""deletion indexes: a restore finds what one deletion took

An account's restore brings back the contacts, deals and activities carrying its
deletion id (`accounts.service.restore_account`). Without an index each of those
UPDATEs read every row of the organization's table (500 000 activities in the bench's
large tenant); partial indexes on `(tenant_id, deletion_id)` — only deleted rows have
one — make them index scans, as `cadence_enrollments` already has.

Revision ID: 6e521e98473f
Revises: 36839487b1ad
Create Date: 2026-11-29 22:00:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "6e521e98473f"
down_revision = "36839487b1ad"
branch_labels = None
depends_on = None

_TABLES = ("contacts", "deals", "activities")


def upgrade() -> None:
    for table in _TABLES:
        op.create_index(
            f"ix_{table}_deletion",
            table,
            ["tenant_id", "deletion_id"],
            postgresql_where=sa.text("deletion_id IS NOT NULL"),
        )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_index(f"ix_{table}_deletion", table_name=table)
