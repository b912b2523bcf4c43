"""Operational endpoints outside /api/v1: liveness, readiness, metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from baton.core.runtime import Runtime
from baton.db.migrate import head_revision
from baton.jobs import metrics as job_metrics

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at this code's migration head."""
    runtime: Runtime = request.app.state.runtime
    expected = head_revision()
    try:
        async with runtime.db.engine.connect() as conn:
            current = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:  # any failure to reach the DB means "not ready"
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__}, status_code=503
        )
    if current != expected:
        return JSONResponse(
            {"status": "migrations pending", "current": current, "expected": expected},
            status_code=503,
        )
    return JSONResponse({"status": "ready", "revision": current})


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "Prometheus text exposition format 0.0.4",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics, in its text format (not JSON)."""
    runtime: Runtime = request.app.state.runtime
    await job_metrics.refresh(runtime.metrics, runtime.db)
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
