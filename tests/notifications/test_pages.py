"""The bell on every page and the Notifications page: the count follows what is
unread, marking read (one, all) and following a notification to its record; nobody
sees or touches another member's notifications, nor another organization's."""

from __future__ import annotations

import re
import uuid

import asyncpg
import httpx

from tests.factories import Member, add_member, register_tenant
from tests.notifications.test_api import _list, _notify, _notifying_flow
from tests.web.test_workflow_pages import HTMX, _sign_in

URL = "/api/v1/me/notifications"


def _bell(page: str, place: str = "side") -> str:
    match = re.search(rf'<a href="/notifications" id="bell-{place}"[^>]*aria-label="([^"]+)"', page)
    assert match, page[:2000]
    return match.group(1)


async def _seller_with_three(
    client: httpx.AsyncClient,
) -> tuple[Member, Member, Member, list[dict[str, object]]]:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    manager = await add_member(client, admin, "manager")
    flow = await _notifying_flow(client, admin)
    for title in ("First", "Second", "Third"):
        await _notify(client, flow, seller, admin, title)
    await _notify(client, flow, manager, admin, "The manager's own")
    items = (await _list(client, seller))["items"]
    return admin, seller, manager, items


async def test_the_bell_counts_unread_and_the_list_marks_read_and_follows(
    client: httpx.AsyncClient,
) -> None:
    _admin, seller, manager, items = await _seller_with_three(client)
    token = await _sign_in(client, seller)

    for page in ("/", "/pipeline", "/account", "/activities"):
        answer = await client.get(page)
        assert answer.status_code == 200, page
        assert _bell(answer.text) == "Notifications: 3 unread"
        assert _bell(answer.text, "top") == "Notifications: 3 unread"
        assert '<span class="bell-count" aria-hidden="true">3</span>' in answer.text

    listed = await client.get("/notifications")
    assert listed.status_code == 200
    for title in ("First", "Second", "Third"):
        assert f"{title} is in Review" in listed.text
    assert "The manager&#39;s own" not in listed.text
    assert "The manager's own" not in listed.text
    assert 'aria-current="page"' in listed.text

    # Marking one read through htmx redraws the list and both bells.
    newest = str(items[0]["id"])
    marked = await client.post(
        f"/notifications/{newest}/read", headers={**HTMX, "X-CSRF-Token": token}
    )
    assert marked.status_code == 200, marked.text
    assert re.search(r'id="bell-top" [^>]*hx-swap-oob="true"', marked.text)
    assert re.search(r'id="bell-side" [^>]*hx-swap-oob="true"', marked.text)
    assert _bell(marked.text) == "Notifications: 2 unread"
    assert "Marked read" in marked.text

    # Following one marks it read and opens its record.
    oldest = items[-1]
    followed = await client.get(f"/notifications/{oldest['id']}")
    assert followed.status_code == 303
    assert followed.headers["location"] == f"/work-items/{oldest['record_id']}"
    assert _bell((await client.get("/")).text) == "Notifications: 1 unread"
    unread = await client.get("/notifications?unread=1")
    assert "Second is in Review" in unread.text
    assert "First is in Review" not in unread.text

    everything = await client.post(
        "/notifications/read-all", headers={**HTMX, "X-CSRF-Token": token}
    )
    assert everything.status_code == 200
    assert "1 marked read" in everything.text
    assert _bell(everything.text) == "Notifications: none unread"
    page = (await client.get("/notifications")).text
    assert "Mark all read" not in page
    assert _bell(page) == "Notifications: none unread"
    assert "bell-count" not in page

    # The manager's own is untouched by all of this.
    assert [n["read_at"] for n in (await _list(client, manager))["items"]] == [None]


async def test_nobody_opens_or_marks_another_members_or_organizations_notification(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    _admin, seller, manager, _items = await _seller_with_three(client)
    managers = (await _list(client, manager))["items"][0]["id"]
    stranger = await register_tenant(client)
    strangers_seller = await add_member(client, stranger, "sales")
    flow = await _notifying_flow(client, stranger)
    await _notify(client, flow, strangers_seller, stranger, "Elsewhere")
    elsewhere = (await _list(client, strangers_seller))["items"][0]["id"]

    token = await _sign_in(client, seller)
    for foreign in (managers, elsewhere, str(uuid.uuid4())):
        assert (await client.get(f"/notifications/{foreign}")).status_code == 404
        refused = await client.post(
            f"/notifications/{foreign}/read", headers={**HTMX, "X-CSRF-Token": token}
        )
        assert refused.status_code == 404
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM notifications WHERE id = ANY($1::uuid[]) AND read_at IS NOT NULL",
            [uuid.UUID(managers), uuid.UUID(elsewhere)],
        )
        == 0
    )
    # Marking everything read touches the seller's only.
    await client.post("/notifications/read-all", headers={**HTMX, "X-CSRF-Token": token})
    assert (await _list(client, manager))["items"][0]["read_at"] is None
    assert (await _list(client, strangers_seller))["items"][0]["read_at"] is None

    # No CSRF token, no change; signed out, the sign-in page.
    bare = await client.post(f"/notifications/{managers}/read", headers=HTMX)
    assert bare.status_code == 403
    client.cookies.clear()
    signed_out = await client.get("/notifications")
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login")


async def test_the_count_stops_at_99_plus_and_the_api_says_the_same(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    await owner_conn.execute(
        "INSERT INTO notifications (tenant_id, id, user_id, kind, message)"
        " SELECT $1, gen_random_uuid(), $2, 'update', 'Note ' || n FROM generate_series(1, 120) n",
        admin.tenant_id,
        seller.user_id,
    )
    count = await client.get(f"{URL}/unread-count", headers=seller.headers)
    assert count.json() == {"unread": 100}
    await _sign_in(client, seller)
    assert _bell((await client.get("/")).text) == "Notifications: 99+ unread"
    # 50 on the first page, then the older ones.
    page = (await client.get("/notifications")).text
    assert page.count('class="notification unread"') == 50
    assert "Older notifications" in page

    marked = await client.post(f"{URL}/read-all", headers=seller.headers)
    assert marked.json() == {"marked": 120}
    again = await client.post(f"{URL}/read-all", headers=seller.headers)
    assert again.json() == {"marked": 0}
    assert (await client.get(f"{URL}/unread-count", headers=seller.headers)).json() == {"unread": 0}
    # The admin's count was never the seller's.
    assert (await client.get(f"{URL}/unread-count", headers=admin.headers)).json() == {"unread": 0}


async def test_my_account_offers_the_emails_of_the_role_and_saves_the_choice(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    token = await _sign_in(client, seller)
    page = (await client.get("/account")).text
    assert 'value="assignment" checked' in page
    assert 'value="digest" checked' in page
    assert 'value="escalation"' not in page  # salespeople get no escalations
    assert "This server sends no email yet" in page
    saved = await client.post("/account/email", data={"csrf_token": token, "email": "assignment"})
    assert saved.status_code == 200
    assert "Email choices saved" in saved.text
    assert 'value="digest">' in saved.text  # unticked now
    me = (await client.get("/api/v1/me", headers=seller.headers)).json()
    assert me["email_notifications"] == {"assignment": True, "escalation": True, "digest": False}
    # Without the CSRF token nothing changes.
    refused = await client.post("/account/email", data={"email": "digest"})
    assert refused.status_code == 403

    await _sign_in(client, admin)
    assert 'value="escalation" checked' in (await client.get("/account")).text
