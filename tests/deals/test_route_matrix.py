"""Every route of the sales core — deals, the pipeline, accounts, contacts, activities —
against another organization and against a viewer (DESIGN §5, §6, §8).

The matrix below names each route the application serves under those paths, with a
valid request for it; a test compares it with the OpenAPI document, so a new route
fails here until it is added. Then, route by route:
- another organization's member (an admin: the refusal must come from tenancy, not
  from the role) sending the first organization's ids gets 404 — never 403, never a
  hint that the record exists — and a list filtered by those ids is empty;
- a viewer may read every route and write none: 403, and nothing changed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import random_address
from tests.factories import Member, add_member, register_tenant, unique

NEXT_WEEK = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
LAST_WEEK = (datetime.now(UTC).date() - timedelta(days=7)).isoformat()
PREFIXES = (
    "/api/v1/deals",
    "/api/v1/pipeline",
    "/api/v1/accounts",
    "/api/v1/contacts",
    "/api/v1/activities",
)


@dataclass(frozen=True)
class World:
    """One organization's records, one of each kind, and who asks about them."""

    admin: Member
    viewer: Member
    intruder: Member
    account: dict[str, Any]
    deleted_account: dict[str, Any]
    contact: dict[str, Any]
    deleted_contact: dict[str, Any]
    deal: dict[str, Any]
    deleted_deal: dict[str, Any]
    discovery_step_id: str
    activity: dict[str, Any]


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    params: dict[str, str] | None = None
    json: dict[str, Any] | None = None


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _build(http: httpx.AsyncClient) -> World:
    admin = await register_tenant(http)
    headers = admin.headers
    account = await _created(
        await http.post("/api/v1/accounts", headers=headers, json={"name": unique("Acme")})
    )
    await _created(
        await http.post(
            f"/api/v1/accounts/{account['id']}/transactions",
            headers=headers,
            json={"occurred_on": LAST_WEEK, "amount": "10.00"},
        )
    )
    deleted_account = await _created(
        await http.post("/api/v1/accounts", headers=headers, json={"name": unique("Gone")})
    )
    gone = await http.delete(
        f"/api/v1/accounts/{deleted_account['id']}", headers=headers, params={"version": 1}
    )
    assert gone.status_code == 204, gone.text
    contact = await _created(
        await http.post(
            "/api/v1/contacts",
            headers=headers,
            json={"account_id": account["id"], "first_name": "Grace"},
        )
    )
    deal = await _created(
        await http.post(
            "/api/v1/deals",
            headers=headers,
            json={
                "name": unique("Deal"),
                "account_id": account["id"],
                "contact_id": contact["id"],
                "next_step": "Call",
                "next_step_due_date": NEXT_WEEK,
            },
        )
    )
    # Deleted on their own: what the restore routes are asked to bring back.
    deleted_contact = await _created(
        await http.post(
            "/api/v1/contacts",
            headers=headers,
            json={"account_id": account["id"], "first_name": "Gone"},
        )
    )
    deleted_deal = await _created(
        await http.post(
            "/api/v1/deals",
            headers=headers,
            json={
                "name": unique("Gone"),
                "account_id": account["id"],
                "next_step": "Call",
                "next_step_due_date": NEXT_WEEK,
            },
        )
    )
    for path in (
        f"/api/v1/contacts/{deleted_contact['id']}",
        f"/api/v1/deals/{deleted_deal['id']}",
    ):
        gone = await http.delete(path, headers=headers, params={"version": 1})
        assert gone.status_code == 204, gone.text
    workflow = await http.get(f"/api/v1/workflow/workflows/{deal['workflow_id']}", headers=headers)
    discovery = next(s["id"] for s in workflow.json()["steps"] if s["key"] == "discovery")
    activity = await _created(
        await http.post(
            "/api/v1/activities",
            headers=headers,
            json={
                "type": "call",
                "subject": "Call Grace",
                "due_at": f"{NEXT_WEEK}T09:00:00Z",
                "deal_id": deal["id"],
            },
        )
    )
    return World(
        admin=admin,
        viewer=await add_member(http, admin, "viewer"),
        intruder=await register_tenant(http),
        account=account,
        deleted_account=deleted_account,
        contact=contact,
        deleted_contact=deleted_contact,
        deal=deal,
        deleted_deal=deleted_deal,
        discovery_step_id=discovery,
        activity=activity,
    )


