"""Read shapes for workflows (DESIGN §6 workflow row)."""

from __future__ import annotations

import uuid
from typing import Any

from baton.core.schemas import Schema


class StatusOut(Schema):
    id: uuid.UUID
    name: str
    colour: str
    category: str
    archived: bool


class StepOut(Schema):
    id: uuid.UUID
    key: str
    name: str
    status_id: uuid.UUID
    order: int
    is_initial: bool
    is_final: bool
    category: str
    probability: float | None
    metadata: dict[str, Any]


class TransitionOut(Schema):
    id: uuid.UUID
    from_step_id: uuid.UUID
    to_step_id: uuid.UUID
    label: str
    conditions: dict[str, Any]
    effects: list[dict[str, Any]]


class WorkflowSummaryOut(Schema):
    id: uuid.UUID
    name: str
    entity_type: str
    version: int
    published: bool


class WorkflowOut(WorkflowSummaryOut):
    steps: list[StepOut]
    transitions: list[TransitionOut]


class OptionOut(Schema):
    transition_id: uuid.UUID
    to_step_id: uuid.UUID
    to_step_key: str
    label: str
    required_fields: list[str]
    reasons: list[str]
    reason_required: bool
    notes_required_for: list[str]
    backwards: bool


class ProjectTypeOut(Schema):
    id: uuid.UUID
    name: str
    entity_type: str
    default_workflow_id: uuid.UUID
    icon: str
