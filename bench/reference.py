"""DESIGN §7's reference transaction: what the machine itself does, to compare runs.

DESIGN §7 sets its budgets on "the 2-core development machine", where the six-statement
stage-move transaction (lock, update, three inserts, commit) took 1.26 ms p50 from one
asyncpg connection on the embedded PostgreSQL (measured 2026-11-22). The machines a
session gets differ (Intel and AMD hosts, other kernels): this module runs that shape
of transaction on plain tables (no triggers, no RLS, no baton code) in the same rounds
as a measured operation. `machine factor` = this run's reference p50 ÷ 1.26 ms says how
fast the machine does round trips and simple writes. It does not scale everything: on
2026-11-30 an AMD host ran the reference in 0.55 to 0.8 ms (factor 0.5 to 0.6) while
the deal move's trigger-heavy statements ran about 1.5 times slower than on the Intel
host of the day before, so the sales bench also reports the deal move's raw SQL as a
multiple of the reference.

The tables live in their own schema (`bench_reference`) of the bench's throw-away
database: 100 000 items, one history, timeline and audit row per move.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import asyncpg

# DESIGN §7: "from Python, one asyncpg connection does ~790 tx/s (1.26 ms)".
DESIGN_REFERENCE_MS = 1.26
ITEMS = 100_000

_SCHEMA = f"""
CREATE SCHEMA IF NOT EXISTS bench_reference;
CREATE TABLE IF NOT EXISTS bench_reference.items (
    id bigint PRIMARY KEY, step integer NOT NULL, version integer NOT NULL,
    updated_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS bench_reference.history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item_id bigint NOT NULL,
    from_step integer NOT NULL, to_step integer NOT NULL, at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS bench_reference.timeline (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item_id bigint NOT NULL,
    subject text NOT NULL, at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS bench_reference.audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item_id bigint NOT NULL,
    after jsonb NOT NULL, at timestamptz NOT NULL);
INSERT INTO bench_reference.items
SELECT g, 0, 0, now() FROM generate_series(1, {ITEMS}) g
ON CONFLICT DO NOTHING;
"""

_LOCK = "SELECT step, version FROM bench_reference.items WHERE id = $1 FOR UPDATE"
_UPDATE = (
    "UPDATE bench_reference.items SET step = $2, version = version + 1, updated_at = now()"
    " WHERE id = $1"
)
_HISTORY = (
    "INSERT INTO bench_reference.history (item_id, from_step, to_step, at)"
    " VALUES ($1, $2, $3, now())"
)
_TIMELINE = "INSERT INTO bench_reference.timeline (item_id, subject, at) VALUES ($1, $2, now())"
_AUDIT = "INSERT INTO bench_reference.audit (item_id, after, at) VALUES ($1, $2::jsonb, now())"


class ReferenceMover:
    """The reference transaction on one asyncpg connection: BEGIN, lock, update,
    three inserts, COMMIT (a durable commit, as baton's)."""

    def __init__(self, connect_kwargs: dict[str, Any], seed: int = 7) -> None:
        self.connect_kwargs = connect_kwargs
        self.rng = random.Random(seed)
        self.conn: Any = None

    async def open(self) -> None:
        self.conn = await asyncpg.connect(**self.connect_kwargs)
        await self.conn.execute(_SCHEMA)
        await self.conn.execute("ANALYZE bench_reference.items")

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()

    async def move_once(self) -> int:
        item_id = self.rng.randrange(1, ITEMS + 1)
        conn = self.conn
        started = time.perf_counter_ns()
        async with conn.transaction():
            step, version = await conn.fetchrow(_LOCK, item_id)
            target = (step + 1) % 6
            await conn.execute(_UPDATE, item_id, target)
            await conn.execute(_HISTORY, item_id, step, target)
            await conn.execute(_TIMELINE, item_id, f"Stage changed: {step} → {target}")
            after = {"id": item_id, "step": target, "version": version + 1}
            await conn.execute(_AUDIT, item_id, json.dumps(after))
        return time.perf_counter_ns() - started


def machine_factor(reference_p50_ms: float) -> float:
    """How much slower (> 1) or faster this machine ran the reference transaction than
    the machine DESIGN §7's budgets were set on."""
    return reference_p50_ms / DESIGN_REFERENCE_MS
