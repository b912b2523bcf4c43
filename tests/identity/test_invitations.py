"""One-time invitation links through the HTTP API: an admin invites by email and role,
the link is answered once (only its digest is stored), the invitee accepts it with a
password of their own (or the login they have) and is signed in with the invited
role; expired, used, revoked, replaced and unknown links are refused; the actions are
admins' only and stay inside their organization; each is a security event."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import asyncpg
import httpx

from baton.config import Settings
from tests.factories import PASSWORD, Member, add_member, register_tenant, unique

NEW_PASSWORD = "a-password-of-my-own"


async def _invite(
    client: httpx.AsyncClient, admin: Member, role: str = "sales", email: str | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/invitations",
        headers=admin.headers,
        json={
            "email": email or f"{unique('invitee')}@example.com",
            "full_name": "Ines Invitee",
            "role": role,
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


async def _accept(
    client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/invitations/accept", json={"token": token, "password": password, **extra}
    )


async def _events(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> list[str]:
    rows = await conn.fetch(
        "SELECT event FROM audit_log WHERE tenant_id = $1"
        " AND (event LIKE 'invitation.%' OR event = 'user.invited') ORDER BY id",
        tenant_id,
    )
    return [row["event"] for row in rows]


async def test_an_invitee_chooses_a_password_and_is_signed_in_with_the_invited_role(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    invitation = await _invite(client, admin, role="manager")
    assert invitation["status"] == "pending"
    assert invitation["accept_url"].endswith(f"/invitations/{invitation['token']}")
    # Only the link's digest is stored.
    stored = await owner_conn.fetchrow(
        "SELECT * FROM invitations WHERE id = $1", uuid.UUID(invitation["id"])
    )
    assert stored is not None
    assert bytes(stored["token_hash"]) == hashlib.sha256(invitation["token"].encode()).digest()
    assert invitation["token"] not in str(dict(stored))
    listed = await client.get("/api/v1/invitations", headers=admin.headers)
    assert [item["id"] for item in listed.json()["items"]] == [invitation["id"]]
    assert "token" not in listed.json()["items"][0]

    accepted = await _accept(client, invitation["token"], full_name="Ines I. Invitee")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["tenant"]["id"] == str(admin.tenant_id)
    headers = {"Authorization": f"Bearer {accepted.json()['access_token']}"}
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert me["role"] == "manager"
    assert me["user"]["email"] == invitation["email"]
    assert me["user"]["full_name"] == "Ines I. Invitee"
    # The password chosen signs in from now on.
    login = await client.post(
        "/api/v1/auth/login", json={"email": invitation["email"], "password": NEW_PASSWORD}
    )
    assert login.status_code == 200
    assert (await client.get("/api/v1/invitations", headers=admin.headers)).json()["items"] == []
    # Once.
    again = await _accept(client, invitation["token"])
    assert again.status_code == 410
    assert again.json()["detail"] == "This invitation was already used; sign in instead"
    assert await _events(owner_conn, admin.tenant_id) == ["user.invited", "invitation.accepted"]


async def test_an_expired_link_is_refused_and_a_new_one_voids_the_old(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    invitation = await _invite(client, admin)
    await owner_conn.execute(
        "UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(invitation["id"]),
    )
    expired = await _accept(client, invitation["token"])
    assert expired.status_code == 410
    assert "expired" in expired.json()["detail"]
    listed = (await client.get("/api/v1/invitations", headers=admin.headers)).json()["items"]
    assert [item["status"] for item in listed] == ["expired"]

    resent = await client.post(
        f"/api/v1/invitations/{invitation['id']}/resend", headers=admin.headers
    )
    assert resent.status_code == 200, resent.text
    assert resent.json()["status"] == "pending"
    assert resent.json()["token"] != invitation["token"]
    assert (await _accept(client, invitation["token"])).status_code == 404
    assert (await _accept(client, resent.json()["token"])).status_code == 200
    assert await _events(owner_conn, admin.tenant_id) == [
        "user.invited",
        "invitation.resent",
        "invitation.accepted",
    ]


async def test_a_revoked_invitation_is_refused(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    invitation = await _invite(client, admin)
    revoked = await client.delete(f"/api/v1/invitations/{invitation['id']}", headers=admin.headers)
    assert revoked.status_code == 204
    refused = await _accept(client, invitation["token"])
    assert refused.status_code == 410
    assert "withdrawn" in refused.json()["detail"]
    twice = await client.delete(f"/api/v1/invitations/{invitation['id']}", headers=admin.headers)
    assert twice.status_code == 409
    resend = await client.post(
        f"/api/v1/invitations/{invitation['id']}/resend", headers=admin.headers
    )
    assert resend.status_code == 409
    # The email may be invited again.
    await _invite(client, admin, email=invitation["email"])
    assert await _events(owner_conn, admin.tenant_id) == [
        "user.invited",
        "invitation.revoked",
        "user.invited",
    ]


async def test_unknown_and_malformed_tokens_are_404(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    invitation = await _invite(client, admin)
    forged = invitation["token"][:-4] + "AAAA"
    for token in (forged, "bai_nonsense", "bat_" + "0" * 32 + "_" + "x" * 40):
        refused = await _accept(client, token)
        assert refused.status_code == 404, token
        assert refused.headers["content-type"] == "application/problem+json"


async def test_a_weak_password_is_422_and_the_link_still_works(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    invitation = await _invite(client, admin)
    short = await _accept(client, invitation["token"], password="too-short")
    assert short.status_code == 422
    assert short.json()["errors"][0]["field"] == "password"
    common = await _accept(client, invitation["token"], password="password1234")
    assert common.status_code == 422
    assert "common" in common.json()["errors"][0]["message"]
    assert (await _accept(client, invitation["token"])).status_code == 200


async def test_an_existing_login_accepts_with_its_own_password(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    elsewhere = await register_tenant(client)
    admin = await register_tenant(client)
    invitation = await _invite(client, admin, role="viewer", email=elsewhere.email)
    wrong = await _accept(client, invitation["token"], password="not-the-password")
    assert wrong.status_code == 401
    accepted = await _accept(client, invitation["token"], password=PASSWORD, full_name="Mallory")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["tenant"]["id"] == str(admin.tenant_id)
    me = (
        await client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {accepted.json()['access_token']}"}
        )
    ).json()
    assert me["role"] == "viewer"
    # The login keeps its own name and password.
    assert me["user"]["full_name"] == "Ada Admin"
    count = await owner_conn.fetchval(
        "SELECT count(*) FROM users WHERE email = $1", elsewhere.email
    )
    assert count == 1
    # A member already is not invited again.
    again = await client.post(
        "/api/v1/invitations",
        headers=admin.headers,
        json={"email": elsewhere.email, "full_name": "Ada", "role": "sales"},
    )
    assert again.status_code == 409


async def test_a_pending_invitation_is_not_duplicated(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    invitation = await _invite(client, admin)
    duplicate = await client.post(
        "/api/v1/invitations",
        headers=admin.headers,
        json={"email": invitation["email"], "full_name": "Ines", "role": "sales"},
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["field"] == "email"


async def test_only_admins_invite_and_only_in_their_organization(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    manager = await add_member(client, admin, "manager")
    other = await register_tenant(client)
    invitation = await _invite(client, admin)
    body = {"email": f"{unique('x')}@example.com", "full_name": "X", "role": "sales"}
    assert (
        await client.post("/api/v1/invitations", headers=manager.headers, json=body)
    ).status_code == 403
    assert (await client.get("/api/v1/invitations", headers=manager.headers)).status_code == 403
    path = f"/api/v1/invitations/{invitation['id']}"
    assert (await client.delete(path, headers=manager.headers)).status_code == 403
    assert (await client.post(f"{path}/resend", headers=manager.headers)).status_code == 403
    # Another organization's invitation does not exist for this admin.
    assert (await client.delete(path, headers=other.headers)).status_code == 404
    assert (await client.post(f"{path}/resend", headers=other.headers)).status_code == 404
    assert (await client.get("/api/v1/invitations", headers=other.headers)).json()["items"] == []
    # Anonymous: 401 before the body is read.
    assert (await client.post("/api/v1/invitations", json={})).status_code == 401


async def test_adding_a_new_login_directly_still_needs_a_password(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    refused = await client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={"email": f"{unique('p')}@example.com", "full_name": "P", "role": "sales"},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "password"
    # An existing login joins without one.
    elsewhere = await register_tenant(client)
    joined = await client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={"email": elsewhere.email, "full_name": "Ada", "role": "sales"},
    )
    assert joined.status_code == 201, joined.text


async def test_wrong_passwords_through_a_link_are_limited_like_sign_ins(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    elsewhere = await register_tenant(client)
    admin = await register_tenant(client)
    invitation = await _invite(client, admin, email=elsewhere.email)
    for _ in range(settings.login_max_failures):
        wrong = await _accept(client, invitation["token"], password="not-the-password")
        assert wrong.status_code == 401
    blocked = await _accept(client, invitation["token"], password=PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    # The login's own sign-in is blocked as well: the failures were counted on it.
    signing_in = await client.post(
        "/api/v1/auth/login", json={"email": elsewhere.email, "password": PASSWORD}
    )
    assert signing_in.status_code == 429
