"""Read models of the reports: one aggregate statement each, over the current tenant.

Every statement runs on the request's session, so row-level security scopes it to the
tenant — and, for leads, to what the caller's role may read (`lead_visibility`).
Aggregates are computed by PostgreSQL in `numeric` (money is never a float here); the
service turns rows into the documented shapes. Filters are added only when given, so
each statement keeps to the partial indexes it was written for:

- open deals: their rollup `open_deal_totals` (`reports.models`, kept by triggers),
  or `ix_deals_open_pipeline` (workflow, step; covering what the forecast reads by
  day); closed deals: `ix_deals_closed` (closed_at, covering);
- the ledger: its rollups `workflow_move_days` and `step_duration_days` per UTC day
  (`reports.models`, kept by triggers) plus the period's partial first and last days
  from `ix_workflow_history_flow`; with an owner filter the ledger itself;
- leads: `ix_leads_created` (created_at), `ix_leads_rejected` (rejected_at),
  `ix_leads_view` (the nurture backlog), each covering what is read here and what
  `lead_visibility` tests, so they are index-only scans;
- activities: `ix_activities_done` (completed_at), `ix_activities_planned_due`
  (due_at), `ix_activities_cadence_due` (cadence steps by due_at, covering).

Weighted amounts are summed per (step, currency, probability override) group first
and only then multiplied, so the per-deal probability costs nothing per row and the
result is exact: Σ amount * p / 100 over a group is p / 100 * Σ amount.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from baton.workflow.queries import StepFlow


def _owner(column: str, owner_id: uuid.UUID | None) -> str:
    return f" AND {column} = :owner_id" if owner_id is not None else ""


# ------------------------------------------------------------------ deals


@dataclass(frozen=True)
class StageMoney:
    step_id: uuid.UUID
    currency: str
    count: int
    amount: Decimal
    weighted: Decimal


# Open deals are read from their rollup (`open_deal_totals`, one row per step, owner,
# currency, probability override and close month), not from the deals.
_PIPELINE = """
WITH groups AS (
    SELECT step_id, currency, probability, sum(deal_count) AS n, sum(amount_total) AS amount
      FROM open_deal_totals
     WHERE workflow_id = :workflow_id AND deal_count > 0{owner}
     GROUP BY step_id, currency, probability
)
SELECT g.step_id, g.currency, sum(g.n) AS n, sum(g.amount) AS amount,
       sum(g.amount * coalesce(g.probability::numeric, s.probability::numeric, 0) / 100)
           AS weighted
  FROM groups g JOIN workflow_steps s ON s.id = g.step_id
 GROUP BY g.step_id, g.currency
"""


async def open_pipeline(
    session: AsyncSession, workflow_id: uuid.UUID, owner_id: uuid.UUID | None
) -> list[StageMoney]:
    """Open, live deals of a workflow per step and currency: count, Σ amount, Σ weighted."""
    rows = await session.execute(
        text(_PIPELINE.format(owner=_owner("owner_id", owner_id))),
        {"workflow_id": workflow_id, "owner_id": owner_id},
    )
    return [
        StageMoney(row.step_id, row.currency, int(row.n), row.amount, row.weighted) for row in rows
    ]


Undated = tuple[str, int, Decimal]
WonMonth = tuple[date, str, int, Decimal]


@dataclass(frozen=True)
class ForecastMonth:
    month: date
    currency: str
    count: int
    pipeline: Decimal
    best_case: Decimal
    commit: Decimal
    weighted: Decimal


# By month from the rollup when the period's days are whole months (the default and
# every period Home offers); by day from the deals otherwise (`ix_deals_open_pipeline`).
_FORECAST_GROUPS = {
    "months": """
    SELECT close_month AS month, step_id, currency, probability,
           sum(deal_count) AS n, sum(amount_total) AS amount
      FROM open_deal_totals
     WHERE workflow_id = :workflow_id AND deal_count > 0
       AND close_month >= :since AND close_month < :until{owner}
     GROUP BY 1, step_id, currency, probability""",
    "days": """
    SELECT date_trunc('month', expected_close_date)::date AS month, step_id, currency,
           probability, count(*) AS n, coalesce(sum(amount), 0) AS amount
      FROM deals
     WHERE workflow_id = :workflow_id AND outcome IS NULL AND deleted_at IS NULL
       AND expected_close_date >= :since AND expected_close_date < :until{owner}
     GROUP BY 1, step_id, currency, probability""",
}

_FORECAST = """
WITH groups AS ({groups}
), weighed AS (
    SELECT g.month, g.currency, g.n, g.amount,
           coalesce(g.probability::numeric, s.probability::numeric, 0) AS p
      FROM groups g JOIN workflow_steps s ON s.id = g.step_id
)
SELECT month, currency, sum(n) AS n, sum(amount) AS pipeline,
       coalesce(sum(amount) FILTER (WHERE p >= :best_case), 0) AS best_case,
       coalesce(sum(amount) FILTER (WHERE p >= :commit), 0) AS commit,
       sum(amount * p / 100) AS weighted
  FROM weighed
 GROUP BY month, currency
