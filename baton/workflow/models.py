"""Statuses, workflows (versioned), steps, transitions, project types and history.

A governed record (work item, later deal, lead, target) carries `workflow_id`,
`step_id` and `entered_step_at`; the database lets `step_id` change only along a
transition of that workflow and writes the history row itself (see
`baton.db.ddl.GOVERN_STEP_FUNCTION`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from baton.db.base import Base, TenantKeyed, Timestamped, Versioned, enum_check


class StatusCategory(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"
    PARKED = "parked"


class EntityType(StrEnum):
    LEAD = "lead"
    DEAL = "deal"
    TARGET = "target"
    # Records of admin-defined project types ("Support Ticket", …).
    WORK_ITEM = "work_item"


STEP_KEY_PATTERN = "^[a-z][a-z0-9_]{0,62}$"


class Status(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "statuses"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("length(btrim(name)) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint("colour ~ '^#[0-9a-f]{6}$'", name="colour_format"),
        CheckConstraint(enum_check("category", StatusCategory), name="category_valid"),
        {"info": {"tenancy": "tenant"}},
    )

    name: Mapped[str] = mapped_column(String(100))
    colour: Mapped[str] = mapped_column(String(7))
    category: Mapped[str] = mapped_column(String(16))
    archived: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class Workflow(TenantKeyed, Timestamped, Versioned, Base):
    """One version of a workflow; versions of the same workflow share `family_id`."""

    __tablename__ = "workflows"
    __table_args__ = (
        UniqueConstraint("tenant_id", "family_id", "revision"),
        CheckConstraint("length(btrim(name)) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint(enum_check("entity_type", EntityType), name="entity_type_valid"),
        CheckConstraint("revision >= 1", name="revision_positive"),
        {"info": {"tenancy": "tenant"}},
    )

    family_id: Mapped[uuid.UUID]
    # "version" is the row's optimistic-lock counter; this is the workflow's version.
    revision: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(16))
    published: Mapped[bool] = mapped_column(Boolean)
    archived: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class WorkflowStep(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "workflow_steps"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "workflow_id"],
            ["workflows.tenant_id", "workflows.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(["tenant_id", "status_id"], ["statuses.tenant_id", "statuses.id"]),
        # Target of the composite FKs that keep transitions and records inside one workflow.
        UniqueConstraint("tenant_id", "workflow_id", "id"),
        UniqueConstraint("tenant_id", "workflow_id", "key"),
        UniqueConstraint("tenant_id", "workflow_id", "status_id"),
        UniqueConstraint(
            "tenant_id", "workflow_id", "position", deferrable=True, initially="DEFERRED"
        ),
        Index(
            "uq_workflow_steps_one_initial",
            "tenant_id",
            "workflow_id",
            unique=True,
            postgresql_where=text("is_initial"),
        ),
        CheckConstraint(f"key ~ '{STEP_KEY_PATTERN}'", name="key_format"),
        CheckConstraint("position >= 0", name="position_non_negative"),
        CheckConstraint("jsonb_typeof(metadata) = 'object'", name="metadata_object"),
        CheckConstraint(
            "probability IS NULL OR probability BETWEEN 0 AND 100", name="probability_range"
        ),
        {"info": {"tenancy": "tenant"}},
    )

    workflow_id: Mapped[uuid.UUID]
    status_id: Mapped[uuid.UUID]
    key: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    is_initial: Mapped[bool] = mapped_column(Boolean)
    is_final: Mapped[bool] = mapped_column(Boolean)
    probability: Mapped[float | None] = mapped_column(Float)
    # sla_days, outcome, required_fields (to enter the step) and domain extras.
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)


class WorkflowTransition(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "workflow_transitions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "workflow_id"],
            ["workflows.tenant_id", "workflows.id"],
            ondelete="CASCADE",
        ),
        # Both ends must be steps of this same workflow.
        ForeignKeyConstraint(
            ["tenant_id", "workflow_id", "from_step_id"],
            ["workflow_steps.tenant_id", "workflow_steps.workflow_id", "workflow_steps.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "workflow_id", "to_step_id"],
            ["workflow_steps.tenant_id", "workflow_steps.workflow_id", "workflow_steps.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "workflow_id", "from_step_id", "to_step_id"),
        CheckConstraint("from_step_id <> to_step_id", name="not_a_loop"),
        CheckConstraint("length(btrim(label)) BETWEEN 1 AND 100", name="label_length"),
        CheckConstraint("jsonb_typeof(conditions) = 'object'", name="conditions_object"),
        CheckConstraint("jsonb_typeof(effects) = 'array'", name="effects_array"),
        {"info": {"tenancy": "tenant"}},
    )

    workflow_id: Mapped[uuid.UUID]
    from_step_id: Mapped[uuid.UUID]
    to_step_id: Mapped[uuid.UUID]
    label: Mapped[str] = mapped_column(String(100))
    # {"required_fields": [...], "reasons": [...], "roles": [...]}
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # [{"name": "log_activity", "config": {...}}, ...]
    effects: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)


class ProjectType(TenantKeyed, Timestamped, Versioned, Base):
    """A kind of record and the workflow its new records follow."""

    __tablename__ = "project_types"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "default_workflow_id"], ["workflows.tenant_id", "workflows.id"]
        ),
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("length(btrim(name)) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint(enum_check("entity_type", EntityType), name="entity_type_valid"),
        CheckConstraint("length(icon) BETWEEN 1 AND 32", name="icon_length"),
        {"info": {"tenancy": "tenant"}},
    )

    name: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(16))
    default_workflow_id: Mapped[uuid.UUID]
    icon: Mapped[str] = mapped_column(String(32))


class WorkflowHistory(TenantKeyed, Base):
    """Append-only: one row per step change, written by the database trigger."""

    __tablename__ = "workflow_history"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "workflow_id"], ["workflows.tenant_id", "workflows.id"]),
        CheckConstraint(enum_check("entity_type", EntityType), name="entity_type_valid"),
        CheckConstraint("reason IS NULL OR length(reason) <= 100", name="reason_length"),
        CheckConstraint("notes IS NULL OR length(notes) <= 10000", name="notes_length"),
        Index("ix_workflow_history_record", "tenant_id", "record_id", "at"),
        Index("ix_workflow_history_workflow_at", "tenant_id", "workflow_id", "at"),
        # The reports' stage conversion (baton/reports) reads a period's moves from the
        # index alone: the ledger is append-only, so its pages stay all-visible.
        Index(
            "ix_workflow_history_flow",
            "tenant_id",
            "workflow_id",
            "at",
            postgresql_include=[
                "from_step_id",
                "to_step_id",
                "seconds_in_previous_step",
                "backwards",
            ],
        ),
        # Append-only for the app role; not audited (it is the trail itself).
        {"info": {"tenancy": "tenant", "app_privileges": ("SELECT", "INSERT"), "audited": False}},
    )

    entity_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[uuid.UUID]
    workflow_id: Mapped[uuid.UUID]
    from_step_id: Mapped[uuid.UUID | None]
    to_step_id: Mapped[uuid.UUID]
    actor_id: Mapped[uuid.UUID | None]
    reason: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    seconds_in_previous_step: Mapped[float | None] = mapped_column(Float)
    backwards: Mapped[bool] = mapped_column(Boolean)
