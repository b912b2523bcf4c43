"""Importing the invoice ledger and open deals through the API, and the database guard
that lets only a running import batch place a new deal past the first step."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from baton.config import Settings
from baton.db.engine import Database
from tests.accounts.support import add_transaction, create_account, pipeline_steps, today
from tests.factories import Member, add_member, register_tenant
from tests.imports.support import committed, get, uploaded
from tests.reports.conftest import open_totals_disagreement


async def _undo(
    client: httpx.AsyncClient, member: Member, batch: dict[str, Any], **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/imports/{batch['id']}/undo",
        headers=member.headers,
        json={"version": batch["version"], **body},
    )


async def test_transactions_dedupe_by_invoice_number_drive_status_and_undo(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    acme = await create_account(client, admin, name="Acme GmbH", domain="acme.example")
    await create_account(client, admin, name="Globex")
    known = await add_transaction(
        client, admin, acme["id"], 200, amount="10.00", currency="EUR", reference="INV-1"
    )
    recent = (today() - timedelta(days=3)).isoformat()
    future = (today() + timedelta(days=5)).isoformat()
    content = (
        "Invoice Number,Invoice Date,Total,Currency,Company\n"
        f'INV-1,{recent} 00:00:00,"$1,250.00",eur,acme.example\n'
        f"INV-2,{recent},99.5,,Globex\n"
        f"INV-2,{recent},99.5,,Globex\n"
        f"INV-3,{future},1,EUR,Globex\n"
        f"INV-4,03/01/2026,1,EUR,Globex\n"
        f"INV-5,{recent},12.345,EUR,Globex\n"
        f"INV-6,{recent},5,EUR,Umbrella\n"
        f",{recent},7,EUR,Globex\n"
    )
    batch = await uploaded(client, admin, content, kind="transactions")
    assert batch["mapping"] == {
        "Invoice Number": "reference",
        "Invoice Date": "occurred_on",
        "Total": "amount",
        "Currency": "currency",
        "Company": "account",
    }
    assert {(e["row"], e["field"]) for e in batch["errors"]} == {
        (4, "occurred_on"),
        (5, "occurred_on"),
        (6, "amount"),
        (7, "account"),
    }
    messages = {e["row"]: e["message"] for e in batch["errors"]}
    assert messages[5] == "is not a date (YYYY-MM-DD)"
    assert messages[6] == "has more than two decimal places"
    assert batch["duplicates"]["in_file"] == 1
    assert batch["duplicates"]["items"][0] == {
        "row": 1,
        "key": f"{acme['id']}:INV-1",
        "record_id": known["id"],
    }
    refused = await client.patch(
        f"/api/v1/imports/{batch['id']}",
        headers=admin.headers,
        json={"on_duplicate": "create", "version": batch["version"]},
    )
    assert refused.status_code == 422
    patched = await client.patch(
        f"/api/v1/imports/{batch['id']}",
        headers=admin.headers,
        json={"on_duplicate": "update", "version": batch["version"]},
    )
    batch = patched.json()
    assert (batch["would_create"], batch["would_update"], batch["would_skip"]) == (2, 1, 1)
    done = await committed(client, admin, batch, settings, database, valid_rows_only=True)
    assert (done["created"], done["updated"], done["skipped"], done["failed"]) == (2, 1, 1, 4)
    lines = await owner_conn.fetch(
        "SELECT reference, amount::text, currency, occurred_on FROM account_transactions"
        " WHERE tenant_id = $1 ORDER BY reference NULLS LAST",
        admin.tenant_id,
    )
    assert [(r["reference"], r["amount"], r["currency"]) for r in lines] == [
        ("INV-1", "1250.00", "EUR"),
        ("INV-2", "99.50", "USD"),
        (None, "7.00", "EUR"),
    ]
    status = await client.get(f"/api/v1/accounts/{acme['id']}", headers=admin.headers)
    assert status.json()["status"]["activity"] == "active"

    undone = await _undo(client, admin, done)
    assert undone.status_code == 200, undone.text
    lines = await owner_conn.fetch(
        "SELECT reference, amount::text, import_batch_id FROM account_transactions"
        " WHERE tenant_id = $1",
        admin.tenant_id,
    )
    # The created lines are gone; the updated one is as it was.
    assert [(r["reference"], r["amount"], r["import_batch_id"]) for r in lines] == [
        ("INV-1", "10.00", None)
    ]
    status = await client.get(f"/api/v1/accounts/{acme['id']}", headers=admin.headers)
    assert status.json()["status"]["activity"] == "inactive"


async def test_deals_open_at_their_stage_with_owner_and_history(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    other = await register_tenant(client)
    acme = await create_account(client, admin, name="Acme GmbH", domain="acme.example")
    await create_account(client, admin, name="Globex")
    # Pipedrive's deals export.
    content = (
        "Deal - Title,Deal - Organization,Deal - Stage,Deal - Owner,Deal - Value,"
        "Deal - Currency,Deal - Expected close date\n"
        f'Robots,Acme GmbH,Proposal,{sales.email},"12,000.00",EUR,2027-01-31\n'
        f"Support,acme.example,negotiation,{admin.email},500,,\n"
        "Starter,Globex,,,,,\n"
        "Lost one,Globex,Lost,,,,\n"
        "Bad stage,Globex,Dreaming,,,,\n"
        f"Foreign owner,Globex,Proposal,{other.email},,,\n"
        "Bad money,Globex,Proposal,,-5,,\n"
    )
    batch = await uploaded(client, admin, content, kind="deals")
    assert batch["mapping"] == {
        "Deal - Title": "name",
        "Deal - Organization": "account",
        "Deal - Stage": "step",
        "Deal - Owner": "owner",
        "Deal - Value": "amount",
        "Deal - Currency": "currency",
        "Deal - Expected close date": "expected_close_date",
    }
    errors = {(e["row"], e["field"]): e["message"] for e in batch["errors"]}
    assert set(errors) == {(4, "step"), (5, "step"), (6, "owner"), (7, "amount")}
    assert errors[(4, "step")] == "'Lost' closes a deal: an import opens deals at an open step"
    assert errors[(5, "step")] == "'Dreaming' is not a step of the sales pipeline"
    done = await committed(client, admin, batch, settings, database, valid_rows_only=True)
    assert (done["created"], done["failed"]) == (3, 4), done
    steps = await pipeline_steps(owner_conn, admin.tenant_id)
    deals = await owner_conn.fetch(
        "SELECT id, name, account_id, step_id, owner_id, amount::text, currency,"
        " expected_close_date, next_step, next_step_due_date, rank, import_batch_id"
        " FROM deals WHERE tenant_id = $1 ORDER BY name",
        admin.tenant_id,
    )
    by_name = {d["name"]: d for d in deals}
    assert by_name["Robots"]["step_id"] == steps["proposal"]
    assert by_name["Robots"]["owner_id"] == sales.user_id
    assert (by_name["Robots"]["amount"], by_name["Robots"]["currency"]) == ("12000.00", "EUR")
    assert str(by_name["Robots"]["account_id"]) == acme["id"]
    assert by_name["Support"]["step_id"] == steps["negotiation"]
    assert by_name["Support"]["currency"] == "USD"
    assert by_name["Starter"]["step_id"] == steps["prospecting"]
    assert by_name["Starter"]["owner_id"] == admin.user_id
    assert by_name["Starter"]["next_step"] == "Review the imported deal"
    assert by_name["Starter"]["next_step_due_date"] == today()
    history = await owner_conn.fetch(
        "SELECT record_id, from_step_id, to_step_id, reason, fields FROM workflow_history"
        " WHERE tenant_id = $1 AND entity_type = 'deal'",
        admin.tenant_id,
    )
    reasons = {h["record_id"]: h["reason"] for h in history}
    assert len(history) == 3
    assert reasons[by_name["Robots"]["id"]] == "import"
    assert reasons[by_name["Support"]["id"]] == "import"
    # The first step needs no exception: its entry is a plain one.
    assert reasons[by_name["Starter"]["id"]] is None
    # The board's bookkeeping counts them in their columns (its statement triggers).
    totals = await owner_conn.fetch(
        "SELECT step_id, sum(deal_count) AS n FROM pipeline_column_totals WHERE tenant_id = $1"
        " GROUP BY step_id HAVING sum(deal_count) > 0",
        admin.tenant_id,
    )
    assert {t["step_id"]: t["n"] for t in totals} == {
        steps["proposal"]: 1,
        steps["negotiation"]: 1,
        steps["prospecting"]: 1,
    }
    # So does the reports' rollup of open deals.
    assert await open_totals_disagreement(owner_conn, admin.tenant_id) == []
    assert (
        await owner_conn.fetchval(
            "SELECT sum(deal_count) FROM open_deal_totals WHERE tenant_id = $1", admin.tenant_id
        )
        == 3
    )
    # The board shows them: each at the end of its column.
    board = await client.get("/api/v1/deals", headers=admin.headers)
    assert board.status_code == 200
    assert {d["name"] for d in board.json()["items"]} == {"Robots", "Support", "Starter"}

    # A stage that closes a deal is refused whatever the file says.
    again = await uploaded(
        client, admin, "Deal Name,Account,Amount,Stage\nRobots,Acme GmbH,13000,Won\n", kind="deals"
    )
    assert again["errors"][0]["field"] == "step"

    undone = await _undo(client, admin, await get(client, admin, done["id"]))
    assert undone.status_code == 200, undone.text
    live = await owner_conn.fetchval(
        "SELECT count(*) FROM deals WHERE tenant_id = $1 AND deleted_at IS NULL", admin.tenant_id
    )
    assert live == 0
    counted = await owner_conn.fetchval(
        "SELECT coalesce(sum(deal_count), 0) FROM pipeline_column_totals WHERE tenant_id = $1",
        admin.tenant_id,
    )
    assert counted == 0
    assert await open_totals_disagreement(owner_conn, admin.tenant_id) == []


async def test_deal_updates_keep_the_stage_and_undo_restores_the_amount(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    await create_account(client, admin, name="Acme")
    first = await uploaded(
        client, admin, "Deal Name,Company,Stage,Amount\nRobots,Acme,Proposal,100\n", kind="deals"
    )
    await committed(client, admin, first, settings, database)
    second = await uploaded(
        client,
        admin,
        "Opportunity Name,Account Name,Stage,Amount\nrobots,ACME,Discovery,250\n",
        kind="deals",
    )
    assert second["duplicates"]["existing"] == 1
    patched = await client.patch(
        f"/api/v1/imports/{second['id']}",
        headers=admin.headers,
        json={"on_duplicate": "update", "version": second["version"]},
    )
    done = await committed(client, admin, patched.json(), settings, database)
    assert (done["created"], done["updated"]) == (0, 1), done
    steps = await pipeline_steps(owner_conn, admin.tenant_id)
    row = await owner_conn.fetchrow(
        "SELECT amount::text, step_id FROM deals WHERE tenant_id = $1", admin.tenant_id
    )
    assert (row["amount"], row["step_id"]) == ("250.00", steps["proposal"])
    assert await open_totals_disagreement(owner_conn, admin.tenant_id) == []
    undone = await _undo(client, admin, done)
    assert undone.status_code == 200, undone.text
    row = await owner_conn.fetchrow(
        "SELECT amount::text, import_batch_id FROM deals WHERE tenant_id = $1", admin.tenant_id
    )
    assert (row["amount"], str(row["import_batch_id"])) == ("100.00", first["id"])
    assert await open_totals_disagreement(owner_conn, admin.tenant_id) == []


async def _insert_deal_at(
    conn: asyncpg.Connection,
    member: Member,
    step_key: str,
    batch_id: uuid.UUID | None,
    outcome: str | None = None,
) -> None:
    steps = await pipeline_steps(conn, member.tenant_id)
    account_id = await conn.fetchval(
        "SELECT id FROM accounts WHERE tenant_id = $1 LIMIT 1", member.tenant_id
    )
    await conn.execute(
        "INSERT INTO deals (tenant_id, id, name, account_id, owner_id, currency, next_step,"
        " next_step_due_date, workflow_id, step_id, entered_step_at, rank, import_batch_id,"
        " outcome, win_reason, closed_at) VALUES ($1, $2, 'Sneaky', $3, $4, 'EUR', 'Call',"
        " current_date, $5, $6, now(), $7, $8, $9::text,"
        " CASE WHEN $9::text = 'won' THEN 'price' END,"
        " CASE WHEN $9::text IS NOT NULL THEN now() END)",
        member.tenant_id,
        uuid.uuid4(),
        account_id,
        member.user_id,
        steps["workflow_id"],
        steps[step_key],
        uuid.uuid4().hex,
        batch_id,
        outcome,
    )


async def test_the_database_refuses_a_deal_past_the_first_step_outside_a_running_import(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    await create_account(client, admin, name="Acme")
    batch = await uploaded(client, admin, "Deal Name,Company\nX,Acme\n", kind="deals")
    batch_id = uuid.UUID(batch["id"])
    # No import named: refused, whoever sends the SQL.
    with pytest.raises(asyncpg.CheckViolationError, match="initial step"):
        await _insert_deal_at(owner_conn, admin, "proposal", None)
    # The row names a batch that is only previewed: refused.
    async with owner_conn.transaction():
        await owner_conn.execute("SELECT set_config('baton.import_batch', $1, true)", str(batch_id))
        with pytest.raises(asyncpg.CheckViolationError, match="initial step"):
            await _insert_deal_at(owner_conn, admin, "proposal", batch_id)
    await owner_conn.execute("UPDATE import_batches SET status = 'running' WHERE id = $1", batch_id)
    # Running, but the transaction does not name it: refused.
    with pytest.raises(asyncpg.CheckViolationError, match="initial step"):
        await _insert_deal_at(owner_conn, admin, "proposal", batch_id)
    async with owner_conn.transaction():
        await owner_conn.execute("SELECT set_config('baton.import_batch', $1, true)", str(batch_id))
        # Never straight to won, even for an import (with every close field).
        with pytest.raises(asyncpg.CheckViolationError, match="initial step"):
            async with owner_conn.transaction():
                await _insert_deal_at(owner_conn, admin, "won", batch_id, "won")
        # The running batch's own row at an open step: allowed, and said so.
        await _insert_deal_at(owner_conn, admin, "proposal", batch_id)
    reason = await owner_conn.fetchval(
        "SELECT reason FROM workflow_history WHERE tenant_id = $1 AND entity_type = 'deal'",
        admin.tenant_id,
    )
    assert reason == "import"
