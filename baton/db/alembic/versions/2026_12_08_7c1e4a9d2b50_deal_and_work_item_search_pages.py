"""deal and work item search pages: `baton_search_page_deals` and `baton_search_page_work_items` (issue 14, defect 5)

The deals and work items lists take `q` now. Searched without another filter, their
page is read as the accounts', contacts' and targets' are: `baton_search_page_<table>`
answers the next page in (rank, id) order from the cursor's (rank, id), a few
thousand rows read at most whatever the word (why and how:
`baton.db.search.page_function_sql`). Their documents already hold the marked lexemes
(revision a6400433877f). The SQL text is that revision's own copy of the function
(a test compares it with `baton.db.search`); functions are executable by every role.

Revision ID: 7c1e4a9d2b50
Revises: 5d2b8e7f1c30
Create Date: 2026-12-08 01:30:00.000000+00:00
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "7c1e4a9d2b50"
down_revision = "5d2b8e7f1c30"
branch_labels = None
depends_on = None

TABLES = ("deals", "work_items")
# Names only, no phone: the shape without the phone tail.
PAGES = importlib.import_module(
    "baton.db.alembic.versions.2026_12_07_a6400433877f_list_search_pages"
)


def upgrade() -> None:
    for table in TABLES:
        op.execute(PAGES.PAGE_FUNCTION.strip().replace("{table}", table))


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP FUNCTION baton_search_page_{table}{PAGES.SIGNATURE}")
