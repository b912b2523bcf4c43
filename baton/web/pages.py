"""The web shell: sign-in, home, team administration, API keys, account."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from baton.core.auth import CtxDep
from baton.core.context import Ctx, Principal
from baton.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from baton.core.pagination import MAX_PAGE_SIZE, PageRequest
from baton.core.request_transaction import SESSION_COOKIE
from baton.core.runtime import Runtime
from baton.core.schemas import parse_input
from baton.identity import queries, service
from baton.identity.access import require_role
from baton.identity.models import CredentialKind, Role
from baton.identity.schemas import (
    ApiKeyIn,
    InvitationAcceptIn,
    InvitationIn,
    LoginIn,
    MemberPatch,
    MePatch,
    PasswordChangeIn,
    TotpCodeIn,
    TotpDisableIn,
)
from baton.web.rendering import render

router = APIRouter(include_in_schema=False)
# A form field as sent, or "" when it was left out: FastAPI checks nothing, so every
# refusal comes from the page's own schema (`parse_input`) and the page can show the
# form again with the message beside the field. Lengths are the schema's to bound
# (the body limit bounds the whole form).
FormText = Annotated[str, Form()]
ALL_MEMBERS = PageRequest(limit=MAX_PAGE_SIZE, after=None)
MAX_NEXT = 2000


def _safe_next(target: str | None) -> str:
    """Only same-site paths, of a sane length: an open redirect would hand the session
    to a stranger, and the form's field is not bounded by FastAPI (`FormText`)."""
    if (
        target
        and len(target) <= MAX_NEXT
        and target.startswith("/")
        and not target.startswith("//")
    ):
        return target
    return "/"


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@router.get("/login")
async def login_page(request: Request, ctx: CtxDep, next: str | None = None) -> Response:
    if ctx.principal is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), errors={}, email="")


@router.post("/login")
async def login_submit(
    request: Request,
    ctx: CtxDep,
    email: FormText = "",
    password: FormText = "",
    tenant: FormText = "",
    next: FormText = "/",
    totp_code: FormText = "",
) -> Response:
    try:
        data = _login_input(email, password, tenant, totp_code)
        signed_in = await service.sign_in(ctx, data, CredentialKind.SESSION)
    except DomainError as error:
        return render(
            request,
            "login.html",
            status_code=error.status,
            next=_safe_next(next),
            email=email,
            tenant=tenant,
            message=error.detail,
            errors={e.field: e.message for e in error.errors},
            # The password was right: the form asks again with the code.
            totp_required=isinstance(error, service.SecondFactorRequired),
        )
    target = "/account?totp_setup=1" if signed_in.totp_setup_required else _safe_next(next)
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(request, response, signed_in.token)
    return response


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    runtime: Runtime = request.app.state.runtime
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=runtime.settings.session_ttl_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.secure_cookies,
    )


def _login_input(email: str, password: str, tenant: str, totp_code: str = "") -> LoginIn:
    """The sign-in form, refused in words a person acts on: every empty or malformed
    field is named with what to type there (422), and the form is shown again."""
    errors: list[FieldError] = []
    if not email.strip():
        errors.append(FieldError("email", "Enter the email address you sign in with."))
    if not password:
        errors.append(FieldError("password", "Enter your password."))
    headline = (
        "Enter your email address and password to sign in."
        if errors
        else "Check what you typed and try again."
    )
    try:
        data = parse_input(
            LoginIn,
            {
                "email": email,
                "password": password,
                "tenant": tenant or None,
                "totp_code": totp_code or None,
            },
        )
    except ValidationFailed as refused:
        named = {error.field for error in errors}
        errors += [
            FieldError(e.field, _LOGIN_HINTS.get(e.field, e.message))
            for e in refused.errors
            if e.field not in named
        ]
        raise ValidationFailed(headline, errors=errors) from refused
    if errors:
        raise ValidationFailed(headline, errors=errors)
    return data


_LOGIN_HINTS = {
    "email": "This doesn't look like an email address (name@company.com).",
    "password": "This password is too long to be one of ours.",
    "tenant": "An organization's short name has at most 63 characters.",
}


@router.post("/logout")
async def logout(ctx: CtxDep) -> Response:
    if ctx.principal is not None:
        await service.sign_out(ctx)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


async def _team(
    request: Request, ctx: CtxDep, template: str, notice: str | None = None
) -> Response:
    require_role(ctx, Role.ADMIN)
    members = await queries.list_members(ctx.session, ALL_MEMBERS)
    invitations = await queries.list_open_invitations(ctx.session, ALL_MEMBERS)
    return render(
        request,
        template,
        members=members,
        invitations=invitations,
        roles=list(Role),
        notice=notice,
        now=datetime.now(UTC),
    )


@router.get("/team")
async def team_page(request: Request, ctx: CtxDep) -> Response:
    return await _team(request, ctx, "team.html")


