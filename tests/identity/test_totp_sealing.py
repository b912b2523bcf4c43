"""Two-factor seeds sealed at rest (`baton.identity.sealing`): the stored column never
holds the base32 seed, sign-in with a code still works, a plaintext seed from before
is sealed at its first read, a rotated application secret still opens what the old one
sealed (and re-seals it), and a key the server lacks — or a value moved to another
row, or altered — fails closed with a clear error and no session."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from baton.app import create_app
from baton.config import Settings
from baton.db.engine import Database
from baton.identity import sealing, totp
from tests.conftest import make_settings, random_address
from tests.factories import PASSWORD, Member, register_tenant


@asynccontextmanager
async def _client_with(
    settings: Settings, database: Database, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same database through an app with other settings."""
    app = create_app(make_settings(settings, **overrides), database)
    transport = httpx.ASGITransport(
        app=app, client=(random_address(), 40000), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _enable(client: httpx.AsyncClient, member: Member) -> str:
    began = await client.post("/api/v1/me/totp", headers=member.headers)
    assert began.status_code == 200, began.text
    secret: str = began.json()["secret"]
    confirmed = await client.post(
        "/api/v1/me/totp/confirm",
        headers=member.headers,
        json={"code": totp.code_at(secret, totp.current_step())},
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret


async def _stored(owner_conn: asyncpg.Connection, member: Member) -> str:
    value: str = await owner_conn.fetchval(
        "SELECT totp_secret FROM users WHERE id = $1", member.user_id
    )
    return value


async def _login(client: httpx.AsyncClient, member: Member, step_offset: int) -> httpx.Response:
    code = totp.code_at(SECRETS[member.user_id], totp.current_step() + step_offset)
    return await client.post(
        "/api/v1/auth/login",
        json={"email": member.email, "password": PASSWORD, "totp_code": code},
    )


SECRETS: dict[uuid.UUID, str] = {}


async def _member_with_totp(client: httpx.AsyncClient) -> Member:
    admin = await register_tenant(client)
    SECRETS[admin.user_id] = await _enable(client, admin)
    return admin


async def test_the_stored_column_never_holds_the_seed_and_sign_in_works(
    client: httpx.AsyncClient, settings: Settings, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    began = await client.post("/api/v1/me/totp", headers=admin.headers)
    secret = began.json()["secret"]
    pending = await _stored(owner_conn, admin)
    assert secret not in pending
    assert pending.startswith("v1.")
    SECRETS[admin.user_id] = secret
    confirmed = await client.post(
        "/api/v1/me/totp/confirm",
        headers=admin.headers,
        json={"code": totp.code_at(secret, totp.current_step())},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert await _stored(owner_conn, admin) == pending
    assert (await _login(client, admin, 1)).status_code == 200
    stored = await _stored(owner_conn, admin)
    assert secret not in stored
    assert stored.startswith("v1.")
    keys = sealing.sealing_keys(settings.resolved_secret_key())
    assert sealing.unseal(keys, stored, row_id=admin.user_id.bytes) == secret
    # Two seals of one seed differ (a fresh nonce each time).
    assert sealing.seal(keys, secret, row_id=admin.user_id.bytes) != stored


async def test_a_plaintext_seed_from_before_is_sealed_at_its_first_read(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await _member_with_totp(client)
    secret = SECRETS[admin.user_id]
    await owner_conn.execute(
        "UPDATE users SET totp_secret = $2 WHERE id = $1", admin.user_id, secret
    )
    assert (await _login(client, admin, 1)).status_code == 200
    stored = await _stored(owner_conn, admin)
    assert stored.startswith("v1.")
    assert secret not in stored
    assert (await _login(client, admin, 0)).status_code == 401  # an older step: replay


async def test_a_rotated_secret_still_opens_and_reseals(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await _member_with_totp(client)
    old = await _stored(owner_conn, admin)
    new_key = "rotated-" + uuid.uuid4().hex * 2
    async with _client_with(
        settings,
        database,
        secret_key=new_key,
        previous_secret_keys=(settings.resolved_secret_key(),),
    ) as rotated:
        assert (await _login(rotated, admin, 1)).status_code == 200
    resealed = await _stored(owner_conn, admin)
    assert resealed != old
    assert resealed.split(".")[1] == sealing.sealing_keys(new_key).current_id
    assert old.split(".")[1] != sealing.sealing_keys(new_key).current_id


@pytest.mark.parametrize("fault", ["unknown key", "another row", "altered"])
async def test_what_this_server_cannot_open_fails_closed(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
    fault: str,
) -> None:
    admin = await _member_with_totp(client)
    stored = await _stored(owner_conn, admin)
    if fault == "unknown key":
        async with _client_with(settings, database, secret_key="x" * 40) as other:
            answer = await _login(other, admin, 1)
    else:
        if fault == "another row":
            victim = await _member_with_totp(client)
            # The admin's sealed seed copied onto another login: it does not open there.
            await owner_conn.execute(
                "UPDATE users SET totp_secret = $2 WHERE id = $1", victim.user_id, stored
            )
            SECRETS[victim.user_id] = SECRETS[admin.user_id]
            admin = victim
        else:
            flipped = stored[:-2] + ("A" if stored[-2] != "A" else "B") + stored[-1]
            await owner_conn.execute(
                "UPDATE users SET totp_secret = $2 WHERE id = $1", admin.user_id, flipped
            )
        answer = await _login(client, admin, 1)
    assert answer.status_code == 500
    problem = answer.json()
    assert problem["type"].endswith("/sealed-secret-unreadable")
    assert "Two-factor sign-in is unavailable" in problem["detail"]
    assert "set-cookie" not in answer.headers
    assert "token" not in problem


async def test_recovery_codes_are_stored_keyed_and_survive_a_rotated_secret(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    began = await client.post("/api/v1/me/totp", headers=admin.headers)
    secret = began.json()["secret"]
    confirmed = await client.post(
        "/api/v1/me/totp/confirm",
        headers=admin.headers,
        json={"code": totp.code_at(secret, totp.current_step())},
    )
    codes: list[str] = confirmed.json()["recovery_codes"]
    stored: list[str] = await owner_conn.fetchval(
        "SELECT totp_recovery_hashes FROM users WHERE id = $1", admin.user_id
    )
    # Keyed under the application secret: a copy of the database cannot be searched for
    # the codes (no stored value is a plain hash of one).
    keys = sealing.recovery_keys(settings.resolved_secret_key(), settings.previous_secret_keys)
    assert len(stored) == len(codes) == 10
    assert all(digest.startswith(f"h1.{keys.current_id}.") for digest in stored)
    plain = {hashlib.sha256(code.encode()).hexdigest() for code in codes}
    assert not plain & {digest.rsplit(".", 1)[-1] for digest in stored}

    def recover(code: str) -> dict[str, str]:
        return {"email": admin.email, "password": PASSWORD, "totp_code": code}

    # A server that lacks the secret the codes were keyed under matches none of them.
    async with _client_with(settings, database, secret_key="y" * 40) as other:
        assert (await other.post("/api/v1/auth/login", json=recover(codes[2]))).status_code == 401
    # After the secret is rotated, a code keyed under the previous one signs in, once.
    rotated_key = "rotated-" + uuid.uuid4().hex * 2
    async with _client_with(
        settings,
        database,
        secret_key=rotated_key,
        previous_secret_keys=(settings.resolved_secret_key(),),
    ) as rotated:
        assert (await rotated.post("/api/v1/auth/login", json=recover(codes[0]))).status_code == 200
        assert (await rotated.post("/api/v1/auth/login", json=recover(codes[0]))).status_code == 401
    # A plain SHA-256 digest from before keyed digests still signs in, once.
    await owner_conn.execute(
        "UPDATE users SET totp_recovery_hashes = $2 WHERE id = $1",
        admin.user_id,
        [hashlib.sha256(codes[1].encode()).hexdigest()],
    )
    assert (await client.post("/api/v1/auth/login", json=recover(codes[1]))).status_code == 200
    assert (await client.post("/api/v1/auth/login", json=recover(codes[1]))).status_code == 401
