"""Shapes for cadences, their steps and enrolments (DESIGN §6 cadences)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from baton.cadences.models import (
    ENROLLABLE_COLUMNS,
    MAX_DELAY_DAYS,
    MAX_POSITION,
    MAX_STEPS,
    CadenceStepType,
)
from baton.core.schemas import Name, Schema

Notes = Annotated[str, StringConstraints(max_length=10_000)]
Version = Annotated[int, Field(ge=1, le=2_147_483_647)]

PLACEHOLDERS = ("company", "contact", "title")
_BRACED = re.compile(r"\{([^{}]*)\}")


def _known_placeholders(template: str) -> str:
    # A typo such as `{compnay}` would reach every enrolled record's subject: refuse it.
    unknown = sorted({name for name in _BRACED.findall(template) if name not in PLACEHOLDERS})
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        raise ValueError(f"unknown placeholder(s) {unknown}; use {known}")
    return template


SubjectTemplate = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_known_placeholders),
]


class CadenceStepIn(Schema):
    # Order within the cadence; omitted on every step: the list's order.
    position: Annotated[int, Field(ge=1, le=MAX_POSITION)] | None = None
    type: CadenceStepType
    # Placeholders: {company} (the account's name), {contact} (the contact's name),
    # {title} (the enrolled record's name).
    subject_template: SubjectTemplate
    # Days after the previous step (the first step: after the start).
    delay_days: Annotated[int, Field(ge=0, le=MAX_DELAY_DAYS)]


def _positions(steps: list[CadenceStepIn]) -> list[CadenceStepIn]:
    given = [step.position for step in steps if step.position is not None]
    if given and len(given) != len(steps):
        raise ValueError("give every step a position, or none (the list's order)")
    duplicates = sorted({p for p in given if given.count(p) > 1})
    if duplicates:
        raise ValueError(f"duplicate position(s) {duplicates}")
    return steps


Steps = Annotated[
    list[CadenceStepIn],
    Field(min_length=1, max_length=MAX_STEPS),
    AfterValidator(_positions),
]


class CadenceIn(Schema):
    name: Name
    description: Notes | None = None
    active: bool = True
    steps: Steps


class CadencePatch(Schema):
    """Only the fields sent change; `steps` replaces the whole list."""

    name: Name | None = None
    description: Notes | None = None
    active: bool | None = None
    # true makes this the default cadence (the previous default stops being it).
    is_default: bool | None = None
    steps: Steps | None = None
    version: Version | None = None


class CadenceStepOut(Schema):
    id: uuid.UUID
    position: int
    type: str
    subject_template: str
    delay_days: int


class CadenceOut(Schema):
    id: uuid.UUID
    name: str
    description: str | None
    active: bool
    is_default: bool
    created_by: uuid.UUID | None
    # Ordered by position.
    steps: list[CadenceStepOut]
    created_at: datetime
    updated_at: datetime
    version: int


class EnrollIn(Schema):
    """Exactly one record: a deal, an account or a contact."""

    deal_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> EnrollIn:
        named = [column for column in ENROLLABLE_COLUMNS if getattr(self, column) is not None]
        if len(named) != 1:
            raise ValueError("name exactly one of deal_id, account_id, contact_id")
        return self


class PlannedActivityOut(Schema):
    id: uuid.UUID
    type: str
    subject: str
    status: str
    due_at: datetime | None
    owner_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None


class EnrollmentOut(Schema):
    id: uuid.UUID
    cadence_id: uuid.UUID
    deal_id: uuid.UUID | None
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    status: str
    owner_id: uuid.UUID
    started_at: datetime
    paused_at: datetime | None
    # While paused: how many steps resume will plan again.
    remaining_steps: int | None
    stopped_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    # In step order: those this action planned or cancelled (enrol, pause, resume,
    # stop), or every one the enrolment planned (GET).
    activities: list[PlannedActivityOut]
