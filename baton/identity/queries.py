"""Read models for identity: credential lookup, members, settings, API keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, RowMapping, any_, func, select, text
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from baton.core.context import AuthMethod, Ctx, Principal
from baton.core.pagination import PageRequest
from baton.core.zones import zone_named
from baton.db.driver import DriverStatement
from baton.identity.access import WRITERS
from baton.identity.credentials import CredentialPrefix, ParsedCredential
from baton.identity.models import (
    ApiKey,
    Invitation,
    Membership,
    Role,
    Tenant,
    TenantSettings,
    User,
)


# See ddl.AUTHENTICATE_FUNCTION: scopes the transaction and looks the credential up
# in one round trip. Every request sends it: straight to the driver.
def _authenticate(function: str) -> DriverStatement:
    return DriverStatement.of(
        text(
            "SELECT credential_id, membership_id, role, user_id, email, full_name,"
            " tenant_slug, tenant_name, timezone, locale, second_factor_due"
            f" FROM {function}(:tenant_id, :digest, :prefix, :request_id)"
        )
    )


AUTHENTICATE = _authenticate("baton_authenticate")

_METHODS = {
    CredentialPrefix.BEARER: AuthMethod.BEARER,
    CredentialPrefix.SESSION: AuthMethod.SESSION,
    CredentialPrefix.API_KEY: AuthMethod.API_KEY,
}


async def principal_for(ctx: Ctx, credential: ParsedCredential) -> Principal | None:
    """The member a credential stands for, or None if unknown, expired or revoked.

    Either way the unit of work's transaction is scoped to the credential's tenant
    afterwards (transaction-local settings: nothing outlives it on the connection);
    when found, also to its user and role.
    """
    row = await ctx.fetchrow(AUTHENTICATE, _credential_params(credential, ctx.request_id))
    if row is None:
        return None
    return Principal(
        tenant_id=credential.tenant_id,
        tenant_slug=row["tenant_slug"],
        tenant_name=row["tenant_name"],
        user_id=row["user_id"],
        email=row["email"],
        full_name=row["full_name"],
        membership_id=row["membership_id"],
        role=row["role"],
        method=_METHODS[credential.prefix],
        credential_id=row["credential_id"],
        timezone=row["timezone"],
        locale=row["locale"],
        second_factor_due=row["second_factor_due"],
    )


def _credential_params(credential: ParsedCredential, request_id: str) -> dict[str, Any]:
    return {
        "tenant_id": credential.tenant_id,
        "digest": credential.digest,
        "prefix": credential.prefix.value,
        "request_id": request_id,
    }


_MEMBER_COLUMNS = (
    User.id,
    Membership.id.label("membership_id"),
    User.email,
    User.full_name,
    Membership.role,
    Membership.created_at,
    Membership.updated_at,
    Membership.version,
)


async def list_members(session: AsyncSession, page: PageRequest) -> list[dict[str, Any]]:
    """Members of the current tenant in join order, `limit + 1` rows."""
    query = (
        select(*_MEMBER_COLUMNS)
        .join(User, User.id == Membership.user_id)
        .order_by(Membership.id)
        .limit(page.limit + 1)
    )
    if page.after is not None:
        query = query.where(Membership.id > page.after)
    return [dict(row) for row in (await session.execute(query)).mappings()]


async def get_member(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any] | None:
    query = (
        select(*_MEMBER_COLUMNS)
        .join(User, User.id == Membership.user_id)
        .where(Membership.user_id == user_id)
    )
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


def may_own_records(role: Any) -> ColumnElement[bool]:
    """A membership role that may own records (a writer role). `= ANY(ARRAY[…])`
    rather than `IN`, so statements sent on the driver can carry it."""
    writes: ColumnElement[bool] = role == any_(array([writer.value for writer in WRITERS]))
    return writes


async def writer_name(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> str | None:
    """The member's name if they may own records in this organization (a writer role)."""
    return await session.scalar(
        select(User.full_name)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.tenant_id == tenant_id,
            Membership.user_id == user_id,
            may_own_records(Membership.role),
        )
    )


async def member_names(
    session: AsyncSession, user_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    """Names of members of the current tenant; the membership join keeps RLS in force
    (`users` itself is global), so another organization's people stay nameless."""
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return {}
    rows = await session.execute(
        select(User.id, User.full_name)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id.in_(wanted))
    )
    return {user_id: name for user_id, name in rows.all()}


async def on_behalf(session: AsyncSession, owner_id: uuid.UUID, actor_id: uuid.UUID) -> str | None:
    """ "by Sam Seller for Alex Owner" when a member acts on a colleague's record (the
    timeline says so), None when it is their own."""
    if owner_id == actor_id:
        return None
    names = await member_names(session, [owner_id, actor_id])
    return f"by {names.get(actor_id, 'a colleague')} for {names.get(owner_id, 'its owner')}"


async def members_with_roles(
    session: AsyncSession, roles: Iterable[Role]
) -> list[tuple[uuid.UUID, str]]:
    """(user id, name) of every member of the current tenant holding one of `roles`,
    by name — one statement (the membership join keeps RLS in force)."""
    rows = await session.execute(
        select(User.id, User.full_name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.role.in_([role.value for role in roles]))
        .order_by(User.full_name, User.id)
    )
    return [(user_id, name) for user_id, name in rows.all()]


@dataclass(frozen=True)
class OrganizationSettings:
    """The organization's settings as the API and the settings page show them."""

    default_currency: str
    timezone: str
    locale: str
    claim_sla_hours: int
    claim_escalation_hours: int
    winback_cadence_id: uuid.UUID | None
    retention_days: int
    audit_retention_days: int
    require_admin_totp: bool
    updated_at: datetime
    version: int


