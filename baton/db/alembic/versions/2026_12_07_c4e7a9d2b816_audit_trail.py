"""audit trail: members read the change trail of the records they may read

The app role may only INSERT into `audit_log` (DESIGN §3.3). Reading goes through
`baton_audit_trail`, a SECURITY DEFINER function that answers only the current
tenant's rows (the transaction's `baton.tenant_id`): one record's trail (table and
row named) for any member — the service first reads the record as the caller, so
row-level security has decided they may see it — and the whole organization's,
security events included, only when the transaction's role is admin. Newest first,
by id, at most 200 rows a call.

Revision ID: c4e7a9d2b816
Revises: 9d3f6a2c8e14
Create Date: 2026-12-07 02:40:00.000000+00:00
"""

from __future__ import annotations

from alembic import op

revision = "c4e7a9d2b816"
down_revision = "9d3f6a2c8e14"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE FUNCTION baton_audit_trail(
    p_table text, p_row uuid, p_actor uuid, p_from timestamptz, p_to timestamptz,
    p_before bigint, p_limit integer)
RETURNS SETOF audit_log
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT a.* FROM audit_log a
    WHERE a.tenant_id = nullif(current_setting('baton.tenant_id', true), '')::uuid
      AND ((p_table IS NOT NULL AND p_row IS NOT NULL)
           OR coalesce(current_setting('baton.role', true), '') = 'admin')
      AND (p_table IS NULL OR a.table_name = p_table)
      AND (p_row IS NULL OR a.row_id = p_row)
      AND (p_actor IS NULL OR a.actor_user_id = p_actor)
      AND (p_from IS NULL OR a.at >= p_from)
      AND (p_to IS NULL OR a.at < p_to)
      AND (p_before IS NULL OR a.id < p_before)
    ORDER BY a.id DESC
    LIMIT least(greatest(coalesce(p_limit, 50), 1), 200)
$$
"""


def upgrade() -> None:
    op.execute(_FUNCTION)
    # An organization's whole trail, newest first.
    op.create_index("ix_audit_log_tenant_id_id", "audit_log", ["tenant_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_tenant_id_id", table_name="audit_log")
    op.execute(
        "DROP FUNCTION baton_audit_trail(text, uuid, uuid, timestamptz, timestamptz, bigint,"
        " integer)"
    )
