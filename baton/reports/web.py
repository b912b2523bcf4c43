"""Home: a dashboard for each role, and each of its tables as CSV.

- sales: my open pipeline, my activities due today and overdue, my claimed leads
  waiting for a first contact, pool leads near their claim due, my won and lost;
- manager and viewer: the team's pipeline, forecast, win rates, stage conversion,
  lead funnel, activities and cadence adherence per rep;
- marketing: leads by source and week, qualification, triage, rejections, nurture;
- admin: members and last sign-in, jobs, data volumes — then the manager's view.

Every figure comes from `reports.service` (the API's own functions); charts are SVG
drawn here (`charts.py`), each with its table beside it and a CSV download
(`/reports/{name}.csv`, the same period and owner). No script draws anything.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from baton.core.auth import CtxDep
from baton.core.context import Ctx, Principal
from baton.core.errors import NotFound
from baton.core.zones import zone_named
from baton.identity.models import Role
from baton.reports import charts, queries, service
from baton.reports.service import ReportParams, add_months, local_midnight, month_start
from baton.web.rendering import render, viewer_locale

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Preset:
    key: str
    label: str


PRESETS = (
    Preset("this_month", "This month"),
    Preset("last_month", "Last month"),
    Preset("this_quarter", "This quarter"),
    Preset("last_quarter", "Last quarter"),
    Preset("last_90_days", "Last 90 days"),
    Preset("this_year", "This year"),
)
DEFAULT_PRESET = "this_quarter"


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    since: datetime
    until: datetime
    # The days shown: first and last (inclusive), in the viewer's calendar.
    first: date
    last: date


def period_of(key: str | None, now: datetime, zone_name: str) -> Period:
    """A preset period in the viewer's calendar (an unknown key is the default)."""
    chosen = next((p for p in PRESETS if p.key == key), None) or next(
        p for p in PRESETS if p.key == DEFAULT_PRESET
    )
    today = now.astimezone(zone_named(zone_name)).date()
    month = month_start(today)
    quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    first, end = {
        "this_month": (month, add_months(month, 1)),
        "last_month": (add_months(month, -1), month),
        "this_quarter": (quarter, add_months(quarter, 3)),
        "last_quarter": (add_months(quarter, -3), quarter),
        "last_90_days": (today - timedelta(days=89), today + timedelta(days=1)),
        "this_year": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
    }[chosen.key]
    return Period(
        chosen.key,
        chosen.label,
        local_midnight(first, zone_name),
        local_midnight(end, zone_name),
        first,
        end - timedelta(days=1),
    )


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw and len(raw) <= 36 else None
    except ValueError:
        return None


def dashboard_of(principal: Principal) -> str:
    return {
        Role.SALES: "sales",
        Role.MARKETING: "marketing",
        Role.ADMIN: "admin",
    }.get(Role(principal.role), "manager")


def _duration(seconds: float | None) -> str:
    return "—" if seconds is None else charts.duration(seconds)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _week_label(monday: str) -> str:
    """A week by its Monday, as a column head: "7 Dec"."""
    day = date.fromisoformat(monday)
    return f"{day.day} {day.strftime('%b')}"


@router.get("/")
async def home(
    request: Request, ctx: CtxDep, period: str | None = None, owner: str | None = None
) -> Response:
    principal = ctx.require_principal()
    now = datetime.now(UTC)
    chosen = period_of(period, now, principal.timezone)
    kind = dashboard_of(principal)
    owner_id = _uuid(owner)
    team = await _team(ctx)
    if owner_id is not None and owner_id not in team:
        owner_id = None
    mine = ReportParams(chosen.since, chosen.until, principal.user_id)
    shown = ReportParams(chosen.since, chosen.until, owner_id)
    context: dict[str, Any] = {
        "kind": kind,
        "now": now,
        "period": chosen,
        "presets": PRESETS,
        "owner_id": owner_id,
        "team": team,
        "duration": _duration,
        "percent": _percent,
        "week_label": _week_label,
        "query": lambda **extra: _query(chosen.key, owner_id, **extra),
    }
    if kind == "sales":
        context.update(await _sales(ctx, mine))
    elif kind == "marketing":
        context.update(await _marketing(ctx, shown))
    else:
        if kind == "admin":
            context["desk"] = await service.admin_desk(ctx)
        context.update(await _manager(ctx, shown))
    return render(request, "home.html", **context)


def _query(period: str, owner_id: uuid.UUID | None, **extra: Any) -> str:
    values = {"period": period, **({"owner": str(owner_id)} if owner_id else {}), **extra}
    return urlencode(values)


async def _team(ctx: Ctx) -> dict[uuid.UUID, str]:
    """Every member of the organization by name, for the owner filter."""
    desk = await queries.members(ctx.session)
    return {row.id: row.full_name for row in desk}


