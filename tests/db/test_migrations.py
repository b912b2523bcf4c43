"""Migrations run up and down cleanly and match the models exactly."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

import baton.models  # noqa: F401
from baton.db import migrate
from baton.db.base import Base
from baton.db.urls import libpq_dsn
from baton.jobs.ddl import PROCRASTINATE_TABLES, is_procrastinate_object
from tests.database import cluster_url, drop_database, recreate_database, worker_database_name


async def _object_counts(url: URL) -> dict[str, int]:
    conn = await asyncpg.connect(libpq_dsn(url))
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'alembic_version'"
        )
        functions = await conn.fetchval(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public'"
        )
        return {"tables": int(tables), "functions": int(functions)}
    finally:
        await conn.close()


@pytest.mark.xdist_group("migrations")
async def test_upgrade_downgrade_upgrade_on_an_empty_database() -> None:
    cluster = cluster_url()
    name = worker_database_name("_updown")
    url = await recreate_database(cluster, name)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        assert await migrate.current_revision(url) == migrate.head_revision()
        created = await _object_counts(url)
        # The models' tables and procrastinate's (its schema file, the jobs migration).
        assert created["tables"] == len(Base.metadata.tables) + len(PROCRASTINATE_TABLES)
        assert created["functions"] >= 4

        await asyncio.to_thread(migrate.downgrade, url, "base")
        assert await migrate.current_revision(url) is None
        assert await _object_counts(url) == {"tables": 0, "functions": 0}

        await asyncio.to_thread(migrate.upgrade, url)
        assert await _object_counts(url) == created
    finally:
        await drop_database(cluster, name)


def _baton_objects(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """procrastinate's tables come from its own schema file, not from the models."""
    return not (type_ == "table" and is_procrastinate_object(name))


async def test_models_and_migrated_schema_do_not_differ(owner_url: URL) -> None:
    engine = create_async_engine(owner_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync, opts={"compare_type": True, "include_object": _baton_objects}
                    ),
                    Base.metadata,
                )
            )
    finally:
        await engine.dispose()
    assert diff == []
