"""Writing deals: every rule of DESIGN §3 to §5 for them, backed by the database."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Table, func, update

from baton.core.context import Ctx
from baton.core.errors import NotFound
from baton.deals.models import Deal

DEALS: Table = Deal.__table__  # type: ignore[assignment]


async def set_next_step(ctx: Ctx, deal_id: uuid.UUID, next_step: str, due: date) -> None:
    """Point an open deal at its next step (called when its planned activities change).

    An open deal never lacks a next step (a CHECK says so); this replaces it, bumping
    the version so a stale editor of the deal gets 409. A closed or deleted deal has
    no next step to set: 404.
    """
    result = await ctx.session.execute(
        update(DEALS)
        .where(DEALS.c.id == deal_id, DEALS.c.outcome.is_(None), DEALS.c.deleted_at.is_(None))
        .values(
            next_step=next_step[:200],
            next_step_due_date=due,
            version=DEALS.c.version + 1,
            updated_at=func.now(),
        )
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("No such open deal")
