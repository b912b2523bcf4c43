"""Read shapes for workflows (DESIGN §6 workflow row)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from baton.core.errors import FieldError, ValidationFailed
from baton.core.schemas import Schema, ShortText
from baton.identity.models import Role
from baton.workflow.engine import StepNode
from baton.workflow.models import STEP_KEY_PATTERN, EntityType, StatusCategory, WorkflowStep

# A record field a transition or step may require (a column or metadata key).
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=63)]


class StatusOut(Schema):
    id: uuid.UUID
    name: str
    colour: str
    category: str
    archived: bool
    version: int


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
    version: int


class TransitionOut(Schema):
    id: uuid.UUID
    from_step_id: uuid.UUID
    to_step_id: uuid.UUID
    label: str
    conditions: dict[str, Any]
    effects: list[dict[str, Any]]
    version: int


class WorkflowSummaryOut(Schema):
    id: uuid.UUID
    name: str
    entity_type: str
    version: int
    published: bool


class WorkflowOut(WorkflowSummaryOut):
    # `version` is the workflow's version number; this is the row's edit counter,
    # to send back (If-Match or `version`) when renaming the workflow.
    row_version: int
    steps: list[StepOut]
    transitions: list[TransitionOut]


class OptionOut(Schema):
    transition_id: uuid.UUID
    to_step_id: uuid.UUID
    to_step_key: str
    label: str
    required_fields: list[str]
    reasons: list[str]
    # The workflow's labels for those codes, where it gives them.
    reason_labels: dict[str, str]
    reason_required: bool
    notes_required_for: list[str]
    backwards: bool


class EffectOut(Schema):
    name: str
    summary: str
    config_schema: dict[str, Any]


class ProjectTypeOut(Schema):
    id: uuid.UUID
    name: str
    entity_type: str
    default_workflow_id: uuid.UUID
    icon: str
    version: int


class WorkflowIn(Schema):
    name: ShortText
    entity_type: EntityType


class StepIn(Schema):
    key: Annotated[str, StringConstraints(pattern=STEP_KEY_PATTERN)]
    name: ShortText
    status_id: uuid.UUID
    is_initial: bool = False
    is_final: bool = False
    probability: Annotated[float, Field(ge=0, le=100)] | None = None
    required_fields: list[FieldName] = Field(default_factory=list, max_length=50)
    sla_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class ConditionsIn(Schema):
    required_fields: list[FieldName] = Field(default_factory=list, max_length=50)
    reasons: list[ShortText] = Field(default_factory=list, max_length=50)
    # What people read for a reason code ({"product_fit": "Good product fit"}); the
    # API keeps the code. Codes without a label are shown humanized.
    reason_labels: dict[ShortText, ShortText] = Field(default_factory=dict, max_length=50)
    roles: list[Role] = Field(default_factory=list)

    def stored(self) -> dict[str, Any]:
        """The conditions as the transition row keeps them.

        Raises ValidationFailed when a label names a code the transition does not offer.
        """
        unknown = sorted(set(self.reason_labels) - set(self.reasons))
        if unknown:
            raise ValidationFailed(
                errors=[
                    FieldError(
                        "conditions.reason_labels",
                        f"names reasons this transition does not offer: {', '.join(unknown)}",
                    )
                ]
            )
        return self.model_dump(exclude_defaults=True, mode="json")


class EffectIn(Schema):
    """An effect by its registered name, with that effect's own config."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=63)]
    config: dict[str, Any] = Field(default_factory=dict, max_length=20)


class TransitionIn(Schema):
    from_step_id: uuid.UUID
    to_step_id: uuid.UUID
    label: ShortText
    conditions: ConditionsIn = Field(default_factory=ConditionsIn)
    effects: list[EffectIn] = Field(default_factory=list, max_length=10)


class TransitionPatch(Schema):
    """Only the parts sent change; conditions and effects are replaced whole."""

    label: ShortText | None = None
    conditions: ConditionsIn | None = None
    effects: list[EffectIn] | None = Field(default=None, max_length=10)
    version: int | None = Field(default=None, ge=1, le=2_147_483_647)


class StepPatch(Schema):
    """Only the fields sent change. `sla_days` null removes the SLA."""

    name: ShortText | None = None
    status_id: uuid.UUID | None = None
    is_final: bool | None = None
    probability: Annotated[float, Field(ge=0, le=100)] | None = None
    required_fields: list[FieldName] | None = Field(default=None, max_length=50)
    sla_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    version: int | None = Field(default=None, ge=1, le=2_147_483_647)


class WorkflowPatch(Schema):
    name: ShortText
    version: int | None = Field(default=None, ge=1, le=2_147_483_647)


class StatusPatch(Schema):
    """Only the fields sent change; a status in use keeps its category."""

    name: ShortText | None = None
    colour: Annotated[str, StringConstraints(pattern=r"^#[0-9a-f]{6}$")] | None = None
    category: StatusCategory | None = None
    archived: bool | None = None
    version: int | None = Field(default=None, ge=1, le=2_147_483_647)


class StatusIn(Schema):
    name: ShortText
    colour: Annotated[str, StringConstraints(pattern=r"^#[0-9a-f]{6}$")] = "#64748b"
    category: StatusCategory


class ProjectTypeIn(Schema):
    name: ShortText
    default_workflow_id: uuid.UUID
    icon: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "folder"


class ProjectTypePatch(Schema):
    """Only the fields sent change; the kind of record (entity type) never does."""

    name: ShortText | None = None
    icon: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    default_workflow_id: uuid.UUID | None = None
    version: int | None = Field(default=None, ge=1, le=2_147_483_647)


class MigrationIn(Schema):
    """Move every record on version `from_version` to this one, step by step."""

    from_version: int = Field(ge=1, le=2_147_483_647)
    # old step id → new step id, for every old step that records sit on
    step_map: dict[uuid.UUID, uuid.UUID] = Field(max_length=200)


class MigrationOut(Schema):
    moved: int


class StepAnalyticsOut(Schema):
    step_id: uuid.UUID
    key: str
    name: str
    order: int
    entries: int
    exits: int
    median_seconds_in_step: float | None
    p90_seconds_in_step: float | None
    # Share of this step's entries that moved on to the next open step by order.
    conversion_to_next: float | None
    backwards_moves: int


class AnalyticsOut(Schema):
    workflow_id: uuid.UUID
    since: datetime
    until: datetime
    steps: list[StepAnalyticsOut]


class StepOrderIn(Schema):
    step_ids: list[uuid.UUID] = Field(min_length=1, max_length=200)


class StepRef(Schema):
    """The step a governed record is on, as every record's answer shows it."""

    id: uuid.UUID
    key: str
    name: str
    category: str
    order: int

    @classmethod
    def of(cls, step: StepNode) -> StepRef:
        """A step of a compiled workflow (validated when it was compiled, so built
        without validating again: every governed record's answer holds one or more)."""
        return cls.model_construct(
            id=step.id,
            key=step.key,
            name=step.name,
            category=step.category.value,
            order=step.position,
        )

    @classmethod
    def stored(cls, step: WorkflowStep, category: str) -> StepRef:
        """A step of any version, as loaded by `workflow.queries.steps_by_id`."""
        return cls(id=step.id, key=step.key, name=step.name, category=category, order=step.position)

    @classmethod
    def listed(cls, row: Any) -> StepRef:
        """A list row's step, joined in as `step_id`, `step_key`, `step_name`,
        `step_category` and `step_position`."""
        return cls(
            id=row.step_id,
            key=row.step_key,
            name=row.step_name,
            category=row.step_category,
            order=row.step_position,
        )
