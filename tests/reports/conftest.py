"""A hand-built organization for the reports: every amount, probability, date and
ledger row is chosen here, so each report's figures are computed by hand in the tests.

Rows go straight into the tables as the database owner with triggers off
(`session_replication_role = replica`): a deal is put on its final step with the
dates it would have had, and the ledger gets exactly the rows listed — the service
would stamp `now()` on every one. CHECK constraints and unique indexes still hold.
With the triggers off, the reports' rollups are then rebuilt from the rows as
`baton db rebuild-rollups` does (`rebuild_rollups`).

The period is September and October 2026 (UTC, the organization's zone here):
`FROM`..`TO`. The organization's currency is EUR; one deal is in USD.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from baton.db import ddl
from tests.deals.conftest import insert_account
from tests.factories import Member, add_member, register_tenant

FROM = "2026-09-01T00:00:00Z"
TO = "2026-11-01T00:00:00Z"
PERIOD = {"from": FROM, "to": TO}
H = 3600
DAY = 86400


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Org:
    admin: Member
    manager: Member
    sales1: Member
    sales2: Member
    marketing: Member
    viewer: Member
    deal_steps: dict[str, uuid.UUID]
    deal_workflow_id: uuid.UUID
    lead_steps: dict[str, uuid.UUID]
    lead_workflow_id: uuid.UUID
    deals: dict[str, uuid.UUID] = field(default_factory=dict)
    leads: dict[str, uuid.UUID] = field(default_factory=dict)


async def rebuild_rollups(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> None:
    """The organization's rollups recomputed from its rows (written with triggers off)."""
    await conn.execute("DELETE FROM open_deal_totals WHERE tenant_id = $1", tenant_id)
    await conn.execute(
        f"INSERT INTO open_deal_totals ({ddl.OPEN_DEAL_TOTALS_KEY}, deal_count, amount_total)"
        f" SELECT * FROM ({ddl.OPEN_DEAL_TOTALS_RECOMPUTED}) r WHERE tenant_id = $1",
        tenant_id,
    )
    for table in ("workflow_move_days", "step_duration_days", "activity_days"):
        await conn.execute(f"DELETE FROM {table} WHERE tenant_id = $1", tenant_id)
    for statement in (*ddl.WORKFLOW_MOVES_REBUILD, ddl.ACTIVITY_DAYS_REBUILD):
        await conn.execute(statement.replace(":tenant", "$1"), tenant_id)


async def open_totals_disagreement(
    conn: asyncpg.Connection, tenant_id: uuid.UUID
) -> list[asyncpg.Record]:
    """Rows of `open_deal_totals` (at zero: none) that a recomputation from the deals
    does not have, and the other way round: empty when the rollup is exact."""
    key = ddl.OPEN_DEAL_TOTALS_KEY
    stored = (
        f"SELECT {key}, deal_count, amount_total FROM open_deal_totals"
        f" WHERE tenant_id = $1 AND deal_count <> 0"
    )
    fresh = f"SELECT * FROM ({ddl.OPEN_DEAL_TOTALS_RECOMPUTED}) r WHERE tenant_id = $1"
    return list(
        await conn.fetch(
            f"(SELECT 'stored' AS side, * FROM ({stored}) s"
            f" EXCEPT SELECT 'stored', * FROM ({fresh}) f)"
            f" UNION ALL (SELECT 'recomputed', * FROM ({fresh}) f"
            f" EXCEPT SELECT 'recomputed', * FROM ({stored}) s)",
            tenant_id,
        )
    )


async def _workflow_of(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, entity: str
) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    workflow_id = await conn.fetchval(
        "SELECT default_workflow_id FROM project_types WHERE tenant_id = $1 AND entity_type = $2"
        " ORDER BY created_at LIMIT 1",
        tenant_id,
        entity,
    )
    rows = await conn.fetch(
        "SELECT key, id FROM workflow_steps WHERE tenant_id = $1 AND workflow_id = $2",
        tenant_id,
        workflow_id,
    )
    return workflow_id, {r["key"]: r["id"] for r in rows}


