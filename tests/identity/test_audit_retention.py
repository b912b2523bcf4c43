"""The organization's audit retention: admins set it (30 to 3650 days) through the API
and the Organization page, the database holds the same bounds, and the retention
sweep removes each organization's audit rows past its own setting only."""

from __future__ import annotations

import re
import uuid

import asyncpg
import httpx
import pytest

from baton.db.engine import Database
from baton.jobs.retention import sweep
from tests.factories import Member, register_tenant
from tests.web.test_workflow_pages import HTMX, _sign_in


async def _set(client: httpx.AsyncClient, admin: Member, days: object) -> httpx.Response:
    current = (await client.get("/api/v1/settings", headers=admin.headers)).json()
    return await client.patch(
        "/api/v1/settings",
        headers=admin.headers,
        json={"audit_retention_days": days, "version": current["version"]},
    )


async def _aged(conn: asyncpg.Connection, tenant_id: uuid.UUID | None, days: int) -> list[int]:
    rows = await conn.fetch(
        "INSERT INTO audit_log (tenant_id, at, action, event, table_name)"
        " VALUES ($1, now() - make_interval(days => $2), 'update', NULL, 'accounts'),"
        " ($1, now() - make_interval(days => $2), 'delete', NULL, 'accounts')"
        " RETURNING id",
        tenant_id,
        days,
    )
    return [row["id"] for row in rows]


async def test_each_organization_keeps_its_audit_rows_as_long_as_it_says(
    client: httpx.AsyncClient, database: Database, owner_conn: asyncpg.Connection
) -> None:
    await sweep(database)
    short = await register_tenant(client)
    default = await register_tenant(client)
    assert (await client.get("/api/v1/settings", headers=default.headers)).json()[
        "audit_retention_days"
    ] == 730
    changed = await _set(client, short, 60)
    assert changed.status_code == 200, changed.text
    assert changed.json()["audit_retention_days"] == 60

    short_old = await _aged(owner_conn, short.tenant_id, 61)
    short_recent = await _aged(owner_conn, short.tenant_id, 59)
    default_old = await _aged(owner_conn, default.tenant_id, 61)
    report = await sweep(database, batch_size=1)
    assert report.deleted["audit_log"] >= 1
    left = {
        row["id"]
        for row in await owner_conn.fetch(
            "SELECT id FROM audit_log WHERE id = ANY($1::bigint[])",
            short_old + short_recent + default_old,
        )
    }
    # The short organization's old update went; its delete stays for good; the
    # recent rows and the other organization's stay.
    assert left == {short_old[1], *short_recent, *default_old}
    assert (await sweep(database)).deleted["audit_log"] == 0


@pytest.mark.parametrize("days", [29, 3651, 0, "long", None])
async def test_out_of_range_is_422_and_nothing_changes(
    client: httpx.AsyncClient, days: object
) -> None:
    admin = await register_tenant(client)
    refused = await _set(client, admin, days)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["audit_retention_days"]
    after = (await client.get("/api/v1/settings", headers=admin.headers)).json()
    assert (after["audit_retention_days"], after["version"]) == (730, 1)


async def test_the_database_holds_the_bounds(
    client: httpx.AsyncClient, app_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    for days in (29, 3651):
        with pytest.raises(asyncpg.CheckViolationError):
            async with app_conn.transaction():
                await app_conn.execute(
                    "SELECT set_config('baton.tenant_id', $1, true)", str(admin.tenant_id)
                )
                await app_conn.execute("UPDATE tenant_settings SET audit_retention_days = $1", days)


async def test_the_organization_page_sets_it_and_explains_a_refusal(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    token = await _sign_in(client, admin)
    page = await client.get("/settings/organization")
    assert 'id="audit_retention_days"' in page.text
    assert re.search(r'id="audit_retention_days"[^>]*value="730"', page.text)
    form = {
        "csrf_token": token,
        "version": "1",
        "claim_sla_hours": "24",
        "claim_escalation_hours": "24",
        "retention_days": "90",
        "default_currency": "USD",
        "timezone": "UTC",
        "winback_cadence_id": "",
    }
    refused = await client.post(
        "/settings/organization", data={**form, "audit_retention_days": "7"}, headers=HTMX
    )
    assert refused.status_code == 422
    assert 'id="audit_retention_days-error"' in refused.text
    assert 'aria-invalid="true" aria-describedby="audit_retention_days-error"' in refused.text
    saved = await client.post(
        "/settings/organization", data={**form, "audit_retention_days": "365"}, headers=HTMX
    )
    assert saved.status_code == 200, saved.text
    assert "Settings saved" in saved.text
    settings = (await client.get("/api/v1/settings", headers=admin.headers)).json()
    assert settings["audit_retention_days"] == 365
