"""What a transaction-mode pooler costs: the deal move and the board over HTTP.

One migrated database on the local PostgreSQL with the demo organization, three
`baton serve` processes on it, measured in the same rounds (variants in a new random
order each round, one client, sequential requests):

- **direct**: the app role straight to PostgreSQL, statement caches on (the default);
- **caches off**: the same connection flagged `?pooler=transaction` (no statement
  cache in asyncpg or SQLAlchemy, statements unnamed, the API budget counted before
  the transaction): what the setting alone costs;
- **PgBouncer**: through Debian's PgBouncer 1.18 in transaction mode (20 server
  connections), flagged likewise: the setting and the pooler's hop.

Each round times `-n` moves (`POST /api/v1/deals/{id}/move`, a demo deal from
Prospecting to Discovery or back) and `-n` boards (`GET /api/v1/pipeline`) per
variant; the figures are medians over rounds of each round's p50, and each variant's
ratio to **direct**.

    .venv/bin/python -m bench.pooled [--rounds 5] [-n 200] [--json FILE]
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from contextlib import ExitStack

from sqlalchemy.engine import make_url

from bench.harness import (
    LOCAL_PG_HOST,
    LOCAL_PG_PORT,
    Deployment,
    Http,
    Result,
    Server,
    Stats,
    deployment,
    finish,
    median,
    print_machine,
)
from bench.webhooks import _demo_via_owner
from tests.pooler import running_pgbouncer

VARIANTS = ("direct", "caches off", "PgBouncer")


def _server(deployed: Deployment, extra_env: dict[str, str]) -> Server:
    """`baton serve` with `extra_env` over the deployment's environment."""
    saved = deployed.env
    deployed.env = {**saved, **extra_env}
    try:
        server = Server(deployed).start()
        server.wait_ready()
        return server
    finally:
        deployed.env = saved


def _app_url(deployed: Deployment, host: str, port: int, password: str | None) -> str:
    user = deployed.app_role if password is None else f"{deployed.app_role}:{password}"
    return f"postgresql://{user}@{host}:{port}/{deployed.database}?pooler=transaction"


def run(rounds: int, requests: int) -> list[Result]:
    from baton.config import Settings
    from baton.db.urls import app_role_password

    results: list[Result] = []
    with deployment("local") as deployed, ExitStack() as stack:
        password = app_role_password(
            Settings(secret_key=deployed.secret_key, data_dir=deployed.data_dir)
        )
        cluster = make_url(f"postgresql://postgres@{LOCAL_PG_HOST}:{LOCAL_PG_PORT}/postgres")
        pooler = stack.enter_context(
            running_pgbouncer(pool_size=20, users=(deployed.app_role,), cluster=cluster)
        )
        servers = {
            "direct": _server(deployed, {}),
            "caches off": _server(
                deployed,
                {
                    "BATON_APP_DATABASE_URL": _app_url(
                        deployed, LOCAL_PG_HOST, LOCAL_PG_PORT, password
                    )
                },
            ),
            "PgBouncer": _server(
                deployed,
                {"BATON_APP_DATABASE_URL": _app_url(deployed, pooler.host, pooler.port, None)},
            ),
        }
        for server in servers.values():
            stack.callback(server.stop)
        demo = asyncio.run(_demo_via_owner(deployed))
        steps = demo["steps"]
        other = {steps["prospecting"]: steps["discovery"], steps["discovery"]: steps["prospecting"]}
        deals = [[row["id"], row["step_id"], row["version"]] for row in demo["deals"]]
        clients = {name: Http(server.port) for name, server in servers.items()}
        token = clients["direct"].login()
        auth = {"Authorization": f"Bearer {token}"}
        json_auth = {**auth, "content-type": "application/json"}
        p50s: dict[tuple[str, str], list[float]] = {}
        shuffle = random.Random(uuid.uuid4().int)
        turn = 0

        def moves(client: Http, count: int) -> Stats:
            nonlocal turn
            stats = Stats()
            for _ in range(count):
                deal = deals[turn % len(deals)]
                turn += 1
                target = other[deal[1]]
                body = json.dumps({"to_step_id": str(target), "version": deal[2]}).encode()
                started = time.perf_counter_ns()
                status, raw = client.call("POST", f"/api/v1/deals/{deal[0]}/move", body, json_auth)
                stats.add_ns(time.perf_counter_ns() - started)
                if status != 200:
                    raise RuntimeError(f"move answered {status}: {raw[:300]!r}")
                deal[1], deal[2] = target, json.loads(raw)["deal"]["version"]
            return stats

        def boards(client: Http, count: int) -> Stats:
            stats = Stats()
            for _ in range(count):
                started = time.perf_counter_ns()
                status, raw = client.call("GET", "/api/v1/pipeline", None, auth)
                stats.add_ns(time.perf_counter_ns() - started)
                if status != 200:
                    raise RuntimeError(f"board answered {status}: {raw[:300]!r}")
            return stats

        for name in VARIANTS:  # warm-up: connections, compiled workflows, plans
            moves(clients[name], 30)
            boards(clients[name], 30)
        for number in range(rounds):
            order = list(VARIANTS)
            shuffle.shuffle(order)
            for name in order:
                for what, measure in (("move", moves), ("board", boards)):
                    p50 = measure(clients[name], requests).p50
                    p50s.setdefault((what, name), []).append(p50)
            line = ", ".join(
                f"{what} {name} {p50s[(what, name)][-1]:.2f}"
                for what in ("move", "board")
                for name in VARIANTS
            )
            print(f"[pooled] round {number + 1}: {line} ms")
            sys.stdout.flush()
        for client in clients.values():
            client.close()
    for what in ("move", "board"):
        base = median(p50s[(what, "direct")])
        for name in VARIANTS:
            value = median(p50s[(what, name)])
            rounds_text = ", ".join(f"{v:.2f}" for v in p50s[(what, name)])
            results.append(
                Result(
                    "pooled",
                    f"{what} p50, {name}",
                    value,
                    "ms",
                    note=f"{value / base:.2f}x direct; rounds {rounds_text}",
                )
            )
    return results


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-n", "--requests", type=int, default=200)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    print_machine()
    finish(run(args.rounds, args.requests), "Transaction pooler", args.json)


if __name__ == "__main__":
    main()
