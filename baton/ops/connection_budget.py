"""How many database connections `baton serve` may hold, checked before it starts.

Each server process has its own pools, all sized from `BATON_DB_POOL_SIZE` and
`BATON_DB_MAX_OVERFLOW` (`baton.db.engine.Database`): SQLAlchemy's request pool, the
rate-limit counters' pool and the driver-transaction requests' pool, each up to
pool size + overflow. The inline job worker (`BATON_WORKER=inline`, in one process
only) adds procrastinate's own pool (concurrency + 2); its jobs run on the request pool.

At its peak a server holds all of that at once, so it must fit in the database's
`max_connections` minus what other clients need: the superuser slots, PostgreSQL 16's
`reserved_connections`, and `BATON_DB_CONNECTION_RESERVE` (migrations, `baton doctor`,
psql, backups, separate `baton worker` processes). A server that did not fit would
start, then fail under load with "too many clients"; it refuses to start instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import URL

from baton.config import Settings, WorkerMode
from baton.db.urls import libpq_dsn

# The pools of one process that take their size from the pool settings.
POOLS_PER_PROCESS = 3
# procrastinate's pool beyond the jobs themselves: the LISTEN connection and a spare.
WORKER_QUEUE_EXTRA = 2


@dataclass(frozen=True)
class ServerLimits:
    """What the database server allows, as `SHOW` reports it."""

    max_connections: int
    superuser_reserved: int
    # PostgreSQL 16+: slots for roles with pg_use_reserved_connections (0 before 16).
    reserved: int = 0


@dataclass(frozen=True)
class ConnectionBudget:
    """The connections `processes` server processes may hold at their peak."""

    processes: int
    per_process: int
    inline_worker: int
    available: int

    @property
    def needed(self) -> int:
        return self.processes * self.per_process + self.inline_worker

    @property
    def fits(self) -> bool:
        return self.needed <= self.available


class ConnectionBudgetExceeded(Exception):
    """The server processes' pools would not fit in the database's connections."""


def pool_connections(settings: Settings) -> int:
    """The most connections one server process's pools hold (the inline worker's aside)."""
    return POOLS_PER_PROCESS * (settings.db_pool_size + settings.db_max_overflow)


def inline_worker_connections(settings: Settings) -> int:
    """procrastinate's connections for the one inline worker; 0 when it is off."""
    if settings.worker is not WorkerMode.INLINE:
        return 0
    return settings.worker_concurrency + WORKER_QUEUE_EXTRA


def available_connections(settings: Settings, limits: ServerLimits) -> int:
    """The server's connections less the slots other clients keep."""
    return (
        limits.max_connections
        - limits.superuser_reserved
        - limits.reserved
        - settings.db_connection_reserve
    )


def budget(settings: Settings, limits: ServerLimits, processes: int) -> ConnectionBudget:
    return ConnectionBudget(
        processes=processes,
        per_process=pool_connections(settings),
        inline_worker=inline_worker_connections(settings),
        available=available_connections(settings, limits),
    )


def most_processes(settings: Settings, limits: ServerLimits) -> int:
    """How many server processes fit (0: not even one)."""
    spare = available_connections(settings, limits) - inline_worker_connections(settings)
    return max(0, spare // pool_connections(settings))


def require_fit(settings: Settings, limits: ServerLimits, processes: int) -> ConnectionBudget:
    """Refuse `processes` server processes whose pools could exceed the database's
    connections, saying what to change."""
    planned = budget(settings, limits, processes)
    if planned.fits:
        return planned
    worker = (
        f" + {planned.inline_worker} for the inline job worker" if planned.inline_worker else ""
    )
    fitting = most_processes(settings, limits)
    lines = [
        f"{processes} server process(es) could open {planned.needed} database connections"
        f" ({processes} x {planned.per_process}: {POOLS_PER_PROCESS} pools of"
        f" BATON_DB_POOL_SIZE={settings.db_pool_size} + BATON_DB_MAX_OVERFLOW="
        f"{settings.db_max_overflow}{worker}), but the database allows {planned.available}"
        f" (max_connections={limits.max_connections} less {limits.superuser_reserved}"
        f" superuser_reserved_connections"
        + (f", {limits.reserved} reserved_connections" if limits.reserved else "")
        + f" and BATON_DB_CONNECTION_RESERVE={settings.db_connection_reserve}).",
        "Fix one of:",
        (
            f"  - fewer processes: --workers {fitting} or less"
            if fitting
            else "  - fewer processes cannot help: not even one fits"
        ),
        "  - smaller pools: lower BATON_DB_POOL_SIZE and/or BATON_DB_MAX_OVERFLOW",
        "  - raise max_connections in postgresql.conf (a restart of PostgreSQL)",
    ]
    raise ConnectionBudgetExceeded("\n".join(lines))


async def read_server_limits(url: URL) -> ServerLimits:
    """`max_connections` and the reserved slots of the server at `url`."""
    conn = await asyncpg.connect(libpq_dsn(url), timeout=10)
    try:
        row = await conn.fetchrow(
            "SELECT current_setting('max_connections')::int,"
            " current_setting('superuser_reserved_connections')::int,"
            " coalesce(current_setting('reserved_connections', true), '0')::int"
        )
    finally:
        await conn.close()
    assert row is not None
    return ServerLimits(max_connections=row[0], superuser_reserved=row[1], reserved=row[2])
