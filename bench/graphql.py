"""GraphQL against REST in the same run (DESIGN §7, issue 18 #3).

- **board**: `deals(first: 200, view: PIPELINE)` with each card's step, account and
  owner, against `GET /api/v1/pipeline?per_column=200` for the same 200 cards (all in
  the first column). Budget: GraphQL ≤ 1.5 times REST (medians).
- **move**: `moveDeal` Prospecting ↔ Discovery against `POST /api/v1/deals/{id}/move`
  (both without an Idempotency-Key: both run in a transaction on the driver,
  `baton.core.driver_transaction`, GraphQL's because its document is one `moveDeal`).
  Budget: GraphQL ≤ 1.3 times REST (medians).

Both run in this process through the ASGI app (httpx's ASGI transport: no sockets, so
the figures are the server's work), interleaved round by round, on a fresh database
migrated at the start:

    .venv/bin/python -m bench.graphql --database-url postgresql://postgres@127.0.0.1:5432/postgres \
        [--rounds 5] [-n 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from typing import Any

import httpx

BOARD = """query { deals(first: 200, view: PIPELINE) { edges { node { id name amount version
  step { id key name } account { id name } owner { id fullName } } }
  pageInfo { hasNextPage endCursor } } }"""
MOVE = """mutation($input: MoveDealInput!) { moveDeal(input: $input) {
  deal { id version step { key } } } }"""


async def _setup(cluster: str) -> Any:
    from sqlalchemy.engine import make_url

    from tests.database import recreate_database

    name = f"bench_graphql_{uuid.uuid4().hex[:8]}"
    url = await recreate_database(make_url(cluster), name)
    return name, url


async def bench(cluster: str, rounds: int, n: int) -> dict[str, float]:
    from sqlalchemy.engine import make_url

    from tests.database import drop_database

    name, url = await _setup(cluster)
    os.environ.update(
        BATON_ENV="test",
        BATON_SECRET_KEY="bench-secret-key-" + "x" * 32,
        BATON_API_RATE_PER_MINUTE="1000000",
        BATON_LOG_LEVEL="WARNING",
        BATON_WORKER="off",
        BATON_DATABASE_URL=url.render_as_string(hide_password=False),
    )
    from baton.app import create_app
    from baton.config import get_settings
    from baton.db import migrate

    get_settings.cache_clear()
    await asyncio.to_thread(migrate.upgrade, url)
    settings = get_settings()
    await migrate.grant_app_role(url, settings.app_db_role, None)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                return await _measure(http, rounds, n)
    finally:
        await drop_database(make_url(cluster), name)


async def _measure(http: httpx.AsyncClient, rounds: int, n: int) -> dict[str, float]:
    registered = await http.post(
        "/api/v1/auth/register",
        json={
            "organization_name": "Bench GraphQL",
            "full_name": "Ada Admin",
            "email": f"{uuid.uuid4().hex[:8]}@bench.example",
            "password": "correct-horse-battery",
        },
    )
    headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    account = await http.post("/api/v1/accounts", headers=headers, json={"name": "Bench Ltd"})
    account_id = account.json()["id"]
    deals = []
    for k in range(200):
        made = await http.post(
            "/api/v1/deals",
            headers=headers,
            json={
                "name": f"Deal {k}",
                "account_id": account_id,
                "next_step": "Call",
                "next_step_due_date": "2030-01-01",
            },
        )
        deals.append(made.json())
    flow = (await http.get("/api/v1/pipeline", headers=headers)).json()
    steps = {c["step"]["key"]: c["step"]["id"] for c in flow["columns"]}
    rest_board = await http.get("/api/v1/pipeline", headers=headers, params={"per_column": 200})
    gql_board = await http.post("/graphql", headers=headers, json={"query": BOARD})
    assert len(rest_board.json()["columns"][0]["items"]) == 200
    assert len(gql_board.json()["data"]["deals"]["edges"]) == 200
    timings: dict[str, list[float]] = {
        k: [] for k in ("rest_board", "gql_board", "rest_move", "gql_move")
    }
    versions = {d["id"]: d["version"] for d in deals}
    where = {d["id"]: "prospecting" for d in deals}

    async def timed(key: str, call: Any) -> Any:
        started = time.perf_counter()
        response = await call
        timings[key].append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        return response

    for _ in range(rounds):
        for i in range(n):
            await timed(
                "rest_board",
                http.get("/api/v1/pipeline", headers=headers, params={"per_column": 200}),
            )
            await timed("gql_board", http.post("/graphql", headers=headers, json={"query": BOARD}))
            for key in ("rest_move", "gql_move"):
                deal = deals[(i * 2 + (key == "gql_move")) % len(deals)]["id"]
                to = "discovery" if where[deal] == "prospecting" else "prospecting"
                if key == "rest_move":
                    call = http.post(
                        f"/api/v1/deals/{deal}/move",
                        headers=headers,
                        json={"to_step_id": steps[to], "version": versions[deal]},
                    )
                    body = (await timed(key, call)).json()["deal"]
                else:
                    call = http.post(
                        "/graphql",
                        headers=headers,
                        json={
                            "query": MOVE,
                            "variables": {
                                "input": {
                                    "id": deal,
                                    "toStepId": steps[to],
                                    "version": versions[deal],
                                }
                            },
                        },
                    )
                    answer = (await timed(key, call)).json()
                    assert "errors" not in answer, answer
                    body = answer["data"]["moveDeal"]["deal"]
                versions[deal] = body["version"]
                where[deal] = to
        # the board shows 200 cards only while all of them sit in Prospecting
        for deal, at in list(where.items()):
            if at != "prospecting":
                moved = await http.post(
                    f"/api/v1/deals/{deal}/move",
                    headers=headers,
                    json={"to_step_id": steps["prospecting"], "version": versions[deal]},
                )
                versions[deal] = moved.json()["deal"]["version"]
                where[deal] = "prospecting"
    return {k: statistics.median(v) * 1000 for k, v in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url", required=True, help="a PostgreSQL cluster to create a database in"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-n", type=int, default=30)
    args = parser.parse_args()
    found = asyncio.run(bench(args.database_url, args.rounds, args.n))
    board = found["gql_board"] / found["rest_board"]
    move = found["gql_move"] / found["rest_move"]
    print(
        f"board of 200: REST {found['rest_board']:.2f} ms, GraphQL {found['gql_board']:.2f} ms, "
        f"GraphQL ÷ REST {board:.2f} (budget ≤ 1.5: {'met' if board <= 1.5 else 'NOT met'})"
    )
    print(
        f"deal move:    REST {found['rest_move']:.2f} ms, GraphQL {found['gql_move']:.2f} ms, "
        f"GraphQL ÷ REST {move:.2f} (budget ≤ 1.3: {'met' if move <= 1.3 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
