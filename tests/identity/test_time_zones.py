"""Each member reads and types times in their time zone (issue 14, defect 3): their
own (`PATCH /me`, My account), else the organization's; stored times stay UTC."""

from __future__ import annotations

import re

import httpx

from tests.factories import add_member, register_tenant
from tests.web.test_workflow_pages import HTMX, _sign_in


async def test_a_member_chooses_a_zone_and_falls_back_to_the_organizations(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    me = await client.get("/api/v1/me", headers=sales.headers)
    assert me.json()["timezone"] == "UTC"  # the organization's, by default

    chosen = await client.patch(
        "/api/v1/me", headers=sales.headers, json={"timezone": "Asia/Kolkata"}
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["timezone"] == "Asia/Kolkata"
    assert (await client.get("/api/v1/me", headers=sales.headers)).json()["timezone"] == (
        "Asia/Kolkata"
    )

    wrong = await client.patch("/api/v1/me", headers=sales.headers, json={"timezone": "Mars/Base"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "timezone"

    settings = await client.get("/api/v1/settings", headers=admin.headers)
    changed = await client.patch(
        "/api/v1/settings",
        headers=admin.headers,
        json={"timezone": "America/Chicago", "version": settings.json()["version"]},
    )
    assert changed.status_code == 200, changed.text
    # Their own choice stands; cleared, the organization's applies.
    assert (await client.get("/api/v1/me", headers=sales.headers)).json()["timezone"] == (
        "Asia/Kolkata"
    )
    cleared = await client.patch("/api/v1/me", headers=sales.headers, json={"timezone": None})
    assert cleared.json()["timezone"] == "America/Chicago"
    assert (await client.get("/api/v1/me", headers=admin.headers)).json()["timezone"] == (
        "America/Chicago"
    )


async def test_pages_show_and_read_times_in_the_members_zone(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    account = await client.post(
        "/api/v1/accounts", headers=sales.headers, json={"name": "Zone Freight"}
    )
    due = "2031-03-04T09:30:00Z"
    planned = await client.post(
        "/api/v1/activities",
        headers=sales.headers,
        json={
            "type": "call",
            "subject": "Zoned call",
            "due_at": due,
            "account_id": account.json()["id"],
        },
    )
    assert planned.status_code == 201, planned.text

    token = await _sign_in(client, sales)
    page = await client.get(f"/accounts/{account.json()['id']}")
    assert "due 2031-03-04 09:30" in page.text  # UTC: the organization's zone

    saved = await client.post(
        "/account/timezone", data={"timezone": "Asia/Kolkata", "csrf_token": token}
    )
    assert saved.status_code == 200
    assert "Times are now shown in Asia/Kolkata" in saved.text
    assert re.search(r'<option value="Asia/Kolkata" selected>', saved.text)
    page = await client.get(f"/accounts/{account.json()['id']}")
    assert "due 2031-03-04 15:00" in page.text  # +05:30
    assert "(UTC)" not in page.text

    # A time typed on a page is read in the member's zone and stored as UTC.
    logged = await client.post(
        f"/accounts/{account.json()['id']}/activities",
        data={
            "type": "call",
            "subject": "Typed in Kolkata",
            "due_at": "2031-03-05T10:00",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert logged.status_code == 200, logged.text
    activities = await client.get(
        "/api/v1/activities",
        headers=sales.headers,
        params={"account_id": account.json()["id"], "view": "planner", "owner": "me"},
    )
    typed = next(a for a in activities.json()["items"] if a["subject"] == "Typed in Kolkata")
    assert typed["due_at"].startswith("2031-03-05T04:30:00")
