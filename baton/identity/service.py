"""Identity rules: registration, sign-in, sessions, members, settings and API keys.

Every write here runs inside the caller's unit of work and only `flush()`es.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select, text, update
from sqlalchemy.orm.exc import StaleDataError

from baton.audit.models import SecurityEvent
from baton.audit.service import record_security_event, write_security_event_alone
from baton.cadences import service as cadence_service
from baton.cadences.models import Cadence
from baton.config import Settings
from baton.core import rate_limit
from baton.core.context import AuthMethod, Ctx
from baton.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    RateLimited,
    RuleViolation,
    StaleVersion,
    Unauthenticated,
    ValidationFailed,
)
from baton.core.ids import uuid7
from baton.core.schemas import parse_input
from baton.core.versioning import check_version
from baton.identity import credentials, enrolment, queries, sealing, totp
from baton.identity.access import require_role
from baton.identity.credentials import CredentialPrefix, IssuedCredential
from baton.identity.models import (
    DEFAULT_AUDIT_RETENTION_DAYS,
    DEFAULT_CLAIM_ESCALATION_HOURS,
    DEFAULT_CLAIM_SLA_HOURS,
    DEFAULT_RETENTION_DAYS,
    INVITATION_TTL_DAYS,
    AccessToken,
    ApiKey,
    CredentialKind,
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    Tenant,
    TenantSettings,
    User,
)
from baton.identity.passwords import hash_password, verify_password
from baton.identity.schemas import (
    InvitationAcceptIn,
    InvitationIn,
    LoginIn,
    MemberIn,
    NewPasswordIn,
    PasswordChangeIn,
    RegistrationIn,
    SettingsPatch,
)
from baton.notifications.email import queue_invitation, queue_welcome
from baton.workflow import service as workflow_service

BAD_CREDENTIALS = "Email or password is incorrect"
SETTINGS: Table = TenantSettings.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Registration:
    tenant: Tenant
    user: User
    membership: Membership
    access_token: str


@dataclass(frozen=True)
class SignIn:
    token: str
    expires_at: datetime
    tenant: Tenant
    user: User
    membership: Membership
    # An admin of an organization that requires two-factor sign-in, without it yet.
    totp_setup_required: bool = False


class SecondFactorRequired(Unauthenticated):
    """401 `totp-required`: the password was right; a two-factor code is needed."""

    slug = "totp-required"
    title = "Two-factor code required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.errors = [FieldError("totp_code", detail)]


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    raw: str


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return (slug or "team")[:50].strip("-")


async def _free_slug(ctx: Ctx, name: str) -> str:
    base = slugify(name)
    taken = await queries.taken_slugs(ctx.session, base)
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


async def _limit_registrations(ctx: Ctx) -> None:
    """New organizations per client address per minute; the CLI (no address) is exempt."""
    if ctx.client_address is None:
        return
    wait = await rate_limit.hit(
        ctx.db,
        f"register:address:{ctx.client_address}",
        ctx.settings.registrations_per_minute,
    )
    if wait is not None:
        await record_security_event(
            ctx,
            SecurityEvent.RATE_LIMITED,
            details={"scope": "register", "retry_after": wait},
            survive_rollback=True,
        )
        raise RateLimited(wait, "Too many new organizations from this address; try again later")


async def register(ctx: Ctx, data: RegistrationIn) -> Registration:
    """Create a tenant, its first admin and its default configuration — all or nothing.

    An email that already has a login must sign in instead (one login, many tenants).
    """
    await _limit_registrations(ctx)
    if await queries.user_id_for_email(ctx.session, data.email) is not None:
        raise Conflict(
            "An account with this email already exists; sign in instead",
            errors=[FieldError("email", "is already registered")],
        )
    tenant_id = uuid7()
    user_id = uuid7()
    # Scope the transaction first: every row below belongs to the new tenant, and
    # audit rows name the new admin as their actor.
    await ctx.enter_tenant(tenant_id, user_id, Role.ADMIN)
    tenant = Tenant(
        id=tenant_id,
        name=data.organization_name,
        slug=await _free_slug(ctx, data.organization_name),
    )
    ctx.session.add(tenant)
    await ctx.session.flush()
    user = User(
        id=user_id,
        email=data.email,
        full_name=data.full_name,
        password_hash=await hash_password(data.password),
    )
    ctx.session.add(user)
    await ctx.session.flush()
    membership = Membership(tenant_id=tenant_id, user_id=user_id, role=Role.ADMIN.value)
    ctx.session.add(membership)
    await ctx.session.flush()
    ctx.session.add(
        TenantSettings(
            tenant_id=tenant_id,
            default_currency=data.default_currency,
            timezone=data.timezone,
            claim_sla_hours=DEFAULT_CLAIM_SLA_HOURS,
            claim_escalation_hours=DEFAULT_CLAIM_ESCALATION_HOURS,
            retention_days=DEFAULT_RETENTION_DAYS,
            audit_retention_days=DEFAULT_AUDIT_RETENTION_DAYS,
        )
    )
    await ctx.session.flush()
    await workflow_service.seed_defaults(ctx)
    await cadence_service.seed_default_cadence(ctx, created_by=user_id)
    issued = await _issue_token(
        ctx,
        membership,
        CredentialKind.BEARER,
        datetime.now(UTC) + _ttl(ctx.settings, CredentialKind.BEARER),
    )
    await record_security_event(
        ctx, SecurityEvent.TENANT_REGISTERED, details={"slug": tenant.slug}, actor_user_id=user_id
    )
    return Registration(tenant=tenant, user=user, membership=membership, access_token=issued.raw)


async def sign_in(ctx: Ctx, data: LoginIn, kind: CredentialKind = CredentialKind.BEARER) -> SignIn:
    """Check a password and issue a bearer token or web session for one tenant.

    Failures are counted per account and per client address in the persistent rate
    limiter; past the limit the account or address is blocked with exponential
    back-off (429 + Retry-After), and every failure and block is audited.

    A web session the browser still presented is revoked by a successful sign-in:
    the session id rotates, so an id planted or seen before sign-in is worth nothing.
    """
    engine = ctx.db.engine
    account_key = f"login:account:{data.email}"
    address_key = f"login:address:{ctx.client_address or 'unknown'}"
    wait = await rate_limit.blocked_for(engine, [account_key, address_key])
    if wait is not None:
        await record_security_event(
            ctx,
            SecurityEvent.RATE_LIMITED,
            details={"scope": "login", "email": data.email, "retry_after": wait},
            survive_rollback=True,
        )
        raise RateLimited(wait, "Too many failed sign-in attempts; try again later")

    # No tenant is known yet, so RLS shows no login: the definer function finds it.
    login = await queries.login_by_email(ctx.session, data.email)
    password_ok = await verify_password(login.password_hash if login else None, data.password)
    if login is None or not password_ok or not login.is_active:
        _count_failure(ctx, data.email, login.user_id if login else None, address_key, account_key)
        raise Unauthenticated(BAD_CREDENTIALS)

    previous = ctx.principal
    if previous is not None and previous.method is AuthMethod.SESSION:
        # Still scoped to the old session's tenant: RLS lets this one row through.
        await _revoke_credential(ctx, previous.credential_id)
    await ctx.enter_tenant(None, login.user_id)
    user = await ctx.session.get_one(User, login.user_id)
    if user.totp_enabled_at is not None:
        await _check_second_factor(ctx, data, user, account_key, address_key)
    memberships = await queries.memberships_of(ctx.session, login.user_id)
    chosen = _choose_membership(memberships, data.tenant)
    ctx.defer_durable(lambda: rate_limit.clear(engine, account_key))
    await ctx.enter_tenant(chosen["tenant_id"], login.user_id, chosen["role"])
    membership = await ctx.session.get_one(Membership, (chosen["tenant_id"], chosen["id"]))
    tenant = await ctx.session.get_one(Tenant, chosen["tenant_id"])
    setup_required = (
        user.totp_enabled_at is None
        and membership.role == Role.ADMIN.value
        and bool(
            await ctx.session.scalar(
                select(TenantSettings.require_admin_totp).where(
                    TenantSettings.tenant_id == tenant.id
                )
            )
        )
    )
    expires_at = datetime.now(UTC) + _ttl(ctx.settings, kind)
    issued = await _issue_token(ctx, membership, kind, expires_at)
    event = (
        SecurityEvent.LOGIN_OK if kind is CredentialKind.BEARER else SecurityEvent.SESSION_CREATED
    )
    await record_security_event(ctx, event, details={"kind": kind.value}, actor_user_id=user.id)
    return SignIn(issued.raw, expires_at, tenant, user, membership, setup_required)


def _sealing_keys(ctx: Ctx) -> sealing.SealingKeys:
    settings = ctx.settings
    return sealing.sealing_keys(settings.resolved_secret_key(), settings.previous_secret_keys)


def _recovery_keys(ctx: Ctx) -> sealing.SealingKeys:
    settings = ctx.settings
    return sealing.recovery_keys(settings.resolved_secret_key(), settings.previous_secret_keys)


def _totp_secret(ctx: Ctx, user: User) -> str | None:
    """The login's TOTP seed, opened (`identity.sealing`: fails closed under a key this
    server lacks). A plaintext seed from before sealing, or one sealed under a previous
    application secret, is sealed under the current one now; the caller's flush
    writes it."""
    if user.totp_secret is None:
        return None
    keys = _sealing_keys(ctx)
    secret = sealing.unseal(keys, user.totp_secret, row_id=user.id.bytes)
    if sealing.needs_sealing(keys, user.totp_secret):
        user.totp_secret = sealing.seal(keys, secret, row_id=user.id.bytes)
    return secret


async def _check_second_factor(
    ctx: Ctx, data: LoginIn, user: User, account_key: str, address_key: str
) -> None:
    """The login has two-factor sign-in: its code (or an unused recovery code) is
    required. Missing: 401 `totp-required`, nothing counted (the first step of a
    two-step form). Wrong: 401 too, counted like a wrong password in the persistent
    rate limiter, so codes cannot be guessed faster than passwords. A code is
    accepted once; a recovery code is used up."""
    if not data.totp_code:
        raise SecondFactorRequired("Enter the code from your authenticator app")
    code = data.totp_code.strip()
    if totp.looks_like_recovery_code(code):
        digest = totp.matching_recovery_digest(_recovery_keys(ctx), user.totp_recovery_hashes, code)
        if digest is not None:
            user.totp_recovery_hashes = [h for h in user.totp_recovery_hashes if h != digest]
            await ctx.session.flush()
            await record_security_event(
                ctx,
                SecurityEvent.RECOVERY_CODE_USED,
                details={"remaining": len(user.totp_recovery_hashes)},
                actor_user_id=user.id,
            )
            return
    elif (secret := _totp_secret(ctx, user)) is not None:
        step = totp.verify(secret, code, after_step=user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            await ctx.session.flush()
            return
    _count_failure(ctx, data.email, user.id, address_key, account_key)
    raise SecondFactorRequired("The two-factor code is incorrect or was already used")


async def begin_totp(ctx: Ctx) -> tuple[str, str]:
    """Any member starts two-factor set-up: a new secret, not in force until a code
    from it is confirmed (`confirm_totp`). Refused (409) while it is on: turn it off
    first. Answers the secret and its `otpauth://` URI."""
    principal = ctx.require_principal()
    user = await ctx.session.get_one(User, principal.user_id)
    if user.totp_enabled_at is not None:
        raise Conflict("Two-factor sign-in is already on; turn it off to set up another app")
    secret = totp.new_secret()
    user.totp_secret = sealing.seal(_sealing_keys(ctx), secret, row_id=user.id.bytes)
    user.totp_last_step = None
    await ctx.session.flush()
    return secret, totp.provisioning_uri(secret, user.email)


async def confirm_totp(ctx: Ctx, code: str) -> list[str]:
    """A code from the new secret turns two-factor sign-in on and answers ten
    recovery codes, shown this once (only their hashes are kept). 422 on `code` when
    it does not match; 409 when no set-up was begun or it is already on."""
    principal = ctx.require_principal()
    user = await ctx.session.get_one(User, principal.user_id)
    secret = _totp_secret(ctx, user)
    if user.totp_enabled_at is not None or secret is None:
        raise Conflict("Begin the set-up first (a new secret), then confirm it with a code")
    step = totp.verify(secret, code, after_step=None)
    if step is None:
        raise ValidationFailed(
            "The code does not match",
            errors=[FieldError("code", "does not match; enter the app's current code")],
        )
    codes = totp.new_recovery_codes()
    user.totp_enabled_at = datetime.now(UTC)
    user.totp_last_step = step
    keys = _recovery_keys(ctx)
    user.totp_recovery_hashes = [totp.recovery_digest(keys, c) for c in codes]
    await ctx.session.flush()
    await record_security_event(ctx, SecurityEvent.TOTP_ENABLED, details={})
    # Enrolled: nothing of this request is held to enrolment any longer (the answer
    # renders with the whole app), as no later request of theirs will be.
    ctx.principal = replace(principal, second_factor_due=False)
    return codes


async def disable_totp(ctx: Ctx, password: str) -> None:
    """Turn two-factor sign-in off, with the login's password (422 on `password`
    otherwise); the secret and recovery codes are forgotten."""
    principal = ctx.require_principal()
    user = await ctx.session.get_one(User, principal.user_id)
    if not await verify_password(user.password_hash, password):
        raise ValidationFailed(errors=[FieldError("password", "is incorrect")])
    was_on = user.totp_enabled_at is not None
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.totp_recovery_hashes = []
    await ctx.session.flush()
    if was_on:
        await record_security_event(ctx, SecurityEvent.TOTP_DISABLED, details={})


async def totp_enabled(ctx: Ctx) -> bool:
    """Whether the caller's login has two-factor sign-in on."""
    principal = ctx.require_principal()
    user = await ctx.session.get_one(User, principal.user_id)
    return user.totp_enabled_at is not None


