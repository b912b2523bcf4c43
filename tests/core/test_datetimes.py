"""Every datetime a client sends is one bounded, timezone-aware type (`core.schemas.Moment`).

Three regressions from the fuzz of issue 20 (each was a 500), then a sweep generated
from the OpenAPI document: every date-time query parameter and body field of every
operation gets the extremes — year 1, year 9999, ±14:00 offsets, integers, empty text,
a date alone, a time without an offset. None may answer 5xx; what lies outside
1900-01-01…9999-12-31 (UTC) or is not ISO 8601 with an offset is 422 naming the
parameter. A new date-time input is swept as soon as it is in the document; one in a
body also needs a valid body below (`BODIES`), or the sweep fails and says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import Member, register_tenant, unique

NEXT_WEEK = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()

# (value, accepted): accepted values lie inside the range and carry an offset.
MOMENTS: list[tuple[Any, bool]] = [
    ("0001-01-01T00:00:00Z", False),
    ("0001-01-01T00:00:00+14:00", False),
    ("0001-01-01T00:00:00-14:00", False),
    ("1900-01-01T00:00:00+14:00", False),  # 1899-12-31T10:00Z
    ("1900-01-01T00:00:00Z", True),
    ("9999-12-31T00:00:00Z", True),
    ("9999-12-30T23:59:59+14:00", True),  # 9999-12-30T09:59:59Z
    ("9999-12-31T13:59:59+14:00", True),  # 9999-12-30T23:59:59Z
    ("9999-12-31T23:59:59+14:00", False),  # 9999-12-31T09:59:59Z
    ("9999-12-31T23:59:59-14:00", False),  # the year 10000 in UTC
    ("9999-12-31T23:59:59.999999Z", False),
    ("2026-01-01T00:00:00", False),  # no offset
    ("2026-01-01", False),  # a date alone
    ("", False),
    ("0", False),
    ("1e999", False),
    (0, False),
    (-1, False),
    (10**20, False),
    (1767225600, False),  # seconds since 1970: a number, not a time
    (True, False),
]
# Dates are bounded 1900-01-01…9999-12-31; the sweep asks only that none is a 5xx and
# that what is outside the range is refused.
DAYS: list[tuple[Any, bool | None]] = [
    ("0001-01-01", False),
    ("1899-12-31", False),
    ("1900-01-01", True),
    ("9999-12-31", True),
    ("10000-01-01", False),
    ("", False),
    (0, None),
    (10**20, None),
    ("9999-12-31T23:59:59-14:00", None),
]


@dataclass(frozen=True)
class Input:
    """One date-time or date input of one operation, found in the OpenAPI document."""

    method: str
    path: str
    where: str  # "query" or "body"
    name: str  # the parameter, or the body field's dotted path
    format: str  # "date-time" or "date"

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} {self.where} {self.name}"


def _formats(
    schema: dict[str, Any], components: dict[str, Any], path: str = ""
) -> Iterator[tuple[str, str]]:
    if "$ref" in schema:
        yield from _formats(components[schema["$ref"].rsplit("/", 1)[-1]], components, path)
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from _formats(option, components, path)
    if schema.get("format") in ("date-time", "date"):
        yield path, schema["format"]
    for name, field in schema.get("properties", {}).items():
        yield from _formats(field, components, f"{path}.{name}" if path else name)


def moment_inputs(document: dict[str, Any]) -> list[Input]:
    """Every date-time and date query parameter and JSON body field of every operation."""
    components = document["components"]["schemas"]
    found: set[Input] = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                for _, fmt in _formats(parameter["schema"], components):
                    found.add(Input(method, path, "query", parameter["name"], fmt))
            content = operation.get("requestBody", {}).get("content", {})
            for media, body in content.items():
                fields = list(_formats(body["schema"], components))
                if media == "multipart/form-data":
                    # Uploads (a file and its kind) are not swept: none may take a time.
                    assert not fields, f"{method} {path}: times in a {media} body not swept"
                    continue
                assert media == "application/json", f"{method} {path}: {media} bodies not swept"
                for name, fmt in fields:
                    found.add(Input(method, path, "body", name, fmt))
    return sorted(found, key=str)


@dataclass
class World:
    admin: Member
    account_id: str
    deal: dict[str, Any]
    activity_id: str

    def path_value(self, name: str) -> str:
        known = {
            "workflow_id": self.deal["workflow_id"],
            "deal_id": self.deal["id"],
            "account_id": self.account_id,
            "activity_id": self.activity_id,
            # The audit trail's export takes `from` and `to` as the trail does.
            "entity": "audit",
        }
        return known.get(name, str(uuid.uuid4()))


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _world(http: httpx.AsyncClient) -> World:
    admin = await register_tenant(http)
    account = await _created(
        await http.post("/api/v1/accounts", headers=admin.headers, json={"name": unique("Acme")})
    )
    deal = await _created(
        await http.post(
            "/api/v1/deals",
            headers=admin.headers,
            json={
                "name": unique("Deal"),
                "account_id": account["id"],
                "next_step": "Call",
                "next_step_due_date": NEXT_WEEK,
            },
        )
    )
    activity = await _new_activity(http, admin, account["id"])
    return World(admin, account["id"], deal, activity["id"])


async def _new_activity(http: httpx.AsyncClient, admin: Member, account_id: str) -> dict[str, Any]:
    return await _created(
        await http.post(
            "/api/v1/activities",
            headers=admin.headers,
            json={
                "type": "call",
                "subject": "Call back",
                "account_id": account_id,
                "due_at": "2026-12-01T09:00:00Z",
            },
        )
    )


async def _version(http: httpx.AsyncClient, world: World, url: str) -> int:
    current = await http.get(url, headers=world.admin.headers)
    assert current.status_code == 200, current.text
    version: int = current.json()["version"]
    return version


# A valid body for each operation with a date-time or date body field, and the path
# parameters it needs (a fresh record where the operation uses one up).
Prepared = tuple[dict[str, str], dict[str, Any]]
Prepare = Callable[[httpx.AsyncClient, World], Awaitable[Prepared]]


async def _activity_create(http: httpx.AsyncClient, world: World) -> Prepared:
    return {}, {"type": "task", "subject": "Plan", "account_id": world.account_id}


async def _activity_patch(http: httpx.AsyncClient, world: World) -> Prepared:
    url = f"/api/v1/activities/{world.activity_id}"
    return {"activity_id": world.activity_id}, {"version": await _version(http, world, url)}


async def _activity_complete(http: httpx.AsyncClient, world: World) -> Prepared:
    activity = await _new_activity(http, world.admin, world.account_id)
    return {"activity_id": activity["id"]}, {
        "version": activity["version"],
        "next": {"type": "call", "subject": "Follow up"},
    }


async def _deal_create(http: httpx.AsyncClient, world: World) -> Prepared:
    return {}, {
        "name": unique("Deal"),
        "account_id": world.account_id,
        "next_step": "Call",
        "next_step_due_date": NEXT_WEEK,
    }


async def _deal_patch(http: httpx.AsyncClient, world: World) -> Prepared:
    url = f"/api/v1/deals/{world.deal['id']}"
    return {"deal_id": world.deal["id"]}, {"version": await _version(http, world, url)}


async def _deal_move(http: httpx.AsyncClient, world: World) -> Prepared:
    deal = await _created(
        await http.post(
            "/api/v1/deals", headers=world.admin.headers, json=(await _deal_create(http, world))[1]
        )
    )
    workflow = await http.get(
        f"/api/v1/workflow/workflows/{deal['workflow_id']}", headers=world.admin.headers
    )
    proposal = next(s["id"] for s in workflow.json()["steps"] if s["key"] == "proposal")
    return {"deal_id": deal["id"]}, {
        "to_step_id": proposal,
        "version": deal["version"],
        "fields": {"amount": "1000.00", "expected_close_date": NEXT_WEEK},
    }


async def _transaction(http: httpx.AsyncClient, world: World) -> Prepared:
    return {"account_id": world.account_id}, {"amount": "10.00"}


BODIES: dict[tuple[str, str], Prepare] = {
    ("post", "/api/v1/activities"): _activity_create,
    ("patch", "/api/v1/activities/{activity_id}"): _activity_patch,
    ("post", "/api/v1/activities/{activity_id}/complete"): _activity_complete,
    ("post", "/api/v1/deals"): _deal_create,
    ("patch", "/api/v1/deals/{deal_id}"): _deal_patch,
    ("post", "/api/v1/deals/{deal_id}/move"): _deal_move,
    ("post", "/api/v1/accounts/{account_id}/transactions"): _transaction,
}


def _put(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    holder = body
    for name in parents:
        holder = holder.setdefault(name, {})
    holder[last] = value
    return body


# How the type refuses (a rule may still refuse an accepted value, naming the field).
_TYPE_REFUSALS = ("between 1900-01-01", "ISO 8601", "timezone", "greater than", "less than")


def _names(response: httpx.Response, field: str, *, for_its_type: bool = False) -> bool:
    return any(
        e["field"] == field
        and (not for_its_type or any(words in e["message"] for words in _TYPE_REFUSALS))
        for e in response.json().get("errors", [])
    )


async def _send(http: httpx.AsyncClient, world: World, item: Input, value: Any) -> httpx.Response:
    if item.where == "query":
        url = item.path.format_map({n: world.path_value(n) for n in _params(item.path)})
        raw = value if isinstance(value, str) else str(value).lower()
        return await http.request(
            item.method, url, headers=world.admin.headers, params={item.name: raw}
        )
    prepared, body = await BODIES[(item.method, item.path)](http, world)
    url = item.path.format_map(
        {n: prepared.get(n) or world.path_value(n) for n in _params(item.path)}
    )
    return await http.request(
        item.method, url, headers=world.admin.headers, json=_put(body, item.name, value)
    )


def _params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _verdict(item: Input, value: Any, accepted: bool | None, response: httpx.Response) -> str:
    """What is wrong with the answer, or ""."""
    if response.status_code >= 500:
        return f"{response.status_code}: {response.text[:200]}"
    if not response.headers["content-type"].startswith(
        ("application/json", "application/problem+json", "text/csv")
    ):
        return f"answered {response.headers['content-type']}"
    if accepted is False:
        if response.status_code != 422:
            return f"accepted ({response.status_code})"
        if not _names(response, item.name):
            return f"422 without naming {item.name}: {response.text[:200]}"
    if response.status_code < 400 and not response.headers["content-type"].startswith(
        "application/json"
    ):
        return ""  # an export's file: the bounds held
    if accepted is True and _names(response, item.name, for_its_type=True):
        return f"refused an in-range value: {response.text[:200]}"
    return ""


async def test_the_sweep_finds_every_known_moment_input(app: Any) -> None:
    found = {(i.method, i.path, i.where, i.name) for i in moment_inputs(app.openapi())}
    assert {
        ("get", "/api/v1/workflow/workflows/{workflow_id}/analytics", "query", "from"),
        ("get", "/api/v1/workflow/workflows/{workflow_id}/analytics", "query", "to"),
        ("get", "/api/v1/deals/{deal_id}", "query", "as_of"),
        ("post", "/api/v1/activities", "body", "due_at"),
        ("patch", "/api/v1/activities/{activity_id}", "body", "due_at"),
        ("post", "/api/v1/activities/{activity_id}/complete", "body", "next.due_at"),
    } <= found


async def test_every_moment_input_refuses_the_extremes_without_a_5xx(
    client: httpx.AsyncClient, app: Any
) -> None:
    inputs = moment_inputs(app.openapi())
    unswept = {
        (i.method, i.path) for i in inputs if i.where == "body" and (i.method, i.path) not in BODIES
    }
    assert not unswept, f"add a valid body to BODIES for {sorted(unswept)}"
    world = await _world(client)
    failures: list[str] = []
    for item in inputs:
        values = MOMENTS if item.format == "date-time" else DAYS
        for value, accepted in values:
            response = await _send(client, world, item, value)
            verdict = _verdict(item, value, accepted, response)
            if verdict:
                failures.append(f"{item} = {value!r}: {verdict}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "query",
    [
        {"to": "0001-01-01T00:00:00Z"},
        {"from": "2026-01-01T00:00:00Z", "to": "9999-12-31T23:59:59-14:00"},
        {"from": "0001-01-01T00:00:00+14:00"},
    ],
)
async def test_analytics_refuses_moments_out_of_range(
    client: httpx.AsyncClient, query: dict[str, str]
) -> None:
    # Each was a 500: an overflow of `until - 90 days`, then asyncpg's encoding.
    world = await _world(client)
    response = await client.get(
        f"/api/v1/workflow/workflows/{world.deal['workflow_id']}/analytics",
        headers=world.admin.headers,
        params=query,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    bad = "from" if query.get("from", "").startswith("0001") else "to"
    assert problem["errors"] == [
        {
            "field": bad,
            "message": "must be between 1900-01-01T00:00:00Z and 9999-12-31T00:00:00Z",
        }
    ]


@pytest.mark.parametrize("as_of", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
async def test_a_deal_as_of_a_moment_out_of_range_is_422(
    client: httpx.AsyncClient, as_of: str
) -> None:
    world = await _world(client)
    response = await client.get(
        f"/api/v1/deals/{world.deal['id']}", headers=world.admin.headers, params={"as_of": as_of}
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["as_of"]


async def test_the_edges_of_the_range_are_answered(client: httpx.AsyncClient) -> None:
    world = await _world(client)
    url = f"/api/v1/workflow/workflows/{world.deal['workflow_id']}/analytics"
    edges = {"from": "1900-01-01T00:00:00Z", "to": "9999-12-31T00:00:00Z"}
    analytics = await client.get(url, headers=world.admin.headers, params=edges)
    assert analytics.status_code == 200, analytics.text
    assert analytics.json()["until"] == "9999-12-31T00:00:00Z"
    only_to = await client.get(url, headers=world.admin.headers, params={"to": edges["from"]})
    assert only_to.status_code == 200, only_to.text
    far = await client.get(
        f"/api/v1/deals/{world.deal['id']}",
        headers=world.admin.headers,
        params={"as_of": "9999-12-31T13:59:59+14:00"},
    )
    assert far.status_code == 200, far.text
