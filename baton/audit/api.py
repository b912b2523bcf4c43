"""/api/v1/audit: the change trail of one record, or (admins) of the organization."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from baton.audit.schemas import AuditEntryOut
from baton.audit.trail import READING_ONLY, TrailEntity, TrailEntry, TrailQuery, read_trail
from baton.core.auth import CtxDep, get_principal
from baton.core.pagination import MAX_PAGE_SIZE
from baton.core.routing import JsonRoute
from baton.core.schemas import Moment, Page

router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(get_principal)], route_class=JsonRoute, tags=["audit"]
)


def entry_out(entry: TrailEntry) -> AuditEntryOut:
    answered = asdict(entry)
    for name in READING_ONLY:
        del answered[name]
    return AuditEntryOut.model_validate(answered)


@router.get("/audit")
async def audit_trail(
    ctx: CtxDep,
    entity_type: TrailEntity | None = None,
    entity_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    since: Annotated[Moment | None, Query(alias="from")] = None,
    until: Annotated[Moment | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    # An entry id: older entries come next.
    cursor: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,17}$")] = None,
) -> Page[AuditEntryOut]:
    """Who changed which field from what to what, newest first. With `entity_type`
    and `entity_id`: that record's trail, for any member who may read the record
    (404 otherwise). Without: the organization's whole trail, security events
    included — admins only (403). `from`/`to` bound the time, `actor_id` the member."""
    rows = await read_trail(
        ctx,
        TrailQuery(
            entity_type=entity_type,
            entity_id=entity_id,
            actor_id=actor_id,
            since=since,
            until=until,
            before=int(cursor) if cursor else None,
            limit=limit,
        ),
    )
    items = [entry_out(row) for row in rows[:limit]]
    return Page(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)