"""

_UNDATED = """
SELECT currency, sum(deal_count) AS n, sum(amount_total) AS amount
  FROM open_deal_totals
 WHERE workflow_id = :workflow_id AND deal_count > 0 AND close_month IS NULL{owner}
 GROUP BY currency
"""

_WON_BY_MONTH = """
SELECT date_trunc('month', closed_at AT TIME ZONE :zone)::date AS month, currency,
       count(*) AS n, coalesce(sum(amount), 0) AS amount
  FROM deals
 WHERE outcome = 'won' AND deleted_at IS NULL AND workflow_id = :workflow_id
   AND closed_at >= :since AND closed_at < :until{owner}
 GROUP BY 1, currency
"""


async def forecast(
    session: AsyncSession,
    workflow_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    days: tuple[date, date],
    moments: tuple[datetime, datetime],
    zone: str,
    thresholds: tuple[int, int],
) -> tuple[
    list[ForecastMonth], list[tuple[str, int, Decimal]], list[tuple[date, str, int, Decimal]]
]:
    """Open deals by expected-close month (`days`, end exclusive) and probability band;
    open deals without a close date per currency; deals won per month (`moments`)."""
    owner = _owner("owner_id", owner_id)
    best_case, commit = thresholds
    params: dict[str, Any] = {"workflow_id": workflow_id, "owner_id": owner_id}
    whole_months = days[0].day == 1 and days[1].day == 1
    groups = _FORECAST_GROUPS["months" if whole_months else "days"].format(owner=owner)
    months = await session.execute(
        text(_FORECAST.format(groups=groups)),
        {**params, "since": days[0], "until": days[1], "best_case": best_case, "commit": commit},
    )
    undated = await session.execute(text(_UNDATED.format(owner=owner)), params)
    won = await session.execute(
        text(_WON_BY_MONTH.format(owner=owner)),
        {**params, "since": moments[0], "until": moments[1], "zone": zone},
    )
    return (
        [
            ForecastMonth(
                r.month, r.currency, int(r.n), r.pipeline, r.best_case, r.commit, r.weighted
            )
            for r in months
        ],
        [(r.currency, int(r.n), r.amount) for r in undated],
        [(r.month, r.currency, int(r.n), r.amount) for r in won],
    )


@dataclass(frozen=True)
class ClosedGroup:
    owner_id: uuid.UUID
    outcome: str
    reason: str
    currency: str
    count: int
    amount: Decimal
    cycle_seconds: float


_CLOSED = """
SELECT owner_id, outcome, coalesce(win_reason, loss_reason) AS reason, currency,
       count(*) AS n, coalesce(sum(amount), 0) AS amount,
       sum(extract(epoch FROM closed_at - created_at))::float8 AS cycle_seconds
  FROM deals
 WHERE outcome IS NOT NULL AND deleted_at IS NULL
   AND closed_at >= :since AND closed_at < :until AND workflow_id = :workflow_id{owner}
 GROUP BY owner_id, outcome, 3, currency
