"""One table for every call, email, meeting, task, note and system entry (DESIGN §3.2).

An activity belongs to at most one record of each kind; the related-record columns
are composite FKs, so an activity can never point into another tenant. Domains add
their column (`deal_id`, `lead_id` …) with their own migration.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from baton.db.base import Base, TenantKeyed, Timestamped, Versioned, enum_check


class ActivityType(StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    TASK = "task"
    NOTE = "note"
    # Written by Baton itself: stage changes, hand-overs.
    SYSTEM = "system"


class ActivityStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


class Activity(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "activities"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "work_item_id"], ["work_items.tenant_id", "work_items.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.id"]),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"]),
        ForeignKeyConstraint(["tenant_id", "deal_id"], ["deals.tenant_id", "deals.id"]),
        ForeignKeyConstraint(["tenant_id", "lead_id"], ["leads.tenant_id", "leads.id"]),
        ForeignKeyConstraint(["tenant_id", "target_id"], ["targets.tenant_id", "targets.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "enrollment_id"],
            ["cadence_enrollments.tenant_id", "cadence_enrollments.id"],
        ),
        CheckConstraint(enum_check("type", ActivityType), name="type_valid"),
        CheckConstraint(enum_check("status", ActivityStatus), name="status_valid"),
        CheckConstraint("length(btrim(subject)) BETWEEN 1 AND 200", name="subject_length"),
        CheckConstraint(
            "description IS NULL OR length(description) <= 10000", name="description_length"
        ),
        CheckConstraint("outcome IS NULL OR length(outcome) <= 1000", name="outcome_length"),
        # A done activity says when; a planned one is not done yet.
        CheckConstraint(
            "(status = 'done') = (completed_at IS NOT NULL)", name="completed_when_done"
        ),
        CheckConstraint("type <> 'system' OR status = 'done'", name="system_entries_done"),
        Index(
            "ix_activities_work_item",
            "tenant_id",
            "work_item_id",
            "created_at",
            postgresql_where=text("work_item_id IS NOT NULL"),
        ),
        *(
            Index(
                f"ix_activities_{column}",
                "tenant_id",
                column,
                "created_at",
                postgresql_where=text(f"{column} IS NOT NULL"),
            )
            for column in ("account_id", "contact_id", "deal_id", "lead_id", "target_id")
        ),
        # Pausing or stopping an enrolment cancels its still-planned activities.
        Index(
            "ix_activities_enrollment",
            "tenant_id",
            "enrollment_id",
            postgresql_where=text("enrollment_id IS NOT NULL"),
        ),
        Index(
            "ix_activities_owner_planned",
            "tenant_id",
            "owner_id",
            "due_at",
            postgresql_where=text("status = 'planned' AND deleted_at IS NULL"),
        ),
        # The planner's tenant-wide views (today, overdue, done) at 500 000 activities;
        # the id too: the planner pages by (due_at, id) along it.
        Index(
            "ix_activities_planned_due",
            "tenant_id",
            "due_at",
            "id",
            postgresql_where=text("status = 'planned' AND deleted_at IS NULL"),
        ),
        Index(
            "ix_activities_done",
            "tenant_id",
            "completed_at",
            postgresql_where=text("status = 'done' AND deleted_at IS NULL"),
        ),
        # The reports' cadence adherence (baton/reports): cadence steps by due time,
        # with what it counts (read from the index alone).
        Index(
            "ix_activities_cadence_due",
            "tenant_id",
            "due_at",
            postgresql_include=["status", "completed_at", "owner_id"],
            postgresql_where=text("enrollment_id IS NOT NULL AND deleted_at IS NULL"),
        ),
        # A restore finds what one deletion took.
        Index(
            "ix_activities_deletion",
            "tenant_id",
            "deletion_id",
            postgresql_where=text("deletion_id IS NOT NULL"),
        ),
        {"info": {"tenancy": "tenant"}},
    )

    # No server defaults: type and status are always chosen by the service (DESIGN §3.2).
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    work_item_id: Mapped[uuid.UUID | None]
    account_id: Mapped[uuid.UUID | None]
    contact_id: Mapped[uuid.UUID | None]
    deal_id: Mapped[uuid.UUID | None]
    lead_id: Mapped[uuid.UUID | None]
    target_id: Mapped[uuid.UUID | None]
    # The cadence enrolment that planned it, if any.
    enrollment_id: Mapped[uuid.UUID | None]
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    deletion_id: Mapped[uuid.UUID | None]
