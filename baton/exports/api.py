"""/api/v1/exports: every list as a CSV or XLSX download, streamed."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query

from baton.accounts.models import ActivityLevel, Tenure
from baton.activities.api import OwnerFilter
from baton.activities.schemas import ActivityView
from baton.audit.trail import TrailEntity
from baton.core.auth import CtxDep, get_principal
from baton.core.errors import FieldError, ValidationFailed
from baton.core.pagination import SearchQuery
from baton.core.request_transaction import StreamedResponse
from baton.core.routing import JsonRoute
from baton.core.schemas import Moment
from baton.deals.schemas import DealView
from baton.exports import service
from baton.exports.columns import ExportEntity
from baton.exports.formats import ExportFormat
from baton.exports.sources import ExportFilters
from baton.leads.schemas import LeadList
from baton.targets.schemas import StepKey

router = APIRouter(
    prefix="/api/v1/exports",
    tags=["exports"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)

_VIEWS: dict[ExportEntity, type[DealView] | type[LeadList] | type[ActivityView]] = {
    ExportEntity.DEALS: DealView,
    ExportEntity.LEADS: LeadList,
    ExportEntity.ACTIVITIES: ActivityView,
}


def _view(entity: ExportEntity, view: str | None) -> dict[str, object]:
    if view is None:
        return {}
    kind = _VIEWS.get(entity)
    if kind is None:
        raise ValidationFailed(errors=[FieldError("view", f"{entity.value} have no views")])
    try:
        chosen = kind(view)
    except ValueError as exc:
        names = ", ".join(member.value for member in kind)
        raise ValidationFailed(errors=[FieldError("view", f"is one of: {names}")]) from exc
    name = {DealView: "deal_view", LeadList: "lead_view", ActivityView: "activity_view"}[kind]
    return {name: chosen}


def _owner(owner: str | None) -> dict[str, object]:
    if owner is None:
        return {}
    if owner == "me":
        return {"owner_me": True}
    try:
        return {"owner_id": uuid.UUID(owner)}
    except ValueError as exc:
        raise ValidationFailed(errors=[FieldError("owner", "is not `me` or an id")]) from exc


@router.get(
    "/{entity}",
    response_class=StreamedResponse,
    responses={200: {"content": {"text/csv": {}, "application/octet-stream": {}}}},
)
async def export_list(
    entity: ExportEntity,
    ctx: CtxDep,
    format: ExportFormat = ExportFormat.CSV,
    q: SearchQuery = None,
    owner: OwnerFilter = None,
    tenure: Tenure | None = None,
    activity: ActivityLevel | None = None,
    account_id: uuid.UUID | None = None,
    view: Annotated[str | None, Query(max_length=32)] = None,
    status: StepKey | None = None,
    entity_type: TrailEntity | None = None,
    entity_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    since: Annotated[Moment | None, Query(alias="from")] = None,
    until: Annotated[Moment | None, Query(alias="to")] = None,
) -> StreamedResponse:
    """The list `entity` as a file, with the filters its list takes (accounts: `q`,
    `owner=me`, `tenure`, `activity`; contacts: `q`, `account_id`; deals: `view`,
    `account_id`; leads: `view` (required), `q`; targets: `status`, `q`; activities:
    `view`, `owner`; audit: `entity_type`, `entity_id`, `actor_id`, `from`, `to`),
    only what the caller may read. Streamed: CSV (UTF-8 with BOM) leaves batch by
    batch; times are ISO 8601 UTC, amounts decimals, formula-like text prefixed `'`."""
    filters = ExportFilters(
        q=q,
        tenure=tenure,
        activity=activity,
        account_id=account_id,
        status=status,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        since=since,
        until=until,
        **_owner(owner),  # type: ignore[arg-type]
        **_view(entity, view),  # type: ignore[arg-type]
    )
    export = await service.open_export(ctx, entity, filters, format)
    return StreamedResponse(
        export.body,
        media_type=export.media_type,
        headers={
            "content-disposition": f'attachment; filename="{export.filename}"; '
            f"filename*=UTF-8''{quote(export.filename)}",
            "cache-control": "no-store",
        },
    )
