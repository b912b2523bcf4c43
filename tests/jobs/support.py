"""Jobs the tests queue, and running a worker in the test process until the queue is
caught up. The tasks register on the process's procrastinate app when this module is
imported, as a domain's `tasks.py` would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from procrastinate import RetryStrategy
from sqlalchemy import text

from baton.config import Settings
from baton.core.context import AuthMethod, Ctx, Principal
from baton.db.engine import Database
from baton.jobs.runtime import tenant_task
from baton.jobs.sweeps import SWEEP_ROLE
from baton.jobs.worker import run_worker
from tests.factories import Member

# What `observe` saw, by the key it was queued with.
SEEN: dict[str, dict[str, Any]] = {}
# How often `always_fails` ran, by key.
RUNS: dict[str, int] = {}


@tenant_task(name="tests.observe")
async def observe(ctx: Ctx, *, key: str) -> None:
    """Records the transaction's context and what RLS lets it see."""
    row = (
        await ctx.session.execute(
            text(
                "SELECT current_setting('baton.tenant_id', true) AS tenant_id,"
                " current_setting('baton.user_id', true) AS user_id,"
                " current_setting('baton.role', true) AS role,"
                " current_setting('baton.request_id', true) AS request_id,"
                " (SELECT array_agg(DISTINCT tenant_id) FROM memberships) AS tenants"
            )
        )
    ).one()
    SEEN[key] = dict(row._mapping)


@tenant_task(name="tests.set_timezone")
async def set_timezone(ctx: Ctx, *, timezone: str) -> None:
    """Idempotent: writes only when the value differs, so a second run changes
    nothing (not even an audit row)."""
    await ctx.session.execute(
        text(
            "UPDATE tenant_settings SET timezone = :tz, version = version + 1"
            " WHERE timezone IS DISTINCT FROM :tz"
        ),
        {"tz": timezone},
    )


# A first wait long enough that a slow machine never sees it elapse within one worker
# run (the test makes each wait elapse itself).
@tenant_task(name="tests.always_fails", retry=RetryStrategy(max_attempts=2, exponential_wait=30))
async def always_fails(ctx: Ctx, *, key: str) -> None:
    """Fails every time; its writes roll back."""
    RUNS[key] = RUNS.get(key, 0) + 1
    await ctx.session.execute(text("UPDATE tenant_settings SET timezone = 'Europe/Paris'"))
    raise RuntimeError(f"boom {RUNS[key]}")


def principal_of(member: Member) -> Principal:
    return Principal(
        tenant_id=member.tenant_id,
        tenant_slug=member.tenant_slug,
        tenant_name=member.tenant_slug,
        user_id=member.user_id,
        email=member.email,
        full_name="Test Member",
        membership_id=uuid.uuid4(),
        role=member.role,
        method=AuthMethod.BEARER,
        credential_id=None,
    )


@asynccontextmanager
async def unit_of_work(
    database: Database, settings: Settings, member: Member
) -> AsyncIterator[Ctx]:
    """A unit of work of `member`, scoped like a request's; commits on success."""
    async with database.session_scope(
        tenant_id=member.tenant_id, user_id=member.user_id, role=member.role, request_id="test"
    ) as session:
        yield Ctx(
            session=session,
            db=database,
            settings=settings,
            request_id="test",
            principal=principal_of(member),
            tenant_id=member.tenant_id,
        )


async def run_due_jobs(settings: Settings, database: Database) -> None:
    """A worker in this process until no job is due."""
    await run_worker(settings, database, wait=False, install_signal_handlers=False)


@asynccontextmanager
async def sweep_unit(
    database: Database, settings: Settings, tenant_id: uuid.UUID
) -> AsyncIterator[Ctx]:
    """The unit of work a sweep's tenant job gets (`baton.jobs.sweeps`): the tenant, the
    sweep's role, no member; commits on success."""
    request_id = f"job:test-{uuid.uuid4().hex[:8]}"
    async with database.session_scope(
        tenant_id=tenant_id, role=SWEEP_ROLE, request_id=request_id
    ) as session:
        yield Ctx(
            session=session,
            db=database,
            settings=settings,
            request_id=request_id,
            tenant_id=tenant_id,
        )
