"""A bulk action against the same changes made one request at a time, over real HTTP.

    .venv/bin/python -m bench.bulk [--backend embedded|local|both] [--rounds R] [-n ROWS]

The demo organization's admin makes `ROWS` accounts (default 200, the most a request
does in place), then, alternating within each round: the accounts' tags changed by
`ROWS` sequential `PATCH /api/v1/accounts/{id}` requests (the single change, the
baseline), and a tag added to all of them by one `POST /api/v1/accounts/bulk`
(`add_tag`: each row the same service function, in its own savepoint). Both write
one audited change per account. Reported: the medians over rounds of the whole
batch's wall time, per row, and the ratio bulk ÷ singles (same run, same server).
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid

from bench.harness import (
    Http,
    QuietWaiter,
    Result,
    backends_of,
    common_args,
    deployment,
    finish,
    median,
    print_machine,
    run_backends,
    serving,
)

BENCH = "bulk"


def bench_backend(backend: str, rounds: int, rows: int, quiet: QuietWaiter) -> list[Result]:
    print(
        f"\n[{backend}] {rows} accounts: {rows} PATCH vs one POST /accounts/bulk, {rounds} rounds"
    )
    with deployment(backend) as deployed, contextlib.ExitStack() as stack:
        server = stack.enter_context(serving(deployed))
        client = Http(server.port)
        stack.callback(client.close)
        headers = {
            "authorization": f"Bearer {client.login()}",
            "content-type": "application/json",
        }
        versions: dict[str, int] = {}
        run = uuid.uuid4().hex[:8]
        for n in range(rows):
            body = json.dumps({"name": f"Bulk bench {run} {n}"}).encode()
            status, raw = client.call("POST", "/api/v1/accounts", body, headers)
            assert status == 201, raw
            created = json.loads(raw)
            versions[created["id"]] = created["version"]
        ids = list(versions)

        def singles(round_number: int) -> float:
            started = time.perf_counter_ns()
            for account_id in ids:
                body = json.dumps(
                    {"tags": [f"single-{round_number}"], "version": versions[account_id]}
                ).encode()
                status, raw = client.call("PATCH", f"/api/v1/accounts/{account_id}", body, headers)
                assert status == 200, raw
                versions[account_id] = json.loads(raw)["version"]
            return (time.perf_counter_ns() - started) / 1e6

        def bulk(round_number: int) -> float:
            body = json.dumps(
                {"ids": ids, "action": "add_tag", "tag": f"bulk-{round_number}"}
            ).encode()
            started = time.perf_counter_ns()
            status, raw = client.call("POST", "/api/v1/accounts/bulk", body, headers)
            elapsed = (time.perf_counter_ns() - started) / 1e6
            assert status == 200, raw
            assert json.loads(raw)["counts"] == {"updated": rows}, raw
            for account_id in ids:
                versions[account_id] += 1
            return elapsed

        singles(0)  # warm-up
        bulk(0)
        single_ms: list[float] = []
        bulk_ms: list[float] = []
        for number in range(1, rounds + 1):
            quiet.wait()
            single_ms.append(singles(number))
            bulk_ms.append(bulk(number))
            print(
                f"  round {number}: {rows} singles {single_ms[-1]:.0f} ms"
                f" | bulk {bulk_ms[-1]:.0f} ms | ratio {bulk_ms[-1] / single_ms[-1]:.2f}"
            )
    tag = f"{BENCH}[{backend}]"
    return [
        Result(tag, f"{rows} PATCH /accounts/{{id}}, one after another", median(single_ms), "ms"),
        Result(tag, f"one POST /accounts/bulk of {rows} rows", median(bulk_ms), "ms"),
        Result(tag, "per row, singles", median(single_ms) / rows, "ms"),
        Result(tag, "per row, bulk", median(bulk_ms) / rows, "ms"),
        Result(
            tag,
            "ratio bulk ÷ singles",
            median([b / s for b, s in zip(bulk_ms, single_ms, strict=True)]),
            "x",
        ),
    ]


def run(
    backends: list[str], rounds: int = 5, rows: int = 200, quiet_wait: float = 20.0
) -> list[Result]:
    quiet = QuietWaiter(quiet_wait)
    return run_backends(backends, lambda backend: bench_backend(backend, rounds, rows, quiet))


def main() -> None:
    parser = common_args(__doc__.splitlines()[0], rounds=5, requests=200)
    args = parser.parse_args()
    print_machine()
    results = run(backends_of(args.backend), args.rounds, args.requests, args.quiet_wait)
    finish(results, "Bulk actions", args.json)


if __name__ == "__main__":
    main()
