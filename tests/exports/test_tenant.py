"""The whole-organization export: an admin's job, its progress, its ZIP and manifest."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import asyncpg
import httpx

from baton.config import Settings
from baton.db.engine import Database
from tests.accounts.support import create_account, create_contact, insert_deal
from tests.factories import add_member, register_tenant
from tests.jobs.support import run_due_jobs


async def test_an_admin_exports_the_organization_as_a_zip(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    database: Database,
) -> None:
    admin = await register_tenant(client)
    other = await register_tenant(client)
    acme = await create_account(client, admin, name="=Acme")
    await create_contact(client, admin, acme["id"], first_name="Grace")
    await insert_deal(owner_conn, admin, acme["id"], name="Big")
    await create_account(client, other, name="Not yours")

    asked = await client.post("/api/v1/exports/tenant", headers=admin.headers)
    assert asked.status_code == 202, asked.text
    export = asked.json()
    assert (export["status"], export["download_url"]) == ("queued", None)
    early = await client.get(f"/api/v1/exports/{export['id']}/download", headers=admin.headers)
    assert early.status_code == 409

    await run_due_jobs(settings, database)
    done = (await client.get(f"/api/v1/exports/{export['id']}", headers=admin.headers)).json()
    assert done["status"] == "completed", done
    assert done["tables_done"] == done["tables_total"] > 10
    by_table = {entry["table"]: entry for entry in done["manifest"]}
    assert by_table["accounts"]["rows"] == 1
    assert by_table["contacts"]["rows"] == 1
    assert by_table["deals"]["rows"] == 1
    assert by_table["members"]["rows"] == 1
    assert "access_tokens" not in by_table
    assert done["rows_done"] == sum(entry["rows"] for entry in done["manifest"])

    response = await client.get(done["download_url"], headers=admin.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "baton-organization-" in response.headers["content-disposition"]
    assert hashlib.sha256(response.content).hexdigest() == done["sha256"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["tables"] == done["manifest"]
    for entry in manifest["tables"]:
        data = archive.read(f"{entry['table']}.csv")
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert b"Not yours" not in data
        lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert len(lines) == entry["rows"] + 1
    accounts = list(csv.DictReader(io.StringIO(archive.read("accounts.csv").decode("utf-8-sig"))))
    assert [(row["id"], row["name"]) for row in accounts] == [(acme["id"], "'=Acme")]
    assert "tenant_id" not in accounts[0]
    assert "search_doc" not in accounts[0]
    members = archive.read("members.csv").decode("utf-8-sig")
    assert admin.email in members


async def test_only_admins_export_and_only_their_own(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    other = await register_tenant(client)
    for role in ("manager", "sales", "marketing", "viewer"):
        member = await add_member(client, admin, role)
        refused = await client.post("/api/v1/exports/tenant", headers=member.headers)
        assert refused.status_code == 403, role
    export = (await client.post("/api/v1/exports/tenant", headers=admin.headers)).json()
    viewer = await add_member(client, admin, "viewer")
    assert (
        await client.get(f"/api/v1/exports/{export['id']}", headers=viewer.headers)
    ).status_code == 403
    for path in (f"/api/v1/exports/{export['id']}", f"/api/v1/exports/{export['id']}/download"):
        assert (await client.get(path, headers=other.headers)).status_code == 404
    unknown = await client.get(
        "/api/v1/exports/00000000-0000-7000-8000-000000000000", headers=admin.headers
    )
    assert unknown.status_code == 404
