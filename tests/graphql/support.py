"""Calling /graphql in tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Member


async def gql(
    client: httpx.AsyncClient,
    member: Member | None,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    status: int = 200,
) -> dict[str, Any]:
    sent = {**(member.headers if member else {}), **(headers or {})}
    response = await client.post(
        "/graphql", headers=sent, json={"query": query, "variables": variables or {}}
    )
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]
