"""`baton doctor`: a clean database reports nothing; each check finds a planted problem.

Other tests share the worker's database and may leave (or plant) problems of their
own, so every assertion here is scoped to a tenant this test registered: planted
states live in their own fresh organization and the command runs with `--tenant`.
States the database refuses are planted as the superuser with
`SET LOCAL session_replication_role = replica` (no triggers, no FK checks) inside one
transaction of the test's own connection, so the setting ends with it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from click.testing import Result
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from baton.app import create_app
from baton.cli import app as cli_app
from baton.config import Settings, get_settings
from baton.db import migrate
from baton.db.engine import Database
from baton.ops.doctor import CHECK_NAMES, diagnose, run_doctor
from tests.conftest import direct_app_url
from tests.database import cluster_url, drop_database, recreate_database, worker_database_name
from tests.factories import Member, add_member, register_tenant, unique
from tests.reports.conftest import rebuild_rollups

runner = CliRunner()
NEXT_WEEK = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()


async def doctor(*args: str) -> Result:
    # The command runs its own event loop (asyncio.run): give it a thread of its own.
    return await asyncio.to_thread(lambda: runner.invoke(cli_app, ["doctor", *args]))


async def findings_of(slug: str) -> dict[str, set[str]]:
    """The `--json` report for one tenant, as check name → offending ids."""
    result = await doctor("--tenant", slug, "--json", "--sample", "50")
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    assert report["tenant"] == slug
    assert report["ok"] is (result.exit_code == 0)
    found: dict[str, set[str]] = {}
    for finding in report["findings"]:
        assert {sample["tenant"] for sample in finding["samples"]} == {slug}
        assert finding["count"] == len(finding["samples"])
        found[finding["check"]] = {sample["id"] for sample in finding["samples"]}
    return found


@dataclass
class Org:
    admin: Member
    sales: Member
    account_id: uuid.UUID
    deal_id: uuid.UUID

    @property
    def slug(self) -> str:
        return self.admin.tenant_slug

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.admin.tenant_id


async def create_account(client: httpx.AsyncClient, member: Member) -> uuid.UUID:
    response = await client.post(
        "/api/v1/accounts", headers=member.headers, json={"name": unique("Acme")}
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def create_contact(
    client: httpx.AsyncClient, member: Member, account_id: uuid.UUID, email: str | None = None
) -> uuid.UUID:
    body: dict[str, Any] = {"account_id": str(account_id), "first_name": "Grace"}
    if email:
        body["email"] = email
    response = await client.post("/api/v1/contacts", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def create_deal(
    client: httpx.AsyncClient, member: Member, account_id: uuid.UUID
) -> uuid.UUID:
    body = {
        "name": unique("Deal"),
        "account_id": str(account_id),
        "next_step": "Call the buyer",
        "next_step_due_date": NEXT_WEEK,
    }
    response = await client.post("/api/v1/deals", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


@pytest.fixture
async def org(client: httpx.AsyncClient) -> Org:
    """A fresh, healthy organization: admin, salesperson, an account and an open deal."""
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    account_id = await create_account(client, sales)
    await create_contact(client, sales, account_id, f"{unique('buyer')}@example.com")
    deal_id = await create_deal(client, sales, account_id)
    return Org(admin, sales, account_id, deal_id)


async def step_id(conn: asyncpg.Connection, tenant_id: uuid.UUID, entity: str, key: str) -> Any:
    return await conn.fetchval(
        "SELECT s.id FROM workflow_steps s JOIN workflows w"
        " ON w.tenant_id = s.tenant_id AND w.id = s.workflow_id"
        " WHERE s.tenant_id = $1 AND w.entity_type = $2 AND w.published AND s.key = $3",
        tenant_id,
        entity,
        key,
    )


async def insert_lead(conn: asyncpg.Connection, org: Org, email: str | None = None) -> uuid.UUID:
    """A lead at New, inserted with every trigger on (its view and history are real)."""
    new = await step_id(conn, org.tenant_id, "lead", "new")
    lead_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO leads (tenant_id, id, company_name, email, need, marketing_owner_id,"
        " workflow_id, step_id, dedupe_key)"
        " SELECT $1, $2::uuid, 'Lead Co', $3::text, 'Pallets', $4, s.workflow_id, s.id,"
        " coalesce($3::text, $2::uuid::text) FROM workflow_steps s WHERE s.tenant_id = $1 AND s.id = $5",
        org.tenant_id,
        lead_id,
        email,
        org.admin.user_id,
        new,
    )
    return lead_id


async def insert_target(conn: asyncpg.Connection, org: Org) -> uuid.UUID:
    first = await step_id(conn, org.tenant_id, "target", "new_target")
    target_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO targets (tenant_id, id, company_name, owner_id, dedupe_key, workflow_id,"
        " step_id) SELECT $1, $2::uuid, 'Target Co', $3, $2::uuid::text, s.workflow_id, s.id"
        " FROM workflow_steps s WHERE s.tenant_id = $1 AND s.id = $4",
        org.tenant_id,
        target_id,
        org.sales.user_id,
        first,
    )
    return target_id


async def move_without_triggers(
    conn: asyncpg.Connection, org: Org, table: str, record_id: uuid.UUID, entity: str, to: Any
) -> None:
    """Move a record to step `to` behind the triggers' back, but record the move in
    its history as the trigger would, so only the invariant under test breaks."""
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        old = await conn.fetchrow(
            f"SELECT workflow_id, step_id FROM {table} WHERE tenant_id = $1 AND id = $2",
            org.tenant_id,
            record_id,
        )
        await conn.execute(
            f"UPDATE {table} SET step_id = $3 WHERE tenant_id = $1 AND id = $2",
            org.tenant_id,
            record_id,
            to,
        )
        await conn.execute(
            "INSERT INTO workflow_history (tenant_id, id, entity_type, record_id, workflow_id,"
            " from_step_id, to_step_id, fields, backwards)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, '{}'::jsonb, false)",
            org.tenant_id,
            uuid.uuid4(),
            entity,
            record_id,
            old["workflow_id"],
            old["step_id"],
            to,
        )
        await rebuild_rollups(conn, org.tenant_id)


async def as_replica(
    conn: asyncpg.Connection,
    *statements: tuple[str, tuple[Any, ...]],
    rollups_of: uuid.UUID | None = None,
) -> None:
    """Run `statements` in one transaction with triggers and FK checks off; then
    rebuild the rollups of organization `rollups_of` as their triggers would have
    kept them, so only the invariant under test breaks."""
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        for sql, args in statements:
            await conn.execute(sql, *args)
        if rollups_of is not None:
            await rebuild_rollups(conn, rollups_of)
    assert await conn.fetchval("SHOW session_replication_role") == "origin"


async def soft_delete(conn: asyncpg.Connection, table: str, org: Org, record_id: Any) -> None:
    await conn.execute(
        f"UPDATE {table} SET deleted_at = now(), deletion_id = $3 WHERE tenant_id = $1 AND id = $2",
        org.tenant_id,
        record_id,
        uuid.uuid4(),
    )


# --- a clean database ------------------------------------------------------------


async def walk(conn: asyncpg.Connection, org: Org, lead_id: uuid.UUID, *keys: str) -> None:
    """Move a lead along `keys` with every trigger on, all in one transaction: the
    moves share one `at`, which the history check must not mistake for disorder."""
    async with conn.transaction():
        for key in keys:
            await conn.execute(
                "UPDATE leads SET step_id = $3 WHERE tenant_id = $1 AND id = $2",
                org.tenant_id,
                lead_id,
                await step_id(conn, org.tenant_id, "lead", key),
            )
            if key == "handed_over":
                await conn.execute(
                    "INSERT INTO lead_pool (tenant_id, id, lead_id, entered_at, claim_due_at)"
                    " VALUES ($1, $2, $3, now(), now() + interval '1 day')",
                    org.tenant_id,
                    uuid.uuid4(),
                    lead_id,
                )


async def test_a_healthy_tenant_reports_nothing_and_exits_0(
    org: Org, owner_conn: asyncpg.Connection
) -> None:
    await insert_lead(owner_conn, org, f"{unique('lead')}@example.com")
    pooled = await insert_lead(owner_conn, org, f"{unique('pooled')}@example.com")
    await walk(owner_conn, org, pooled, "in_review", "qualified", "handed_over")
    nurtured = await insert_lead(owner_conn, org, f"{unique('nurtured')}@example.com")
    await walk(owner_conn, org, nurtured, "in_review", "nurture", "in_review", "nurture")
    await insert_target(owner_conn, org)
    text_report = await doctor("--tenant", org.slug)
    assert text_report.exit_code == 0, text_report.output
    assert text_report.stdout.startswith(f"No problems found: {len(CHECK_NAMES)} checks")
    json_report = await doctor("--tenant", org.slug, "--json")
    assert json_report.exit_code == 0, json_report.output
    report = json.loads(json_report.stdout)
    assert report["ok"] is True
    assert report["findings"] == []
    assert report["tenants_checked"] == 1
    assert report["checks_run"] == list(CHECK_NAMES)


async def test_a_clean_database_reports_nothing_in_both_modes(settings: Settings) -> None:
    """A database of its own, so no other test's planted problems are in it."""
    cluster = cluster_url()
    name = worker_database_name("_doctor")
    url = await recreate_database(cluster, name)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        await migrate.grant_app_role(url, settings.app_db_role, None)
        db = Database(direct_app_url(settings, url), pool_size=2, max_overflow=0)
        try:
            transport = httpx.ASGITransport(app=create_app(settings, db))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                for _ in range(2):
                    admin = await register_tenant(client)
                    sales = await add_member(client, admin, "sales")
                    account_id = await create_account(client, sales)
                    await create_contact(client, sales, account_id, "same@example.com")
                    await create_deal(client, sales, account_id)
        finally:
            await db.dispose()
        for per_tenant in (None, True):
            report = await run_doctor(url, per_tenant=per_tenant)
            assert report.ok, report.lines()
            assert report.tenants_checked == 2
            assert report.as_dict()["findings"] == []
        assert (await run_doctor(url)).mode == "all-tenants"  # the test owner is superuser
    finally:
        await drop_database(cluster, name)


