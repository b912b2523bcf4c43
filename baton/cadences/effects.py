"""`start_cadence`: a transition enrols the moved deal in a cadence (DESIGN §4)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import StringConstraints
from pydantic.json_schema import SkipJsonSchema

from baton.cadences.service import cadence_to_start, enroll_record
from baton.core.context import Ctx
from baton.core.errors import RuleViolation
from baton.core.schemas import Schema
from baton.workflow.effects import EffectDefinition, MovedRecord, register
from baton.workflow.engine import Move
from baton.workflow.models import EntityType


class StartCadenceConfig(Schema):
    # None: the organization's default cadence, whichever it is when the deal moves.
    cadence_id: uuid.UUID | None = None
    # Recorded when the transition is saved, for what a dry run reports: a
    # description has no database to look the name up in. Not offered to admins
    # (hidden from the schema); whatever is sent is overwritten.
    cadence_name: SkipJsonSchema[Annotated[str, StringConstraints(max_length=200)] | None] = None


async def _check(ctx: Ctx, config: StartCadenceConfig) -> list[str]:
    cadence = await cadence_to_start(ctx, config.cadence_id)
    if cadence is None:
        if config.cadence_id is None:
            return ["the organization has no default cadence; name one (cadence_id)"]
        return ["cadence_id is not a cadence of this organization"]
    if not cadence.active:
        return [f"cadence '{cadence.name}' is inactive"]
    config.cadence_name = None if config.cadence_id is None else cadence.name
    return []


async def _run(ctx: Ctx, record: MovedRecord, move: Move, config: StartCadenceConfig) -> None:
    cadence = await cadence_to_start(ctx, config.cadence_id)
    if cadence is None:
        raise RuleViolation(
            "This transition starts a cadence that no longer exists; "
            "an admin must update the workflow"
        )
    # A deal moving back and forth meets the transition again: already enrolled
    # live in this cadence is fine, and enroll_record then does nothing.
    await enroll_record(ctx, cadence, "deal_id", record.id)


def _describe(config: StartCadenceConfig) -> str:
    if config.cadence_id is None:
        return "start the default cadence"
    return f"start cadence {config.cadence_name or config.cadence_id}"


register(
    EffectDefinition(
        name="start_cadence",
        summary="Enrol the deal in a cadence (its steps become planned activities)",
        config_model=StartCadenceConfig,
        run=_run,
        describe=_describe,
        entity_types=frozenset({EntityType.DEAL}),
        check=_check,
    )
)
