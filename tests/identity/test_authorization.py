"""Every users/settings/api-key endpoint by every role: viewers write nothing, only admins
manage users and settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from baton.identity.models import Role
from tests.factories import PASSWORD, Member, add_member, register_tenant, unique


@dataclass
class Team:
    admin: Member
    members: dict[str, Member]
    target: Member  # a sales member that requests act upon


@pytest.fixture(scope="module")
async def team(app: object) -> Team:
    transport = httpx.ASGITransport(app=app, client=("127.9.9.9", 1))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        admin = await register_tenant(client)
        members = {"admin": admin}
        for role in ("manager", "marketing", "sales", "viewer"):
            members[role] = await add_member(client, admin, role)
        target = await add_member(client, admin, "sales")
        return Team(admin, members, target)


Call = Callable[[httpx.AsyncClient, Member, Team], Awaitable[httpx.Response]]


async def list_users(c: httpx.AsyncClient, m: Member, t: Team) -> httpx.Response:
    return await c.get("/api/v1/users", headers=m.headers)


async def get_user(c: httpx.AsyncClient, m: Member, t: Team) -> httpx.Response:
    return await c.get(f"/api/v1/users/{t.target.user_id}", headers=m.headers)


async def invite_user(c: httpx.AsyncClient, m: Member, t: Team) -> httpx.Response:
    body = {
        "email": f"{unique('new')}@example.com",
        "full_name": "New",
        "role": "viewer",
        "password": PASSWORD,
    }
    return await c.post("/api/v1/users", headers=m.headers, json=body)


async def change_role(c: httpx.AsyncClient, m: Member, t: Team) -> httpx.Response:
    current = await c.get(f"/api/v1/users/{t.target.user_id}", headers=t.admin.headers)
    body = {"role": "sales", "version": current.json()["version"]}
    return await c.patch(f"/api/v1/users/{t.target.user_id}", headers=m.headers, json=body)


async def remove_user(c: httpx.AsyncClient, m: Member, t: Team) -> httpx.Response:
    # Each allowed call removes a fresh member, so the matrix is order-independent.
    victim = await add_member(c, t.admin, "viewer")
    return await c.delete(f"/api/v1/users/{victim.user_id}", headers=m.headers)


async def list_keys(c: httpx.AsyncClient, m: Member, t: Team) -> httpx.Response:
    return await c.get("/api/v1/api-keys", headers=m.headers)


async def create_key(c: httpx.AsyncClient, m: Member, t: Team) -> httpx.Response:
    return await c.post("/api/v1/api-keys", headers=m.headers, json={"name": "matrix"})


async def revoke_admins_key(c: httpx.AsyncClient, m: Member, t: Team) -> httpx.Response:
    key = await c.post("/api/v1/api-keys", headers=t.admin.headers, json={"name": "admin key"})
    return await c.delete(f"/api/v1/api-keys/{key.json()['id']}", headers=m.headers)


async def me(c: httpx.AsyncClient, m: Member, t: Team) -> httpx.Response:
    return await c.get("/api/v1/me", headers=m.headers)


async def read_settings(c: httpx.AsyncClient, m: Member, t: Team) -> httpx.Response:
    return await c.get("/api/v1/settings", headers=m.headers)


async def change_settings(c: httpx.AsyncClient, m: Member, t: Team) -> httpx.Response:
    current = await c.get("/api/v1/settings", headers=t.admin.headers)
    body = {"claim_sla_hours": 24, "version": current.json()["version"]}
    return await c.patch("/api/v1/settings", headers=m.headers, json=body)


ADMIN_ONLY = {"admin"}
WRITERS = {"admin", "manager", "marketing", "sales"}
EVERYONE = set(Role)

# endpoint → (roles allowed, status when allowed, status when refused)
MATRIX: dict[str, tuple[Call, set[str], int, int]] = {
    "GET /users": (list_users, ADMIN_ONLY, 200, 403),
    "GET /users/{id}": (get_user, ADMIN_ONLY, 200, 403),
    "POST /users": (invite_user, ADMIN_ONLY, 201, 403),
    "PATCH /users/{id}": (change_role, ADMIN_ONLY, 200, 403),
    "DELETE /users/{id}": (remove_user, ADMIN_ONLY, 204, 403),
    "GET /api-keys": (list_keys, EVERYONE, 200, 403),
    "POST /api-keys": (create_key, WRITERS, 201, 403),
    # Another member's key does not exist for a non-admin (404); viewers may not
    # revoke at all (403). Revoking one's own key is covered in test_api.py.
    "DELETE /api-keys/{id}": (revoke_admins_key, ADMIN_ONLY, 204, 404),
    "GET /me": (me, EVERYONE, 200, 403),
    "GET /settings": (read_settings, EVERYONE, 200, 403),
    "PATCH /settings": (change_settings, ADMIN_ONLY, 200, 403),
}


@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("endpoint", list(MATRIX))
async def test_authorization_matrix(
    client: httpx.AsyncClient, team: Team, endpoint: str, role: str
) -> None:
    call, allowed, ok_status, refused_status = MATRIX[endpoint]
    if endpoint == "DELETE /api-keys/{id}" and role == "viewer":
        refused_status = 403
    response = await call(client, team.members[role], team)
    expected = ok_status if role in allowed else refused_status
    assert response.status_code == expected, (endpoint, role, response.text)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/users/{id}"),
        ("PATCH", "/api/v1/users/{id}"),
        ("DELETE", "/api/v1/users/{id}"),
        ("GET", "/api/v1/api-keys"),
        ("POST", "/api/v1/api-keys"),
        ("DELETE", "/api/v1/api-keys/{id}"),
        ("GET", "/api/v1/settings"),
        ("PATCH", "/api/v1/settings"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/password"),
    ],
)
async def test_every_endpoint_requires_authentication(
    client: httpx.AsyncClient, team: Team, method: str, path: str
) -> None:
    response = await client.request(method, path.format(id=team.target.user_id), json={})
    # 401 even with an invalid body: authentication is checked before validation.
    assert response.status_code == 401, response.text


async def test_viewer_cannot_write_through_any_identity_endpoint(
    client: httpx.AsyncClient, team: Team
) -> None:
    viewer = team.members["viewer"]
    for method, path, body in (
        (
            "POST",
            "/api/v1/users",
            {"email": "v@example.com", "full_name": "V", "role": "admin", "password": PASSWORD},
        ),
        ("PATCH", f"/api/v1/users/{viewer.user_id}", {"role": "admin"}),
        ("DELETE", f"/api/v1/users/{team.target.user_id}", None),
        ("POST", "/api/v1/api-keys", {"name": "v"}),
    ):
        response = await client.request(method, path, headers=viewer.headers, json=body)
        assert response.status_code == 403, (method, path)
    me = await client.get("/api/v1/me", headers=viewer.headers)
    assert me.json()["role"] == "viewer"
