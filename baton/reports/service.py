"""The cockpit's reports: the rules that turn `queries`' aggregates into figures.

Called by the reports API (`api.py`), the Home dashboards and their CSV downloads
(`web.py`) — one function per report, each answering the documented JSON shape as
plain dicts and lists.

Who may read what (the records' own read rules, nothing looser):
- every member (viewers too) reads every report; `owner_id` narrows it to one member;
- deals are read by every member today (the board shows the whole organization), so
  a salesperson's team pipeline, forecast and win rates are the organization's;
- lead reports read `leads` through its row-level policy, so a salesperson counts
  only the pool, their own leads and those they sent back, marketing only the leads
  its lists show; managers, admins and viewers count every lead;
- the ledger (`stage-conversion`) is read as the workflow analytics read it: by every
  member, the owner filter joining the records (and their policy) it names.

Money: each report is in one currency, the organization's default unless the caller
asks for another (`currency`). Deals in other currencies are not converted (Baton
holds no exchange rates) and are left out of that report's counts and sums alike, so
count, amount and weighted always describe the same deals; `other_currencies` lists
what was left out. Weighted = amount * probability / 100, the deal's own probability
if it has one, else its step's; a deal without an amount counts with 0.

Periods: `from` ≤ moment < `to`, both `Moment`s, at most `MAX_SPAN` apart (422).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from baton.core.context import Ctx
from baton.core.errors import FieldError, NotFound, ValidationFailed
from baton.core.zones import zone_named
from baton.deals import service as deals_service
from baton.identity import queries as identity_queries
from baton.identity.access import require_role
from baton.identity.models import Role
from baton.leads import service as leads_service
from baton.reports import queries
from baton.web.formatting import code_label
from baton.workflow import engine
from baton.workflow import queries as workflow_queries
from baton.workflow import service as workflow_service
from baton.workflow.models import EntityType, StatusCategory

MAX_SPAN = timedelta(days=732)
# The last moment a period may end at: two days short of the `Moment` range's end, so
# widening it and walking it by days, weeks and months stays inside what Python holds.
REPORT_LATEST = datetime(9999, 12, 29, tzinfo=UTC)
DEFAULT_DAYS = 90
FORECAST_MONTHS = 6
# Probability bands of the forecast, in percent: commit ≥ 70, best case ≥ 50.
COMMIT_PROBABILITY = 70
BEST_CASE_PROBABILITY = 50
CENT = Decimal("0.01")
# Empty months and weeks are listed between `from` and `to` up to these many.
MAX_FILLED_MONTHS = 36
MAX_FILLED_WEEKS = 60
REPORTS = (
    "pipeline",
    "forecast",
    "win-rate",
    "stage-conversion",
    "lead-funnel",
    "activity",
    "cadence-adherence",
    "sources",
)


@dataclass(frozen=True)
class ReportParams:
    """What every report takes; None means the report's default."""

    since: datetime | None = None
    until: datetime | None = None
    owner_id: uuid.UUID | None = None
    workflow_id: uuid.UUID | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Organization:
    currency: str
    timezone: str
    claim_sla_hours: int


def money(value: Decimal | None) -> Decimal:
    return (value or Decimal(0)).quantize(CENT)


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def organization(ctx: Ctx) -> Organization:
    row = (
        await ctx.session.execute(
            text("SELECT default_currency, timezone, claim_sla_hours FROM tenant_settings")
        )
    ).one()
    return Organization(row.default_currency, row.timezone, int(row.claim_sla_hours))


def period(
    params: ReportParams, now: datetime, default: tuple[datetime, datetime]
) -> tuple[datetime, datetime]:
    """The report's period: as given, or filled from the default; refused (422) when
    `from` is not before `to` or they are more than `MAX_SPAN` apart."""
    since, until = params.since, params.until
    if since is None and until is None:
        since, until = default
    elif until is None:
        assert since is not None
        until = max(now, min(since, REPORT_LATEST - timedelta(days=1)) + timedelta(days=1))
    elif since is None:
        since = until - (default[1] - default[0])
    assert since is not None
    assert until is not None
    until = min(until, REPORT_LATEST)
    if since >= until:
        raise ValidationFailed(errors=[FieldError("from", "must be before to")])
    if until - since > MAX_SPAN:
        raise ValidationFailed(errors=[FieldError("to", "must be at most 732 days after from")])
    return since, until


