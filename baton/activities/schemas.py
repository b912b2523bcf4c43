"""Activity shapes (DESIGN §6 activity)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from baton.activities.models import ActivityType
from baton.core.schemas import Moment, Name, Schema

Notes = Annotated[str, StringConstraints(max_length=10_000)]
# The `outcome_length` CHECK bounds it at 1 000.
Outcome = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Version = Annotated[int, Field(ge=1, le=2_147_483_647)]


class PlannedType(StrEnum):
    """What can be planned: work someone will do."""

    CALL = ActivityType.CALL.value
    EMAIL = ActivityType.EMAIL.value
    MEETING = ActivityType.MEETING.value
    TASK = ActivityType.TASK.value


class NewActivityType(StrEnum):
    """What a member can create: planned work, or a note (logged as done)."""

    CALL = ActivityType.CALL.value
    EMAIL = ActivityType.EMAIL.value
    MEETING = ActivityType.MEETING.value
    TASK = ActivityType.TASK.value
    NOTE = ActivityType.NOTE.value


class ActivityView(StrEnum):
    PLANNER = "planner"
    TODAY = "today"
    OVERDUE = "overdue"
    DONE = "done"


class ActivityOut(Schema):
    id: uuid.UUID
    type: str
    subject: str
    description: str | None
    due_at: datetime | None
    status: str
    outcome: str | None
    owner_id: uuid.UUID | None
    completed_at: datetime | None
    work_item_id: uuid.UUID | None
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class ActivityListItem(ActivityOut):
    # The UTC day the item falls on in its view (due day; for `done`, the completion
    # day; null for an undated planned activity): clients group the planner by it.
    day: date | None


class ActivityIn(Schema):
    type: NewActivityType
    subject: Name
    description: Notes | None = None
    # Required for planned work; a note is logged as done and has none.
    due_at: Moment | None = None
    # Default: the caller. Must be a member who can write.
    owner_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    deal_id: uuid.UUID | None = None


class ActivityPatch(Schema):
    """Only the fields sent change."""

    type: PlannedType | None = None
    subject: Name | None = None
    description: Notes | None = None
    due_at: Moment | None = None
    owner_id: uuid.UUID | None = None
    version: Version | None = None


class FollowUpIn(Schema):
    type: PlannedType
    subject: Name
    description: Notes | None = None
    due_at: Moment
    # Default: the completed activity's owner (the caller if that owner can no longer write).
    owner_id: uuid.UUID | None = None


class CompleteIn(Schema):
    outcome: Outcome | None = None
    next: FollowUpIn | None = None
    version: Version | None = None


class CancelIn(Schema):
    version: Version | None = None


class DealNextStepOut(Schema):
    id: uuid.UUID
    next_step: str
    next_step_due_date: date


class ActivityChangeOut(Schema):
    """What a complete or cancel did: the activity, the follow-up it planned, and the
    next step it gave the activity's open deal (null when no open deal is linked)."""

    activity: ActivityOut
    follow_up: ActivityOut | None
    deal: DealNextStepOut | None
