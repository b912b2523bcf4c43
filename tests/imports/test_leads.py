"""Importing leads: marketing's inbox from a list, with source and need; duplicates
of live leads may be created anyway (leads are not unique by key); sales may not."""

from __future__ import annotations

import asyncpg
import httpx

from baton.config import Settings
from baton.db.engine import Database
from tests.factories import add_member, register_tenant
from tests.imports.support import committed, upload, uploaded

CSV = (
    "Organisation,Full Name,Email Address,Lead Source,Interest\n"
    "Acme,Ada Lovelace,ada@acme.example,Trade fair,Warehousing for 200 pallets\n"
    "Globex,Hank Scorpio,hank@globex.example,Website,\n"
)


async def test_marketing_imports_leads_into_the_inbox_and_undoes_them(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    marketing = await add_member(client, admin, "marketing")
    sales = await add_member(client, admin, "sales")
    assert (await upload(client, sales, CSV, kind="leads")).status_code == 403
    batch = await uploaded(client, marketing, CSV, kind="leads")
    assert batch["mapping"] == {
        "Organisation": "company_name",
        "Full Name": "contact_name",
        "Email Address": "email",
        "Lead Source": "source",
        "Interest": "need",
    }
    done = await committed(client, marketing, batch, settings, database)
    assert done["status"] == "completed", done
    assert done["created"] == 2
    rows = await owner_conn.fetch(
        "SELECT company_name, source, need, view, marketing_owner_id, dedupe_key, import_batch_id"
        " FROM leads WHERE tenant_id = $1 ORDER BY company_name",
        admin.tenant_id,
    )
    assert [(r["company_name"], r["source"], r["view"]) for r in rows] == [
        ("Acme", "Trade fair", "inbox"),
        ("Globex", "Website", "inbox"),
    ]
    assert rows[0]["need"] == "Warehousing for 200 pallets"
    assert {r["marketing_owner_id"] for r in rows} == {marketing.user_id}
    assert rows[0]["dedupe_key"] == "ada@acme.example"
    inbox = await client.get("/api/v1/leads?view=inbox", headers=marketing.headers)
    assert {lead["company_name"] for lead in inbox.json()["items"]} == {"Acme", "Globex"}

    # The same file again: both are duplicates of live leads; `create` adds them anyway.
    again = await uploaded(client, marketing, CSV, kind="leads")
    assert again["duplicates"]["existing"] == 2
    assert again["would_skip"] == 2
    patched = await client.patch(
        f"/api/v1/imports/{again['id']}",
        headers=marketing.headers,
        json={"on_duplicate": "create", "version": again["version"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["would_create"] == 2

    undone = await client.post(
        f"/api/v1/imports/{batch['id']}/undo",
        headers=marketing.headers,
        json={"version": done["version"]},
    )
    assert undone.status_code == 200, undone.text
    live = await owner_conn.fetchval(
        "SELECT count(*) FROM leads WHERE tenant_id = $1 AND deleted_at IS NULL", admin.tenant_id
    )
    assert live == 0
