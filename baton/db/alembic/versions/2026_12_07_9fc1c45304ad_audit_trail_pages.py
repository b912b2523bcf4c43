"""audit trail pages: the page after an entry read from the index, not scanned to

`baton_audit_trail`'s `p_before` becomes an index bound (`a.id < coalesce(p_before,
max)`) instead of `(p_before IS NULL OR a.id < p_before)`: the function's generic
plan scanned every newer entry to reach a deep page, so reading the whole trail page
by page (an export) was quadratic — a minute for 100 000 entries. Same signature,
same answers. The downgrade puts the previous body back.

Revision ID: 9fc1c45304ad
Revises: a6400433877f
Create Date: 2026-12-07 21:50:00.000000+00:00
"""

from __future__ import annotations

from alembic import op

from baton.audit import ddl as audit_ddl

revision = "9fc1c45304ad"
down_revision = "a6400433877f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(audit_ddl.TRAIL_FUNCTION)


def downgrade() -> None:
    op.execute(audit_ddl.TRAIL_FUNCTION_V2)