def _choose_membership(memberships: list[dict[str, Any]], slug: str | None) -> dict[str, Any]:
    if not memberships:
        raise Unauthenticated("This login belongs to no organization")
    if slug is not None:
        for membership in memberships:
            if membership["slug"] == slug:
                return membership
        raise Unauthenticated(BAD_CREDENTIALS)
    if len(memberships) == 1:
        return memberships[0]
    choices = ", ".join(m["slug"] for m in memberships)
    raise ValidationFailed(
        "This login belongs to several organizations; say which one",
        errors=[FieldError("tenant", f"is required; one of: {choices}")],
    )


def _count_failure(
    ctx: Ctx,
    email: str | None,
    user_id: uuid.UUID | None,
    address_key: str,
    account_key: str | None = None,
) -> None:
    """A failed sign-in (or invitation attempt: a wrong password, an unknown link),
    counted in the persistent rate limiter against the client's address and the
    login's account and audited, after the request's own transaction is gone."""
    settings = ctx.settings
    account_policy = rate_limit.FailurePolicy(
        settings.login_max_failures, settings.login_window_seconds
    )
    # One address may mistype several accounts; it gets a wider allowance.
    address_policy = rate_limit.FailurePolicy(
        settings.login_max_failures * 4, settings.login_window_seconds
    )
    engine = ctx.db.engine

    async def count_and_audit() -> None:
        blocked = None
        if account_key is not None:
            blocked = await rate_limit.record_failure(engine, account_key, account_policy)
        blocked_address = await rate_limit.record_failure(engine, address_key, address_policy)
        await write_security_event_alone(
            ctx,
            SecurityEvent.LOGIN_FAILED,
            details={
                "email": email,
                "known_user": user_id is not None,
                "blocked_seconds": max(blocked or 0, blocked_address or 0) or None,
            },
            actor_user_id=user_id,
        )

    ctx.defer_durable(count_and_audit)


