"""Persistent rate limits in PostgreSQL, shared by every process, surviving restarts.

Each counter is updated in its own autocommit statement: a refused request rolls
its own transaction back, but the attempt it made must still count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.db.engine import Database

# Back-off after the limit: 30 s, doubling per further failure, capped at 15 min.
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 900

_BLOCKED = text(
    "SELECT max(extract(epoch FROM blocked_until - now())) FROM rate_limit_buckets"
    " WHERE key = ANY(:keys) AND blocked_until > now()"
)

_FAILURE = text(
    """
    INSERT INTO rate_limit_buckets AS b (key, window_started_at, hits, blocked_until, updated_at)
    VALUES (:key, now(), 1, NULL, now())
    ON CONFLICT (key) DO UPDATE SET
        window_started_at = CASE WHEN b.window_started_at < now() - make_interval(secs => :window)
                                 THEN now() ELSE b.window_started_at END,
        hits = CASE WHEN b.window_started_at < now() - make_interval(secs => :window)
                    THEN 1 ELSE b.hits + 1 END,
        updated_at = now()
    RETURNING hits
    """
)

_BLOCK = text(
    "UPDATE rate_limit_buckets SET blocked_until = now() + make_interval(secs => :seconds)"
    " WHERE key = :key"
)

_CLEAR = text("DELETE FROM rate_limit_buckets WHERE key = :key")

_HIT_DRIVER_SQL = """
    INSERT INTO rate_limit_buckets AS b (key, window_started_at, hits, updated_at)
    VALUES ($1, date_trunc('minute', now()), 1, now())
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN b.window_started_at = excluded.window_started_at
                    THEN b.hits + 1 ELSE 1 END,
        window_started_at = excluded.window_started_at,
        updated_at = now()
    RETURNING hits, extract(epoch FROM window_started_at + interval '1 minute' - now()),
        set_config('synchronous_commit', 'off', true)
"""


@dataclass(frozen=True)
class FailurePolicy:
    max_failures: int
    window_seconds: int


def backoff_seconds(failures_over_limit: int) -> int:
    """Block length once the limit is reached: exponential, capped."""
    exponent = min(max(failures_over_limit, 0), 16)
    return int(min(BACKOFF_BASE_SECONDS * 2**exponent, BACKOFF_CAP_SECONDS))


async def blocked_for(engine: AsyncEngine, keys: list[str]) -> int | None:
    """Seconds until the longest current block on any of `keys` ends, or None."""
    async with engine.connect() as conn:
        remaining = await conn.scalar(_BLOCKED, {"keys": keys})
        await conn.commit()
    return math.ceil(remaining) if remaining is not None else None


async def record_failure(engine: AsyncEngine, key: str, policy: FailurePolicy) -> int | None:
    """Count one failure on `key`; returns the block length (s) when the limit is reached."""
    async with engine.begin() as conn:
        hits = int(await conn.scalar(_FAILURE, {"key": key, "window": policy.window_seconds}))
        if hits < policy.max_failures:
            return None
        seconds = backoff_seconds(hits - policy.max_failures)
        await conn.execute(_BLOCK, {"key": key, "seconds": seconds})
        return seconds


async def clear(engine: AsyncEngine, key: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(_CLEAR, {"key": key})


async def hit(db: Database, key: str, limit_per_minute: int) -> int | None:
    """Count one request in the current minute; seconds to wait when over `limit`.

    Runs on `Database.counter_pool()` (autocommit): every API request counts, so it is
    one statement on asyncpg's own pool. It turns `synchronous_commit` off for its own
    transaction — read at its commit, which then does not wait for the WAL flush — in
    the statement, not for the connection: behind a transaction pooler a connection's
    setting would reach other clients' commits (and PgBouncer refuses it at startup).
    """
    pool = await db.counter_pool()
    row = await pool.fetchrow(_HIT_DRIVER_SQL, key)
    hits, remaining = int(row[0]), float(row[1])
    if hits <= limit_per_minute:
        return None
    return max(1, math.ceil(remaining))
