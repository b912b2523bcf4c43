"""Authenticated GET /api/v1/me over real HTTP against a raw asyncpg baseline.

Budget (platform foundation): p50 ≤ 2 ms on one client.

The client (this process) keeps one HTTP/1.1 connection open to a `baton serve`
process and times each request from send to the last body byte. In the same rounds,
chunk by chunk, it runs the SQL that request makes straight through asyncpg as the app
role (statements taken from baton's own modules, so the baseline follows the code):

- the per-token rate-limit upsert (`baton.core.rate_limit._HIT_DRIVER_SQL`) as one autocommit
  statement, on a connection of its own (baton checks one out of the pool for it and
  returns it before the request's transaction starts),
- BEGIN; `baton.identity.queries.AUTHENTICATE` (`baton_authenticate(...)`: tenant and
  request id, credential lookup, user and role in one statement); COMMIT.

That is 4 round trips, as baton sends them. GET /healthz (no database, no transaction
middleware) gives the HTTP floor. A second server logging at INFO, run in the same
rounds, prices the per-request log line.

    .venv/bin/python -m bench.me_latency [--backend embedded|local|both] [--rounds 5] [-n 2000]
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from bench.harness import (
    Deployment,
    Http,
    QuietWaiter,
    Result,
    Round,
    Server,
    Stats,
    TokenParts,
    Variant,
    backends_of,
    close_quietly,
    common_args,
    connect_counter_and_tx,
    deployment,
    finish,
    measure_interleaved,
    new_loop_runner,
    noise_note,
    percentile_rows,
    print_machine,
    round_median,
    round_ratio,
    run_backends,
    serving,
    timed_calls,
)

BENCH = "me_latency"
BUDGET_P50_MS = 2.0
CHUNK = 250
WARMUP = 300
# The INFO-logging server only answers the "what does logging cost" question.
INFO_SHARE = 0.5


class RawBaseline:
    """GET /me's SQL on raw asyncpg connections (one for the upsert, one for the rest)."""

    def __init__(self, deployed: Deployment, token: str) -> None:
        from baton.core.rate_limit import _HIT_DRIVER_SQL
        from baton.identity.queries import AUTHENTICATE

        self.token = TokenParts.of(token)
        self.bucket = self.token.bucket("baseline")
        self.sql_hit = _HIT_DRIVER_SQL
        self.authenticate = AUTHENTICATE
        self.connect_kwargs = deployed.app_connect_kwargs()
        self.runner = new_loop_runner()
        self.hit_conn: Any = None
        self.tx_conn: Any = None

    def open(self) -> None:
        self.hit_conn, self.tx_conn = self.runner.run(connect_counter_and_tx(self.connect_kwargs))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.runner.run(close_quietly(self.hit_conn, self.tx_conn))
        self.runner.close()

    def run(self, count: int) -> Stats:
        return self.runner.run(self._run(count))

    async def _run(self, count: int) -> Stats:
        stats = Stats()
        clock = time.perf_counter_ns
        hit_conn, tx_conn, token = self.hit_conn, self.tx_conn, self.token
        sql_hit, authenticate = self.sql_hit, self.authenticate
        for i in range(count):
            started = clock()
            await hit_conn.fetchrow(sql_hit, self.bucket)
            async with tx_conn.transaction():
                row = await tx_conn.fetchrow(
                    authenticate.sql,
                    *authenticate.args(
                        tenant_id=token.tenant_id,
                        digest=token.digest,
                        prefix=token.prefix,
                        request_id=f"{i:032x}",
                    ),
                )
            stats.add_ns(clock() - started)
            if row is None:
                raise RuntimeError("baseline authentication found no credential")
        return stats


def report_round(number: int, result: Round) -> None:
    me, raw = result.stats["me"], result.stats["raw"]
    print(
        f"  round {number}: /me p50 {me.p50:.3f} p90 {me.p90:.3f} p99 {me.p99:.3f} ms"
        f" | raw p50 {raw.p50:.3f} ms | ratio {me.p50 / raw.p50:.2f}x"
        f" | other load {result.foreign_during:.0%}"
    )


