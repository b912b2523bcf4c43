"""What an `Idempotency-Key` adds to a POST, over real HTTP.

Budget (platform foundation): an idempotent POST adds ≤ 1 ms (p50).

POST /api/v1/api-keys (creates an API key: insert, re-read, audit row) is sent with
and without an `Idempotency-Key` header, a fresh key per request, alternating in
chunks within each round, same body size either way. The difference of the two p50s
is the key's cost: an advisory lock, a lookup and the stored answer's insert, all in
the request's transaction. A replay (the same key again) is timed as well; for this
endpoint baton stores and replays a 409 instead of the one-time secret.

    .venv/bin/python -m bench.idempotency_overhead [--backend embedded|local|both]
"""

from __future__ import annotations

import contextlib
import json
import uuid

from bench.harness import (
    Http,
    QuietWaiter,
    Result,
    Round,
    Stats,
    backends_of,
    common_args,
    deployment,
    finish,
    measure_interleaved,
    median,
    noise_note,
    print_machine,
    round_median,
    run_backends,
    serving,
    timed_calls,
)

BENCH = "idempotency"
BUDGET_DELTA_MS = 1.0
CHUNK = 100
WARMUP = 200
REPLAYS = 500
PATH = "/api/v1/api-keys"
BODY = json.dumps({"name": "bench-key"}).encode()


def report_round(number: int, result: Round) -> None:
    plain, keyed = result.stats["plain"], result.stats["keyed"]
    print(
        f"  round {number}: plain p50 {plain.p50:.3f} ms | with key p50 {keyed.p50:.3f} ms"
        f" | +{keyed.p50 - plain.p50:.3f} ms | other load {result.foreign_during:.0%}"
    )


def bench_backend(backend: str, rounds: int, requests: int, quiet: QuietWaiter) -> list[Result]:
    print(f"\n[{backend}] POST {PATH}, {rounds} rounds x {requests} requests per variant")
    with deployment(backend) as deployed, contextlib.ExitStack() as stack:
        server = stack.enter_context(serving(deployed))
        client = Http(server.port)
        stack.callback(client.close)
        auth = {"authorization": f"Bearer {client.login()}", "content-type": "application/json"}
        plain_headers = dict(auth)
        # Same header bytes on the wire either way: a dummy header of the key's size
        # (both names are 15 characters).
        plain_headers["x-bench-padding"] = uuid.uuid4().hex

        def plain(n: int) -> Stats:
            return timed_calls(client, n, "POST", PATH, plain_headers, BODY, expect=201)

        def keyed(n: int) -> Stats:
            return timed_calls(
                client,
                n,
                "POST",
                PATH,
                auth,
                BODY,
                expect=201,
                fresh_headers=lambda: {**auth, "idempotency-key": uuid.uuid4().hex},
            )

        measured = measure_interleaved(
            {"plain": plain, "keyed": keyed},
            rounds=rounds,
            requests=requests,
            chunk=CHUNK,
            warmup=WARMUP,
            our_pids=lambda: [server.pid, *deployed.postgres_pids()],
            quiet=quiet,
            report=report_round,
        )
        replay_headers = {**auth, "idempotency-key": uuid.uuid4().hex}
        timed_calls(client, 1, "POST", PATH, replay_headers, BODY, expect=201)
        # An API key's answer holds a secret shown once, so baton stores a 409 in its
        # place and replays that: the replay path (lock, lookup, stored answer) all the same.
        replay = timed_calls(client, REPLAYS, "POST", PATH, replay_headers, BODY, expect=409)

    deltas = [r.stats["keyed"].p50 - r.stats["plain"].p50 for r in measured]
    delta = median(deltas)
    plain_p50 = round_median(measured, "plain", 50)
    tag = f"{BENCH}[{backend}]"
    return [
        Result(tag, "POST /api-keys p50, no key", plain_p50, "ms"),
        Result(tag, "POST /api-keys p99, no key", round_median(measured, "plain", 99), "ms"),
        Result(tag, "POST /api-keys p50, fresh Idempotency-Key", plain_p50 + delta, "ms"),
        Result(
            tag,
            "POST /api-keys p99, fresh Idempotency-Key",
            round_median(measured, "keyed", 99),
            "ms",
        ),
        Result(
            tag,
            "added by the key (p50 difference)",
            delta,
            "ms",
            f"≤ {BUDGET_DELTA_MS:g} ms",
            delta <= BUDGET_DELTA_MS,
            noise_note(measured),
        ),
        Result(tag, "ratio keyed ÷ plain (p50)", (plain_p50 + delta) / plain_p50, "x"),
        Result(
            tag,
            "replay (same key again) p50",
            replay.p50,
            "ms",
            note="stored answer is a 409: API-key secrets are never stored",
        ),
    ]


def run(
    backends: list[str], rounds: int = 3, requests: int = 2000, quiet_wait: float = 20.0
) -> list[Result]:
    quiet = QuietWaiter(quiet_wait)
    return run_backends(backends, lambda backend: bench_backend(backend, rounds, requests, quiet))


def main() -> None:
    parser = common_args(__doc__.splitlines()[0], rounds=3, requests=2000)
    args = parser.parse_args()
    print_machine()
    results = run(backends_of(args.backend), args.rounds, args.requests, args.quiet_wait)
    finish(results, "Idempotency-Key overhead", args.json)


if __name__ == "__main__":
    main()
