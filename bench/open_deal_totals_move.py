"""What the reports' rollups cost the deal move (issue 17): A/B in one run.

    .venv/bin/python -m bench.open_deal_totals_move [--rounds 6] [-n 200] [--rollup NAME]

`--rollup open_deal_totals` (the default: its triggers on deals), `workflow_moves`
(the stage-conversion rollups' triggers on workflow_history, which every move writes)
or `activity_days` (the activity report's triggers on activities).

A fresh embedded install with the demo organization; the demo admin moves demo deals
between Prospecting and Discovery through the service layer, as the move endpoint
does (`bench.sales.DealServiceMover`: the driver's connection, BEGIN, authentication,
`move_deal`, COMMIT). Rounds alternate between the `open_deal_totals_*` triggers on
(A, what ships) and off (B, `ALTER TABLE … DISABLE TRIGGER`), the order flipping
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
EVENTS = ("insert", "update", "delete")
# Per rollup: the table its triggers are on, and their names.
ROLLUPS = {
    "open_deal_totals": ("deals", tuple(f"open_deal_totals_{e}" for e in EVENTS)),
    "workflow_moves": ("workflow_history", tuple(f"workflow_moves_{e}" for e in EVENTS)),
    "activity_days": ("activities", tuple(f"activity_days_{e}" for e in EVENTS)),
}


async def set_triggers(deployed: Any, enabled: bool, rollup: str) -> None:
    table, triggers = ROLLUPS[rollup]
    conn = await asyncpg.connect(**owner_kwargs(deployed))
    try:
        verb = "ENABLE" if enabled else "DISABLE"
        for trigger in triggers:
            await conn.execute(f"ALTER TABLE {table} {verb} TRIGGER {trigger}")
    finally:
        await conn.close()


async def movers_of(deployed: Any) -> Any:
    conn = await asyncpg.connect(**owner_kwargs(deployed))
    try:
        tenant = await discover_tenant(conn, BIG_TENANT, MOVERS, seed=17)
    finally:
        await conn.close()
    return tenant.take(min(MOVERS, len(tenant.movers)), seed=17)


def run(rounds: int, requests: int, rollup: str) -> list[Result]:
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
                    runner.run(set_triggers(deployed, enabled, rollup))
                    stats = Stats()
                    for _ in range(requests):
                        stats.add_ns(runner.run(mover.move_once()))
                    p50s[enabled].append(stats.p50)
                    label = "on " if enabled else "off"
                    print(f"[{TAG}] round {number + 1} triggers {label}: p50 {stats.p50:.3f} ms")
        finally:
            runner.run(set_triggers(deployed, True, rollup))
            runner.run(app.dispose())
            runner.close()
    with_rollup, without = median(p50s[True]), median(p50s[False])
    return [
        Result(
            TAG,
            f"deal move p50, {rollup} triggers on",
            with_rollup,
            "ms",
            f"≤ {MOVE_BUDGET_MS:g} ms",
            with_rollup <= MOVE_BUDGET_MS,
        ),
        Result(TAG, f"deal move p50, {rollup} triggers off", without, "ms"),
        Result(TAG, f"{rollup} on / off", with_rollup / without, "x"),
    ]


def main() -> None:
    parser = common_args(__doc__ or "", rounds=6, requests=200)
    parser.add_argument("--rollup", choices=sorted(ROLLUPS), default="open_deal_totals")
    args = parser.parse_args()
    print_machine()
    results = run(args.rounds, args.requests, args.rollup)
    finish(results, f"What the {args.rollup} rollup costs the move", args.json)
    sys.exit(0)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