def bench_backend(
    backend: str, rounds: int, requests: int, *, info: bool, quiet: QuietWaiter
) -> list[Result]:
    print(f"\n[{backend}] GET /api/v1/me, {rounds} rounds x {requests} requests per variant")
    log_bytes = 0
    log_format = ""
    with deployment(backend) as deployed, contextlib.ExitStack() as stack:
        log_format = "JSON lines" if deployed.env_name == "prod" else "console lines"
        server = stack.enter_context(serving(deployed))
        servers = [server]
        client = Http(server.port)
        stack.callback(client.close)
        token = client.login()
        auth = {"authorization": f"Bearer {token}"}
        baseline = RawBaseline(deployed, token)
        baseline.open()
        stack.callback(baseline.close)
        variants: dict[str, Variant] = {
            "me": lambda n: timed_calls(client, n, "GET", "/api/v1/me", auth),
            "raw": baseline.run,
            "healthz": lambda n: timed_calls(client, n, "GET", "/healthz", {}),
        }
        info_server: Server | None = None
        if info:
            info_server = stack.enter_context(serving(deployed, log_level="INFO"))
            servers.append(info_server)
            info_client = Http(info_server.port)
            stack.callback(info_client.close)
            info_auth = {"authorization": f"Bearer {info_client.login()}"}
            variants["me_info"] = lambda n: timed_calls(
                info_client, n, "GET", "/api/v1/me", info_auth
            )
        measured = measure_interleaved(
            variants,
            rounds=rounds,
            requests=requests,
            chunk=CHUNK,
            warmup=WARMUP,
            our_pids=lambda: [s.pid for s in servers] + deployed.postgres_pids(),
            quiet=quiet,
            report=report_round,
            share={"me_info": INFO_SHARE},
        )
        if info_server is not None:
            log_bytes = info_server.log_path.stat().st_size

    def med(name: str, q: float = 50) -> float:
        return round_median(measured, name, q)

    me_p50 = med("me")
    tag = f"{BENCH}[{backend}]"
    results = [
        Result(
            tag,
            "GET /me p50",
            me_p50,
            "ms",
            f"≤ {BUDGET_P50_MS:g} ms",
            me_p50 <= BUDGET_P50_MS,
            noise_note(measured),
        ),
        *percentile_rows(tag, measured, "me", "GET /me", (90, 99)),
        *percentile_rows(tag, measured, "raw", "raw asyncpg, same SQL (4 round trips)"),
        Result(tag, "ratio /me ÷ raw (p50)", round_ratio(measured, "me", "raw"), "x"),
        Result(tag, "/me - raw (p50)", me_p50 - med("raw"), "ms"),
        Result(tag, "GET /healthz p50 (HTTP floor, no DB)", med("healthz"), "ms"),
    ]
    if info:
        total = (WARMUP + rounds * requests) * INFO_SHARE
        results += [
            Result(tag, "GET /me p50, server logging at INFO", med("me_info"), "ms"),
            Result(
                tag,
                "ratio INFO ÷ WARNING (p50)",
                round_ratio(measured, "me_info", "me"),
                "x",
                note=f"~{log_bytes / total:.0f} log bytes/request, {log_format}",
            ),
        ]
    return results


def run(
    backends: list[str],
    rounds: int = 5,
    requests: int = 2000,
    info_on: str = "embedded",
    quiet_wait: float = 20.0,
) -> list[Result]:
    quiet = QuietWaiter(quiet_wait)
    return run_backends(
        backends,
        lambda backend: bench_backend(
            backend, rounds, requests, info=backend == info_on, quiet=quiet
        ),
    )


def main() -> None:
    parser = common_args(__doc__.splitlines()[0], rounds=5, requests=2000)
    parser.add_argument(
        "--info-on",
        choices=["embedded", "local", "none"],
        default="embedded",
        help="backend on which to also run an INFO-logging server",
    )
    args = parser.parse_args()
    print_machine()
    results = run(
        backends_of(args.backend), args.rounds, args.requests, args.info_on, args.quiet_wait
    )
    finish(results, "GET /api/v1/me", args.json)


if __name__ == "__main__":
    main()
