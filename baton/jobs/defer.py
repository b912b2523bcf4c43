"""Enqueue a job inside the caller's transaction (DESIGN §2: side effects after commit).

`defer` inserts the job's row with procrastinate's own function
(`procrastinate_defer_jobs_v1`) on the unit of work's connection (`ctx.session`), not
through procrastinate's connector: the row commits with the change that caused it or
not at all, so a rolled-back request enqueues nothing, and a worker can only see the
job once the change is visible too. procrastinate's insert trigger sends its NOTIFY,
which PostgreSQL delivers at commit, so a listening worker picks the job up at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from procrastinate.tasks import Task
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from baton.core.context import Ctx
from baton.jobs.runtime import TENANT_ARGUMENTS

_DEFER = text(
    "SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW("
    "CAST(:queue_name AS varchar), CAST(:task_name AS varchar), CAST(:priority AS integer),"
    " CAST(:lock AS text), CAST(:queueing_lock AS text), CAST(:args AS jsonb),"
    " CAST(:scheduled_at AS timestamptz))::procrastinate_job_to_defer_v1]))[1]"
)


async def defer(
    ctx: Ctx,
    task: Task[Any, Any, Any],
    args: Mapping[str, Any] | None = None,
    *,
    scheduled_at: datetime | None = None,
) -> int:
    """Queue `task` for the tenant of `ctx`, in its transaction; returns the job id.

    The job carries the tenant and the actor (user and role) of `ctx`, and runs with
    them (`baton.jobs.runtime.tenant_task`). `args` must be JSON values and must not
    use the reserved names `tenant_id`, `actor_id`, `actor_role`. A unit of work
    without a tenant has nothing to scope the job to: that is a bug (RuntimeError),
    as is a call from a request on the driver's transaction, which has no session to
    queue in (such a service raises `NeedsSessionTransaction` before it writes).
    """
    if ctx.driver_connection is not None:
        raise RuntimeError("defer needs the session's transaction, not the driver's")
    tenant_id = ctx.current_tenant_id
    if tenant_id is None:
        raise RuntimeError("a job is queued for a tenant; this unit of work has none")
    given = dict(args or {})
    reserved = set(given) & set(TENANT_ARGUMENTS)
    if reserved:
        raise ValueError(f"job arguments may not be named {sorted(reserved)}")
    principal = ctx.principal
    payload = {
        **given,
        "tenant_id": str(tenant_id),
        "actor_id": str(principal.user_id) if principal else None,
        "actor_role": principal.role if principal else None,
    }
    job_id = await ctx.session.scalar(
        _DEFER,
        {
            "queue_name": task.queue,
            "task_name": task.name,
            "priority": task.priority,
            "lock": task.lock,
            "queueing_lock": task.queueing_lock,
            "args": json.dumps(payload),
            "scheduled_at": scheduled_at,
        },
    )
    assert isinstance(job_id, int)
    return job_id


# One job per organization in one statement: the rows `defer` would write, built by
# PostgreSQL from `baton_tenant_ids()` (every organization; RLS hides `tenants` from
# a worker scoped to none), each job locked to
# its tenant (procrastinate's `lock`: two jobs of one sweep for one organization never
# run at the same time, whatever the number of workers).
_DEFER_PER_TENANT = text(
    "SELECT cardinality(procrastinate_defer_jobs_v1(ARRAY("
    "SELECT ROW(CAST(:queue_name AS varchar), CAST(:task_name AS varchar),"
    " CAST(:priority AS integer), CAST(:task_name AS text) || ':' || t.id::text, NULL::text,"
    " CAST(:args AS jsonb) || jsonb_build_object('tenant_id', t.id::text, 'actor_id', NULL,"
    " 'actor_role', CAST(:actor_role AS text)), NULL::timestamptz)::procrastinate_job_to_defer_v1"
    " FROM baton_tenant_ids() AS t(id) ORDER BY t.id)))"
)


async def defer_per_tenant(
    conn: AsyncConnection,
    task: Task[Any, Any, Any],
    *,
    actor_role: str,
    args: Mapping[str, Any] | None = None,
) -> int:
    """Queue `task` once for every organization, in `conn`'s transaction; answers how
    many jobs were queued.

    The fan-out of a periodic sweep (`baton.jobs.sweeps`): each job carries its tenant
    like one `defer` writes, no actor (nobody caused it) and `actor_role`, the role its
    transaction takes for RLS's role policies. Jobs of one task and tenant share a
    procrastinate lock, so they run one after the other.
    """
    given = dict(args or {})
    reserved = set(given) & set(TENANT_ARGUMENTS)
    if reserved:
        raise ValueError(f"job arguments may not be named {sorted(reserved)}")
    queued = await conn.scalar(
        _DEFER_PER_TENANT,
        {
            "queue_name": task.queue,
            "task_name": task.name,
            "priority": task.priority,
            "args": json.dumps(given),
            "actor_role": actor_role,
        },
    )
    return int(queued or 0)