@pytest.fixture(scope="module")
async def world(app: Any) -> AsyncIterator[World]:
    """Built once for the module: every request here is refused, so nothing changes
    (and each test checks that nothing did)."""
    transport = httpx.ASGITransport(
        app=app, client=(random_address(), 40000), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield await _build(http)


def _deal(w: World, suffix: str = "") -> str:
    return f"/api/v1/deals/{w.deal['id']}{suffix}"


def _account(w: World, suffix: str = "") -> str:
    return f"/api/v1/accounts/{w.account['id']}{suffix}"


def _contact(w: World) -> str:
    return f"/api/v1/contacts/{w.contact['id']}"


def _activity(w: World, suffix: str = "") -> str:
    return f"/api/v1/activities/{w.activity['id']}{suffix}"


def _version(record: dict[str, Any]) -> dict[str, int]:
    return {"version": record["version"]}


# (method, OpenAPI path) → a valid request on the world's records; the first
# organization's ids in the path, the query or the body.
ROUTES: dict[tuple[str, str], Callable[[World], Call]] = {
    ("GET", "/api/v1/deals"): lambda w: Call(
        "GET", "/api/v1/deals", {"account_id": w.account["id"]}
    ),
    ("POST", "/api/v1/deals"): lambda w: Call(
        "POST",
        "/api/v1/deals",
        json={
            "name": "Nope",
            "account_id": w.account["id"],
            "next_step": "Call",
            "next_step_due_date": NEXT_WEEK,
        },
    ),
    ("GET", "/api/v1/pipeline"): lambda w: Call(
        "GET", "/api/v1/pipeline", {"workflow_id": w.deal["workflow_id"]}
    ),
    ("GET", "/api/v1/deals/{deal_id}"): lambda w: Call("GET", _deal(w)),
    ("PATCH", "/api/v1/deals/{deal_id}"): lambda w: Call(
        "PATCH", _deal(w), json={"name": "Nope", **_version(w.deal)}
    ),
    ("DELETE", "/api/v1/deals/{deal_id}"): lambda w: Call(
        "DELETE", _deal(w), {"version": str(w.deal["version"])}
    ),
    ("POST", "/api/v1/deals/{deal_id}/restore"): lambda w: Call(
        "POST", f"/api/v1/deals/{w.deleted_deal['id']}/restore"
    ),
    ("POST", "/api/v1/deals/{deal_id}/move"): lambda w: Call(
        "POST", _deal(w, "/move"), json={"to_step_id": w.discovery_step_id, **_version(w.deal)}
    ),
    ("POST", "/api/v1/deals/{deal_id}/close"): lambda w: Call(
        "POST",
        _deal(w, "/close"),
        json={"outcome": "lost", "reason": "price", **_version(w.deal)},
    ),
    ("GET", "/api/v1/deals/{deal_id}/history"): lambda w: Call("GET", _deal(w, "/history")),
    ("GET", "/api/v1/accounts"): lambda w: Call(
        "GET", "/api/v1/accounts", {"q": w.account["name"]}
    ),
    ("POST", "/api/v1/accounts"): lambda w: Call("POST", "/api/v1/accounts", json={"name": "Nope"}),
    ("GET", "/api/v1/accounts/{account_id}"): lambda w: Call("GET", _account(w)),
    ("PATCH", "/api/v1/accounts/{account_id}"): lambda w: Call(
        "PATCH", _account(w), json={"name": "Nope", **_version(w.account)}
    ),
    ("DELETE", "/api/v1/accounts/{account_id}"): lambda w: Call(
        "DELETE", _account(w), {"version": str(w.account["version"])}
    ),
    ("POST", "/api/v1/accounts/{account_id}/restore"): lambda w: Call(
        "POST", f"/api/v1/accounts/{w.deleted_account['id']}/restore"
    ),
    ("GET", "/api/v1/accounts/{account_id}/overview"): lambda w: Call(
        "GET", _account(w, "/overview")
    ),
    ("GET", "/api/v1/accounts/{account_id}/transactions"): lambda w: Call(
        "GET", _account(w, "/transactions")
    ),
    ("POST", "/api/v1/accounts/{account_id}/transactions"): lambda w: Call(
        "POST", _account(w, "/transactions"), json={"occurred_on": LAST_WEEK, "amount": "1.00"}
    ),
    ("GET", "/api/v1/contacts"): lambda w: Call(
        "GET", "/api/v1/contacts", {"account_id": w.account["id"]}
    ),
    ("POST", "/api/v1/contacts"): lambda w: Call(
        "POST", "/api/v1/contacts", json={"account_id": w.account["id"], "first_name": "Nope"}
    ),
    ("GET", "/api/v1/contacts/{contact_id}"): lambda w: Call("GET", _contact(w)),
    ("PATCH", "/api/v1/contacts/{contact_id}"): lambda w: Call(
        "PATCH", _contact(w), json={"first_name": "Nope", **_version(w.contact)}
    ),
    ("DELETE", "/api/v1/contacts/{contact_id}"): lambda w: Call(
        "DELETE", _contact(w), {"version": str(w.contact["version"])}
    ),
    ("POST", "/api/v1/contacts/{contact_id}/restore"): lambda w: Call(
        "POST", f"/api/v1/contacts/{w.deleted_contact['id']}/restore"
    ),
    ("GET", "/api/v1/activities"): lambda w: Call(
        "GET", "/api/v1/activities", {"owner": str(w.admin.user_id)}
    ),
    ("POST", "/api/v1/activities"): lambda w: Call(
        "POST",
        "/api/v1/activities",
        json={
            "type": "task",
            "subject": "Nope",
            "due_at": f"{NEXT_WEEK}T10:00:00Z",
            "deal_id": w.deal["id"],
        },
    ),
    ("GET", "/api/v1/activities/{activity_id}"): lambda w: Call("GET", _activity(w)),
    ("PATCH", "/api/v1/activities/{activity_id}"): lambda w: Call(
        "PATCH", _activity(w), json={"subject": "Nope", **_version(w.activity)}
    ),
    ("POST", "/api/v1/activities/{activity_id}/complete"): lambda w: Call(
        "POST",
        _activity(w, "/complete"),
        json={
            "next": {"type": "call", "subject": "Nope", "due_at": f"{NEXT_WEEK}T11:00:00Z"},
            **_version(w.activity),
        },
    ),
    ("POST", "/api/v1/activities/{activity_id}/cancel"): lambda w: Call(
        "POST", _activity(w, "/cancel"), json=_version(w.activity)
    ),
}

WRITES = [route for route in ROUTES if route[0] != "GET"]
READS = [route for route in ROUTES if route[0] == "GET"]
# Routes that name no record of the first organization: a create with nothing to
# point at is the intruder's own business.
NO_FOREIGN_ID = {("POST", "/api/v1/accounts")}
# Lists: another organization's ids filter them down to nothing.
LISTS = {
    ("GET", "/api/v1/deals"),
    ("GET", "/api/v1/accounts"),
    ("GET", "/api/v1/contacts"),
    ("GET", "/api/v1/activities"),
}
# Creates whose body names a record: the answer must not tell another organization's
# record from one that does not exist.
REFERENCES = {
    ("POST", "/api/v1/deals"): "account_id",
    ("POST", "/api/v1/contacts"): "account_id",
    ("POST", "/api/v1/activities"): "deal_id",
}
BY_ID = [
    route for route in ROUTES if route not in NO_FOREIGN_ID | LISTS and route not in REFERENCES
]


def _ids(routes: list[tuple[str, str]]) -> list[str]:
    return [f"{method} {path}" for method, path in routes]


async def _send(client: httpx.AsyncClient, member: Member, call: Call) -> httpx.Response:
    return await client.request(
        call.method, call.url, headers=member.headers, params=call.params, json=call.json
    )


def _problem(response: httpx.Response) -> dict[str, Any]:
    """A problem answer less what names the request itself."""
    body: dict[str, Any] = response.json()
    return {key: value for key, value in body.items() if key != "instance"}


async def _state(owner_conn: asyncpg.Connection, tenant_id: uuid.UUID) -> dict[str, Any]:
    """Every row of the organization the routes could touch, whole."""
    state: dict[str, Any] = {}
    for table in ("deals", "accounts", "contacts", "activities", "account_transactions"):
        state[table] = await owner_conn.fetchval(
            f"SELECT array_agg(to_jsonb(t)::text ORDER BY t.id) FROM {table} t"
            " WHERE t.tenant_id = $1",
            tenant_id,
        )
    state["history"] = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE tenant_id = $1", tenant_id
    )
    return state


