"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.routing import Route

from baton import __version__
from baton.accounts.api import router as accounts_router
from baton.accounts.web import router as accounts_web_router
from baton.activities.api import router as activities_router
from baton.activities.web import router as activities_web_router
from baton.audit.api import router as audit_router
from baton.audit.models import SecurityEvent
from baton.audit.service import record_security_event
from baton.audit.web import router as audit_web_router
from baton.bulk.api import router as bulk_router
from baton.bulk.web import router as bulk_web_router
from baton.cadences.api import router as cadences_router
from baton.config import Settings, WorkerMode, get_settings
from baton.contacts.api import router as contacts_router
from baton.contacts.web import router as contacts_web_router
from baton.core.context import Ctx
from baton.core.driver_transaction import driver_transaction_paths
from baton.core.envelope import RequestEnvelope
from baton.core.errors import (
    DomainError,
    FieldError,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ValidationFailed,
)
from baton.core.logging import configure_logging
from baton.core.metrics import Metrics
from baton.core.openapi import install as install_openapi
from baton.core.problems import PROBLEM_JSON, from_database_error
from baton.core.replica import replica_paths
from baton.core.request_transaction import RequestTransaction, error_fragment
from baton.core.routing import RouteIndex
from baton.core.runtime import Runtime
from baton.db.engine import Database
from baton.db.urls import app_url, replica_app_url
from baton.deals.api import router as deals_router
from baton.deals.web import router as deals_web_router
from baton.exports.api import router as exports_router
from baton.exports.web import router as exports_web_router
from baton.graphql.api import router as graphql_router
from baton.identity.api import public as identity_public_router
from baton.identity.api import router as identity_router
from baton.identity.web import router as identity_web_router
from baton.imports.api import router as imports_router
from baton.imports.web import router as imports_web_router
from baton.jobs.api import router as jobs_router
from baton.jobs.web import router as jobs_web_router
from baton.jobs.worker import run_worker
from baton.leads.api import router as leads_router
from baton.leads.web import router as leads_web_router
from baton.notifications.api import router as notifications_router
from baton.notifications.web import router as notifications_web_router
from baton.notifications.web import unread_for_page
from baton.ops.api import router as ops_router
from baton.reports.api import router as reports_router
from baton.reports.web import router as reports_web_router
from baton.saved_views.api import router as saved_views_router
from baton.saved_views.web import router as saved_views_web_router
from baton.search.api import router as search_router
from baton.search.web import router as search_web_router
from baton.targets.api import router as targets_router
from baton.targets.web import router as targets_web_router
from baton.web import STATIC_DIR
from baton.web.pages import router as web_router
from baton.web.rendering import error_page, for_people
from baton.webhooks.api import router as webhooks_router
from baton.webhooks.web import router as webhooks_web_router
from baton.workflow.api import router as workflow_router
from baton.workflow.web import router as workflow_web_router
from baton.workitems.api import router as work_items_router
from baton.workitems.web import router as work_items_web_router

log = structlog.get_logger("baton.app")

