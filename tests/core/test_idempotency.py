"""Idempotency-Key: replay, conflicting reuse, concurrent duplicate, expiry."""

from __future__ import annotations

import asyncpg
import httpx

from tests.factories import PASSWORD, Member, register_tenant


async def _key_count(owner_conn: asyncpg.Connection, admin: Member) -> int:
    return int(
        await owner_conn.fetchval(
            "SELECT count(*) FROM api_keys WHERE tenant_id = $1", admin.tenant_id
        )
    )


async def test_replay_returns_the_first_answer_byte_for_byte(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    headers = {**admin.headers, "Idempotency-Key": "invite-1"}
    invite = {
        "email": "once@example.com",
        "full_name": "Once",
        "role": "sales",
        "password": PASSWORD,
    }
    first = await client.post("/api/v1/users", headers=headers, json=invite)
    second = await client.post("/api/v1/users", headers=headers, json=invite)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    members = await owner_conn.fetchval(
        "SELECT count(*) FROM memberships WHERE tenant_id = $1", admin.tenant_id
    )
    assert members == 2


async def test_answers_holding_a_secret_are_never_stored(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    headers = {**admin.headers, "Idempotency-Key": "create-key-1"}
    first = await client.post("/api/v1/api-keys", headers=headers, json={"name": "once"})
    assert first.status_code == 201
    assert first.headers["cache-control"] == "no-store"
    stored = await owner_conn.fetchval(
        "SELECT response_body FROM idempotency_keys WHERE tenant_id = $1", admin.tenant_id
    )
    assert first.json()["key"].encode() not in stored
    second = await client.post("/api/v1/api-keys", headers=headers, json={"name": "once"})
    assert second.status_code == 409
    assert "shown only once" in second.json()["detail"]
    assert await _key_count(owner_conn, admin) == 1


async def test_same_key_with_another_body_is_422(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    headers = {**admin.headers, "Idempotency-Key": "k-2"}
    assert (
        await client.post("/api/v1/api-keys", headers=headers, json={"name": "a"})
    ).status_code == 201
    other = await client.post("/api/v1/api-keys", headers=headers, json={"name": "b"})
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "idempotency-key"
    assert await _key_count(owner_conn, admin) == 1


async def test_keys_belong_to_one_user(client: httpx.AsyncClient) -> None:
    first = await register_tenant(client)
    second = await register_tenant(client)
    for member in (first, second):
        response = await client.post(
            "/api/v1/api-keys",
            headers={**member.headers, "Idempotency-Key": "shared-key"},
            json={"name": "n"},
        )
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers


async def test_concurrent_duplicate_is_409_while_the_first_is_in_flight(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """Deterministic interleaving: the first request's lock is held from another session."""
    admin = await register_tenant(client)
    lock_name = f"idem:{admin.tenant_id}:{admin.user_id}:in-flight"
    async with owner_conn.transaction():
        await owner_conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", lock_name)
        blocked = await client.post(
            "/api/v1/api-keys",
            headers={**admin.headers, "Idempotency-Key": "in-flight"},
            json={"name": "x"},
        )
        assert blocked.status_code == 409
        assert "in progress" in blocked.json()["detail"]
    after = await client.post(
        "/api/v1/api-keys",
        headers={**admin.headers, "Idempotency-Key": "in-flight"},
        json={"name": "x"},
    )
    assert after.status_code == 201
    assert await _key_count(owner_conn, admin) == 1


async def test_refused_requests_are_not_stored(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    headers = {**admin.headers, "Idempotency-Key": "retry-me"}
    refused = await client.post("/api/v1/api-keys", headers=headers, json={"name": ""})
    assert refused.status_code == 422
    fixed = await client.post("/api/v1/api-keys", headers=headers, json={"name": "fixed"})
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


async def test_expired_keys_run_again_and_are_cleaned_up(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, app_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    headers = {**admin.headers, "Idempotency-Key": "old"}
    await client.post("/api/v1/api-keys", headers=headers, json={"name": "old"})
    stored = await owner_conn.fetchrow(
        "SELECT created_at, expires_at FROM idempotency_keys WHERE tenant_id = $1", admin.tenant_id
    )
    assert (stored["expires_at"] - stored["created_at"]).total_seconds() == 24 * 3600
    await owner_conn.execute(
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE tenant_id = $1",
        admin.tenant_id,
    )
    again = await client.post("/api/v1/api-keys", headers=headers, json={"name": "old"})
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert await _key_count(owner_conn, admin) == 2
    await owner_conn.execute(
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE tenant_id = $1",
        admin.tenant_id,
    )
    removed = await app_conn.fetchval("SELECT baton_cleanup_expired()")
    assert removed >= 1
    left = await owner_conn.fetchval(
        "SELECT count(*) FROM idempotency_keys WHERE tenant_id = $1", admin.tenant_id
    )
    assert left == 0


async def test_malformed_keys_are_422(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    for key in ("x" * 256, "with space"):
        response = await client.post(
            "/api/v1/api-keys",
            headers={**admin.headers, "Idempotency-Key": key},
            json={"name": "n"},
        )
        assert response.status_code == 422, key
