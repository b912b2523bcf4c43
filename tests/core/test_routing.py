"""The route index picks what a scan of every route would, and direct JSON routes
answer bad input as FastAPI's own handler does (baton/core/routing.py)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

import asyncpg
import httpx
import pytest
from fastapi import Body, FastAPI, Form
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import Match, Route

from baton.core.auth import CtxDep
from baton.core.routing import JsonRoute, RouteIndex, _DirectPlan
from baton.workitems.api import router as work_items_router
from tests.factories import Member, register_tenant


def _index(app: FastAPI) -> RouteIndex:
    index = app.router.routes[0]
    assert isinstance(index, RouteIndex)
    return index


def _sample_path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), template)


def _scanned(routes: list[Route], scope: dict[str, Any]) -> Route | None:
    """The first route that fits path and method, trying every route in order."""
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None


def test_the_index_picks_the_route_a_full_scan_picks_for_every_route(app: FastAPI) -> None:
    index = _index(app)
    assert len(index.routes) > 150
    for route in index.routes:
        for method in route.methods or {"GET"}:
            for path in (_sample_path(route.path), _sample_path(route.path) + "/extra"):
                scope = {"type": "http", "method": method, "path": path, "root_path": ""}
                match, child = index.matches(scope)
                expected = _scanned(index.routes, scope)
                assert (child.get("route") if match is Match.FULL else None) is expected, path


def test_the_index_leaves_wrong_methods_and_unknown_paths_to_the_app() -> None:
    index = RouteIndex(
        [APIRoute("/api/v1/things/{thing_id}", _endpoint, methods=["GET"])]  # type: ignore[list-item]
    )
    scope = {"type": "http", "path": f"/api/v1/things/{uuid.uuid4()}", "root_path": ""}
    assert index.matches({**scope, "method": "GET"})[0] is Match.FULL
    assert index.matches({**scope, "method": "POST"})[0] is Match.NONE
    assert index.matches({**scope, "method": "GET", "path": "/api/v1/nothing"})[0] is Match.NONE


async def _endpoint() -> None:
    return None


async def test_wrong_method_is_405_and_unknown_path_404(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    wrong = await client.put(f"/api/v1/work-items/{uuid.uuid4()}/move", headers=admin.headers)
    assert wrong.status_code == 405
    unknown = await client.get("/api/v1/no-such-thing", headers=admin.headers)
    assert unknown.status_code == 404


def test_only_routes_of_the_plain_shape_run_directly() -> None:
    direct = {
        (next(iter(route.methods)), route.path)
        for route in work_items_router.routes
        if isinstance(route, JsonRoute) and route.get_route_handler().__name__ == "handle"
    }
    assert ("POST", "/api/v1/work-items/{item_id}/move") in direct
    assert ("POST", "/api/v1/work-items") in direct
    # Queries, headers (If-Match) and other dependencies take FastAPI's handler.
    assert ("GET", "/api/v1/work-items") not in direct
    assert ("PATCH", "/api/v1/work-items/{item_id}") not in direct


class _Thing(BaseModel):
    name: str


async def _plain(thing: _Thing, ctx: CtxDep) -> None:
    return None


async def _embedded(thing: Annotated[_Thing, Body(embed=True)], ctx: CtxDep) -> None:
    return None


async def _form(name: Annotated[str, Form()], ctx: CtxDep) -> None:
    return None


async def _query(ctx: CtxDep, limit: int = 10) -> None:
    return None


def test_form_embedded_and_query_endpoints_take_fastapis_handler() -> None:
    def plan(endpoint: Any) -> _DirectPlan | None:
        return _DirectPlan.of(JsonRoute("/things", endpoint, methods=["POST"]))

    assert plan(_plain) is not None
    assert plan(_embedded) is None
    assert plan(_form) is None
    assert plan(_query) is None


def test_the_caller_as_a_parameter_and_empty_answers_run_directly(app: FastAPI) -> None:
    direct = {
        (next(iter(route.methods)), route.path)
        for route in _index(app).routes
        if isinstance(route, JsonRoute) and _DirectPlan.of(route) is not None
    }
    assert ("GET", "/api/v1/me") in direct  # `principal: PrincipalDep`
    assert ("DELETE", "/api/v1/api-keys/{api_key_id}") in direct  # 204


async def test_a_direct_204_answers_without_a_body(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    created = await client.post("/api/v1/api-keys", headers=admin.headers, json={"name": "k"})
    assert created.status_code == 201, created.text
    revoked = await client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=admin.headers)
    assert revoked.status_code == 204
    assert revoked.content == b""
    assert "content-type" not in revoked.headers


@pytest.fixture
async def ticket(client: httpx.AsyncClient, owner_conn: asyncpg.Connection) -> dict[str, Any]:
    admin = await register_tenant(client)
    project_type = await owner_conn.fetchval(
        "SELECT id FROM project_types WHERE tenant_id = $1 AND name = 'Support Ticket'",
        admin.tenant_id,
    )
    created = await client.post(
        "/api/v1/work-items",
        headers=admin.headers,
        json={"project_type_id": str(project_type), "name": "Printer on fire"},
    )
    assert created.status_code == 201, created.text
    return {"admin": admin, "item": created.json()}


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


async def test_a_direct_route_answers_bad_input_with_the_usual_422(
    client: httpx.AsyncClient, ticket: dict[str, Any]
) -> None:
    admin: Member = ticket["admin"]
    item = ticket["item"]
    url = f"/api/v1/work-items/{item['id']}/move"
    good = {"to_step_id": str(uuid.uuid4()), "version": item["version"]}

    async def post(path: str = url, **kwargs: Any) -> httpx.Response:
        return await client.post(path, headers=admin.headers, **kwargs)

    assert _fields(await post("/api/v1/work-items/not-a-uuid/move", json=good)) == ["item_id"]
    assert _fields(await post(json={"version": 1})) == ["to_step_id"]
    assert _fields(await post(json={**good, "version": 0})) == ["version"]
    assert _fields(await post(json={**good, "colour": "red"})) == ["colour"]
    assert _fields(await post(json={**good, "notes": "a\x00b"})) == ["notes"]
    for content_type, body in (("application/json", b"{not json"), ("text/plain", b"{}")):
        sent = await client.post(
            url, headers={**admin.headers, "content-type": content_type}, content=body
        )
        assert len(_fields(sent)) == 1, sent.text
    # Nothing moved on any of them.
    fetched = await client.get(f"/api/v1/work-items/{item['id']}", headers=admin.headers)
    assert fetched.json()["version"] == item["version"]


async def test_a_direct_route_still_requires_a_caller(
    client: httpx.AsyncClient, ticket: dict[str, Any]
) -> None:
    item = ticket["item"]
    answer = await client.post(
        f"/api/v1/work-items/{item['id']}/move",
        json={"to_step_id": str(uuid.uuid4()), "version": item["version"]},
    )
    assert answer.status_code == 401
