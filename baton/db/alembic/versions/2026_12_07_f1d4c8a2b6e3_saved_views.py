"""saved views, and the deals list's sort indexes

`saved_views` keeps a member's named filters and sort of a list (private, or shared
with the organization); unique name per owner and list; RLS forced and audited like
every tenant table. The deals list sorts by name, amount, expected close and time in
stage, next step due through these partial indexes on live deals (ties by id), instead of sorting a
whole tenant's deals for each page.

Revision ID: f1d4c8a2b6e3
Revises: b7d2e4f6a1c3
Create Date: 2026-12-07 15:00:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from baton.db import ddl

revision = "f1d4c8a2b6e3"
down_revision = "b7d2e4f6a1c3"
branch_labels = None
depends_on = None

# (index name, its columns after tenant_id): the deals list's sortable deal columns.
DEAL_SORT_INDEXES = (
    ("ix_deals_list_name", "name, id"),
    ("ix_deals_list_amount", "amount, id"),
    ("ix_deals_list_amount_desc", "amount DESC NULLS LAST, id DESC"),
    ("ix_deals_list_expected_close", "expected_close_date, id"),
    ("ix_deals_list_next_step_due", "next_step_due_date, id"),
    ("ix_deals_list_entered_step", "entered_step_at, id"),
)


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("list_kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
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
            "list_kind IN ('deals', 'accounts')", name=op.f("ck_saved_views_list_kind_valid")
        ),
        sa.CheckConstraint(
            "length(btrim(name)) BETWEEN 1 AND 100", name=op.f("ck_saved_views_name_length")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(query) = 'object'", name=op.f("ck_saved_views_query_is_object")
        ),
        sa.CheckConstraint(
            "octet_length(query::text) <= 4000", name=op.f("ck_saved_views_query_size")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_saved_views_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_saved_views_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint(
            "tenant_id",
            "owner_id",
            "list_kind",
            "name",
            name=op.f("uq_saved_views_tenant_id_owner_id_list_kind_name"),
        ),
        info={"tenancy": "tenant"},
    )
    for statement in ddl.enable_tenant_rls("saved_views"):
        op.execute(statement)
    op.execute(ddl.attach_audit("saved_views"))
    for name, columns in DEAL_SORT_INDEXES:
        op.execute(f"CREATE INDEX {name} ON deals (tenant_id, {columns}) WHERE deleted_at IS NULL")


def downgrade() -> None:
    for name, _ in DEAL_SORT_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute(ddl.detach_audit("saved_views"))
    for statement in ddl.disable_tenant_rls("saved_views"):
        op.execute(statement)
    op.drop_table("saved_views")
