"""/api/v1/reports/{name}: the cockpit's figures (docs/api.md, "Reports").

Each handler parses the common parameters and calls its one service function; the
rules (who reads what, currency, periods) are the service's.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from baton.core.auth import CtxDep, get_principal
from baton.core.replica import replica_route
from baton.core.routing import JsonRoute
from baton.core.schemas import Moment
from baton.reports import service
from baton.reports.schemas import (
    ActivityReport,
    CadenceAdherenceReport,
    ForecastReport,
    LeadFunnelReport,
    PipelineReport,
    PipelineTotal,
    SourcesReport,
    StageConversionReport,
    StageFigures,
    WinRateReport,
)

router = APIRouter(
    prefix="/api/v1/reports",
    tags=["reports"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)


def report_params(
    since: Annotated[
        Moment | None,
        Query(alias="from", description="Start of the period (inclusive), with a UTC offset"),
    ] = None,
    until: Annotated[
        Moment | None,
        Query(alias="to", description="End of the period (exclusive); at most 732 days on"),
    ] = None,
    owner_id: Annotated[uuid.UUID | None, Query(description="Only this member's records")] = None,
    workflow_id: Annotated[
        uuid.UUID | None, Query(description="Default: the organization's default workflow")
    ] = None,
    currency: Annotated[
        str | None,
        Query(pattern="^[A-Z]{3}$", description="Default: the organization's currency"),
    ] = None,
) -> service.ReportParams:
    return service.ReportParams(since, until, owner_id, workflow_id, currency)


ParamsDep = Annotated[service.ReportParams, Depends(report_params)]


@router.get("/pipeline")
@replica_route
async def pipeline_report(ctx: CtxDep, params: ParamsDep) -> PipelineReport:
    """Open deals per open step (count, amount, weighted = amount * probability);
    `from` and `to` do not apply (open is now)."""
    found = await service.pipeline(ctx, params)
    return PipelineReport(
        currency=found["currency"],
        stages=[StageFigures(**stage) for stage in found["stages"]],
        total=PipelineTotal(**found["total"]),
    )


@router.get("/forecast")
@replica_route
async def forecast_report(ctx: CtxDep, params: ParamsDep) -> ForecastReport:
    """Open deals by expected-close month: pipeline, best case (≥ 50 %), commit
    (≥ 70 %), weighted; won per month. Default: this month and the next five."""
    return ForecastReport.model_validate(await service.forecast(ctx, params))


@router.get("/win-rate")
@replica_route
async def win_rate_report(ctx: CtxDep, params: ParamsDep) -> WinRateReport:
    """Deals closed in the period per owner: won, lost, win rate, average cycle."""
    return WinRateReport.model_validate(await service.win_rate(ctx, params))


@router.get("/stage-conversion")
@replica_route
async def stage_conversion_report(ctx: CtxDep, params: ParamsDep) -> StageConversionReport:
    """Per step, from the history ledger: entries, exits, conversion, time in step."""
    return StageConversionReport.model_validate(await service.stage_conversion(ctx, params))


@router.get("/lead-funnel")
@replica_route
async def lead_funnel_report(ctx: CtxDep, params: ParamsDep) -> LeadFunnelReport:
    """Leads created in the period: created → qualified → claimed → converted."""
    return LeadFunnelReport.model_validate(await service.lead_funnel(ctx, params))


@router.get("/activity")
@replica_route
async def activity_report(ctx: CtxDep, params: ParamsDep) -> ActivityReport:
    """Per owner: done in the period, overdue now, due later today."""
    return ActivityReport.model_validate(await service.activity(ctx, params))


@router.get("/cadence-adherence")
@replica_route
async def cadence_adherence_report(ctx: CtxDep, params: ParamsDep) -> CadenceAdherenceReport:
    """Cadence steps due in the period per owner: on time, late, not done."""
    return CadenceAdherenceReport.model_validate(await service.cadence_adherence(ctx, params))


@router.get("/sources")
@replica_route
async def sources_report(ctx: CtxDep, params: ParamsDep) -> SourcesReport:
    """Leads created per source and week, qualification, triage time, nurture backlog."""
    return SourcesReport.model_validate(await service.sources(ctx, params))