async def _sales(ctx: Ctx, mine: ReportParams) -> dict[str, Any]:
    pipeline = await service.pipeline(ctx, ReportParams(owner_id=mine.owner_id))
    # Home shows only what is overdue or due today (any period): the shortest one.
    now = datetime.now(UTC)
    today = ReportParams(now - timedelta(days=1), now, mine.owner_id)
    activity = await service.activity(ctx, today)
    closed = await service.win_rate(ctx, mine)
    desk = await service.sales_desk(ctx)
    return {
        "pipeline": pipeline,
        "pipeline_chart": charts.pipeline_chart(pipeline, viewer_locale(ctx)),
        "activity": activity["total"],
        "closed": closed,
        "desk": desk,
    }


async def _manager(ctx: Ctx, shown: ReportParams) -> dict[str, Any]:
    pipeline = await service.pipeline(ctx, ReportParams(owner_id=shown.owner_id))
    forecast = await service.forecast(ctx, shown)
    closed = await service.win_rate(ctx, shown)
    stages = await service.stage_conversion(ctx, shown)
    funnel = await service.lead_funnel(ctx, shown)
    activity = await service.activity(ctx, shown)
    adherence = await service.cadence_adherence(ctx, shown)
    return {
        "pipeline": pipeline,
        "pipeline_chart": charts.pipeline_chart(pipeline, viewer_locale(ctx)),
        "forecast": forecast,
        "forecast_chart": charts.forecast_chart(forecast, viewer_locale(ctx)),
        "closed": closed,
        "loss_chart": charts.reasons_chart(closed["loss_reasons"], "Lost deals"),
        "stages": stages,
        "conversion_chart": charts.conversion_chart(stages["steps"]),
        "time_chart": charts.time_in_step_chart(stages["steps"]),
        "funnel": funnel,
        "funnel_chart": charts.lead_funnel_chart(funnel),
        "activity": activity,
        "adherence": adherence,
    }


async def _marketing(ctx: Ctx, shown: ReportParams) -> dict[str, Any]:
    sources = await service.sources(ctx, shown)
    return {
        "sources": sources,
        "sources_chart": charts.sources_chart(sources),
        "rejected_chart": charts.reasons_chart(sources["rejected_reasons"], "Leads sent back"),
    }


# ------------------------------------------------------------------ CSV


def _cell(value: Any) -> str:
    """A value as a spreadsheet reads it safely: no formula (OWASP CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(name: str, found: dict[str, Any]) -> list[list[Any]]:
    """A report as the table Home shows beside its chart."""
    if name == "pipeline":
        rows: list[list[Any]] = [["stage", "count", "amount", "weighted", "currency"]]
        rows += [
            [s["name"], s["count"], s["amount"], s["weighted"], found["currency"]]
            for s in found["stages"]
        ]
        total = found["total"]
        return [
            *rows,
            ["Total", total["count"], total["amount"], total["weighted"], found["currency"]],
        ]
    if name == "forecast":
        keys = ["count", "commit", "best_case", "pipeline", "weighted", "won", "won_count"]
        return [["month", *keys, "currency"]] + [
            [m["month"], *(m[k] for k in keys), found["currency"]] for m in found["months"]
        ]
    if name == "win-rate":
        keys = ["won", "lost", "win_rate", "won_amount", "average_cycle_days"]
        return [["owner", *keys]] + [[o["name"], *(o[k] for k in keys)] for o in found["owners"]]
    if name == "stage-conversion":
        keys = [
            "entries",
            "exits",
            "conversion_to_next",
            "median_seconds_in_step",
            "p90_seconds_in_step",
            "backwards_moves",
        ]
        return [["step", *keys]] + [[s["name"], *(s[k] for k in keys)] for s in found["steps"]]
    if name == "lead-funnel":
        keys = ["count", "share_of_created", "median_seconds_from_previous"]
        return [["stage", *keys]] + [[s["key"], *(s[k] for k in keys)] for s in found["stages"]]
    if name in ("activity", "cadence-adherence"):
        keys = [k for k in found["total"]]
        return [["owner", *keys]] + [[o["name"], *(o[k] for k in keys)] for o in found["owners"]]
    # sources
    return [["source", "created", "qualified", "qualification_rate", *found["weeks"]]] + [
        [s["source"] or "", s["created"], s["qualified"], s["qualification_rate"], *s["weeks"]]
        for s in found["sources"]
    ]


@router.get("/reports/{name}.csv")
async def report_csv(
    ctx: CtxDep, name: str, period: str | None = None, owner: str | None = None
) -> Response:
    """One report as CSV, for the period and owner Home shows (same rules as the API)."""
    principal = ctx.require_principal()
    if name not in service.REPORTS:
        raise NotFound("No such report")
    chosen = period_of(period, datetime.now(UTC), principal.timezone)
    params = ReportParams(chosen.since, chosen.until, _uuid(owner))
    if name in ("pipeline",):
        params = ReportParams(owner_id=params.owner_id)
    found = await service.report(ctx, name, params)
    out = io.StringIO()
    writer = csv.writer(out)
    for row in csv_rows(name, found):
        writer.writerow([_cell(value) for value in row])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{chosen.key}.csv"'},
    )
