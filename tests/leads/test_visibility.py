"""Who sees which leads (DESIGN §5): through the API, and through raw SQL as the app
role with each role's settings (what a bug in Python could do at worst); another
organization's lead ids are 404 on every endpoint."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import Member, register_tenant
from tests.leads.conftest import Org

VIEWS = ("inbox", "pool", "mine", "nurture", "disqualified", "converted")
ALLOWED_VIEWS = {
    "marketing": {"inbox", "pool", "nurture", "disqualified"},
    "sales": {"pool", "mine"},
    "admin": set(VIEWS),
    "manager": set(VIEWS),
    "viewer": set(VIEWS),
}


async def _one_of_each(client: httpx.AsyncClient, org: Org) -> dict[str, str]:
    """A lead in every view (mine: claimed by `org.sales`); view → lead id."""
    inbox = await org.create(client)
    nurture = await org.walk(client, await org.create(client), "in_review", "nurture")
    out = await org.walk(client, await org.create(client), "in_review")
    disqualified = (await org.triage(client, out, "disqualified", reason="no_fit")).json()
    pool = await org.pooled(client)
    mine = await org.pooled(client)
    assert (await org.action(client, mine, "claim")).status_code == 200
    converted = await org.pooled(client)
    assert (await org.action(client, converted, "claim")).status_code == 200
    assert (await org.action(client, converted, "convert")).status_code == 200
    return {
        "inbox": inbox["id"],
        "nurture": nurture["id"],
        "disqualified": disqualified["id"],
        "pool": pool["id"],
        "mine": mine["id"],
        "converted": converted["id"],
    }


def _members(org: Org) -> dict[str, Member]:
    return {
        "marketing": org.marketing,
        "sales": org.sales,
        "admin": org.admin,
        "manager": org.manager,
        "viewer": org.viewer,
    }


async def test_each_role_lists_only_its_queues(client: httpx.AsyncClient, org: Org) -> None:
    ids = await _one_of_each(client, org)
    for role, member in _members(org).items():
        for view in VIEWS:
            response = await client.get(
                "/api/v1/leads", params={"view": view}, headers=member.headers
            )
            if view not in ALLOWED_VIEWS[role]:
                assert response.status_code == 403, (role, view)
                continue
            assert response.status_code == 200, (role, view, response.text)
            listed = [item["id"] for item in response.json()["items"]]
            if view == "mine":
                # Only the caller's own claimed leads.
                assert listed == ([ids["mine"]] if member is org.sales else [])
            else:
                assert listed == [ids[view]], (role, view)


async def test_reads_by_id_follow_the_same_rules(client: httpx.AsyncClient, org: Org) -> None:
    ids = await _one_of_each(client, org)
    sees = {
        "marketing": {"inbox", "pool", "nurture", "disqualified"},
        "sales": {"pool", "mine", "converted"},  # the converted one is also theirs
        "admin": set(VIEWS),
        "manager": set(VIEWS),
        "viewer": set(VIEWS),
    }
    for role, member in _members(org).items():
        for view, lead_id in ids.items():
            response = await client.get(f"/api/v1/leads/{lead_id}", headers=member.headers)
            assert response.status_code == (200 if view in sees[role] else 404), (role, view)
    # Another salesperson sees the pool only.
    for view, lead_id in ids.items():
        response = await client.get(f"/api/v1/leads/{lead_id}", headers=org.other_sales.headers)
        assert response.status_code == (200 if view == "pool" else 404), view


async def _as(conn: asyncpg.Connection, member: Member) -> None:
    await conn.execute(
        "SELECT set_config('baton.tenant_id', $1, false), set_config('baton.role', $2, false),"
        " set_config('baton.user_id', $3, false)",
        str(member.tenant_id),
        member.role,
        str(member.user_id),
    )


async def test_raw_sql_as_the_app_role_sees_what_the_role_may(
    client: httpx.AsyncClient, org: Org, app_conn: asyncpg.Connection
) -> None:
    ids = await _one_of_each(client, org)
    by_id = {uuid.UUID(lead_id): view for view, lead_id in ids.items()}
    expected = {
        "marketing": {"inbox", "pool", "nurture", "disqualified"},
        "sales": {"pool", "mine", "converted"},
        "admin": set(VIEWS),
        "manager": set(VIEWS),
        "viewer": set(VIEWS),
    }
    for role, member in _members(org).items():
        await _as(app_conn, member)
        rows = await app_conn.fetch("SELECT id, view FROM leads")
        assert {by_id[row["id"]] for row in rows} == expected[role], role
        assert all(row["view"] == by_id[row["id"]] for row in rows)
    other = Member(**{**org.other_sales.__dict__})
    await _as(app_conn, other)
    rows = await app_conn.fetch("SELECT id FROM leads")
    assert {by_id[row["id"]] for row in rows} == {"pool"}
    # The pool itself is tenant-wide; the other tenant sees nothing at all.
    assert await app_conn.fetchval("SELECT count(*) FROM lead_pool") == 1


async def test_raw_sql_viewers_write_nothing(
    client: httpx.AsyncClient, org: Org, app_conn: asyncpg.Connection
) -> None:
    lead = await org.create(client)
    await _as(app_conn, org.viewer)
    updated = await app_conn.execute(
        "UPDATE leads SET notes = 'viewer was here' WHERE id = $1", uuid.UUID(lead["id"])
    )
    assert updated == "UPDATE 0"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.execute(
            "INSERT INTO leads (tenant_id, id, company_name, marketing_owner_id, workflow_id,"
            " step_id, entered_step_at, dedupe_key)"
            " SELECT tenant_id, gen_random_uuid(), 'Sneaky', marketing_owner_id, workflow_id,"
            " step_id, now(), 'sneaky' FROM leads WHERE id = $1",
            uuid.UUID(lead["id"]),
        )
    response = await client.patch(
        f"/api/v1/leads/{lead['id']}",
        headers=org.viewer.headers,
        json={"notes": "viewer", "version": lead["version"]},
    )
    assert response.status_code == 403
    create = await client.post(
        "/api/v1/leads", headers=org.viewer.headers, json={"company_name": "Nope"}
    )
    assert create.status_code == 403
    assert (await org.get(client, lead)).json()["notes"] is None


async def test_raw_sql_the_pool_and_the_step_stay_together(
    client: httpx.AsyncClient, org: Org, app_conn: asyncpg.Connection
) -> None:
    """Deleting a pool row without moving the lead is refused at commit, whoever does it."""
    lead = await org.pooled(client)
    await _as(app_conn, org.sales)
    with pytest.raises(asyncpg.CheckViolationError):
        async with app_conn.transaction():
            await app_conn.execute(
                "DELETE FROM lead_pool WHERE lead_id = $1", uuid.UUID(lead["id"])
            )
    assert (await org.get(client, lead)).json()["claim_due_at"] is not None


ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("PATCH", "", {"notes": "x", "version": 1}),
    ("POST", "/triage", {"status": "in_review", "version": 1}),
    ("POST", "/claim", None),
    ("POST", "/reject", {"reason": "no_fit"}),
    ("POST", "/release", None),
    ("POST", "/assign", {"user_id": str(uuid.uuid4())}),
    ("POST", "/convert", None),
]


async def test_another_organizations_leads_are_404_everywhere(
    client: httpx.AsyncClient, org: Org
) -> None:
    ids = await _one_of_each(client, org)
    stranger = await register_tenant(client)
    for lead_id in ids.values():
        for method, suffix, body in ENDPOINTS:
            response = await client.request(
                method, f"/api/v1/leads/{lead_id}{suffix}", headers=stranger.headers, json=body
            )
            assert response.status_code == 404, (method, suffix, response.text)
    for view in VIEWS:
        listed = await client.get("/api/v1/leads", params={"view": view}, headers=stranger.headers)
        assert listed.json()["items"] == []


async def test_lists_paginate_with_a_cursor(client: httpx.AsyncClient, org: Org) -> None:
    created = [(await org.create(client))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"view": "inbox", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (
            await client.get("/api/v1/leads", params=params, headers=org.marketing.headers)
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created


async def test_patch_edits_details_and_keeps_sales_leads_contactable(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.create(client)
    response = await client.patch(
        f"/api/v1/leads/{lead['id']}",
        headers=org.marketing.headers,
        json={"email": None, "phone": "030 / 555-12", "version": lead["version"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["dedupe_key"] == "03055512"
    stale = await client.patch(
        f"/api/v1/leads/{lead['id']}",
        headers=org.marketing.headers,
        json={"notes": "late", "version": lead["version"]},
    )
    assert stale.status_code == 409
    pooled = await org.pooled(client)
    refused = await client.patch(
        f"/api/v1/leads/{pooled['id']}",
        headers=org.marketing.headers,
        json={"need": None, "version": pooled["version"]},
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["need"]


async def test_raw_sql_sales_moves_a_lead_to_the_inbox_only_as_its_rejecter(
    client: httpx.AsyncClient, org: Org, app_conn: asyncpg.Connection
) -> None:
    """PostgreSQL checks the new row of an UPDATE that reads the table against the read
    policy, RETURNING or not: a salesperson's statement that sends a pooled lead back to
    the inbox is refused unless it records them as `rejected_by`, which keeps the lead
    (and only that one) readable to them."""
    lead = await org.pooled(client)
    await _as(app_conn, org.sales)
    step = await app_conn.fetchval(
        "SELECT s.id FROM workflow_steps s JOIN leads l ON l.tenant_id = s.tenant_id"
        " AND l.workflow_id = s.workflow_id WHERE l.id = $1 AND s.key = 'in_review'",
        uuid.UUID(lead["id"]),
    )

    async def send_back(rejected_by: uuid.UUID | None) -> None:
        async with app_conn.transaction():
            await app_conn.execute("SELECT set_config('baton.transition_reason', 'no_fit', true)")
            await app_conn.execute(
                "DELETE FROM lead_pool WHERE lead_id = $1", uuid.UUID(lead["id"])
            )
            await app_conn.execute(
                "UPDATE leads SET step_id = $2, rejected_at = now(), rejected_by = $3,"
                " reject_reason = 'no_fit' WHERE id = $1",
                uuid.UUID(lead["id"]),
                step,
                rejected_by,
            )

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await send_back(None)
    assert (await org.get(client, lead)).json()["view"] == "pool"
    await send_back(org.sales.user_id)
    assert (await org.get(client, lead)).json()["view"] == "inbox"
    visible = await app_conn.fetch("SELECT id FROM leads WHERE view = 'inbox'")
    assert [r["id"] for r in visible] == [uuid.UUID(lead["id"])]
