"""Operational endpoints outside /api/v1: liveness, readiness, metrics."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from baton.core.errors import DomainError, Unauthenticated
from baton.core.runtime import Runtime
from baton.db.migrate import head_revision
from baton.jobs import metrics as job_metrics

router = APIRouter(tags=["ops"])


class MetricsOffLoopback(DomainError):
    # Not a PermissionDenied: that one is a tenant's security event, and a scraper
    # belongs to no tenant.
    status = 403
    title = "Metrics are served to this machine only"
    slug = "metrics-off-loopback"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at this code's migration head.

    With a read replica (`BATON_DATABASE_REPLICA_URL`), also its state in `replica`:
    `up`, or `down` with its reads served by the primary — still ready (200), since
    the primary serves them."""
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
    answer: dict[str, object] = {"status": "ready", "revision": current}
    if runtime.db.replica_engine is not None:
        error = await runtime.db.replica_answers()
        answer["replica"] = (
            {"status": "up"}
            if error is None
            else {"status": "down", "reads_from": "primary", "error": error}
        )
    return JSONResponse(answer)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "Prometheus text exposition format 0.0.4",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        401: {"description": "BATON_METRICS_TOKEN is set and the bearer token is not it"},
        403: {"description": "No BATON_METRICS_TOKEN is set and the client is not on loopback"},
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics, in its text format (not JSON).

    With `BATON_METRICS_TOKEN` set, only to `Authorization: Bearer <token>`; without
    it, only to a client on the loopback address."""
    runtime: Runtime = request.app.state.runtime
    _require_scraper(request, runtime.settings.metrics_token)
    await job_metrics.refresh(runtime.metrics, runtime.db)
    return Response(runtime.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def _require_scraper(request: Request, token: str | None) -> None:
    """The metrics tell request volumes per route and the queue's state: a token, or
    this machine. The client address is the one uvicorn reports: the peer's, or what a
    proxy it trusts (`FORWARDED_ALLOW_IPS`, 127.0.0.1 by default) says in
    X-Forwarded-For — never a header from anyone else."""
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            raise Unauthenticated("Send the metrics token as Authorization: Bearer <token>.")
        return
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address is None or not address.is_loopback:
        raise MetricsOffLoopback(
            "Without BATON_METRICS_TOKEN, /metrics answers only on the loopback address;"
            " set the token to scrape it from elsewhere."
        )
