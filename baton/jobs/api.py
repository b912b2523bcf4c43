"""/api/v1/jobs: an organization's queued, running and failed jobs (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from baton.core.auth import CtxDep, get_principal
from baton.core.pagination import MAX_PAGE_SIZE
from baton.core.routing import JsonRoute
from baton.core.schemas import Page
from baton.jobs import service
from baton.jobs.queries import JobRow, JobState
from baton.jobs.schemas import JobId, JobOut

router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(get_principal)], route_class=JsonRoute, tags=["jobs"]
)


def _out(row: JobRow) -> JobOut:
    return JobOut.model_validate(row)


@router.get("/jobs")
async def list_jobs(
    ctx: CtxDep,
    state: JobState | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    # Up to 18 digits: any job id, and never past PostgreSQL's bigint.
    cursor: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,17}$")] = None,
) -> Page[JobOut]:
    """The organization's jobs, newest first: `state` = queued | running | failed
    (default: all three). Successful jobs are not kept. Admins only (others 403)."""
    rows = await service.list_jobs(
        ctx, state=state, before=int(cursor) if cursor else None, limit=limit
    )
    items = [_out(row) for row in rows[:limit]]
    return Page(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)


@router.post("/jobs/{job_id}/retry")
async def retry_job(job_id: JobId, ctx: CtxDep) -> JobOut:
    """Queue a failed job again, due now, for one more attempt. 404: no such job in
    this organization; 409: the job is queued or running. Admins only (others 403)."""
    return _out(await service.retry_job(ctx, job_id))