def _ttl(settings: Settings, kind: CredentialKind) -> timedelta:
    hours = (
        settings.session_ttl_hours
        if kind is CredentialKind.SESSION
        else settings.access_token_ttl_hours
    )
    return timedelta(hours=hours)


async def _issue_token(
    ctx: Ctx, membership: Membership, kind: CredentialKind, expires_at: datetime
) -> IssuedCredential:
    prefix = CredentialPrefix.SESSION if kind is CredentialKind.SESSION else CredentialPrefix.BEARER
    issued = credentials.issue(prefix, membership.tenant_id)
    ctx.session.add(
        AccessToken(
            tenant_id=membership.tenant_id,
            membership_id=membership.id,
            user_id=membership.user_id,
            kind=kind.value,
            token_hash=issued.digest,
            expires_at=expires_at,
            client_address=ctx.client_address,
            user_agent=(ctx.user_agent or "")[:400] or None,
        )
    )
    await ctx.session.flush()
    return issued


async def sign_out(ctx: Ctx) -> None:
    """Revoke the credential this request came with (token or web session)."""
    principal = ctx.require_principal()
    if principal.method is AuthMethod.API_KEY or principal.credential_id is None:
        raise RuleViolation("API keys are revoked through DELETE /api/v1/api-keys/{id}")
    await _revoke_credential(ctx, principal.credential_id)
    await record_security_event(
        ctx, SecurityEvent.LOGOUT, details={"method": principal.method.value}
    )


