"""The Organization settings page (`/settings/organization`, admins only).

One form over `identity.service.update_settings`: default currency, time zone, the
locale money is written in (a choice named in each language), the
sales pool's claim SLA and its escalation reminder, the winback cadence (a choice
among the active cadences, or none), the retention of deleted records and of the
audit trail, sent with
the version the page was drawn with. The handler answers the form redrawn — with
"Settings saved" and the new version, or with each refusal next to its field (422),
or, when another admin saved first (409), with their values and version and a
request to apply the change again. Other roles
get 403 from `require_role` (the service would refuse the write too).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from baton.cadences.queries import cadence_choices
from baton.core import locales
from baton.core.auth import CtxDep
from baton.core.context import Ctx
from baton.core.errors import DomainError, InternalError, PermissionDenied, StaleVersion
from baton.core.schemas import parse_input
from baton.identity import service
from baton.identity.access import require_role
from baton.identity.models import (
    MAX_CLAIM_SLA_HOURS,
    MAX_RETENTION_DAYS,
    MIN_AUDIT_RETENTION_DAYS,
    Role,
)
from baton.identity.queries import OrganizationSettings
from baton.identity.schemas import SettingsPatch
from baton.web.formatting import money
from baton.web.rendering import render
from baton.workflow.web import is_htmx, text, version_of

router = APIRouter(include_in_schema=False)

PATH = "/settings/organization"
FIELDS = (
    "default_currency",
    "timezone",
    "locale",
    "claim_sla_hours",
    "claim_escalation_hours",
    "winback_cadence_id",
    "retention_days",
    "audit_retention_days",
    "require_admin_totp",
)
# Fields whose empty choice means "none" (sent as null), not "unchanged".
CLEARABLE = ("winback_cadence_id",)
SAVED = "Settings saved. A new claim SLA applies to leads entering the pool from now on."
STALE = (
    "Another admin changed the settings meanwhile: these are their values. Apply your change again."
)


def _values(settings: OrganizationSettings) -> dict[str, str]:
    values = {name: getattr(settings, name) for name in FIELDS}
    return {name: "" if value is None else str(value) for name, value in values.items()}


def _currency(values: dict[str, str]) -> str:
    """The currency the locale choices show an amount in: the organization's (as
    typed, when it is a code)."""
    typed = values.get("default_currency", "").upper()
    return typed if len(typed) == 3 and typed.isalpha() else "EUR"


def _locale_choices(current: str, currency: str) -> list[tuple[str, str]]:
    """The locales offered, each named in its language with an amount as it writes
    it ("Deutsch (Deutschland) — 1.250,50 €"), with the organization's own when the
    API set one the list does not hold."""
    offered = list(locales.CHOICES)
    if current and current not in dict(offered) and locales.canonical(current):
        offered.append((current, locales.display_name(current)))
    sample = Decimal("1250.50")
    return [(tag, f"{name} — {money(sample, currency, tag)}") for tag, name in offered]


def _form(
    request: Request,
    *,
    cadences: list[tuple[uuid.UUID, str]],
    values: dict[str, str],
    version: int | None,
    status_code: int = 200,
    notice: str | None = None,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    page: bool = False,
    refused: bool = False,
) -> Response:
    context: dict[str, Any] = {
        "values": values,
        "version": version,
        "notice": notice,
        "message": message,
        "errors": errors or {},
        "max_claim_sla_hours": MAX_CLAIM_SLA_HOURS,
        "max_retention_days": MAX_RETENTION_DAYS,
        "min_audit_retention_days": MIN_AUDIT_RETENTION_DAYS,
        "cadences": [(str(cadence_id), name) for cadence_id, name in cadences],
        "locales": _locale_choices(values.get("locale", ""), _currency(values)),
    }
    if page:
        template = "settings/organization.html"
    elif refused:
        # Swapped into the form's wrapper by baton.js (the error target).
        template = "settings/_organization_form.html"
    else:
        template = "settings/_organization.html"
    return render(request, template, status_code=status_code, **context)


async def _current(ctx: Ctx) -> OrganizationSettings:
    require_role(ctx, Role.ADMIN)
    return await service.get_settings(ctx)


@router.get(PATH)
async def organization_page(request: Request, ctx: CtxDep, saved: str = "") -> Response:
    settings = await _current(ctx)
    return _form(
        request,
        cadences=await cadence_choices(ctx.session),
        values=_values(settings),
        version=settings.version,
        notice=SAVED if saved else None,
        page=True,
    )


@router.post(PATH)
async def organization_save(request: Request, ctx: CtxDep) -> Response:
    require_role(ctx, Role.ADMIN)
    form = await request.form()
    submitted = {name: text(form, name) for name in FIELDS}
    version = version_of(form)
    cadences = await cadence_choices(ctx.session)
    try:
        # A box left empty is not sent: the service refuses clearing a setting, and
        # an empty box more likely means "unchanged" than "remove". A choice that
        # offers "none" is sent as null when chosen.
        sent: dict[str, Any] = {
            name: value for name, value in submitted.items() if value and name not in CLEARABLE
        }
        sent |= {name: submitted[name] or None for name in CLEARABLE if name in form}
        # A choice of two: the form's text, the schema's boolean (strict: no "false").
        if "require_admin_totp" in sent:
            sent["require_admin_totp"] = sent["require_admin_totp"] == "true"
        data = parse_input(SettingsPatch, {**sent, "version": version})
        settings = await service.update_settings(ctx, data, data.version)
    except StaleVersion as error:
        current = await service.get_settings(ctx)
        return _form(
            request,
            cadences=cadences,
            values=_values(current),
            version=current.version,
            status_code=error.status,
            message=STALE,
            page=not is_htmx(request),
            refused=True,
        )
    except (PermissionDenied, InternalError):
        raise
    except DomainError as error:
        beside = {p.field: p.message for p in error.errors if p.field in FIELDS}
        # What belongs to no field (a missing version, a rule) is said above the form.
        rest = [f"{p.field} {p.message}" for p in error.errors if p.field not in FIELDS]
        return _form(
            request,
            cadences=cadences,
            values=submitted,
            version=version,
            status_code=error.status,
            message="; ".join(rest) if rest else (None if beside else error.detail),
            errors=beside,
            page=not is_htmx(request),
            refused=True,
        )
    if not is_htmx(request):
        return RedirectResponse(f"{PATH}?saved=1", status_code=303)
    return _form(
        request,
        cadences=cadences,
        values=_values(settings),
        version=settings.version,
        notice=SAVED,
    )
