"""Files an import refuses or reads despite their quirks: each a clear answer, and
nothing written for a refusal."""

from __future__ import annotations

import io
import os

import asyncpg
import httpx
import pytest
from openpyxl import Workbook

from baton.imports.parsing import parse
from tests.factories import register_tenant
from tests.imports.support import upload, uploaded


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "empty.csv", "The file is empty"),
        (b"\n\n  \n", "blank.csv", "The file is empty"),
        (b"Company,Email\n", "header.csv", "The file has a header row but no data rows"),
        (os.urandom(2048) + b"\x00", "junk.csv", "The file is not text"),
        (bytes(range(1, 9)) * 300, "controls.csv", "The file is not text"),
        (b"", "empty.xlsx", "The file is empty"),
        (b"PK\x03\x04 not really a zip", "broken.xlsx", "The file is not a readable XLSX"),
    ],
)
async def test_unreadable_files_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    content: bytes,
    filename: str,
    message: str,
) -> None:
    admin = await register_tenant(client)
    response = await upload(client, admin, content, filename=filename)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(message)
    stored = await owner_conn.fetchval(
        "SELECT count(*) FROM import_batches WHERE tenant_id = $1", admin.tenant_id
    )
    assert stored == 0


def test_size_and_row_limits() -> None:
    content = b"Company\n" + b"Acme\n" * 11
    with pytest.raises(Exception, match="the limit is 20 bytes") as caught:
        parse("a.csv", content, max_bytes=20, max_rows=100)
    assert getattr(caught.value, "status", None) == 413
    with pytest.raises(Exception, match="more than 10 rows") as caught:
        parse("a.csv", content, max_bytes=10_000, max_rows=10)
    assert getattr(caught.value, "status", None) == 422
    assert len(parse("a.csv", content, max_bytes=10_000, max_rows=11).rows) == 11


async def test_a_file_over_the_size_limit_is_413(client: httpx.AsyncClient, app: object) -> None:
    admin = await register_tenant(client)
    runtime = app.state.runtime  # type: ignore[attr-defined]
    limit = runtime.settings.import_max_bytes
    # Past the limit plus the multipart allowance: refused before the body is read whole.
    response = await upload(client, admin, b"Company\n" + b"A" * (limit + 70 * 1024))
    assert response.status_code == 413


async def test_windows_1252_and_utf8_with_bom_are_read(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    latin = "Firma;Kontakt;E-Mail\nMüller & Söhne;Jürgen Groß;j@mueller.example\nCafé Crème;Zoë;\n"
    batch = await uploaded(client, admin, latin.encode("cp1252"))
    assert batch["encoding"] in {"cp1252", "latin_1", "iso8859_15"}
    assert batch["delimiter"] == ";"
    assert batch["columns"][0]["sample"] == ["Müller & Söhne", "Café Crème"]
    assert batch["mapping"]["Firma"] == "company_name"
    bom = "\ufeffCompany\tEmail\nÆther AS\tae@aether.example\n".encode()
    batch = await uploaded(client, admin, bom)
    assert batch["encoding"] == "utf-8-sig"
    assert batch["delimiter"] == "\t"
    assert batch["columns"][0]["header"] == "Company"
    assert batch["columns"][0]["sample"] == ["Æther AS"]


async def test_ragged_rows_and_duplicate_headers(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    content = 'Company,Email,Email,\nAcme,a@acme.example\nGlobex,g@globex.example,x,,"extra"\n'
    batch = await uploaded(client, admin, content)
    assert [c["header"] for c in batch["columns"]] == ["Company", "Email", "Email (2)"]
    assert batch["mapping"] == {"Company": "company_name", "Email": "email", "Email (2)": None}
    assert batch["errors"] == [
        {"row": 2, "field": "row", "message": "has 1 cells past the last column"}
    ]


async def test_a_required_field_without_a_column_is_named(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    batch = await uploaded(client, admin, "Colour,Email\nblue,a@b.example\n")
    assert batch["errors"][0] == {
        "row": None,
        "field": "company_name",
        "message": "Company has no column: map one",
    }
    refused = await client.post(
        f"/api/v1/imports/{batch['id']}/commit",
        headers=admin.headers,
        json={"version": batch["version"], "valid_rows_only": True},
    )
    assert refused.status_code == 422
    patched = await client.patch(
        f"/api/v1/imports/{batch['id']}",
        headers=admin.headers,
        json={"mapping": {"Colour": "company_name"}, "version": batch["version"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["error_count"] == 0
    assert patched.json()["would_create"] == 1
    stale = await client.patch(
        f"/api/v1/imports/{batch['id']}",
        headers=admin.headers,
        json={"mapping": {"Colour": None}, "version": batch["version"]},
    )
    assert stale.status_code == 409
    bad = await client.patch(
        f"/api/v1/imports/{batch['id']}",
        headers=admin.headers,
        json={"mapping": {"Nope": "email"}, "version": patched.json()["version"]},
    )
    assert bad.status_code == 422


async def test_xlsx_values_not_formulas_first_or_chosen_sheet(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "Leads"
    first.append(["Company", "Employees", "Total"])
    first.append(["Acme", 12, "=B2*2"])
    first.merge_cells("A3:B3")
    first["A3"] = "Merged Corp"
    second = book.create_sheet("Targets")
    second.append(["Organization", "Phone"])
    second.append(["Globex", "+1 555 0100"])
    buffer = io.BytesIO()
    book.save(buffer)
    batch = await uploaded(client, admin, buffer.getvalue(), filename="book.xlsx")
    assert batch["encoding"] == "xlsx"
    assert batch["sheet"] == "Leads"
    assert batch["sheets"] == ["Leads", "Targets"]
    # openpyxl writes no cached values: a formula reads as blank, never as its text.
    assert batch["columns"][2]["sample"] == ["", ""]
    assert batch["columns"][0]["sample"] == ["Acme", "Merged Corp"]
    assert batch["columns"][1]["sample"] == ["12", ""]
    chosen = await uploaded(client, admin, buffer.getvalue(), filename="book.xlsx", sheet="Targets")
    assert chosen["mapping"] == {"Organization": "company_name", "Phone": "phone"}
    missing = await upload(client, admin, buffer.getvalue(), filename="book.xlsx", sheet="Nope")
    assert missing.status_code == 422
    assert "Leads, Targets" in missing.json()["detail"]
