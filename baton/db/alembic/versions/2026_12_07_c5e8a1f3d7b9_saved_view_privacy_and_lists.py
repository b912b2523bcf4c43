"""saved views' privacy in the database, and views of the targets and lead lists

A private view is its owner's alone and a shared one the organization's to read;
only its owner creates, changes or deletes it. The service said so already (404 for
another member's private view, 403 for changing another's shared one); these
restrictive policies hold it for every statement of the app role, on top of tenant
isolation (both must hold): another member's private view is not there even by id,
and a statement that would write another member's view changes nothing (DELETE) or
is refused (INSERT, UPDATE — also one that would hand a view to someone else).

Views are also saved for the targets and contacts lists and for each lead queue (`leads_inbox` …
`leads_disqualified`: up to 18 characters, so `list_kind` widens to 32).

Revision ID: c5e8a1f3d7b9
Revises: c4e8a1f6d2b9
Create Date: 2026-12-07 18:00:00.000000+00:00
"""

from __future__ import annotations

from alembic import op

from baton.db import ddl

revision = "c5e8a1f3d7b9"
down_revision = "c4e8a1f6d2b9"
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


KINDS_BEFORE = ("deals", "accounts")
KINDS = (
    *KINDS_BEFORE,
    "targets",
    "contacts",
    "leads_inbox",
    "leads_pool",
    "leads_mine",
    "leads_nurture",
    "leads_disqualified",
    "leads_converted",
    "leads_team",
)


def _kinds_check(kinds: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    return (
        "ALTER TABLE saved_views ADD CONSTRAINT ck_saved_views_list_kind_valid"
        f" CHECK (list_kind IN ({listed}))"
    )


def upgrade() -> None:
    for name, rule in POLICIES:
        op.execute(f"CREATE POLICY {name} ON saved_views AS RESTRICTIVE {rule}")
    op.execute("ALTER TABLE saved_views DROP CONSTRAINT ck_saved_views_list_kind_valid")
    op.execute("ALTER TABLE saved_views ALTER COLUMN list_kind TYPE varchar(32)")
    op.execute(_kinds_check(KINDS))


def downgrade() -> None:
    # Views of the lists added here go with them.
    listed = ", ".join(f"'{kind}'" for kind in KINDS_BEFORE)
    op.execute(f"DELETE FROM saved_views WHERE list_kind NOT IN ({listed})")
    op.execute("ALTER TABLE saved_views DROP CONSTRAINT ck_saved_views_list_kind_valid")
    op.execute("ALTER TABLE saved_views ALTER COLUMN list_kind TYPE varchar(16)")
    op.execute(_kinds_check(KINDS_BEFORE))
    for name, _ in POLICIES:
        op.execute(f"DROP POLICY {name} ON saved_views")
