"""The procrastinate app and the two kinds of job Baton runs on it.

**Tenant jobs** (`tenant_task`) do a tenant's work. Each job's arguments carry the
tenant it belongs to (`tenant_id`) and who caused it (`actor_id`, `actor_role`),
written by `baton.jobs.defer.defer` from the enqueuing unit of work. The wrapper runs
the job in a unit of work of its own (`Database.session_scope`) whose transaction is
scoped exactly as a request's is — `baton.tenant_id`, `baton.user_id`, `baton.role`
and `baton.request_id` (`job:<id>`) set with `set_config(…, true)`, so RLS, the role
policies and the audit trigger apply and nothing outlives the transaction. It
commits when the job returns and rolls back when it raises; the error is then
written to `job_errors` in a short transaction of the same tenant and the exception
goes back to procrastinate, which retries with exponential backoff
(`DEFAULT_RETRY`) or marks the job failed. A job may run more than once (a retry
after a commit whose acknowledgement was lost, a worker killed mid-job, a manual
retry): every job must be idempotent — running it again changes nothing.

**System jobs** (`system_task`: periodic sweeps) belong to no tenant. They get the
database and settings and no tenant context, so RLS shows them nothing; they act
through narrow SECURITY DEFINER functions only (`baton_retention_sweep`).

The worker hands the database and settings to the wrappers in procrastinate's job
context (`JobResources`, see `baton.jobs.worker`), so no module holds a connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Concatenate

import structlog
from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.tasks import Task
from sqlalchemy import text

from baton.config import Settings
from baton.core.context import Ctx
from baton.db.engine import Database
from baton.jobs.models import MAX_ERROR_LENGTH

log = structlog.get_logger("baton.jobs")

# Every module that defines tasks: a worker imports them before it fetches a job.
TASK_MODULES = [
    "baton.jobs.retention",
    "baton.jobs.stalled",
    "baton.leads.tasks",
    "baton.deals.tasks",
    "baton.accounts.tasks",
    "baton.audit.tasks",
    "baton.imports.tasks",
    "baton.bulk.tasks",
    "baton.exports.tasks",
    "baton.webhooks.tasks",
    "baton.notifications.email",
]

# The process's procrastinate app. Its connector is replaced by one to the app role's
# database when a worker starts (`baton.jobs.worker.open_queue`); enqueuing needs no
# connector at all (`defer` writes on the caller's own connection).
queue = App(connector=PsycopgConnector(), import_paths=TASK_MODULES)

# Up to 8 retries, waiting 4 s, 16 s, 64 s … 4^8 s (18 h): about a day in all, so a
# job outlives an outage of its dependencies, and a bug shows on the Jobs page soon.
DEFAULT_RETRY = RetryStrategy(max_attempts=8, exponential_wait=4)

# The key of `JobResources` in procrastinate's `additional_context`.
RESOURCES = "baton"

# The argument names `defer` reserves in every tenant job's arguments.
TENANT_ARGUMENTS = ("tenant_id", "actor_id", "actor_role")

TenantJob = Callable[..., Awaitable[None]]
SystemJob = Callable[Concatenate["JobResources", ...], Awaitable[None]]

_RECORD_ERROR = text(
    "INSERT INTO job_errors (tenant_id, job_id, attempt, error)"
    " VALUES (:tenant_id, :job_id, :attempt, :error)"
    " ON CONFLICT (tenant_id, job_id) DO UPDATE"
    " SET attempt = excluded.attempt, error = excluded.error, failed_at = now()"
)


@dataclass(frozen=True)
class JobResources:
    """What a running job may use: the app role's database and the settings."""

    db: Database
    settings: Settings


def resources_of(context: JobContext) -> JobResources:
    resources = context.additional_context.get(RESOURCES)
    if not isinstance(resources, JobResources):
        raise RuntimeError("jobs run only in a Baton worker (baton.jobs.worker)")
    return resources


def _uuid(value: object) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def describe_error(error: BaseException) -> str:
    """The error as the Jobs page shows it: its type and message, bounded."""
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return message[:MAX_ERROR_LENGTH]


def tenant_task(
    *, name: str, retry: RetryStrategy = DEFAULT_RETRY, queue_name: str = "default"
) -> Callable[[TenantJob], Task[Any, Any, Any]]:
    """Register `job(ctx, **args)` as a tenant job called `name`.

    `name` is stored in every queued row: never rename a task that may have jobs in
    flight. `job` receives a `Ctx` whose session is the job's unit of work, scoped to
    the job's tenant and actor; it must not commit (the wrapper does) and must be
    idempotent.
    """

    def register(job: TenantJob) -> Task[Any, Any, Any]:
        async def run(
            context: JobContext,
            /,
            *,
            tenant_id: str,
            actor_id: str | None = None,
            actor_role: str | None = None,
            **args: Any,
        ) -> None:
            resources = resources_of(context)
            tenant = uuid.UUID(tenant_id)
            request_id = f"job:{context.job.id}"
            ctx: Ctx | None = None
            try:
                async with resources.db.session_scope(
                    tenant_id=tenant,
                    user_id=_uuid(actor_id),
                    role=actor_role,
                    request_id=request_id,
                ) as session:
                    ctx = Ctx(
                        session=session,
                        db=resources.db,
                        settings=resources.settings,
                        request_id=request_id,
                        tenant_id=tenant,
                    )
                    await job(ctx, **args)
            except Exception as error:
                await _record_error(resources, tenant, context, error)
                raise
            finally:
                if ctx is not None:
                    await ctx.run_durable()

        run.__name__ = job.__name__
        run.__doc__ = job.__doc__
        return queue.task(name=name, retry=retry, pass_context=True, queue=queue_name)(run)

    return register


def system_task(
    *,
    name: str,
    retry: RetryStrategy = DEFAULT_RETRY,
    queue_name: str = "default",
    queueing_lock: str | None = None,
) -> Callable[[SystemJob], Task[Any, Any, Any]]:
    """Register `job(resources, **args)` as a job of no tenant (a periodic sweep).

    It gets no unit of work: whatever it does, it does through SECURITY DEFINER
    functions in transactions of its own, and it must be safe to run twice at once.
    `queueing_lock`: at most one such job waits in the queue (a frequent tick while
    the last one still runs adds none).
    """

    def register(job: SystemJob) -> Task[Any, Any, Any]:
        async def run(context: JobContext, /, **args: Any) -> None:
            await job(resources_of(context), **args)

        run.__name__ = job.__name__
        run.__doc__ = job.__doc__
        return queue.task(
            name=name,
            retry=retry,
            pass_context=True,
            queue=queue_name,
            queueing_lock=queueing_lock,
        )(run)

    return register


async def _record_error(
    resources: JobResources, tenant: uuid.UUID, context: JobContext, error: Exception
) -> None:
    """Keep why the attempt failed, for the tenant's admins (`job_errors`)."""
    try:
        async with resources.db.session_scope(
            tenant_id=tenant, request_id=f"job:{context.job.id}"
        ) as session:
            await session.execute(
                _RECORD_ERROR,
                {
                    "tenant_id": tenant,
                    "job_id": context.job.id,
                    "attempt": context.job.attempts + 1,
                    "error": describe_error(error),
                },
            )
    except Exception:
        # The job's own error is what procrastinate must see; losing its note is not
        # worth hiding it.
        log.exception("could not record a job's error", job_id=context.job.id)
