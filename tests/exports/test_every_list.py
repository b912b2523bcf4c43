"""Every list's export, CSV and XLSX alike (both are PostgreSQL's COPY of the list's own
statement): its filters, another organization's rows never, the list's role rules,
formula-like text neutralised, the BOM, typed workbook cells."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime
from typing import Any

import asyncpg
import httpx
import openpyxl
import pytest

from tests.accounts.support import create_account, create_contact, insert_activity, insert_deal
from tests.exports.test_lists import export, rows_of
from tests.factories import Member, add_member, register_tenant
from tests.targets.support import create_target

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet_rows(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header, *rows = list(sheet.values)
    return [dict(zip(header, row, strict=True)) for row in rows]


async def both(
    client: httpx.AsyncClient, member: Member, entity: str, **params: Any
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """The list as CSV (BOM checked by `rows_of`) and as XLSX, the same rows in the
    same order (the audit trail's XLSX also holds the CSV's own export event, first)."""
    csv_rows = rows_of(await export(client, member, entity, **params))
    xlsx_rows = sheet_rows(await export(client, member, entity, format="xlsx", **params))
    if entity == "audit":
        if len(xlsx_rows) > len(csv_rows):
            assert xlsx_rows[0]["Event"] == "export"
            xlsx_rows = xlsx_rows[1:]
        assert [row["Entry"] for row in csv_rows] == [str(row["Entry"]) for row in xlsx_rows]
    else:
        assert [row["ID"] for row in csv_rows] == [row["ID"] for row in xlsx_rows]
    return csv_rows, xlsx_rows


async def test_accounts_by_search_and_owner(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    wanted = await create_account(client, admin, name="=Acme Tools", tags=["x"])
    await create_account(client, admin, name="Globex")
    mine = await create_account(client, sales, name="Acme by sales")
    other = await register_tenant(client)
    await create_account(client, other, name="Acme elsewhere")
    csv_rows, xlsx_rows = await both(client, admin, "accounts", q="acme")
    assert {row["ID"] for row in csv_rows} == {wanted["id"], mine["id"]}
    named = {row["ID"]: row["Name"] for row in csv_rows}
    assert named[wanted["id"]] == "'=Acme Tools"
    assert {row["ID"]: row["Name"] for row in xlsx_rows}[wanted["id"]] == "'=Acme Tools"
    created = next(row for row in xlsx_rows if row["ID"] == wanted["id"])["Created at (UTC)"]
    assert isinstance(created, datetime)
    assert created.isoformat()[:16] == wanted["created_at"][:16]
    owned, _ = await both(client, sales, "accounts", owner="me")
    assert [row["ID"] for row in owned] == [mine["id"]]


async def test_contacts_by_account_and_search(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")
    acme = await create_account(client, admin, name="Acme")
    globex = await create_account(client, admin, name="Globex")
    grace = await create_contact(client, admin, acme["id"], first_name="@Grace", title="-CTO")
    await create_contact(client, admin, globex["id"], first_name="Hank")
    other = await register_tenant(client)
    theirs = await create_account(client, other, name="Theirs")
    await create_contact(client, other, theirs["id"], first_name="Grace")
    csv_rows, xlsx_rows = await both(client, viewer, "contacts", account_id=acme["id"])
    assert [(row["ID"], row["First name"], row["Title"], row["Account"]) for row in csv_rows] == [
        (grace["id"], "'@Grace", "'-CTO", "Acme")
    ]
    assert [(row["First name"], row["Title"]) for row in xlsx_rows] == [("'@Grace", "'-CTO")]
    searched, _ = await both(client, viewer, "contacts", q="grace")
    assert [row["ID"] for row in searched] == [grace["id"]]
    # Another organization's account: nothing, as its list shows.
    assert (await both(client, admin, "contacts", account_id=theirs["id"])) == ([], [])


async def test_deals_by_view_with_typed_cells(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin, name="Acme")
    won = await insert_deal(owner_conn, admin, account["id"], name="+won", outcome="won")
    await insert_deal(owner_conn, admin, account["id"], name="Open")
    await owner_conn.execute(
        "UPDATE deals SET expected_close_date = '2027-02-28', probability = 40 WHERE id = $1",
        won,
    )
    other = await register_tenant(client)
    theirs = await create_account(client, other, name="Theirs")
    await insert_deal(owner_conn, other, theirs["id"], outcome="won")
    csv_rows, xlsx_rows = await both(client, admin, "deals", view="closed")
    assert [(row["ID"], row["Name"], row["Amount"]) for row in csv_rows] == [
        (str(won), "'+won", "1000.00")
    ]
    row = xlsx_rows[0]
    assert row["Name"] == "'+won"
    assert row["Amount"] == 1000
    assert row["Probability (%)"] == 40
    assert isinstance(row["Expected close date"], datetime)
    assert row["Expected close date"].date() == date(2027, 2, 28)
    assert isinstance(row["Closed at (UTC)"], datetime)
    assert row["Outcome"] == "won"


async def test_leads_by_queue_role_and_search(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    marketing = await add_member(client, admin, "marketing")
    sales = await add_member(client, admin, "sales")
    leads = []
    for company in ("=cmd|' /C calc'!A0", "Initech"):
        created = await client.post(
            "/api/v1/leads", headers=marketing.headers, json={"company_name": company}
        )
        assert created.status_code == 201, created.text
        leads.append(created.json())
    other = await register_tenant(client)
    foreign = await client.post(
        "/api/v1/leads", headers=other.headers, json={"company_name": "Initech"}
    )
    assert foreign.status_code == 201, foreign.text
    csv_rows, xlsx_rows = await both(client, marketing, "leads", view="inbox")
    assert [(row["ID"], row["Company"]) for row in csv_rows] == [
        (leads[0]["id"], "'=cmd|' /C calc'!A0"),
        (leads[1]["id"], "Initech"),
    ]
    assert xlsx_rows[0]["Company"] == "'=cmd|' /C calc'!A0"
    assert xlsx_rows[0]["Marketing owner"] == marketing.email
    searched, _ = await both(client, admin, "leads", view="inbox", q="initech")
    assert [row["ID"] for row in searched] == [leads[1]["id"]]
    for fmt in ("csv", "xlsx"):
        refused = await export(client, sales, "leads", view="inbox", format=fmt)
        assert refused.status_code == 403
        team = await export(client, marketing, "leads", view="team", format=fmt)
        assert team.status_code == 403


async def test_targets_by_status_and_search(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    kept = await create_target(client, admin, company_name="+Initech", notes="@everyone")
    await create_target(client, admin, company_name="Umbrella")
    other = await register_tenant(client)
    await create_target(client, other, company_name="Initech")
    csv_rows, xlsx_rows = await both(client, admin, "targets", q="initech")
    assert [(row["ID"], row["Company"], row["Notes"]) for row in csv_rows] == [
        (kept["id"], "'+Initech", "'@everyone")
    ]
    assert [(row["Company"], row["Status"]) for row in xlsx_rows] == [
        ("'+Initech", kept["step"]["name"])
    ]
    assert (await both(client, admin, "targets", status="contacted")) == ([], [])
    every, _ = await both(client, admin, "targets", status="new_target")
    assert len(every) == 2
    bad = await export(client, admin, "targets", status="nope", format="xlsx")
    assert bad.status_code == 422


async def test_activities_by_view_and_owner(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    account = await create_account(client, admin, name="Acme")
    planned = await insert_activity(owner_conn, admin, subject="=SUM(A1)", account_id=account["id"])
    done = await insert_activity(owner_conn, admin, subject="Done", status="done")
    theirs = await insert_activity(owner_conn, sales, subject="Theirs")
    other = await register_tenant(client)
    await insert_activity(owner_conn, other, subject="Elsewhere")
    csv_rows, xlsx_rows = await both(client, admin, "activities", view="planner", owner="me")
    assert [(row["ID"], row["Subject"], row["Account"]) for row in csv_rows] == [
        (str(planned), "'=SUM(A1)", "Acme")
    ]
    assert xlsx_rows[0]["Subject"] == "'=SUM(A1)"
    assert xlsx_rows[0]["Owner"] == admin.email
    everyone, _ = await both(client, sales, "activities", view="planner")
    assert {row["ID"] for row in everyone} == {str(planned), str(theirs)}
    finished, xlsx_done = await both(client, admin, "activities", view="done")
    assert [row["ID"] for row in finished] == [str(done)]
    assert isinstance(xlsx_done[0]["Completed at (UTC)"], datetime)


async def test_audit_trail_for_admins_and_readers_of_one_record(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")
    account = await create_account(client, admin, name="=Acme")
    patched = await client.patch(
        f"/api/v1/accounts/{account['id']}",
        headers=admin.headers,
        json={"industry": "Energy", "version": account["version"]},
    )
    assert patched.status_code == 200, patched.text
    other = await register_tenant(client)
    theirs = await create_account(client, other, name="Theirs")
    csv_rows, xlsx_rows = await both(
        client, viewer, "audit", entity_type="account", entity_id=account["id"]
    )
    assert [(row["Action"], row["Record type"], row["By"]) for row in csv_rows] == [
        ("update", "account", admin.email),
        ("insert", "account", admin.email),
    ]
    assert '"field": "industry"' in csv_rows[0]["Changes"]
    assert '"after": "Energy"' in csv_rows[0]["Changes"]
    assert '"after": "=Acme"' in csv_rows[1]["Changes"]
    assert isinstance(xlsx_rows[0]["Entry"], int)
    assert isinstance(xlsx_rows[0]["At (UTC)"], datetime)
    # The whole trail: admins only, and only their organization's.
    for fmt in ("csv", "xlsx"):
        refused = await export(client, viewer, "audit", format=fmt)
        assert refused.status_code == 403
        foreign = await export(
            client, other, "audit", entity_type="account", entity_id=account["id"], format=fmt
        )
        assert foreign.status_code == 404
    whole, _ = await both(client, admin, "audit")
    assert account["id"] in {row["Record ID"] for row in whole}
    assert theirs["id"] not in {row["Record ID"] for row in whole}


async def test_the_audit_trail_is_whole_past_the_trail_functions_page(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The trail function answers 200 entries a call: the export reads page after
    page, every entry once, newest first."""
    admin = await register_tenant(client)
    await owner_conn.execute(
        "INSERT INTO audit_log (tenant_id, action, event, actor_user_id, details)"
        " SELECT $1, 'security', 'login.ok', $2, jsonb_build_object('n', g)"
        " FROM generate_series(1, 450) g",
        admin.tenant_id,
        admin.user_id,
    )
    expected = [
        str(entry)
        for entry in await owner_conn.fetch(
            "SELECT id FROM audit_log WHERE tenant_id = $1 AND (table_name IS NULL OR"
            " table_name NOT IN ('access_tokens', 'api_keys', 'invitations')) ORDER BY id DESC",
            admin.tenant_id,
        )
        for entry in entry.values()
    ]
    csv_rows, xlsx_rows = await both(client, admin, "audit")
    assert [row["Entry"] for row in csv_rows] == expected
    assert len(xlsx_rows) == len(expected) > 450


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_text_with_markup_and_controls_survives(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, fmt: str
) -> None:
    """Characters XML and COPY's text format treat specially come back as written;
    characters a workbook cannot hold (C0 controls) are dropped from XLSX."""
    admin = await register_tenant(client)
    account = await create_account(client, admin, name="A & B <b>")
    await owner_conn.execute(
        "UPDATE accounts SET address = E'Back\\\\slash\\ttab\\nline\\r\\nend\\x01\\x08\\x0b', "
        " industry = ' spaced ' WHERE id = $1",
        uuid.UUID(account["id"]),
    )
    response = await export(client, admin, "accounts", format=fmt)
    row = (rows_of(response) if fmt == "csv" else sheet_rows(response))[0]
    assert row["Name"] == "A & B <b>"
    assert row["Industry"] == " spaced "
    address = "Back\\slash\ttab\nline\r\nend"
    assert row["Address"] == (address + "\x01\x08\x0b" if fmt == "csv" else address)
    if fmt == "xlsx":
        assert row["Customer since"] is None
        assert isinstance(row["Created at (UTC)"], datetime)
