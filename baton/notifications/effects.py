"""`notify_owner`: tell the record's owner that someone else moved it."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from baton.core.context import Ctx
from baton.core.schemas import Schema
from baton.notifications.service import notify
from baton.workflow.effects import EffectDefinition, MovedRecord, fill_placeholders, register
from baton.workflow.engine import Move


class NotifyOwnerConfig(Schema):
    # Placeholders as in `fill_placeholders`; empty: a standard message.
    message: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""


async def _run(ctx: Ctx, record: MovedRecord, move: Move, config: NotifyOwnerConfig) -> None:
    actor = ctx.principal.user_id if ctx.principal else None
    # Nobody needs telling about their own move, and an unowned record has no one to tell.
    if record.owner_id is None or record.owner_id == actor:
        return
    template = config.message or "{title} moved from {from_step} to {to_step}"
    await notify(ctx, record.owner_id, fill_placeholders(template, record, move), record)


def _describe(config: NotifyOwnerConfig) -> str:
    return "notify the record's owner" + (f": '{config.message}'" if config.message else "")


register(
    EffectDefinition(
        name="notify_owner",
        summary="Notify the record's owner (unless they made the move)",
        config_model=NotifyOwnerConfig,
        run=_run,
        describe=_describe,
    )
)
