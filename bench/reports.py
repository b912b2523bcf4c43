"""Reports and Home dashboards (issue 17): ≤ 50 ms server time each at 100 000 deals,
1 000 000 history rows, 500 000 activities and 100 000 leads; 10 000 → 100 000 deals
grows each ≤ 2x.

    .venv/bin/python -m bench.reports [--rounds 3] [-n 30] [--json out.json]

Two organizations in one fresh embedded install: the demo organization (Acme
Logistics) gets the big data set, a registered "Growth Org" a tenth of it. Rows are
made by `generate_series` in a few INSERT … SELECT statements, as the database owner
with triggers off (`session_replication_role = replica`: no audit rows, no board
totals — the reports read neither; their rollups are rebuilt afterwards), spread
over the demo's members, the sales pipeline's steps (won and lost with reasons), the
last 365 days of closes and ledger moves, expected closes ±180 days from today, every
lead view, and planned, done and cancelled activities, 30 % of them cadence steps.
Then VACUUM ANALYZE.

Each report is called as the API calls it (`bench.sales.request_ctx`: session,
authentication, the service function, commit), in this process, with its default
period (the last 90 days; the forecast: this month and the five after); the Home
dashboards are the manager's and the salesperson's sets of reports (`reports.web`).
p50 per round, the median of the rounds reported, big and growth organizations
interleaved in each round.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from typing import Any

import asyncpg

from baton.db import ddl
from bench.claims_data import login
from bench.harness import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    CpuWatch,
    QuietWaiter,
    Result,
    Stats,
    common_args,
    deployment,
    finish,
    median,
    new_loop_runner,
    print_machine,
    serving,
)
from bench.sales import request_ctx
from bench.sales_data import (
    BENCH_PASSWORD,
    BIG_TENANT,
    GROWTH_EMAIL,
    GROWTH_TENANT,
    owner_kwargs,
    register,
    tenant_shape,
)
from bench.work_item_move import InProcessApp

TAG = "reports"
BUDGET_MS = 50.0
GROWTH_BUDGET = 2.0
SCOPE = {"type": "http", "method": "GET", "path": "/api/v1/reports/pipeline"}

# Per deal: history rows, activities; leads per deal.
HISTORY_PER_DEAL = 10
ACTIVITIES_PER_DEAL = 5
LEADS_PER_DEAL = 1

_DEALS = """
INSERT INTO deals (tenant_id, id, name, account_id, owner_id, amount, currency, probability,
                   expected_close_date, next_step, next_step_due_date, outcome, win_reason,
                   loss_reason, closed_at, workflow_id, step_id, entered_step_at, rank,
                   created_at, updated_at)
SELECT $1, gen_random_uuid(), 'Deal ' || i, $2, ($3::uuid[])[1 + i % cardinality($3::uuid[])],
       CASE WHEN i % 10 = 0 THEN NULL ELSE (1000 + (i::bigint * 7919) % 99000)::numeric END,
       CASE WHEN i % 50 = 0 THEN 'USD' ELSE 'EUR' END,
       CASE WHEN i % 5 = 0 THEN (i::bigint * 13) % 101 END,
       current_date + ((i::bigint * 31) % 361 - 180)::int,
       CASE WHEN k.outcome IS NULL THEN 'Call' END,
       CASE WHEN k.outcome IS NULL THEN current_date + (i % 30 - 10) END,
       k.outcome,
       CASE WHEN k.outcome = 'won'
            THEN (ARRAY['price', 'product_fit', 'relationship', 'timing'])[1 + i % 4] END,
       CASE WHEN k.outcome = 'lost'
            THEN (ARRAY['price', 'competitor', 'no_budget', 'timing'])[1 + i % 4] END,
       CASE WHEN k.outcome IS NOT NULL
            THEN now() - make_interval(secs => (i::bigint * 7877) % 31536000) END,
       $4, ($5::uuid[])[1 + i % 20], now() - make_interval(secs => (i::bigint * 613) % 2592000),
       'r' || lpad(i::text, 12, '0'),
       now() - make_interval(secs => 2592000 + (i::bigint * 7877) % 31536000),
       now()
  FROM generate_series(1, $6) AS i
  CROSS JOIN LATERAL (SELECT CASE (i % 20) WHEN 15 THEN 'won' WHEN 16 THEN 'won' WHEN 17 THEN 'won'
                                           WHEN 18 THEN 'lost' WHEN 19 THEN 'lost' END AS outcome) k
