"""Workflow engine: statuses, versioned workflows, steps, transitions, project types,
append-only history, and generic work items governed by the database.

Revision ID: 88ada831cda2
Revises: e8df2f8a324f
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from baton.db import ddl

NEW_TENANT_TABLES = (
    "statuses",
    "workflows",
    "workflow_steps",
    "workflow_transitions",
    "project_types",
    "workflow_history",
    "work_items",
)
# workflow_history is itself the trail of every move (append-only for the app role):
# auditing its inserts again would only double the writes.
AUDITED = tuple(t for t in NEW_TENANT_TABLES if t != "workflow_history")

revision = "88ada831cda2"
down_revision = "e8df2f8a324f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statuses",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("colour", sa.String(length=7), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
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
            "category IN ('open', 'won', 'lost', 'parked')", name=op.f("ck_statuses_category_valid")
        ),
        sa.CheckConstraint("colour ~ '^#[0-9a-f]{6}$'", name=op.f("ck_statuses_colour_format")),
        sa.CheckConstraint(
            "length(btrim(name)) BETWEEN 1 AND 100", name=op.f("ck_statuses_name_length")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_statuses_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_statuses")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_statuses_tenant_id_name")),
    )
    op.create_table(
        "workflows",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("family_id", sa.UUID(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
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
            "entity_type IN ('lead', 'deal', 'target', 'work_item')",
            name=op.f("ck_workflows_entity_type_valid"),
        ),
        sa.CheckConstraint(
            "length(btrim(name)) BETWEEN 1 AND 100", name=op.f("ck_workflows_name_length")
        ),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_workflows_revision_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_workflows_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_workflows")),
        sa.UniqueConstraint(
            "tenant_id",
            "family_id",
            "revision",
            name=op.f("uq_workflows_tenant_id_family_id_revision"),
        ),
    )
    op.create_table(
        "project_types",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("default_workflow_id", sa.UUID(), nullable=False),
        sa.Column("icon", sa.String(length=32), nullable=False),
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
            "entity_type IN ('lead', 'deal', 'target', 'work_item')",
            name=op.f("ck_project_types_entity_type_valid"),
        ),
        sa.CheckConstraint(
            "length(btrim(name)) BETWEEN 1 AND 100", name=op.f("ck_project_types_name_length")
        ),
        sa.CheckConstraint(
            "length(icon) BETWEEN 1 AND 32", name=op.f("ck_project_types_icon_length")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "default_workflow_id"],
            ["workflows.tenant_id", "workflows.id"],
            name=op.f("fk_project_types_tenant_id_default_workflow_id_workflows"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_project_types_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_project_types")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_project_types_tenant_id_name")),
    )
    op.create_table(
        "workflow_history",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.UUID(), nullable=False),
        sa.Column("workflow_id", sa.UUID(), nullable=False),
        sa.Column("from_step_id", sa.UUID(), nullable=True),
        sa.Column("to_step_id", sa.UUID(), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("seconds_in_previous_step", sa.Float(), nullable=True),
        sa.Column("backwards", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "entity_type IN ('lead', 'deal', 'target', 'work_item')",
            name=op.f("ck_workflow_history_entity_type_valid"),
        ),
        sa.CheckConstraint(
            "notes IS NULL OR length(notes) <= 10000", name=op.f("ck_workflow_history_notes_length")
        ),
        sa.CheckConstraint(
            "reason IS NULL OR length(reason) <= 100",
            name=op.f("ck_workflow_history_reason_length"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "workflow_id"],
            ["workflows.tenant_id", "workflows.id"],
            name=op.f("fk_workflow_history_tenant_id_workflow_id_workflows"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_workflow_history_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_workflow_history")),
    )
    op.create_index(
        "ix_workflow_history_record",
        "workflow_history",
        ["tenant_id", "record_id", "at"],
        unique=False,
    )
    op.create_index(
        "ix_workflow_history_workflow_at",
        "workflow_history",
        ["tenant_id", "workflow_id", "at"],
        unique=False,
    )
    op.create_table(
        "workflow_steps",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("workflow_id", sa.UUID(), nullable=False),
        sa.Column("status_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_initial", sa.Boolean(), nullable=False),
        sa.Column("is_final", sa.Boolean(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
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
            "jsonb_typeof(metadata) = 'object'", name=op.f("ck_workflow_steps_metadata_object")
        ),
        sa.CheckConstraint(
            "key ~ '^[a-z][a-z0-9_]{0,62}$'", name=op.f("ck_workflow_steps_key_format")
        ),
        sa.CheckConstraint("position >= 0", name=op.f("ck_workflow_steps_position_non_negative")),
        sa.CheckConstraint(
            "probability IS NULL OR probability BETWEEN 0 AND 100",
            name=op.f("ck_workflow_steps_probability_range"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "status_id"],
            ["statuses.tenant_id", "statuses.id"],
            name=op.f("fk_workflow_steps_tenant_id_status_id_statuses"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "workflow_id"],
            ["workflows.tenant_id", "workflows.id"],
            name=op.f("fk_workflow_steps_tenant_id_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_workflow_steps_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_workflow_steps")),
        sa.UniqueConstraint(
            "tenant_id",
            "workflow_id",
            "id",
            name=op.f("uq_workflow_steps_tenant_id_workflow_id_id"),
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "workflow_id",
            "key",
            name=op.f("uq_workflow_steps_tenant_id_workflow_id_key"),
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "workflow_id",
            "position",
            deferrable=True,
            initially="DEFERRED",
            name=op.f("uq_workflow_steps_tenant_id_workflow_id_position"),
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "workflow_id",
            "status_id",
            name=op.f("uq_workflow_steps_tenant_id_workflow_id_status_id"),
        ),
    )
    op.create_index(
        "uq_workflow_steps_one_initial",
        "workflow_steps",
        ["tenant_id", "workflow_id"],
        unique=True,
        postgresql_where=sa.text("is_initial"),
    )
    op.create_table(
        "work_items",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("project_type_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.UUID(), nullable=True),
        sa.Column("workflow_id", sa.UUID(), nullable=False),
        sa.Column("step_id", sa.UUID(), nullable=False),
        sa.Column("entered_step_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
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
            "jsonb_typeof(metadata) = 'object'", name=op.f("ck_work_items_metadata_object")
        ),
        sa.CheckConstraint(
            "description IS NULL OR length(description) <= 10000",
            name=op.f("ck_work_items_description_length"),
        ),
        sa.CheckConstraint(
            "length(btrim(name)) BETWEEN 1 AND 200", name=op.f("ck_work_items_name_length")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_work_items_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_type_id"],
            ["project_types.tenant_id", "project_types.id"],
            name=op.f("fk_work_items_tenant_id_project_type_id_project_types"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "workflow_id", "step_id"],
            ["workflow_steps.tenant_id", "workflow_steps.workflow_id", "workflow_steps.id"],
            name=op.f("fk_work_items_tenant_id_workflow_id_step_id_workflow_steps"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "workflow_id"],
            ["workflows.tenant_id", "workflows.id"],
            name=op.f("fk_work_items_tenant_id_workflow_id_workflows"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_work_items_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_work_items")),
    )
    op.create_index(
        "ix_work_items_board", "work_items", ["tenant_id", "workflow_id", "step_id"], unique=False
    )
    op.create_table(
        "workflow_transitions",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("workflow_id", sa.UUID(), nullable=False),
        sa.Column("from_step_id", sa.UUID(), nullable=False),
        sa.Column("to_step_id", sa.UUID(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("conditions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("effects", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
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
            "jsonb_typeof(conditions) = 'object'",
            name=op.f("ck_workflow_transitions_conditions_object"),
        ),
        sa.CheckConstraint(
            "jsonb_typeof(effects) = 'array'", name=op.f("ck_workflow_transitions_effects_array")
        ),
        sa.CheckConstraint(
            "from_step_id <> to_step_id", name=op.f("ck_workflow_transitions_not_a_loop")
        ),
        sa.CheckConstraint(
            "length(btrim(label)) BETWEEN 1 AND 100",
            name=op.f("ck_workflow_transitions_label_length"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "workflow_id", "from_step_id"],
            ["workflow_steps.tenant_id", "workflow_steps.workflow_id", "workflow_steps.id"],
            name=op.f("fk_workflow_transitions_tenant_id_workflow_id_from_step_id_workflow_steps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "workflow_id", "to_step_id"],
            ["workflow_steps.tenant_id", "workflow_steps.workflow_id", "workflow_steps.id"],
            name=op.f("fk_workflow_transitions_tenant_id_workflow_id_to_step_id_workflow_steps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "workflow_id"],
            ["workflows.tenant_id", "workflows.id"],
            name=op.f("fk_workflow_transitions_tenant_id_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_workflow_transitions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_workflow_transitions")),
        sa.UniqueConstraint(
            "tenant_id",
            "workflow_id",
            "from_step_id",
            "to_step_id",
            name=op.f("uq_workflow_transitions_tenant_id_workflow_id_from_step_id_to_step_id"),
        ),
    )

    for table in NEW_TENANT_TABLES:
        for statement in ddl.enable_tenant_rls(table):
            op.execute(statement)
    for table in AUDITED:
        op.execute(ddl.attach_audit(table))
    op.execute(ddl.UUID7_FUNCTION)
    op.execute(ddl.GOVERN_STEP_FUNCTION_V1)
    op.execute(ddl.attach_governance("work_items", "work_item"))


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS govern_step ON work_items")
    op.execute("DROP FUNCTION IF EXISTS baton_govern_step()")
    op.execute("DROP FUNCTION IF EXISTS baton_uuid7()")
    op.drop_table("workflow_transitions")
    op.drop_index("ix_work_items_board", table_name="work_items")
    op.drop_table("work_items")
    op.drop_index(
        "uq_workflow_steps_one_initial",
        table_name="workflow_steps",
        postgresql_where=sa.text("is_initial"),
    )
    op.drop_table("workflow_steps")
    op.drop_index("ix_workflow_history_workflow_at", table_name="workflow_history")
    op.drop_index("ix_workflow_history_record", table_name="workflow_history")
    op.drop_table("workflow_history")
    op.drop_table("project_types")
    op.drop_table("workflows")
    op.drop_table("statuses")
