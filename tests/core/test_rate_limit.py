"""Persistent rate limits: login back-off per account and address, per-token API budget."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from baton.app import create_app
from baton.config import Settings
from baton.core import rate_limit
from baton.core.rate_limit import BACKOFF_CAP_SECONDS, backoff_seconds
from baton.db.engine import Database
from baton.db.urls import app_url
from tests.conftest import make_settings, random_address
from tests.factories import PASSWORD, register_tenant


def _client(app: Any, address: str | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address or random_address(), 1))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _fresh_app(settings: Settings) -> tuple[Any, Database]:
    """A new app with its own engine: what a restarted (or another) process has."""
    db = Database(app_url(settings), pool_size=2, max_overflow=2)
    return create_app(settings, db), db


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_seconds(n) for n in range(4)] == [30, 60, 120, 240]
    assert backoff_seconds(50) == BACKOFF_CAP_SECONDS


async def test_login_lockout_survives_a_restart(
    client: httpx.AsyncClient, settings: Settings, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    address = random_address()
    first_app, first_db = _fresh_app(settings)
    async with _client(first_app, address) as http:
        for attempt in range(settings.login_max_failures):
            wrong = await http.post(
                "/api/v1/auth/login", json={"email": admin.email, "password": "nope-nope"}
            )
            assert wrong.status_code == 401, attempt
        locked = await http.post(
            "/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD}
        )
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["retry-after"]) <= 30
    await first_db.dispose()

    restarted_app, restarted_db = _fresh_app(settings)
    async with _client(restarted_app) as http:  # another address: the account is still locked
        still = await http.post(
            "/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD}
        )
        assert still.status_code == 429
        assert still.headers["content-type"] == "application/problem+json"
    await restarted_db.dispose()
    hits = await owner_conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE event = 'rate_limit.hit' AND details->>'email' = $1",
        admin.email,
    )
    assert hits == 2

    # Once the block ends, the right password works and clears the account's count.
    await owner_conn.execute(
        "UPDATE rate_limit_buckets SET blocked_until = now() - interval '1 second' WHERE key = $1",
        f"login:account:{admin.email}",
    )
    ok = await client.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert ok.status_code == 200
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM rate_limit_buckets WHERE key = $1",
            f"login:account:{admin.email}",
        )
        == 0
    )


async def test_one_address_guessing_many_accounts_is_blocked(app: Any, settings: Settings) -> None:
    address = random_address()
    async with _client(app, address) as http:
        statuses = []
        for n in range(settings.login_max_failures * 4 + 1):
            response = await http.post(
                "/api/v1/auth/login",
                json={"email": f"guess-{n}@example.com", "password": "whatever"},
            )
            statuses.append(response.status_code)
    assert statuses[:-1] == [401] * (settings.login_max_failures * 4)
    assert statuses[-1] == 429


async def _wait_for_fresh_minute() -> None:
    # The API budget is a fixed one-minute window: don't straddle its edge.
    if datetime.now(UTC).second >= 55:
        await asyncio.sleep(61 - datetime.now(UTC).second)


async def test_api_budget_per_token_is_shared_and_persistent(
    client: httpx.AsyncClient, settings: Settings, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    limited = make_settings(settings, api_rate_per_minute=3)
    await _wait_for_fresh_minute()
    app_one, db_one = _fresh_app(limited)
    app_two, db_two = _fresh_app(limited)
    try:
        async with _client(app_one) as one, _client(app_two) as two:
            # Two processes share one budget.
            assert (await one.get("/api/v1/me", headers=admin.headers)).status_code == 200
            assert (await two.get("/api/v1/me", headers=admin.headers)).status_code == 200
            assert (await one.get("/api/v1/me", headers=admin.headers)).status_code == 200
            refused = await two.get("/api/v1/me", headers=admin.headers)
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["retry-after"]) <= 60
    finally:
        await db_one.dispose()
        await db_two.dispose()
    restarted, restarted_db = _fresh_app(limited)
    try:
        async with _client(restarted) as http:
            again = await http.get("/api/v1/me", headers=admin.headers)
            assert again.status_code == 429
    finally:
        await restarted_db.dispose()
    audited = await owner_conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND event = 'rate_limit.hit'"
        " AND details->>'scope' = 'api' AND details->>'claimed_tenant' = $1::text",
        admin.tenant_id,
    )
    # The token was valid: the refusals are in its organization's log.
    assert audited == 2


async def test_over_budget_wins_over_a_revoked_token(
    client: httpx.AsyncClient, settings: Settings, owner_conn: asyncpg.Connection
) -> None:
    """Counting overlaps authentication, yet a spent budget answers 429 even when the
    credential is no longer valid, and the event then goes to no tenant's log."""
    admin = await register_tenant(client)
    limited = make_settings(settings, api_rate_per_minute=2)
    await _wait_for_fresh_minute()
    app, db = _fresh_app(limited)
    try:
        async with _client(app) as http:
            assert (await http.get("/api/v1/me", headers=admin.headers)).status_code == 200
            logout = await http.post("/api/v1/auth/logout", headers=admin.headers)
            assert logout.status_code == 204
            # Within budget a revoked token is 401; past it, 429 comes first.
            refused = await http.get("/api/v1/me", headers=admin.headers)
            assert refused.status_code == 429, refused.text
    finally:
        await db.dispose()
    audited = await owner_conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE tenant_id IS NULL AND event = 'rate_limit.hit'"
        " AND details->>'claimed_tenant' = $1",
        str(admin.tenant_id),
    )
    assert audited == 1


