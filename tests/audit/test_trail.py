"""The change trail (issue 14, part 12): `GET /audit` and the Changes sections. Who
changed which field from what to what; readers see only records they may read;
only admins see the whole organization, security events included; the app role
still cannot read `audit_log`."""

from __future__ import annotations

import html
import re

import asyncpg
import httpx
import pytest

from tests.deals.conftest import Org as DealOrg
from tests.deals.conftest import insert_account, pipeline_steps
from tests.factories import add_member, register_tenant
from tests.leads import conftest as lead_fixtures
from tests.leads.conftest import Org
from tests.web.test_workflow_pages import _sign_in

org = lead_fixtures.org


async def test_a_records_trail_names_who_changed_what(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    account = (
        await client.post("/api/v1/accounts", headers=sales.headers, json={"name": "Trail Freight"})
    ).json()
    renamed = await client.patch(
        f"/api/v1/accounts/{account['id']}",
        headers=admin.headers,
        json={"name": "Trail Freight GmbH", "version": account["version"]},
    )
    assert renamed.status_code == 200, renamed.text

    trail = await client.get(
        "/api/v1/audit",
        headers=sales.headers,
        params={"entity_type": "account", "entity_id": account["id"]},
    )
    assert trail.status_code == 200, trail.text
    latest, created = trail.json()["items"][:2]
    assert (latest["action"], latest["actor_id"]) == ("update", str(admin.user_id))
    assert {"field": "name", "before": "Trail Freight", "after": "Trail Freight GmbH"} in (
        latest["changes"]
    )
    assert all(c["field"] not in ("version", "updated_at") for c in latest["changes"])
    assert (created["action"], created["actor_id"]) == ("insert", str(sales.user_id))

    # Paging by cursor: one at a time, oldest last.
    first = await client.get(
        "/api/v1/audit",
        headers=sales.headers,
        params={"entity_type": "account", "entity_id": account["id"], "limit": 1},
    )
    assert first.json()["items"][0]["id"] == latest["id"]
    following = await client.get(
        "/api/v1/audit",
        headers=sales.headers,
        params={
            "entity_type": "account",
            "entity_id": account["id"],
            "limit": 1,
            "cursor": first.json()["next_cursor"],
        },
    )
    assert following.json()["items"][0]["id"] == created["id"]

    # The page shows it in words.
    await _sign_in(client, sales)
    page = await client.get(f"/accounts/{account['id']}")
    assert 'id="changes"' in page.text
    assert "Trail Freight → Trail Freight GmbH" in page.text


async def test_readers_see_only_what_they_may_read(client: httpx.AsyncClient, org: Org) -> None:
    lead = await org.pooled(client)
    claimed = await org.action(client, lead, "claim")
    assert claimed.status_code == 200
    mine = await client.get(
        "/api/v1/audit",
        headers=org.sales.headers,
        params={"entity_type": "lead", "entity_id": lead["id"]},
    )
    assert mine.status_code == 200
    assert any(
        change["field"] == "sales_owner_id"
        for entry in mine.json()["items"]
        for change in entry["changes"]
    )
    # A colleague cannot see the claimed lead, nor its trail.
    theirs = await client.get(
        "/api/v1/audit",
        headers=org.other_sales.headers,
        params={"entity_type": "lead", "entity_id": lead["id"]},
    )
    assert theirs.status_code == 404
    # The whole organization's trail is the admins'.
    assert (await client.get("/api/v1/audit", headers=org.manager.headers)).status_code == 403
    # Admins read it all, security events included: the invitations of the fixture's
    # members are among them.
    events: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/api/v1/audit", headers=org.admin.headers, params=params)
        assert page.status_code == 200, page.text
        events |= {entry["event"] for entry in page.json()["items"] if entry["event"]}
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert "user.invited" in events
    # Another organization: 404 for the record, nothing of this one in its own trail.
    stranger = await register_tenant(client)
    other = await client.get(
        "/api/v1/audit",
        headers=stranger.headers,
        params={"entity_type": "lead", "entity_id": lead["id"]},
    )
    assert other.status_code == 404
    own = await client.get("/api/v1/audit", headers=stranger.headers, params={"limit": 100})
    assert lead["id"] not in {entry["entity_id"] for entry in own.json()["items"]}


async def test_half_a_record_name_is_refused(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    answer = await client.get(
        "/api/v1/audit", headers=admin.headers, params={"entity_type": "deal"}
    )
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["entity_id"]
    only_id = await client.get(
        "/api/v1/audit", headers=admin.headers, params={"entity_id": str(admin.user_id)}
    )
    assert only_id.status_code == 422, only_id.text
    assert [e["field"] for e in only_id.json()["errors"]] == ["entity_type"]
    bad = await client.get("/api/v1/audit", headers=admin.headers, params={"entity_type": "x"})
    assert bad.status_code == 422


async def test_the_app_role_still_cannot_read_the_audit_log(app_conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.fetch("SELECT * FROM audit_log LIMIT 1")


async def test_the_audit_page_is_for_admins(client: httpx.AsyncClient, org: Org) -> None:
    await _sign_in(client, org.admin)
    page = await client.get("/audit")
    assert page.status_code == 200
    assert "Download as CSV" in page.text
    exported = await client.get("/audit.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[0].startswith("at,actor,action")
    await _sign_in(client, org.manager)
    assert (await client.get("/audit")).status_code == 403
    assert (await client.get("/audit.csv")).status_code == 403


async def test_the_audit_page_lists_a_sign_in_once_and_names_stages(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    deals = DealOrg(
        admin=admin,
        sales=await add_member(client, admin, "sales"),
        account_id=await insert_account(owner_conn, admin),
        steps=await pipeline_steps(owner_conn, admin),
    )
    deal = await deals.create(client)
    moved = await deals.move(client, deal, "discovery")
    assert moved.status_code == 200, moved.text
    await _sign_in(client, deals.admin)

    page = await client.get("/audit")
    assert page.status_code == 200
    rows = _rows(page.text)
    # One sign-in, one row: its event, not also the session's row in `access_tokens`.
    assert len([row for row in rows if "Session created" in row]) == 1
    assert not [row for row in rows if "Access tokens" in row]
    # The member's invitation is its event alone too; their bearer sign-in likewise.
    assert len([row for row in rows if "Login ok" in row]) == 1
    stage = next(row for row in rows if "Stage:" in row)
    assert "Stage: Prospecting → Discovery" in stage
    assert "step_id" not in page.text.lower().replace("-", "_")

    # The API's whole trail agrees; the same change keeps its ids there.
    trail = await client.get("/api/v1/audit", headers=deals.admin.headers)
    items = trail.json()["items"]
    assert not [item for item in items if item["table_name"] in ("access_tokens", "invitations")]
    change = next(c for item in items for c in item["changes"] if c["field"] == "step_id")
    assert change["after"] == str(deals.steps["discovery"])
    # The deal's Changes section and the CSV name the stage too.
    detail = await client.get(f"/deals/{deal['id']}")
    assert "<strong>Stage</strong>: Prospecting → Discovery" in detail.text
    exported = await client.get("/audit.csv")
    assert "Stage,Prospecting,Discovery" in exported.text
    assert "access_tokens" not in exported.text


def _rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", row))).strip()
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
