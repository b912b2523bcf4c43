"""The Imports page and its buttons, by role: writers see the page and the buttons on
the lists they may import into; viewers get 403 and no button."""

from __future__ import annotations

import httpx

from tests.factories import Member, add_member, register_tenant
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

    assert (await _page(client, viewer, "/imports")).status_code == 403
    assert "Import targets" not in (await client.get("/targets")).text
