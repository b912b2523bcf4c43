"""The Imports page and its buttons, by role: writers see the page and the buttons on
the lists they may import into; viewers get 403 and no button."""

from __future__ import annotations

import httpx

from tests.accounts.support import create_account
from tests.factories import Member, add_member, register_tenant
from tests.imports.support import uploaded
from tests.web.test_pages import _sign_in


async def _page(client: httpx.AsyncClient, member: Member, path: str) -> httpx.Response:
    client.cookies.clear()
    await _sign_in(client, member)
    return await client.get(path)


async def test_import_buttons_and_the_page_by_role(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    marketing = await add_member(client, admin, "marketing")
    sales = await add_member(client, admin, "sales")
    viewer = await add_member(client, admin, "viewer")

    page = await _page(client, marketing, "/imports?kind=leads")
    assert page.status_code == 200
    assert '<option value="leads" selected>' in page.text
    assert '<option value="targets"' in page.text
    assert "Import leads" in (await client.get("/leads/inbox")).text
    assert "Import targets" in (await client.get("/targets")).text

    page = await _page(client, sales, "/imports")
    assert page.status_code == 200
    assert '<option value="leads"' not in page.text
    assert '<option value="targets"' in page.text

    assert '<option value="accounts"' in page.text
    assert '<option value="deals"' not in page.text
    accounts = (await client.get("/accounts")).text
    assert "Import accounts" in accounts
    assert "Import invoices" not in accounts

    manager = await add_member(client, admin, "manager")
    page = await _page(client, manager, "/imports?kind=deals")
    for kind in ("targets", "leads", "accounts", "contacts", "transactions"):
        assert f'<option value="{kind}"' in page.text
    assert '<option value="deals" selected>' in page.text
    accounts = (await client.get("/accounts")).text
    assert "Import contacts" in accounts
    assert "Import invoices" in accounts

    assert (await _page(client, viewer, "/imports")).status_code == 403
    assert "Import targets" not in (await client.get("/targets")).text
    assert "Import accounts" not in (await client.get("/accounts")).text


async def test_a_deals_preview_shows_duplicates_without_internal_ids(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin, name="Acme")
    content = "Deal Name,Company,Stage\nRobots,Acme,Proposal\nrobots,acme,Discovery\n"
    batch = await uploaded(client, admin, content, kind="deals")
    page = await _page(client, admin, f"/imports/{batch['id']}")
    assert page.status_code == 200
    assert "Deal name at the account: robots" in page.text
    assert account["id"] not in page.text
    assert "row 1 of the file" in page.text
