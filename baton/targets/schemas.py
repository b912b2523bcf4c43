"""Shapes for targets, their status changes, the summary and the convert answer (DESIGN §6)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from baton.accounts.schemas import AccountOut
from baton.activities.schemas import ActivityOut
from baton.contacts.schemas import Phone
from baton.core.schemas import Email, Name, Schema, SearchText, ShortText
from baton.deals.schemas import DealOut
from baton.workflow.schemas import StepRef

Notes = Annotated[str, StringConstraints(max_length=10_000)]
Version = Annotated[int, Field(ge=1, le=2_147_483_647)]
# A step key of the target workflow (`new_target`, `contacted`, …).
StepKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]


class TargetListFilters(BaseModel):
    """The targets list's query parameters (`GET /api/v1/targets`, the targets page):
    what a saved view of that list may hold. Text in, as a URL carries it."""

    model_config = ConfigDict(extra="ignore")

    status: StepKey | None = None
    q: SearchText | None = None


class TargetIn(Schema):
    company_name: Name
    contact_name: Name | None = None
    # Stored lower-cased; with the phone and the company it makes the dedupe key.
    email: Email | None = None
    phone: Phone | None = None
    notes: Notes | None = None
    # The caller when absent; otherwise a member who can write.
    owner_id: uuid.UUID | None = None


class TargetPatch(Schema):
    """Only the fields sent change; null clears an optional field. The status changes
    through POST /targets/{id}/status and /convert only."""

    company_name: Name | None = None
    contact_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    notes: Notes | None = None
    owner_id: uuid.UUID | None = None
    version: Version | None = None


class StatusIn(Schema):
    """A move along a transition of the target workflow, to the step with key `status`.

    Dropping needs a reason from the transition's list; the reason `other` needs notes.
    """

    status: StepKey
    reason: ShortText | None = None
    notes: Notes | None = None
    version: Version

    @model_validator(mode="after")
    def _notes_not_blank(self) -> StatusIn:
        # Whitespace is no note: the database's `other` rule trims before it counts.
        if self.notes is not None and not self.notes.strip():
            self.notes = None
        return self


class TargetOut(Schema):
    id: uuid.UUID
    company_name: str
    contact_name: str | None
    email: str | None
    phone: str | None
    notes: str | None
    owner_id: uuid.UUID
    # The step key, as `GET /targets?status=` takes it.
    status: str
    workflow_id: uuid.UUID
    step: StepRef
    entered_step_at: datetime
    dedupe_key: str
    # What the conversion made (all three set, or none).
    account_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    converted_at: datetime | None
    dropped_at: datetime | None
    drop_reason: str | None
    drop_notes: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class StatusCount(Schema):
    status: str
    name: str
    category: str
    order: int
    count: int


class SummaryOut(Schema):
    """Live targets per step of the target workflow, in step order (zeros included)."""

    workflow_id: uuid.UUID
    statuses: list[StatusCount]
    total: int


class TargetActivityOut(ActivityOut):
    target_id: uuid.UUID | None


class ConvertOut(Schema):
    """The converted target and what it became; the same ids on every repeat."""

    target: TargetOut
    account: AccountOut
    deal: DealOut
    activities: list[TargetActivityOut]
