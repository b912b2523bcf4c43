"""Acting as an operator from the server's shell (CLI, demo data)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select

from baton.config import get_settings
from baton.core.context import AuthMethod, Ctx, Principal
from baton.core.errors import NotFound
from baton.db.engine import Database
from baton.identity import queries
from baton.identity.models import Membership, Role, Tenant, User


@asynccontextmanager
async def operator_ctx(db: Database, action: str) -> AsyncIterator[Ctx]:
    """A tenant-less unit of work for the CLI; commits on success.

    Deferred durable writes (audit rows of refusals) run once it has ended.
    """
    ctx: Ctx | None = None
    try:
        async with db.session_scope(request_id=f"cli:{action}") as session:
            ctx = Ctx(session=session, db=db, settings=get_settings(), request_id=f"cli:{action}")
            yield ctx
    finally:
        if ctx is not None:
            await ctx.run_durable()


async def act_as_admin_of(ctx: Ctx, tenant_slug: str) -> Principal:
    """Scope `ctx` to a tenant, attributing changes to its longest-serving admin."""
    tenant_id = await queries.tenant_id_for_slug(ctx.session, tenant_slug)
    if tenant_id is None:
        raise NotFound(f"No organization with slug '{tenant_slug}'")
    await ctx.enter_tenant(tenant_id)
    tenant = await ctx.session.get_one(Tenant, tenant_id)
    row = (
        await ctx.session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.role == Role.ADMIN.value)
            .order_by(Membership.id)
            .limit(1)
        )
    ).first()
    if row is None:
        raise NotFound(f"Organization '{tenant_slug}' has no admin")
    membership, user = row
    principal = Principal(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        tenant_name=tenant.name,
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        membership_id=membership.id,
        role=Role.ADMIN.value,
        method=AuthMethod.CLI,
        credential_id=None,
    )
    ctx.principal = principal
    await ctx.enter_tenant(tenant.id, user.id, Role.ADMIN.value)
    return principal


async def act_as_member(ctx: Ctx, email: str) -> Principal:
    """Re-scope `ctx` (already inside a tenant) to one of its members, with that
    member's own role: what follows is checked and attributed as if they did it."""
    current = ctx.require_principal()
    row = (
        await ctx.session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.tenant_id == current.tenant_id, User.email == email.lower())
        )
    ).first()
    if row is None:
        raise NotFound(f"'{email}' is not a member of '{current.tenant_slug}'")
    membership, user = row
    principal = Principal(
        tenant_id=current.tenant_id,
        tenant_slug=current.tenant_slug,
        tenant_name=current.tenant_name,
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        membership_id=membership.id,
        role=membership.role,
        method=AuthMethod.CLI,
        credential_id=None,
    )
    ctx.principal = principal
    await ctx.enter_tenant(current.tenant_id, user.id, membership.role)
    return principal
