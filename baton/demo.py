"""The demo organization `baton demo` creates (idempotently): one login per role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from baton.db.engine import Database
from baton.identity import queries, service
from baton.identity.models import Role, Tenant, User
from baton.identity.operator import act_as_admin_of, operator_ctx
from baton.identity.schemas import MemberIn, RegistrationIn

DEMO_ORGANIZATION = "Acme Logistics"
DEMO_SLUG = "acme-logistics"
DEMO_PASSWORD = "baton-demo-password"  # printed to the operator on purpose


@dataclass(frozen=True)
class DemoLogin:
    email: str
    full_name: str
    role: Role


DEMO_LOGINS = (
    DemoLogin("admin@acme.example", "Ada Admin", Role.ADMIN),
    DemoLogin("manager@acme.example", "Max Manager", Role.MANAGER),
    DemoLogin("marketing@acme.example", "Mia Marketing", Role.MARKETING),
    DemoLogin("sales1@acme.example", "Sam Sales", Role.SALES),
    DemoLogin("sales2@acme.example", "Sofia Sales", Role.SALES),
    DemoLogin("viewer@acme.example", "Vic Viewer", Role.VIEWER),
)


async def ensure_demo_tenant(db: Database) -> list[DemoLogin]:
    """Create Acme Logistics and its logins if missing; leave existing ones untouched."""
    admin = DEMO_LOGINS[0]
    async with operator_ctx(db, "demo") as ctx:
        exists = await ctx.session.scalar(select(Tenant.id).where(Tenant.slug == DEMO_SLUG))
        if exists is None:
            await service.register(
                ctx,
                RegistrationIn(
                    organization_name=DEMO_ORGANIZATION,
                    full_name=admin.full_name,
                    email=admin.email,
                    password=DEMO_PASSWORD,
                ),
            )
    async with operator_ctx(db, "demo") as ctx:
        await act_as_admin_of(ctx, DEMO_SLUG)
        for login in DEMO_LOGINS[1:]:
            user_id = await ctx.session.scalar(select(User.id).where(User.email == login.email))
            if user_id is not None and await queries.get_member(ctx.session, user_id):
                continue
            await service.invite_member(
                ctx,
                MemberIn(
                    email=login.email,
                    full_name=login.full_name,
                    role=login.role,
                    password=DEMO_PASSWORD,
                ),
            )
    return list(DEMO_LOGINS)
