"""Shapes for work items and their moves."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from baton.core.schemas import Name, Schema, ShortText
from baton.workflow.schemas import StepRef

Notes = Annotated[str, StringConstraints(max_length=10_000)]


class WorkItemIn(Schema):
    project_type_id: uuid.UUID
    name: Name
    description: Notes | None = None
    fields: dict[str, Any] = Field(default_factory=dict, max_length=100)


class WorkItemPatch(Schema):
    """Only the fields sent change; `fields` merge into the item's (null removes one)."""

    name: Name | None = None
    description: Notes | None = None
    owner_id: uuid.UUID | None = None
    fields: dict[str, Any] = Field(default_factory=dict, max_length=100)
    version: int | None = Field(default=None, ge=1, le=2_147_483_647)


class WorkItemOut(Schema):
    id: uuid.UUID
    project_type_id: uuid.UUID
    name: str
    description: str | None
    owner_id: uuid.UUID | None
    workflow_id: uuid.UUID
    step: StepRef
    entered_step_at: datetime
    fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int


class MoveIn(Schema):
    to_step_id: uuid.UUID
    version: int = Field(ge=1, le=2_147_483_647)
    reason: ShortText | None = None
    notes: Notes | None = None
    fields: dict[str, Any] = Field(default_factory=dict, max_length=100)
    dry_run: bool = False

    @field_validator("fields")
    @classmethod
    def _values_only(cls, fields: dict[str, Any]) -> dict[str, Any]:
        # A move supplies values; removing a field is an edit (PATCH with null).
        empty = sorted(name for name, value in fields.items() if value is None)
        if empty:
            raise ValueError(f"null is not a value ({', '.join(empty)}); PATCH removes fields")
        return fields


class PlannedEffectOut(Schema):
    name: str
    description: str


class MoveOut(Schema):
    item: WorkItemOut
    from_step: StepRef
    to_step: StepRef
    backwards: bool
    dry_run: bool
    # What the transition's effects do (or, on a dry run, would do).
    effects: list[PlannedEffectOut]


class HistoryEntryOut(Schema):
    id: uuid.UUID
    from_step: StepRef | None
    to_step: StepRef
    actor_id: uuid.UUID | None
    reason: str | None
    notes: str | None
    fields: dict[str, Any]
    at: datetime
    seconds_in_previous_step: float | None
    backwards: bool


class BoardColumnOut(Schema):
    step: StepRef
    count: int
    items: list[WorkItemOut]


class BoardOut(Schema):
    workflow_id: uuid.UUID
    columns: list[BoardColumnOut]
