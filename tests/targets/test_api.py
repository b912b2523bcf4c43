"""Targets through the API: create with dedupe, read, edit, delete, list with status
and search, the summary, versions, roles and tenancy, statement counts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from baton.db.engine import Database
from tests.factories import add_member, register_tenant
from tests.identity.test_statement_counts import counted
from tests.targets.support import bring_to, create_target, get_target, set_status


async def test_a_new_target_starts_at_new_target_owned_by_the_caller(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    marketing = await add_member(client, admin, "marketing")
    target = await create_target(
        client,
        marketing,
        company_name="  Acme GmbH ",
        contact_name="Ada Lovelace",
        email="Ada@Acme.example",
        phone="+49 30 1234-56",
        notes="Met at the fair",
    )
    assert target["status"] == "new_target"
    assert target["step"]["key"] == "new_target"
    assert target["company_name"] == "Acme GmbH"
    assert target["email"] == "ada@acme.example"
    assert target["owner_id"] == str(marketing.user_id)
    assert target["dedupe_key"] == "email:ada@acme.example"
    assert (target["account_id"], target["deal_id"], target["converted_at"]) == (None, None, None)
    assert target["version"] == 1
    assert await get_target(client, admin, target["id"]) == target


async def test_the_owner_must_be_a_writer_member(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")
    sales = await add_member(client, admin, "sales")
    refused = await client.post(
        "/api/v1/targets",
        headers=admin.headers,
        json={"company_name": "Acme", "owner_id": str(viewer.user_id)},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "owner_id"
    target = await create_target(client, admin, owner_id=str(sales.user_id))
    assert target["owner_id"] == str(sales.user_id)


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        ({"email": "ada@acme.example"}, {"email": "ADA@acme.example"}, "email"),
        ({"phone": "+49 30 123456"}, {"phone": "(49) 30-12 34 56"}, "phone"),
        ({"company_name": "Acme, Inc."}, {"company_name": "acme inc"}, "company_name"),
    ],
)
async def test_a_duplicate_live_target_is_409_naming_the_existing_one(
    client: httpx.AsyncClient, first: dict[str, Any], second: dict[str, Any], field: str
) -> None:
    admin = await register_tenant(client)
    existing = await create_target(client, admin, **{"company_name": "Acme", **first})
    response = await client.post(
        "/api/v1/targets", headers=admin.headers, json={"company_name": "Other", **second}
    )
    assert response.status_code == 409, response.text
    problem = response.json()
    assert existing["id"] in problem["detail"]
    assert problem["errors"] == [
        {"field": field, "message": f"matches the existing target {existing['id']}"}
    ]
    # Deleting the first frees its key.
    deleted = await client.delete(
        f"/api/v1/targets/{existing['id']}", headers={**admin.headers, "If-Match": "1"}
    )
    assert deleted.status_code == 204
    await create_target(client, admin, **{"company_name": "Other", **second})


async def test_an_edit_that_makes_a_duplicate_is_409(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    first = await create_target(client, admin, email="one@acme.example")
    second = await create_target(client, admin, email="two@acme.example")
    response = await client.patch(
        f"/api/v1/targets/{second['id']}",
        headers=admin.headers,
        json={"email": "one@acme.example", "version": 1},
    )
    assert response.status_code == 409
    assert first["id"] in response.json()["detail"]
    edited = await client.patch(
        f"/api/v1/targets/{second['id']}",
        headers=admin.headers,
        json={"email": None, "phone": "0301234", "notes": "Call first", "version": 1},
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["email"], body["dedupe_key"], body["version"]) == (None, "phone:0301234", 2)
    cleared = await client.patch(
        f"/api/v1/targets/{second['id']}",
        headers=admin.headers,
        json={"company_name": None, "version": 2},
    )
    assert cleared.status_code == 422


async def test_stale_versions_are_409(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    target = await create_target(client, admin)
    moved = await set_status(client, admin, target, "contacted")
    assert moved.status_code == 200
    path = f"/api/v1/targets/{target['id']}"
    stale_patch = await client.patch(path, headers=admin.headers, json={"notes": "x", "version": 1})
    assert stale_patch.status_code == 409
    assert (await set_status(client, admin, target, "dropped", reason="invalid")).status_code == 409
    assert (
        await client.delete(path, headers={**admin.headers, "If-Match": '"1"'})
    ).status_code == 409
    assert (await client.delete(path, headers=admin.headers)).status_code == 422
    assert (await get_target(client, admin, target["id"]))["version"] == 2
    deleted = await client.delete(path, params={"version": 2}, headers=admin.headers)
    assert deleted.status_code == 204
    assert (await client.get(path, headers=admin.headers)).status_code == 404


async def test_the_list_filters_by_status_and_searches_words(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    acme = await create_target(client, admin, company_name="Acme Tools", contact_name="Zoe Q")
    await bring_to(client, admin, acme, "contacted")
    bolt = await create_target(client, admin, company_name="Bolt", email="kim@bolt.example")
    under = await create_target(client, admin, company_name="100%_Pure")
    listed = await client.get("/api/v1/targets", headers=admin.headers)
    assert [t["id"] for t in listed.json()["items"]] == [acme["id"], bolt["id"], under["id"]]

    async def ids(**params: str) -> list[str]:
        response = await client.get("/api/v1/targets", headers=admin.headers, params=params)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    assert await ids(status="contacted") == [acme["id"]]
    assert await ids(status="new_target") == [bolt["id"], under["id"]]
    assert await ids(status="dropped") == []
    assert await ids(q="acme") == [acme["id"]]
    assert await ids(q="ZOE") == [acme["id"]]
    assert await ids(q="kim@") == [bolt["id"]]
    # Words anywhere (issue 14, defect 5); punctuation is ignored, never a wildcard.
    assert await ids(q="tools") == [acme["id"]]
    assert await ids(q="100%_") == [under["id"]]
    assert await ids(q="pure") == [under["id"]]
    assert await ids(q="%_") == []
    assert await ids(q="b", status="new_target") == [bolt["id"]]
    refused = await client.get("/api/v1/targets", headers=admin.headers, params={"status": "nope"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "status"
    nul = await client.get("/api/v1/targets", headers=admin.headers, params={"q": "a\x00"})
    assert nul.status_code == 422

    first = await client.get("/api/v1/targets", headers=admin.headers, params={"limit": 2})
    page = first.json()
    assert len(page["items"]) == 2
    rest = await client.get(
        "/api/v1/targets",
        headers=admin.headers,
        params={"limit": 2, "cursor": page["next_cursor"]},
    )
    assert [t["id"] for t in rest.json()["items"]] == [under["id"]]
    assert rest.json()["next_cursor"] is None


async def test_the_summary_counts_live_targets_per_status(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await register_tenant(client)
    empty = await client.get("/api/v1/targets/summary", headers=admin.headers)
    assert empty.status_code == 200
    assert [s["status"] for s in empty.json()["statuses"]] == [
        "new_target",
        "contacted",
        "engaged",
        "qualified",
        "converted",
        "dropped",
    ]
    assert empty.json()["total"] == 0
    for status in ("new_target", "new_target", "contacted", "qualified", "converted", "dropped"):
        await bring_to(client, admin, await create_target(client, admin), status)
    gone = await create_target(client, admin)
    await client.delete(f"/api/v1/targets/{gone['id']}?version=1", headers=admin.headers)
    with counted(database) as statements:
        summary = await client.get("/api/v1/targets/summary", headers=admin.headers)
    counts = {s["status"]: s["count"] for s in summary.json()["statuses"]}
    assert counts == {
        "new_target": 2,
        "contacted": 1,
        "engaged": 0,
        "qualified": 1,
        "converted": 1,
        "dropped": 1,
    }
    assert summary.json()["total"] == 6
    # authenticate, then the counts
    assert len(statements) == 2, statements


async def test_the_list_does_not_grow_with_the_page(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await register_tenant(client)
    await create_target(client, admin, company_name="Acme 0")
    variants: tuple[dict[str, str], ...] = ({}, {"status": "new_target", "q": "acme"})
    small = []
    for params in variants:
        with counted(database) as statements:
            response = await client.get("/api/v1/targets", headers=admin.headers, params=params)
        assert len(response.json()["items"]) == 1
        small.append(len(statements))
    for n in range(1, 8):
        await create_target(client, admin, company_name=f"Acme {n}")
    for params, before in zip(variants, small, strict=True):
        with counted(database) as statements:
            response = await client.get("/api/v1/targets", headers=admin.headers, params=params)
        assert len(response.json()["items"]) == 8
        assert len(statements) == before, statements
    # authenticate and the rows; with a status also the workflow (validating the key)
    assert small == [2, 3]


async def test_viewers_read_but_may_not_write(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")
    target = await create_target(client, admin)
    path = f"/api/v1/targets/{target['id']}"
    assert (await client.get(path, headers=viewer.headers)).status_code == 200
    assert (await client.get("/api/v1/targets", headers=viewer.headers)).status_code == 200
    assert (await client.get("/api/v1/targets/summary", headers=viewer.headers)).status_code == 200
    writes = [
        ("POST", "/api/v1/targets", {"company_name": "Nope"}),
        ("PATCH", path, {"notes": "x", "version": 1}),
        ("DELETE", f"{path}?version=1", None),
        ("POST", f"{path}/status", {"status": "contacted", "version": 1}),
        ("POST", f"{path}/convert", None),
    ]
    for method, url, body in writes:
        response = await client.request(method, url, headers=viewer.headers, json=body)
        assert response.status_code == 403, (method, url, response.text)
    assert (await get_target(client, admin, target["id"]))["version"] == 1


@pytest.mark.parametrize("role", ["manager", "marketing", "sales"])
async def test_every_writer_role_works_targets(client: httpx.AsyncClient, role: str) -> None:
    admin = await register_tenant(client)
    member = await add_member(client, admin, role)
    target = await create_target(client, member)
    qualified = await bring_to(client, member, target, "qualified")
    converted = await client.post(
        f"/api/v1/targets/{qualified['id']}/convert", headers=member.headers
    )
    assert converted.status_code == 200, converted.text


async def test_another_organizations_ids_are_404_everywhere(client: httpx.AsyncClient) -> None:
    ours = await register_tenant(client)
    theirs = await register_tenant(client)
    target = await create_target(client, ours)
    path = f"/api/v1/targets/{target['id']}"
    calls = [
        ("GET", path, None),
        ("GET", f"{path}/activities", None),
        ("PATCH", path, {"notes": "x", "version": 1}),
        ("DELETE", f"{path}?version=1", None),
        ("POST", f"{path}/status", {"status": "contacted", "version": 1}),
        ("POST", f"{path}/convert", None),
        ("GET", f"/api/v1/targets/{uuid.uuid4()}", None),
    ]
    for method, url, body in calls:
        response = await client.request(method, url, headers=theirs.headers, json=body)
        assert response.status_code == 404, (method, url, response.text)
    listed = await client.get("/api/v1/targets", headers=theirs.headers)
    assert listed.json()["items"] == []
    summary = await client.get("/api/v1/targets/summary", headers=theirs.headers)
    assert summary.json()["total"] == 0
    # Their own target with our target's email is no duplicate of ours.
    await create_target(client, theirs, email="same@acme.example")
    await create_target(client, ours, email="same@acme.example")
    assert (await get_target(client, ours, target["id"]))["version"] == 1