async def _revoke_credential(ctx: Ctx, credential_id: uuid.UUID | None) -> None:
    await ctx.session.execute(
        update(AccessToken).where(AccessToken.id == credential_id).values(revoked_at=func.now())
    )


async def change_password(ctx: Ctx, data: PasswordChangeIn) -> SignIn | None:
    """Requires the current password; ends every session and token of this login in
    every organization but the bearer token or API key the change came with. A change
    made in a web session ends that session too and answers its successor (the
    session id rotates: the caller sets the new cookie); else None."""
    principal = ctx.require_principal()
    user = await ctx.session.get_one(User, principal.user_id)
    if not await verify_password(user.password_hash, data.current_password):
        raise ValidationFailed(errors=[FieldError("current_password", "is incorrect")])
    if data.new_password == data.current_password:
        raise ValidationFailed(
            errors=[FieldError("new_password", "must differ from the current one")]
        )
    user.password_hash = await hash_password(data.new_password)
    user.password_changed_at = datetime.now(UTC)
    await ctx.session.flush()
    keep = principal.credential_id if principal.method is AuthMethod.BEARER else None
    # Every other web session and bearer token of this login, in every tenant.
    revoked = await ctx.session.scalar(
        text("SELECT baton_revoke_own_credentials(:keep)"), {"keep": keep}
    )
    await record_security_event(
        ctx, SecurityEvent.PASSWORD_CHANGED, details={"revoked_sessions": revoked}
    )
    if principal.method is not AuthMethod.SESSION:
        return None
    membership = await ctx.session.get_one(
        Membership, (principal.tenant_id, principal.membership_id)
    )
    tenant = await ctx.session.get_one(Tenant, principal.tenant_id)
    expires_at = datetime.now(UTC) + _ttl(ctx.settings, CredentialKind.SESSION)
    issued = await _issue_token(ctx, membership, CredentialKind.SESSION, expires_at)
    await record_security_event(ctx, SecurityEvent.SESSION_CREATED, details={"kind": "session"})
    return SignIn(issued.raw, expires_at, tenant, user, membership)


async def set_own_timezone(ctx: Ctx, timezone: str | None) -> str:
    """Any member chooses the time zone their pages show and read times in (an IANA
    name the schema checked); None goes back to the organization's. Answers the zone
    now in force."""
    principal = ctx.require_principal()
    await ctx.session.execute(
        update(Membership)
        .where(Membership.id == principal.membership_id)
        .values(timezone=timezone, version=Membership.version + 1, updated_at=func.now())
    )
    own, organization = await queries.timezones_of(ctx.session, principal.membership_id)
    return own or organization


