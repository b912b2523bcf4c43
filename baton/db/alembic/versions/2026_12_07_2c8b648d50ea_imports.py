"""imports: import batches, their files, and the batch each imported row names

`import_batches` holds one uploaded file's way into targets, leads or accounts
(preview, mapping, status, progress, counts, failure); `import_files` its bytes,
apart so the batch's audit rows never copy them. Both are tenant tables with RLS;
the batch is audited. `baton_import_trail` reads what a batch did from the
audit trail, for its undo. `targets`, `leads`, `accounts`, `contacts`,
`account_transactions` and `deals` gain `import_batch_id` (a composite foreign key
and a partial index), which an import sets on every row it creates or updates and
its undo looks up.

Revision ID: 2c8b648d50ea
Revises: d3b8f6a2e1c4
Create Date: 2026-12-07 04:38:19.922457+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from baton.db import ddl
from baton.imports import ddl as imports_ddl

revision = "2c8b648d50ea"
down_revision = "d3b8f6a2e1c4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("encoding", sa.String(length=40), nullable=False),
        sa.Column("delimiter", sa.String(length=1), nullable=True),
        sa.Column("sheet", sa.String(length=100), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("on_duplicate", sa.String(length=8), nullable=False),
        sa.Column(
            "defaults", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "preview", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("valid_rows_only", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("created", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "kind IN ('targets', 'leads', 'accounts')", name=op.f("ck_import_batches_kind_valid")
        ),
        sa.CheckConstraint(
            "on_duplicate IN ('skip', 'update', 'create')",
            name=op.f("ck_import_batches_on_duplicate_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('previewed', 'running', 'completed', 'failed', 'undone')",
            name=op.f("ck_import_batches_status_valid"),
        ),
        sa.CheckConstraint(
            "failure IS NULL OR length(failure) <= 2000",
            name=op.f("ck_import_batches_failure_length"),
        ),
        sa.CheckConstraint(
            "length(filename) BETWEEN 1 AND 255", name=op.f("ck_import_batches_filename_length")
        ),
        sa.CheckConstraint(
            "rows_total >= 0 AND rows_done >= 0 AND error_count >= 0 AND created >= 0 AND updated >= 0 AND skipped >= 0 AND failed >= 0",
            name=op.f("ck_import_batches_counts_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_import_batches_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_import_batches_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_import_batches")),
        info={"tenancy": "tenant"},
    )
    op.create_index(
        "ix_import_batches_created", "import_batches", ["tenant_id", "created_at"], unique=False
    )
    op.create_table(
        "import_files",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "batch_id"],
            ["import_batches.tenant_id", "import_batches.id"],
            name=op.f("fk_import_files_tenant_id_batch_id_import_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_import_files_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "batch_id", name=op.f("pk_import_files")),
        info={"tenancy": "tenant", "audited": False},
    )
    op.add_column("account_transactions", sa.Column("import_batch_id", sa.UUID(), nullable=True))
    op.create_index(
        "ix_account_transactions_import_batch",
        "account_transactions",
        ["tenant_id", "import_batch_id"],
        unique=False,
        postgresql_where=sa.text("import_batch_id IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_account_transactions_tenant_id_import_batch_id_import_batches"),
        "account_transactions",
        "import_batches",
        ["tenant_id", "import_batch_id"],
        ["tenant_id", "id"],
    )
    op.add_column("accounts", sa.Column("import_batch_id", sa.UUID(), nullable=True))
    op.create_index(
        "ix_accounts_import_batch",
        "accounts",
        ["tenant_id", "import_batch_id"],
        unique=False,
        postgresql_where=sa.text("import_batch_id IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_accounts_tenant_id_import_batch_id_import_batches"),
        "accounts",
        "import_batches",
        ["tenant_id", "import_batch_id"],
        ["tenant_id", "id"],
    )
    op.add_column("contacts", sa.Column("import_batch_id", sa.UUID(), nullable=True))
    op.create_index(
        "ix_contacts_import_batch",
        "contacts",
        ["tenant_id", "import_batch_id"],
        unique=False,
        postgresql_where=sa.text("import_batch_id IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_contacts_tenant_id_import_batch_id_import_batches"),
        "contacts",
        "import_batches",
        ["tenant_id", "import_batch_id"],
        ["tenant_id", "id"],
    )
    op.add_column("deals", sa.Column("import_batch_id", sa.UUID(), nullable=True))
    op.create_index(
        "ix_deals_import_batch",
        "deals",
        ["tenant_id", "import_batch_id"],
        unique=False,
        postgresql_where=sa.text("import_batch_id IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_deals_tenant_id_import_batch_id_import_batches"),
        "deals",
        "import_batches",
        ["tenant_id", "import_batch_id"],
        ["tenant_id", "id"],
    )
    op.add_column("leads", sa.Column("import_batch_id", sa.UUID(), nullable=True))
    op.create_index(
        "ix_leads_import_batch",
        "leads",
        ["tenant_id", "import_batch_id"],
        unique=False,
        postgresql_where=sa.text("import_batch_id IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_leads_tenant_id_import_batch_id_import_batches"),
        "leads",
        "import_batches",
        ["tenant_id", "import_batch_id"],
        ["tenant_id", "id"],
    )
    op.add_column("targets", sa.Column("import_batch_id", sa.UUID(), nullable=True))
    op.create_index(
        "ix_targets_import_batch",
        "targets",
        ["tenant_id", "import_batch_id"],
        unique=False,
        postgresql_where=sa.text("import_batch_id IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_targets_tenant_id_import_batch_id_import_batches"),
        "targets",
        "import_batches",
        ["tenant_id", "import_batch_id"],
        ["tenant_id", "id"],
    )
    for table in ("import_batches", "import_files"):
        for statement in ddl.enable_tenant_rls(table):
            op.execute(statement)
    op.execute(ddl.attach_audit("import_batches"))
    op.execute(imports_ddl.IMPORT_TRAIL_FUNCTION_V1)


def downgrade() -> None:
    op.execute(imports_ddl.DROP_IMPORT_TRAIL_FUNCTION)
    op.execute(ddl.detach_audit("import_batches"))
    for table in ("import_files", "import_batches"):
        for statement in ddl.disable_tenant_rls(table):
            op.execute(statement)
    op.drop_constraint(
        op.f("fk_targets_tenant_id_import_batch_id_import_batches"), "targets", type_="foreignkey"
    )
    op.drop_index(
        "ix_targets_import_batch",
        table_name="targets",
        postgresql_where=sa.text("import_batch_id IS NOT NULL"),
    )
    op.drop_column("targets", "import_batch_id")
    op.drop_constraint(
        op.f("fk_leads_tenant_id_import_batch_id_import_batches"), "leads", type_="foreignkey"
    )
    op.drop_index(
        "ix_leads_import_batch",
        table_name="leads",
        postgresql_where=sa.text("import_batch_id IS NOT NULL"),
    )
    op.drop_column("leads", "import_batch_id")
    op.drop_constraint(
        op.f("fk_deals_tenant_id_import_batch_id_import_batches"), "deals", type_="foreignkey"
    )
    op.drop_index(
        "ix_deals_import_batch",
        table_name="deals",
        postgresql_where=sa.text("import_batch_id IS NOT NULL"),
    )
    op.drop_column("deals", "import_batch_id")
    op.drop_constraint(
        op.f("fk_contacts_tenant_id_import_batch_id_import_batches"), "contacts", type_="foreignkey"
    )
    op.drop_index(
        "ix_contacts_import_batch",
        table_name="contacts",
        postgresql_where=sa.text("import_batch_id IS NOT NULL"),
    )
    op.drop_column("contacts", "import_batch_id")
    op.drop_constraint(
        op.f("fk_accounts_tenant_id_import_batch_id_import_batches"), "accounts", type_="foreignkey"
    )
    op.drop_index(
        "ix_accounts_import_batch",
        table_name="accounts",
        postgresql_where=sa.text("import_batch_id IS NOT NULL"),
    )
    op.drop_column("accounts", "import_batch_id")
    op.drop_constraint(
        op.f("fk_account_transactions_tenant_id_import_batch_id_import_batches"),
        "account_transactions",
        type_="foreignkey",
    )
    op.drop_index(
        "ix_account_transactions_import_batch",
        table_name="account_transactions",
        postgresql_where=sa.text("import_batch_id IS NOT NULL"),
    )
    op.drop_column("account_transactions", "import_batch_id")
    op.drop_table("import_files")
    op.drop_index("ix_import_batches_created", table_name="import_batches")
    op.drop_table("import_batches")
