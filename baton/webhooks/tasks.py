"""The webhook pump on the worker: every second, fan out and deliver what is due.

A system job (`baton.jobs.runtime.system_task`): it belongs to no tenant and does each
organization's work in that organization's transactions (`delivery.pump`). Its
queueing lock keeps at most one pump waiting in the queue; several may run at once
(two workers, a tick while a long pump still runs) — each takes different events and
deliveries (`SKIP LOCKED`). Delivery is at least once: a receiver deduplicates on
`webhook-id`.
"""

from __future__ import annotations

import structlog
from procrastinate import RetryStrategy

from baton.jobs.runtime import JobResources, queue, system_task
from baton.webhooks.delivery import pump

log = structlog.get_logger("baton.webhooks")

# Every second (croniter's sixth field): a webhook leaves about a second after its change.
CRON = "* * * * * *"


@queue.periodic(cron=CRON, periodic_id="webhooks")
@system_task(
    name="baton.webhooks.pump",
    retry=RetryStrategy(max_attempts=1),
    queueing_lock="baton.webhooks.pump",
)
async def webhooks_pump(resources: JobResources, timestamp: int) -> None:
    """Dispatch and deliver; a failed pump is not retried, the next tick is the retry."""
    report = await pump(resources.db, resources.settings)
    if report.dispatched or report.delivered or report.failed_attempts:
        log.info(
            "webhooks pumped",
            dispatched=report.dispatched,
            delivered=report.delivered,
            failed_attempts=report.failed_attempts,
        )