async def test_failure_window_resets_after_it_passes(
    owner_conn: asyncpg.Connection, settings: Settings
) -> None:
    db = Database(app_url(settings), pool_size=1, max_overflow=0)
    key = f"login:account:window-{random_address()}"
    policy = rate_limit.FailurePolicy(max_failures=3, window_seconds=60)
    try:
        assert await rate_limit.record_failure(db.engine, key, policy) is None
        assert await rate_limit.record_failure(db.engine, key, policy) is None
        await owner_conn.execute(
            "UPDATE rate_limit_buckets SET window_started_at = now() - interval '2 minutes'"
            " WHERE key = $1",
            key,
        )
        # The old failures fell out of the window: this is failure 1 again, no block.
        assert await rate_limit.record_failure(db.engine, key, policy) is None
        assert await rate_limit.blocked_for(db.engine, [key]) is None
    finally:
        await db.dispose()


async def test_refusals_need_no_second_connection(
    settings: Settings, owner_conn: asyncpg.Connection
) -> None:
    """With a one-connection pool, refused requests still answer and leave their trace:
    their audit rows and failure counts are written after the request's own
    transaction has ended, never on a second connection held alongside it."""
    db = Database(app_url(settings), pool_size=1, max_overflow=0)
    try:
        async with _client(create_app(settings, db)) as http:
            admin = await register_tenant(http)
            sales = (
                await http.post(
                    "/api/v1/users",
                    headers=admin.headers,
                    json={
                        "email": f"{admin.email}.sales",
                        "full_name": "S",
                        "role": "sales",
                        "password": PASSWORD,
                    },
                )
            ).json()
            wrong = await asyncio.wait_for(
                http.post(
                    "/api/v1/auth/login", json={"email": admin.email, "password": "no-no-no"}
                ),
                timeout=10,
            )
            assert wrong.status_code == 401
            token = (
                await http.post(
                    "/api/v1/auth/login", json={"email": sales["email"], "password": PASSWORD}
                )
            ).json()["access_token"]
            denied = await asyncio.wait_for(
                http.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"}),
                timeout=10,
            )
            assert denied.status_code == 403
    finally:
        await db.dispose()
    events = await owner_conn.fetch(
        "SELECT event FROM audit_log WHERE (details->>'email' = $1 AND event = 'login.failed')"
        " OR (tenant_id = $2 AND event = 'permission.denied')",
        admin.email,
        admin.tenant_id,
    )
    assert sorted(e["event"] for e in events) == ["login.failed", "permission.denied"]
