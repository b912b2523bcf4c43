"""Growth to a large tenant (issue 19, part 6): 1 000 000 deals against 100 000.

    .venv/bin/python -m bench.growth [--deals 1000000] [--history-per-deal 10]
        [--rounds 5] [-n 30] [--regenerate] [--in-place] [--explain] [--json FILE]

The data set is the sales bench's (`bench.sales_data`) at `--deals`: the demo
organization (Acme Logistics) holds `--deals` accounts and deals over the sales
pipeline and 5 activities a deal; "Growth Org" holds a tenth of that; 998 small
tenants beside them. Every trigger is on during the load (history, audit, the board's
and the reports' rollups are written as the service would write them). Then each big
tenant's stage history is padded by COPY to `--history-per-deal` rows a deal (10 000 000
rows at 1 M deals), and the database is VACUUM ANALYZEd. Generated once and cached
under `.bench/`; a run copies it (or, with `--in-place`, works on the cache itself).

Both tenants live in one install, so every operation is measured in the same run,
interleaved in chunks between the two tenants (rotating which goes first), for
`--rounds` rounds; a round's p50 per operation, then the median of the rounds. The
ratio is the median over rounds of p50(big) ÷ p50(small) measured in the same round.

Operations, the demo admin in the big tenant, Growth Org's admin in the small one:
- move a deal: `POST /api/v1/deals/{id}/move` over HTTP (one keep-alive client) and the
  same through the service layer in process (`bench.sales.DealServiceMover`); Prospecting
  ⇄ Discovery, dropped after a random card of the target column;
- board: `GET /api/v1/pipeline` over HTTP (default 25 cards a column) and the service
  layer's board of 50 cards;
- lists over HTTP, first page of 50: the deals list (creation order, sorted by amount,
  one stage by expected close, overdue next steps, days in stage), the accounts list,
  the activities planner, a deal's stage history;
- search over HTTP: the accounts list with `q` (a number inside names, a domain
  fragment, a miss; and, a fifth as often, a word in every name: the worst case) and the
  search box (`GET /api/v1/search`).

`--explain` prints `EXPLAIN (ANALYZE, BUFFERS)` of the deals list's statements as the
app role (RLS on) for both tenants.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg

from bench import sales_data
from bench.harness import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    Http,
    QuietWaiter,
    Result,
    Round,
    Stats,
    Variant,
    finish,
    machine_info,
    measure_interleaved,
    new_loop_runner,
    noise_note,
    print_machine,
    round_median,
    round_ratio,
    serving,
)
from bench.sales import (
    DealHttpMover,
    DealServiceMover,
    Tenant,
    async_variant,
    discover_tenant,
    login,
    per_column_for,
    service_board,
)
from bench.work_item_move import InProcessApp, keep_fresh, sequential

TAG = "growth"
DEALS = 1_000_000
HISTORY_PER_DEAL = 10
BUDGET_GROWTH = 1.5
BIG, SMALL = "big", "small"

# name -> GET path (lists and search); the move and the board are built separately.
LISTS: dict[str, str] = {
    "deals list, creation order": "/api/v1/deals",
    "deals list, sort -amount": "/api/v1/deals?sort=-amount",
    "deals list, stage proposal, sort expected_close": (
        "/api/v1/deals?stage=proposal&sort=expected_close"
    ),
    "deals list, overdue, sort next_step_due": "/api/v1/deals?overdue=true&sort=next_step_due",
    "deals list, sort -days_in_stage": "/api/v1/deals?sort=-days_in_stage",
    "accounts list": "/api/v1/accounts",
    "activities planner": "/api/v1/activities",
}
SEARCHES: dict[str, str] = {
    "accounts search '4711' (inside names)": "/api/v1/accounts?q=4711",
    "accounts search, domain 'acct4711'": "/api/v1/accounts?q=acct4711",
    "accounts search, miss 'zyxwv'": "/api/v1/accounts?q=zyxwv",
    "search box '4711'": "/api/v1/search?q=4711",
}
# Matches every account of the tenant: reported, but not a typical search (a fifth as
# many requests).
WORST_SEARCH = ("accounts search, worst case 'bench' (every row)", "/api/v1/accounts?q=bench")


class Getter:
    """GETs of one path over one keep-alive connection, checked for 200."""

    def __init__(self, port: int, token: str, path: str | Callable[[], str]) -> None:
        self.client = Http(port)
        self.headers = {"authorization": f"Bearer {token}"}
        self.path = path
        self.last_used = time.monotonic()

    def run(self, count: int) -> Stats:
        self.last_used = keep_fresh(self.client, self.last_used)
        stats = Stats()
        for _ in range(count):
            path = self.path() if callable(self.path) else self.path
            started = time.perf_counter_ns()
            status, raw = self.client.call("GET", path, None, self.headers)
            stats.add_ns(time.perf_counter_ns() - started)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {raw[:300]!r}")
        self.last_used = time.monotonic()
        return stats

    def close(self) -> None:
        self.client.close()


def history_paths(tenant: Tenant) -> Callable[[], str]:
    """A different anchor deal's history each call (they stay put during the run)."""
    deals = [d for ids in tenant.anchors.values() for d in ids[:500]]
    state = {"i": 0}

    def next_path() -> str:
        state["i"] = (state["i"] + 1) % len(deals)
        return f"/api/v1/deals/{deals[state['i']]}/history"

    return next_path


