"""saved views' privacy in the database

A private view is its owner's alone and a shared one the organization's to read;
only its owner creates, changes or deletes it. The service said so already (404 for
another member's private view, 403 for changing another's shared one); these
restrictive policies hold it for every statement of the app role, on top of tenant
isolation (both must hold): another member's private view is not there even by id,
and a statement that would write another member's view changes nothing (DELETE) or
is refused (INSERT, UPDATE — also one that would hand a view to someone else).

Revision ID: c5e8a1f3d7b9
Revises: b7d2e9f4a1c6
Create Date: 2026-12-07 18:00:00.000000+00:00
"""

from __future__ import annotations

from alembic import op

from baton.db import ddl

revision = "c5e8a1f3d7b9"
down_revision = "b7d2e9f4a1c6"
branch_labels = None
depends_on = None

_OWNER = f"owner_id = {ddl.CURRENT_USER_ID}"
POLICIES = (
    (
        "saved_view_read",
        f"FOR SELECT USING (shared OR {_OWNER})",
    ),
    ("saved_view_insert", f"FOR INSERT WITH CHECK ({_OWNER})"),
    ("saved_view_update", f"FOR UPDATE USING ({_OWNER}) WITH CHECK ({_OWNER})"),
    ("saved_view_delete", f"FOR DELETE USING ({_OWNER})"),
)


def upgrade() -> None:
    for name, rule in POLICIES:
        op.execute(f"CREATE POLICY {name} ON saved_views AS RESTRICTIVE {rule}")


def downgrade() -> None:
    for name, _ in POLICIES:
        op.execute(f"DROP POLICY {name} ON saved_views")
