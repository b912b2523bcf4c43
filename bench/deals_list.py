"""The deals list (issue 17 part 5): a sorted, filtered first page of 50 at 100 000
deals, against the same SQL run raw, and its growth from 10 000 deals.

    .venv/bin/python -m bench.deals_list [--rounds 3] [-n 20] [--deals 100000] [--json out.json]

Two organizations in one fresh embedded install: the demo organization (Acme
Logistics) gets `--deals` deals over 2 000 accounts and its writers, a registered
"Growth Org" a tenth of them. Rows are made by `generate_series` as the database
owner with triggers off (`session_replication_role = replica`; the list reads no
rollup), spread over the sales pipeline's steps (15 % won or lost), amounts 1 000 to
100 000 (10 % without), expected closes ±180 days, next steps due -10 to +19 days,
entered their step up to 30 days ago. Then VACUUM ANALYZE of the database.

Each case is `GET /api/v1/deals` as the API runs it (`bench.sales.request_ctx`:
session, authentication, the handler, commit) in this process; "raw" is the list's
one statement (`deals.queries.list_statement`, literal values) on one asyncpg
connection as the app role in a transaction that sets the tenant (RLS applies). The
baseline row is the list as it was before the sorts (creation order, no filter).
p50 per round, the median of the rounds reported.
"""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

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

TAG = "deals-list"
SCOPE = {"type": "http", "method": "GET", "path": "/api/v1/deals"}
PAGE = 50
ACCOUNTS = 2000

_ACCOUNTS = """
INSERT INTO accounts (tenant_id, id, name, owner_id)
SELECT $1, gen_random_uuid(), 'Account ' || md5(i::text), $2 FROM generate_series(1, $3) AS i
"""

_DEALS = """
INSERT INTO deals (tenant_id, id, name, account_id, owner_id, amount, currency, probability,
                   expected_close_date, next_step, next_step_due_date, outcome, win_reason,
                   loss_reason, closed_at, workflow_id, step_id, entered_step_at, rank,
                   created_at, updated_at)
SELECT $1, gen_random_uuid(), 'Deal ' || md5(i::text), a.ids[1 + i % cardinality(a.ids)],
       ($2::uuid[])[1 + i % cardinality($2::uuid[])],
       CASE WHEN i % 10 = 0 THEN NULL ELSE (1000 + (i::bigint * 7919) % 99000)::numeric END,
       'EUR',
       CASE WHEN i % 5 = 0 THEN (i::bigint * 13) % 101 END,
       current_date + ((i::bigint * 31) % 361 - 180)::int,
       CASE WHEN k.outcome IS NULL THEN 'Call' END,
       CASE WHEN k.outcome IS NULL THEN current_date + (i % 30 - 10) END,
       k.outcome,
       CASE WHEN k.outcome = 'won' THEN 'price' END,
       CASE WHEN k.outcome = 'lost' THEN 'timing' END,
       CASE WHEN k.outcome IS NOT NULL
            THEN now() - make_interval(secs => (i::bigint * 7877) % 31536000) END,
       $3, ($4::uuid[])[1 + i % 20], now() - make_interval(secs => (i::bigint * 613) % 2592000),
       'r' || lpad(i::text, 12, '0'),
       now() - make_interval(secs => 2592000 + (i::bigint * 7877) % 31536000),
       now()
  FROM generate_series(1, $5) AS i
  CROSS JOIN (SELECT array_agg(id) AS ids FROM accounts WHERE tenant_id = $1) a
  CROSS JOIN LATERAL (SELECT CASE (i % 20) WHEN 15 THEN 'won' WHEN 16 THEN 'won'
                                           WHEN 18 THEN 'lost' END AS outcome) k
"""


async def load_tenant(conn: Any, name: str, deals: int) -> dict[str, Any]:
    """`deals` deals over `ACCOUNTS` accounts in the organization `name`; what the
    cases filter by (a writer)."""
    shape = await tenant_shape(conn, name)
    order = ("prospecting", "discovery", "proposal", "negotiation", "won", "lost")
    steps = [shape.steps[key] for key in order]
    # Per 20 deals: 6 prospecting, 4 discovery, 4 proposal, 3 negotiation, 2 won, 1 lost
    # (the outcome CASE above follows the same positions).
    columns = [steps[0]] * 6 + [steps[1]] * 4 + [steps[2]] * 4 + [steps[3]]
    columns += [steps[4]] * 2 + [steps[3]] + [steps[5]] + [steps[3]]
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(_ACCOUNTS, shape.tenant_id, shape.admin_id, ACCOUNTS)
        await conn.execute(
            _DEALS, shape.tenant_id, shape.writers, shape.workflow_id, columns, deals
        )
    return {"tenant_id": shape.tenant_id, "owner_id": shape.writers[0]}


