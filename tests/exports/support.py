"""Exports' statements as PostgreSQL plans them: a member's Ctx, and EXPLAIN of a
statement in it (as the app role, RLS on, the export's own settings)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from baton.config import Settings
from baton.core.context import AuthMethod, Ctx, Principal
from baton.db.driver import DriverStatement
from baton.db.engine import Database
from baton.exports.service import use_planner_settings
from baton.exports.statements import ExportStatement
from tests.factories import Member


@asynccontextmanager
async def member_ctx(database: Database, settings: Settings, member: Member) -> AsyncIterator[Ctx]:
    """A unit of work as `member` (their tenant, user and role in the transaction)."""
    async with database.session_scope(
        tenant_id=member.tenant_id, user_id=member.user_id, role=member.role, request_id="test"
    ) as session:
        yield Ctx(
            session=session,
            db=database,
            settings=settings,
            request_id="test",
            principal=Principal(
                tenant_id=member.tenant_id,
                tenant_slug=member.tenant_slug,
                tenant_name="Org",
                user_id=member.user_id,
                email=member.email,
                full_name="Member",
                membership_id=uuid.uuid4(),
                role=member.role,
                method=AuthMethod.CLI,
                credential_id=None,
            ),
            tenant_id=member.tenant_id,
        )


async def plan_of(
    ctx: Ctx, chosen: ExportStatement, query: Any, *, analyse: bool = False
) -> dict[str, Any]:
    """The plan's root node of `query` (`chosen`'s CSV or XLSX) as the export runs it:
    with the export's planner settings, in `ctx`'s transaction (RLS as the member)."""
    statement = DriverStatement.of(query)
    await use_planner_settings(ctx, chosen)
    connection = await ctx.session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    options = "ANALYZE, FORMAT JSON" if analyse else "FORMAT JSON"
    explained = await driver.fetchval(f"EXPLAIN ({options}) {statement.sql}", *statement.args())
    # The app's connections decode JSON themselves.
    document = json.loads(explained) if isinstance(explained, str) else explained
    plan: dict[str, Any] = document[0]["Plan"]
    return plan


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a plan, the root first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def above(plan: dict[str, Any], alias: str) -> list[dict[str, Any]] | None:
    """The nodes from the root down to the scan of the subquery `alias` (excluded);
    None when the plan has no such scan."""
    if plan.get("Node Type") == "Subquery Scan" and plan.get("Alias") == alias:
        return []
    for child in plan.get("Plans", []):
        path = above(child, alias)
        if path is not None:
            return [plan, *path]
    return None
