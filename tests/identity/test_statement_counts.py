"""List endpoints issue a constant number of SQL statements, whatever the page size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event

from baton.db.engine import Database
from tests.factories import add_member, register_tenant


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


async def test_member_and_api_key_lists_do_not_grow_with_the_page(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await register_tenant(client)
    for path in ("/api/v1/users", "/api/v1/api-keys"):
        with counted(database) as small:
            assert (await client.get(path, headers=admin.headers)).status_code == 200
        for n in range(6):
            await add_member(client, admin, "sales")
            await client.post("/api/v1/api-keys", headers=admin.headers, json={"name": f"k{n}"})
        with counted(database) as large:
            page = await client.get(path, headers=admin.headers, params={"limit": 50})
        assert len(page.json()["items"]) >= 6
        assert len(large) == len(small), (path, large)
        # authentication (scope + lookup in one) and the list itself; the rate-limit
        # counter runs on `Database.counter_pool()`, asyncpg's own pool.
        assert len(large) == 2, large
