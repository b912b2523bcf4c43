"""Jobs whose worker died mid-job go back to the queue.

A worker killed outright (SIGKILL, a lost machine) leaves its running jobs in
`doing`. Every live worker sends a heartbeat (procrastinate: every 10 s) and prunes
workers silent for longer than 30 s when it starts; this periodic system job, every
minute, finds the `doing` jobs of workers silent for `SILENT_SECONDS` (or already
pruned) and queues them again, due now — their unit of work never committed, or
committed and the job is idempotent. The retry counts as an attempt, so a job that
kills its worker every time ends failed instead of looping.

Safe twice at once: procrastinate's retry only moves a job still in `doing`; the
second sweep's retry of the same job is refused and skipped.
"""

from __future__ import annotations

import procrastinate
import structlog
from procrastinate import JobContext, RetryStrategy

from baton.jobs.runtime import queue

log = structlog.get_logger("baton.jobs.stalled")

CRON = "* * * * *"
# Three missed heartbeats: a busy worker is late, not dead.
SILENT_SECONDS = 30


async def requeue_stalled_jobs(app: procrastinate.App) -> list[int]:
    """Queue the jobs of silent workers again; answers their ids."""
    requeued: list[int] = []
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=SILENT_SECONDS):
        assert job.id is not None
        try:
            await app.job_manager.retry_job(job)
        except procrastinate.exceptions.ConnectorException:
            # Another sweep (or the worker itself, late) moved it first.
            continue
        requeued.append(job.id)
    if requeued:
        log.warning("jobs of silent workers queued again", job_ids=requeued)
    return requeued


@queue.periodic(cron=CRON, periodic_id="stalled")
@queue.task(
    name="baton.requeue_stalled_jobs",
    pass_context=True,
    retry=RetryStrategy(max_attempts=1, wait=30),
)
async def requeue_stalled(context: JobContext, /, timestamp: int) -> None:
    """The periodic sweep; it belongs to no tenant and runs no tenant's code."""
    await requeue_stalled_jobs(context.app)
