"""The queue's figures for `/metrics`, read from the database at each scrape.

The figures are the whole queue's, every worker's and tenant's jobs together, so any
API process answers the same; a failed read leaves the previous values (and is
logged) rather than failing the scrape.
"""

from __future__ import annotations

import structlog

from baton.core.metrics import Metrics
from baton.db.engine import Database
from baton.jobs.queries import queue_stats

log = structlog.get_logger("baton.jobs.metrics")


async def refresh(metrics: Metrics, db: Database) -> None:
    try:
        async with db.engine.connect() as conn:
            stats = await queue_stats(conn)
    except Exception:
        log.exception("could not read the job queue's figures")
        return
    metrics.jobs_queued.set(stats.queued)
    metrics.jobs_running.set(stats.running)
    metrics.jobs_failed.set(stats.failed)
    metrics.jobs_oldest_queued.set(stats.oldest_queued_seconds)
