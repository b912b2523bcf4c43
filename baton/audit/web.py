"""The change trail on pages: the "Changes" section of a record's page, and the
organization's audit page for admins (`/audit`, filterable, as CSV too)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from baton.audit.reading import read_for_people
from baton.audit.trail import TrailEntity, TrailQuery, change_field, read_trail
from baton.core.auth import CtxDep
from baton.core.context import Ctx
from baton.identity.access import require_role
from baton.identity.models import Role
from baton.web.rendering import render, viewer_locale, viewer_zone

router = APIRouter(include_in_schema=False)

# What a record's page shows of its trail; the API pages through the rest.
SHOWN = 30
# What the audit page shows and the CSV holds at most per request.
AUDIT_PAGE = 100
CSV_ROWS = 200


async def changes_context(ctx: Ctx, entity: TrailEntity, record_id: uuid.UUID) -> dict[str, Any]:
    """What `_changes.html` needs for one record: its latest changes and their actors."""
    trail = await read_trail(ctx, TrailQuery(entity_type=entity, entity_id=record_id, limit=SHOWN))
    shown = trail[:SHOWN]
    return {
        "trail": shown,
        "trail_more": len(trail) > SHOWN,
        "trail_reading": await read_for_people(ctx, shown, viewer_zone(ctx), viewer_locale(ctx)),
        "trail_entity": entity.value,
        "trail_id": record_id,
    }


def _actor(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula is quoted."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@router.get("/audit")
async def audit_page(
    request: Request,
    ctx: CtxDep,
    actor: str | None = None,
    before: str | None = None,
) -> Response:
    """Admins: the organization's whole trail, security events included, newest first,
    by member; "Older" pages on; the same as CSV at `/audit.csv`."""
    require_role(ctx, Role.ADMIN)
    actor_id = _actor(actor)
    cursor = int(before) if before and before.isdigit() and len(before) <= 18 else None
    trail = await read_trail(ctx, TrailQuery(actor_id=actor_id, before=cursor, limit=AUDIT_PAGE))
    shown = trail[:AUDIT_PAGE]
    return render(
        request,
        "audit.html",
        trail=shown,
        trail_reading=await read_for_people(ctx, shown, viewer_zone(ctx), viewer_locale(ctx)),
        actor=actor_id,
        older=shown[-1].id if len(trail) > AUDIT_PAGE else None,
    )


@router.get("/audit.csv")
async def audit_csv(ctx: CtxDep, actor: str | None = None) -> Response:
    """The organization's latest changes as CSV (admins), one row per changed field:
    people and records by name, with their ids in columns of their own; values as the
    pages word them, times in UTC (ISO 8601) and amounts as plain decimals, as every
    file of Baton writes them."""
    require_role(ctx, Role.ADMIN)
    trail = (await read_trail(ctx, TrailQuery(actor_id=_actor(actor), limit=CSV_ROWS)))[:CSV_ROWS]
    reading = await read_for_people(ctx, trail)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "at",
            "actor",
            "action",
            "event",
            "record",
            "record_name",
            "record_id",
            "field",
            "before",
            "after",
            "actor_id",
        ]
    )
    for entry in trail:
        base = [
            reading.time(entry.at),
            reading.actor(entry),
            entry.action,
            entry.event or "",
            entry.entity_type or entry.table_name or "",
            reading.record(entry),
            str(entry.entity_id or ""),
        ]
        fields = [
            (change_field(c.field), reading.before(entry, c), reading.after(entry, c))
            for c in entry.changes
        ] or [("", "", "")]
        for values in fields:
            writer.writerow([_cell(value) for value in (*base, *values, entry.actor_id or "")])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