def test_the_matrix_names_every_sales_core_route(app: Any) -> None:
    # Bulk actions answer another tenant's ids row by row (`not_found`), never a 404
    # for the request: tests/bulk holds them to that.
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(PREFIXES) and not path.endswith("/bulk")
        for method in operations
    }
    assert set(ROUTES) == served


@pytest.mark.parametrize("route", BY_ID, ids=_ids(BY_ID))
async def test_another_organizations_ids_are_404(
    client: httpx.AsyncClient,
    world: World,
    owner_conn: asyncpg.Connection,
    route: tuple[str, str],
) -> None:
    before = await _state(owner_conn, world.admin.tenant_id)
    response = await _send(client, world.intruder, ROUTES[route](world))
    assert response.status_code == 404, response.text
    assert response.json()["type"].endswith("/not-found")
    assert await _state(owner_conn, world.admin.tenant_id) == before


@pytest.mark.parametrize("route", sorted(LISTS), ids=_ids(sorted(LISTS)))
async def test_another_organizations_ids_filter_lists_to_nothing(
    client: httpx.AsyncClient, world: World, route: tuple[str, str]
) -> None:
    call = ROUTES[route](world)
    own = await _send(client, world.admin, call)
    assert own.status_code == 200, own.text
    assert own.json()["items"], "the filter finds the first organization's records"
    response = await _send(client, world.intruder, call)
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("route", list(REFERENCES), ids=_ids(list(REFERENCES)))
async def test_a_reference_to_another_organizations_record_is_as_if_it_did_not_exist(
    client: httpx.AsyncClient,
    world: World,
    owner_conn: asyncpg.Connection,
    route: tuple[str, str],
) -> None:
    call = ROUTES[route](world)
    assert call.json is not None
    field = REFERENCES[route]
    intruder_before = await _state(owner_conn, world.intruder.tenant_id)
    foreign = await _send(client, world.intruder, call)
    unknown = await _send(
        client,
        world.intruder,
        Call(call.method, call.url, json={**call.json, field: str(uuid.uuid4())}),
    )
    assert foreign.status_code in (404, 422), foreign.text
    assert _problem(foreign) == _problem(unknown)
    assert await _state(owner_conn, world.intruder.tenant_id) == intruder_before


@pytest.mark.parametrize("route", READS, ids=_ids(READS))
async def test_a_viewer_reads_every_route(
    client: httpx.AsyncClient, world: World, route: tuple[str, str]
) -> None:
    response = await _send(client, world.viewer, ROUTES[route](world))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", WRITES, ids=_ids(WRITES))
async def test_a_viewer_writes_nothing(
    client: httpx.AsyncClient,
    world: World,
    owner_conn: asyncpg.Connection,
    route: tuple[str, str],
) -> None:
    before = await _state(owner_conn, world.admin.tenant_id)
    response = await _send(client, world.viewer, ROUTES[route](world))
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/permission-denied")
    assert await _state(owner_conn, world.admin.tenant_id) == before
