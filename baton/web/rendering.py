"""Jinja2 environment and the values every page needs (user, sidebar, CSRF token)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from baton.audit.trail import change_field
from baton.core.context import Ctx
from baton.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from baton.core.locales import DEFAULT_LOCALE
from baton.core.request_transaction import ANONYMOUS_COOKIE, SESSION_COOKIE, cookies_of, headers_of
from baton.core.runtime import Runtime
from baton.core.schemas import describe
from baton.core.zones import zone_named
from baton.identity import credentials
from baton.web import TEMPLATES_DIR
from baton.web.formatting import (
    amount_example,
    amount_input,
    amount_text,
    code_label,
    field_name,
    local_date,
    local_time,
    money,
)
from baton.web.navigation import sidebar_for

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def export_url(entity: str, fmt: str, params: dict[str, object] | None = None) -> str:
    """A list's download (`baton.exports.web`) in `fmt` with the non-empty `params`:
    the filters on screen."""
    kept = {key: str(value) for key, value in (params or {}).items() if value}
    return f"/exports/{entity}?" + urlencode({"format": fmt, **kept})


@pass_context
def _money(context: Context, amount: Any, currency: str) -> str:
    return money(amount, currency, context.get("locale") or DEFAULT_LOCALE)


@pass_context
def _amount_example(context: Context) -> str:
    return amount_example(context.get("locale") or DEFAULT_LOCALE)


@pass_context
def _amount_input(context: Context, amount: Any) -> str:
    return amount_input(amount, context.get("locale") or DEFAULT_LOCALE)


@pass_context
def _amount_text(context: Context, amount: Any) -> str:
    return amount_text(amount, context.get("locale") or DEFAULT_LOCALE)


# `{{ money(deal.amount, deal.currency) }}`: in the organization's locale (`locale`,
# bound per request by `render` as `zone` is); `amount_example()` for an amount's hint,
# `amount_input(amount)` for an amount's box, `amount_text(amount)` for a filter's (grouped;
# `typed_amount` reads all three back).
templates.env.globals["money"] = _money
templates.env.globals["amount_example"] = _amount_example
templates.env.globals["amount_input"] = _amount_input
templates.env.globals["amount_text"] = _amount_text
templates.env.globals["export_url"] = export_url
templates.env.globals["change_field"] = change_field
templates.env.globals["field_label"] = field_name
templates.env.filters["label"] = code_label


@pass_context
def _when(context: Context, moment: datetime | None) -> str:
    return local_time(moment, context.get("zone") or UTC_ZONE)


@pass_context
def _day(context: Context, moment: datetime | None) -> str:
    return local_date(moment, context.get("zone") or UTC_ZONE)


# `{{ activity.due_at|when }}`: a stored time in the viewer's zone; `|day` its date.
templates.env.filters["when"] = _when
templates.env.filters["day"] = _day
UTC_ZONE = ZoneInfo("UTC")


def viewer_zone(ctx: Ctx) -> ZoneInfo:
    """The zone the signed-in member reads and types times in (UTC when anonymous)."""
    return zone_named(ctx.principal.timezone if ctx.principal else None)


def viewer_locale(ctx: Ctx) -> str:
    """The organization's locale pages write money in (the default when anonymous)."""
    return ctx.principal.locale if ctx.principal else DEFAULT_LOCALE


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page or fragment; sets the anonymous CSRF cookie when a form needs it."""
    runtime: Runtime = request.app.state.runtime
    ctx: Ctx = request.state.ctx
    cookies = cookies_of(headers_of(request.scope))
    new_anonymous: str | None = None
    if ctx.principal is not None:
        session = credentials.parse(cookies.get(SESSION_COOKIE, ""))
        binding = session.digest if session else b""
    else:
        anonymous = cookies.get(ANONYMOUS_COOKIE)
        if not anonymous:
            anonymous = new_anonymous = secrets.token_urlsafe(32)
        binding = anonymous.encode()
    zone = viewer_zone(ctx)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "zone": zone,
            "locale": viewer_locale(ctx),
            # The viewer's calendar day: what a next-step due date is overdue against.
            "today": datetime.now(zone).date(),
            "principal": ctx.principal,
            "sidebar": sidebar_for(ctx.principal.role) if ctx.principal else [],
            "csrf_token": credentials.csrf_token(runtime.secret_key, binding),
            "current_path": request.url.path,
            # The layout's own values (`Runtime.page_loaders`: the bell's count).
            **getattr(request.state, "page_context", {}),
            **context,
        },
        status_code=status_code,
    )
    if new_anonymous:
        response.set_cookie(
            ANONYMOUS_COOKIE,
            new_anonymous,
            httponly=True,
            samesite="strict",
            secure=runtime.settings.secure_cookies,
        )
    return response


# What an error page is headed with where the problem's title is written for programs.
PAGE_HEADINGS = {
    "validation-failed": "Some of what was entered needs fixing",
    "rule-violation": "This can't be done",
    "not-found": "Page not found",
    "method-not-allowed": "This page can't be opened this way",
}


def error_page(request: Request, error: DomainError, headers: dict[str, str]) -> HTMLResponse:
    """A whole page in the layout (the sidebar, when signed in) for an error on a page
    load, with the fields at fault and a way back: to the page the visitor came from
    when it is one of ours, else to the start page."""
    response = render(
        request,
        "error.html",
        status_code=error.status,
        error=error,
        heading=PAGE_HEADINGS.get(error.slug, error.title),
        # A refusal whose words are only its title says nothing the heading does not.
        detail=None if error.detail == error.title else error.detail,
        back=_back(request),
    )
    response.headers.update(headers)
    return response


def _back(request: Request) -> str | None:
    """The same-site page in `Referer` (path and query only), unless it is the page
    that failed to load (a refused form's page is where the visitor goes back to)."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not referer.path.startswith("/"):
        return None
    if referer.path.startswith("//"):
        return None
    if request.method == "GET" and referer.path == request.url.path:
        return None
    return referer.path + (f"?{referer.query}" if referer.query else "")


def for_people(exc: RequestValidationError) -> DomainError:
    """What a page says when FastAPI refused a request's parameters before the page's
    handler ran. An address whose path does not parse (`/deals/not-an-id`) names no
    page: 404. Anything else — a query parameter, a form field a handler declared —
    is 422 with each field labelled and described in words, never pydantic's text.
    Forms should read their fields themselves (`parse_input`) so the page can show
    them again with the message beside the field; this is the backstop."""
    details = exc.errors()
    if any(err["loc"][:1] == ("path",) for err in details):
        return NotFound(
            "There is no page at this address. The link may be mistyped or out of date."
        )
    return ValidationFailed(
        errors=[FieldError(_label(err["loc"]), describe(err)) for err in details],
    )


def _label(loc: tuple[Any, ...]) -> str:
    named = [str(part) for part in loc if part not in ("body", "query", "header", "cookie")]
    return ".".join(named) or "form"
