"""GET /api/v1/search: one query over every type, best first, grouped by type; the
role rules of each type's list (leads by queue, another organization never); bounds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from baton.db.engine import Database
from baton.search.queries import CAP
from tests.accounts.support import create_account, create_contact
from tests.factories import Member, register_tenant
from tests.identity.test_statement_counts import counted
from tests.leads.conftest import Org
from tests.targets.support import create_target

NEXT_WEEK = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()


def word() -> str:
    """A word no other test's records hold (letters only: the index's words)."""
    return "quokka" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:8])


async def search(client: httpx.AsyncClient, member: Member, **params: Any) -> httpx.Response:
    return await client.get("/api/v1/search", headers=member.headers, params=params)


async def found(client: httpx.AsyncClient, member: Member, **params: Any) -> list[dict[str, Any]]:
    response = await search(client, member, **params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def create_deal(
    client: httpx.AsyncClient, member: Member, account_id: str, name: str
) -> dict[str, Any]:
    body = {
        "name": name,
        "account_id": account_id,
        "next_step": "Call the buyer",
        "next_step_due_date": NEXT_WEEK,
    }
    response = await client.post("/api/v1/deals", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    deal: dict[str, Any] = response.json()
    return deal


async def create_work_item(client: httpx.AsyncClient, member: Member, name: str) -> dict[str, Any]:
    types = (await client.get("/api/v1/workflow/project-types", headers=member.headers)).json()
    ticket = next(t for t in types if t["name"] == "Support Ticket")
    response = await client.post(
        "/api/v1/work-items",
        headers=member.headers,
        json={"project_type_id": ticket["id"], "name": name},
    )
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


async def test_one_query_finds_every_type_best_first(client: httpx.AsyncClient, org: Org) -> None:
    w = word()
    starts = await create_account(client, org.admin, name=f"{w.title()} Handel GmbH")
    inside = await create_account(client, org.admin, name=f"Nordhafen {w.title()}")
    by_domain = await create_account(client, org.admin, name="Elsewhere AG", domain=f"{w}.de")
    contact = await create_contact(
        client, org.admin, starts["id"], first_name=w.title(), last_name="Krüger"
    )
    deal = await create_deal(client, org.sales, inside["id"], f"{w.title()} rollout")
    lead = await org.pooled(client, company_name=f"{w.title()} Logistik")
    target = await create_target(client, org.admin, company_name=f"{w.title()} Bau")
    item = await create_work_item(client, org.admin, f"{w.title()} printer")
    await create_account(client, org.admin, name="Unrelated Mühle")

    items = await found(client, org.admin, q=w)

    # Names starting with the word, type by type; then names holding it; then the rest.
    assert [(i["type"], i["id"]) for i in items] == [
        ("account", starts["id"]),
        ("contact", contact["id"]),
        ("deal", deal["id"]),
        ("lead", lead["id"]),
        ("target", target["id"]),
        ("work_item", item["id"]),
        ("account", inside["id"]),
        ("account", by_domain["id"]),
    ]
    shown = {i["id"]: i for i in items}
    assert shown[starts["id"]]["title"] == f"{w.title()} Handel GmbH"
    assert shown[starts["id"]]["url"] == f"/accounts/{starts['id']}"
    assert shown[by_domain["id"]]["subtitle"] == f"{w}.de"
    assert shown[contact["id"]]["title"] == f"{w.title()} Krüger"
    assert shown[contact["id"]]["subtitle"] == f"{w.title()} Handel GmbH"
    assert shown[contact["id"]]["url"] == f"/contacts/{contact['id']}"
    assert shown[deal["id"]]["subtitle"].startswith(f"Nordhafen {w.title()} · ")
    assert shown[deal["id"]]["url"] == f"/deals/{deal['id']}"
    assert shown[lead["id"]]["subtitle"] == "Grace Hopper · Sales Inbox"
    assert shown[lead["id"]]["url"] == f"/leads/{lead['id']}"
    assert shown[target["id"]]["url"].startswith("/targets?status=new_target&q=")
    assert shown[target["id"]]["url"].endswith(f"#target-{target['id']}")
    assert shown[item["id"]]["subtitle"].startswith("Support Ticket · ")
    assert shown[item["id"]]["url"] == f"/work-items/{item['id']}"

    # Words anywhere, each a prefix, all of them; case and accents ignored.
    two = await found(client, org.admin, q=f"{w[:-2].upper()} krug")
    assert [i["id"] for i in two] == [contact["id"]]


async def test_types_and_limit_choose_what_comes_back(client: httpx.AsyncClient, org: Org) -> None:
    w = word()
    accounts = [await create_account(client, org.admin, name=f"{w} {n}") for n in range(3)]
    inside = await create_account(client, org.admin, name=f"Alpha {w}")
    await create_deal(client, org.sales, inside["id"], f"{w} deal")
    await create_target(client, org.admin, company_name=f"{w} target")

    only = await found(client, org.admin, q=w, types="deal,target")
    assert sorted(i["type"] for i in only) == ["deal", "target"]
    first = await found(client, org.admin, q=w, types="account", limit=2)
    # The best two: names starting with the word, oldest first — not "Alpha …".
    assert [i["id"] for i in first] == [accounts[0]["id"], accounts[1]["id"]]
    each = await found(client, org.admin, q=w, limit=1)
    assert [i["type"] for i in each] == ["account", "deal", "target"]


async def test_each_role_finds_what_its_lists_show(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    w = word()
    inbox = await org.create(client, company_name=f"{w} Inbox GmbH")
    pooled = await org.pooled(client, company_name=f"{w} Pool GmbH")
    claimed = await org.pooled(client, company_name=f"{w} Claimed GmbH")
    assert (await org.action(client, claimed, "claim")).status_code == 200
    account = await create_account(client, org.admin, name=f"{w} Account")
    elsewhere = await create_account(client, other_org.admin, name=f"{w} Account")
    await other_org.create(client, company_name=f"{w} Inbox GmbH")

    def leads(items: list[dict[str, Any]]) -> set[str]:
        return {i["id"] for i in items if i["type"] == "lead"}

    marketing = await found(client, org.marketing, q=w)
    assert leads(marketing) == {inbox["id"], pooled["id"]}
    sales = await found(client, org.sales, q=w)
    assert leads(sales) >= {pooled["id"], claimed["id"]}
    assert inbox["id"] not in leads(sales)
    assert leads(await found(client, org.other_sales, q=w)) == {pooled["id"]}
    assert leads(await found(client, org.manager, q=w)) >= {
        inbox["id"],
        pooled["id"],
        claimed["id"],
    }
    # A claimed lead's account and deal: sales' and marketing's alike (every member reads them).
    for member in (org.admin, org.marketing, org.sales, org.viewer):
        ids = {i["id"] for i in await found(client, member, q=w)}
        assert account["id"] in ids
        assert elsewhere["id"] not in ids
    theirs = await found(client, other_org.admin, q=w)
    assert [i["id"] for i in theirs if i["type"] == "account"] == [elsewhere["id"]]
    assert not {inbox["id"], pooled["id"], claimed["id"]} & {i["id"] for i in theirs}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "acme", "limit": 0}, "limit"),
        ({"q": "acme", "limit": 51}, "limit"),
        ({"q": "acme", "types": "account,invoice"}, "types"),
        ({"q": "acme", "types": "Account"}, "types"),
        ({"q": "acme", "types": ""}, "types"),
    ],
)
async def test_an_invalid_query_is_422_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    admin = await register_tenant(client)
    response = await search(client, admin, **params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_a_query_without_letters_or_digits_finds_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await register_tenant(client)
    await create_account(client, admin, name="!!! Bang Bang")
    with counted(database) as statements:
        for q in ("!!!", " - / . ", "   "):
            assert await found(client, admin, q=q) == []
    # Authentication only: no search statement is sent for a query with no words.
    assert not any("baton_search_" in s for s in statements)
    assert (await found(client, admin, q="x" * 200)) == []
    assert (await found(client, admin, q="acme", limit=50)) == []


async def test_unauthenticated_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/search", params={"q": "acme"})).status_code == 401


async def test_one_statement_whatever_the_types_and_matches(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    w = word()
    for n in range(4):
        account = await create_account(client, org.admin, name=f"{w} {n}")
        await create_deal(client, org.sales, account["id"], f"{w} deal {n}")
        await create_target(client, org.admin, company_name=f"{w} target {n}")
    with counted(database) as few:
        await found(client, org.admin, q=w, limit=1)
    with counted(database) as many:
        items = await found(client, org.admin, q=w, limit=50)
    assert len(items) == 12
    assert len(many) == len(few)
    assert sum("baton_search_" in s for s in many) == 1


async def test_a_word_most_records_hold_ranks_the_first_200_and_says_so(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    w = word()
    await owner_conn.execute(
        "INSERT INTO accounts (tenant_id, id, name, owner_id)"
        " SELECT $1, baton_uuid7(), $2 || ' Handel ' || n, $3 FROM generate_series(1, $4) n",
        org.admin.tenant_id,
        w,
        org.admin.user_id,
        CAP + 5,
    )
    await create_target(client, org.admin, company_name=f"{w} Bau")
    response = await search(client, org.admin, q=w, limit=3)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["partial_types"] == ["account"]
    assert [i["type"] for i in body["items"]] == ["account"] * 3 + ["target"]
    assert all(i["title"].startswith(f"{w} Handel ") for i in body["items"][:3])
    narrower = await search(client, org.admin, q=f"{w} handel 7")
    assert narrower.json()["partial_types"] == []
