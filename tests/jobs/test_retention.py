"""The retention sweep: only expired rows go, in batches, each exactly once even with
two sweeps at once (a deterministic interleaving and a real race), and a second
sweep deletes nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from baton.config import Settings
from baton.db.engine import Database
from baton.db.urls import app_url, libpq_dsn
from baton.jobs.retention import sweep
from tests.factories import Member, login, register_tenant, unique
from tests.webhooks.support import add_endpoint, emit_one

EXPIRED_KEYS = 7


async def _idempotency_keys(owner_conn: asyncpg.Connection, member: Member) -> list[str]:
    """`EXPIRED_KEYS` expired keys and two live ones; answers the live keys."""
    now = datetime.now(UTC)
    rows = [(f"expired-{i}", now - timedelta(minutes=1 + i)) for i in range(EXPIRED_KEYS)] + [
        (f"live-{i}", now + timedelta(hours=1)) for i in range(2)
    ]
    await owner_conn.executemany(
        "INSERT INTO idempotency_keys (tenant_id, user_id, key, request_hash,"
        " response_status, response_headers, response_body, expires_at)"
        " VALUES ($1, $2, $3, '\\x00', 200, '{}', '\\x00', $4)",
        [(member.tenant_id, member.user_id, key, at) for key, at in rows],
    )
    return ["live-0", "live-1"]


async def _keys_of(owner_conn: asyncpg.Connection, member: Member) -> list[str]:
    rows = await owner_conn.fetch(
        "SELECT key FROM idempotency_keys WHERE tenant_id = $1 ORDER BY key", member.tenant_id
    )
    return [r["key"] for r in rows]


async def test_the_sweep_deletes_only_expired_rows_in_batches(
    client: httpx.AsyncClient, database: Database, owner_conn: asyncpg.Connection
) -> None:
    await sweep(database)  # what earlier tests left expired
    admin = await register_tenant(client)
    live_keys = await _idempotency_keys(owner_conn, admin)
    # Four bearer tokens; two expire.
    signed_in = [await login(client, admin.email) for _ in range(3)]
    tokens = await owner_conn.fetch(
        "SELECT id FROM access_tokens WHERE tenant_id = $1 ORDER BY id", admin.tenant_id
    )
    assert len(tokens) == 4
    expired_tokens = [tokens[0]["id"], tokens[1]["id"]]
    await owner_conn.execute(
        "UPDATE access_tokens SET expires_at = now() - interval '1 minute' WHERE id = ANY($1)",
        expired_tokens,
    )
    prefix = unique("retention")
    await owner_conn.execute(
        "INSERT INTO rate_limit_buckets (key, window_started_at, hits, blocked_until, updated_at)"
        " VALUES ($1 || ':stale', now() - interval '2 days', 1, NULL, now() - interval '2 days'),"
        " ($1 || ':blocked', now() - interval '2 days', 9, now() + interval '1 minute',"
        "  now() - interval '2 days'),"
        " ($1 || ':fresh', now(), 1, NULL, now())",
        prefix,
    )
    gone_job = 2**62 + uuid.uuid4().int % 2**40
    await owner_conn.execute(
        "INSERT INTO job_errors (tenant_id, job_id, attempt, error) VALUES ($1, $2, 1, 'x')",
        admin.tenant_id,
        gone_job,
    )

    report = await sweep(database, batch_size=2)

    assert report.deleted["idempotency_keys"] == EXPIRED_KEYS
    assert report.deleted["access_tokens"] == 2
    assert report.deleted["rate_limit_buckets"] == 1
    assert report.deleted["job_errors"] == 1
    # 7 keys in batches of 2: four statements; two for the tokens (the second
    # finds none); one each for the buckets, the job errors, the audit rows, the
    # webhook deliveries, the events, the invitations and the bulk runs.
    assert report.batches == 4 + 2 + 1 + 1 + 1 + 1 + 1 + 1 + 1
    assert await _keys_of(owner_conn, admin) == live_keys
    left = await owner_conn.fetch(
        "SELECT id FROM access_tokens WHERE tenant_id = $1 ORDER BY id", admin.tenant_id
    )
    assert [r["id"] for r in left] == [tokens[2]["id"], tokens[3]["id"]]
    buckets = await owner_conn.fetch(
        "SELECT key FROM rate_limit_buckets WHERE key LIKE $1 || ':%' ORDER BY key", prefix
    )
    assert [r["key"] for r in buckets] == [f"{prefix}:blocked", f"{prefix}:fresh"]
    # A live token still works.
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {signed_in[-1]}"})
    assert me.status_code == 200

    again = await sweep(database, batch_size=2)
    assert again.total == 0


async def test_two_sweeps_at_once_delete_each_row_once(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
    app_conn: asyncpg.Connection,
) -> None:
    await sweep(database)
    admin = await register_tenant(client)
    live_keys = await _idempotency_keys(owner_conn, admin)

    # Deterministic interleaving: the first sweep's batch holds three rows, uncommitted;
    # the second, meanwhile, takes the rest without waiting for it.
    other = await asyncpg.connect(libpq_dsn(app_url(settings)))
    try:
        first = app_conn.transaction()
        await first.start()
        held = await app_conn.fetchval("SELECT baton_retention_sweep('idempotency_keys', 3)")
        assert held == 3
        await other.execute("SET lock_timeout = '2s'")
        rest = await other.fetchval("SELECT baton_retention_sweep('idempotency_keys', 100)")
        assert rest == EXPIRED_KEYS - 3
        await first.commit()
    finally:
        await other.close()
    assert await _keys_of(owner_conn, admin) == live_keys

    # And a real race: two sweeps in small batches, together, delete each row once.
    await _idempotency_keys_again(owner_conn, admin)
    reports = await asyncio.gather(sweep(database, batch_size=2), sweep(database, batch_size=2))
    assert sum(r.deleted["idempotency_keys"] for r in reports) == EXPIRED_KEYS
    assert await _keys_of(owner_conn, admin) == live_keys


async def _idempotency_keys_again(owner_conn: asyncpg.Connection, member: Member) -> None:
    now = datetime.now(UTC)
    await owner_conn.executemany(
        "INSERT INTO idempotency_keys (tenant_id, user_id, key, request_hash,"
        " response_status, response_headers, response_body, expires_at)"
        " VALUES ($1, $2, $3, '\\x00', 200, '{}', '\\x00', $4)",
        [
            (member.tenant_id, member.user_id, f"again-{i}", now - timedelta(minutes=1))
            for i in range(EXPIRED_KEYS)
        ],
    )


async def test_the_webhook_log_expires_but_never_the_queue(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    await sweep(database)
    admin = await register_tenant(client)
    endpoint = await add_endpoint(client, admin, "http://127.0.0.1:9/hook")
    names = ("delivered", "failed", "pending", "recent", "undelivered", "undispatched")
    events = {name: await emit_one(database, settings, admin) for name in names}
    old = "now() - interval '31 days'"
    await owner_conn.execute(
        f"UPDATE outbox_events SET dispatched_at = CASE WHEN id = $2 THEN now() ELSE {old} END"
        " WHERE id = ANY($1)",
        [events[n] for n in names if n != "undispatched"],
        events["recent"],
    )
    await owner_conn.execute(
        f"UPDATE outbox_events SET created_at = {old} WHERE id = $1", events["undispatched"]
    )
    for name, status, created in (
        ("delivered", "delivered", old),
        ("failed", "failed", old),
        # Still the queue, however old: an endpoint that has been down for a month.
        ("pending", "pending", old),
        ("recent", "delivered", "now()"),
    ):
        await owner_conn.execute(
            "INSERT INTO webhook_deliveries"
            " (id, tenant_id, endpoint_id, event_id, status, created_at)"
            f" VALUES (gen_random_uuid(), $1, $2, $3, $4, {created})",
            admin.tenant_id,
            uuid.UUID(endpoint["id"]),
            events[name],
            status,
        )

    report = await sweep(database, batch_size=2)

    assert report.deleted["webhook_deliveries"] == 2
    assert report.deleted["outbox_events"] == 3
    deliveries = await owner_conn.fetch(
        "SELECT event_id FROM webhook_deliveries WHERE endpoint_id = $1",
        uuid.UUID(endpoint["id"]),
    )
    assert sorted(r["event_id"] for r in deliveries) == sorted(
        [events["pending"], events["recent"]]
    )
    left = await owner_conn.fetch(
        "SELECT id FROM outbox_events WHERE id = ANY($1)", list(events.values())
    )
    assert sorted(r["id"] for r in left) == sorted(
        events[n] for n in ("pending", "recent", "undispatched")
    )
    again = await sweep(database)
    assert again.total == 0


async def test_spent_invitations_and_finished_bulk_runs_expire_after_30_days(
    client: httpx.AsyncClient, database: Database, owner_conn: asyncpg.Connection
) -> None:
    await sweep(database)
    admin = await register_tenant(client)
    names = ("pending", "accepted", "revoked", "expired", "recently_accepted", "recently_expired")
    invitations = {}
    for name in names:
        invited = await client.post(
            "/api/v1/invitations",
            headers=admin.headers,
            json={"email": f"{unique(name)}@example.com", "full_name": name, "role": "sales"},
        )
        assert invited.status_code == 201, invited.text
        invitations[name] = uuid.UUID(invited.json()["id"])
    old, recent = "now() - interval '31 days'", "now() - interval '5 days'"
    for name, change in (
        # A pending link created long ago but still valid stays.
        ("pending", "created_at = now() - interval '40 days'"),
        ("accepted", f"accepted_at = {old}, accepted_user_id = $2"),
        ("revoked", f"revoked_at = {old}"),
        ("expired", f"expires_at = {old}"),
        ("recently_accepted", f"accepted_at = {recent}, accepted_user_id = $2"),
        ("recently_expired", f"expires_at = {recent}"),
    ):
        arguments = [invitations[name]] + ([admin.user_id] if "$2" in change else [])
        await owner_conn.execute(f"UPDATE invitations SET {change} WHERE id = $1", *arguments)
    runs = {}
    for name, status, finished in (
        ("finished_long_ago", "completed", old),
        ("finished_recently", "completed", recent),
        # Still running, however old: its job is not done with it.
        ("running", "running", None),
    ):
        runs[name] = await owner_conn.fetchval(
            "INSERT INTO bulk_runs (tenant_id, id, entity, action, parameters, ids, rows_total,"
            " rows_done, status, created_by, created_at, finished_at)"
            " VALUES ($1, gen_random_uuid(), 'deals', 'delete', '{}', ARRAY[gen_random_uuid()],"
            f" 1, $2, $3, $4, now() - interval '60 days', {finished or 'NULL'}) RETURNING id",
            admin.tenant_id,
            1 if status == "completed" else 0,
            status,
            admin.user_id,
        )

    report = await sweep(database, batch_size=2)

    assert report.deleted["invitations"] == 3
    assert report.deleted["bulk_runs"] == 1
    left = await owner_conn.fetch(
        "SELECT full_name FROM invitations WHERE tenant_id = $1", admin.tenant_id
    )
    assert sorted(r["full_name"] for r in left) == [
        "pending",
        "recently_accepted",
        "recently_expired",
    ]
    kept = await owner_conn.fetch(
        "SELECT id FROM bulk_runs WHERE id = ANY($1)", list(runs.values())
    )
    assert sorted(r["id"] for r in kept) == sorted([runs["finished_recently"], runs["running"]])
    again = await sweep(database)
    assert again.total == 0