"""


async def closed_deals(
    session: AsyncSession,
    workflow_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
) -> list[ClosedGroup]:
    """Deals closed in the period per owner, outcome, reason and currency."""
    rows = await session.execute(
        text(_CLOSED.format(owner=_owner("owner_id", owner_id))),
        {"workflow_id": workflow_id, "owner_id": owner_id, "since": since, "until": until},
    )
    return [
        ClosedGroup(
            r.owner_id, r.outcome, r.reason, r.currency, int(r.n), r.amount, r.cycle_seconds
        )
        for r in rows
    ]


# ------------------------------------------------------------------ the ledger

# Which column names a governed record's owner, per entity type, for the owner filter.
OWNER_COLUMNS = {"deal": ("deals", "owner_id"), "lead": ("leads", "sales_owner_id")}

# The ledger read row by row (along `ix_workflow_history_flow`, which covers it): per
# (from, to) the move count; per from step the backward moves and the time spent in
# it, median and 90th percentile as `percentile_disc` (the lower one: a duration the
# ledger holds) bucketed at display precision (`baton_duration_bucket`). This is the
# owner filter's path and the reference the rollups are tested against.
_LEDGER_FLOW = """
WITH moves AS MATERIALIZED (
    SELECT h.from_step_id, h.to_step_id, h.seconds_in_previous_step AS seconds, h.backwards
      FROM workflow_history h{join}
     WHERE h.workflow_id = :workflow_id AND h.at >= :since AND h.at < :until{owner}
), per_step AS (
    SELECT from_step_id, count(*) FILTER (WHERE backwards) AS backwards,
           percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY seconds) AS times
      FROM moves WHERE from_step_id IS NOT NULL GROUP BY from_step_id
)
SELECT from_step_id, to_step_id, false AS per_step, count(*) AS n,
       NULL::float8[] AS times, 0::bigint AS backwards
  FROM moves GROUP BY from_step_id, to_step_id
UNION ALL
SELECT from_step_id, NULL, true, 0,
       ARRAY[baton_duration_bucket(times[1]), baton_duration_bucket(times[2])]::float8[],
       backwards
  FROM per_step
"""


async def step_flow_from_ledger(
    session: AsyncSession,
    workflow_id: uuid.UUID,
    entity_type: str,
    owner_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
) -> StepFlow:
    """The stage-conversion figures from the ledger's rows, optionally for the records
    one member owns today (joined to the record's table: RLS on it applies too)."""
    join = owner = ""
    if owner_id is not None:
        table, column = OWNER_COLUMNS[entity_type]
        join = f" JOIN {table} r ON r.id = h.record_id AND r.tenant_id = h.tenant_id"
        owner = f" AND r.{column} = :owner_id"
    params = {"workflow_id": workflow_id, "owner_id": owner_id, "since": since, "until": until}
    edges: dict[tuple[uuid.UUID | None, uuid.UUID], int] = {}
    times: dict[uuid.UUID, tuple[float | None, float | None, int]] = {}
    for r in await session.execute(text(_LEDGER_FLOW.format(join=join, owner=owner)), params):
        if not r.per_step:
            edges[(r.from_step_id, r.to_step_id)] = int(r.n)
        else:
            median, p90 = r.times if r.times else (None, None)
            times[r.from_step_id] = (median, p90, int(r.backwards))
    return StepFlow(edges=edges, time_in_step=times)


# The rollups' path: the period's whole UTC days from `workflow_move_days` and the
# coarse rows of `step_duration_days`, its partial first and last days from the
# ledger (the same buckets computed on the fly). `:head_end`/`:tail_start` are the
# first and last midnights inside the period (both `:until` when there is no whole day).
_EDGE_MOVES = """
    SELECT from_step_id, to_step_id, baton_duration_bucket(seconds_in_previous_step) AS bucket,
           backwards
      FROM workflow_history
     WHERE workflow_id = :workflow_id AND at >= :since AND at < :head_end
    UNION ALL
    SELECT from_step_id, to_step_id, baton_duration_bucket(seconds_in_previous_step), backwards
      FROM workflow_history
     WHERE workflow_id = :workflow_id AND at >= :tail_start AND at < :until"""

_ROLLED_FLOW = """
WITH edge AS MATERIALIZED ({edge}
)
SELECT from_step_id AS step_id, to_step_id, NULL::bigint AS bucket, sum(n) AS n,
       sum(back) AS backwards
  FROM (SELECT from_step_id, to_step_id, moves AS n, backwards AS back
          FROM workflow_move_days
         WHERE workflow_id = :workflow_id AND day >= :first_day AND day < :last_day
        UNION ALL
        SELECT from_step_id, to_step_id, 1, backwards::integer FROM edge) AS m
 GROUP BY from_step_id, to_step_id
UNION ALL
SELECT step_id, NULL, bucket, sum(n), 0
  FROM (SELECT step_id, bucket, moves AS n
          FROM step_duration_days
         WHERE workflow_id = :workflow_id AND span = 1 AND day >= :first_day
           AND day < :last_day
        UNION ALL
        SELECT from_step_id, baton_duration_coarse(bucket), 1
          FROM edge WHERE from_step_id IS NOT NULL AND bucket IS NOT NULL) AS d
 GROUP BY step_id, bucket
"""

# The display buckets inside the coarse buckets that hold a percentile (`:steps`,
# `:lows`, `:highs`: one coarse bucket per element).
_ROLLED_BUCKETS = """
WITH wanted AS (
    SELECT * FROM unnest(CAST(:steps AS uuid[]), CAST(:lows AS bigint[]),
                         CAST(:highs AS bigint[])) AS w(step_id, low, high)
), edge AS MATERIALIZED ({edge}
)
SELECT step_id, bucket, sum(n) AS n
  FROM (SELECT w.step_id, s.bucket, s.moves AS n
          FROM wanted w CROSS JOIN LATERAL (
              SELECT bucket, moves FROM step_duration_days
               WHERE workflow_id = :workflow_id AND step_id = w.step_id AND span = 0
                 AND bucket >= w.low AND bucket < w.high
                 AND day >= :first_day AND day < :last_day
              OFFSET 0) AS s  -- kept a subquery: one index range per wanted bucket
        UNION ALL
        SELECT e.from_step_id, e.bucket, 1
          FROM edge e JOIN wanted w ON w.step_id = e.from_step_id
         WHERE e.bucket >= w.low AND e.bucket < w.high) AS d
 GROUP BY step_id, bucket
"""

PERCENTILES = (0.5, 0.9)


def coarse_end(low: int) -> int:
    """Where the coarse bucket starting at `low` ends (`baton_duration_coarse`)."""
    if low < 60:
        return 60
    if low < 3600:
        return 3600
    if low < 86400:
        return low + 3600
    return low + 86400


def _rank(fraction: float, count: int) -> int:
    # percentile_disc's row: the first whose position reaches fraction * count.
    return max(1, math.ceil(fraction * count))


def _crossing(histogram: list[tuple[int, int]], rank: int, before: int) -> tuple[int, int]:
    """The bucket of `histogram` (ascending) where the running count, starting at
    `before`, reaches `rank`; and the running count before that bucket."""
    running = before
    for bucket, n in histogram:
        if running + n >= rank:
            return bucket, running
        running += n
    raise AssertionError("a rank beyond the histogram's count")


def utc_midnight_after(moment: datetime) -> datetime:
    day = datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)
    return day if day == moment else day + timedelta(days=1)