def last_days(now: datetime, days: int = DEFAULT_DAYS) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone_named(zone)).astimezone(UTC)


async def _owner(ctx: Ctx, owner_id: uuid.UUID | None) -> None:
    """An owner filter names a member of this organization (422 otherwise: another
    organization's people are unknown here)."""
    if owner_id is None:
        return
    names = await identity_queries.member_names(ctx.session, [owner_id])
    if owner_id not in names:
        raise ValidationFailed(
            errors=[FieldError("owner_id", "is not a member of this organization")]
        )


async def _workflow(
    ctx: Ctx, workflow_id: uuid.UUID | None, entity: EntityType
) -> engine.CompiledWorkflow:
    """The workflow a report reads: the given one (404 unknown or another
    organization's; 422 when it governs other records), else the default of `entity`."""
    version = None
    if workflow_id is None:
        if entity is EntityType.DEAL:
            workflow_id, version = await deals_service.deal_workflow(ctx)
        else:
            workflow_id, version = await leads_service.lead_workflow(ctx)
    flow = await workflow_service.require_compiled(ctx, workflow_id, version)
    if flow.entity_type != entity.value:
        raise ValidationFailed(
            errors=[FieldError("workflow_id", f"is not a {entity.value} workflow")]
        )
    return flow


def _refuse_workflow(params: ReportParams) -> None:
    if params.workflow_id is not None:
        raise ValidationFailed(errors=[FieldError("workflow_id", "does not apply to this report")])


async def _names(ctx: Ctx, ids: Any) -> dict[uuid.UUID, str]:
    return await identity_queries.member_names(ctx.session, ids)


def _other_currencies(counts: dict[str, int], currency: str) -> list[dict[str, Any]]:
    return [
        {"currency": code, "count": n}
        for code, n in sorted(counts.items())
        if code != currency and n
    ]


# ------------------------------------------------------------------ deals


async def pipeline(ctx: Ctx, params: ReportParams) -> dict[str, Any]:
    """Open deals per open step of the workflow (in step order, empty steps too):
    count, amount and weighted amount; the period does not apply (open is now)."""
    ctx.require_principal()
    org = await organization(ctx)
    currency = params.currency or org.currency
    await _owner(ctx, params.owner_id)
    flow = await _workflow(ctx, params.workflow_id, EntityType.DEAL)
    rows = await queries.open_pipeline(ctx.session, flow.workflow_id, params.owner_id)
    by_step = {row.step_id: row for row in rows if row.currency == currency}
    others: dict[str, int] = defaultdict(int)
    for row in rows:
        others[row.currency] += row.count
    stages: list[dict[str, Any]] = []
    for step in flow.ordered_steps():
        if step.category != StatusCategory.OPEN:
            continue
        found = by_step.get(step.id)
        stages.append(
            {
                "step_id": step.id,
                "key": step.key,
                "name": step.name,
                "count": found.count if found else 0,
                "amount": money(found.amount if found else None),
                "weighted": money(found.weighted if found else None),
            }
        )
    return {
        "currency": currency,
        "stages": stages,
        "total": {
            "count": sum(s["count"] for s in stages),
            "amount": money(sum((s["amount"] for s in stages), Decimal(0))),
            "weighted": money(sum((s["weighted"] for s in stages), Decimal(0))),
        },
        "other_currencies": _other_currencies(others, currency),
        "workflow_id": flow.workflow_id,
    }


def forecast_default(now: datetime, zone: str) -> tuple[datetime, datetime]:
    """This month and the five after it, in the organization's calendar."""
    first = month_start(now.astimezone(zone_named(zone)).date())
    return local_midnight(first, zone), local_midnight(add_months(first, FORECAST_MONTHS), zone)


def _months(first: date, last: date) -> list[date]:
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        if month >= date(9999, 12, 1):
            break
        month = add_months(month, 1)
    return months


