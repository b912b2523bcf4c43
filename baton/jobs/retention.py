"""The retention sweep: expired rows that nothing will read again, removed in batches.

Every ten minutes (a periodic system job) and on demand (`sweep`), for each kind in
`baton_retention_sweep`'s list — idempotency keys past their 24 h, expired bearer
tokens and web sessions, rate-limit buckets idle for a day and not blocking, the
errors of jobs that are gone, audit rows past the organization's retention, the
webhook log, invitations spent (used, revoked or expired) 30 days ago and bulk runs
finished 30 days ago — it deletes batches of `batch_size` rows, each batch
one statement in a transaction of its own, until a batch comes back short. So no
transaction holds more than one batch's row locks, and a request waiting on one of
those rows waits for one short statement at most.

Safe twice at once (two workers, or a worker and an operator): each batch locks its
rows `FOR UPDATE SKIP LOCKED`, so the sweeps split the rows between them and every
row is deleted exactly once; and idempotent: a sweep with nothing expired deletes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from procrastinate import RetryStrategy
from sqlalchemy import text

from baton.db.engine import Database
from baton.jobs.ddl import RETENTION_KINDS
from baton.jobs.runtime import JobResources, queue, system_task

log = structlog.get_logger("baton.jobs.retention")

BATCH_SIZE = 1000
CRON = "*/10 * * * *"

_SWEEP_BATCH = text("SELECT baton_retention_sweep(:kind, :batch)")


@dataclass
class SweepReport:
    """Rows deleted per kind, and how many batches (statements) that took."""

    deleted: dict[str, int] = field(default_factory=dict)
    batches: int = 0

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


async def sweep(db: Database, *, batch_size: int = BATCH_SIZE) -> SweepReport:
    """Delete every expired row of every kind, `batch_size` rows per transaction."""
    report = SweepReport()
    for kind in RETENTION_KINDS:
        deleted = 0
        while True:
            async with db.engine.begin() as conn:
                removed = await conn.scalar(_SWEEP_BATCH, {"kind": kind, "batch": batch_size})
            report.batches += 1
            deleted += int(removed or 0)
            # A short batch: nothing more was expired, or what is left another sweep
            # holds locked right now (it deletes those).
            if not removed or removed < batch_size:
                break
        report.deleted[kind] = deleted
    return report


@queue.periodic(cron=CRON, periodic_id="retention")
@system_task(name="baton.retention_sweep", retry=RetryStrategy(max_attempts=2, wait=60))
async def retention_sweep(resources: JobResources, timestamp: int) -> None:
    """The periodic sweep; a missed tick is harmless (the next one deletes more)."""
    report = await sweep(resources.db)
    if report.total:
        log.info("expired rows removed", **report.deleted, batches=report.batches)
