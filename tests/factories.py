"""Typed factories that build test data through the real API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class Member:
    token: str
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_slug: str
    email: str
    role: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


async def register_tenant(client: httpx.AsyncClient, name: str | None = None) -> Member:
    """A new organization and its admin, through POST /auth/register."""
    email = f"{unique('admin')}@example.com"
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "organization_name": name or unique("Org"),
            "full_name": "Ada Admin",
            "email": email,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Member(
        token=body["access_token"],
        user_id=uuid.UUID(body["user"]["id"]),
        tenant_id=uuid.UUID(body["tenant"]["id"]),
        tenant_slug=body["tenant"]["slug"],
        email=email,
        role="admin",
    )


async def add_member(client: httpx.AsyncClient, admin: Member, role: str) -> Member:
    """Invite a member with `role` and sign them in."""
    email = f"{unique(role)}@example.com"
    invited = await client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={
            "email": email,
            "full_name": f"{role.title()} Person",
            "role": role,
            "password": PASSWORD,
        },
    )
    assert invited.status_code == 201, invited.text
    token = await login(client, email)
    return Member(
        token=token,
        user_id=uuid.UUID(invited.json()["id"]),
        tenant_id=admin.tenant_id,
        tenant_slug=admin.tenant_slug,
        email=email,
        role=role,
    )


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, tenant: str | None = None
) -> str:
    payload = {"email": email, "password": password}
    if tenant:
        payload["tenant"] = tenant
    response = await client.post("/api/v1/auth/login", json=payload)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
