"""When the database cannot be reached, or every connection stays busy, a request
answers 503 with Retry-After — a problem for the API, a page for people — never a
500; the next request after the server is back works again."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.engine import URL

from baton.app import create_app
from baton.config import Settings
from baton.core.problems import PROBLEM_JSON
from baton.core.request_transaction import SESSION_COOKIE
from baton.db.engine import Database
from baton.identity.credentials import CredentialPrefix, issue
from tests.conftest import direct_app_url
from tests.factories import register_tenant
from tests.pooler import free_port


def _client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "2"
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["type"].endswith("/database-unavailable")
    assert "nothing was changed" in body["detail"]


async def test_no_server_listening_answers_503_to_the_api_and_to_people(
    settings: Settings,
) -> None:
    # A port nothing listens on: every connection attempt is refused.
    nowhere: URL = direct_app_url(settings).set(host="127.0.0.1", port=free_port())
    db = Database(nowhere, pool_size=1, max_overflow=0)
    try:
        async with _client(create_app(settings, db)) as client:
            # Well-formed credentials: checking them needs the database.
            token = issue(CredentialPrefix.BEARER, uuid.uuid4()).raw
            session = issue(CredentialPrefix.SESSION, uuid.uuid4()).raw
            _assert_unavailable(
                await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            )
            client.cookies.set(SESSION_COOKIE, session)
            page = await client.get("/accounts")
            assert page.status_code == 503
            assert page.headers["content-type"].startswith("text/html")
            assert "cannot reach its database" in page.text
            assert 'href="/' in page.text  # the page keeps its way back
    finally:
        await db.dispose()


async def test_connections_cut_by_the_server_answer_503_once_then_the_pool_renews(
    settings: Settings, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    db = Database(direct_app_url(settings), pool_size=2, max_overflow=0)
    try:
        async with _client(create_app(settings, db)) as own:
            first = await own.get("/api/v1/me", headers=admin.headers)
            assert first.status_code == 200, first.text
            # Both of the pool's connections, cut by the server (as a restart or an
            # administrator's pg_terminate_backend does).
            async with db.engine.connect() as one, db.engine.connect() as two:
                pids = [await c.scalar(text("SELECT pg_backend_pid()")) for c in (one, two)]
            for pid in pids:
                assert await owner_conn.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
            await asyncio.sleep(0.2)  # the driver reads the server's goodbye while idle
            # The first request meets a dead connection; it renews the whole pool, so
            # the next one does not meet the other.
            _assert_unavailable(await own.get("/api/v1/me", headers=admin.headers))
            again = await own.get("/api/v1/me", headers=admin.headers)
            assert again.status_code == 200, again.text
    finally:
        await db.dispose()


async def test_every_connection_busy_past_the_wait_answers_503_overloaded(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    admin = await register_tenant(client)
    db = Database(direct_app_url(settings), pool_size=1, max_overflow=0, pool_timeout=0.5)
    try:
        async with _client(create_app(settings, db)) as own, db.engine.connect() as held:
            await held.execute(text("SELECT 1"))  # the pool's one connection, kept busy
            response = await own.get("/api/v1/me", headers=admin.headers)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.json()["type"].endswith("/overloaded")
            assert "nothing was changed" in response.json()["detail"]
    finally:
        await db.dispose()
