"""The contact page over HTTP (issue 14, part 11): reached from the account and the
deal, it shows the person, their deals and activities; writers edit and move them to
another account or delete them; viewers only read; another organization's is 404."""

from __future__ import annotations

import httpx

from tests.factories import add_member, register_tenant
from tests.web.test_workflow_pages import HTMX, _sign_in


async def test_a_contact_page_shows_edits_moves_and_deletes(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    viewer = await add_member(client, admin, "viewer")
    first = (
        await client.post("/api/v1/accounts", headers=sales.headers, json={"name": "Kestrel"})
    ).json()
    second = (
        await client.post("/api/v1/accounts", headers=sales.headers, json={"name": "Osprey"})
    ).json()
    contact = (
        await client.post(
            "/api/v1/contacts",
            headers=sales.headers,
            json={"account_id": first["id"], "first_name": "Ada", "email": "ada@kestrel.example"},
        )
    ).json()
    deal = await client.post(
        "/api/v1/deals",
        headers=sales.headers,
        json={
            "name": "Kestrel spare parts",
            "account_id": first["id"],
            "contact_id": contact["id"],
            "amount": "2500.00",
            "next_step": "Call Ada",
            "next_step_due_date": "2031-01-10",
        },
    )
    assert deal.status_code == 201, deal.text
    await client.post(
        "/api/v1/activities",
        headers=sales.headers,
        json={
            "type": "call",
            "subject": "Ask Ada about volumes",
            "due_at": "2031-01-09T10:00:00Z",
            "contact_id": contact["id"],
        },
    )

    token = await _sign_in(client, sales)
    account_page = await client.get(f"/accounts/{first['id']}")
    assert f'href="/contacts/{contact["id"]}"' in account_page.text
    deal_page = await client.get(f"/deals/{deal.json()['id']}")
    assert f'href="/contacts/{contact["id"]}"' in deal_page.text

    page = await client.get(f"/contacts/{contact['id']}")
    assert page.status_code == 200, page.text
    assert "ada@kestrel.example" in page.text
    assert "Kestrel spare parts" in page.text
    assert "$2,500.00" in page.text
    assert "Ask Ada about volumes" in page.text
    assert "Edit, move or delete" in page.text

    moved = await client.post(
        f"/contacts/{contact['id']}/edit",
        data={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@kestrel.example",
            "phone": "",
            "title": "Head of purchasing",
            "account_id": second["id"],
            "version": str(contact["version"]),
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert moved.status_code == 200, moved.text
    assert moved.headers["HX-Redirect"] == f"/contacts/{contact['id']}"
    now = (await client.get(f"/api/v1/contacts/{contact['id']}", headers=sales.headers)).json()
    assert (now["account_id"], now["last_name"], now["title"]) == (
        second["id"],
        "Lovelace",
        "Head of purchasing",
    )

    stale = await client.post(
        f"/contacts/{contact['id']}/edit",
        data={
            "first_name": "Ada",
            "account_id": second["id"],
            "version": str(contact["version"]),
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert stale.status_code == 409

    await _sign_in(client, viewer)
    read = await client.get(f"/contacts/{contact['id']}")
    assert read.status_code == 200
    assert "Edit, move or delete" not in read.text

    token = await _sign_in(client, sales)
    deleted = await client.post(
        f"/contacts/{contact['id']}/delete",
        data={"version": str(now["version"]), "csrf_token": token},
        headers=HTMX,
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.headers["HX-Redirect"] == f"/accounts/{second['id']}"
    assert (await client.get(f"/contacts/{contact['id']}")).status_code == 404

    stranger = await register_tenant(client)
    await _sign_in(client, stranger)
    assert (await client.get(f"/contacts/{contact['id']}")).status_code == 404
