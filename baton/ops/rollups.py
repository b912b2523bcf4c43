"""`baton db rebuild-rollups`: write the reports' rollups back from their base rows.

The rollups are kept exact by triggers in every write's transaction; a rebuild is the
repair for what bypasses triggers (`session_replication_role = replica`, a partial
restore) and what `baton doctor` reports. It is idempotent: each organization's rows
are deleted and recomputed in one transaction that holds deals against writes
(SHARE: reads go on), so no write lands between the recomputation and its commit.
Organization by organization, scoped as the doctor's per-tenant path is, so it works
for an owner role that row-level security binds as well as for a superuser.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from baton.db import ddl


async def rebuild_open_deal_totals(conn: AsyncConnection, tenant_id: uuid.UUID) -> int:
    """Replace one organization's `open_deal_totals` by the recomputation from its
    deals (in `conn`'s transaction); returns the rows written."""
    await conn.execute(
        text(
            "SELECT set_config('baton.tenant_id', :tenant, true),"
            " set_config('baton.role', 'admin', true),"
            " set_config('baton.user_id', '', true)"
        ),
        {"tenant": str(tenant_id)},
    )
    await conn.execute(text("LOCK TABLE deals IN SHARE MODE"))
    await conn.execute(
        text("DELETE FROM open_deal_totals WHERE tenant_id = :tenant"), {"tenant": tenant_id}
    )
    written = await conn.execute(text(ddl.OPEN_DEAL_TOTALS_REBUILD), {"tenant": tenant_id})
    return written.rowcount


async def rebuild_workflow_moves(conn: AsyncConnection, tenant_id: uuid.UUID) -> int:
    """Replace one organization's ledger rollups (`workflow_move_days`,
    `step_duration_days`) by the recomputation from its workflow history, holding the
    ledger against writes (in `conn`'s transaction, tenant already set); returns the
    rows written."""
    await conn.execute(text("LOCK TABLE workflow_history IN SHARE MODE"))
    rows = 0
    for delete in (
        "DELETE FROM workflow_move_days WHERE tenant_id = :tenant",
        "DELETE FROM step_duration_days WHERE tenant_id = :tenant",
    ):
        await conn.execute(text(delete), {"tenant": tenant_id})
    for statement in ddl.WORKFLOW_MOVES_REBUILD:
        rows += (await conn.execute(text(statement), {"tenant": tenant_id})).rowcount
    return rows


async def rebuild_activity_days(conn: AsyncConnection, tenant_id: uuid.UUID) -> int:
    """Replace one organization's `activity_days` by the recomputation from its
    activities, holding them against writes (in `conn`'s transaction, tenant already
    set); returns the rows written."""
    await conn.execute(text("LOCK TABLE activities IN SHARE MODE"))
    await conn.execute(
        text("DELETE FROM activity_days WHERE tenant_id = :tenant"), {"tenant": tenant_id}
    )
    written = await conn.execute(text(ddl.ACTIVITY_DAYS_REBUILD), {"tenant": tenant_id})
    return written.rowcount


async def rebuild_rollups(owner: URL, slug: str | None = None) -> dict[str, dict[str, int]]:
    """Rebuild every organization's rollups (or the one `slug` names), each in its own
    transaction; returns the rows written per organization slug and rollup."""
    engine = create_async_engine(owner, poolclass=NullPool)
    written: dict[str, dict[str, int]] = {}
    try:
        async with engine.connect() as conn:
            if slug is None:
                tenants = list((await conn.execute(text("SELECT baton_tenant_ids()"))).scalars())
            else:
                found = await conn.scalar(
                    text("SELECT baton_tenant_for_slug(:slug)"), {"slug": slug}
                )
                tenants = [found] if found is not None else []
            await conn.rollback()
            for tenant_id in tenants:
                async with conn.begin():
                    rows = {
                        "open deal total": await rebuild_open_deal_totals(conn, tenant_id),
                        "workflow move": await rebuild_workflow_moves(conn, tenant_id),
                        "activity day": await rebuild_activity_days(conn, tenant_id),
                    }
                    name = await conn.scalar(
                        text("SELECT slug FROM tenants WHERE id = :tenant"), {"tenant": tenant_id}
                    )
                    written[str(name)] = rows
    finally:
        await engine.dispose()
    return written
