"""Shapes for leads, their triage and the hand-over actions (DESIGN §6)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from baton.accounts.schemas import AccountOut
from baton.activities.schemas import ActivityOut
from baton.core.schemas import Email, Name, Schema, SearchText
from baton.deals.schemas import DealOut
from baton.leads.models import LeadView
from baton.workflow.schemas import StepRef

Version = Annotated[int, Field(ge=1, le=2_147_483_647)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)]
Source = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Need = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Notes = Annotated[str, StringConstraints(max_length=10_000)]
# A reason code: the transition's list decides which ones are accepted.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


def _phone_has_digits(value: str | None) -> str | None:
    # The dedupe key of a phone is its digits: a "phone" without any finds nothing.
    if value is not None and not re.search(r"\d", value):
        raise ValueError("must contain digits")
    return value


class TriageStatus(StrEnum):
    """Where triage may send a lead (the workflow step keys)."""

    IN_REVIEW = "in_review"
    QUALIFIED = "qualified"
    NURTURE = "nurture"
    DISQUALIFIED = "disqualified"


class LeadQueueFilters(BaseModel):
    """A lead queue's query parameters (each queue page, `GET /api/v1/leads?view=`):
    what a saved view of a queue may hold. Text in, as a URL carries it."""

    model_config = ConfigDict(extra="ignore")

    q: SearchText | None = None


class LeadIn(Schema):
    company_name: Name
    contact_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    source: Source | None = None
    need: Need | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _phone(self) -> LeadIn:
        _phone_has_digits(self.phone)
        return self


class LeadPatch(Schema):
    """Only the fields sent change; null clears an optional field."""

    company_name: Name | None = None
    contact_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    source: Source | None = None
    need: Need | None = None
    notes: Notes | None = None
    version: Version | None = None

    @model_validator(mode="after")
    def _phone(self) -> LeadPatch:
        _phone_has_digits(self.phone)
        return self


class TriageIn(Schema):
    status: TriageStatus
    reason: Reason | None = None
    notes: Notes | None = None
    version: Version

    @model_validator(mode="after")
    def _notes_not_blank(self) -> TriageIn:
        # Whitespace is no note: the database's `other` rule trims before it counts.
        if self.notes is not None and not self.notes.strip():
            self.notes = None
        return self


class RejectIn(Schema):
    reason: Reason
    notes: Notes | None = None

    @model_validator(mode="after")
    def _notes_not_blank(self) -> RejectIn:
        if self.notes is not None and not self.notes.strip():
            self.notes = None
        return self


class AssignIn(Schema):
    user_id: uuid.UUID


class LeadList(StrEnum):
    """What `GET /leads?view=` lists: one queue (a `LeadView`), or `team` — the claimed,
    unconverted leads of every owner (the `mine` view of each), by owner name."""

    INBOX = LeadView.INBOX.value
    POOL = LeadView.POOL.value
    MINE = LeadView.MINE.value
    NURTURE = LeadView.NURTURE.value
    DISQUALIFIED = LeadView.DISQUALIFIED.value
    CONVERTED = LeadView.CONVERTED.value
    TEAM = "team"


class LeadOut(Schema):
    id: uuid.UUID
    company_name: str
    contact_name: str | None
    email: str | None
    phone: str | None
    source: str | None
    need: str | None
    notes: str | None
    view: LeadView
    marketing_owner_id: uuid.UUID
    sales_owner_id: uuid.UUID | None
    account_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    workflow_id: uuid.UUID
    step: StepRef
    entered_step_at: datetime
    qualified_at: datetime | None
    handed_over_at: datetime | None
    claimed_at: datetime | None
    converted_at: datetime | None
    disqualified_at: datetime | None
    disqualify_reason: str | None
    disqualify_notes: str | None
    rejected_at: datetime | None
    rejected_by: uuid.UUID | None
    reject_reason: str | None
    reject_notes: str | None
    dedupe_key: str
    # While pooled: when the claim SLA runs out, and whether it has.
    claim_due_at: datetime | None
    claim_overdue: bool
    created_at: datetime
    updated_at: datetime
    version: int
    # The sales owner's name: in the team list (sorted by it), else null.
    sales_owner_name: str | None = None


class ClaimOut(Schema):
    """What a claim, an assignment or a conversion answers: the lead and its new work."""

    lead: LeadOut
    deal: DealOut
    account: AccountOut
    # The deal's planned activities, due first: its default-cadence steps (or the
    # one "First contact" call of an organization without a default cadence).
    activities: list[ActivityOut]
