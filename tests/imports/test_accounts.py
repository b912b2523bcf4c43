"""Importing accounts (with a first contact) and contacts through the API: other CRMs'
headers, dedupe by domain then name, references to existing accounts, undo."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from baton.config import Settings
from baton.db.engine import Database
from tests.accounts.support import create_account, create_contact
from tests.factories import Member, add_member, register_tenant
from tests.imports.support import committed, upload, uploaded

# HubSpot's companies export, with a first contact's columns.
ACCOUNTS_CSV = (
    "Company name,Company Domain Name,Industry,VAT Number,Contact,Contact Email,Mobile,Rating\n"
    "Acme GmbH,https://www.Acme.example/about,Manufacturing,DE 123,Ada Lovelace,"
    "ada@acme.example,+49 30 1,5\n"
    "Globex,globex.example,,,,,,3\n"
    "Globex Corp,GLOBEX.example,Energy,,,,,1\n"
    "Initech,,Software,,Bill,,,2\n"
)


async def _patch(
    client: httpx.AsyncClient, member: Member, batch: dict[str, Any], **body: Any
) -> httpx.Response:
    return await client.patch(
        f"/api/v1/imports/{batch['id']}",
        headers=member.headers,
        json={**body, "version": batch["version"]},
    )


async def _undo(
    client: httpx.AsyncClient, member: Member, batch: dict[str, Any], **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/imports/{batch['id']}/undo",
        headers=member.headers,
        json={"version": batch["version"], **body},
    )


async def test_accounts_map_hubspot_headers_dedupe_by_domain_and_create_first_contacts(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    batch = await uploaded(client, sales, ACCOUNTS_CSV, kind="accounts", filename="companies.csv")
    assert batch["mapping"] == {
        "Company name": "name",
        "Company Domain Name": "domain",
        "Industry": "industry",
        "VAT Number": "tax_id",
        "Contact": "contact_name",
        "Contact Email": "contact_email",
        "Mobile": "contact_phone",
        "Rating": None,
    }
    assert batch["error_count"] == 0, batch["errors"]
    # Row 3's domain is row 2's once normalised.
    assert batch["duplicates"]["items"] == [
        {"row": 3, "key": "domain:globex.example", "matches_row": 2}
    ]
    assert (batch["would_create"], batch["would_update"], batch["would_skip"]) == (3, 0, 1)
    done = await committed(client, sales, batch, settings, database)
    assert done["status"] == "completed", done
    assert (done["created"], done["updated"], done["skipped"], done["failed"]) == (3, 0, 1, 0)
    accounts = await owner_conn.fetch(
        "SELECT id, name, domain, tax_id, industry, owner_id, import_batch_id FROM accounts"
        " WHERE tenant_id = $1 ORDER BY name",
        admin.tenant_id,
    )
    assert [(a["name"], a["domain"], a["tax_id"]) for a in accounts] == [
        ("Acme GmbH", "acme.example", "DE123"),
        ("Globex", "globex.example", None),
        ("Initech", None, None),
    ]
    assert {a["owner_id"] for a in accounts} == {sales.user_id}
    assert {str(a["import_batch_id"]) for a in accounts} == {batch["id"]}
    contacts = await owner_conn.fetch(
        "SELECT account_id, first_name, last_name, email, phone, import_batch_id FROM contacts"
        " WHERE tenant_id = $1 ORDER BY first_name",
        admin.tenant_id,
    )
    assert [(c["first_name"], c["last_name"], c["email"], c["phone"]) for c in contacts] == [
        ("Ada", "Lovelace", "ada@acme.example", "+49 30 1"),
        ("Bill", None, None, None),
    ]
    assert contacts[0]["account_id"] == accounts[0]["id"]
    assert {str(c["import_batch_id"]) for c in contacts} == {batch["id"]}

    # Undo takes the accounts and the contacts the batch made.
    undone = await _undo(client, sales, done)
    assert undone.status_code == 200, undone.text
    live = await owner_conn.fetchval(
        "SELECT count(*) FROM accounts WHERE tenant_id = $1 AND deleted_at IS NULL",
        admin.tenant_id,
    )
    live_contacts = await owner_conn.fetchval(
        "SELECT count(*) FROM contacts WHERE tenant_id = $1 AND deleted_at IS NULL",
        admin.tenant_id,
    )
    assert (live, live_contacts) == (0, 0)


async def test_accounts_match_existing_by_domain_then_name_skip_or_update_and_undo_restores(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    by_domain = await create_account(
        client, admin, name="Acme Old", domain="acme.example", industry="Old"
    )
    by_name = await create_account(client, admin, name="Initech")
    content = "Account Name,Website,Industry\nAcme New,acme.example,Robots\nINITECH!,,Software\n"
    batch = await uploaded(client, admin, content, kind="accounts")
    assert batch["duplicates"]["existing"] == 2
    assert {item["record_id"] for item in batch["duplicates"]["items"]} == {
        by_domain["id"],
        by_name["id"],
    }
    assert (batch["would_create"], batch["would_update"], batch["would_skip"]) == (0, 0, 2)
    refused = await _patch(client, admin, batch, on_duplicate="create")
    assert refused.status_code == 422
    assert "unique by domain" in refused.text
    patched = await _patch(client, admin, batch, on_duplicate="update")
    assert patched.status_code == 200, patched.text
    done = await committed(client, admin, patched.json(), settings, database)
    assert (done["created"], done["updated"], done["skipped"]) == (0, 2, 0)
    row = await owner_conn.fetchrow(
        "SELECT name, industry FROM accounts WHERE id = $1", uuid.UUID(by_domain["id"])
    )
    assert (row["name"], row["industry"]) == ("Acme New", "Robots")

    undone = await _undo(client, admin, done)
    assert undone.status_code == 200, undone.text
    rows = await owner_conn.fetch(
        "SELECT name, industry, import_batch_id, deleted_at FROM accounts WHERE tenant_id = $1"
        " ORDER BY name",
        admin.tenant_id,
    )
    assert [(r["name"], r["industry"], r["import_batch_id"], r["deleted_at"]) for r in rows] == [
        ("Acme Old", "Old", None, None),
        ("Initech", None, None, None),
    ]


async def test_accounts_errors_name_the_field_the_owner_and_the_missing_column(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    other = await register_tenant(client)
    content = (
        "Organization,Domain,Owner,Contact Email\n"
        f"Acme,acme.example,{other.email},\n"
        "Globex,not a domain,,\n"
        f"Initech,,{admin.email},bill@initech.example\n"
    )
    batch = await uploaded(client, admin, content, kind="accounts")
    assert {(e["row"], e["field"]) for e in batch["errors"]} == {
        (1, "owner"),
        (2, "domain"),
        (3, "contact_name"),
    }
    assert batch["would_create"] == 0
    missing = await uploaded(
        client, admin, "Domain,Industry\nacme.example,Energy\n", kind="accounts"
    )
    assert missing["errors"] == [
        {"row": None, "field": "name", "message": "Account name has no column: map one"}
    ]


async def test_contacts_attach_to_existing_accounts_by_domain_or_name(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    acme = await create_account(client, admin, name="Acme GmbH", domain="acme.example")
    globex = await create_account(client, admin, name="Globex")
    known = await create_contact(
        client, admin, acme["id"], first_name="Ada", email="ada@acme.example", title="CTO"
    )
    # Salesforce's contacts report.
    content = (
        "First Name,Last Name,Email,Account Name,Title\n"
        "Ada,Lovelace,ADA@acme.example,acme.example,Chief Engineer\n"
        "Hank,Scorpio,hank@globex.example,globex,CEO\n"
        "Hank,Again,hank@globex.example,Globex,\n"
        "Nobody,Here,n@nowhere.example,Umbrella Corp,\n"
        ",Nameless,x@globex.example,Globex,\n"
    )
    batch = await uploaded(client, admin, content, kind="contacts")
    assert batch["mapping"] == {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Account Name": "account",
        "Title": "title",
    }
    assert {(e["row"], e["field"], e["message"]) for e in batch["errors"]} == {
        (4, "account", "'Umbrella Corp' is not an account of the organization"),
        (5, "first_name", "is required"),
    }
    assert batch["duplicates"]["in_file"] == 1
    assert batch["duplicates"]["existing"] == 1
    patched = await _patch(client, admin, batch, on_duplicate="update")
    batch = patched.json()
    assert (batch["would_create"], batch["would_update"], batch["would_skip"]) == (1, 1, 1)
    refused = await client.post(
        f"/api/v1/imports/{batch['id']}/commit",
        headers=admin.headers,
        json={"version": batch["version"]},
    )
    assert refused.status_code == 422
    done = await committed(client, admin, batch, settings, database, valid_rows_only=True)
    assert (done["created"], done["updated"], done["skipped"], done["failed"]) == (1, 1, 1, 2)
    rows = await owner_conn.fetch(
        "SELECT account_id, first_name, last_name, title FROM contacts WHERE tenant_id = $1"
        " ORDER BY first_name",
        admin.tenant_id,
    )
    assert [(str(r["account_id"]), r["first_name"], r["last_name"], r["title"]) for r in rows] == [
        (acme["id"], "Ada", "Lovelace", "Chief Engineer"),
        (globex["id"], "Hank", "Scorpio", "CEO"),
    ]

    # Someone edits the updated contact: undo is refused naming it, unless forced.
    edited = await client.patch(
        f"/api/v1/contacts/{known['id']}",
        headers=admin.headers,
        json={"title": "CEO", "version": known["version"] + 1},
    )
    assert edited.status_code == 200, edited.text
    refused_undo = await _undo(client, admin, done)
    assert refused_undo.status_code == 409
    assert known["id"] in refused_undo.text
    forced = await _undo(client, admin, done, force=True)
    assert forced.status_code == 200, forced.text
    rows = await owner_conn.fetch(
        "SELECT first_name, last_name, title FROM contacts WHERE tenant_id = $1"
        " AND deleted_at IS NULL",
        admin.tenant_id,
    )
    assert [(r["first_name"], r["last_name"], r["title"]) for r in rows] == [("Ada", None, "CTO")]


async def test_contacts_whole_names_split_and_pipedrive_headers(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    await create_account(client, admin, name="Initech", domain="initech.example")
    content = (
        "Person - Name,Person - Organization,Person - Email,Person - Phone\n"
        "Bill Lumbergh,https://initech.example,bill@initech.example,555 0100\n"
    )
    batch = await uploaded(client, admin, content, kind="contacts")
    assert set(batch["mapping"].values()) == {"first_name", "account", "email", "phone"}
    done = await committed(client, admin, batch, settings, database)
    assert done["created"] == 1, done
    row = await owner_conn.fetchrow(
        "SELECT first_name, last_name, phone FROM contacts WHERE tenant_id = $1", admin.tenant_id
    )
    assert (row["first_name"], row["last_name"], row["phone"]) == ("Bill", "Lumbergh", "555 0100")


async def test_roles_per_kind(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    marketing = await add_member(client, admin, "marketing")
    manager = await add_member(client, admin, "manager")
    viewer = await add_member(client, admin, "viewer")
    content = "Name,Account\nX,Y\n"
    for kind in ("contacts", "transactions", "deals"):
        assert (await upload(client, sales, content, kind=kind)).status_code == 403
        assert (await upload(client, marketing, content, kind=kind)).status_code == 403
        assert (await upload(client, viewer, content, kind=kind)).status_code == 403
        assert (await upload(client, manager, content, kind=kind)).status_code == 201
    assert (await upload(client, sales, content, kind="accounts")).status_code == 201
    assert (await upload(client, marketing, content, kind="accounts")).status_code == 403
    bad = await upload(client, admin, content, kind="invoices")
    assert bad.status_code == 422
    assert "contacts, transactions, deals" in bad.text


async def test_undo_never_leaves_records_on_a_deleted_account(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    batch = await uploaded(
        client, admin, "Name,Contact\nAcme,Ada Lovelace\nGlobex,\n", kind="accounts"
    )
    done = await committed(client, admin, batch, settings, database)
    acme = await owner_conn.fetchval(
        "SELECT id FROM accounts WHERE tenant_id = $1 AND name = 'Acme'", admin.tenant_id
    )
    # The batch's own first contact does not count; a contact added since does.
    await create_contact(client, admin, str(acme), first_name="Grace")
    for force in (False, True):
        refused = await _undo(client, admin, done, force=force)
        assert refused.status_code == 409, refused.text
        assert str(acme) in refused.text
    live = await owner_conn.fetchval(
        "SELECT count(*) FROM accounts WHERE tenant_id = $1 AND deleted_at IS NULL",
        admin.tenant_id,
    )
    assert live == 2


async def test_a_tax_id_another_account_has_is_a_row_error_not_a_failed_import(
    client: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    admin = await register_tenant(client)
    await create_account(client, admin, name="Acme", domain="acme.example", tax_id="DE123")
    content = (
        "Name,Domain,Tax ID\n"
        "Acme Renamed,acme.example,de 123\n"
        "Globex,globex.example,DE123\n"
        "Initech,,FR9\n"
        "Hooli,,fr 9\n"
    )
    batch = await uploaded(client, admin, content, kind="accounts")
    assert [(e["row"], e["field"], e["message"]) for e in batch["errors"]] == [
        (2, "tax_id", "is already another account's"),
        (4, "tax_id", "is already another account's"),
    ]
    patched = await _patch(client, admin, batch, on_duplicate="update")
    done = await committed(client, admin, patched.json(), settings, database, valid_rows_only=True)
    assert (done["status"], done["created"], done["updated"]) == ("completed", 1, 1), done