async def _invitations(
    request: Request, ctx: CtxDep, issued: service.IssuedInvitation | None = None
) -> Response:
    """The pending invitations, with a link just issued shown this once (the page's
    whole layout when the form came without htmx)."""
    require_role(ctx, Role.ADMIN)
    invitations = await queries.list_open_invitations(ctx.session, ALL_MEMBERS)
    context: dict[str, Any] = {
        "invitations": invitations,
        "issued": issued,
        "now": datetime.now(UTC),
        "roles": list(Role),
    }
    if _is_htmx(request):
        response = render(request, "_invitations.html", **context)
    else:
        members = await queries.list_members(ctx.session, ALL_MEMBERS)
        response = render(request, "team.html", members=members, **context)
    # The link is in this answer only: no cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/team/invitations")
async def team_invite(
    request: Request,
    ctx: CtxDep,
    email: FormText = "",
    full_name: FormText = "",
    role: FormText = "",
) -> Response:
    data = parse_input(InvitationIn, {"email": email, "full_name": full_name, "role": role})
    return await _invitations(request, ctx, await service.invite(ctx, data))


@router.post("/team/invitations/{invitation_id}/resend")
async def team_resend_invitation(
    request: Request, ctx: CtxDep, invitation_id: uuid.UUID
) -> Response:
    return await _invitations(request, ctx, await service.resend_invitation(ctx, invitation_id))


@router.post("/team/invitations/{invitation_id}/revoke")
async def team_revoke_invitation(
    request: Request, ctx: CtxDep, invitation_id: uuid.UUID
) -> Response:
    await service.revoke_invitation(ctx, invitation_id)
    return await _invitations(request, ctx)


def _invitation_page(request: Request, status_code: int = 200, **context: object) -> Response:
    response = render(request, "invitation.html", status_code=status_code, **context)
    # The token is in the page's address: no Referer carries it anywhere, no cache keeps it.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/invitations/{token}")
async def invitation_page(request: Request, ctx: CtxDep, token: str) -> Response:
    """The page an invitation's link opens: who is invited where, and the form that
    joins (a new password, or the existing login's); a spent or unknown link says so
    and points to sign-in."""
    try:
        view = await service.view_invitation(ctx, token)
    except (NotFound, service.InvitationUnusable) as refused:
        return _invitation_page(request, refused.status, refused=refused.detail)
    return _invitation_page(request, view=view, token=token, errors={}, full_name="")


@router.post("/invitations/{token}")
async def invitation_accept(
    request: Request,
    ctx: CtxDep,
    token: str,
    password: FormText = "",
    full_name: FormText = "",
    totp_code: FormText = "",
) -> Response:
    try:
        data = parse_input(
            InvitationAcceptIn,
            {
                "token": token,
                "password": password,
                "full_name": full_name or None,
                "totp_code": totp_code or None,
            },
        )
        signed_in = await service.accept_invitation(ctx, data, CredentialKind.SESSION)
    except (NotFound, service.InvitationUnusable) as refused:
        return _invitation_page(request, refused.status, refused=refused.detail)
    except DomainError as error:
        # The form again, with what to change (nothing was written).
        view = await service.view_invitation(ctx, token)
        errors = {e.field: e.message for e in error.errors}
        if not errors and error.status == 401:
            errors["password"] = error.detail
        return _invitation_page(
            request,
            error.status,
            view=view,
            token=token,
            errors=errors,
            message=error.detail,
            full_name=full_name,
            totp_required=isinstance(error, service.SecondFactorRequired),
        )
    response = RedirectResponse("/", status_code=303)
    _set_session_cookie(request, response, signed_in.token)
    return response


@router.post("/team/{user_id}/role")
async def team_change_role(
    request: Request, ctx: CtxDep, user_id: uuid.UUID, role: FormText = "", version: FormText = ""
) -> Response:
    data = parse_input(MemberPatch, {"role": role, "version": version or None})
    member = await service.change_member_role(ctx, user_id, data.role, data.version)
    return await _after_team_change(request, ctx, f"{member['full_name']} is now {data.role.value}")


@router.post("/team/{user_id}/remove")
async def team_remove(request: Request, ctx: CtxDep, user_id: uuid.UUID) -> Response:
    await service.remove_member(ctx, user_id)
    return await _after_team_change(request, ctx, "Member removed")


async def _after_team_change(request: Request, ctx: CtxDep, notice: str) -> Response:
    if _is_htmx(request):
        return await _team(request, ctx, "_members.html", notice=notice)
    return RedirectResponse("/team", status_code=303)


@router.get("/settings/api-keys")
async def api_keys_page(request: Request, ctx: CtxDep) -> Response:
    return await _api_keys(request, ctx)


async def _api_keys(request: Request, ctx: CtxDep, new_key: str | None = None) -> Response:
    principal: Principal = require_role(ctx, Role.ADMIN, Role.MANAGER, Role.MARKETING, Role.SALES)
    owner = None if principal.role == Role.ADMIN else principal.user_id
    keys = await queries.list_api_keys(ctx.session, ALL_MEMBERS, owner)
    return render(request, "api_keys.html", keys=keys, new_key=new_key)