async def explain_lists(deployed: Any, tenants: dict[str, Tenant]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the deals list's statements, as the app role."""
    from datetime import UTC, datetime

    from sqlalchemy.dialects import postgresql

    from baton.core.pagination import sorted_page_of
    from baton.deals import queries
    from baton.deals.schemas import DealListFilters

    conn = await asyncpg.connect(**deployed.app_connect_kwargs())
    try:
        for name, path in LISTS.items():
            if not path.startswith("/api/v1/deals"):
                continue
            params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
            filters = DealListFilters.model_validate(params)
            for size, tenant in tenants.items():
                statement = queries.list_statement(
                    sorted_page_of(50, None, filters.sort),
                    filters,
                    user_id=tenant.user_id,
                    today=datetime.now(UTC).date(),
                )
                sql = str(
                    statement.compile(
                        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                    )
                )
                async with conn.transaction():
                    await conn.execute(
                        "SELECT set_config('baton.tenant_id', $1, true),"
                        " set_config('baton.user_id', $2, true),"
                        " set_config('baton.role', 'admin', true)",
                        str(tenant.shape.tenant_id),
                        str(tenant.user_id),
                    )
                    rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                print(f"\n--- plan [{size}] {name}")
                print("\n".join(row[0] for row in rows))
    finally:
        await conn.close()


def report(number: int, result: Round) -> None:
    parts = []
    for name in result.stats:
        if name.endswith(f"@{BIG}"):
            op = name.removesuffix(f"@{BIG}")
            big, small = result.stats[name].p50, result.stats[f"{op}@{SMALL}"].p50
            parts.append(f"{op} {small:.2f}→{big:.2f} ({big / small:.2f}x)")
    print(f"  round {number} (p50 ms, small→big): " + " | ".join(parts), flush=True)
    print(f"    other load {result.foreign_during:.0%}", flush=True)


def count_label(deals: int) -> str:
    """1 000 000 → '1 M', 100 000 → '100 k' (the figures' names)."""
    if deals % 1_000_000 == 0:
        return f"{deals // 1_000_000} M"
    if deals % 1_000 == 0:
        return f"{deals // 1_000} k"
    return str(deals)


def bench(args: argparse.Namespace) -> tuple[list[Result], dict[str, Any]]:
    quiet = QuietWaiter(args.quiet_wait)
    details: dict[str, Any] = {}
    with (
        sales_data.cached_deployment(
            args.deals,
            regenerate=args.regenerate,
            history_per_deal=args.history_per_deal,
            copy=not args.in_place,
        ) as deployed,
        contextlib.ExitStack() as stack,
    ):
        cache = sales_data.cache_dir(args.deals, args.history_per_deal)
        details["generation"] = json.loads((cache / "timings.json").read_text())
        server = stack.enter_context(serving(deployed))

        async def fixture() -> tuple[dict[str, Tenant], dict[str, Any]]:
            conn = await asyncpg.connect(**sales_data.owner_kwargs(deployed))
            try:
                tenants = {
                    BIG: await discover_tenant(conn, sales_data.BIG_TENANT, 6_000, 1),
                    SMALL: await discover_tenant(conn, sales_data.GROWTH_TENANT, 6_000, 2),
                }
                sizes: dict[str, Any] = {}
                for size, tenant in tenants.items():
                    for table in ("deals", "accounts", "activities", "workflow_history"):
                        sizes[f"{table}@{size}"] = await conn.fetchval(
                            f"SELECT count(*) FROM {table} WHERE tenant_id = $1",
                            tenant.shape.tenant_id,
                        )
                sizes["audit_log"] = await conn.fetchval("SELECT count(*) FROM audit_log")
                sizes["database_bytes"] = await conn.fetchval(
                    "SELECT pg_database_size(current_database())"
                )
                return tenants, sizes
            finally:
                await conn.close()

        tenants, sizes = asyncio.run(fixture())
        details["sizes"] = sizes
        print(f"[growth] data: {sizes}", flush=True)
        tenants[BIG].token = login(server.port, DEMO_EMAIL, DEMO_PASSWORD)
        tenants[SMALL].token = login(
            server.port, sales_data.GROWTH_EMAIL, sales_data.BENCH_PASSWORD
        )
        for tenant in tenants.values():
            client = Http(server.port)
            status, raw = client.call(
                "GET", "/api/v1/me", None, {"authorization": f"Bearer {tenant.token}"}
            )
            client.close()
            assert status == 200, raw
            tenant.user_id = uuid.UUID(json.loads(raw)["user"]["id"])

        if args.explain:
            asyncio.run(explain_lists(deployed, tenants))

        runner = new_loop_runner()
        stack.callback(runner.close)
        app = InProcessApp(deployed)
        stack.callback(lambda: runner.run(app.dispose()))

        variants: dict[str, Variant] = {}
        share: dict[str, float] = {}
        for size, tenant in tenants.items():
            headers = {b"authorization": f"Bearer {tenant.token}".encode()}
            each = min(2_500, len(tenant.movers) // 2)
            http_mover = DealHttpMover(server.port, tenant.take(each, 11), tenant.token)  # type: ignore[arg-type]
            stack.callback(http_mover.close)
            variants[f"move (HTTP)@{size}"] = http_mover.run
            service_mover = DealServiceMover(app, tenant.token, tenant.take(each, 12))  # type: ignore[arg-type]
            variants[f"move (service layer)@{size}"] = sequential(runner, service_mover)
            board = Getter(server.port, tenant.token, "/api/v1/pipeline")
            stack.callback(board.close)
            variants[f"board GET /pipeline (HTTP)@{size}"] = board.run

            def board_once(h: dict[bytes, bytes] = headers) -> Any:
                return service_board(app.runtime, h, per_column_for(50))

            variants[f"board, 50 cards (service layer)@{size}"] = async_variant(runner, board_once)
            for name, path in {**LISTS, **SEARCHES}.items():
                getter = Getter(server.port, tenant.token, path)
                stack.callback(getter.close)
                variants[f"{name}@{size}"] = getter.run
            name, path = WORST_SEARCH
            worst = Getter(server.port, tenant.token, path)
            stack.callback(worst.close)
            variants[f"{name}@{size}"] = worst.run
            share[f"{name}@{size}"] = 0.2
            history = Getter(server.port, tenant.token, history_paths(tenant))
            stack.callback(history.close)
            variants[f"a deal's stage history@{size}"] = history.run

        def our_pids() -> list[int]:
            return [server.pid, *deployed.postgres_pids()]

        print(
            f"[growth] {args.rounds} rounds x {args.requests} requests per operation and"
            f" tenant ({len(variants)} variants, interleaved)",
            flush=True,
        )
        measured = measure_interleaved(
            variants,
            rounds=args.rounds,
            requests=args.requests,
            chunk=5,
            warmup=10,
            our_pids=our_pids,
            quiet=quiet,
            report=report,
            share=share,
        )
        details["noise"] = noise_note(measured)
        results: list[Result] = []
        ops = [name.removesuffix(f"@{BIG}") for name in variants if name.endswith(f"@{BIG}")]
        for op in ops:
            small = round_median(measured, f"{op}@{SMALL}", 50)
            big = round_median(measured, f"{op}@{BIG}", 50)
            ratio = round_ratio(measured, f"{op}@{BIG}", f"{op}@{SMALL}")
            results.append(
                Result(
                    TAG,
                    f"{op}: p50 {count_label(args.deals)} ÷ {count_label(args.deals // 10)}",
                    ratio,
                    "x",
                    f"≤ {BUDGET_GROWTH:g}x",
                    ratio <= BUDGET_GROWTH,
                    f"p50 {small:.2f} → {big:.2f} ms",
                )
            )
        return results, details


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=DEALS, help="deals in the big tenant")
    parser.add_argument("--history-per-deal", type=int, default=HISTORY_PER_DEAL)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-n", "--requests", type=int, default=30, help="per operation and round")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--in-place", action="store_true", help="work on the cached data dir (no copy)"
    )
    parser.add_argument("--explain", action="store_true", help="print the deals list's plans")
    parser.add_argument("--quiet-wait", type=float, default=20.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    info = machine_info()
    print_machine(info)
    started = time.perf_counter()
    results, details = bench(args)
    print(f"[growth] {details.get('noise', '')}; {time.perf_counter() - started:.0f} s")
    finish(
        results,
        f"Growth: {args.deals} against {args.deals // 10} deals in one install",
        args.json,
    )
    if args.json:
        with open(args.json) as handle:
            written = json.load(handle)
        written["details"] = details
        with open(args.json, "w") as handle:
            json.dump(written, handle, indent=2, default=str)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
