"""A deal move on the driver's transaction whose connection the server cut while it sat
idle in the pool (a restart's or `pg_terminate_backend`'s FATAL, read by asyncpg only
when the connection is next used) answers 503 — retry, nothing changed — or succeeds on
a new connection; never a 500 (the soak's fault windows saw asyncpg's "another operation
is in progress" and "released back to the pool" become 500s: when the farewell lands
between the pool's check and the request's first statement; here the pool usually sees
the closed connection first, and the move must then succeed and be recorded once)."""

from __future__ import annotations

import asyncpg
import httpx

from baton.app import create_app
from baton.config import Settings
from baton.db.engine import Database
from tests.conftest import direct_app_url
from tests.deals.conftest import Org

CUTS = 12


async def test_a_cut_driver_connection_answers_503_or_moves_never_500(
    settings: Settings, client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    db = Database(direct_app_url(settings), pool_size=2, max_overflow=0)
    transport = httpx.ASGITransport(app=create_app(settings, db), raise_app_exceptions=False)
    statuses: list[int] = []
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as own:
            steps = ["discovery", "prospecting"]
            for cut in range(CUTS):
                target = steps[cut % 2]
                warmed = await org.move(own, deal, target)
                assert warmed.status_code == 200, warmed.text
                deal = warmed.json()["deal"]
                pool = await db.driver_transaction_pool()
                async with pool.acquire() as held:
                    pid = await held.fetchval("SELECT pg_backend_pid()")
                assert await owner_conn.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
                # At once: the farewell waits unread in the idle connection's socket.
                answer = await org.move(own, deal, steps[(cut + 1) % 2])
                statuses.append(answer.status_code)
                assert answer.status_code in (200, 503), answer.text
                if answer.status_code == 503:
                    assert answer.json()["type"].endswith("/database-unavailable")
                    answer = await org.move(own, deal, steps[(cut + 1) % 2])
                    assert answer.status_code == 200, answer.text  # a new connection
                deal = answer.json()["deal"]
                back = await org.move(own, deal, target)
                assert back.status_code == 200, back.text
                deal = back.json()["deal"]
    finally:
        await db.dispose()
    history = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE record_id = $1", deal["id"]
    )
    # Created, then three moves per cut, every acknowledged one recorded once.
    assert history == 1 + 3 * CUTS, statuses
