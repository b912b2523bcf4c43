"""The Jobs page (`/jobs`, admins only): queued, running and failed jobs, with the
error of each failed one and a button to retry it, over `baton.jobs.service`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from baton.core.auth import CtxDep
from baton.core.context import Ctx
from baton.jobs import service
from baton.jobs.queries import JobState
from baton.jobs.schemas import JobId
from baton.web.rendering import render
from baton.workflow.web import is_htmx

router = APIRouter(include_in_schema=False)

PATH = "/jobs"
# The page shows the newest jobs; older ones are in `GET /api/v1/jobs`, page by page.
PAGE_SIZE = 200


async def _jobs(
    request: Request,
    ctx: Ctx,
    template: str,
    notice: str | None = None,
    state: JobState | None = None,
) -> Response:
    rows = await service.list_jobs(ctx, state=state, before=None, limit=PAGE_SIZE + 1)
    return render(
        request,
        template,
        jobs=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        notice=notice,
        state=state,
        states=list(JobState),
    )


@router.get(PATH)
async def jobs_page(request: Request, ctx: CtxDep, state: str = "") -> Response:
    """All open jobs, or those of one `state` (queued, running, failed)."""
    chosen = JobState(state) if state in {s.value for s in JobState} else None
    return await _jobs(request, ctx, "jobs/list.html", state=chosen)


@router.post(PATH + "/{job_id}/retry")
async def jobs_retry(request: Request, ctx: CtxDep, job_id: JobId) -> Response:
    job = await service.retry_job(ctx, job_id)
    if not is_htmx(request):
        return RedirectResponse(PATH, status_code=303)
    return await _jobs(request, ctx, "jobs/_jobs.html", notice=f"Job {job.id} queued again")
