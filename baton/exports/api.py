"""/api/v1/exports: every list as a CSV or XLSX download, streamed."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, status

from baton.accounts.models import ActivityLevel, Tenure
from baton.activities.api import OwnerFilter
from baton.activities.schemas import ActivityView
from baton.audit.trail import TrailEntity
from baton.core.auth import CtxDep, get_principal
from baton.core.errors import FieldError, ValidationFailed
from baton.core.pagination import SearchQuery
from baton.core.request_transaction import StreamedResponse
from baton.core.routing import JsonRoute
from baton.core.schemas import Moment, parse_input
from baton.deals.schemas import DealListFilters, DealView
from baton.exports import service
from baton.exports.filters import ExportEntity, ExportFilters
from baton.exports.formats import MEDIA_TYPES, ExportFormat
from baton.exports.models import ExportStatus, TenantExport
from baton.exports.schemas import ManifestEntry, TenantExportOut
from baton.leads.schemas import LeadList
from baton.targets.schemas import StepKey

router = APIRouter(
    prefix="/api/v1/exports",
    tags=["exports"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)


def export_out(export: TenantExport) -> TenantExportOut:
    completed = export.status == ExportStatus.COMPLETED.value
    return TenantExportOut(
        id=export.id,
        status=ExportStatus(export.status),
        requested_by=export.requested_by,
        tables_total=export.tables_total,
        tables_done=export.tables_done,
        rows_done=export.rows_done,
        manifest=[ManifestEntry.model_validate(entry) for entry in export.manifest or []]
        if export.manifest is not None
        else None,
        size_bytes=export.size_bytes,
        sha256=export.sha256,
        failure=export.failure,
        download_url=f"/api/v1/exports/{export.id}/download" if completed else None,
        created_at=export.created_at,
        started_at=export.started_at,
        completed_at=export.completed_at,
    )


@router.post("/tenant", status_code=status.HTTP_202_ACCEPTED)
async def export_organization(ctx: CtxDep) -> TenantExportOut:
    """Admins: the whole organization's data as a ZIP (one CSV per table and a
    `manifest.json` with each table's row count and SHA-256), built by a background
    job; poll `GET /exports/{id}`, then download from its `download_url`."""
    return export_out(await service.request_tenant_export(ctx))


@router.get("/{export_id:uuid}")
async def get_export(export_id: uuid.UUID, ctx: CtxDep) -> TenantExportOut:
    """An organization export's status and progress (admins; another
    organization's is 404)."""
    return export_out(await service.get_tenant_export(ctx, export_id))


@router.get(
    "/{export_id:uuid}/download",
    response_class=StreamedResponse,
    responses={
        200: {"content": {"application/zip": {}}},
        409: {"description": "The export is not completed yet"},
    },
)
async def download_export(export_id: uuid.UUID, ctx: CtxDep) -> StreamedResponse:
    """The finished ZIP (409 until the export is completed), streamed."""
    export, chunks = await service.open_tenant_download(ctx, export_id)
    day = export.created_at.date().isoformat()
    return StreamedResponse(
        chunks,
        media_type="application/zip",
        headers={
            "content-disposition": f'attachment; filename="baton-organization-{day}.zip"',
            "content-length": str(export.size_bytes),
            "cache-control": "no-store",
        },
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


def export_filters(
    entity: ExportEntity,
    q: SearchQuery = None,
    owner: OwnerFilter = None,
    tenure: Tenure | None = None,
    activity: ActivityLevel | None = None,
    account_id: uuid.UUID | None = None,
    view: Annotated[str | None, Query(max_length=32)] = None,
    status_key: Annotated[StepKey | None, Query(alias="status")] = None,
    entity_type: TrailEntity | None = None,
    entity_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    since: Annotated[Moment | None, Query(alias="from")] = None,
    until: Annotated[Moment | None, Query(alias="to")] = None,
    stage: Annotated[str | None, Query(max_length=64)] = None,
    amount_min: Annotated[str | None, Query(max_length=32)] = None,
    amount_max: Annotated[str | None, Query(max_length=32)] = None,
    close_month: Annotated[str | None, Query(max_length=7)] = None,
    overdue: bool | None = None,
    sort: Annotated[str | None, Query(max_length=32)] = None,
) -> ExportFilters:
    """The filters of an export's query string (the API's and the pages' downloads);
    deals also take the deals list's `stage`, `amount_min`, `amount_max`,
    `close_month`, `overdue` and `sort`, checked as `GET /deals` checks them (422
    naming the parameter)."""
    deal_list = parse_input(
        DealListFilters,
        {
            key: value
            for key, value in {
                "stage": stage,
                "amount_min": amount_min,
                "amount_max": amount_max,
                "close_month": close_month,
                "overdue": overdue,
                "sort": sort,
            }.items()
            if value is not None
        },
    )
    return ExportFilters(
        stage=deal_list.stage,
        amount_min=deal_list.amount_min,
        amount_max=deal_list.amount_max,
        close_month=deal_list.close_month,
        overdue=deal_list.overdue,
        sort=deal_list.sort,
        q=q,
        tenure=tenure,
        activity=activity,
        account_id=account_id,
        status=status_key,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        since=since,
        until=until,
        **_owner(owner),  # type: ignore[arg-type]
        **_view(entity, view),  # type: ignore[arg-type]
    )


ExportFiltersDep = Annotated[ExportFilters, Depends(export_filters)]


def streamed(export: service.Export) -> StreamedResponse:
    return StreamedResponse(
        export.body,
        media_type=export.media_type,
        headers={
            "content-disposition": f'attachment; filename="{export.filename}"; '
            f"filename*=UTF-8''{quote(export.filename)}",
            "cache-control": "no-store",
        },
    )


@router.get(
    "/{entity}",
    response_class=StreamedResponse,
    responses={200: {"content": {"text/csv": {}, MEDIA_TYPES[ExportFormat.XLSX]: {}}}},
)
async def export_list(
    entity: ExportEntity,
    ctx: CtxDep,
    filters: ExportFiltersDep,
    format: ExportFormat = ExportFormat.CSV,
) -> StreamedResponse:
    """The list `entity` as a file, with the filters its list takes (accounts: `q`,
    `owner=me`, `tenure`, `activity`; contacts: `q`, `account_id`; deals: `q`, `view`,
    `account_id` and the deals list's other filters; leads: `view` (required), `q`;
    targets: `status`, `q`; activities: `view`, `owner`; audit: `entity_type`,
    `entity_id`, `actor_id`, `from`, `to`), only what the caller may read. Streamed as
    PostgreSQL reads the list: CSV (UTF-8 with BOM) or XLSX (typed cells); times are
    ISO 8601 UTC, amounts decimals, formula-like text prefixed `'`."""
    return streamed(await service.open_export(ctx, entity, filters, format))
