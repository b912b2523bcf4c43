"""/readyz says "not ready" when the schema is behind the code or missing."""

from __future__ import annotations

import asyncpg
import httpx

from baton.app import create_app
from baton.config import Settings
from baton.db.engine import Database
from baton.db.urls import libpq_dsn
from tests.database import cluster_url, drop_database, recreate_database, worker_database_name


async def test_readyz_is_503_until_the_schema_is_at_head(settings: Settings) -> None:
    cluster = cluster_url()
    name = worker_database_name("_unmigrated")
    url = await recreate_database(cluster, name)
    db = Database(url, pool_size=1, max_overflow=0)
    try:
        transport = httpx.ASGITransport(app=create_app(settings, db))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            empty = await client.get("/readyz")
            assert empty.status_code == 503
            assert empty.json()["status"] == "unavailable"

            conn = await asyncpg.connect(libpq_dsn(url))
            await conn.execute(
                "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
                " INSERT INTO alembic_version VALUES ('0000older')"
            )
            await conn.close()
            behind = await client.get("/readyz")
            assert behind.status_code == 503
            assert behind.json()["status"] == "migrations pending"
            assert behind.json()["current"] == "0000older"

            assert (await client.get("/healthz")).status_code == 200
    finally:
        await db.dispose()
        await drop_database(cluster, name)