def cases(owner_id: uuid.UUID) -> dict[str, dict[str, str]]:
    this_month = datetime.now(UTC).strftime("%Y-%m")
    return {
        "baseline: creation order, no filter": {},
        "sort -amount": {"sort": "-amount"},
        "sort amount": {"sort": "amount"},
        "sort name": {"sort": "name"},
        "sort expected_close": {"sort": "expected_close"},
        "sort -days_in_stage": {"sort": "-days_in_stage"},
        "sort next_step_due": {"sort": "next_step_due"},
        "sort -weighted": {"sort": "-weighted"},
        "sort account": {"sort": "account"},
        "sort owner": {"sort": "owner"},
        "sort stage": {"sort": "stage"},
        "open, one owner, sort -amount": {
            "view": "pipeline",
            "owner_id": str(owner_id),
            "sort": "-amount",
        },
        "stage proposal, sort expected_close": {"stage": "proposal", "sort": "expected_close"},
        "closes this month, sort -amount": {"close_month": this_month, "sort": "-amount"},
        "amount 50 000-60 000, sort -weighted": {
            "amount_min": "50000",
            "amount_max": "60000",
            "sort": "-weighted",
        },
        "overdue, sort next_step_due": {"overdue": "true", "sort": "next_step_due"},
    }


async def api_call(
    runtime: Any, headers: dict[bytes, bytes], params: dict[str, str], cursor: str | None
) -> tuple[int, str | None]:
    """One list page as the API answers it; (nanoseconds, next cursor)."""
    from baton.deals import api
    from baton.deals.schemas import DealListFilters

    started = time.perf_counter_ns()
    async with request_ctx(runtime, headers, SCOPE) as ctx:
        filters = DealListFilters.model_validate(params)
        page = await api.list_deals(ctx, filters, PAGE, cursor)
    return time.perf_counter_ns() - started, page.next_cursor


def raw_sql(params: dict[str, str], user_id: uuid.UUID) -> str:
    """The list's statement with its values written in (what the API sends)."""
    from sqlalchemy.dialects import postgresql

    from baton.core.pagination import sorted_page_of
    from baton.deals import queries
    from baton.deals.schemas import DealListFilters

    filters = DealListFilters.model_validate(params)
    page = sorted_page_of(PAGE, None, filters.sort)
    statement = queries.list_statement(
        page, filters, user_id=user_id, today=datetime.now(UTC).date()
    )
    compiled = statement.compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled)


async def raw_call(conn: Any, tenant_id: uuid.UUID, sql: str) -> int:
    started = time.perf_counter_ns()
    async with conn.transaction():
        await conn.execute("SELECT set_config('baton.tenant_id', $1, true)", str(tenant_id))
        await conn.fetch(sql)
    return time.perf_counter_ns() - started


async def explained(conn: Any, tenant_id: uuid.UUID, sql: str) -> str:
    """The plan PostgreSQL runs a case's statement with, as the app role would."""
    async with conn.transaction():
        await conn.execute("SELECT set_config('baton.tenant_id', $1, true)", str(tenant_id))
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql)
    return "\n".join(row[0] for row in rows)


