"""`log_activity`: a transition plans a follow-up (a call, a task …) on the moved record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from baton.activities.models import ActivityType
from baton.activities.schemas import PlannedType
from baton.activities.service import plan_activity
from baton.core.context import Ctx
from baton.core.schemas import Schema
from baton.workflow.effects import EffectDefinition, MovedRecord, fill_placeholders, register
from baton.workflow.engine import Move


class LogActivityConfig(Schema):
    type: PlannedType = PlannedType.TASK
    # Placeholders as in `fill_placeholders`.
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    due_in_days: Annotated[int, Field(ge=0, le=365)] | None = 0
    assign_to: Literal["owner", "actor"] = "owner"


async def _run(ctx: Ctx, record: MovedRecord, move: Move, config: LogActivityConfig) -> None:
    actor = ctx.principal.user_id if ctx.principal else None
    owner = record.owner_id if config.assign_to == "owner" and record.owner_id else actor
    due = (
        datetime.now(UTC) + timedelta(days=config.due_in_days)
        if config.due_in_days is not None
        else None
    )
    await plan_activity(
        ctx,
        record,
        type=ActivityType(config.type.value),
        subject=fill_placeholders(config.subject, record, move),
        owner_id=owner,
        due_at=due,
    )


def _describe(config: LogActivityConfig) -> str:
    when = "" if config.due_in_days is None else f", due in {config.due_in_days} day(s)"
    return f"plan a {config.type.value} '{config.subject}' for the {config.assign_to}{when}"


register(
    EffectDefinition(
        name="log_activity",
        summary="Plan a call, email, meeting or task on the record",
        config_model=LogActivityConfig,
        run=_run,
        describe=_describe,
    )
)
