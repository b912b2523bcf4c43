"""import kinds: contacts, transactions and deals; imported deals at any open step

`import_batches.kind` also takes `contacts`, `transactions` and `deals`.
`baton_import_trail` reads the audit trail of `account_transactions` and `deals` too.
The workflow guard (`baton_govern_step`) lets a row an import batch writes start at
any open step of its workflow — only when the row and the transaction
(`baton.import_batch`) name the same running batch — and records that first step
with reason `import`; every other insert still starts at the initial step. The
downgrade puts the previous texts back.

Revision ID: f4b2d9a6c1e3
Revises: f3b9d6c1a8e2
Create Date: 2026-12-07 14:30:00.000000+00:00
"""

from __future__ import annotations

from alembic import op

from baton.db import ddl
from baton.imports import ddl as imports_ddl

revision = "f4b2d9a6c1e3"
down_revision = "f3b9d6c1a8e2"
branch_labels = None
depends_on = None

KINDS = ("targets", "leads", "accounts", "contacts", "transactions", "deals")
KINDS_V1 = ("targets", "leads", "accounts")


def _replace(function: str) -> str:
    return function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def _kinds(kinds: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_import_batches_kind_valid"), "import_batches", type_="check")
    names = ", ".join(f"'{kind}'" for kind in kinds)
    op.create_check_constraint(
        op.f("ck_import_batches_kind_valid"), "import_batches", f"kind IN ({names})"
    )


def upgrade() -> None:
    _kinds(KINDS)
    op.execute(_replace(imports_ddl.IMPORT_TRAIL_FUNCTION))
    op.execute(_replace(ddl.GOVERN_STEP_FUNCTION))


def downgrade() -> None:
    op.execute(_replace(ddl.GOVERN_STEP_FUNCTION_V1))
    op.execute(_replace(imports_ddl.IMPORT_TRAIL_FUNCTION_V1))
    _kinds(KINDS_V1)
