"""Time from `baton serve` to GET /readyz → 200 on an existing data dir.

Budget (platform foundation): ready ≤ 5 s after `baton serve` on an existing data dir.

A fresh data dir is prepared with `baton db upgrade` and `baton demo` (each of which
starts and stops the embedded PostgreSQL). Then `baton serve` is started and stopped
(Ctrl-C, which also stops the embedded PostgreSQL) several times; the first start is
reported apart, the budget figure is the median of the later ones: the "second start"
of an install whose database is not running. Each start is split at the banner line
`baton serve` prints just before uvicorn starts (imports + embedded PostgreSQL start +
migration check + app construction) and the rest (uvicorn start-up, lifespan, first
pool connection, the /readyz query). Finally a second server is started while a first
one keeps PostgreSQL running: that isolates what the embedded server's boot costs.

    .venv/bin/python -m bench.startup [--starts 4]
"""

from __future__ import annotations

import argparse
import subprocess
import time

from bench.harness import (
    Deployment,
    Result,
    Server,
    baton_command,
    deployment,
    median,
    print_machine,
    print_table,
    write_json,
)

BENCH = "startup"
BUDGET_S = 5.0


def one_start(deployed: Deployment, *, expect_postgres_down: bool) -> tuple[float, float]:
    """(seconds to ready, seconds to the banner) of one `baton serve`, then stop it."""
    if expect_postgres_down and deployed.postmaster_pid() is not None:
        raise RuntimeError("the embedded PostgreSQL is still running before a cold start")
    server = Server(deployed).start()
    try:
        ready = server.wait_ready()
        banner = (server.banner_at or time.perf_counter()) - server.started_at
    finally:
        server.stop()
    if expect_postgres_down and not deployed.wait_postgres_stopped():
        print("  note: the embedded PostgreSQL outlived `baton serve`; stopped it")
    return ready, banner


def cli_floor(deployed: Deployment) -> float:
    """Wall time of `baton version` (interpreter + CLI imports, no database)."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own console script
        [*baton_command(), "version"],
        env=deployed.env,
        cwd=deployed.data_dir,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return time.perf_counter() - started


def run(starts: int = 4) -> list[Result]:
    starts = max(2, starts)
    print(f"\n[embedded] baton serve → /readyz 200, {starts} starts on one data dir")
    with deployment("embedded") as deployed:
        timings = []
        for number in range(starts):
            ready, banner = one_start(deployed, expect_postgres_down=True)
            timings.append((ready, banner))
            print(f"  start {number + 1}: ready {ready:.3f} s (banner at {banner:.3f} s)")
        later = timings[1:]
        ready_med = median([t[0] for t in later])
        banner_med = median([t[1] for t in later])
        floor = median([cli_floor(deployed) for _ in range(3)])
        # PostgreSQL kept up by a first server: what a start costs without booting it.
        with Server(deployed) as holder:
            holder.start()
            holder.wait_ready()
            warm = [one_start(deployed, expect_postgres_down=False) for _ in range(2)]
        deployed.wait_postgres_stopped()
        warm_ready = median([w[0] for w in warm])
        print(f"  with PostgreSQL already running: ready {warm_ready:.3f} s")
    return [
        Result(
            BENCH,
            "serve → /readyz 200, existing data dir (starts 2+)",
            ready_med,
            "s",
            f"≤ {BUDGET_S:g} s",
            ready_med <= BUDGET_S,
            f"{len(later)} starts: " + ", ".join(f"{t[0]:.2f}" for t in later),
        ),
        Result(BENCH, "first start after db upgrade + demo", timings[0][0], "s"),
        Result(BENCH, "… of which until the banner (imports, PG start, checks)", banner_med, "s"),
        Result(BENCH, "… banner → ready (uvicorn, lifespan, /readyz)", ready_med - banner_med, "s"),
        Result(BENCH, "serve → ready with PostgreSQL already running", warm_ready, "s"),
        Result(BENCH, "`baton version` (interpreter + CLI imports)", floor, "s"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=4, help="starts in all (≥ 2)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    print_machine()
    results = run(args.starts)
    print_table(results, "Start-up")
    write_json(args.json, results, {})


if __name__ == "__main__":
    main()
