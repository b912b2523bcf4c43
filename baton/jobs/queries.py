"""Read models of the queue: a tenant's jobs (through `baton_tenant_jobs`) and the
whole queue's figures for `/metrics`.

A tenant's jobs are read only through the SECURITY DEFINER function, which filters
by the transaction's `baton.tenant_id`: procrastinate's table holds every tenant's
jobs and has no RLS (its worker fetches across tenants).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


class JobState(StrEnum):
    """What an admin sees of a job; successful jobs are deleted once done."""

    QUEUED = "queued"
    RUNNING = "running"
    FAILED = "failed"


# procrastinate's statuses of the jobs the page lists.
PROCRASTINATE_STATUS = {
    JobState.QUEUED: "todo",
    JobState.RUNNING: "doing",
    JobState.FAILED: "failed",
}
_STATE_OF = {status: state for state, status in PROCRASTINATE_STATUS.items()}


@dataclass(frozen=True)
class JobRow:
    id: int
    task: str
    state: JobState
    attempts: int
    queued_at: datetime | None
    scheduled_at: datetime | None
    started_at: datetime | None
    error: str | None
    failed_at: datetime | None


@dataclass(frozen=True)
class QueueStats:
    queued: int
    running: int
    failed: int
    oldest_queued_seconds: float


_TENANT_JOBS = text("SELECT * FROM baton_tenant_jobs(:status, :before, :limit)")

# Due jobs wait since they were queued or, when scheduled (a retry's backoff), since
# they became due.
_QUEUE_STATS = text(
    "SELECT count(*) FILTER (WHERE status = 'todo') AS queued,"
    " count(*) FILTER (WHERE status = 'doing') AS running,"
    " count(*) FILTER (WHERE status = 'failed') AS failed,"
    " (SELECT coalesce(extract(epoch FROM now() - min(greatest(e.at, j.scheduled_at))), 0)"
    "    FROM procrastinate_jobs j JOIN procrastinate_events e"
    "      ON e.job_id = j.id AND e.type = 'deferred'"
    "   WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())"
    " ) AS oldest_queued_seconds"
    " FROM procrastinate_jobs WHERE status IN ('todo', 'doing', 'failed')"
)


async def list_jobs(
    session: AsyncSession, *, state: JobState | None, before: int | None, limit: int
) -> list[JobRow]:
    """The tenant's queued, running and failed jobs, newest first: `limit + 1` rows
    (a surplus row means a next page), ids below `before`."""
    rows = await session.execute(
        _TENANT_JOBS,
        {
            "status": PROCRASTINATE_STATUS[state] if state else None,
            "before": before,
            "limit": limit + 1,
        },
    )
    return [
        JobRow(
            id=row.id,
            task=row.task_name,
            state=_STATE_OF[row.status],
            attempts=row.attempts,
            queued_at=row.queued_at,
            scheduled_at=row.scheduled_at,
            started_at=row.started_at,
            error=row.error,
            failed_at=row.failed_at,
        )
        for row in rows
    ]


async def get_job(session: AsyncSession, job_id: int) -> JobRow | None:
    """One job of the tenant: the newest at or below `job_id`, if it is that one."""
    rows = await list_jobs(session, state=None, before=job_id + 1, limit=0)
    return rows[0] if rows and rows[0].id == job_id else None


async def queue_stats(conn: AsyncConnection) -> QueueStats:
    """The whole queue, every tenant's jobs together (no tenant is named)."""
    row = (await conn.execute(_QUEUE_STATS)).one()
    return QueueStats(
        queued=row.queued,
        running=row.running,
        failed=row.failed,
        oldest_queued_seconds=float(row.oldest_queued_seconds),
    )
