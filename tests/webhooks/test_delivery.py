"""Delivery to a real receiver on 127.0.0.1 (`tests.webhooks.receiver`), by the pump
the worker runs (`baton.webhooks.delivery.pump`): signatures, retries and their
schedule, disabling, tenants kept apart, two pumps at once. Time passes by moving
the rows' timestamps, never a fake clock."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from baton.config import Settings
from baton.core.ids import uuid7
from baton.db.engine import Database
from baton.webhooks import signing
from baton.webhooks.delivery import (
    BATCH,
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    Batch,
    Lanes,
    PumpReport,
    claim,
    dispatch,
    pump,
    record,
    send_batch,
)
from tests.conftest import make_settings
from tests.factories import register_tenant
from tests.webhooks.receiver import receiving
from tests.webhooks.support import add_endpoint, deliveries_of, emit_one, make_due


async def test_a_delivery_is_signed_the_standard_webhooks_way(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    async with receiving(200) as receiver:
        endpoint = await add_endpoint(client, admin, receiver.url)
        event_id = await emit_one(database, settings, admin, data={"rows": 7})
        report = await pump(database, settings)
        assert report.delivered >= 1
    [got] = [r for r in receiver.received if r.headers["webhook-id"] == str(event_id)]
    assert signing.verify(
        endpoint["secret"],
        got.headers["webhook-id"],
        got.headers["webhook-timestamp"],
        got.body,
        got.headers["webhook-signature"],
    )
    # A wrong secret does not verify: the check can fail.
    assert not signing.verify(
        signing.new_secret(),
        got.headers["webhook-id"],
        got.headers["webhook-timestamp"],
        got.body,
        got.headers["webhook-signature"],
    )
    body = json.loads(got.body)
    assert body == {
        "id": str(event_id),
        "type": "import.completed",
        "created_at": body["created_at"],
        "tenant_id": str(admin.tenant_id),
        "data": {"rows": 7},
    }
    assert abs(int(got.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60
    [delivery] = await deliveries_of(owner_conn, endpoint["id"])
    assert delivery["status"] == "delivered"
    assert delivery["response_status"] == 200
    assert delivery["response_excerpt"] == "ok"
    assert delivery["latency_ms"] is not None
    assert delivery["attempts"] == 1


async def test_500_then_200_is_delivered_on_the_retry_with_the_same_id(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    async with receiving(500, 200) as receiver:
        endpoint = await add_endpoint(client, admin, receiver.url)
        event_id = await emit_one(database, settings, admin)
        await pump(database, settings)
        [delivery] = await deliveries_of(owner_conn, endpoint["id"])
        assert delivery["status"] == "pending"
        assert delivery["response_status"] == 500
        assert delivery["response_excerpt"] == "receiver says no"
        wait = delivery["next_attempt_at"] - delivery["last_attempt_at"]
        assert abs(wait - RETRY_DELAYS[0]) < timedelta(seconds=2)
        # Not due yet: a pump now sends nothing.
        await pump(database, settings)
        assert len(receiver.received) == 1
        await make_due(owner_conn, endpoint["id"])
        await pump(database, settings)
    assert [r.headers["webhook-id"] for r in receiver.received] == [str(event_id)] * 2
    [delivery] = await deliveries_of(owner_conn, endpoint["id"])
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 2
    failing_since = await owner_conn.fetchval(
        "SELECT failing_since FROM webhook_endpoints WHERE id = $1", uuid.UUID(endpoint["id"])
    )
    assert failing_since is None  # the success cleared it


async def test_a_receiver_that_never_answers_follows_the_schedule_and_is_disabled(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    quick = make_settings(settings, webhook_timeout_seconds=0.3)
    async with receiving(None) as receiver:
        endpoint = await add_endpoint(client, admin, receiver.url)
        endpoint_id = uuid.UUID(endpoint["id"])
        await emit_one(database, settings, admin)
        waits = []
        for attempt in range(1, MAX_ATTEMPTS + 1):
            await pump(database, quick)
            [delivery] = await deliveries_of(owner_conn, endpoint["id"])
            assert delivery["attempts"] == attempt
            assert delivery["error"] == "Timed out"
            waits.append(delivery["next_attempt_at"] - delivery["last_attempt_at"])
            if attempt < MAX_ATTEMPTS:
                assert delivery["status"] == "pending"
                await make_due(owner_conn, endpoint["id"])
        assert delivery["status"] == "failed"  # the schedule is over: no more attempts
        for wait, expected in zip(waits, RETRY_DELAYS, strict=False):
            assert abs(wait - expected) < timedelta(seconds=2)
        assert sum(RETRY_DELAYS, timedelta()) >= timedelta(hours=24)
        enabled = await owner_conn.fetchval(
            "SELECT enabled FROM webhook_endpoints WHERE id = $1", endpoint_id
        )
        assert enabled  # failing, but not yet for 3 days

        # Three days of failures: the next failure disables it and tells the admins.
        await owner_conn.execute(
            "UPDATE webhook_endpoints SET failing_since = now() - interval '3 days 1 minute'"
            " WHERE id = $1",
            endpoint_id,
        )
        await emit_one(database, settings, admin)
        await emit_one(database, settings, admin)
        await pump(database, quick)
    row = await owner_conn.fetchrow(
        "SELECT enabled, disabled_reason FROM webhook_endpoints WHERE id = $1", endpoint_id
    )
    assert row is not None
    assert not row["enabled"]
    assert "3 days" in row["disabled_reason"]
    statuses = [d["status"] for d in await deliveries_of(owner_conn, endpoint["id"])]
    assert "pending" not in statuses
    assert "delivering" not in statuses
    notices = await owner_conn.fetch(
        "SELECT message FROM notifications WHERE tenant_id = $1 AND user_id = $2",
        admin.tenant_id,
        admin.user_id,
    )
    assert any(receiver.url in n["message"] and "disabled" in n["message"] for n in notices)


async def test_an_event_of_one_tenant_never_reaches_another_tenants_endpoint(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    first = await register_tenant(client)
    second = await register_tenant(client)
    async with receiving(200) as a, receiving(200) as b:
        await add_endpoint(client, first, a.url)
        await add_endpoint(client, second, b.url)
        first_event = await emit_one(database, settings, first)
        second_event = await emit_one(database, settings, second)
        await pump(database, settings)
    assert [json.loads(r.body)["id"] for r in a.received] == [str(first_event)]
    assert [json.loads(r.body)["id"] for r in b.received] == [str(second_event)]
    assert json.loads(a.received[0].body)["tenant_id"] == str(first.tenant_id)


async def test_only_subscribed_events_are_sent(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    async with receiving(200) as receiver:
        await add_endpoint(client, admin, receiver.url, ["deal.moved"])
        await emit_one(database, settings, admin, "import.completed")
        await pump(database, settings)
    assert receiver.received == []
    left = await owner_conn.fetchval(
        "SELECT count(*) FROM outbox_events WHERE tenant_id = $1 AND dispatched_at IS NULL",
        admin.tenant_id,
    )
    assert left == 0  # looked at, and nobody wanted it


async def test_two_pumps_at_once_never_send_the_same_attempt_twice(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    async with receiving(200) as receiver:
        await add_endpoint(client, admin, receiver.url)
        await add_endpoint(client, admin, receiver.url)
        events = [await emit_one(database, settings, admin) for _ in range(60)]
        first, second = await asyncio.gather(pump(database, settings), pump(database, settings))
    assert first.delivered + second.delivered == 120
    sent = [(r.headers["webhook-id"], r.headers["webhook-signature"]) for r in receiver.received]
    ids = [webhook_id for webhook_id, _ in sent]
    assert sorted(set(ids)) == sorted(str(e) for e in events)
    assert len(ids) == 120  # each event once per endpoint, never twice
    assert len(set(sent)) == 120


async def test_a_private_address_is_refused_unless_allowed(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    strict = make_settings(settings, webhook_allow_private=False)
    async with receiving(200) as receiver:
        endpoint = await add_endpoint(client, admin, receiver.url)
        await emit_one(database, settings, admin)
        await pump(database, strict)
        [delivery] = await deliveries_of(owner_conn, endpoint["id"])
        assert receiver.received == []
        assert delivery["status"] == "pending"
        assert delivery["error"].startswith("Refused: 127.0.0.1 is a private")
        await make_due(owner_conn, endpoint["id"])
        await pump(database, settings)
    assert len(receiver.received) == 1


async def test_a_redirect_is_an_answer_not_followed(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    async with receiving(302) as receiver:
        endpoint = await add_endpoint(client, admin, receiver.url)
        await emit_one(database, settings, admin)
        report = await pump(database, settings)
    assert report.delivered == 0
    assert len(receiver.received) == 1  # one POST, nothing after the 302
    [delivery] = await deliveries_of(owner_conn, endpoint["id"])
    assert delivery["status"] == "pending"  # tried again later, as any failure
    assert delivery["response_status"] == 302
    assert delivery["error"] == "HTTP 302"


async def test_a_backlog_of_several_batches_is_delivered_once_each_in_one_pump(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    count = BATCH * 2 + 50  # three claims, the later ones while the earlier are sent
    async with receiving(200) as receiver:
        receiver_endpoint = await add_endpoint(client, admin, receiver.url)
        await owner_conn.executemany(
            "INSERT INTO outbox_events (tenant_id, id, type, data) VALUES ($1, $2, $3, $4)",
            [
                (admin.tenant_id, uuid7(), "import.completed", json.dumps({"rows": n}))
                for n in range(count)
            ],
        )
        report = await pump(database, settings)
    assert report.dispatched == count
    assert report.delivered == count
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == count
    rows = await deliveries_of(owner_conn, receiver_endpoint["id"])
    assert {r["status"] for r in rows} == {"delivered"}
    assert {r["attempts"] for r in rows} == {1}


async def test_an_attempt_too_close_to_its_leases_end_is_not_sent_nor_counted(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    async with receiving(200) as receiver:
        endpoint = await add_endpoint(client, admin, receiver.url)
        await emit_one(database, settings, admin)
        await dispatch(database, settings, admin.tenant_id)
        leased = await claim(database, settings, admin.tenant_id)
        assert len(leased.items) == 1
        # As if the claim had been made a lease ago: no time left to send it safely.
        late = Batch(leased.items, time.monotonic())
        lanes = Lanes()
        try:
            outcomes = await send_batch(settings, lanes, admin.tenant_id, late)
        finally:
            await lanes.aclose()
        assert [o.released for o in outcomes] == [True]
        await record(database, settings, admin.tenant_id, late.items, outcomes, PumpReport())
        assert receiver.received == []
        [delivery] = await deliveries_of(owner_conn, endpoint["id"])
        assert delivery["status"] == "pending"
        assert delivery["attempts"] == 0  # not an attempt: the schedule is untouched
        assert delivery["next_attempt_at"] <= datetime.now(UTC)
        report = await pump(database, settings)
    assert report.delivered == 1
    assert len(receiver.received) == 1
    [delivery] = await deliveries_of(owner_conn, endpoint["id"])
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 1