class Loader:
    """Inserts rows of one tenant with triggers off (inside the caller's transaction)."""

    def __init__(self, conn: asyncpg.Connection, org: Org, account_id: uuid.UUID) -> None:
        self.conn = conn
        self.org = org
        self.tenant_id = org.admin.tenant_id
        self.account_id = account_id
        self.rank = 0

    async def deal(
        self,
        label: str,
        owner: Member,
        step: str,
        amount: str | None,
        *,
        probability: int | None = None,
        close: str | None = None,
        currency: str = "EUR",
        created: str = "2026-08-01T00:00:00",
        closed: str | None = None,
        reason: str | None = None,
    ) -> uuid.UUID:
        deal_id = uuid.uuid4()
        self.rank += 1
        outcome = {"won": "won", "lost": "lost"}.get(step)
        await self.conn.execute(
            "INSERT INTO deals (tenant_id, id, name, account_id, owner_id, amount, currency,"
            " probability, expected_close_date, next_step, next_step_due_date, outcome,"
            " win_reason, loss_reason, closed_at, workflow_id, step_id, entered_step_at, rank,"
            " created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, $9::date, $10, $11::date, $12,"
            " $13, $14, $15, $16, $17, $18, $19, $18, $18)",
            self.tenant_id,
            deal_id,
            label,
            self.account_id,
            owner.user_id,
            amount,
            currency,
            probability,
            datetime.fromisoformat(close).date() if close else None,
            None if outcome else "Call",
            None if outcome else date(2026, 12, 31),
            outcome,
            reason if outcome == "won" else None,
            reason if outcome == "lost" else None,
            at(closed) if closed else None,
            self.org.deal_workflow_id,
            self.org.deal_steps[step],
            at(created),
            f"r{self.rank:04d}",
        )
        self.org.deals[label] = deal_id
        return deal_id

    async def history(
        self,
        record: uuid.UUID,
        source: str | None,
        target: str,
        when: str,
        seconds: float | None = None,
        *,
        backwards: bool = False,
        entity: str = "deal",
    ) -> None:
        steps = self.org.deal_steps if entity == "deal" else self.org.lead_steps
        workflow = self.org.deal_workflow_id if entity == "deal" else self.org.lead_workflow_id
        await self.conn.execute(
            "INSERT INTO workflow_history (tenant_id, id, entity_type, record_id, workflow_id,"
            " from_step_id, to_step_id, fields, at, seconds_in_previous_step, backwards)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, '{}', $8, $9, $10)",
            self.tenant_id,
            uuid.uuid4(),
            entity,
            record,
            workflow,
            steps[source] if source else None,
            steps[target],
            at(when),
            seconds,
            backwards,
        )

    async def lead(self, label: str, view: str, created: str, **extra: Any) -> uuid.UUID:
        step = {
            "inbox": "new",
            "pool": "handed_over",
            "mine": "claimed",
            "converted": "converted",
            "disqualified": "disqualified",
            "nurture": "nurture",
        }[view]
        lead_id = uuid.uuid4()
        values: dict[str, Any] = {
            "tenant_id": self.tenant_id,
            "id": lead_id,
            "company_name": label,
            "email": f"{label.lower()}@example.com",
            "need": "A fleet",
            "marketing_owner_id": self.org.marketing.user_id,
            "workflow_id": self.org.lead_workflow_id,
            "step_id": self.org.lead_steps[step],
            "entered_step_at": at(created),
            "view": view,
            "dedupe_key": label.lower(),
            "created_at": at(created),
            "updated_at": at(created),
        }
        for key, value in extra.items():
            values[key] = at(value) if key.endswith("_at") and isinstance(value, str) else value
        columns = ", ".join(values)
        marks = ", ".join(f"${n}" for n in range(1, len(values) + 1))
        await self.conn.execute(
            f"INSERT INTO leads ({columns}) VALUES ({marks})",
            *values.values(),
        )
        self.org.leads[label] = lead_id
        return lead_id

    async def activity(
        self,
        owner: Member,
        status: str,
        *,
        due: datetime | None = None,
        completed: datetime | None = None,
        kind: str = "task",
        enrollment: uuid.UUID | None = None,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO activities (tenant_id, id, type, status, subject, due_at, completed_at,"
            " owner_id, account_id, enrollment_id)"
            " VALUES ($1, $2, $3, $4, 'Work', $5, $6, $7, $8, $9)",
            self.tenant_id,
            uuid.uuid4(),
            kind,
            status,
            due,
            completed,
            owner.user_id,
            self.account_id,
            enrollment,
        )


async def build(client: httpx.AsyncClient, conn: asyncpg.Connection) -> Org:
    admin = await register_tenant(client)
    members = [
        await add_member(client, admin, role)
        for role in ("manager", "sales", "sales", "marketing", "viewer")
    ]
    deal_workflow, deal_steps = await _workflow_of(conn, admin.tenant_id, "deal")
    lead_workflow, lead_steps = await _workflow_of(conn, admin.tenant_id, "lead")
    org = Org(admin, *members, deal_steps, deal_workflow, lead_steps, lead_workflow)
    account_id = await insert_account(conn, admin)
    await conn.execute(
        "UPDATE tenant_settings SET default_currency = 'EUR', timezone = 'UTC',"
        " claim_sla_hours = 24 WHERE tenant_id = $1",
        admin.tenant_id,
    )
    s1, s2 = org.sales1, org.sales2
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        load = Loader(conn, org, account_id)
        # Open deals: step probabilities 10 / 20 / 50 / 75 unless overridden.
        d1 = await load.deal("d1", s1, "prospecting", "1000", close="2026-09-15")
        d2 = await load.deal("d2", s1, "discovery", "2000", close="2026-09-20")
        d3 = await load.deal("d3", s2, "proposal", "3000", close="2026-10-10")
        d4 = await load.deal("d4", s2, "negotiation", "4000", probability=90, close="2026-10-28")
        await load.deal("d5", s1, "negotiation", None, close="2026-09-05")
        await load.deal("d6", s1, "proposal", "5000", probability=60)
        await load.deal("d7", s2, "prospecting", "7000", currency="USD", close="2026-09-08")
        # Closed deals: two won and three lost in the period, one won before it.
        await load.deal(
            "w1", s1, "won", "10000", created="2026-08-01T00:00:00",
            closed="2026-09-10T00:00:00", reason="price",
        )  # fmt: skip
        await load.deal(
            "w2", s2, "won", "6000", created="2026-09-01T00:00:00",
            closed="2026-09-21T00:00:00", reason="product_fit",
        )  # fmt: skip
        await load.deal("l1", s1, "lost", "500", closed="2026-10-01T00:00:00", reason="competitor")
        await load.deal("l2", s1, "lost", None, closed="2026-10-02T00:00:00", reason="competitor")
        await load.deal("l3", s2, "lost", "100", closed="2026-10-03T00:00:00", reason="price")
        await load.deal("x1", s1, "won", "999", closed="2026-08-15T00:00:00", reason="price")
        # The ledger.
        await load.history(d3, None, "prospecting", "2026-09-02T00:00:00")
        await load.history(d3, "prospecting", "discovery", "2026-09-04T00:00:00", 2 * DAY)
        await load.history(d3, "discovery", "proposal", "2026-09-10T00:00:00", 6 * DAY)
        await load.history(d2, None, "prospecting", "2026-09-03T00:00:00")
        await load.history(d2, "prospecting", "discovery", "2026-09-07T00:00:00", 4 * DAY)
        await load.history(d1, None, "prospecting", "2026-09-05T00:00:00")
        await load.history(d4, "proposal", "discovery", "2026-09-20T00:00:00", DAY, backwards=True)
        await load.history(d1, "prospecting", "discovery", "2026-08-01T00:00:00", 99.0)
        # Leads: created in the period unless said otherwise.
        await load.lead(
            "L1", "converted", "2026-09-01T00:00:00", source="web", sales_owner_id=s1.user_id,
            qualified_at="2026-09-01T02:00:00", handed_over_at="2026-09-01T02:00:00",
            claimed_at="2026-09-01T03:00:00", converted_at="2026-09-02T03:00:00", deal_id=d1,
        )  # fmt: skip
        await load.lead(
            "L2", "mine", "2026-09-02T00:00:00", source="web", sales_owner_id=s2.user_id,
            qualified_at="2026-09-02T04:00:00", handed_over_at="2026-09-02T04:00:00",
            claimed_at="2026-09-03T10:00:00",
        )  # fmt: skip
        await load.lead(
            "L3", "pool", "2026-09-03T00:00:00", source="event",
            qualified_at="2026-09-03T06:00:00", handed_over_at="2026-09-03T06:00:00",
        )  # fmt: skip
        await load.lead(
            "L4", "disqualified", "2026-09-08T00:00:00", source="event",
            disqualified_at="2026-09-08T01:00:00", disqualify_reason="no_fit",
        )  # fmt: skip
        await load.lead(
            "L5", "inbox", "2026-09-09T00:00:00", rejected_at="2026-09-10T00:00:00",
            reject_reason="duplicate", rejected_by=s1.user_id,
        )  # fmt: skip
        await load.lead("L6", "inbox", "2026-08-01T00:00:00", source="web")
        await load.lead("L7", "nurture", "2026-08-02T00:00:00", source="web")
        # Activities: done in the period, overdue now, due later today.
        now = datetime.now(UTC)
        end_of_day = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        for completed in ("2026-09-05T10:00:00", "2026-09-06T10:00:00"):
            await load.activity(s1, "done", completed=at(completed))
        await load.activity(s1, "done", completed=at("2026-09-05T11:00:00"), kind="system")
        await load.activity(s2, "done", completed=at("2026-09-07T10:00:00"))
        await load.activity(s1, "done", completed=at("2026-08-07T10:00:00"))
        await load.activity(s1, "planned", due=now - timedelta(days=2))
        await load.activity(s1, "planned", due=now - timedelta(days=1))
        await load.activity(
            s2, "planned", due=min(now + timedelta(hours=1), end_of_day - timedelta(seconds=1))
        )
        await load.activity(s2, "planned", due=now + timedelta(days=3))
        # Cadence steps (an enrolment id is enough with triggers off).
        cadence = uuid.uuid4()
        await load.activity(
            s1, "done", due=at("2026-09-10T09:00:00"), completed=at("2026-09-10T15:00:00"),
            enrollment=cadence,
        )  # fmt: skip
        await load.activity(
            s1, "done", due=at("2026-09-11T09:00:00"), completed=at("2026-09-13T09:00:00"),
            enrollment=cadence,
        )  # fmt: skip
        await load.activity(s1, "planned", due=at("2026-09-12T09:00:00"), enrollment=cadence)
        await load.activity(s1, "cancelled", due=at("2026-09-13T09:00:00"), enrollment=cadence)
        await load.activity(
            s2, "done", due=at("2026-10-01T09:00:00"), completed=at("2026-10-01T10:00:00"),
            enrollment=cadence,
        )  # fmt: skip
        await load.activity(s2, "planned", due=at("2026-08-01T09:00:00"), enrollment=cadence)
        await rebuild_rollups(conn, admin.tenant_id)
    return org


async def build_stranger(client: httpx.AsyncClient, conn: asyncpg.Connection) -> Member:
    """Another organization with leads, activities and closed deals in the same period."""
    admin = await register_tenant(client)
    deal_workflow, deal_steps = await _workflow_of(conn, admin.tenant_id, "deal")
    lead_workflow, lead_steps = await _workflow_of(conn, admin.tenant_id, "lead")
    org = Org(
        admin,
        admin,
        admin,
        admin,
        admin,
        admin,
        deal_steps,
        deal_workflow,
        lead_steps,
        lead_workflow,
    )
    account_id = await insert_account(conn, admin)
    await conn.execute(
        "UPDATE tenant_settings SET default_currency = 'EUR', timezone = 'UTC'"
        " WHERE tenant_id = $1",
        admin.tenant_id,
    )
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        load = Loader(conn, org, account_id)
        await load.deal("s-open", admin, "proposal", "77777", close="2026-09-15")
        await load.deal(
            "s-won", admin, "won", "55555", closed="2026-09-15T00:00:00", reason="price"
        )
        await load.lead("S1", "inbox", "2026-09-05T00:00:00", source="web",
                        rejected_at="2026-09-06T00:00:00", reject_reason="no_fit",
                        rejected_by=admin.user_id)  # fmt: skip
        await load.activity(admin, "done", completed=at("2026-09-05T10:00:00"))
        await load.activity(admin, "planned", due=datetime.now(UTC) - timedelta(days=1))
        await rebuild_rollups(conn, admin.tenant_id)
    return admin


@pytest.fixture
async def org(client: httpx.AsyncClient, owner_conn: asyncpg.Connection) -> AsyncIterator[Org]:
    built = await build(client, owner_conn)
    yield built
    # The cadence steps' enrolment ids were made up (triggers and foreign keys off):
    # left behind, they would break whatever later reads the whole database as
    # consistent (the backup drill's restore re-creates the foreign keys).
    await owner_conn.execute(
        "DELETE FROM activities a WHERE a.tenant_id = $1 AND a.enrollment_id IS NOT NULL"
        " AND NOT EXISTS (SELECT FROM cadence_enrollments e"
        " WHERE e.tenant_id = a.tenant_id AND e.id = a.enrollment_id)",
        built.admin.tenant_id,
    )


@pytest.fixture
async def stranger(client: httpx.AsyncClient, owner_conn: asyncpg.Connection) -> Member:
    return await build_stranger(client, owner_conn)
