"""cadence enrollments soft delete

Cadence enrolments are soft-deleted with their deal, account or contact, under the
record's deletion id, and restored with it (`baton.cadences.deletion`):
`cadence_enrollments` gains `deleted_at`, `deleted_by`, `deletion_id` (both marks or
neither, as on every soft-deleted table) and a partial index a restore finds one
deletion's enrolments by. The table already has RLS and the audit trigger.

Existing rows are all live (the new columns are null); enrolments left active on a
record deleted before this revision are not rewritten here — under FORCE ROW LEVEL
SECURITY an owner without BYPASSRLS would not even see them — and `baton doctor`
keeps reporting them (`live_enrollment_of_deleted_record`).

Revision ID: 2d675e0389ce
Revises: 2f3228733a97
Create Date: 2026-11-29 20:40:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2d675e0389ce"
down_revision = "2f3228733a97"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable without a default: a catalog-only change, no rewrite, no audit rows.
    op.add_column(
        "cadence_enrollments", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("cadence_enrollments", sa.Column("deleted_by", sa.UUID(), nullable=True))
    op.add_column("cadence_enrollments", sa.Column("deletion_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_cadence_enrollments_deleted_by_users"),
        "cadence_enrollments",
        "users",
        ["deleted_by"],
        ["id"],
    )
    op.create_check_constraint(
        op.f("ck_cadence_enrollments_deletion_complete"),
        "cadence_enrollments",
        "(deleted_at IS NULL) = (deletion_id IS NULL)",
    )
    op.create_index(
        "ix_cadence_enrollments_deletion",
        "cadence_enrollments",
        ["tenant_id", "deletion_id"],
        unique=False,
        postgresql_where=sa.text("deletion_id IS NOT NULL"),
    )


def downgrade() -> None:
    # Enrolments deleted with their record become plain rows again: live ones show
    # up as `live_enrollment_of_deleted_record` until their record is restored.
    op.drop_index(
        "ix_cadence_enrollments_deletion",
        table_name="cadence_enrollments",
        postgresql_where=sa.text("deletion_id IS NOT NULL"),
    )
    op.drop_constraint(
        op.f("ck_cadence_enrollments_deletion_complete"), "cadence_enrollments", type_="check"
    )
    op.drop_constraint(
        op.f("fk_cadence_enrollments_deleted_by_users"), "cadence_enrollments", type_="foreignkey"
    )
    op.drop_column("cadence_enrollments", "deletion_id")
    op.drop_column("cadence_enrollments", "deleted_by")
    op.drop_column("cadence_enrollments", "deleted_at")