"""

# Deals are numbered once and joined by number (a hash join): indexing a 100 000-element
# array per row is what made this statement slow.
_HISTORY = """
WITH numbered AS (
    SELECT id, row_number() OVER () - 1 AS n FROM deals WHERE tenant_id = $1
)
INSERT INTO workflow_history (tenant_id, id, entity_type, record_id, workflow_id, from_step_id,
                              to_step_id, fields, at, seconds_in_previous_step, backwards)
SELECT $1, gen_random_uuid(), 'deal', d.id, $2,
       CASE WHEN i % 7 = 0 THEN NULL ELSE ($3::uuid[])[1 + (i / 7) % 4] END,
       ($3::uuid[])[1 + (i / 7 + 1) % 6],
       '{}', now() - make_interval(secs => (i::bigint * 7919) % 31536000),
       CASE WHEN i % 7 = 0 THEN NULL ELSE ((i::bigint * 104729) % 2592000)::float8 END,
       i % 10 = 0
  FROM generate_series(1, $4) AS i
  JOIN numbered d ON d.n = i % (SELECT count(*) FROM numbered)
"""

_LEADS = """
INSERT INTO leads (tenant_id, id, company_name, email, need, source, marketing_owner_id,
                   sales_owner_id, workflow_id, step_id, entered_step_at, view, qualified_at,
                   handed_over_at, claimed_at, converted_at, disqualified_at, disqualify_reason,
                   rejected_at, reject_reason, rejected_by, deal_id, dedupe_key, created_at,
                   updated_at)
SELECT $1, gen_random_uuid(), 'Lead ' || i, 'lead' || i || '@example.com', 'Trucks',
       (ARRAY['web','event','referral','partner', NULL])[1 + i % 5], $2,
       CASE WHEN v.view IN ('mine', 'converted')
            THEN ($3::uuid[])[1 + i % cardinality($3::uuid[])] END,
       $4, ($5::uuid[])[1 + i % 6], c.created, v.view,
       CASE WHEN v.view IN ('pool', 'mine', 'converted') THEN c.created + interval '2 hours' END,
       CASE WHEN v.view IN ('pool', 'mine', 'converted') THEN c.created + interval '2 hours' END,
       CASE WHEN v.view IN ('mine', 'converted')
            THEN c.created + make_interval(hours => 3 + i % 40) END,
       CASE WHEN v.view = 'converted' THEN c.created + interval '3 days' END,
       CASE WHEN v.view = 'disqualified' THEN c.created + interval '1 hour' END,
       CASE WHEN v.view = 'disqualified' THEN 'no_fit' END,
       CASE WHEN v.view = 'inbox' AND i % 4 = 0 THEN c.created + interval '1 day' END,
       CASE WHEN v.view = 'inbox' AND i % 4 = 0 THEN 'duplicate' END,
       CASE WHEN v.view = 'inbox' AND i % 4 = 0 THEN ($3::uuid[])[1] END,
       CASE WHEN v.view = 'converted' THEN d.ids[1 + i % cardinality(d.ids)] END,
       'lead' || i, c.created, c.created
  FROM generate_series(1, $6) AS i
  CROSS JOIN LATERAL (
      SELECT (ARRAY['inbox', 'pool', 'mine', 'converted', 'disqualified', 'nurture'])[1 + i % 6]
                 AS view) v
  CROSS JOIN LATERAL (
      SELECT now() - make_interval(secs => (i::bigint * 7919) % 31536000) AS created) c
  CROSS JOIN (SELECT array_agg(id) AS ids FROM deals WHERE tenant_id = $1) d
"""

_ACTIVITIES = """
INSERT INTO activities (tenant_id, id, type, status, subject, due_at, completed_at, owner_id,
                        account_id, enrollment_id)
SELECT $1, gen_random_uuid(), 'task', s.status, 'Follow up ' || i, s.due,
       CASE WHEN s.status = 'done'
            THEN s.due + make_interval(secs => (i::bigint * 31) % 172800) END,
       ($2::uuid[])[1 + i % cardinality($2::uuid[])], $3,
       CASE WHEN i % 10 < 3 THEN $4::uuid END
  FROM generate_series(1, $5) AS i
  CROSS JOIN LATERAL (
      SELECT CASE WHEN i % 10 < 6 THEN 'done' WHEN i % 10 < 9 THEN 'planned' ELSE 'cancelled' END
                 AS status,
             now() + make_interval(secs => (i::bigint * 7919) % 31536000 - 29000000) AS due) s
