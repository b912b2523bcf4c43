"""Authentication comes before parsing (issue 20 point 8): without a credential, every
authenticated API route answers 401, whatever its parameters and body, on the direct
path (`JsonRoute`'s plan) and on FastAPI's handler alike."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi.routing import APIRoute

from baton.core.routing import RouteIndex

# The operations anyone may call; every other /api route needs a credential.
PUBLIC = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    # The invitee has no credential yet: the link's token is in the body.
    ("POST", "/api/v1/invitations/accept"),
}
MALFORMED: list[tuple[str, bytes]] = [
    ("application/json", b'{"broken'),
    ("application/json", b"\xff\xfe\x00not utf-8"),
    ("application/json", b"[]"),
    ("text/plain", b"hello"),
]


def _operations(app: Any) -> list[tuple[str, str]]:
    """Every API operation the app serves (the route index holds every route)."""
    index = next(route for route in app.router.routes if isinstance(route, RouteIndex))
    return sorted(
        (method, route.path)
        for route in index.routes
        if isinstance(route, APIRoute) and route.path.startswith("/api/")
        for method in route.methods
        if (method, route.path) not in PUBLIC
    )


def _concrete(path: str) -> str:
    parts = path.split("/")
    return "/".join(str(uuid.uuid4()) if p.startswith("{") else p for p in parts)


async def test_every_authenticated_route_is_401_before_its_body_is_read(
    client: httpx.AsyncClient, app: Any
) -> None:
    operations = _operations(app)
    assert ("PATCH", "/api/v1/activities/{activity_id}") in operations
    assert len(operations) > 50
    wrong: list[str] = []
    for method, path in operations:
        url = _concrete(path)
        for content_type, body in MALFORMED:
            response = await client.request(
                method,
                url,
                content=body,
                params={"limit": "-1", "cursor": "%%", "as_of": "year one"},
                headers={"content-type": content_type, "if-match": "not a version"},
            )
            if (
                response.status_code != 401
                or response.headers["content-type"] != "application/problem+json"
                or response.headers.get("www-authenticate") != "Bearer"
            ):
                wrong.append(f"{method} {path} [{body!r}]: {response.status_code}")
    assert not wrong, "\n".join(wrong)


async def test_an_anonymous_patch_with_a_malformed_body_is_401(client: httpx.AsyncClient) -> None:
    # Was 422: FastAPI's handler parses the body before it solves `get_principal`.
    response = await client.patch(
        f"/api/v1/activities/{uuid.uuid4()}",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 401, response.text
    assert response.json()["type"].endswith("/unauthenticated")
    posted = await client.post(
        "/api/v1/accounts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert posted.status_code == 401, posted.text