async def forecast(ctx: Ctx, params: ReportParams) -> dict[str, Any]:
    """Open deals by expected-close month in the period (the organization's calendar):
    pipeline (every open deal), best case (probability ≥ 50 %), commit (≥ 70 %) and
    weighted; and what was won in each month. Open deals without an expected close
    date are not forecast: `undated` counts them."""
    ctx.require_principal()
    org = await organization(ctx)
    currency = params.currency or org.currency
    now = datetime.now(UTC)
    since, until = period(params, now, forecast_default(now, org.timezone))
    await _owner(ctx, params.owner_id)
    flow = await _workflow(ctx, params.workflow_id, EntityType.DEAL)
    zone = zone_named(org.timezone)
    first_day = since.astimezone(zone).date()
    # `to` is exclusive: a period ending at midnight ends the day before.
    last_day = (until - timedelta(microseconds=1)).astimezone(zone).date()
    open_months, undated, won = await queries.forecast(
        ctx.session,
        flow.workflow_id,
        params.owner_id,
        (first_day, last_day + timedelta(days=1)),
        (since, until),
        org.timezone,
        (BEST_CASE_PROBABILITY, COMMIT_PROBABILITY),
    )
    empty = {
        "count": 0,
        "pipeline": Decimal(0),
        "best_case": Decimal(0),
        "commit": Decimal(0),
        "weighted": Decimal(0),
        "won_count": 0,
        "won": Decimal(0),
    }
    months: dict[date, dict[str, Any]] = {}
    wanted = _months(first_day, last_day)
    if len(wanted) <= MAX_FILLED_MONTHS:
        months = {month: dict(empty) for month in wanted}
    others: dict[str, int] = defaultdict(int)
    for row in open_months:
        others[row.currency] += row.count
        if row.currency != currency:
            continue
        month = months.setdefault(row.month, dict(empty))
        month["count"] += row.count
        for key in ("pipeline", "best_case", "commit", "weighted"):
            month[key] += getattr(row, key)
    for day, code, n, amount in won:
        if code != currency:
            continue
        month = months.setdefault(day, dict(empty))
        month["won_count"] += n
        month["won"] += amount
    listed = [
        {"month": day.strftime("%Y-%m"), **figures, **_money_of(figures)}
        for day, figures in sorted(months.items())
    ]
    total = dict(empty)
    for figures in months.values():
        for key in total:
            total[key] += figures[key]
    return {
        "currency": currency,
        "since": since,
        "until": until,
        "commit_probability": COMMIT_PROBABILITY,
        "best_case_probability": BEST_CASE_PROBABILITY,
        "months": listed,
        "total": {**total, **_money_of(total)},
        "undated": {
            "count": sum(n for code, n, _ in undated if code == currency),
            "amount": money(sum((a for code, _, a in undated if code == currency), Decimal(0))),
        },
        "other_currencies": _other_currencies(others, currency),
    }


def _money_of(figures: dict[str, Any]) -> dict[str, Decimal]:
    return {
        key: money(figures[key]) for key in ("pipeline", "best_case", "commit", "weighted", "won")
    }


