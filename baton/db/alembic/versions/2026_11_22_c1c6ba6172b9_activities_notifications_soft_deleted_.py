"""activities, notifications, soft-deleted work items

Revision ID: c1c6ba6172b9
Revises: 88ada831cda2
Create Date: 2026-11-22 08:15:54.205433+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.db import ddl

revision = "c1c6ba6172b9"
down_revision = "88ada831cda2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=True),
        sa.Column("record_id", sa.UUID(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
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
            "entity_type IS NULL OR entity_type IN ('lead', 'deal', 'target', 'work_item')",
            name=op.f("ck_notifications_entity_type_valid"),
        ),
        sa.CheckConstraint(
            "(entity_type IS NULL) = (record_id IS NULL)",
            name=op.f("ck_notifications_record_complete"),
        ),
        sa.CheckConstraint(
            "length(btrim(message)) BETWEEN 1 AND 500", name=op.f("ck_notifications_message_length")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_notifications_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_notifications")),
        info={"tenancy": "tenant"},
    )
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["tenant_id", "user_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.create_table(
        "activities",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("work_item_id", sa.UUID(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.UUID(), nullable=True),
        sa.Column("deletion_id", sa.UUID(), nullable=True),
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
            "(status = 'done') = (completed_at IS NOT NULL)",
            name=op.f("ck_activities_completed_when_done"),
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'done', 'cancelled')", name=op.f("ck_activities_status_valid")
        ),
        sa.CheckConstraint(
            "type <> 'system' OR status = 'done'", name=op.f("ck_activities_system_entries_done")
        ),
        sa.CheckConstraint(
            "type IN ('call', 'email', 'meeting', 'task', 'note', 'system')",
            name=op.f("ck_activities_type_valid"),
        ),
        sa.CheckConstraint(
            "description IS NULL OR length(description) <= 10000",
            name=op.f("ck_activities_description_length"),
        ),
        sa.CheckConstraint(
            "length(btrim(subject)) BETWEEN 1 AND 200", name=op.f("ck_activities_subject_length")
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR length(outcome) <= 1000", name=op.f("ck_activities_outcome_length")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_activities_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["deleted_by"], ["users.id"], name=op.f("fk_activities_deleted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_activities_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "work_item_id"],
            ["work_items.tenant_id", "work_items.id"],
            name=op.f("fk_activities_tenant_id_work_item_id_work_items"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_activities_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_activities")),
        info={"tenancy": "tenant"},
    )
    op.create_index(
        "ix_activities_owner_planned",
        "activities",
        ["tenant_id", "owner_id", "due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'planned' AND deleted_at IS NULL"),
    )
    op.create_index(
        "ix_activities_work_item",
        "activities",
        ["tenant_id", "work_item_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("work_item_id IS NOT NULL"),
    )
    op.add_column("work_items", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("work_items", sa.Column("deleted_by", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_work_items_deleted_by_users"), "work_items", "users", ["deleted_by"], ["id"]
    )
    # The board reads live items only.
    op.drop_index("ix_work_items_board", table_name="work_items")
    op.create_index(
        "ix_work_items_board",
        "work_items",
        ["tenant_id", "workflow_id", "step_id"],
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    for table in ("activities", "notifications"):
        for statement in ddl.enable_tenant_rls(table):
            op.execute(statement)
    op.execute(ddl.attach_audit("activities"))


def downgrade() -> None:
    op.drop_index("ix_work_items_board", table_name="work_items")
    op.create_index("ix_work_items_board", "work_items", ["tenant_id", "workflow_id", "step_id"])
    op.drop_constraint(op.f("fk_work_items_deleted_by_users"), "work_items", type_="foreignkey")
    op.drop_column("work_items", "deleted_by")
    op.drop_column("work_items", "deleted_at")
    op.drop_index(
        "ix_activities_work_item",
        table_name="activities",
        postgresql_where=sa.text("work_item_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_activities_owner_planned",
        table_name="activities",
        postgresql_where=sa.text("status = 'planned' AND deleted_at IS NULL"),
    )
    op.drop_table("activities")
    op.drop_index(
        "ix_notifications_unread",
        table_name="notifications",
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.drop_table("notifications")
