"""What the reports' rollup of open deals costs the deal move (issue 17): A/B in one run.

    .venv/bin/python -m bench.open_deal_totals_move [--rounds 6] [-n 200]

A fresh embedded install with the demo organization; the demo admin moves demo deals
between Prospecting and Discovery through the service layer, as the move endpoint
does (`bench.sales.DealServiceMover`: the driver's connection, BEGIN, authentication,
`move_deal`, COMMIT). Rounds alternate between the `open_deal_totals_*` triggers on
(A, what ships) and off (B, `ALTER TABLE deals DISABLE TRIGGER`), the order flipping
each round so drift on this shared machine falls on both; p50 per round, the median of
the rounds, and the ratio A / B of the two medians. The move's budget is 3 ms p50.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import asyncpg

from bench.claims_data import login
from bench.harness import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
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
from bench.sales import DealServiceMover, discover_tenant
from bench.sales_data import BIG_TENANT, owner_kwargs
from bench.work_item_move import InProcessApp

TAG = "open deal totals"
MOVE_BUDGET_MS = 3.0
MOVERS = 20
TRIGGERS = ("open_deal_totals_insert", "open_deal_totals_update", "open_deal_totals_delete")


async def set_triggers(deployed: Any, enabled: bool) -> None:
    conn = await asyncpg.connect(**owner_kwargs(deployed))
    try:
        verb = "ENABLE" if enabled else "DISABLE"
        for trigger in TRIGGERS:
            await conn.execute(f"ALTER TABLE deals {verb} TRIGGER {trigger}")
    finally:
        await conn.close()


async def movers_of(deployed: Any) -> Any:
    conn = await asyncpg.connect(**owner_kwargs(deployed))
    try:
        tenant = await discover_tenant(conn, BIG_TENANT, MOVERS, seed=17)
    finally:
        await conn.close()
    return tenant.take(min(MOVERS, len(tenant.movers)), seed=17)


def run(rounds: int, requests: int) -> list[Result]:
    with deployment("embedded") as deployed, serving(deployed) as server:
        token = login(server.port, DEMO_EMAIL, DEMO_PASSWORD)
        runner = new_loop_runner()
        app = InProcessApp(deployed)
        mover = DealServiceMover(app, token, runner.run(movers_of(deployed)))
        for _ in range(20):  # warm up: caches, prepared statements
            runner.run(mover.move_once())
        p50s: dict[bool, list[float]] = {True: [], False: []}
        try:
            for number in range(rounds):
                for enabled in (True, False) if number % 2 == 0 else (False, True):
                    runner.run(set_triggers(deployed, enabled))
                    stats = Stats()
                    for _ in range(requests):
                        stats.add_ns(runner.run(mover.move_once()))
                    p50s[enabled].append(stats.p50)
                    label = "on " if enabled else "off"
                    print(f"[{TAG}] round {number + 1} triggers {label}: p50 {stats.p50:.3f} ms")
        finally:
            runner.run(set_triggers(deployed, True))
            runner.run(app.dispose())
            runner.close()
    with_rollup, without = median(p50s[True]), median(p50s[False])
    return [
        Result(
            TAG,
            "deal move p50, rollup triggers on",
            with_rollup,
            "ms",
            f"≤ {MOVE_BUDGET_MS:g} ms",
            with_rollup <= MOVE_BUDGET_MS,
        ),
        Result(TAG, "deal move p50, rollup triggers off", without, "ms"),
        Result(TAG, "on / off", with_rollup / without, "x"),
    ]


def main() -> None:
    parser = common_args(__doc__ or "", rounds=6, requests=200)
    args = parser.parse_args()
    print_machine()
    results = run(args.rounds, args.requests)
    finish(results, "What the open-deal rollup costs the move", args.json)
    sys.exit(0)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
