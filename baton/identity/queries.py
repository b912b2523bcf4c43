"""Read models for identity: credential lookup, members, API keys."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from baton.core.context import AuthMethod, Principal
from baton.core.pagination import PageRequest
from baton.identity.credentials import CredentialPrefix, ParsedCredential
from baton.identity.models import (
    ApiKey,
    CredentialKind,
    Membership,
    Tenant,
    User,
)

# One round trip: find the live credential and, for its row only, scope the rest of
# the transaction to its user and role (set_config in the select list runs per
# returned row). The tenant is already set from the credential's clear prefix.
_CREDENTIAL_COLUMNS = """
    c.id AS credential_id, m.id AS membership_id, m.role, u.id AS user_id, u.email,
    u.full_name, t.slug AS tenant_slug, t.name AS tenant_name,
    set_config('baton.user_id', u.id::text, true) AS _u,
    set_config('baton.role', m.role, true) AS _r
"""

_TOKEN_LOOKUP = text(
    f"""
    SELECT {_CREDENTIAL_COLUMNS}
    FROM access_tokens c
    JOIN memberships m ON m.tenant_id = c.tenant_id AND m.id = c.membership_id
    JOIN users u ON u.id = m.user_id
    JOIN tenants t ON t.id = c.tenant_id
    WHERE c.tenant_id = :tenant_id AND c.token_hash = :digest AND c.kind = :kind
      AND c.revoked_at IS NULL AND c.expires_at > now() AND u.is_active
    """
)

_API_KEY_LOOKUP = text(
    f"""
    SELECT {_CREDENTIAL_COLUMNS}
    FROM api_keys c
    JOIN memberships m ON m.tenant_id = c.tenant_id AND m.id = c.membership_id
    JOIN users u ON u.id = m.user_id
    JOIN tenants t ON t.id = c.tenant_id
    WHERE c.tenant_id = :tenant_id AND c.key_hash = :digest AND c.revoked_at IS NULL
      AND u.is_active
    """
)

_METHODS = {
    CredentialPrefix.BEARER: AuthMethod.BEARER,
    CredentialPrefix.SESSION: AuthMethod.SESSION,
    CredentialPrefix.API_KEY: AuthMethod.API_KEY,
}


async def principal_for(session: AsyncSession, credential: ParsedCredential) -> Principal | None:
    """The member a credential stands for, or None if it is unknown, expired or revoked.

    The caller has already scoped the transaction to `credential.tenant_id`.
    """
    params: dict[str, Any] = {"tenant_id": credential.tenant_id, "digest": credential.digest}
    if credential.prefix is CredentialPrefix.API_KEY:
        statement = _API_KEY_LOOKUP
    else:
        statement = _TOKEN_LOOKUP
        params["kind"] = (
            CredentialKind.SESSION
            if credential.prefix is CredentialPrefix.SESSION
            else CredentialKind.BEARER
        ).value
    row = (await session.execute(statement, params)).mappings().first()
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
    )


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
