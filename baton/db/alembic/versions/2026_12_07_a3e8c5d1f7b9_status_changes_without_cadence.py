"""account status changes without a winback cadence: a lapse is recorded either way

The account-status sweep now announces (`account.status_changed`) and notes every
lapse whether or not the organization chose a winback cadence, so
`account_winbacks.cadence_id` may be null: a lapse seen while there was none, which
the first sweep that finds a cadence enrols and claims. The downgrade deletes those
rows (the older sweep recorded nothing without a cadence, and enrols such accounts
once one is chosen) and makes the column required again.

Revision ID: a3e8c5d1f7b9
Revises: c5e8a1f3d7b9
Create Date: 2026-12-07 17:30:00.000000+00:00
"""

from __future__ import annotations

from alembic import op

revision = "a3e8c5d1f7b9"
down_revision = "c5e8a1f3d7b9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("account_winbacks", "cadence_id", nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM account_winbacks WHERE cadence_id IS NULL")
    op.alter_column("account_winbacks", "cadence_id", nullable=False)
