"""Each new kind's files: malformed ones refused with nothing stored, a workbook read
from its chosen sheet with typed cells, a required field without a column named."""

from __future__ import annotations

import io
from datetime import datetime

import asyncpg
import httpx
import pytest
from openpyxl import Workbook

from baton.config import Settings
from baton.db.engine import Database
from baton.imports import fields as import_fields
from baton.imports.models import ImportKind
from tests.accounts.support import create_account
from tests.factories import Member, register_tenant
from tests.imports.support import committed, upload, uploaded

KINDS = ("accounts", "contacts", "transactions", "deals")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"Name,Account\n", "header.csv", "The file has a header row but no data rows"),
        (b"\x00\x01\x02\x03" * 600, "junk.csv", "The file is not text"),
        (b"PK\x03\x04 not really a zip", "broken.xlsx", "The file is not a readable XLSX"),
    ],
)
async def test_malformed_files_are_refused_for_every_kind(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    kind: str,
    content: bytes,
    filename: str,
    message: str,
) -> None:
    admin = await register_tenant(client)
    response = await upload(client, admin, content, filename=filename, kind=kind)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(message)
    stored = await owner_conn.fetchval(
        "SELECT count(*) FROM import_batches WHERE tenant_id = $1", admin.tenant_id
    )
    assert stored == 0


@pytest.mark.parametrize(
    ("kind", "header", "missing", "label"),
    [
        ("accounts", "Domain", "name", "Account name"),
        ("contacts", "First Name", "account", "Account (name or domain)"),
        ("transactions", "Company,Amount", "occurred_on", "Date"),
        ("deals", "Company", "name", "Deal name"),
    ],
)
async def test_a_required_field_without_a_column_is_named_per_kind(
    client: httpx.AsyncClient, kind: str, header: str, missing: str, label: str
) -> None:
    admin = await register_tenant(client)
    row = ",".join("x" for _ in header.split(","))
    batch = await uploaded(client, admin, f"{header}\n{row}\n", kind=kind)
    assert {"row": None, "field": missing, "message": f"{label} has no column: map one"} in batch[
        "errors"
    ]
    refused = await client.post(
        f"/api/v1/imports/{batch['id']}/commit",
        headers=admin.headers,
        json={"version": batch["version"], "valid_rows_only": True},
    )
    assert refused.status_code == 422


