"""Suite-wide fixtures: one migrated database per worker, the ASGI app, raw connections.

Tests do not share an outer rolled-back transaction: requests go through the real
unit of work (which commits) and race tests need real commits between sessions.
Isolation comes from each test registering its own tenant(s) with unique names, so
tenants never see each other — which RLS guarantees and the isolation tests prove.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import URL, make_url

# Configure before anything reads the settings (they are cached process-wide).
os.environ.setdefault("BATON_ENV", "test")
os.environ.setdefault("BATON_SECRET_KEY", "test-secret-key-" + "x" * 32)
os.environ.setdefault("BATON_ARGON2_TIME_COST", "1")
os.environ.setdefault("BATON_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("BATON_API_RATE_PER_MINUTE", "100000")
os.environ.setdefault("BATON_LOG_LEVEL", "WARNING")
# No job worker inside the apps the tests serve (the live servers run their lifespan):
# the job tests run workers themselves, when they choose (tests/jobs).
os.environ.setdefault("BATON_WORKER", "off")

from baton.app import create_app
from baton.config import Settings, get_settings
from baton.db import migrate
from baton.db.engine import Database
from baton.db.urls import app_url, libpq_dsn
from tests.database import (
    cluster_url,
    drop_database,
    recreate_database,
    worker_database_name,
)


@pytest.fixture(scope="session")
def owner_url() -> Iterator[URL]:
    """The worker's freshly migrated database, as its owner."""
    cluster = cluster_url()
    name = worker_database_name()
    url = asyncio.run(recreate_database(cluster, name))
    migrate.upgrade(url)
    settings = get_settings()
    asyncio.run(migrate.grant_app_role(url, settings.app_db_role, None))
    os.environ["BATON_DATABASE_URL"] = url.render_as_string(hide_password=False)
    # Webhook receivers in tests listen on 127.0.0.1 (workers started as processes
    # inherit it).
    os.environ["BATON_WEBHOOK_ALLOW_PRIVATE"] = "1"
    pooler = os.environ.get("BATON_TEST_POOLER_URL")
    if pooler:
        # The suite through a transaction-mode pooler (`.ci/run`'s third run): the app
        # role's connections go through it, flagged; migrations and the job queue
        # connect directly, as a pooled deployment does (docs/operations.md).
        direct = app_url(get_settings(), url)
        through = (
            make_url(pooler)
            .set(database=name, username=settings_role(), password=None)
            .update_query_dict({"pooler": "transaction"})
        )
        os.environ["BATON_APP_DATABASE_URL"] = through.render_as_string(hide_password=False)
        os.environ["BATON_WORKER_DATABASE_URL"] = direct.render_as_string(hide_password=False)
    get_settings.cache_clear()
    yield url
    asyncio.run(drop_database(cluster, name))


def settings_role() -> str:
    return get_settings().app_db_role


@pytest.fixture(scope="session")
def settings(owner_url: URL) -> Settings:
    return get_settings()


def make_settings(base: Settings, **overrides: Any) -> Settings:
    return base.model_copy(update=overrides)


def direct_app_url(settings: Settings, owner: URL | None = None) -> URL:
    """The app role straight to PostgreSQL (`owner`'s database, else the worker's),
    also in the run through a pooler, whose `BATON_APP_DATABASE_URL` names the
    worker's database alone."""
    return app_url(make_settings(settings, app_database_url=None), owner)


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database(app_url(settings), pool_size=5, max_overflow=10)
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database) -> Any:
    return create_app(settings, database)


def random_address() -> str:
    # Each client has its own address, so the per-address login limiter of one
    # test never blocks another.
    return f"127.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    # Like a real server: an unhandled error is a 500 answer, not an exception here.
    transport = httpx.ASGITransport(
        app=app, client=(random_address(), 40000), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def owner_conn(owner_url: URL) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection as the table owner (superuser in tests): sees every tenant."""
    conn = await asyncpg.connect(libpq_dsn(owner_url))
    yield conn
    await conn.close()


@pytest.fixture
async def app_conn(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection as the app role: what a bug in Python could do at worst.
    Direct, also when the app goes through a pooler: its session is the test's."""
    conn = await asyncpg.connect(libpq_dsn(direct_app_url(settings)))
    yield conn
    await conn.close()
