"""The replica's own `?pooler=transaction` flag gives its engine the same statement
settings as the app's (no statement kept across transactions), and `/readyz` reports
the replica — up, or down with its reads on the primary — without failing readiness.

A replica engine is any URL Baton reads from READ ONLY: here the suite's own cluster,
directly or through a private PgBouncer of one server connection (tests.pooler), which
is what the statement settings matter for (named statements of two client connections
collide on one server connection)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL

from baton.app import create_app
from baton.config import Settings
from baton.db.engine import Database
from baton.db.urls import app_url, owner_url, replica_app_url
from tests.conftest import direct_app_url, make_settings, random_address
from tests.factories import Member, register_tenant, unique
from tests.pooler import INSTALL_HINT, free_port, pgbouncer_binary, running_pgbouncer


@asynccontextmanager
async def _app_with_replica(
    settings: Settings, replica: URL
) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    with_replica = make_settings(
        settings,
        app_database_url=direct_app_url(settings).render_as_string(hide_password=False),
        database_replica_url=replica.render_as_string(hide_password=False),
    )
    replica_url = replica_app_url(with_replica)
    assert replica_url is not None
    db = Database(app_url(with_replica), pool_size=3, max_overflow=2, replica_url=replica_url)
    transport = httpx.ASGITransport(
        app=create_app(with_replica, db), client=(random_address(), 40000)
    )
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, db
    finally:
        await db.dispose()


async def _accounts(client: httpx.AsyncClient, member: Member) -> set[str]:
    listed = await client.get("/api/v1/accounts?limit=200", headers=member.headers)
    assert listed.status_code == 200, listed.text
    return {item["id"] for item in listed.json()["items"]}


def _pgbouncer() -> None:
    if pgbouncer_binary() is None:
        message = f"pgbouncer is not installed ({INSTALL_HINT})"
        if "CI" in os.environ:
            pytest.fail(message)
        pytest.skip(message)


async def test_a_replica_through_a_transaction_pooler_keeps_no_statements(
    settings: Settings,
) -> None:
    _pgbouncer()
    with running_pgbouncer(pool_size=1, users=(settings.app_db_role,)) as pooler:
        through = pooler.url(owner_url(settings), username=settings.app_db_role)
        async with _app_with_replica(settings, through) as (client, db):
            assert db.replica_pooled
            assert not db.pooled  # the primary's URL has no flag: its own setting
            ada = await register_tenant(client)
            created = await client.post(
                "/api/v1/accounts", headers=ada.headers, json={"name": unique("Pooled")}
            )
            assert created.status_code == 201, created.text
            # Reads at once over several client connections of the replica's pool,
            # all on PgBouncer's one server connection, twice over: with statements
            # kept (named, cached) the second connection's would collide.
            for _ in range(2):
                seen = await asyncio.gather(*(_accounts(client, ada) for _ in range(4)))
                assert all(created.json()["id"] in ids for ids in seen)
            # They were the replica's reads: it never failed over to the primary.
            assert db.replica_available()
            assert db.replica_engine is not None
            assert db.replica_engine.pool.checkedin() > 1  # type: ignore[attr-defined]
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["replica"] == {"status": "up"}


async def test_readyz_reports_a_replica_that_is_up(settings: Settings) -> None:
    async with _app_with_replica(settings, owner_url(settings)) as (client, db):
        assert not db.replica_pooled
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        body: dict[str, Any] = ready.json()
        assert body["status"] == "ready"
        assert body["replica"] == {"status": "up"}


async def test_readyz_stays_ready_when_only_the_replica_is_down(settings: Settings) -> None:
    # Nothing listens on this port: the "replica" refuses every connection.
    down = URL.create("postgresql", username="x", host="127.0.0.1", port=free_port(), database="x")
    async with _app_with_replica(settings, down) as (client, db):
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "ready"
        assert body["replica"]["status"] == "down"
        assert body["replica"]["reads_from"] == "primary"
        assert body["replica"]["error"]
        # The check marked it down: this process's replica reads go to the primary.
        assert not db.replica_available()
        ada = await register_tenant(client)
        assert await _accounts(client, ada) == set()


async def test_readyz_without_a_replica_says_nothing_of_one(client: httpx.AsyncClient) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert "replica" not in ready.json()