async def win_rate(ctx: Ctx, params: ReportParams) -> dict[str, Any]:
    """Deals closed in the period, per owner: won, lost, win rate (won / closed), won
    amount, average cycle (created → closed, over won deals, in days); and the win
    and loss reasons. Counts take every currency; amounts only the report's."""
    ctx.require_principal()
    org = await organization(ctx)
    currency = params.currency or org.currency
    now = datetime.now(UTC)
    since, until = period(params, now, last_days(now))
    await _owner(ctx, params.owner_id)
    flow = await _workflow(ctx, params.workflow_id, EntityType.DEAL)
    groups = await queries.closed_deals(
        ctx.session, flow.workflow_id, params.owner_id, since, until
    )
    blank = {"won": 0, "lost": 0, "won_amount": Decimal(0), "cycle": 0.0}
    owners: dict[uuid.UUID, dict[str, Any]] = {}
    reasons: dict[tuple[str, str], int] = defaultdict(int)
    for group in groups:
        figures = owners.setdefault(group.owner_id, dict(blank))
        figures[group.outcome] += group.count
        reasons[(group.outcome, group.reason)] += group.count
        if group.outcome == "won":
            figures["cycle"] += group.cycle_seconds
            if group.currency == currency:
                figures["won_amount"] += group.amount
    names = await _names(ctx, owners)

    def line(figures: dict[str, Any]) -> dict[str, Any]:
        closed = figures["won"] + figures["lost"]
        return {
            "won": figures["won"],
            "lost": figures["lost"],
            "win_rate": rate(figures["won"], closed),
            "won_amount": money(figures["won_amount"]),
            "average_cycle_days": (
                round(figures["cycle"] / figures["won"] / 86400, 2) if figures["won"] else None
            ),
        }

    total = dict(blank)
    for figures in owners.values():
        for key in total:
            total[key] += figures[key]
    return {
        "currency": currency,
        "since": since,
        "until": until,
        "owners": sorted(
            (
                {"owner_id": owner, "name": names.get(owner, ""), **line(figures)}
                for owner, figures in owners.items()
            ),
            key=lambda row: (row["name"], str(row["owner_id"])),
        ),
        "total": line(total),
        "win_reasons": _labelled_reasons(
            flow, [(reason, n) for (kind, reason), n in reasons.items() if kind == "won"]
        ),
        "loss_reasons": _labelled_reasons(
            flow, [(reason, n) for (kind, reason), n in reasons.items() if kind == "lost"]
        ),
    }


def _labelled_reasons(
    flow: engine.CompiledWorkflow, counts: Iterable[tuple[str, int]]
) -> list[dict[str, Any]]:
    """Reason codes with their counts, most frequent first, each with the label its
    workflow gives it (the code in words when it gives none): what people read."""
    return [
        {"reason": reason, "label": flow.reason_label(reason) or code_label(reason), "count": n}
        for reason, n in sorted(counts, key=lambda pair: (-pair[1], pair[0]))
    ]


# ------------------------------------------------------------------ the ledger


async def stage_conversion(ctx: Ctx, params: ReportParams) -> dict[str, Any]:
    """The workflow analytics (`workflow.queries.step_analytics`: entries, exits,
    conversion to the next open step, time in step, backwards moves) for the period,
    optionally for the records one member owns (deal and lead workflows)."""
    ctx.require_principal()
    now = datetime.now(UTC)
    since, until = period(params, now, last_days(now))
    await _owner(ctx, params.owner_id)
    if params.workflow_id is None:
        flow = await _workflow(ctx, None, EntityType.DEAL)
    else:
        flow = await workflow_service.require_compiled(ctx, params.workflow_id)
    if params.owner_id is not None and flow.entity_type not in queries.OWNER_COLUMNS:
        raise ValidationFailed(
            errors=[FieldError("owner_id", "applies to deal and lead workflows only")]
        )
    moves = await queries.step_flow(
        ctx.session, flow.workflow_id, flow.entity_type, params.owner_id, since, until
    )
    return {
        "workflow_id": flow.workflow_id,
        "since": since,
        "until": until,
        "steps": workflow_queries.step_analytics(flow, moves),
    }


# ------------------------------------------------------------------ leads


async def lead_funnel(ctx: Ctx, params: ReportParams) -> dict[str, Any]:
    """Leads created in the period that the caller may read: created → qualified →
    claimed → converted, the median seconds of each hand-over (created → qualified,
    handed over → claimed, claimed → converted), the share of claims made within the
    organization's claim SLA (its current setting), and why sales sent leads back
    (rejections in the period). `owner_id` is the salesperson who claimed them."""
    ctx.require_principal()
    org = await organization(ctx)
    now = datetime.now(UTC)
    since, until = period(params, now, last_days(now))
    await _owner(ctx, params.owner_id)
    _refuse_workflow(params)
    funnel = await queries.lead_funnel(
        ctx.session, params.owner_id, since, until, org.claim_sla_hours
    )
    rejected = await queries.rejected_reasons(
        ctx.session, "sales_owner_id", params.owner_id, since, until
    )
    lead_flow = await _workflow(ctx, None, EntityType.LEAD)
    stages = (
        ("created", funnel.created, None),
        ("qualified", funnel.qualified, funnel.median_to_qualified),
        ("claimed", funnel.claimed, funnel.median_to_claimed),
        ("converted", funnel.converted, funnel.median_to_converted),
    )
    return {
        "since": since,
        "until": until,
        "stages": [
            {
                "key": key,
                "count": count,
                "share_of_created": rate(count, funnel.created),
                "median_seconds_from_previous": median,
            }
            for key, count, median in stages
        ],
        "claim_sla_hours": org.claim_sla_hours,
        "claimed_within_sla": funnel.claimed_within_sla,
        "claimed_within_sla_rate": rate(funnel.claimed_within_sla, funnel.claimed),
        "rejected_reasons": _labelled_reasons(lead_flow, rejected),
    }