async def set_email_preferences(ctx: Ctx, wanted: dict[str, bool]) -> list[str]:
    """Any member chooses which notification kinds they get by email (`wanted`: kind →
    whether to email it; kinds left out keep their choice); answers the kinds now
    muted. In the app every notification stays."""
    principal = ctx.require_principal()
    mute = sorted(kind for kind, on in wanted.items() if not on)
    unmute = sorted(kind for kind, on in wanted.items() if on)
    muted = await ctx.session.scalar(
        update(Membership)
        .where(Membership.id == principal.membership_id)
        .values(
            muted_emails=text(
                "ARRAY(SELECT DISTINCT kind FROM unnest(muted_emails || CAST(:mute AS varchar[]))"
                " AS kind WHERE kind <> ALL (CAST(:unmute AS varchar[])) ORDER BY kind)"
            ).bindparams(mute=mute, unmute=unmute),
            version=Membership.version + 1,
            updated_at=func.now(),
        )
        .returning(Membership.muted_emails)
    )
    return list(muted or [])


async def add_member(ctx: Ctx, data: MemberIn) -> dict[str, Any]:
    """Admins add a member at once (scripts provisioning logins; people are invited
    with `invite`). An existing login joins with its own password unchanged; a new
    login needs `data.password` (422 without). When SMTP is configured, the new member
    gets a welcome email (queued here, sent by the worker; never with the password)."""
    require_role(ctx, Role.ADMIN)
    # A login of another organization is invisible under RLS: the definer functions
    # find it by email, or create the new one (for an admin scoped to a tenant only).
    user_id = await queries.user_id_for_email(ctx.session, data.email)
    if user_id is None:
        if data.password is None:
            raise ValidationFailed(
                "A new login needs a first password; or invite them instead",
                errors=[FieldError("password", "is required for an email without a login")],
            )
        password_hash = await hash_password(data.password)
        user_id = await ctx.session.scalar(
            text("SELECT baton_create_login(:email, :full_name, :password_hash)"),
            {"email": data.email, "full_name": data.full_name, "password_hash": password_hash},
        )
        assert user_id is not None
    elif await queries.get_member(ctx.session, user_id) is not None:
        raise Conflict(
            "This person is already a member", errors=[FieldError("email", "is already a member")]
        )
    tenant_id = ctx.require_principal().tenant_id
    ctx.session.add(Membership(tenant_id=tenant_id, user_id=user_id, role=data.role.value))
    await ctx.session.flush()
    await record_security_event(
        ctx, SecurityEvent.USER_INVITED, details={"user_id": str(user_id), "role": data.role.value}
    )
    member = await queries.get_member(ctx.session, user_id)
    assert member is not None
    await queue_welcome(ctx, member["membership_id"])
    return member


@dataclass(frozen=True)
class IssuedInvitation:
    """An invitation and its link, known only at this moment (a digest is stored)."""

    invitation: Invitation
    token: str
    accept_url: str


class InvitationUnusable(DomainError):
    """410: the link was real but is spent — accepted, revoked, or past its time."""

    status = 410
    title = "Invitation no longer valid"
    slug = "invitation-unusable"


UNKNOWN_INVITATION = "This invitation link is not valid; check that it was copied whole"
_UNUSABLE = {
    InvitationStatus.ACCEPTED: "This invitation was already used; sign in instead",
    InvitationStatus.REVOKED: "This invitation was withdrawn; ask an administrator for a new one",
    InvitationStatus.EXPIRED: "This invitation has expired; ask an administrator to send it again",
}


def _issue_link(ctx: Ctx, invitation: Invitation) -> IssuedInvitation:
    token = credentials.invitation_token(
        ctx.settings.resolved_secret_key(),
        invitation.tenant_id,
        invitation.id,
        invitation.link_serial,
    )
    invitation.token_hash = credentials.digest(token)
    invitation.expires_at = datetime.now(UTC) + timedelta(days=INVITATION_TTL_DAYS)
    url = credentials.invitation_url(ctx.settings.public_base_url, token)
    return IssuedInvitation(invitation, token, url)


