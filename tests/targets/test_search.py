"""Target search (issue 14, defect 5): words anywhere in company, contact, email and
phone; a phone number by its digits whatever the formatting; ranked and paged."""

from __future__ import annotations

from typing import Any

import httpx

from baton.db.engine import Database
from tests.factories import Member, register_tenant
from tests.identity.test_statement_counts import counted
from tests.targets.support import bring_to, create_target


async def _ids(client: httpx.AsyncClient, member: Member, **params: Any) -> list[str]:
    response = await client.get("/api/v1/targets", headers=member.headers, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_words_anywhere_in_every_field(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    shop = await create_target(
        client,
        admin,
        company_name="Nordhafen Feinkost GmbH",
        contact_name="Jörg Weiß",
        email="joerg.weiss@nordhafen-feinkost.de",
        phone="+49 40 555 0199",
    )
    await create_target(client, admin, company_name="Südhafen Logistik", email="info@sl.example")

    for q in (
        "Feinkost",
        "feinkost gmbh",
        "jorg",
        "weiß",
        "joerg.weiss",
        "weiss@nordhafen",
        "nordhafen-feinkost.de",
        "555 0199",
        "5550199",
        "+49 40 5550199",
        "040/555-0199",
        "0199",
    ):
        assert await _ids(client, admin, q=q) == [shop["id"]], q
    assert await _ids(client, admin, q="hafen") == []
    assert await _ids(client, admin, q="feinkost logistik") == []
    # Three digits are a word of the number, not the end of it.
    assert await _ids(client, admin, q="199") == []


async def test_ranked_then_paged_with_the_status_filter(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await register_tenant(client)
    by_contact = await create_target(client, admin, company_name="Holz", contact_name="Feinkost")
    in_name = await create_target(client, admin, company_name="Alte Feinkost")
    contacted = await create_target(client, admin, company_name="Feinkost Contacted")
    await bring_to(client, admin, contacted, "contacted")
    starts = await create_target(client, admin, company_name="Feinkost Meyer")

    assert await _ids(client, admin, q="feinkost") == [
        contacted["id"],
        starts["id"],
        in_name["id"],
        by_contact["id"],
    ]
    assert await _ids(client, admin, q="feinkost", status="new_target") == [
        starts["id"],
        in_name["id"],
        by_contact["id"],
    ]

    seen: list[str] = []
    costs = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"q": "feinkost", "status": "new_target", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        with counted(database) as statements:
            page = (
                await client.get("/api/v1/targets", headers=admin.headers, params=params)
            ).json()
        costs.append(len(statements))
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [starts["id"], in_name["id"], by_contact["id"]]
    assert len(set(costs)) == 1, costs


async def test_another_tenants_targets_never_appear(client: httpx.AsyncClient) -> None:
    mine = await register_tenant(client)
    theirs = await register_tenant(client)
    own = await create_target(client, mine, company_name="Feinkost Mine", phone="+49 40 1111 2222")
    await create_target(client, theirs, company_name="Feinkost Theirs", phone="+49 40 1111 2222")

    assert await _ids(client, mine, q="feinkost") == [own["id"]]
    assert await _ids(client, mine, q="1111 2222") == [own["id"]]
    assert await _ids(client, mine, q="theirs") == []


async def test_blank_punctuation_and_long_queries(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    await create_target(client, admin, company_name="Acme")
    for q in ("  ", "%", "@", "+ ( ) -", "'&|!"):
        assert await _ids(client, admin, q=q) == [], q
    long = await client.get("/api/v1/targets", headers=admin.headers, params={"q": "a" * 1000})
    assert long.status_code == 422
