"""Organizations, sales records and cadences for the cadence tests.

Accounts, contacts and deals have their own APIs (built separately); their rows are
inserted straight into the database as its owner, so these tests are about cadences
only. A deal starts at its workflow's initial step, as the governance trigger
demands, with the next step every open deal must have.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx

from baton.cadences.service import WORKDAY_ENDS
from baton.core.ids import uuid7
from tests.factories import Member, add_member, register_tenant, unique

CADENCES = "/api/v1/cadences"
ENROLLMENTS = "/api/v1/enrollments"


def first_due_day() -> date:
    """The day a cadence's day-0 step is due for an owner in UTC (the suite's
    organizations' zone): today, or tomorrow once today's working day (until 18:00)
    is over."""
    now = datetime.now(UTC)
    return now.date() + timedelta(days=1 if now.time() >= time(18) else 0)


def days_after_first(moment: str) -> int:
    """How many days after `first_due_day` an activity's `due_at` falls (UTC days)."""
    return (datetime.fromisoformat(moment).astimezone(UTC).date() - first_due_day()).days


@dataclass(frozen=True)
class Org:
    admin: Member
    manager: Member
    sales: Member
    viewer: Member


async def org(client: httpx.AsyncClient) -> Org:
    admin = await register_tenant(client)
    return Org(
        admin,
        await add_member(client, admin, "manager"),
        await add_member(client, admin, "sales"),
        await add_member(client, admin, "viewer"),
    )


async def account(conn: asyncpg.Connection, member: Member, name: str = "Acme") -> uuid.UUID:
    account_id = uuid7()
    await conn.execute(
        "INSERT INTO accounts (tenant_id, id, name, owner_id) VALUES ($1, $2, $3, $4)",
        member.tenant_id,
        account_id,
        name,
        member.user_id,
    )
    return account_id


async def contact(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID,
    account_id: uuid.UUID,
    first_name: str = "Bob",
    last_name: str | None = "Builder",
) -> uuid.UUID:
    contact_id = uuid7()
    await conn.execute(
        "INSERT INTO contacts (tenant_id, id, account_id, first_name, last_name)"
        " VALUES ($1, $2, $3, $4, $5)",
        tenant_id,
        contact_id,
        account_id,
        first_name,
        last_name,
    )
    return contact_id


async def deal(
    conn: asyncpg.Connection,
    owner: Member,
    account_id: uuid.UUID,
    *,
    name: str = "Big deal",
    workflow_id: uuid.UUID | None = None,
    contact_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """An open deal at the initial step of `workflow_id` (default: the Sales pipeline)."""
    flow = await conn.fetchrow(
        "SELECT w.id AS workflow_id, s.id AS step_id FROM workflows w"
        " JOIN workflow_steps s ON s.tenant_id = w.tenant_id AND s.workflow_id = w.id"
        " WHERE w.tenant_id = $1 AND s.is_initial"
        " AND (w.id = $2 OR ($2::uuid IS NULL AND w.name = 'Sales pipeline' AND w.published))",
        owner.tenant_id,
        workflow_id,
    )
    assert flow is not None
    deal_id = uuid7()
    await conn.execute(
        "INSERT INTO deals (tenant_id, id, name, account_id, contact_id, owner_id, currency,"
        " next_step, next_step_due_date, workflow_id, step_id, entered_step_at, rank)"
        " VALUES ($1, $2, $3, $4, $5, $6, 'EUR', 'Intro call', $7, $8, $9, now(), $10)",
        owner.tenant_id,
        deal_id,
        name,
        account_id,
        contact_id,
        owner.user_id,
        datetime.now(UTC).date() + timedelta(days=7),
        flow["workflow_id"],
        flow["step_id"],
        # Distinct ranks per column (a unique index): a fresh uuid's hex is one.
        uuid.uuid4().hex[:12],
    )
    return deal_id


STEPS = [
    {"type": "call", "subject_template": "Call {contact} at {company}", "delay_days": 0},
    {"type": "email", "subject_template": "Email about {title}", "delay_days": 2},
    {"type": "call", "subject_template": "Second call with {company}", "delay_days": 3},
    {"type": "email", "subject_template": "Check in with {company}", "delay_days": 4},
    {"type": "meeting", "subject_template": "Meet {company}", "delay_days": 5},
]
# Days after the start each step above is due.
DUE_DAYS = [0, 2, 5, 9, 14]


async def cadence(
    client: httpx.AsyncClient,
    member: Member,
    *,
    steps: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    response = await client.post(
        CADENCES,
        headers=member.headers,
        json={"name": unique("Outreach"), "steps": steps or STEPS, **extra},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def enroll(
    client: httpx.AsyncClient, member: Member, cadence_id: str, **record: uuid.UUID
) -> httpx.Response:
    return await client.post(
        f"{CADENCES}/{cadence_id}/enroll",
        headers=member.headers,
        json={key: str(value) for key, value in record.items()},
    )


async def enrollment_activities(
    conn: asyncpg.Connection, enrollment_id: str
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT * FROM activities WHERE enrollment_id = $1 ORDER BY id",
            uuid.UUID(enrollment_id),
        )
    )


async def planned_activity_ids(conn: asyncpg.Connection, enrollment_id: str) -> list[str]:
    """The ids of an enrolment's activities still planned, in creation order."""
    return [
        str(row["id"])
        for row in await enrollment_activities(conn, enrollment_id)
        if row["status"] == "planned"
    ]


def days_from_first_workday(moment: str | datetime) -> int:
    """Days from the first day work planned now is due on (its owner's zone is UTC):
    today, or tomorrow once today's working day has ended (`WORKDAY_ENDS`)."""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    now = datetime.now(UTC)
    first = now.date() + timedelta(days=1 if now.time() >= WORKDAY_ENDS else 0)
    return (when.astimezone(UTC).date() - first).days
