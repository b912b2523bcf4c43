"""Every benchmark in one run, then one summary table (the Makefile's `make bench`).

    .venv/bin/python -m bench.run_all [--quick] [--no-local] [--json results.json]

Bounded: under 10 minutes on the 2-core development machine. The sales-core bench
(`bench.sales`) generates its data set once (cached under `.bench/`, keyed by the
migration head) and reuses it afterwards.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable

from bench import (
    claims,
    idempotency_overhead,
    idle_rss,
    me_latency,
    sales,
    serve_workers,
    startup,
    work_item_move,
    workflow_validation,
)
from bench.harness import (
    Result,
    local_postgres_available,
    machine_info,
    print_machine,
    print_table,
    write_json,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    parser.add_argument(
        "--no-local", action="store_true", help="skip the local PostgreSQL at 127.0.0.1:5432"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=6.0,
        help="per benchmark: seconds to wait in all for other load on the machine to pass",
    )
    parser.add_argument("--json", help="also write every result to this file")
    parser.add_argument(
        "--only-sales",
        action="store_true",
        help="only the sales-core bench (100 000 deals; cached data set)",
    )
    parser.add_argument("--no-sales", action="store_true", help="skip the sales-core bench")
    parser.add_argument(
        "--no-claims",
        action="store_true",
        help="skip the lead-journey bench (100 000 leads, 32 claimers; data generated fresh)",
    )
    args = parser.parse_args()

    quick = args.quick
    wait = args.quiet_wait
    me_rounds, local_rounds, idem_rounds = (2, 2, 2) if quick else (5, 3, 3)
    me_requests = 2000
    idem_requests = 500 if quick else 1000
    # The INFO-logging server runs where BATON_ENV=prod (JSON lines, as in production):
    # on the local PostgreSQL, since prod refuses the embedded one.
    use_local = not args.no_local and local_postgres_available()
    if not args.no_local and not use_local:
        print("[local] PostgreSQL at 127.0.0.1:5432 not reachable: skipped")
    info_on = "local" if use_local else "embedded"
    steps: list[tuple[str, Callable[[], list[Result]]]] = [
        (
            "GET /api/v1/me (embedded PostgreSQL)",
            lambda: me_latency.run(["embedded"], me_rounds, me_requests, info_on, wait),
        ),
    ]
    if use_local:
        steps.append(
            (
                "GET /api/v1/me (local PostgreSQL 127.0.0.1:5432)",
                lambda: me_latency.run(["local"], local_rounds, me_requests, info_on, wait),
            )
        )
    steps += [
        (
            "Idempotency-Key overhead",
            lambda: idempotency_overhead.run(["embedded"], idem_rounds, idem_requests, wait),
        ),
        ("Start-up", lambda: startup.run(3 if quick else 4)),
        ("Idle memory", idle_rss.run),
        ("Workflow validation (in process)", lambda: workflow_validation.run(3 if quick else 5)),
        (
            "Work-item moves, 100 000 items (embedded PostgreSQL)",
            lambda: work_item_move.run(
                ["embedded"],
                2 if quick else 3,
                500 if quick else 1000,
                tp_rounds=1 if quick else 2,
                tp_seconds=4.0 if quick else 6.0,
                quiet_wait=wait,
            ),
        ),
    ]
    if use_local:
        steps.append(
            (
                "Deal moves at 16 clients, --workers 1 and 2 against pgbench (local PostgreSQL)",
                lambda: serve_workers.run(2 if quick else 3, 4.0 if quick else 8.0, wait),
            )
        )

    sales_step = (
        "Sales core, 100 000 deals among 1 000 tenants (embedded PostgreSQL)",
        lambda: sales.run(
            2 if quick else 3,
            300 if quick else 500,
            tp_rounds=1 if quick else 2,
            tp_seconds=4.0 if quick else 5.0,
            quiet_wait=wait,
            command="make bench" + (" (bench.run_all --quick)" if quick else ""),
            # ~30 s of one request rewriting 30 000 ranks: `python -m bench.sales` times it.
            time_rebalance=False,
        ),
    )
    claims_step = (
        "Lead journey, 100 000 leads, 32 claimers (embedded PostgreSQL)",
        lambda: claims.run(
            2 if quick else 3,
            150 if quick else 300,
            seconds=8.0 if quick else None,
            quiet_wait=wait,
        ),
    )
    if args.only_sales:
        steps = [sales_step]
    else:
        if not args.no_sales:
            steps.append(sales_step)
        if not args.no_claims:
            steps.append(claims_step)

    info = machine_info()
    print_machine(info)
    started = time.monotonic()
    results: list[Result] = []
    failed: list[str] = []
    for title, step in steps:
        step_started = time.monotonic()
        print(f"\n### {title}")
        try:
            got = step()
        except Exception:
            traceback.print_exc()
            failed.append(title)
            continue
        results += got
        print_table(got, f"{title} ({time.monotonic() - step_started:.0f} s)")
    elapsed = time.monotonic() - started

    budgets = [r for r in results if r.met is not None]
    print_table(budgets, "Summary: budgets")
    ratios = [r for r in results if r.unit == "x"]
    print_table(ratios, "Summary: ratios (same run, same machine)")
    missed = [r for r in budgets if r.met is False]
    print(
        f"\n{len(budgets) - len(missed)} of {len(budgets)} budgets met"
        + (f"; missed: {', '.join(f'{r.bench} {r.metric}' for r in missed)}" if missed else "")
        + (f"; FAILED to run: {', '.join(failed)}" if failed else "")
        + f". Total {elapsed:.0f} s."
    )
    write_json(args.json, results, {"machine": info, "elapsed_s": round(elapsed, 1)})
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