def _weeks(first: date, last: date) -> list[date]:
    week = first - timedelta(days=first.weekday())
    weeks = []
    while week <= last:
        weeks.append(week)
        if week >= date(9999, 12, 20):
            break
        week += timedelta(days=7)
    return weeks


async def sources(ctx: Ctx, params: ReportParams) -> dict[str, Any]:
    """Leads created in the period (that the caller may read) per source and week
    (weeks start on Monday, in the organization's calendar): created, qualified and
    the qualification rate; the median time to triage (created → qualified or
    disqualified); why sales sent leads back; the nurture backlog today. `owner_id`
    is the marketer who owns them."""
    ctx.require_principal()
    org = await organization(ctx)
    now = datetime.now(UTC)
    since, until = period(params, now, last_days(now))
    await _owner(ctx, params.owner_id)
    _refuse_workflow(params)
    found = await queries.sources(ctx.session, params.owner_id, since, until, org.timezone)
    rejected = await queries.rejected_reasons(
        ctx.session, "marketing_owner_id", params.owner_id, since, until
    )
    lead_flow = await _workflow(ctx, None, EntityType.LEAD)
    zone = zone_named(org.timezone)
    weeks = _weeks(
        since.astimezone(zone).date(), (until - timedelta(microseconds=1)).astimezone(zone).date()
    )
    if len(weeks) > MAX_FILLED_WEEKS:
        weeks = sorted({week for _, week, _, _ in found.weeks})
    per_source: dict[str, dict[str, Any]] = {}
    for source, week, n, qualified in found.weeks:
        entry = per_source.setdefault(source, {"created": 0, "qualified": 0, "weeks": {}})
        entry["created"] += n
        entry["qualified"] += qualified
        entry["weeks"][week] = entry["weeks"].get(week, 0) + n
    rows = [
        {
            "source": source or None,
            "created": entry["created"],
            "qualified": entry["qualified"],
            "qualification_rate": rate(entry["qualified"], entry["created"]),
            "weeks": [entry["weeks"].get(week, 0) for week in weeks],
        }
        for source, entry in sorted(
            per_source.items(), key=lambda pair: (-pair[1]["created"], pair[0])
        )
    ]
    created = sum(row["created"] for row in rows)
    qualified = sum(row["qualified"] for row in rows)
    return {
        "since": since,
        "until": until,
        "weeks": [week.isoformat() for week in weeks],
        "sources": rows,
        "total": {
            "created": created,
            "qualified": qualified,
            "qualification_rate": rate(qualified, created),
        },
        "median_triage_seconds": found.median_triage_seconds,
        "triaged": found.triaged,
        "rejected_reasons": _labelled_reasons(lead_flow, rejected),
        "nurture_backlog": found.nurture_backlog,
    }


# ------------------------------------------------------------------ activities


def today_bounds(now: datetime, zone: str) -> tuple[datetime, datetime]:
    day = now.astimezone(zone_named(zone)).date()
    return local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)


