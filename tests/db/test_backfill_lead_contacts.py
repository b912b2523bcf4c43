"""Migration 5b8e2d41c9a7 backfills what claims lost before it: the lead's person as a
contact of its account, the deal's contact, its source, need and notes."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest

from baton.app import create_app
from baton.config import Settings
from baton.db import migrate
from baton.db.engine import Database
from baton.db.urls import libpq_dsn
from baton.ops.doctor import run_doctor
from tests.conftest import direct_app_url
from tests.database import cluster_url, drop_database, recreate_database, worker_database_name
from tests.factories import Member, add_member, register_tenant, unique

BEFORE = "8195f60e1ea5"


async def _claimed_lead(
    client: httpx.AsyncClient, marketing: Member, sales: Member, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/leads",
        headers=marketing.headers,
        json={"company_name": unique("Backfill Co"), "need": "Cold storage", **fields},
    )
    assert response.status_code == 201, response.text
    lead = response.json()
    for status in ("in_review", "qualified"):
        response = await client.post(
            f"/api/v1/leads/{lead['id']}/triage",
            headers=marketing.headers,
            json={"status": status, "version": lead["version"]},
        )
        assert response.status_code == 200, response.text
        lead = response.json()
    response = await client.post(f"/api/v1/leads/{lead['id']}/claim", headers=sales.headers)
    assert response.status_code == 200, response.text
    claimed: dict[str, Any] = response.json()
    return claimed


@pytest.mark.xdist_group("migrations")
async def test_the_migration_gives_claimed_leads_their_contacts(settings: Settings) -> None:
    cluster = cluster_url()
    name = worker_database_name("_backfill")
    url = await recreate_database(cluster, name)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        await migrate.grant_app_role(url, settings.app_db_role, None)
        db = Database(direct_app_url(settings, url), pool_size=2, max_overflow=0)
        try:
            transport = httpx.ASGITransport(app=create_app(settings, db))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                admin = await register_tenant(client)
                marketing = await add_member(client, admin, "marketing")
                sales = await add_member(client, admin, "sales")
                by_email = await _claimed_lead(
                    client,
                    marketing,
                    sales,
                    contact_name="Mary Jackson",
                    email=f"mary@{unique('langley')}.example",
                    source="Webinar",
                    notes="Call before noon",
                )
                by_phone = await _claimed_lead(
                    client,
                    marketing,
                    sales,
                    email=f"ops@{unique('dorothy')}.example",
                    phone="757.555.0100",
                )
        finally:
            await db.dispose()

        conn = await asyncpg.connect(libpq_dsn(url))
        try:
            # What a claim left before the fix: no contact, nothing of the lead on the
            # deal. One account already had the person, known by phone alone.
            await conn.execute("UPDATE activities SET contact_id = NULL")
            await conn.execute(
                "UPDATE deals SET contact_id = NULL, source = NULL, need = NULL, notes = NULL"
            )
            await conn.execute("DELETE FROM contacts")
            await conn.execute(
                "INSERT INTO contacts (tenant_id, id, account_id, first_name, phone)"
                " VALUES ($1, baton_uuid7(), $2::uuid, 'Dorothy', '(757) 555-0100')",
                admin.tenant_id,
                by_phone["account"]["id"],
            )
        finally:
            await conn.close()
        assert not (await run_doctor(url)).ok

        await asyncio.to_thread(migrate.downgrade, url, BEFORE)
        await asyncio.to_thread(migrate.upgrade, url)

        conn = await asyncpg.connect(libpq_dsn(url))
        try:
            rows = {
                row["lead_id"]: row
                for row in await conn.fetch(
                    "SELECT l.id::text AS lead_id, d.source, d.need, d.notes,"
                    " c.first_name, c.last_name, c.email, c.phone"
                    " FROM leads l JOIN deals d ON d.id = l.deal_id"
                    " LEFT JOIN contacts c ON c.id = d.contact_id"
                )
            }
            contacts = await conn.fetchval("SELECT count(*) FROM contacts")
        finally:
            await conn.close()
        mary = rows[by_email["lead"]["id"]]
        assert (mary["first_name"], mary["last_name"], mary["email"]) == (
            "Mary",
            "Jackson",
            by_email["lead"]["email"],
        )
        assert (mary["source"], mary["need"], mary["notes"]) == (
            "Webinar",
            "Cold storage",
            "Call before noon",
        )
        dorothy = rows[by_phone["lead"]["id"]]
        assert (dorothy["first_name"], dorothy["email"], dorothy["phone"]) == (
            "Dorothy",
            by_phone["lead"]["email"],
            "(757) 555-0100",
        )
        assert contacts == 2
        report = await run_doctor(url)
        assert report.ok, report.lines()
    finally:
        await drop_database(cluster, name)
