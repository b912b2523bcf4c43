"""Periodic sweeps that do an organization's work: one periodic tick, one job per tenant.

`tenant_sweep(name=…, cron=…, periodic_id=…)` turns `job(ctx)` into two tasks:

- the tenant job `name` (`tenant_task`): `job` runs in its organization's unit of
  work, with RLS, the audit trigger and `baton.request_id = job:<id>` as for any
  tenant job, and the role `SWEEP_ROLE` — a sweep acts for the organization, not for
  a member, so it has no user (`ctx.principal` is None, `ctx.actor_id` None: audit
  rows and the activities it writes have no author) and the role that sees every
  record (RLS's role policies on leads and deals);
- the periodic system job `name + ".fan_out"`: at each tick (procrastinate defers a
  tick once, whatever the number of workers) it queues the tenant job for every
  organization in one statement (`defer_per_tenant`).

The jobs of one sweep and organization share a procrastinate lock, so they never run
at the same time; each sweep is written to be safe at once anyway (a manual retry, or
its function called from elsewhere) and idempotent: its own rows say what was done,
and a second run finds nothing left to do. A failed tenant job is retried and shows
on that organization's Jobs page like any other; a missed tick is harmless, the next
one does the work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from procrastinate import RetryStrategy
from procrastinate.tasks import Task

from baton.core.context import Ctx
from baton.db.engine import Database
from baton.jobs.defer import defer_per_tenant
from baton.jobs.runtime import JobResources, TenantJob, queue, system_task, tenant_task

log = structlog.get_logger("baton.jobs.sweeps")

# The role a sweep's transaction takes (`baton.role`): it sees every record of its
# organization, as the integrity checks of `baton doctor` do.
SWEEP_ROLE = "admin"

# A sweep's tenant job retries sooner and fewer times than a caused job: the next
# tick runs it again anyway.
SWEEP_RETRY = RetryStrategy(max_attempts=3, exponential_wait=4)


@dataclass(frozen=True)
class TenantSweep:
    """A sweep's two tasks: the tenant job and the periodic fan-out that queues it."""

    name: str
    job: Callable[[Ctx], Any]
    task: Task[Any, Any, Any]
    fan_out: Task[Any, Any, Any]

    async def queue_for_every_tenant(self, db: Database) -> int:
        """What a tick does: one job per organization, in a transaction of its own."""
        async with db.engine.begin() as conn:
            return await defer_per_tenant(conn, self.task, actor_role=SWEEP_ROLE)


def tenant_sweep(*, name: str, cron: str, periodic_id: str) -> Callable[[TenantJob], TenantSweep]:
    """Register `job(ctx)` as the per-organization sweep `name`, fanned out on `cron`.

    As with every task, `name` (and `name.fan_out`) is stored in queued rows: never
    rename one that may have jobs in flight.
    """

    def register(job: TenantJob) -> TenantSweep:
        task = tenant_task(name=name, retry=SWEEP_RETRY)(job)

        async def fan_out(resources: JobResources, timestamp: int) -> None:
            queued = await sweep.queue_for_every_tenant(resources.db)
            log.info("sweep queued", sweep=name, organizations=queued)

        fan_out.__name__ = f"{job.__name__}_fan_out"
        fan_out.__doc__ = f"Queue `{name}` for every organization (periodic)."
        periodic: Task[Any, Any, Any] = queue.periodic(cron=cron, periodic_id=periodic_id)(
            system_task(name=f"{name}.fan_out", retry=RetryStrategy(max_attempts=2, wait=60))(
                fan_out
            )
        )
        sweep = TenantSweep(name=name, job=job, task=task, fan_out=periodic)
        return sweep

    return register
