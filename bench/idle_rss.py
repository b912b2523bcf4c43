"""Idle memory of the `baton serve` process after start-up and a few requests.

Budget (platform foundation): idle RSS ≤ 150 MB for the server process.

VmRSS (and the peak, VmHWM) come from /proc/<pid>/status of the `baton serve`
process (uvicorn runs in it; one process, no workers). The embedded PostgreSQL is a
separate process tree and is reported apart: summed RSS counts its shared buffers
once per process, so its summed PSS (/proc/<pid>/smaps_rollup) is given as well.

    .venv/bin/python -m bench.idle_rss
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
import uuid

from bench.harness import (
    Http,
    Result,
    deployment,
    print_machine,
    print_table,
    serving,
    timed_calls,
    write_json,
)

BENCH = "idle_rss"
BUDGET_MB = 150.0
SETTLE_S = 2.0


def mb(kib: int) -> float:
    """KiB → MB (10^6 bytes), the budget's unit."""
    return kib * 1024 / 1e6


def warm_up(client: Http) -> int:
    """A few requests of every kind a fresh server sees; returns how many."""
    token = client.login()
    auth = {"authorization": f"Bearer {token}"}
    posting = {**auth, "content-type": "application/json"}
    body = json.dumps({"name": "rss-key"}).encode()
    count = 1
    for path in ("/api/v1/me", "/api/v1/users", "/api/v1/api-keys", "/healthz", "/readyz"):
        timed_calls(client, 50, "GET", path, auth)
        count += 50
    timed_calls(client, 20, "POST", "/api/v1/api-keys", posting, body, expect=201)
    timed_calls(
        client,
        20,
        "POST",
        "/api/v1/api-keys",
        posting,
        body,
        expect=201,
        fresh_headers=lambda: {**posting, "idempotency-key": uuid.uuid4().hex},
    )
    timed_calls(client, 5, "GET", "/metrics", {})
    timed_calls(client, 5, "GET", "/login", {})  # a server-rendered page (templates)
    return count + 50


def run() -> list[Result]:
    print("\n[embedded] idle memory of baton serve")
    with deployment("embedded") as deployed, serving(deployed) as server:
        time.sleep(SETTLE_S)
        at_ready = server.memory()
        client = Http(server.port)
        try:
            requests = warm_up(client)
        finally:
            with contextlib.suppress(OSError):
                client.close()
        time.sleep(SETTLE_S)
        idle = server.memory()
        pg_count, pg = deployed.postgres_memory()
    idle_mb = mb(idle.rss_kib)
    print(
        f"  server RSS {mb(at_ready.rss_kib):.1f} MB at ready, {idle_mb:.1f} MB idle after"
        f" {requests} requests (peak {mb(idle.hwm_kib):.1f} MB); embedded PostgreSQL:"
        f" {pg_count} processes, RSS sum {mb(pg.rss_kib):.1f} MB, PSS sum {mb(pg.pss_kib):.1f} MB"
    )
    return [
        Result(
            BENCH,
            f"server VmRSS, idle after start + {requests} requests",
            idle_mb,
            "MB",
            f"≤ {BUDGET_MB:g} MB",
            idle_mb <= BUDGET_MB,
            f"{idle.rss_kib / 1024:.1f} MiB",
        ),
        Result(BENCH, "server VmRSS right after /readyz 200", mb(at_ready.rss_kib), "MB"),
        Result(BENCH, "server VmHWM (peak)", mb(idle.hwm_kib), "MB"),
        Result(BENCH, "server PSS", mb(idle.pss_kib), "MB"),
        Result(
            BENCH,
            "embedded PostgreSQL, RSS summed over its processes",
            mb(pg.rss_kib),
            "MB",
            note=f"{pg_count} processes; shared memory counted in each",
        ),
        Result(BENCH, "embedded PostgreSQL, PSS summed", mb(pg.pss_kib), "MB"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    print_machine()
    results = run()
    print_table(results, "Idle memory")
    write_json(args.json, results, {})


if __name__ == "__main__":
    main()
