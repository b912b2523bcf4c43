"""The outbox: each change writes its event with itself — the deal move from its own
statement, also on the driver's transaction — and a change that does not happen writes none."""

from __future__ import annotations

import json
import uuid

import asyncpg
import httpx
import pytest

from baton.config import Settings
from baton.db.engine import Database
from baton.webhooks.delivery import pump
from baton.webhooks.events import emit
from tests.deals.conftest import Org
from tests.deals.conftest import org as org  # the deals fixture
from tests.factories import register_tenant
from tests.jobs.support import unit_of_work
from tests.leads.conftest import make_org
from tests.webhooks.receiver import receiving
from tests.webhooks.support import add_endpoint


async def _events(owner_conn: asyncpg.Connection, tenant_id: uuid.UUID) -> list[tuple[str, str]]:
    rows = await owner_conn.fetch(
        "SELECT type, subject_id FROM outbox_events WHERE tenant_id = $1 ORDER BY id", tenant_id
    )
    return [(row["type"], str(row["subject_id"])) for row in rows]


async def test_create_move_and_close_write_their_events(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    moved = await org.move(client, deal, "discovery")  # on the driver: one statement
    assert moved.status_code == 200, moved.text
    deal = moved.json()["deal"]
    again = await org.move(
        client,
        deal,
        "proposal",
        idempotency_key=str(uuid.uuid4()),
        fields={"amount": "10.00", "expected_close_date": "2030-01-01"},
    )
    assert again.status_code == 200, again.text
    deal = again.json()["deal"]
    closed = await org.close(client, deal, outcome="lost", reason="price")
    assert closed.status_code == 200, closed.text
    assert await _events(owner_conn, org.admin.tenant_id) == [
        ("deal.created", deal["id"]),
        ("deal.moved", deal["id"]),
        ("deal.moved", deal["id"]),
        ("deal.closed", deal["id"]),
    ]


async def test_a_move_that_does_not_happen_writes_no_event(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    stale = await org.move(client, {**deal, "version": deal["version"] + 5}, "discovery")
    assert stale.status_code == 409
    refused = await org.move(client, deal, "won")  # closing is /close: 422
    assert refused.status_code == 422
    reorder = await org.move(client, deal, "prospecting")  # its own column: a reorder
    assert reorder.status_code == 200, reorder.text
    assert await _events(owner_conn, org.admin.tenant_id) == [("deal.created", deal["id"])]


async def test_a_rolled_back_change_emits_nothing(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with unit_of_work(database, settings, admin) as ctx:
            await emit(ctx, "import.completed", None, {"rows": 1})
            raise RuntimeError("changed my mind")
    assert await _events(owner_conn, admin.tenant_id) == []
    async with unit_of_work(database, settings, admin) as ctx:
        await emit(ctx, "import.completed", None, {"rows": 1})
    assert await _events(owner_conn, admin.tenant_id) == [("import.completed", "None")]


async def test_emit_refuses_an_unknown_type(
    client: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    admin = await register_tenant(client)
    async with unit_of_work(database, settings, admin) as ctx:
        with pytest.raises(ValueError, match="unknown event type"):
            await emit(ctx, "deal.exploded", None)


async def test_the_delivered_data_is_the_record_as_the_api_shows_it(
    client: httpx.AsyncClient, settings: Settings, database: Database, org: Org
) -> None:
    async with receiving(200) as receiver:
        await add_endpoint(client, org.admin, receiver.url, ["deal.moved"])
        deal = await org.create(client)
        moved = await org.move(client, deal, "discovery")
        assert moved.status_code == 200
        await pump(database, settings)
    [got] = receiver.received
    body = json.loads(got.body)
    assert body["type"] == "deal.moved"
    assert body["tenant_id"] == str(org.admin.tenant_id)
    shown = await client.get(f"/api/v1/deals/{deal['id']}", headers=org.admin.headers)
    assert body["data"] == shown.json()
    assert body["data"]["step"]["key"] == "discovery"


async def test_the_lead_journey_writes_its_events(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    org = await make_org(client)
    lead = await org.pooled(client)
    claimed = await org.action(client, lead, "claim")
    assert claimed.status_code == 200, claimed.text
    deal_id = claimed.json()["deal"]["id"]
    converted = await org.action(client, lead, "convert")
    assert converted.status_code == 200, converted.text
    assert await _events(owner_conn, org.admin.tenant_id) == [
        ("lead.created", lead["id"]),
        ("lead.qualified", lead["id"]),
        ("lead.claimed", lead["id"]),
        ("deal.created", deal_id),
        ("lead.converted", lead["id"]),
    ]


async def test_a_rejected_lead_writes_lead_rejected_and_a_refused_reject_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    org = await make_org(client)
    lead = await org.pooled(client)
    refused = await org.action(client, lead, "reject", json={"reason": "made_up"})
    assert refused.status_code == 422
    rejected = await org.action(
        client, lead, "reject", json={"reason": "invalid_contact", "notes": "Number is dead"}
    )
    assert rejected.status_code == 200, rejected.text
    events = await _events(owner_conn, org.admin.tenant_id)
    assert [e for e in events if e[0] == "lead.rejected"] == [("lead.rejected", lead["id"])]
