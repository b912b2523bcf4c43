"""The PostgreSQL the suite runs against: `BATON_TEST_DATABASE_URL` or the embedded one.

Every xdist worker gets its own database, created fresh and built by running the
Alembic migrations (never `create_all`), then granted to the app role exactly as
`baton db upgrade` does.
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL, make_url

from baton.db.embedded import embedded_owner_url
from baton.db.urls import libpq_dsn

REPO = Path(__file__).resolve().parent.parent
EMBEDDED_DIR = REPO / ".baton" / "test-server"


def cluster_url() -> URL:
    raw = os.environ.get("BATON_TEST_DATABASE_URL") or embedded_owner_url(EMBEDDED_DIR)
    url = make_url(raw)
    return url.set(drivername="postgresql+asyncpg")


def worker_database_name(suffix: str = "") -> str:
    """Unique per worker process, so concurrent test runs on one cluster never collide."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"baton_test_{worker}_{os.getpid()}{suffix}"


async def recreate_database(cluster: URL, name: str) -> URL:
    admin = await asyncpg.connect(libpq_dsn(cluster))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return cluster.set(database=name)


async def drop_database(cluster: URL, name: str) -> None:
    admin = await asyncpg.connect(libpq_dsn(cluster))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