# The document needs no database: the app it is read from never connects.
_NO_DATABASE = "postgresql+asyncpg://openapi@127.0.0.1:1/unused"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document the app serves at /openapi.json, built without settings from
    the environment or a database (`baton openapi`, the checked-in docs/openapi.json)."""
    settings = Settings(
        database_url=_NO_DATABASE, secret_key="openapi-" + "x" * 32, worker=WorkerMode.OFF
    )
    return create_app(settings, Database(make_url(_NO_DATABASE))).openapi()


def _field_of(loc: Sequence[Any]) -> str:
    """A refused input's name: a body field's path, a parameter's name, a header as it
    is written on the wire (`If-Match`)."""
    if loc and loc[0] == "header":
        return "-".join(word.capitalize() for word in str(loc[-1]).split("-"))
    # Only the first part names the source: a body field may itself be called `query`.
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path") else loc
    return ".".join(str(part) for part in parts) or "body"


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    db = database or Database(
        app_url(settings),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        replica_url=replica_app_url(settings),
    )
    metrics = Metrics()
    metrics.watch_pool(db)
    runtime = Runtime(
        settings=settings,
        db=db,
        metrics=metrics,
        secret_key=settings.resolved_secret_key(),
        # The notification bell's count, on every whole page.
        page_loaders=(unread_for_page,),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = (
            asyncio.create_task(_inline_worker(settings, db))
            if settings.worker is WorkerMode.INLINE
            else None
        )
        try:
            yield
        finally:
            if worker is not None:
                # Cancelling stops it gracefully: no new job, the running ones finish.
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await db.dispose()

    app = FastAPI(
        title="Baton",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    runtime.render_error = lambda scope, error: _render(Request(scope), error)
    app.add_middleware(RequestTransaction)
    app.add_middleware(RequestEnvelope)
    _install_error_handlers(app)
    routers = [
        ops_router,
        identity_public_router,
        identity_router,
        workflow_router,
        work_items_router,
        bulk_router,
        deals_router,
        accounts_router,
        contacts_router,
        activities_router,
        cadences_router,
        leads_router,
        targets_router,
        notifications_router,
        jobs_router,
        imports_router,
        webhooks_router,
        audit_router,
        exports_router,
        graphql_router,
        reports_router,
        search_router,
        saved_views_router,
        web_router,
        reports_web_router,
        identity_web_router,
        workflow_web_router,
        work_items_web_router,
        bulk_web_router,
        accounts_web_router,
        contacts_web_router,
        audit_web_router,
        activities_web_router,
        deals_web_router,
        leads_web_router,
        targets_web_router,
        jobs_web_router,
        imports_web_router,
        exports_web_router,
        webhooks_web_router,
        notifications_web_router,
        search_web_router,
        saved_views_web_router,
    ]
    for router in routers:
        app.include_router(router)
    runtime.driver_transaction_paths = driver_transaction_paths(
        route for router in routers for route in router.routes
    )
    runtime.replica_paths = replica_paths(route for router in routers for route in router.routes)
    # Dispatch through the index first; the included routers stay for OpenAPI and
    # for the paths no route fits (baton/core/routing.py says why).
    app.router.routes.insert(
        0,
        RouteIndex(
            route for router in routers for route in router.routes if isinstance(route, Route)
        ),
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_openapi(app)
    return app


async def _inline_worker(settings: Settings, db: Database) -> None:
    """`BATON_WORKER=inline`: one worker in the server's event loop, on its database
    (its jobs share the request pool), until the server stops (which cancels it)."""
    await run_worker(
        settings, db, concurrency=settings.worker_concurrency, install_signal_handlers=False
    )


def _wants_problem(request: Request) -> bool:
    """problem+json under `/api`, on the paths outside the unit of work (`/static`,
    `/healthz`, `/readyz`, `/metrics`: no `Ctx` to render a page with), and for a
    client whose `Accept` names neither `text/html` nor `*/*`; an HTML page otherwise."""
    path = request.url.path
    if path == "/api" or path.startswith("/api/") or path == "/graphql":
        return True
    if getattr(request.state, "ctx", None) is None:
        return True
    accept = request.headers.get("accept", "")
    return bool(accept) and "text/html" not in accept and "*/*" not in accept


def _render(request: Request, error: DomainError) -> Response:
    if _wants_problem(request):
        return JSONResponse(
            error.problem(request.url.path),
            status_code=error.status,
            headers=error.headers,
            media_type=PROBLEM_JSON,
        )
    if isinstance(error, Unauthenticated) and "hx-request" not in request.headers:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    headers = dict(error.headers)
    if "hx-request" in request.headers:
        # htmx shows the fragment as a toast (baton.js); the page stays as it was.
        if isinstance(error, Unauthenticated):
            headers["HX-Redirect"] = "/login"
        return HTMLResponse(error_fragment(error), status_code=error.status, headers=headers)
    return error_page(request, error, headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method this path answers. Only the static files, a mount outside the
    route index, answer a 405 no indexed route explains: they take GET and HEAD."""
    index = next(route for route in request.app.router.routes if isinstance(route, RouteIndex))
    return index.methods_for(request.scope) or ["GET", "HEAD"]


# FastAPI's answer when it cannot read a body it took for JSON (not UTF-8, say).
_UNREADABLE_BODY = "There was an error parsing the body"


def _from_http_exception(request: Request, exc: HTTPException) -> DomainError:
    """The domain error for what Starlette or FastAPI refused before any endpoint ran:
    no route (404), no such method on the path (405), an unreadable body (422, as a
    malformed JSON body is)."""
    if exc.status_code == 404:
        if _wants_problem(request):
            return NotFound(f"No endpoint at {request.url.path}")
        return NotFound(
            "There is no page at this address. The link may be mistyped or out of date."
        )
    if exc.status_code == 405:
        return MethodNotAllowed(request.method, _allowed_methods(request))
    if exc.status_code == 400 and exc.detail == _UNREADABLE_BODY:
        return ValidationFailed(
            errors=[FieldError("body", "could not be read: send JSON encoded as UTF-8")]
        )
    return _status_error(exc.status_code)(str(exc.detail), headers=dict(exc.headers or {}))


def _status_error(status: int) -> type[DomainError]:
    """A `DomainError` class of the given status, for the rare framework refusal
    with no class of its own."""
    known: dict[int, type[DomainError]] = {400: DomainError, 403: PermissionDenied}
    if status in known:
        return known[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    slug = phrase.lower().replace(" ", "-")
    return type(f"Http{status}", (DomainError,), {"status": status, "title": phrase, "slug": slug})


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        if isinstance(error, PermissionDenied):
            ctx: Ctx = request.state.ctx
            await record_security_event(
                ctx,
                SecurityEvent.PERMISSION_DENIED,
                details={"path": request.url.path, "reason": error.detail},
                survive_rollback=True,
            )
        return _render(request, error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if _wants_problem(request):
            errors = [FieldError(_field_of(err["loc"]), str(err["msg"])) for err in exc.errors()]
            return _render(request, ValidationFailed(errors=errors))
        return _render(request, for_people(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _render(request, _from_http_exception(request, exc))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        # Starlette logs and re-raises after this; the transaction was rolled back.
        return _render(request, InternalError())

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        translated = from_database_error(exc)
        if translated is None:
            raise exc
        return _render(request, translated)