async def invite(ctx: Ctx, data: InvitationIn) -> IssuedInvitation:
    """Admins invite someone by email with a role: a pending invitation whose one-time
    link (answered here, once) is good for INVITATION_TTL_DAYS; emailed too when SMTP
    is configured. A member already is 409, and so is an email with a pending
    invitation (resend that one); an expired one is replaced."""
    principal = require_role(ctx, Role.ADMIN)
    user_id = await queries.user_id_for_email(ctx.session, data.email)
    if user_id is not None and await queries.get_member(ctx.session, user_id) is not None:
        raise Conflict(
            "This person is already a member", errors=[FieldError("email", "is already a member")]
        )
    now = datetime.now(UTC)
    previous = await ctx.session.scalar(
        select(Invitation)
        .where(
            Invitation.email == data.email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .with_for_update()
    )
    if previous is not None:
        if previous.status_at(now) is InvitationStatus.PENDING:
            raise Conflict(
                "This email already has a pending invitation; send it again instead",
                errors=[FieldError("email", "already has a pending invitation")],
            )
        previous.revoked_at = now
        await ctx.session.flush()
    invitation = Invitation(
        tenant_id=principal.tenant_id,
        id=uuid7(),
        email=data.email,
        full_name=data.full_name,
        role=data.role.value,
        link_serial=1,
        invited_by=principal.user_id,
    )
    issued = _issue_link(ctx, invitation)
    ctx.session.add(invitation)
    await ctx.session.flush()
    await record_security_event(
        ctx,
        SecurityEvent.USER_INVITED,
        details={"invitation_id": str(invitation.id), "email": data.email, "role": data.role.value},
    )
    await queue_invitation(ctx, invitation.id, invitation.link_serial)
    return issued


async def _open_invitation(ctx: Ctx, invitation_id: uuid.UUID) -> Invitation:
    invitation = await ctx.session.scalar(
        select(Invitation).where(Invitation.id == invitation_id).with_for_update()
    )
    if invitation is None:
        raise NotFound("No such invitation")
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was already accepted")
    if invitation.revoked_at is not None:
        raise Conflict("This invitation was revoked; invite the person again")
    return invitation


async def resend_invitation(ctx: Ctx, invitation_id: uuid.UUID) -> IssuedInvitation:
    """Admins issue a pending (or expired) invitation's link again: a new link, valid
    INVITATION_TTL_DAYS from now, emailed when SMTP is configured; the previous link is
    void at once. An accepted or revoked invitation is 409."""
    require_role(ctx, Role.ADMIN)
    invitation = await _open_invitation(ctx, invitation_id)
    invitation.link_serial += 1
    issued = _issue_link(ctx, invitation)
    await ctx.session.flush()
    await record_security_event(
        ctx,
        SecurityEvent.INVITATION_RESENT,
        details={"invitation_id": str(invitation.id), "email": invitation.email},
    )
    await queue_invitation(ctx, invitation.id, invitation.link_serial)
    return issued


async def revoke_invitation(ctx: Ctx, invitation_id: uuid.UUID) -> None:
    """Admins withdraw an invitation not yet accepted: its link stops working at once.
    An accepted or already revoked one is 409."""
    require_role(ctx, Role.ADMIN)
    invitation = await _open_invitation(ctx, invitation_id)
    invitation.revoked_at = datetime.now(UTC)
    await ctx.session.flush()
    await record_security_event(
        ctx,
        SecurityEvent.INVITATION_REVOKED,
        details={"invitation_id": str(invitation.id), "email": invitation.email},
    )


@dataclass(frozen=True)
class InvitationView:
    """What the public invitation page shows of a usable invitation's link."""

    invitation: Invitation
    tenant_name: str
    # The email already has a login: the invitee signs in with it to accept.
    has_login: bool


async def _invitation_for_token(ctx: Ctx, token: str, *, lock: bool) -> Invitation:
    """The usable invitation a token names, the transaction scoped to its tenant.
    Unknown: 404 (counted against the client's address, as a failed sign-in is);
    accepted, revoked or expired: 410 saying which."""
    address_key = f"login:address:{ctx.client_address or 'unknown'}"
    wait = await rate_limit.blocked_for(ctx.db.engine, [address_key])
    if wait is not None:
        raise RateLimited(wait, "Too many attempts; try again later")
    parsed = credentials.parse_invitation_token(token.strip())
    invitation = None
    if parsed is not None:
        tenant_id, digest = parsed
        await ctx.enter_tenant(tenant_id)
        query = select(Invitation).where(Invitation.token_hash == digest)
        invitation = await ctx.session.scalar(query.with_for_update() if lock else query)
    if invitation is None:
        _count_failure(ctx, None, None, address_key)
        raise NotFound(UNKNOWN_INVITATION)
    status = invitation.status_at(datetime.now(UTC))
    if status is not InvitationStatus.PENDING:
        raise InvitationUnusable(_UNUSABLE[status])
    return invitation


async def view_invitation(ctx: Ctx, token: str) -> InvitationView:
    """Anyone holding a usable link sees whom it invites, to which organization, and
    whether they accept with a new password or by signing in (404/410 as
    `accept_invitation`)."""
    invitation = await _invitation_for_token(ctx, token, lock=False)
    tenant_name = await ctx.session.scalar(
        select(Tenant.name).where(Tenant.id == invitation.tenant_id)
    )
    has_login = await queries.user_id_for_email(ctx.session, invitation.email) is not None
    return InvitationView(invitation, str(tenant_name), has_login)


async def accept_invitation(
    ctx: Ctx, data: InvitationAcceptIn, kind: CredentialKind = CredentialKind.BEARER
) -> SignIn:
    """The holder of a usable link joins with the invitation's role and is signed in
    (a bearer token, or a web session). An email without a login chooses its password
    (the sign-up rules: 422) and confirms its name; an email with a login accepts with
    that login's password (and two-factor code), counted like a sign-in. The link is
    then spent. Unknown: 404; accepted, revoked or expired: 410."""
    invitation = await _invitation_for_token(ctx, data.token, lock=True)
    account_key = f"login:account:{invitation.email}"
    address_key = f"login:address:{ctx.client_address or 'unknown'}"
    login = await queries.login_by_email(ctx.session, invitation.email)
    if login is None:
        password = parse_input(NewPasswordIn, {"password": data.password}).password
        user_id = uuid7()
        # As at registration: scoped to the new login first, so RLS lets it insert
        # its own row, and the audit rows name it as their actor.
        await ctx.enter_tenant(invitation.tenant_id, user_id, invitation.role)
        user = User(
            id=user_id,
            email=invitation.email,
            full_name=data.full_name or invitation.full_name,
            password_hash=await hash_password(password),
        )
        ctx.session.add(user)
        await ctx.session.flush()
    else:
        # The login's own failure count holds here as at sign-in: a link is no way
        # around it.
        wait = await rate_limit.blocked_for(ctx.db.engine, [account_key])
        if wait is not None:
            raise RateLimited(wait, "Too many failed sign-in attempts; try again later")
        if not login.is_active or not await verify_password(login.password_hash, data.password):
            _count_failure(ctx, invitation.email, login.user_id, address_key, account_key)
            raise Unauthenticated(BAD_CREDENTIALS)
        await ctx.enter_tenant(invitation.tenant_id, login.user_id, invitation.role)
        user = await ctx.session.get_one(User, login.user_id)
        if user.totp_enabled_at is not None:
            presented = LoginIn(
                email=invitation.email, password=data.password, totp_code=data.totp_code
            )
            await _check_second_factor(ctx, presented, user, account_key, address_key)
        if await queries.get_member(ctx.session, user.id) is not None:
            raise Conflict("You are already a member of this organization; sign in instead")
    membership = Membership(tenant_id=invitation.tenant_id, user_id=user.id, role=invitation.role)
    ctx.session.add(membership)
    invitation.accepted_at = datetime.now(UTC)
    invitation.accepted_user_id = user.id
    await ctx.session.flush()
    await record_security_event(
        ctx,
        SecurityEvent.INVITATION_ACCEPTED,
        details={
            "invitation_id": str(invitation.id),
            "user_id": str(user.id),
            "role": invitation.role,
            "new_login": login is None,
        },
        actor_user_id=user.id,
    )
    tenant = await ctx.session.get_one(Tenant, invitation.tenant_id)
    expires_at = datetime.now(UTC) + _ttl(ctx.settings, kind)
    issued = await _issue_token(ctx, membership, kind, expires_at)
    event = (
        SecurityEvent.LOGIN_OK if kind is CredentialKind.BEARER else SecurityEvent.SESSION_CREATED
    )
    await record_security_event(ctx, event, details={"kind": kind.value}, actor_user_id=user.id)
    return SignIn(issued.raw, expires_at, tenant, user, membership)


async def _membership_for_update(ctx: Ctx, user_id: uuid.UUID) -> Membership:
    membership = await ctx.session.scalar(
        select(Membership).where(Membership.user_id == user_id).with_for_update()
    )
    if membership is None:
        raise NotFound("No such member")
    return membership


async def _ensure_other_admin(ctx: Ctx, membership: Membership) -> None:
    """Refuse to leave the tenant without an admin (the DB re-checks at commit)."""
    if membership.role != Role.ADMIN.value:
        return
    # Lock every admin row so two admins demoting each other serialise.
    admins = (
        await ctx.session.scalars(
            select(Membership.id).where(Membership.role == Role.ADMIN.value).with_for_update()
        )
    ).all()
    if len(admins) <= 1:
        raise RuleViolation("An organization needs at least one admin")


async def change_member_role(
    ctx: Ctx, user_id: uuid.UUID, role: Role, expected_version: int | None
) -> dict[str, Any]:
    """Admins change roles; the caller's `version` must be current (else 409), and the
    last admin stays admin."""
    require_role(ctx, Role.ADMIN)
    membership = await _membership_for_update(ctx, user_id)
    check_version(membership.version, expected_version, "member")
    if role is not Role.ADMIN:
        await _ensure_other_admin(ctx, membership)
    previous = membership.role
    membership.role = role.value
    try:
        await ctx.session.flush()
    except StaleDataError as exc:
        raise StaleVersion() from exc
    await record_security_event(
        ctx,
        SecurityEvent.USER_ROLE_CHANGED,
        details={"user_id": str(user_id), "from": previous, "to": role.value},
    )
    member = await queries.get_member(ctx.session, user_id)
    assert member is not None
    return member


async def remove_member(ctx: Ctx, user_id: uuid.UUID) -> None:
    """Admins remove a member; their tokens and API keys in this tenant go with them."""
    require_role(ctx, Role.ADMIN)
    membership = await _membership_for_update(ctx, user_id)
    await _ensure_other_admin(ctx, membership)
    await ctx.session.delete(membership)
    await ctx.session.flush()
    await record_security_event(ctx, SecurityEvent.USER_REMOVED, details={"user_id": str(user_id)})


async def get_settings(ctx: Ctx) -> queries.OrganizationSettings:
    """Any member reads the organization's settings (its row exists from registration)."""
    principal = ctx.require_principal()
    row = await queries.tenant_settings(ctx.session, principal.tenant_id)
    if row is None:
        raise NotFound("This organization has no settings")
    return row


# Settings an admin may set to null: "none".
CLEARABLE_SETTINGS = frozenset({"winback_cadence_id"})


async def _require_winback_cadence(ctx: Ctx, cadence_id: uuid.UUID) -> None:
    """The winback cadence is an active cadence of this organization, else 422."""
    active = await ctx.session.scalar(
        select(Cadence.active).where(Cadence.id == cadence_id)  # RLS: this tenant's only
    )
    if active is None:
        raise ValidationFailed(
            "No such cadence",
            errors=[FieldError("winback_cadence_id", "is not a cadence of this organization")],
        )
    if not active:
        raise ValidationFailed(
            "The cadence is inactive",
            errors=[FieldError("winback_cadence_id", "is inactive; activate it first")],
        )


async def update_settings(
    ctx: Ctx, data: SettingsPatch, expected_version: int | None
) -> queries.OrganizationSettings:
    """Admins change the organization's settings at the version they edited: 409 when
    it is stale, 422 when none was sent, a value is out of range or a setting is sent
    as null (none may be cleared). Only the fields sent change.

    The claim SLA is read when a lead enters the sales pool, so a new value applies to
    leads pooled afterwards; pooled leads keep the claim due time they got. The winback
    cadence may be cleared (null); when set it must be an active cadence of this
    organization (422 otherwise; the composite foreign key holds the tenant). The audit
    trigger records the change (before, after, actor) like every other write; the
    table's CHECKs hold the same bounds as the schema.
    """
    principal = require_role(ctx, Role.ADMIN)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    cleared = [
        FieldError(name, "cannot be removed")
        for name, value in changes.items()
        if value is None and name not in CLEARABLE_SETTINGS
    ]
    if cleared:
        raise ValidationFailed(errors=cleared)
    if changes.get("winback_cadence_id") is not None:
        await _require_winback_cadence(ctx, changes["winback_cadence_id"])
    if expected_version is None or not changes:
        current = await get_settings(ctx)
        check_version(current.version, expected_version, "settings")
        return current
    # One statement: the version check and the write together, so of two admins who
    # edited the same version exactly one succeeds.
    updated = (
        await ctx.session.execute(
            update(SETTINGS)
            .where(
                SETTINGS.c.tenant_id == principal.tenant_id,
                SETTINGS.c.version == expected_version,
            )
            .values(**changes, version=SETTINGS.c.version + 1, updated_at=func.now())
            .returning(*(SETTINGS.c[column.key] for column in queries.SETTINGS_COLUMNS))
        )
    ).first()
    if updated is None:
        current = await get_settings(ctx)
        raise StaleVersion(f"The settings are at version {current.version}, not {expected_version}")
    return queries.settings_of(updated._mapping)


async def create_api_key(ctx: Ctx, name: str) -> CreatedApiKey:
    """Any member who may write creates keys acting as themselves; shown once. An
    admin whose two-factor enrolment is due (organization requires it) may not (403),
    with any credential (`identity.enrolment`)."""
    principal = require_role(ctx, Role.ADMIN, Role.MANAGER, Role.MARKETING, Role.SALES)
    enrolment.require_enrolled(principal)
    issued = credentials.issue(CredentialPrefix.API_KEY, principal.tenant_id)
    api_key = ApiKey(
        tenant_id=principal.tenant_id,
        membership_id=principal.membership_id,
        user_id=principal.user_id,
        name=name,
        prefix=issued.visible_prefix,
        key_hash=issued.digest,
    )
    ctx.session.add(api_key)
    await ctx.session.flush()
    await ctx.session.refresh(api_key)
    await record_security_event(
        ctx, SecurityEvent.API_KEY_CREATED, details={"api_key_id": str(api_key.id), "name": name}
    )
    return CreatedApiKey(api_key=api_key, raw=issued.raw)


async def revoke_api_key(ctx: Ctx, api_key_id: uuid.UUID) -> None:
    """Owners revoke their own keys; admins revoke any key of the tenant."""
    principal = require_role(ctx, Role.ADMIN, Role.MANAGER, Role.MARKETING, Role.SALES)
    api_key = await ctx.session.scalar(
        select(ApiKey).where(ApiKey.id == api_key_id).with_for_update()
    )
    if api_key is None or (principal.role != Role.ADMIN and api_key.user_id != principal.user_id):
        raise NotFound("No such API key")
    if api_key.revoked_at is None:
        api_key.revoked_at = datetime.now(UTC)
        await ctx.session.flush()
        await record_security_event(
            ctx, SecurityEvent.API_KEY_REVOKED, details={"api_key_id": str(api_key_id)}
        )
