"""List exports through the API: every entity, filters, RLS and roles, the file itself."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import asyncpg
import httpx
import openpyxl

from tests.accounts.support import create_account, create_contact, insert_activity, insert_deal
from tests.factories import Member, add_member, register_tenant
from tests.targets.support import create_target

BOM = "\ufeff"


async def export(
    client: httpx.AsyncClient, member: Member, entity: str, **params: Any
) -> httpx.Response:
    return await client.get(f"/api/v1/exports/{entity}", headers=member.headers, params=params)


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text[len(BOM) :])))


async def test_accounts_round_trip_as_csv(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    first = await create_account(
        client, admin, name="Zürich Ölwerke", domain="oel.ch", industry="Energy", tags=["a", "b"]
    )
    second = await create_account(client, admin, name='Acme, "Quoted"\nLine')
    response = await export(client, admin, "accounts")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="baton-accounts-')
    assert disposition.split(";")[1].strip().endswith('.csv"')
    rows = rows_of(response)
    assert [row["ID"] for row in rows] == [first["id"], second["id"]]
    row = rows[0]
    assert row["Name"] == "Zürich Ölwerke"
    assert row["Domain"] == "oel.ch"
    assert row["Industry"] == "Energy"
    assert row["Tags"] == "a; b"
    assert row["Owner"] == admin.email
    assert row["Tenure"] == "prospect"
    assert row["Created at (UTC)"].endswith("Z")
    assert row["Created at (UTC)"][:19] == first["created_at"][:19]
    assert rows[1]["Name"] == 'Acme, "Quoted"\nLine'


async def test_formula_like_text_is_neutralised(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    # (Names are trimmed on the way in: a leading tab or CR is `formats`' own test.)
    names = ['=HYPERLINK("x")', "+1 555", "-2", "@SUM(A1)", "Plain"]
    for name in names:
        await create_account(client, admin, name=name)
    rows = rows_of(await export(client, admin, "accounts"))
    assert [row["Name"] for row in rows] == [
        '\'=HYPERLINK("x")',
        "'+1 555",
        "'-2",
        "'@SUM(A1)",
        "Plain",
    ]
    book = openpyxl.load_workbook(
        io.BytesIO((await export(client, admin, "accounts", format="xlsx")).content)
    )
    sheet = book.active
    assert sheet is not None
    assert [cell.value for cell in sheet["B"][1:]] == [row["Name"] for row in rows]
    assert all(cell.data_type == "s" for cell in sheet["B"][1:])


async def test_xlsx_opens_with_typed_cells(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin, name="Acme")
    deal_id = await insert_deal(owner_conn, admin, account["id"], name="Big one")
    response = await export(client, admin, "deals", format="xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert '.xlsx"' in response.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = list(sheet.values)
    header, row = values[0], dict(zip(values[0], values[1], strict=True))
    assert header[:4] == ("ID", "Name", "Account", "Account ID")
    assert len(values) == 2
    assert row["ID"] == str(deal_id)
    assert row["Account"] == "Acme"
    assert row["Amount"] == 1000
    assert row["Currency"] == "EUR"
    assert row["Owner"] == admin.email
    assert row["Stage"] == "Prospecting"


async def test_each_entity_exports_with_its_filters(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    acme = await create_account(client, admin, name="Acme")
    other = await create_account(client, admin, name="Globex")
    grace = await create_contact(client, admin, acme["id"], first_name="Grace", email="g@acme.io")
    await create_contact(client, admin, other["id"], first_name="Hank")
    open_deal = await insert_deal(owner_conn, admin, acme["id"], name="Open")
    won = await insert_deal(owner_conn, admin, other["id"], name="Won", outcome="won")
    planned = await insert_activity(owner_conn, admin, subject="Call Acme", account_id=acme["id"])
    await insert_activity(owner_conn, admin, subject="Done", status="done")
    kept = await create_target(client, admin, company_name="Initech", email="x@initech.io")
    await create_target(client, admin, company_name="Umbrella")

    contacts = rows_of(await export(client, admin, "contacts", account_id=acme["id"]))
    assert [(c["ID"], c["Account"], c["Email"]) for c in contacts] == [
        (grace["id"], "Acme", "g@acme.io")
    ]
    assert [
        c["First name"] for c in rows_of(await export(client, admin, "contacts", q="hank"))
    ] == ["Hank"]
    deals = rows_of(await export(client, admin, "deals"))
    assert {d["ID"] for d in deals} == {str(open_deal), str(won)}
    closed = rows_of(await export(client, admin, "deals", view="closed"))
    assert [(d["ID"], d["Outcome"], d["Amount"]) for d in closed] == [(str(won), "won", "1000.00")]
    pipeline = rows_of(await export(client, admin, "deals", view="pipeline", account_id=acme["id"]))
    assert [d["ID"] for d in pipeline] == [str(open_deal)]
    activities = rows_of(await export(client, admin, "activities", view="planner"))
    assert [(a["ID"], a["Account"]) for a in activities] == [(str(planned), "Acme")]
    assert [
        a["Subject"] for a in rows_of(await export(client, admin, "activities", view="done"))
    ] == ["Done"]
    targets = rows_of(await export(client, admin, "targets", q="initech"))
    assert [(t["ID"], t["Company"], t["Status"]) for t in targets] == [
        (kept["id"], "Initech", kept["step"]["name"])
    ]
    assert rows_of(await export(client, admin, "targets", status="contacted")) == []
    assert len(rows_of(await export(client, admin, "targets", status="new_target"))) == 2


async def test_export_refuses_bad_filters(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    for entity, params in [
        ("deals", {"view": "nope"}),
        ("accounts", {"view": "closed"}),
        ("leads", {}),
        ("accounts", {"format": "pdf"}),
        ("invoices", {}),
        ("activities", {"owner": "someone"}),
    ]:
        response = await export(client, admin, entity, **params)
        assert response.status_code in (404, 422), (entity, params, response.text)
        if entity != "invoices":
            assert response.status_code == 422, (entity, params)
            assert response.headers["content-type"].startswith("application/problem+json")
    targets = await export(client, admin, "targets", status="no_such_step")
    assert targets.status_code == 422


async def test_leads_export_by_view_and_role(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    marketing = await add_member(client, admin, "marketing")
    sales = await add_member(client, admin, "sales")
    created = await client.post(
        "/api/v1/leads",
        headers=marketing.headers,
        json={"company_name": "=cmd|' /C calc'!A0", "email": "lead@example.com"},
    )
    assert created.status_code == 201, created.text
    lead = created.json()
    inbox = rows_of(await export(client, marketing, "leads", view="inbox"))
    assert [(row["ID"], row["Company"], row["Marketing owner"]) for row in inbox] == [
        (lead["id"], "'=cmd|' /C calc'!A0", marketing.email)
    ]
    refused = await export(client, sales, "leads", view="inbox")
    assert refused.status_code == 403
    assert rows_of(await export(client, sales, "leads", view="pool")) == []
    assert rows_of(await export(client, admin, "leads", view="team")) == []
    disposition = (await export(client, admin, "leads", view="inbox")).headers[
        "content-disposition"
    ]
    assert "baton-leads-inbox-" in disposition


async def test_another_tenants_rows_never_appear(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    a = await register_tenant(client)
    b = await register_tenant(client)
    mine = await create_account(client, a, name="Mine")
    theirs = await create_account(client, b, name="Theirs")
    await insert_deal(owner_conn, b, theirs["id"])
    await create_target(client, b, company_name="Their target")
    assert [row["ID"] for row in rows_of(await export(client, a, "accounts"))] == [mine["id"]]
    assert rows_of(await export(client, a, "deals")) == []
    assert rows_of(await export(client, a, "targets")) == []
    assert rows_of(await export(client, a, "contacts", account_id=theirs["id"])) == []
    # The audit trail: only tenant A's entries, never B's account.
    trail = rows_of(await export(client, a, "audit"))
    assert trail
    assert theirs["id"] not in {row["Record ID"] for row in trail}
    assert mine["id"] in {row["Record ID"] for row in trail}


async def test_audit_export_is_for_admins_and_readers_of_the_record(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")
    account = await create_account(client, admin, name="Acme")
    assert (await export(client, viewer, "audit")).status_code == 403
    record = rows_of(
        await export(client, viewer, "audit", entity_type="account", entity_id=account["id"])
    )
    assert [(row["Action"], row["Record ID"], row["By"]) for row in record] == [
        ("insert", account["id"], admin.email)
    ]
    other = await register_tenant(client)
    foreign = await export(client, other, "audit", entity_type="account", entity_id=account["id"])
    assert foreign.status_code == 404


async def test_viewers_export_what_they_read_and_the_export_is_audited(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")
    account = await create_account(client, admin, name="Acme")
    rows = rows_of(await export(client, viewer, "accounts", owner="me"))
    assert rows == []
    rows = rows_of(await export(client, viewer, "accounts", q="acme"))
    assert [row["ID"] for row in rows] == [account["id"]]
    events = await owner_conn.fetch(
        "SELECT details FROM audit_log WHERE tenant_id = $1 AND event = 'export'"
        " AND actor_user_id = $2 ORDER BY id",
        admin.tenant_id,
        viewer.user_id,
    )
    assert len(events) == 2
    assert '"entity": "accounts"' in events[1]["details"]
    assert '"q": "acme"' in events[1]["details"]
    assert (await client.get("/api/v1/exports/accounts")).status_code == 401


async def test_a_client_gone_mid_stream_ends_the_request_quietly(
    app: Any,
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    monkeypatch: Any,
    caplog: Any,
) -> None:
    """The client hangs up after the first bytes: the reads stop, the transaction is
    rolled back (nothing to commit), no error is logged, the export is still audited,
    and the next request works."""
    admin = await register_tenant(client)
    account = await create_account(client, admin, name="Acme")
    for _ in range(7):
        await insert_deal(owner_conn, admin, account["id"])
    gone = asyncio.Event()
    started = False
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        nonlocal started
        if not started:
            started = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        if message["type"] == "http.response.body" and message.get("body"):
            gone.set()
            await asyncio.sleep(0.05)  # the server notices the hang-up meanwhile

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/exports/deals",
        "raw_path": b"/api/v1/exports/deals",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {admin.token}".encode())],
        "client": ("127.0.0.10", 40000),
        "server": ("testserver", 80),
        "app": app,
    }
    with caplog.at_level("ERROR"):
        await asyncio.wait_for(app(scope, receive, send), 30)
    assert sent[0] == "http.response.start"
    assert 1 <= sent.count("http.response.body") < 5
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    events = await owner_conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND event = 'export'",
        admin.tenant_id,
    )
    assert events == 1
    assert len(rows_of(await export(client, admin, "deals"))) == 7