async def test_a_ledger_workbook_is_read_from_its_chosen_sheet_with_typed_cells(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    await create_account(client, admin, name="Acme", domain="acme.example")
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Cover"
    cover.append(["Exported from the old CRM"])
    sheet = book.create_sheet("Invoices")
    sheet.append(["Invoice #", "Issue Date", "Grand Total", "Customer"])
    # A spreadsheet cell has no time zone: naive, as Excel writes it.
    sheet.append(["A-1", datetime(2026, 1, 5), 1250.5, "Acme"])  # noqa: DTZ001
    sheet.append(["A-2", datetime(2026, 2, 1, 9, 30), 99, "acme.example"])  # noqa: DTZ001
    buffer = io.BytesIO()
    book.save(buffer)
    content = buffer.getvalue()
    wrong = await upload(
        client, admin, content, filename="ledger.xlsx", kind="transactions", sheet="Ledger"
    )
    assert wrong.status_code == 422
    assert "Cover, Invoices" in wrong.json()["detail"]
    # The first sheet by default: a cover page with no rows.
    first = await upload(client, admin, content, filename="ledger.xlsx", kind="transactions")
    assert first.status_code == 422
    assert first.json()["detail"] == "The file has a header row but no data rows"
    batch = await uploaded(
        client, admin, content, filename="ledger.xlsx", kind="transactions", sheet="Invoices"
    )
    assert batch["mapping"] == {
        "Invoice #": "reference",
        "Issue Date": "occurred_on",
        "Grand Total": "amount",
        "Customer": "account",
    }
    assert batch["error_count"] == 0, batch["errors"]
    done = await committed(client, admin, batch, settings, database)
    assert done["created"] == 2, done
    lines = await owner_conn.fetch(
        "SELECT reference, occurred_on::text, amount::text FROM account_transactions"
        " WHERE tenant_id = $1 ORDER BY reference",
        admin.tenant_id,
    )
    assert [tuple(line) for line in lines] == [
        ("A-1", "2026-01-05", "1250.50"),
        ("A-2", "2026-02-01", "99.00"),
    ]


async def test_a_row_with_a_cell_error_also_reports_its_references(
    client: httpx.AsyncClient,
) -> None:
    """A bad amount does not hide the row's unknown account and stage: every error of
    a row is listed, each `{row, field, message}`; a row whose only error is a cell
    has that one; the rows with errors are counted once each."""
    admin = await register_tenant(client)
    await create_account(client, admin, name="Acme")
    deals = await uploaded(
        client,
        admin,
        "Deal name,Company,Stage,Amount\n"
        "First,Nowhere Ltd,nope,lots\n"
        "Second,Acme,discovery,lots\n"
        "Third,Nowhere Ltd,prospecting,100\n",
        kind="deals",
    )
    assert deals["errors"] == [
        {"row": 1, "field": "amount", "message": "is not an amount (digits and a decimal point)"},
        {
            "row": 1,
            "field": "account",
            "message": "'Nowhere Ltd' is not an account of the organization",
        },
        {"row": 1, "field": "step", "message": "'nope' is not a step of the sales pipeline"},
        {"row": 2, "field": "amount", "message": "is not an amount (digits and a decimal point)"},
        {
            "row": 3,
            "field": "account",
            "message": "'Nowhere Ltd' is not an account of the organization",
        },
    ]
    assert deals["error_count"] == 5
    assert deals["rows_with_errors"] == 3
    ledger = await uploaded(
        client,
        admin,
        "Company,Date,Amount\nNowhere Ltd,31/02/2026,12\n",
        kind="transactions",
    )
    assert [(e["row"], e["field"]) for e in ledger["errors"]] == [
        (1, "occurred_on"),
        (1, "account"),
    ]


async def error_lines(client: httpx.AsyncClient, member: Member, batch_id: str) -> list[str]:
    response = await client.get(f"/api/v1/imports/{batch_id}/errors.csv", headers=member.headers)
    assert response.status_code == 200, response.text
    return response.text.lstrip("\ufeff").splitlines()


async def test_every_error_of_a_row_in_the_contacts_preview_and_both_error_files(
    client: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    """A contact row with a bad email and an unknown account lists both, in the
    preview and in the error file (one `error` cell naming each); so does a deal row
    with a bad amount, an unknown account and an unknown stage. The valid rows import
    alone with `valid_rows_only`, the others are counted failed."""
    admin = await register_tenant(client)
    await create_account(client, admin, name="Acme", domain="acme.example")
    contacts = await uploaded(
        client,
        admin,
        "Company,First Name,Email\n"
        "Nowhere Ltd,Ada,not-an-email\n"
        "Acme,Grace,also bad\n"
        "Nowhere Ltd,Linus,linus@example.com\n"
        "acme.example,Margaret,margaret@acme.example\n",
        kind="contacts",
    )
    assert [(e["row"], e["field"]) for e in contacts["errors"]] == [
        (1, "email"),
        (1, "account"),
        (2, "email"),
        (3, "account"),
    ]
    assert contacts["errors"][1]["message"] == (
        "'Nowhere Ltd' is not an account of the organization"
    )
    assert (contacts["error_count"], contacts["rows_with_errors"]) == (4, 3)
    assert (contacts["would_create"], contacts["would_skip"]) == (1, 0)
    lines = await error_lines(client, admin, contacts["id"])
    assert lines[0] == "Company,First Name,Email,error"
    assert len(lines) == 4
    email_error = next(e["message"] for e in contacts["errors"] if e["field"] == "email")
    assert lines[1] == (
        f"Nowhere Ltd,Ada,not-an-email,email: {email_error}; account:"
        " 'Nowhere Ltd' is not an account of the organization"
    )
    assert lines[2] == f"Acme,Grace,also bad,email: {email_error}"
    assert lines[3].startswith("Nowhere Ltd,Linus,linus@example.com,account: ")
    done = await committed(client, admin, contacts, settings, database, valid_rows_only=True)
    assert (done["status"], done["created"], done["failed"]) == ("completed", 1, 3)

    deals = await uploaded(
        client,
        admin,
        "Deal name,Company,Stage,Amount\nFirst,Nowhere Ltd,nope,lots\nSecond,Acme,discovery,100\n",
        kind="deals",
    )
    assert [(e["row"], e["field"]) for e in deals["errors"]] == [
        (1, "amount"),
        (1, "account"),
        (1, "step"),
    ]
    lines = await error_lines(client, admin, deals["id"])
    assert lines[0] == "Deal name,Company,Stage,Amount,error"
    assert lines[1:] == [
        "First,Nowhere Ltd,nope,lots,amount: is not an amount (digits and a decimal point);"
        " account: 'Nowhere Ltd' is not an account of the organization;"
        " step: 'nope' is not a step of the sales pipeline"
    ]


def test_a_repeated_cell_reads_as_the_first_time() -> None:
    """Each distinct value of a field is validated once (`fields._validated`): the
    second read of a cell, good or bad, answers as the first and as the type does."""
    specs = {spec.name: spec for spec in import_fields.fields_of(ImportKind.TRANSACTIONS)}
    for name, cell in [
        ("account_domain", "https://www.Acme.com/about"),
        ("account_domain", "not a domain"),
        ("amount", "1234.5"),
        ("amount", "12.345"),
        ("currency", "eur"),
        ("currency", "EURO"),
        ("occurred_on", "2026-02-30"),
    ]:
        spec = specs[name]
        first = import_fields.validate_cell(spec, cell)
        assert import_fields.validate_cell(spec, cell) == first
        assert spec.adapter is not None
        cleaned = spec.clean(cell) if spec.clean else cell
        assert first == import_fields._validated.__wrapped__(spec.adapter, cleaned)
    assert import_fields.validate_cell(specs["account_domain"], "www.Acme.com") == (
        "acme.com",
        None,
    )
    assert import_fields.validate_cell(specs["currency"], "EURO")[1] is not None