SETTINGS_COLUMNS = (
    TenantSettings.default_currency,
    TenantSettings.timezone,
    TenantSettings.locale,
    TenantSettings.claim_sla_hours,
    TenantSettings.claim_escalation_hours,
    TenantSettings.winback_cadence_id,
    TenantSettings.retention_days,
    TenantSettings.audit_retention_days,
    TenantSettings.require_admin_totp,
    TenantSettings.updated_at,
    TenantSettings.version,
)


def settings_of(values: RowMapping) -> OrganizationSettings:
    """The settings from a row holding `SETTINGS_COLUMNS` (a SELECT or a RETURNING)."""
    return OrganizationSettings(**values)


async def tenant_settings(
    session: AsyncSession, tenant_id: uuid.UUID
) -> OrganizationSettings | None:
    """The organization's settings row (it exists from registration on)."""
    row = (
        await session.execute(
            select(*SETTINGS_COLUMNS).where(TenantSettings.tenant_id == tenant_id)
        )
    ).first()
    return settings_of(row._mapping) if row else None


async def default_currency(session: AsyncSession) -> str:
    """The organization's currency (its settings row exists from registration on)."""
    currency: str = (await session.execute(select(TenantSettings.default_currency))).scalar_one()
    return currency


def member_zone(user_id: Any) -> Any:
    """The time zone a member's work is planned in, as a SQL expression: their own,
    else the organization's (`user_id`: a column or a bound value)."""
    own = select(Membership.timezone).where(Membership.user_id == user_id).scalar_subquery()
    organization = select(TenantSettings.timezone).scalar_subquery()
    return func.coalesce(own, organization, "UTC")


async def zone_of_member(session: AsyncSession, user_id: uuid.UUID) -> ZoneInfo:
    """The zone a member's work is planned in (`member_zone`), one statement."""
    return zone_named((await session.execute(select(member_zone(user_id)))).scalar_one())


async def timezones_of(session: AsyncSession, membership_id: uuid.UUID) -> tuple[str | None, str]:
    """A member's own time zone (None: not chosen) and the organization's, one statement."""
    row = (
        await session.execute(
            select(
                select(Membership.timezone).where(Membership.id == membership_id).scalar_subquery(),
                TenantSettings.timezone,
            )
        )
    ).one()
    return row[0], row[1]


async def muted_emails_of(session: AsyncSession, membership_id: uuid.UUID) -> list[str]:
    """The notification kinds a member does not want by email."""
    muted = await session.scalar(
        select(Membership.muted_emails).where(Membership.id == membership_id)
    )
    return list(muted or [])


async def memberships_of(session: AsyncSession, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every tenant the user belongs to (visible through the `membership_self` policy)."""
    query = (
        select(Membership.id, Membership.tenant_id, Membership.role, Tenant.slug, Tenant.name)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .where(Membership.user_id == user_id)
        .order_by(Tenant.slug)
    )
    return [dict(row) for row in (await session.execute(query)).mappings()]


async def list_api_keys(
    session: AsyncSession, page: PageRequest, user_id: uuid.UUID | None
) -> list[ApiKey]:
    """API keys of the tenant (`user_id=None`) or of one user, `limit + 1` rows."""
    query = select(ApiKey).order_by(ApiKey.id).limit(page.limit + 1)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    if page.after is not None:
        query = query.where(ApiKey.id > page.after)
    return list((await session.scalars(query)).all())


async def list_open_invitations(session: AsyncSession, page: PageRequest) -> list[Invitation]:
    """Invitations neither accepted nor revoked (pending, or expired and waiting for a
    resend), oldest first, `limit + 1` rows."""
    query = (
        select(Invitation)
        .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .order_by(Invitation.id)
        .limit(page.limit + 1)
    )
    if page.after is not None:
        query = query.where(Invitation.id > page.after)
    return list((await session.scalars(query)).all())


# Before a tenant is known the app role sees no login nor organization: these go
# through the narrow SECURITY DEFINER functions of `baton.identity.ddl`.


@dataclass(frozen=True)
class LoginRecord:
    """What sign-in needs of a login found by email: no more."""

    user_id: uuid.UUID
    password_hash: str
    is_active: bool


async def login_by_email(session: AsyncSession, email: str) -> LoginRecord | None:
    """The login an email signs in with (`baton_login_lookup`), across organizations."""
    row = (
        await session.execute(
            text("SELECT user_id, password_hash, is_active FROM baton_login_lookup(:email)"),
            {"email": email},
        )
    ).first()
    return LoginRecord(row.user_id, row.password_hash, row.is_active) if row else None


async def user_id_for_email(session: AsyncSession, email: str) -> uuid.UUID | None:
    """The id of the login with this email, whichever organizations it belongs to."""
    user_id: uuid.UUID | None = await session.scalar(
        text("SELECT baton_user_id_for_email(:email)"), {"email": email}
    )
    return user_id


async def taken_slugs(session: AsyncSession, base: str) -> set[str]:
    """Organization slugs equal to `base` or `base-…`, across organizations."""
    rows = await session.scalars(text("SELECT baton_taken_slugs(:base)"), {"base": base})
    return set(rows.all())


async def tenant_id_for_slug(session: AsyncSession, slug: str) -> uuid.UUID | None:
    """The id of the organization with this slug (the CLI and the demo name it so)."""
    tenant_id: uuid.UUID | None = await session.scalar(
        text("SELECT baton_tenant_for_slug(:slug)"), {"slug": slug}
    )
    return tenant_id