def run(
    deals: int, rounds: int, requests: int, *, quiet_wait: float, explain: bool = False
) -> list[Result]:
    results: list[Result] = []
    with deployment("embedded") as deployed, serving(deployed) as server:
        register(server.port, GROWTH_TENANT, GROWTH_EMAIL)
        tokens = {
            "big": login(server.port, DEMO_EMAIL, DEMO_PASSWORD),
            "growth": login(server.port, GROWTH_EMAIL, BENCH_PASSWORD),
        }
        runner = new_loop_runner()

        async def load() -> dict[str, dict[str, Any]]:
            conn = await asyncpg.connect(**owner_kwargs(deployed), command_timeout=3600)
            try:
                loaded = {
                    "big": await load_tenant(conn, BIG_TENANT, deals),
                    "growth": await load_tenant(conn, GROWTH_TENANT, deals // 10),
                }
                # Every table: autovacuum would have analyzed the steps and statuses
                # by now in a live install; the planner's joins depend on it.
                await conn.execute("VACUUM (ANALYZE)")
            finally:
                await conn.close()
            return loaded

        began = time.perf_counter()
        shapes = runner.run(load())
        print(f"[deals-list] data set in {time.perf_counter() - began:.1f} s", flush=True)
        app = InProcessApp(deployed)
        raw_conn = runner.run(asyncpg.connect(**deployed.app_connect_kwargs()))
        headers = {
            size: {b"authorization": f"Bearer {token}".encode()} for size, token in tokens.items()
        }
        per_size_cases = {size: cases(shapes[size]["owner_id"]) for size in headers}
        names = list(per_size_cases["big"])
        sqls = {
            (size, name): raw_sql(per_size_cases[size][name], shapes[size]["owner_id"])
            for size in headers
            for name in names
        }

        def our_pids() -> list[int]:
            return [server.pid, *deployed.postgres_pids()]

        if explain:
            for name in names:
                plan = runner.run(
                    explained(raw_conn, shapes["big"]["tenant_id"], sqls[("big", name)])
                )
                print(f"== {name}\n{plan}", flush=True)
            rounds = 0

        per_round: dict[tuple[str, ...], list[float]] = {}
        loads: list[float] = []
        try:
            cursors: dict[str, str | None] = {}
            for name in names:  # warm up; the second page's cursor
                for size in headers:
                    _, cursors[f"{size} {name}"] = runner.run(
                        api_call(app.runtime, headers[size], per_size_cases[size][name], None)
                    )
                    runner.run(raw_call(raw_conn, shapes[size]["tenant_id"], sqls[(size, name)]))
            quiet = QuietWaiter(quiet_wait)
            for number in range(1, rounds + 1):
                quiet.wait()
                watch = CpuWatch(our_pids)
                watch.start()
                for name in names:
                    for size in headers:
                        params = per_size_cases[size][name]
                        api, raw, second = Stats(), Stats(), Stats()
                        for _ in range(requests):
                            api.add_ns(
                                runner.run(api_call(app.runtime, headers[size], params, None))[0]
                            )
                            raw.add_ns(
                                runner.run(
                                    raw_call(
                                        raw_conn, shapes[size]["tenant_id"], sqls[(size, name)]
                                    )
                                )
                            )
                        if size == "big" and cursors[f"{size} {name}"]:
                            for _ in range(requests):
                                second.add_ns(
                                    runner.run(
                                        api_call(
                                            app.runtime,
                                            headers[size],
                                            params,
                                            cursors[f"{size} {name}"],
                                        )
                                    )[0]
                                )
                            per_round.setdefault((size, name, "second"), []).append(second.p50)
                        per_round.setdefault((size, name, "api"), []).append(api.p50)
                        per_round.setdefault((size, name, "raw"), []).append(raw.p50)
                loads.append(watch.stop())
                print(f"[deals-list] round {number}: other load {loads[-1]:.0%}", flush=True)
        finally:
            with contextlib.suppress(Exception):
                runner.run(raw_conn.close())
            with contextlib.suppress(Exception):
                runner.run(app.dispose())
            runner.close()
    if not per_round:
        return results
    load_note = "other load " + ", ".join(f"{load:.0%}" for load in loads)
    for name in names:
        big = median(per_round[("big", name, "api")])
        raw = median(per_round[("big", name, "raw")])
        small = median(per_round[("growth", name, "api")])
        second = per_round.get(("big", name, "second"))
        results.append(
            Result(
                TAG,
                f"{name}: page 1 p50 at {deals:,} deals (in process)",
                big,
                "ms",
                note=load_note,
            )
        )
        results.append(Result(TAG, f"{name}: raw same SQL p50", raw, "ms"))
        results.append(Result(TAG, f"{name}: in process ÷ raw", big / raw if raw else 0.0, "x"))
        if second:
            results.append(Result(TAG, f"{name}: page 2 p50", median(second), "ms"))
        results.append(
            Result(
                TAG,
                f"{name}: growth {deals // 10:,} → {deals:,}",
                big / small if small else 0.0,
                "x",
            )
        )
    return results


def main() -> None:
    parser = common_args(__doc__.splitlines()[0], rounds=3, requests=20)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--explain", action="store_true", help="print each case's plan only")
    args = parser.parse_args()
    print_machine()
    results = run(
        args.deals,
        args.rounds,
        args.requests,
        quiet_wait=args.quiet_wait,
        explain=args.explain,
    )
    finish(results, "Deals list: sorted and filtered pages (embedded PostgreSQL)", args.json)
    sys.exit(0)


if __name__ == "__main__":
    main()