async def activity(ctx: Ctx, params: ReportParams) -> dict[str, Any]:
    """Per owner: activities done in the period (system entries excluded), and planned
    ones overdue now or due later today (the caller's calendar, as the planner)."""
    principal = ctx.require_principal()
    now = datetime.now(UTC)
    since, until = period(params, now, last_days(now))
    await _owner(ctx, params.owner_id)
    _refuse_workflow(params)
    counts = await queries.activity_counts(
        ctx.session, params.owner_id, since, until, now, today_bounds(now, principal.timezone)
    )
    names = await _names(ctx, (c.owner_id for c in counts))
    owners = sorted(
        (
            {
                "owner_id": c.owner_id,
                "name": names.get(c.owner_id, "") if c.owner_id else "",
                "done": c.done,
                "overdue": c.overdue,
                "due_today": c.due_today,
            }
            for c in counts
        ),
        key=lambda row: (row["owner_id"] is None, row["name"], str(row["owner_id"])),
    )
    return {
        "since": since,
        "until": until,
        "owners": owners,
        "total": {key: sum(row[key] for row in owners) for key in ("done", "overdue", "due_today")},
    }


async def cadence_adherence(ctx: Ctx, params: ReportParams) -> dict[str, Any]:
    """Cadence steps that fell due in the period (and are due by now), per owner: done
    on time (within a day of their due time), done late, not done; on-time rate =
    on time / due. Cancelled steps (paused or stopped enrolments) are not counted."""
    ctx.require_principal()
    now = datetime.now(UTC)
    since, until = period(params, now, last_days(now))
    await _owner(ctx, params.owner_id)
    _refuse_workflow(params)
    rows = await queries.cadence_adherence(ctx.session, params.owner_id, since, min(until, now))
    names = await _names(ctx, (r.owner_id for r in rows))

    def line(due: int, on_time: int, late: int, not_done: int) -> dict[str, Any]:
        return {
            "due": due,
            "on_time": on_time,
            "late": late,
            "not_done": not_done,
            "on_time_rate": rate(on_time, due),
        }

    owners = sorted(
        (
            {
                "owner_id": r.owner_id,
                "name": names.get(r.owner_id, "") if r.owner_id else "",
                **line(r.due, r.on_time, r.late, r.not_done),
            }
            for r in rows
        ),
        key=lambda row: (row["owner_id"] is None, row["name"], str(row["owner_id"])),
    )
    return {
        "since": since,
        "until": until,
        "owners": owners,
        "total": line(
            *(sum(getattr(r, key) for r in rows) for key in ("due", "on_time", "late", "not_done"))
        ),
    }


RUNNERS = {
    "pipeline": pipeline,
    "forecast": forecast,
    "win-rate": win_rate,
    "stage-conversion": stage_conversion,
    "lead-funnel": lead_funnel,
    "activity": activity,
    "cadence-adherence": cadence_adherence,
    "sources": sources,
}


async def report(ctx: Ctx, name: str, params: ReportParams) -> dict[str, Any]:
    """One report by its name (404 for a name that is none)."""
    runner = RUNNERS.get(name)
    if runner is None:
        raise NotFound("No such report")
    return await runner(ctx, params)


# ------------------------------------------------------------------ Home's extras

NEAR_CLAIM_DUE = timedelta(hours=4)
LISTED = 5


@dataclass(frozen=True)
class SalesDesk:
    waiting_count: int
    waiting: list[Any]
    near_due_count: int
    near_due: list[Any]


async def sales_desk(ctx: Ctx) -> SalesDesk:
    """A salesperson's lists on Home: their claimed leads nobody has contacted since
    the claim, and the pool leads whose claim falls due within 4 hours (or already
    did): how many of each, and the first `LISTED` (the oldest claims, the soonest
    dues)."""
    principal = ctx.require_principal()
    waiting_count, waiting = await queries.waiting_for_first_contact(
        ctx.session, principal.user_id, LISTED
    )
    count, near = await queries.near_claim_due(
        ctx.session, datetime.now(UTC) + NEAR_CLAIM_DUE, LISTED
    )
    return SalesDesk(waiting_count, list(waiting), count, list(near))


@dataclass(frozen=True)
class AdminDesk:
    members: list[Any]
    jobs: dict[str, int]
    volumes: dict[str, int]


JOBS_COUNTED = 1000


async def admin_desk(ctx: Ctx) -> AdminDesk:
    """Members and their last sign-in, the organization's jobs, its data volumes:
    admins only (403)."""
    require_role(ctx, Role.ADMIN)
    return AdminDesk(
        list(await queries.members(ctx.session)),
        await queries.job_counts(ctx.session, JOBS_COUNTED),
        await queries.volumes(ctx.session),
    )
