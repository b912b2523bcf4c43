"""Mutation inputs: one `input` argument each, read into the REST twin's pydantic
schema (`parse`), so the same strict validation applies to both."""

from __future__ import annotations

import dataclasses
import uuid
from enum import Enum
from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel
from strawberry.scalars import JSON

from baton.activities.schemas import ActivityView as ActivityViewEnum
from baton.deals.models import DealOutcome as DealOutcomeEnum
from baton.deals.schemas import DealListFilters
from baton.deals.schemas import DealView as DealViewEnum
from baton.leads.schemas import LeadList as LeadListEnum
from baton.leads.schemas import TriageStatus as TriageStatusEnum
from baton.workflow.models import EntityType as EntityTypeEnum
from baton.workflow.models import StatusCategory as StatusCategoryEnum

M = TypeVar("M", bound=BaseModel)
UNSET: Any = strawberry.UNSET

ActivityView = strawberry.enum(ActivityViewEnum, name="ActivityView")
DealView = strawberry.enum(DealViewEnum, name="DealView")
LeadList = strawberry.enum(LeadListEnum, name="LeadView")
DealOutcome = strawberry.enum(DealOutcomeEnum, name="DealOutcome")
TriageStatus = strawberry.enum(TriageStatusEnum, name="TriageStatus")
EntityType = strawberry.enum(EntityTypeEnum, name="EntityType")
StatusCategory = strawberry.enum(StatusCategoryEnum, name="StatusCategory")


def parse(model: type[M], source: Any, *, skip: tuple[str, ...] = ("id",)) -> M:
    """The REST schema's reading of an input: fields left out are left out (the
    schema's defaults apply); an explicit null is null."""
    payload = {
        field.name: getattr(source, field.name)
        for field in dataclasses.fields(source)
        if field.name not in skip and getattr(source, field.name) is not UNSET
    }
    return model.model_validate(payload)


@strawberry.experimental.pydantic.input(model=DealListFilters, all_fields=True, name="DealFilter")
class DealFilter:
    """The deals list's filters and sort: REST's `DealListFilters` itself (its fields,
    descriptions and checks), as `GET /api/v1/deals` takes them."""


@strawberry.input
class MoveDealInput:
    id: uuid.UUID
    to_step_id: uuid.UUID
    version: int
    reason: str | None = UNSET
    notes: str | None = UNSET
    fields: JSON | None = strawberry.field(
        default=UNSET,
        description="What the target step requires: amount, currency, probability, "
        "expectedCloseDate, nextStep, nextStepDueDate (snake_case keys as in REST)",
    )
    after_id: uuid.UUID | None = UNSET
    before_id: uuid.UUID | None = UNSET
    dry_run: bool | None = UNSET


@strawberry.input
class CloseDealInput:
    id: uuid.UUID
    outcome: DealOutcome  # type: ignore[valid-type]
    version: int
    reason: str | None = UNSET
    notes: str | None = UNSET


@strawberry.input
class MoveWorkItemInput:
    id: uuid.UUID
    to_step_id: uuid.UUID
    version: int
    reason: str | None = UNSET
    notes: str | None = UNSET
    fields: JSON | None = UNSET
    dry_run: bool | None = UNSET


@strawberry.enum
class GovernedRecord(Enum):
    """The kinds of record `validateTransition` checks a move of."""

    DEAL = "deal"
    WORK_ITEM = "work_item"


@strawberry.input
class ValidateTransitionInput:
    """A move checked without being made (the REST move's `dry_run`)."""

    record: GovernedRecord
    id: uuid.UUID
    to_step_id: uuid.UUID
    version: int
    reason: str | None = UNSET
    notes: str | None = UNSET
    fields: JSON | None = UNSET


@strawberry.input
class TriageLeadInput:
    id: uuid.UUID
    status: TriageStatus  # type: ignore[valid-type]
    version: int
    reason: str | None = UNSET
    notes: str | None = UNSET


@strawberry.input
class ClaimLeadInput:
    id: uuid.UUID


@strawberry.input
class CreateStatusInput:
    name: str
    category: StatusCategory  # type: ignore[valid-type]
    colour: str | None = UNSET


@strawberry.input
class UpdateStatusInput:
    id: uuid.UUID
    name: str | None = UNSET
    colour: str | None = UNSET
    category: StatusCategory | None = UNSET  # type: ignore[valid-type]
    archived: bool | None = UNSET
    version: int | None = UNSET


@strawberry.input
class DeleteInput:
    """A record to delete; `version`, when sent, must be current (REST's If-Match)."""

    id: uuid.UUID
    version: int | None = UNSET


@strawberry.input
class CreateWorkflowInput:
    name: str
    entity_type: EntityType  # type: ignore[valid-type]


@strawberry.input
class UpdateWorkflowInput:
    id: uuid.UUID
    name: str
    version: int | None = UNSET


@strawberry.input
class PublishWorkflowInput:
    id: uuid.UUID


@strawberry.input
class CreateStepInput:
    workflow_id: uuid.UUID
    key: str
    name: str
    status_id: uuid.UUID
    is_initial: bool | None = UNSET
    is_final: bool | None = UNSET
    probability: float | None = UNSET
    required_fields: list[str] | None = UNSET
    sla_days: int | None = UNSET


@strawberry.input
class UpdateStepInput:
    id: uuid.UUID
    name: str | None = UNSET
    status_id: uuid.UUID | None = UNSET
    is_final: bool | None = UNSET
    probability: float | None = UNSET
    required_fields: list[str] | None = UNSET
    sla_days: int | None = UNSET
    version: int | None = UNSET


@strawberry.input
class CreateTransitionInput:
    workflow_id: uuid.UUID
    from_step_id: uuid.UUID
    to_step_id: uuid.UUID
    label: str
    conditions: JSON | None = strawberry.field(
        default=UNSET, description="{required_fields, reasons, roles}, as in REST"
    )
    effects: JSON | None = strawberry.field(
        default=UNSET, description="[{name, config}], as in REST"
    )


@strawberry.input
class UpdateTransitionInput:
    id: uuid.UUID
    label: str | None = UNSET
    conditions: JSON | None = UNSET
    effects: JSON | None = UNSET
    version: int | None = UNSET


@strawberry.input
class UpdateStepOrderInput:
    workflow_id: uuid.UUID
    step_ids: list[uuid.UUID]


@strawberry.input
class CreateProjectTypeInput:
    name: str
    default_workflow_id: uuid.UUID
    icon: str | None = UNSET


@strawberry.input
class UpdateProjectTypeInput:
    id: uuid.UUID
    version: int
    name: str | None = UNSET
    icon: str | None = UNSET
    default_workflow_id: uuid.UUID | None = UNSET


@strawberry.input
class CreateWorkItemInput:
    project_type_id: uuid.UUID
    name: str
    description: str | None = UNSET
    fields: JSON | None = UNSET