@router.post("/settings/api-keys")
async def api_keys_create(request: Request, ctx: CtxDep, name: FormText = "") -> Response:
    data = parse_input(ApiKeyIn, {"name": name})
    created = await service.create_api_key(ctx, data.name)
    return await _api_keys(request, ctx, new_key=created.raw)


@router.post("/settings/api-keys/{api_key_id}/revoke")
async def api_keys_revoke(request: Request, ctx: CtxDep, api_key_id: uuid.UUID) -> Response:
    await service.revoke_api_key(ctx, api_key_id)
    return RedirectResponse("/settings/api-keys", status_code=303)


async def _account(
    request: Request,
    ctx: Ctx,
    notice: str | None,
    *,
    totp_setup: dict[str, str] | None = None,
    recovery_codes: list[str] | None = None,
    totp_setup_required: bool = False,
) -> Response:
    """My account: the password form, two-factor sign-in and the time zone choice
    (the member's own, or the organization's, named)."""
    principal = ctx.require_principal()
    own, organization = await queries.timezones_of(ctx.session, principal.membership_id)
    muted = await queries.muted_emails_of(ctx.session, principal.membership_id)
    kinds = [
        (kind, label)
        for kind, label, roles in EMAIL_CHOICES
        if roles is None or principal.role in roles
    ]
    return render(
        request,
        "account.html",
        notice=notice,
        own_timezone=own,
        organization_timezone=organization,
        timezones=sorted(available_timezones()),
        email_kinds=kinds,
        muted_emails=muted,
        email_enabled=bool(ctx.settings.smtp_url),
        totp_on=await service.totp_enabled(ctx),
        totp_setup=totp_setup,
        recovery_codes=recovery_codes,
        totp_setup_required=totp_setup_required,
    )


PASSWORD_CHANGED = "Password changed; your other sessions were signed out"


@router.get("/account")
async def account_page(
    request: Request, ctx: CtxDep, password_changed: str = "", totp_setup: str = ""
) -> Response:
    return await _account(
        request,
        ctx,
        PASSWORD_CHANGED if password_changed else None,
        totp_setup_required=bool(totp_setup),
    )


@router.post("/account/totp/begin")
async def account_totp_begin(request: Request, ctx: CtxDep) -> Response:
    secret, uri = await service.begin_totp(ctx)
    return await _account(request, ctx, None, totp_setup={"secret": secret, "uri": uri})


@router.post("/account/totp/confirm")
async def account_totp_confirm(request: Request, ctx: CtxDep, code: FormText = "") -> Response:
    data = parse_input(TotpCodeIn, {"code": code})
    codes = await service.confirm_totp(ctx, data.code)
    return await _account(request, ctx, None, recovery_codes=codes)


@router.post("/account/totp/disable")
async def account_totp_disable(request: Request, ctx: CtxDep, password: FormText = "") -> Response:
    data = parse_input(TotpDisableIn, {"password": password})
    await service.disable_totp(ctx, data.password)
    return await _account(request, ctx, "Two-factor sign-in is off")


@router.post("/account/timezone")
async def account_timezone(request: Request, ctx: CtxDep, timezone: FormText = "") -> Response:
    data = parse_input(MePatch, {"timezone": timezone or None})
    zone = await service.set_own_timezone(ctx, data.timezone)
    # This page was drawn with the zone of the request; the next ones use the new one.
    return await _account(request, ctx, f"Times are now shown in {zone}")


# The email choices My account offers, with the roles that get such notifications
# (None: everyone). Invitations are not offered: they reach a member before any choice.
EMAIL_CHOICES: list[tuple[str, str, frozenset[str] | None]] = [
    ("assignment", "A lead, deal or work item is given to me", None),
    (
        "escalation",
        "A lead in the Sales Inbox is past its claim due time",
        frozenset({Role.MANAGER.value, Role.ADMIN.value}),
    ),
    ("digest", "Daily digest of my deals whose next step is overdue", None),
]


@router.post("/account/email")
async def account_email(request: Request, ctx: CtxDep) -> Response:
    """Each offered kind is wanted when its box is ticked, muted when not."""
    principal = ctx.require_principal()
    form = await request.form()
    ticked = set(form.getlist("email"))
    offered = [
        kind for kind, _label, roles in EMAIL_CHOICES if roles is None or principal.role in roles
    ]
    await service.set_email_preferences(ctx, {kind: kind in ticked for kind in offered})
    return await _account(request, ctx, "Email choices saved")


@router.post("/account/password")
async def account_password(
    request: Request, ctx: CtxDep, current_password: FormText = "", new_password: FormText = ""
) -> Response:
    data = parse_input(
        PasswordChangeIn, {"current_password": current_password, "new_password": new_password}
    )
    successor = await service.change_password(ctx, data)
    # The session id rotated: the next page (and its form tokens) binds to the new one.
    response = RedirectResponse("/account?password_changed=1", status_code=303)
    if successor is not None:
        _set_session_cookie(request, response, successor.token)
    return response