def utc_midnight_before(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


async def step_flow_from_rollups(
    session: AsyncSession, workflow_id: uuid.UUID, since: datetime, until: datetime
) -> StepFlow:
    """The stage-conversion figures from the ledger's rollups: equal to
    `step_flow_from_ledger` without an owner (the tests hold them to it), reading per
    whole UTC day a few rows instead of every move (2 statements)."""
    head_end, tail_start = utc_midnight_after(since), utc_midnight_before(until)
    if head_end >= tail_start:
        # No whole day: the ledger alone.
        head_end = tail_start = until
    params = {
        "workflow_id": workflow_id,
        "since": since,
        "until": until,
        "head_end": head_end,
        "tail_start": tail_start,
        "first_day": head_end.date(),
        "last_day": tail_start.date(),
    }
    edges: dict[tuple[uuid.UUID | None, uuid.UUID], int] = {}
    backwards: dict[uuid.UUID, int] = defaultdict(int)
    coarse: dict[uuid.UUID, list[tuple[int, int]]] = defaultdict(list)
    for r in await session.execute(text(_ROLLED_FLOW.format(edge=_EDGE_MOVES)), params):
        if not r.n:
            continue  # rows a delete brought to zero are no moves
        if r.to_step_id is not None:
            edges[(r.step_id, r.to_step_id)] = int(r.n)
            if r.step_id is not None:
                backwards[r.step_id] += int(r.backwards)
        else:
            coarse[r.step_id].append((int(r.bucket), int(r.n)))
    # Per step and percentile: its rank, the coarse bucket holding it, and the moves
    # counted below that bucket.
    found: dict[tuple[uuid.UUID, float], tuple[int, int, int]] = {}
    for step_id, histogram in coarse.items():
        histogram.sort()
        total = sum(n for _, n in histogram)
        for fraction in PERCENTILES:
            rank = _rank(fraction, total)
            found[(step_id, fraction)] = (rank, *_crossing(histogram, rank, 0))
    fine: dict[tuple[uuid.UUID, int], list[tuple[int, int]]] = defaultdict(list)
    wanted = sorted({(step_id, low) for (step_id, _), (_, low, _) in found.items()})
    if wanted:
        rows = await session.execute(
            text(_ROLLED_BUCKETS.format(edge=_EDGE_MOVES)),
            {
                **params,
                "steps": [step_id for step_id, _ in wanted],
                "lows": [low for _, low in wanted],
                "highs": [coarse_end(low) for _, low in wanted],
            },
        )
        for r in rows:
            fine[(r.step_id, coarse_of(int(r.bucket)))].append((int(r.bucket), int(r.n)))
    times: dict[uuid.UUID, tuple[float | None, float | None, int]] = {}
    for step_id in {*backwards, *coarse}:
        values: list[float | None] = []
        for fraction in PERCENTILES:
            if (step_id, fraction) not in found:
                values.append(None)
                continue
            rank, low, before = found[(step_id, fraction)]
            histogram = sorted(fine[(step_id, low)])
            values.append(float(_crossing(histogram, rank, before)[0]))
        times[step_id] = (values[0], values[1], backwards.get(step_id, 0))
    return StepFlow(edges=edges, time_in_step=times)


def coarse_of(bucket: int) -> int:
    """`baton_duration_coarse`: the coarse bucket a display bucket belongs to."""
    if bucket < 60:
        return 0
    if bucket < 3600:
        return 60
    if bucket < 86400:
        return bucket // 3600 * 3600
    return bucket // 86400 * 86400


async def step_flow(
    session: AsyncSession,
    workflow_id: uuid.UUID,
    entity_type: str,
    owner_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
) -> StepFlow:
    """Moves between steps in the period: from the rollups, or with an owner filter
    (the records one member owns *today*, which no per-day row can know) from the
    ledger."""
    if owner_id is not None:
        return await step_flow_from_ledger(
            session, workflow_id, entity_type, owner_id, since, until
        )
    return await step_flow_from_rollups(session, workflow_id, since, until)


# ------------------------------------------------------------------ leads


@dataclass(frozen=True)
class Funnel:
    created: int
    qualified: int
    claimed: int
    converted: int
    claimed_within_sla: int
    median_to_qualified: float | None
    median_to_claimed: float | None
    median_to_converted: float | None


_FUNNEL = """
SELECT count(*) AS created, count(qualified_at) AS qualified, count(claimed_at) AS claimed,
       count(converted_at) AS converted,
       count(*) FILTER (WHERE claimed_at <= handed_over_at + make_interval(hours => :sla))
           AS within_sla,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM qualified_at - created_at)) AS to_qualified,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM claimed_at - handed_over_at)) AS to_claimed,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM converted_at - claimed_at)) AS to_converted
  FROM leads
 WHERE deleted_at IS NULL AND created_at >= :since AND created_at < :until{owner}
"""


async def lead_funnel(
    session: AsyncSession,
    owner_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
    sla_hours: int,
) -> Funnel:
    """Leads created in the period (that the caller may read): how far each got, and
    the median seconds of each hand-over (percentile_cont ignores the NULLs of leads
    that did not get there)."""
    row = (
        await session.execute(
            text(_FUNNEL.format(owner=_owner("sales_owner_id", owner_id))),
            {"owner_id": owner_id, "since": since, "until": until, "sla": sla_hours},
        )
    ).one()
    return Funnel(
        int(row.created),
        int(row.qualified),
        int(row.claimed),
        int(row.converted),
        int(row.within_sla),
        _float(row.to_qualified),
        _float(row.to_claimed),
        _float(row.to_converted),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


_REJECTED = """
SELECT reject_reason AS reason, count(*) AS n
  FROM leads
 WHERE deleted_at IS NULL AND rejected_at >= :since AND rejected_at < :until
   AND reject_reason IS NOT NULL{owner}
 GROUP BY reject_reason
 ORDER BY n DESC, reject_reason
"""


async def rejected_reasons(
    session: AsyncSession, column: str, owner_id: uuid.UUID | None, since: datetime, until: datetime
) -> list[tuple[str, int]]:
    """Why sales sent leads back to marketing in the period, most frequent first."""
    rows = await session.execute(
        text(_REJECTED.format(owner=_owner(column, owner_id))),
        {"owner_id": owner_id, "since": since, "until": until},
    )
    return [(r.reason, int(r.n)) for r in rows]


# One pass: per (source, week) the leads created and qualified; the empty grouping set
# is the whole period, where the median time to triage is taken.
_SOURCES = """
WITH period AS (
    SELECT coalesce(source, '') AS source,
           date_trunc('week', created_at AT TIME ZONE :zone)::date AS week, qualified_at,
           extract(epoch FROM coalesce(qualified_at, disqualified_at) - created_at) AS triage
      FROM leads
     WHERE deleted_at IS NULL AND created_at >= :since AND created_at < :until{owner}
)
SELECT source, week, GROUPING(source) = 1 AS whole, count(*) AS n,
       count(qualified_at) AS qualified, count(triage) AS triaged,
       CASE WHEN GROUPING(source) = 1
            THEN percentile_cont(0.5) WITHIN GROUP (ORDER BY triage) END AS median
  FROM period
 GROUP BY GROUPING SETS ((source, week), ())
"""

_NURTURE = """
SELECT count(*) FROM leads WHERE view = 'nurture' AND deleted_at IS NULL{owner}
"""


@dataclass(frozen=True)
class Sources:
    # (source, Monday of the week in the zone, created, qualified)
    weeks: list[tuple[str, date, int, int]]
    median_triage_seconds: float | None
    triaged: int
    nurture_backlog: int


async def sources(
    session: AsyncSession,
    owner_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
    zone: str,
) -> Sources:
    owner = _owner("marketing_owner_id", owner_id)
    params = {"owner_id": owner_id, "since": since, "until": until, "zone": zone}
    rows = (await session.execute(text(_SOURCES.format(owner=owner)), params)).all()
    whole = next(r for r in rows if r.whole)
    backlog = await session.scalar(text(_NURTURE.format(owner=owner)), params)
    return Sources(
        [(r.source, r.week, int(r.n), int(r.qualified)) for r in rows if not r.whole],
        _float(whole.median),
        int(whole.triaged),
        int(backlog or 0),
    )


# ------------------------------------------------------------------ activities


@dataclass(frozen=True)
class ActivityCounts:
    owner_id: uuid.UUID | None
    done: int = 0
    overdue: int = 0
    due_today: int = 0


# Done in the period, and planned work now overdue or due today, per owner; system
# entries (stage changes the engine logs) are nobody's work.
_DONE = """
SELECT owner_id, count(*) AS n
  FROM activities
 WHERE status = 'done' AND deleted_at IS NULL AND completed_at >= :since
   AND completed_at < :until AND type <> 'system'{owner}
 GROUP BY owner_id
"""

_PLANNED = """
SELECT owner_id, count(*) FILTER (WHERE due_at < :now) AS overdue,
       count(*) FILTER (WHERE due_at >= :day_start) AS due_today
  FROM activities
 WHERE status = 'planned' AND deleted_at IS NULL AND due_at < :day_end{owner}
 GROUP BY owner_id
"""


async def activity_counts_from_rows(
    session: AsyncSession,
    owner_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
    now: datetime,
    today: tuple[datetime, datetime],
) -> list[ActivityCounts]:
    """Done in the period and planned now overdue or due today, per owner, from the
    activities row by row: the reference `activity_counts` is held to in the tests."""
    owner = _owner("owner_id", owner_id)
    params = {
        "owner_id": owner_id,
        "since": since,
        "until": until,
        "now": now,
        "day_start": today[0],
        "day_end": today[1],
    }
    found: dict[uuid.UUID | None, dict[str, int]] = {}
    for row in await session.execute(text(_DONE.format(owner=owner)), params):
        found.setdefault(row.owner_id, {})["done"] = int(row.n)
    for row in await session.execute(text(_PLANNED.format(owner=owner)), params):
        counts = found.setdefault(row.owner_id, {})
        counts["overdue"] = int(row.overdue)
        counts["due_today"] = int(row.due_today)
    return [ActivityCounts(owner_id=key, **counts) for key, counts in found.items()]


# The rollup's path: done on the period's whole UTC days and planned due before today
# (UTC) from `activity_days`; done on its partial first and last days, and planned due
# from UTC midnight on (today's overdue part and the caller's today) from the rows.
_ACTIVITY_ROLLED = """
SELECT owner_id, sum(done) AS done, sum(overdue) AS overdue, sum(due_today) AS due_today
  FROM (SELECT owner_id, done, 0 AS overdue, 0 AS due_today
          FROM activity_days
         WHERE day >= :first_day AND day < :last_day AND done <> 0{owner}
        UNION ALL
        SELECT owner_id, 1, 0, 0
          FROM activities
         WHERE status = 'done' AND deleted_at IS NULL AND type <> 'system'
           AND completed_at >= :since AND completed_at < :head_end{owner}
        UNION ALL
        SELECT owner_id, 1, 0, 0
          FROM activities
         WHERE status = 'done' AND deleted_at IS NULL AND type <> 'system'
           AND completed_at >= :tail_start AND completed_at < :until{owner}
        UNION ALL
        SELECT owner_id, 0, planned, 0
          FROM activity_days
         WHERE day < :utc_today AND planned <> 0{owner}
        UNION ALL
        SELECT owner_id, 0,
               (due_at >= :utc_midnight AND due_at < :now)::integer,
               (due_at >= :day_start)::integer
          FROM activities
         WHERE status = 'planned' AND deleted_at IS NULL
           AND due_at >= least(CAST(:utc_midnight AS timestamptz), :day_start)
           AND due_at < :day_end{owner}) AS counted
 GROUP BY owner_id
HAVING sum(done) <> 0 OR sum(overdue) <> 0 OR sum(due_today) <> 0
"""


async def activity_counts(
    session: AsyncSession,
    owner_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
    now: datetime,
    today: tuple[datetime, datetime],
) -> list[ActivityCounts]:
    """`activity_counts_from_rows` read from the `activity_days` rollup: a few rows
    per owner and day instead of every activity of the period (one statement)."""
    head_end, tail_start = utc_midnight_after(since), utc_midnight_before(until)
    if head_end >= tail_start:
        head_end = tail_start = until
    utc_midnight = utc_midnight_before(now)
    params = {
        "owner_id": owner_id,
        "since": since,
        "until": until,
        "head_end": head_end,
        "tail_start": tail_start,
        "first_day": head_end.date(),
        "last_day": tail_start.date(),
        "utc_today": utc_midnight.date(),
        "utc_midnight": utc_midnight,
        "now": now,
        "day_start": today[0],
        "day_end": today[1],
    }
    rows = await session.execute(
        text(_ACTIVITY_ROLLED.format(owner=_owner("owner_id", owner_id))), params
    )
    return [
        ActivityCounts(
            owner_id=r.owner_id,
            done=int(r.done),
            overdue=int(r.overdue),
            due_today=int(r.due_today),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Adherence:
    owner_id: uuid.UUID | None
    due: int
    on_time: int
    late: int
    not_done: int


# Cadence steps due in the period and already due: done within a day of their due
# time is on time, done later is late, still planned is not done. Cancelled steps
# (their enrolment paused or stopped) were never owed.
_ADHERENCE = """
SELECT owner_id, count(*) AS due,
       count(*) FILTER (WHERE status = 'done' AND completed_at < due_at + interval '1 day')
           AS on_time,
       count(*) FILTER (WHERE status = 'done' AND completed_at >= due_at + interval '1 day')
           AS late,
       count(*) FILTER (WHERE status = 'planned') AS not_done
  FROM activities
 WHERE enrollment_id IS NOT NULL AND deleted_at IS NULL AND status <> 'cancelled'
   AND due_at >= :since AND due_at < :until{owner}
 GROUP BY owner_id
"""


async def cadence_adherence(
    session: AsyncSession, owner_id: uuid.UUID | None, since: datetime, until: datetime
) -> list[Adherence]:
    rows = await session.execute(
        text(_ADHERENCE.format(owner=_owner("owner_id", owner_id))),
        {"owner_id": owner_id, "since": since, "until": until},
    )
    return [
        Adherence(r.owner_id, int(r.due), int(r.on_time), int(r.late), int(r.not_done))
        for r in rows
    ]


# ------------------------------------------------------------------ Home's lists

# A member's claimed leads with no done activity (on the lead, or on the deal it became)
# since the claim. Home shows how many and the oldest few, in two statements over
# `ix_leads_sales_owner` (which holds claimed_at and id in its key). The count is an
# anti-join. The list tests each lead with a probe that stops at the first contact
# (`ix_activities_lead_id`, `ix_activities_deal_id`) as it walks the index in claim
# order, so it stops after `limit` leads; written as NOT EXISTS it became the same
# anti-join, which sorts every claimed lead first (row estimates under RLS are low).
_WAITING_COUNT = """
SELECT count(*)
  FROM leads l
 WHERE l.view = 'mine' AND l.deleted_at IS NULL AND l.sales_owner_id = :owner_id
   AND NOT EXISTS (
       SELECT 1 FROM activities a
        WHERE a.lead_id = l.id AND a.status = 'done' AND a.type <> 'system'
          AND a.deleted_at IS NULL AND a.completed_at >= l.claimed_at)
   AND NOT EXISTS (
       SELECT 1 FROM activities a
        WHERE a.deal_id = l.deal_id AND a.status = 'done' AND a.type <> 'system'
          AND a.deleted_at IS NULL AND a.completed_at >= l.claimed_at)
"""

_WAITING_FIRST_CONTACT = """
SELECT l.id, l.company_name, l.claimed_at
  FROM leads l
 WHERE l.view = 'mine' AND l.deleted_at IS NULL AND l.sales_owner_id = :owner_id
   AND (SELECT count(*) FROM (
            SELECT 1 FROM activities a
             WHERE a.lead_id = l.id AND a.status = 'done' AND a.type <> 'system'
               AND a.deleted_at IS NULL AND a.completed_at >= l.claimed_at
             LIMIT 1) AS contact) = 0
   AND (SELECT count(*) FROM (
            SELECT 1 FROM activities a
             WHERE a.deal_id = l.deal_id AND a.status = 'done' AND a.type <> 'system'
               AND a.deleted_at IS NULL AND a.completed_at >= l.claimed_at
             LIMIT 1) AS contact) = 0
 ORDER BY l.claimed_at, l.id
 LIMIT :limit
"""


async def waiting_for_first_contact(
    session: AsyncSession, owner_id: uuid.UUID, limit: int
) -> tuple[int, Sequence[Any]]:
    """How many of a member's claimed leads nobody has been in touch with since the
    claim, and the `limit` claimed longest ago."""
    params = {"owner_id": owner_id, "limit": limit}
    count = await session.scalar(text(_WAITING_COUNT), params)
    rows = (await session.execute(text(_WAITING_FIRST_CONTACT), params)).all()
    return int(count or 0), rows


_NEAR_CLAIM_DUE = """
SELECT l.id, l.company_name, p.claim_due_at
  FROM lead_pool p JOIN leads l ON l.tenant_id = p.tenant_id AND l.id = p.lead_id
 WHERE p.claim_due_at < :horizon AND l.deleted_at IS NULL
 ORDER BY p.claim_due_at, l.id
 LIMIT :limit
"""

_NEAR_CLAIM_DUE_COUNT = """
SELECT count(*) FROM lead_pool p WHERE p.claim_due_at < :horizon
"""


async def near_claim_due(
    session: AsyncSession, horizon: datetime, limit: int
) -> tuple[int, Sequence[Any]]:
    """Pool leads whose claim falls due before `horizon` (or already did), soonest first."""
    params = {"horizon": horizon, "limit": limit}
    count = await session.scalar(text(_NEAR_CLAIM_DUE_COUNT), params)
    rows = (await session.execute(text(_NEAR_CLAIM_DUE), params)).all()
    return int(count or 0), rows


_MEMBERS = """
SELECT u.id, u.full_name, u.email, m.role,
       (SELECT max(t.created_at) FROM access_tokens t
         WHERE t.tenant_id = m.tenant_id AND t.membership_id = m.id) AS last_sign_in
  FROM memberships m JOIN users u ON u.id = m.user_id
 ORDER BY u.full_name, u.id
"""


async def members(session: AsyncSession) -> Sequence[Any]:
    """Members with their role and when they last signed in (their newest token)."""
    return (await session.execute(text(_MEMBERS))).all()


_VOLUMES = """
SELECT (SELECT count(*) FROM accounts WHERE deleted_at IS NULL) AS accounts,
       (SELECT count(*) FROM contacts WHERE deleted_at IS NULL) AS contacts,
       (SELECT count(*) FROM deals WHERE deleted_at IS NULL) AS deals,
       (SELECT count(*) FROM leads WHERE deleted_at IS NULL) AS leads,
       (SELECT count(*) FROM targets WHERE deleted_at IS NULL) AS targets,
       (SELECT count(*) FROM activities WHERE deleted_at IS NULL) AS activities,
       (SELECT count(*) FROM workflow_history) AS history
"""


async def volumes(session: AsyncSession) -> dict[str, int]:
    row = (await session.execute(text(_VOLUMES))).one()
    return {key: int(value) for key, value in row._mapping.items()}


_JOBS = """
SELECT status, count(*) AS n FROM baton_tenant_jobs(NULL, NULL, :limit) GROUP BY status
"""


async def job_counts(session: AsyncSession, limit: int) -> dict[str, int]:
    """The tenant's queued ('todo'), running ('doing') and failed jobs (up to `limit`)."""
    rows = await session.execute(text(_JOBS), {"limit": limit})
    return {r.status: int(r.n) for r in rows}