# --- each check finds its planted problem ------------------------------------------


async def test_tenant_without_admin(org: Org, owner_conn: asyncpg.Connection) -> None:
    await as_replica(
        owner_conn,
        (
            "UPDATE memberships SET role = 'manager' WHERE tenant_id = $1 AND role = 'admin'",
            (org.tenant_id,),
        ),
    )
    assert await findings_of(org.slug) == {"tenant_without_admin": {str(org.tenant_id)}}


async def test_contact_of_deleted_account(
    org: Org, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    account_id = await create_account(client, org.sales)
    contact_id = await create_contact(client, org.sales, account_id)
    await soft_delete(owner_conn, "accounts", org, account_id)
    assert await findings_of(org.slug) == {"contact_of_deleted_account": {str(contact_id)}}


async def test_open_deal_of_deleted_account(
    org: Org, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    account_id = await create_account(client, org.sales)
    deal_id = await create_deal(client, org.sales, account_id)
    await soft_delete(owner_conn, "accounts", org, account_id)
    found = await findings_of(org.slug)
    assert found["open_deal_of_deleted_account"] == {str(deal_id)}
    # The deal's own planned work (if the deals service plans any) is on the account too.
    assert set(found) <= {"open_deal_of_deleted_account", "planned_activity_of_deleted_record"}


async def test_planned_activity_of_deleted_record(org: Org, owner_conn: asyncpg.Connection) -> None:
    lead_id = await insert_lead(owner_conn, org)
    activity_id = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO activities (tenant_id, id, type, status, subject, owner_id, lead_id)"
        " VALUES ($1, $2, 'call', 'planned', 'Call the lead', $3, $4)",
        org.tenant_id,
        activity_id,
        org.admin.user_id,
        lead_id,
    )
    await soft_delete(owner_conn, "leads", org, lead_id)
    assert await findings_of(org.slug) == {"planned_activity_of_deleted_record": {str(activity_id)}}


async def test_live_enrollment_of_deleted_record(
    org: Org, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    account_id = await create_account(client, org.sales)
    cadence_id, enrollment_id = uuid.uuid4(), uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO cadences (tenant_id, id, name, active, is_default)"
        " VALUES ($1, $2, $3, true, false)",
        org.tenant_id,
        cadence_id,
        unique("Winback"),
    )
    await owner_conn.execute(
        "INSERT INTO cadence_enrollments (tenant_id, id, cadence_id, account_id, status,"
        " owner_id, started_at) VALUES ($1, $2, $3, $4, 'active', $5, now())",
        org.tenant_id,
        enrollment_id,
        cadence_id,
        account_id,
        org.sales.user_id,
    )
    await soft_delete(owner_conn, "accounts", org, account_id)
    assert await findings_of(org.slug) == {
        "live_enrollment_of_deleted_record": {str(enrollment_id)}
    }


async def test_duplicate_contact_email_is_a_warning(org: Org, client: httpx.AsyncClient) -> None:
    email = f"{unique('twice')}@example.com"
    first = await create_contact(client, org.sales, await create_account(client, org.sales), email)
    second = await create_contact(client, org.sales, await create_account(client, org.sales), email)
    assert await findings_of(org.slug) == {"duplicate_contact_email": {str(first), str(second)}}
    result = await doctor("--tenant", org.slug)
    assert result.exit_code == 1
    assert "WARNING duplicate_contact_email: 2" in result.stdout
    assert email in result.stdout


async def test_duplicate_lead_email(org: Org, owner_conn: asyncpg.Connection) -> None:
    email = f"{unique('lead')}@example.com"
    first = await insert_lead(owner_conn, org, email)
    second = await insert_lead(owner_conn, org, email)
    assert await findings_of(org.slug) == {"duplicate_lead_email": {str(first), str(second)}}


async def test_lead_view_mismatch(org: Org, owner_conn: asyncpg.Connection) -> None:
    lead_id = await insert_lead(owner_conn, org)
    await as_replica(
        owner_conn,
        (
            "UPDATE leads SET view = 'nurture' WHERE tenant_id = $1 AND id = $2",
            (org.tenant_id, lead_id),
        ),
    )
    assert await findings_of(org.slug) == {"lead_view_mismatch": {str(lead_id)}}


async def test_lead_pool_mismatch(org: Org, owner_conn: asyncpg.Connection) -> None:
    inbox_lead = await insert_lead(owner_conn, org)
    await as_replica(
        owner_conn,
        (
            "INSERT INTO lead_pool (tenant_id, id, lead_id, entered_at, claim_due_at)"
            " VALUES ($1, $2, $3, now(), now() + interval '1 day')",
            (org.tenant_id, uuid.uuid4(), inbox_lead),
        ),
    )
    # And a handed-over lead (view pool, history and all) that never reached the pool.
    pooled_lead = await insert_lead(owner_conn, org, f"{unique('pooled')}@example.com")
    handed_over = await step_id(owner_conn, org.tenant_id, "lead", "handed_over")
    await move_without_triggers(owner_conn, org, "leads", pooled_lead, "lead", handed_over)
    await as_replica(
        owner_conn,
        (
            "UPDATE leads SET view = 'pool' WHERE tenant_id = $1 AND id = $2",
            (org.tenant_id, pooled_lead),
        ),
    )
    assert await findings_of(org.slug) == {
        "lead_pool_mismatch": {str(inbox_lead), str(pooled_lead)}
    }


async def test_claimed_lead_without_a_deal(org: Org, owner_conn: asyncpg.Connection) -> None:
    lead_id = await insert_lead(owner_conn, org, f"{unique('claimed')}@example.com")
    claimed = await step_id(owner_conn, org.tenant_id, "lead", "claimed")
    await move_without_triggers(owner_conn, org, "leads", lead_id, "lead", claimed)
    await as_replica(
        owner_conn,
        (
            "UPDATE leads SET view = 'mine', sales_owner_id = $3 WHERE tenant_id = $1 AND id = $2",
            (org.tenant_id, lead_id, org.sales.user_id),
        ),
    )
    assert await findings_of(org.slug) == {"claimed_lead_incomplete": {str(lead_id)}}


async def test_open_deal_whose_owner_left(org: Org, owner_conn: asyncpg.Connection) -> None:
    await owner_conn.execute(
        "DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2",
        org.tenant_id,
        org.sales.user_id,
    )
    assert await findings_of(org.slug) == {"open_deal_incomplete": {str(org.deal_id)}}


async def test_deal_outcome_mismatch_in_both_modes(
    org: Org, owner_conn: asyncpg.Connection, settings: Settings
) -> None:
    await as_replica(
        owner_conn,
        (
            "UPDATE deals SET outcome = 'lost', closed_at = now(), loss_reason = 'price'"
            " WHERE tenant_id = $1 AND id = $2",
            (org.tenant_id, org.deal_id),
        ),
        rollups_of=org.tenant_id,
    )
    assert await findings_of(org.slug) == {"deal_outcome_mismatch": {str(org.deal_id)}}
    # A role that RLS binds (here the app role, like a managed service's owner) takes
    # the per-tenant path and sees the same.
    engine = create_async_engine(direct_app_url(settings), poolclass=NullPool)
    try:
        async with engine.connect() as conn, conn.begin():
            report = await diagnose(conn, tenant=org.slug)
    finally:
        await engine.dispose()
    assert report.mode == "per-tenant"
    assert [(f.check.name, [o.id for o in f.samples]) for f in report.findings] == [
        ("deal_outcome_mismatch", [str(org.deal_id)])
    ]


async def test_converted_target_without_account_and_deal(
    org: Org, owner_conn: asyncpg.Connection
) -> None:
    target_id = await insert_target(owner_conn, org)
    converted = await step_id(owner_conn, org.tenant_id, "target", "converted")
    await move_without_triggers(owner_conn, org, "targets", target_id, "target", converted)
    assert await findings_of(org.slug) == {"converted_target_incomplete": {str(target_id)}}


async def test_step_of_another_workflow(org: Org, owner_conn: asyncpg.Connection) -> None:
    lead_step = await step_id(owner_conn, org.tenant_id, "lead", "in_review")
    await move_without_triggers(owner_conn, org, "deals", org.deal_id, "deal", lead_step)
    assert await findings_of(org.slug) == {"step_outside_workflow": {str(org.deal_id)}}


async def test_step_without_history(org: Org, owner_conn: asyncpg.Connection) -> None:
    discovery = await step_id(owner_conn, org.tenant_id, "deal", "discovery")
    await as_replica(
        owner_conn,
        (
            "UPDATE deals SET step_id = $3 WHERE tenant_id = $1 AND id = $2",
            (org.tenant_id, org.deal_id, discovery),
        ),
        rollups_of=org.tenant_id,
    )
    assert await findings_of(org.slug) == {"history_disagrees_with_step": {str(org.deal_id)}}


# --- the command itself ------------------------------------------------------------


async def test_text_report_names_check_tenant_and_ids(
    org: Org, owner_conn: asyncpg.Connection
) -> None:
    leads = [await insert_lead(owner_conn, org) for _ in range(3)]
    await as_replica(
        owner_conn,
        (
            "UPDATE leads SET view = 'disqualified' WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
            (org.tenant_id, leads),
        ),
    )
    result = await doctor("--tenant", org.slug, "--sample", "2")
    assert result.exit_code == 1
    assert "ERROR lead_view_mismatch: 3" in result.stdout
    shown = [line for line in result.stdout.splitlines() if line.startswith("  - ")]
    assert len(shown) == 2
    assert all(org.slug in line for line in shown)
    assert "… and 1 more" in result.stdout


async def test_unknown_tenant_is_a_usage_error() -> None:
    result = await doctor("--tenant", unique("nobody"))
    assert result.exit_code == 2
    assert "No organization with slug" in result.stderr


async def test_whole_database_report_parses_and_sees_every_tenant(org: Org) -> None:
    # Other tests plant problems in parallel: only the shape and the exit code's
    # agreement with the findings are asserted here.
    result = await doctor("--json")
    report = json.loads(result.stdout)
    assert result.exit_code == (0 if report["ok"] else 1)
    assert report["tenant"] is None
    assert report["tenants_checked"] >= 1


def test_unreachable_database_exits_2(monkeypatch: pytest.MonkeyPatch, owner_url: URL) -> None:
    nowhere = owner_url.set(host="127.0.0.1", port=1, query={})
    monkeypatch.setenv("BATON_DATABASE_URL", nowhere.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        result = runner.invoke(cli_app, ["doctor"])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "cannot run the checks" in result.stderr
