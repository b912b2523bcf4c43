"""A → B: what one organization exports (baton/exports) another imports as the same
records; and what another organization has is never matched."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from baton.config import Settings
from baton.db.engine import Database
from tests.accounts.support import create_account
from tests.factories import Member, register_tenant
from tests.imports.support import committed, uploaded


async def _export(client: httpx.AsyncClient, member: Member, entity: str) -> bytes:
    response = await client.get(
        f"/api/v1/exports/{entity}", headers=member.headers, params={"format": "csv"}
    )
    assert response.status_code == 200, response.text
    return response.content


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8").lstrip("\ufeff"))))


async def _import(
    client: httpx.AsyncClient,
    member: Member,
    content: bytes,
    kind: str,
    settings: Settings,
    database: Database,
) -> dict[str, Any]:
    batch = await uploaded(client, member, content, kind=kind, filename=f"{kind}.csv")
    if "Owner" not in batch["mapping"]:
        return await committed(client, member, batch, settings, database)
    # The other organization's owners are not members here: the importer's own.
    patched = await client.patch(
        f"/api/v1/imports/{batch['id']}",
        headers=member.headers,
        json={"mapping": {"Owner": None}, "version": batch["version"]},
    )
    assert patched.status_code == 200, patched.text
    batch = patched.json()
    assert batch["error_count"] == 0, batch["errors"]
    return await committed(client, member, batch, settings, database)


ACCOUNT_FIELDS = ("Name", "Domain", "Tax ID", "Address", "Industry")
DEAL_FIELDS = (
    "Name",
    "Account",
    "Stage",
    "Amount",
    "Currency",
    "Expected close date",
    "Next step",
    "Next step due date",
    "Source",
)


async def test_accounts_and_deals_exported_by_one_organization_import_into_another(
    client: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    a = await register_tenant(client)
    b = await register_tenant(client)
    await create_account(
        client,
        a,
        name="Zürich Ölwerke",
        domain="oel.ch",
        tax_id="CHE-1",
        address="Seestrasse 1\n8000 Zürich",
        industry="Energy",
    )
    await create_account(client, a, name='Acme, "Quoted"')
    deals_csv = (
        "Deal Name,Account,Stage,Amount,Currency,Expected close,Next step,Next step due,Source\n"
        "Pipeline,Zürich Ölwerke,Proposal,1200.50,CHF,2027-02-01,Send offer,2027-01-10,Fair\n"
        'Small,"Acme, ""Quoted""",,,,,,,\n'
    )
    seeded = await _import(client, a, deals_csv.encode(), "deals", settings, database)
    assert seeded["created"] == 2, seeded

    accounts = await _export(client, a, "accounts")
    done = await _import(client, b, accounts, "accounts", settings, database)
    assert (done["created"], done["failed"]) == (2, 0), done
    deals = await _export(client, a, "deals")
    done = await _import(client, b, deals, "deals", settings, database)
    assert (done["created"], done["failed"]) == (2, 0), done

    def picked(rows: list[dict[str, str]], names: tuple[str, ...]) -> list[tuple[str, ...]]:
        return sorted(tuple(row[name] for name in names) for row in rows)

    assert picked(_rows(await _export(client, b, "accounts")), ACCOUNT_FIELDS) == picked(
        _rows(accounts), ACCOUNT_FIELDS
    )
    assert picked(_rows(await _export(client, b, "deals")), DEAL_FIELDS) == picked(
        _rows(deals), DEAL_FIELDS
    )
    # Imported once more, every row is a duplicate of what the first import made.
    again = await uploaded(client, b, deals, kind="deals", filename="deals.csv")
    # … once its owners, A's members, are left out.
    assert {e["field"] for e in again["errors"]} == {"owner"}
    patched = await client.patch(
        f"/api/v1/imports/{again['id']}",
        headers=b.headers,
        json={"mapping": {"Owner": None}, "version": again["version"]},
    )
    assert patched.json()["duplicates"]["existing"] == 2


async def test_another_organizations_accounts_are_never_matched(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    a = await register_tenant(client)
    b = await register_tenant(client)
    await create_account(client, b, name="Umbrella Corp", domain="umbrella.example")
    for kind, content in (
        ("contacts", "Name,Company\nAlice,Umbrella Corp\nBob,umbrella.example\n"),
        ("transactions", "Date,Amount,Company\n2026-01-01,5,Umbrella Corp\n"),
        ("deals", "Deal Name,Company\nBig,Umbrella Corp\n"),
    ):
        batch = await uploaded(client, a, content, kind=kind)
        assert {e["field"] for e in batch["errors"]} == {"account"}, batch["errors"]
        assert batch["would_create"] == 0
    # And B's account is not a duplicate of A's new one.
    batch = await uploaded(
        client, a, "Name,Domain\nUmbrella Corp,umbrella.example\n", kind="accounts"
    )
    assert (batch["would_create"], batch["duplicates"]["existing"]) == (1, 0)


async def test_the_sample_files_import_cleanly_in_order(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    """docs/samples/: accounts first, then what refers to them."""
    admin = await register_tenant(client)
    samples = Path(__file__).parents[2] / "docs" / "samples"
    expected = {"accounts": 10, "contacts": 8, "transactions": 8, "deals": 8}
    for kind, count in expected.items():
        content = (samples / f"{kind}.csv").read_bytes()
        batch = await uploaded(client, admin, content, kind=kind, filename=f"{kind}.csv")
        assert batch["error_count"] == 0, (kind, batch["errors"])
        assert None not in {
            field for header, field in batch["mapping"].items() if header != "Deal - Owner"
        }, (kind, batch["mapping"])
        done = await committed(client, admin, batch, settings, database)
        assert (done["status"], done["created"]) == ("completed", count), (kind, done)
    first_contacts = await owner_conn.fetchval(
        "SELECT count(*) FROM contacts WHERE tenant_id = $1", admin.tenant_id
    )
    assert first_contacts == 7 + 8
