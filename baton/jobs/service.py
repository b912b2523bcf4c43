"""Admins' actions on their organization's jobs: list them, retry a failed one."""

from __future__ import annotations

from sqlalchemy import text

from baton.core.context import Ctx
from baton.core.errors import Conflict, NotFound
from baton.identity.access import require_role
from baton.identity.models import Role
from baton.jobs import queries
from baton.jobs.queries import JobRow, JobState

_RETRY = text("SELECT baton_retry_tenant_job(:job_id)")


async def list_jobs(
    ctx: Ctx, *, state: JobState | None, before: int | None, limit: int
) -> list[JobRow]:
    """The organization's queued, running and failed jobs (admins; others 403).
    Another organization's jobs are never listed: the read is filtered by tenant in
    the database (`baton_tenant_jobs`)."""
    require_role(ctx, Role.ADMIN)
    return await queries.list_jobs(ctx.session, state=state, before=before, limit=limit)


async def retry_job(ctx: Ctx, job_id: int) -> JobRow:
    """Queue a failed job again, due now, for one more attempt (admins; others 403).

    404 when the organization has no such job (another organization's job is
    404 too); 409 when it is queued or running. The job keeps its attempt count:
    if this attempt fails as well, it is failed again, with the new error.
    """
    require_role(ctx, Role.ADMIN)
    outcome = await ctx.session.scalar(_RETRY, {"job_id": job_id})
    if outcome is None:
        raise NotFound("No such job")
    if outcome == "not_failed":
        raise Conflict("Only a failed job can be retried; this one is queued or running")
    job = await queries.get_job(ctx.session, job_id)
    if job is None:
        raise NotFound("No such job")
    return job
