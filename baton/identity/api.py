"""/api/v1 auth, me, users, settings and api-keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Response, status

from baton.core.auth import CtxDep, IfMatchDep, PrincipalDep, get_principal
from baton.core.context import Principal
from baton.core.errors import NotFound
from baton.core.pagination import PageRequest, next_cursor, page_request
from baton.core.routing import JsonRoute
from baton.core.schemas import Page
from baton.core.versioning import expected_version
from baton.identity import queries, service
from baton.identity.access import require_role
from baton.identity.models import Invitation, Role
from baton.identity.schemas import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    EmailNotifications,
    InvitationAcceptIn,
    InvitationIn,
    InvitationLinkOut,
    InvitationOut,
    LoginIn,
    MemberIn,
    MemberOut,
    MemberPatch,
    MeOut,
    MePatch,
    PasswordChangeIn,
    RecoveryCodesOut,
    RegistrationIn,
    RegistrationOut,
    SettingsOut,
    SettingsPatch,
    TenantOut,
    TokenOut,
    TotpCodeIn,
    TotpDisableIn,
    TotpSetupOut,
    UserOut,
)
from baton.notifications.models import EMAILED_KINDS

public = APIRouter(prefix="/api/v1")
# Authentication is checked before the body is validated: anonymous callers get 401.
router = APIRouter(prefix="/api/v1", dependencies=[Depends(get_principal)], route_class=JsonRoute)
PageDep = Depends(page_request)


@public.post("/auth/register", status_code=status.HTTP_201_CREATED, tags=["auth"])
async def register(data: RegistrationIn, ctx: CtxDep) -> RegistrationOut:
    result = await service.register(ctx, data)
    return RegistrationOut(
        tenant=TenantOut.model_validate(result.tenant),
        user=UserOut.model_validate(result.user),
        access_token=result.access_token,
    )


@public.post(
    "/invitations/accept",
    tags=["auth"],
    responses={
        401: {"description": "The login the invitation's email has: wrong password or code"},
        404: {"description": "No invitation has this token"},
        410: {"description": "The invitation was accepted, revoked, or has expired"},
    },
)
async def accept_invitation(data: InvitationAcceptIn, ctx: CtxDep, response: Response) -> TokenOut:
    """Join an organization with an invitation's token, signed in at once (a bearer
    token, as `/auth/login`). An email without a login sets `password` (≥ 12
    characters, not a common one; 422) and may correct `full_name`; an email with a
    login gives that login's password (and `totp_code` if it uses two-factor sign-in).
    Failures count against the client like failed sign-ins (429 past the limit)."""
    result = await service.accept_invitation(ctx, data)
    response.headers["Cache-Control"] = "no-store"
    return TokenOut(
        access_token=result.token,
        expires_at=result.expires_at,
        tenant=TenantOut.model_validate(result.tenant),
        totp_setup_required=result.totp_setup_required,
    )


@public.post("/auth/login", tags=["auth"])
async def login(data: LoginIn, ctx: CtxDep) -> TokenOut:
    result = await service.sign_in(ctx, data)
    return TokenOut(
        access_token=result.token,
        expires_at=result.expires_at,
        tenant=TenantOut.model_validate(result.tenant),
        totp_setup_required=result.totp_setup_required,
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
async def logout(ctx: CtxDep, _: PrincipalDep) -> Response:
    await service.sign_out(ctx)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
async def change_password(data: PasswordChangeIn, ctx: CtxDep, _: PrincipalDep) -> Response:
    await service.change_password(ctx, data)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/me/totp", tags=["auth"])
async def begin_totp(ctx: CtxDep, response: Response) -> TotpSetupOut:
    """Start two-factor sign-in: a new secret for an authenticator app (not in force
    until confirmed with one of its codes). 409 while it is on."""
    secret, uri = await service.begin_totp(ctx)
    response.headers["Cache-Control"] = "no-store"
    return TotpSetupOut(secret=secret, otpauth_uri=uri)


@router.post("/me/totp/confirm", tags=["auth"])
async def confirm_totp(data: TotpCodeIn, ctx: CtxDep, response: Response) -> RecoveryCodesOut:
    """Turn two-factor sign-in on with a current code of the new secret; answers ten
    recovery codes, shown this once."""
    codes = await service.confirm_totp(ctx, data.code)
    response.headers["Cache-Control"] = "no-store"
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/me/totp/disable", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
async def disable_totp(data: TotpDisableIn, ctx: CtxDep) -> Response:
    """Turn two-factor sign-in off, with the login's password."""
    await service.disable_totp(ctx, data.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _email_notifications(muted: list[str]) -> EmailNotifications:
    return EmailNotifications(**{kind.value: kind.value not in muted for kind in EMAILED_KINDS})


def _me(principal: Principal, timezone: str, muted: list[str]) -> MeOut:
    return MeOut(
        user=UserOut(id=principal.user_id, email=principal.email, full_name=principal.full_name),
        tenant=TenantOut(
            id=principal.tenant_id, name=principal.tenant_name, slug=principal.tenant_slug
        ),
        role=Role(principal.role),
        auth_method=principal.method.value,
        timezone=timezone,
        email_notifications=_email_notifications(muted),
    )


@router.get("/me", tags=["auth"])
async def me(ctx: CtxDep, principal: PrincipalDep) -> MeOut:
    muted = await queries.muted_emails_of(ctx.session, principal.membership_id)
    return _me(principal, principal.timezone, muted)


@router.patch("/me", tags=["auth"])
async def update_me(data: MePatch, ctx: CtxDep, principal: PrincipalDep) -> MeOut:
    """The caller's own settings; only the fields sent change: `timezone`, the zone
    their pages use (null: the organization's), and `email_notifications`, which
    notification kinds they also get by email (`{"digest": false}`)."""
    timezone = principal.timezone
    if "timezone" in data.model_fields_set:
        timezone = await service.set_own_timezone(ctx, data.timezone)
    if data.email_notifications is not None:
        wanted = data.email_notifications.model_dump(exclude_none=True)
        muted = await service.set_email_preferences(ctx, wanted)
    else:
        muted = await queries.muted_emails_of(ctx.session, principal.membership_id)
    return _me(principal, timezone, muted)


@router.get("/users", tags=["users"])
async def list_users(ctx: CtxDep, page: PageRequest = PageDep) -> Page[MemberOut]:
    require_role(ctx, Role.ADMIN)
    rows = await queries.list_members(ctx.session, page)
    items = [MemberOut.model_validate(row) for row in rows[: page.limit]]
    return Page(
        items=items, next_cursor=next_cursor(rows, page, items[-1].membership_id if items else None)
    )


@router.post("/users", status_code=status.HTTP_201_CREATED, tags=["users"])
async def add_user(data: MemberIn, ctx: CtxDep) -> MemberOut:
    """Add a member at once (admins), for scripts that provision logins: an email that
    already has a login joins with it; a new login needs `password`. To let people
    choose their own password, invite them: `POST /api/v1/invitations`."""
    return MemberOut.model_validate(await service.add_member(ctx, data))


def _invitation_out(invitation: Invitation) -> InvitationOut:
    return InvitationOut(
        id=invitation.id,
        email=invitation.email,
        full_name=invitation.full_name,
        role=Role(invitation.role),
        status=invitation.status_at(datetime.now(UTC)),
        invited_by=invitation.invited_by,
        expires_at=invitation.expires_at,
        accepted_at=invitation.accepted_at,
        revoked_at=invitation.revoked_at,
        created_at=invitation.created_at,
        updated_at=invitation.updated_at,
        version=invitation.version,
    )


def _link_out(issued: service.IssuedInvitation, response: Response) -> InvitationLinkOut:
    # The link is in this answer only: no cache (nor idempotency record) may keep it.
    response.headers["Cache-Control"] = "no-store"
    out = _invitation_out(issued.invitation)
    return InvitationLinkOut(**out.model_dump(), accept_url=issued.accept_url, token=issued.token)


@router.get("/invitations", tags=["users"])
async def list_invitations(ctx: CtxDep, page: PageRequest = PageDep) -> Page[InvitationOut]:
    """Invitations not yet accepted nor revoked (admins): pending, or expired (resend
    them), oldest first."""
    require_role(ctx, Role.ADMIN)
    rows = await queries.list_open_invitations(ctx.session, page)
    items = [_invitation_out(row) for row in rows[: page.limit]]
    return Page(items=items, next_cursor=next_cursor(rows, page, items[-1].id if items else None))


@router.post("/invitations", status_code=status.HTTP_201_CREATED, tags=["users"])
async def invite(data: InvitationIn, ctx: CtxDep, response: Response) -> InvitationLinkOut:
    """Invite someone to join with a role (admins): a one-time link, valid 7 days,
    answered here once (and emailed when the server sends email). The invitee opens it,
    chooses a password (or signs in with the login they have) and is a member. 409 when
    they are a member already, or have a pending invitation (resend it)."""
    return _link_out(await service.invite(ctx, data), response)


@router.post("/invitations/{invitation_id}/resend", tags=["users"])
async def resend_invitation(
    invitation_id: uuid.UUID, ctx: CtxDep, response: Response
) -> InvitationLinkOut:
    """A new link for a pending or expired invitation (admins), valid 7 days from now;
    the previous link stops working. 409 once accepted or revoked."""
    return _link_out(await service.resend_invitation(ctx, invitation_id), response)


@router.delete(
    "/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["users"]
)
async def revoke_invitation(invitation_id: uuid.UUID, ctx: CtxDep) -> Response:
    """Withdraw an invitation (admins): its link stops working. 409 once accepted."""
    await service.revoke_invitation(ctx, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch("/users/{user_id}", tags=["users"])
async def change_role(
    user_id: uuid.UUID, data: MemberPatch, ctx: CtxDep, if_match: IfMatchDep
) -> MemberOut:
    version = expected_version(if_match, data.version)
    return MemberOut.model_validate(
        await service.change_member_role(ctx, user_id, data.role, version)
    )


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["users"])
async def remove_user(user_id: uuid.UUID, ctx: CtxDep) -> Response:
    await service.remove_member(ctx, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/settings", tags=["settings"])
async def get_settings(ctx: CtxDep) -> SettingsOut:
    """The organization's settings (any member)."""
    return SettingsOut.model_validate(await service.get_settings(ctx))


@router.patch("/settings", tags=["settings"])
async def update_settings(data: SettingsPatch, ctx: CtxDep, if_match: IfMatchDep) -> SettingsOut:
    """Change settings (admins); send the version (If-Match or body). A new claim SLA
    applies to leads entering the sales pool afterwards: pooled leads keep their due time."""
    version = expected_version(if_match, data.version)
    return SettingsOut.model_validate(await service.update_settings(ctx, data, version))


@router.get("/api-keys", tags=["api-keys"])
async def list_api_keys(
    ctx: CtxDep, principal: PrincipalDep, page: PageRequest = PageDep
) -> Page[ApiKeyOut]:
    owner = None if principal.role == Role.ADMIN else principal.user_id
    rows = await queries.list_api_keys(ctx.session, page, owner)
    items = [ApiKeyOut.model_validate(row) for row in rows[: page.limit]]
    return Page(items=items, next_cursor=next_cursor(rows, page, items[-1].id if items else None))


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, tags=["api-keys"])
async def create_api_key(data: ApiKeyIn, ctx: CtxDep, response: Response) -> ApiKeyCreatedOut:
    created = await service.create_api_key(ctx, data.name)
    # The key is in this answer only: no cache (nor idempotency record) may keep it.
    response.headers["Cache-Control"] = "no-store"
    out = ApiKeyOut.model_validate(created.api_key)
    return ApiKeyCreatedOut(**out.model_dump(), key=created.raw)


@router.delete("/api-keys/{api_key_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["api-keys"])
async def revoke_api_key(api_key_id: uuid.UUID, ctx: CtxDep) -> Response:
    await service.revoke_api_key(ctx, api_key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/{user_id}", tags=["users"])
async def get_user(user_id: uuid.UUID, ctx: CtxDep) -> MemberOut:
    require_role(ctx, Role.ADMIN)
    member = await queries.get_member(ctx.session, user_id)
    if member is None:
        raise NotFound("No such member")
    return MemberOut.model_validate(member)