"""


async def load_tenant(conn: Any, name: str, deals: int) -> dict[str, float]:
    """`deals` deals and their history, leads and activities in the organization `name`."""
    shape = await tenant_shape(conn, name)
    tenant = shape.tenant_id
    account_id = uuid.uuid4()
    lead_flow = await conn.fetchval(
        "SELECT default_workflow_id FROM project_types"
        " WHERE tenant_id = $1 AND entity_type = 'lead' ORDER BY created_at, id LIMIT 1",
        tenant,
    )
    lead_steps = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM workflow_steps WHERE tenant_id = $1 AND workflow_id = $2"
            " ORDER BY position",
            tenant,
            lead_flow,
        )
    ]
    order = ("prospecting", "discovery", "proposal", "negotiation", "won", "lost")
    steps = [shape.steps[key] for key in order]
    # Per 20 deals: 6 prospecting, 4 discovery, 3 proposal, 2 negotiation, 3 won, 2 lost.
    columns = [steps[0]] * 6 + [steps[1]] * 4 + [steps[2]] * 3 + [steps[3]] * 2
    columns += [steps[4]] * 3 + [steps[5]] * 2
    seconds: dict[str, float] = {}
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(
            "INSERT INTO accounts (tenant_id, id, name, owner_id) VALUES ($1, $2, $3, $4)",
            tenant,
            account_id,
            f"{name} bench account",
            shape.admin_id,
        )
        for label, statement, args in (
            (
                "deals",
                _DEALS,
                (tenant, account_id, shape.writers, shape.workflow_id, columns, deals),
            ),
            ("history", _HISTORY, (tenant, shape.workflow_id, steps, deals * HISTORY_PER_DEAL)),
            (
                "leads",
                _LEADS,
                (
                    tenant,
                    shape.admin_id,
                    shape.writers,
                    lead_flow,
                    lead_steps,
                    deals * LEADS_PER_DEAL,
                ),
            ),
            (
                "activities",
                _ACTIVITIES,
                (tenant, shape.writers, account_id, uuid.uuid4(), deals * ACTIVITIES_PER_DEAL),
            ),
        ):
            began = time.perf_counter()
            await conn.execute(statement, *args)
            seconds[f"{name} {label}"] = time.perf_counter() - began
        # The triggers were off: the reports' rollups are rebuilt from the rows, as
        # `baton db rebuild-rollups` does.
        began = time.perf_counter()
        await conn.execute("DELETE FROM open_deal_totals WHERE tenant_id = $1", tenant)
        await conn.execute(
            f"INSERT INTO open_deal_totals ({ddl.OPEN_DEAL_TOTALS_KEY}, deal_count, amount_total)"
            f" SELECT * FROM ({ddl.OPEN_DEAL_TOTALS_RECOMPUTED}) r WHERE tenant_id = $1",
            tenant,
        )
        for table in ("workflow_move_days", "step_duration_days", "activity_days"):
            await conn.execute(f"DELETE FROM {table} WHERE tenant_id = $1", tenant)
        for statement in (*ddl.WORKFLOW_MOVES_REBUILD, ddl.ACTIVITY_DAYS_REBUILD):
            await conn.execute(statement.replace(":tenant", "$1"), tenant)
        seconds[f"{name} rollups"] = time.perf_counter() - began
    return seconds


async def load(deployed: Any, deals: int) -> dict[str, float]:
    conn = await asyncpg.connect(**owner_kwargs(deployed), command_timeout=3600)
    try:
        seconds = await load_tenant(conn, BIG_TENANT, deals)
        seconds.update(await load_tenant(conn, GROWTH_TENANT, deals // 10))
        began = time.perf_counter()
        for table in (
            "deals",
            "workflow_history",
            "leads",
            "activities",
            "open_deal_totals",
            "workflow_move_days",
            "step_duration_days",
            "activity_days",
        ):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        seconds["VACUUM ANALYZE"] = time.perf_counter() - began
        counts = await conn.fetch(
            "SELECT t.name, (SELECT count(*) FROM deals d WHERE d.tenant_id = t.id) AS deals,"
            " (SELECT count(*) FROM workflow_history h WHERE h.tenant_id = t.id) AS history,"
            " (SELECT count(*) FROM leads l WHERE l.tenant_id = t.id) AS leads,"
            " (SELECT count(*) FROM activities a WHERE a.tenant_id = t.id) AS activities"
            " FROM tenants t WHERE t.name IN ($1, $2)",
            BIG_TENANT,
            GROWTH_TENANT,
        )
        for row in counts:
            print(f"[reports] {dict(row)}", flush=True)
    finally:
        await conn.close()
    return seconds


CALLS = (
    "pipeline",
    "forecast",
    "win-rate",
    "stage-conversion",
    "lead-funnel",
    "activity",
    "cadence-adherence",
    "sources",
    "Home: manager",
    "Home: sales",
)


async def one_call(runtime: Any, headers: dict[bytes, bytes], name: str) -> int:
    """One report (or dashboard) as a request reads it; the nanoseconds it took."""
    from baton.reports import service, web

    started = time.perf_counter_ns()
    async with request_ctx(runtime, headers, SCOPE) as ctx:
        if name == "Home: manager":
            await web._manager(ctx, service.ReportParams())
        elif name == "Home: sales":
            # `_sales` reads the desk's lists itself (`service.sales_desk`), as Home does.
            principal = ctx.require_principal()
            await web._sales(ctx, service.ReportParams(owner_id=principal.user_id))
        else:
            await service.report(ctx, name, service.ReportParams())
    return time.perf_counter_ns() - started


def run(deals: int, rounds: int, requests: int, *, quiet_wait: float) -> list[Result]:
    results: list[Result] = []
    with deployment("embedded") as deployed, serving(deployed) as server:
        register(server.port, GROWTH_TENANT, GROWTH_EMAIL)
        tokens = {
            "big": login(server.port, DEMO_EMAIL, DEMO_PASSWORD),
            "growth": login(server.port, GROWTH_EMAIL, BENCH_PASSWORD),
        }
        began = time.perf_counter()
        seconds = asyncio.run(load(deployed, deals))
        print(
            f"[reports] data set in {time.perf_counter() - began:.1f} s: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()),
            flush=True,
        )
        app = InProcessApp(deployed)
        runner = new_loop_runner()
        headers = {
            size: {b"authorization": f"Bearer {token}".encode()} for size, token in tokens.items()
        }

        def our_pids() -> list[int]:
            return [server.pid, *deployed.postgres_pids()]

        try:
            for size in headers:
                for name in CALLS:
                    runner.run(one_call(app.runtime, headers[size], name))  # warm up
            per_round: dict[tuple[str, str], list[float]] = {
                (size, name): [] for size in headers for name in CALLS
            }
            loads: list[float] = []
            quiet = QuietWaiter(quiet_wait)
            for number in range(1, rounds + 1):
                quiet.wait()
                watch = CpuWatch(our_pids)
                watch.start()
                for name in CALLS:
                    for size in headers:
                        stats = Stats()
                        for _ in range(requests):
                            stats.add_ns(runner.run(one_call(app.runtime, headers[size], name)))
                        per_round[(size, name)].append(stats.p50)
                loads.append(watch.stop())
                print(
                    f"[reports] round {number}: other load {loads[-1]:.0%}; "
                    + "; ".join(
                        f"{name} {per_round[('big', name)][-1]:.1f}/"
                        f"{per_round[('growth', name)][-1]:.1f} ms"
                        for name in CALLS
                    ),
                    flush=True,
                )
        finally:
            with contextlib.suppress(Exception):
                runner.run(app.dispose())
            runner.close()
    load_note = "other load " + ", ".join(f"{load:.0%}" for load in loads)
    for name in CALLS:
        big = median(per_round[("big", name)])
        small = median(per_round[("growth", name)])
        results.append(
            Result(
                TAG,
                f"{name}: p50 at {deals:,} deals (in process)",
                big,
                "ms",
                f"≤ {BUDGET_MS:g} ms",
                big <= BUDGET_MS,
                load_note,
            )
        )
        results.append(Result(TAG, f"{name}: p50 at {deals // 10:,} deals", small, "ms"))
        growth = big / small if small else float("inf")
        results.append(
            Result(
                TAG,
                f"{name}: growth {deals // 10:,} → {deals:,}",
                growth,
                "x",
                f"≤ {GROWTH_BUDGET:g}x",
                growth <= GROWTH_BUDGET,
            )
        )
    for r in results:
        if r.met is not None:
            print(f"{'PASS' if r.met else 'MISS'}  {r.metric}: {r.value:.2f} {r.unit} ({r.budget})")
    return results


def main() -> None:
    parser = common_args(__doc__.splitlines()[0], rounds=3, requests=30)
    parser.add_argument("--deals", type=int, default=100_000)
    args = parser.parse_args()
    print_machine()
    results = run(args.deals, args.rounds, args.requests, quiet_wait=args.quiet_wait)
    finish(results, "Reports and Home dashboards (embedded PostgreSQL)", args.json)
    sys.exit(0)


if __name__ == "__main__":
    main()
