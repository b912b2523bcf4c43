"""Cadences: templates of planned outreach, and the records enrolled in them (DESIGN §5).

A cadence is an ordered list of steps (an activity type, a subject template, a delay
in days after the previous step). Enrolling a deal, account or contact plans every
step's activity at once; the activities point back at their enrolment
(`activities.enrollment_id`) so pausing or stopping can find and cancel the ones
still planned.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from baton.activities.models import ActivityType
from baton.db.base import Base, TenantKeyed, Timestamped, Versioned, enum_check

MAX_STEPS = 50
MAX_DELAY_DAYS = 365
MAX_POSITION = 1000


class CadenceStepType(StrEnum):
    """What a step plans: work someone will do. Notes are logged as done and system
    entries are Baton's own, so neither can be planned ahead."""

    CALL = ActivityType.CALL.value
    EMAIL = ActivityType.EMAIL.value
    MEETING = ActivityType.MEETING.value
    TASK = ActivityType.TASK.value


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"


# An enrolment that still holds its record: at most one per record and cadence.
LIVE_STATUSES = (EnrollmentStatus.ACTIVE.value, EnrollmentStatus.PAUSED.value)
LIVE_ENROLLMENT = "status IN ('active', 'paused')"
ENROLLABLE_COLUMNS = ("deal_id", "account_id", "contact_id")


class Cadence(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "cadences"
    __table_args__ = (
        CheckConstraint("length(btrim(name)) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint(
            "description IS NULL OR length(description) <= 10000", name="description_length"
        ),
        # Claim and convert enrol new deals in "the" default cadence: one per tenant.
        Index(
            "uq_cadences_default",
            "tenant_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
        {"info": {"tenancy": "tenant"}},
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # No server defaults: the service decides (DESIGN §3.2).
    active: Mapped[bool]
    is_default: Mapped[bool]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class CadenceStep(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "cadence_steps"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "cadence_id"],
            ["cadences.tenant_id", "cadences.id"],
            # Steps are replaced whole with their cadence's edit; they are its parts.
            ondelete="CASCADE",
        ),
        CheckConstraint(enum_check("type", CadenceStepType), name="type_valid"),
        CheckConstraint(
            "length(btrim(subject_template)) BETWEEN 1 AND 200", name="subject_template_length"
        ),
        CheckConstraint(f"delay_days BETWEEN 0 AND {MAX_DELAY_DAYS}", name="delay_days_range"),
        CheckConstraint(f"position BETWEEN 1 AND {MAX_POSITION}", name="position_range"),
        Index("uq_cadence_steps_position", "tenant_id", "cadence_id", "position", unique=True),
        {"info": {"tenancy": "tenant"}},
    )

    cadence_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(SmallInteger)
    type: Mapped[str] = mapped_column(String(16))
    # Placeholders `{company}`, `{contact}`, `{title}`, filled at enrolment.
    subject_template: Mapped[str] = mapped_column(String(200))
    # Days after the previous step (the first: after the start).
    delay_days: Mapped[int] = mapped_column(SmallInteger)


class CadenceEnrollment(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "cadence_enrollments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "cadence_id"], ["cadences.tenant_id", "cadences.id"]),
        ForeignKeyConstraint(["tenant_id", "deal_id"], ["deals.tenant_id", "deals.id"]),
        ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.id"]),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"]),
        CheckConstraint("num_nonnulls(deal_id, account_id, contact_id) = 1", name="one_record"),
        CheckConstraint(enum_check("status", EnrollmentStatus), name="status_valid"),
        CheckConstraint(
            "(status IN ('stopped', 'completed')) = (stopped_at IS NOT NULL)",
            name="stopped_when_ended",
        ),
        # A paused enrolment remembers how many steps were still to come.
        CheckConstraint(
            "(status = 'paused') = (paused_at IS NOT NULL AND remaining_steps IS NOT NULL)",
            name="paused_complete",
        ),
        CheckConstraint(
            f"remaining_steps IS NULL OR remaining_steps BETWEEN 0 AND {MAX_STEPS}",
            name="remaining_steps_range",
        ),
        CheckConstraint("(deleted_at IS NULL) = (deletion_id IS NULL)", name="deletion_complete"),
        # One live enrolment per record and cadence (DESIGN §5); record first, so
        # the same index finds a record's live enrolments (a deal close stops them,
        # a record's delete takes them). A live enrolment deleted with its record
        # keeps its place: it comes back only with that record, which cannot be
        # enrolled while deleted, so the place blocks nobody and a restore can
        # never meet a twin.
        *(
            Index(
                f"uq_cadence_enrollments_live_{column}",
                "tenant_id",
                column,
                "cadence_id",
                unique=True,
                postgresql_where=text(f"{column} IS NOT NULL AND {LIVE_ENROLLMENT}"),
            )
            for column in ENROLLABLE_COLUMNS
        ),
        Index("ix_cadence_enrollments_cadence", "tenant_id", "cadence_id"),
        # A restore finds what one deletion took.
        Index(
            "ix_cadence_enrollments_deletion",
            "tenant_id",
            "deletion_id",
            postgresql_where=text("deletion_id IS NOT NULL"),
        ),
        {"info": {"tenancy": "tenant"}},
    )

    cadence_id: Mapped[uuid.UUID]
    deal_id: Mapped[uuid.UUID | None]
    account_id: Mapped[uuid.UUID | None]
    contact_id: Mapped[uuid.UUID | None]
    # No server default: the service sets every status (DESIGN §3.2).
    status: Mapped[str] = mapped_column(String(16))
    # Who the enrolment's activities go to: the record's owner when it was enrolled.
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime]
    paused_at: Mapped[datetime | None]
    remaining_steps: Mapped[int | None] = mapped_column(SmallInteger)
    # When it ended: stopped by someone (or a deal close), or completed.
    stopped_at: Mapped[datetime | None]
    # Soft-deleted with its record, under the record's deletion id (DESIGN §3.2): the
    # status stays as it was, so a restore of that id resumes the cadence as it stood.
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    deletion_id: Mapped[uuid.UUID | None]
