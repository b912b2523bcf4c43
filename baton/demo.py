"""The demo organization `baton demo` creates (idempotently): one login per role, and
its winback cadence ("Winback: re-engage"), chosen in its settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from baton.cadences import service as cadence_service
from baton.cadences.models import Cadence, CadenceStepType
from baton.cadences.schemas import CadenceIn, CadenceStepIn
from baton.core.context import Ctx
from baton.db.engine import Database
from baton.identity import queries, service
from baton.identity.models import Role, User
from baton.identity.operator import act_as_admin_of, operator_ctx
from baton.identity.schemas import MemberIn, RegistrationIn, SettingsPatch

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
        if await queries.tenant_id_for_slug(ctx.session, DEMO_SLUG) is None:
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
            await service.add_member(
                ctx,
                MemberIn(
                    email=login.email,
                    full_name=login.full_name,
                    role=login.role,
                    password=DEMO_PASSWORD,
                ),
            )
    async with operator_ctx(db, "demo") as ctx:
        await act_as_admin_of(ctx, DEMO_SLUG)
        await ensure_winback_cadence(ctx)
    return list(DEMO_LOGINS)


WINBACK_CADENCE = "Winback: re-engage"
WINBACK_STEPS = (
    CadenceStepIn(
        type=CadenceStepType.CALL, subject_template="Winback call with {company}", delay_days=0
    ),
    CadenceStepIn(
        type=CadenceStepType.EMAIL,
        subject_template="Winback email to {company}: what is new",
        delay_days=3,
    ),
    CadenceStepIn(
        type=CadenceStepType.CALL,
        subject_template="Second winback call with {company}",
        delay_days=7,
    ),
)


async def ensure_winback_cadence(ctx: Ctx) -> None:
    """The demo's winback cadence, created once through the cadences service, and
    chosen as the organization's winback cadence when none is (an admin's later choice
    stays)."""
    cadence_id = await ctx.session.scalar(
        select(Cadence.id).where(Cadence.name == WINBACK_CADENCE).limit(1)
    )
    if cadence_id is None:
        view = await cadence_service.create_cadence(
            ctx,
            CadenceIn(
                name=WINBACK_CADENCE,
                description="Re-engage a customer who stopped buying: a call, an email "
                "with what is new, a second call.",
                steps=list(WINBACK_STEPS),
            ),
        )
        cadence_id = view.cadence.id
    current = await service.get_settings(ctx)
    if current.winback_cadence_id is None:
        await service.update_settings(
            ctx, SettingsPatch(winback_cadence_id=cadence_id), current.version
        )
