"""Account and contact search (issue 14, defect 5): words anywhere in names, domains,
emails and phones, ranked, paged by (rank, id), one tenant only."""

from __future__ import annotations

from typing import Any

import httpx

from baton.db.engine import Database
from tests.accounts.support import create_account, create_contact
from tests.factories import Member, register_tenant
from tests.identity.test_statement_counts import counted


async def _search(
    client: httpx.AsyncClient, member: Member, q: str, path: str = "/api/v1/accounts", **params: Any
) -> list[str]:
    response = await client.get(path, headers=member.headers, params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_a_word_in_the_middle_and_a_prefix_of_a_later_word(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    nordhafen = await create_account(client, admin, name="Nordhafen Feinkost GmbH")
    await create_account(client, admin, name="Südhafen Logistik")

    assert await _search(client, admin, "Feinkost") == [nordhafen["id"]]
    assert await _search(client, admin, "fein") == [nordhafen["id"]]
    assert await _search(client, admin, "gmb") == [nordhafen["id"]]
    # Every word must match, in any order; the inside of a word does not.
    assert await _search(client, admin, "feinkost nord") == [nordhafen["id"]]
    assert await _search(client, admin, "feinkost logistik") == []
    assert await _search(client, admin, "einkost") == []


async def test_case_accents_and_punctuation_are_ignored(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    mueller = await create_account(client, admin, name="Müller & Söhne KG")
    obrien = await create_account(client, admin, name="O'Brien-Hall Ltd.")
    sudhafen = await create_account(client, admin, name="SÜDHAFEN Logistik")

    assert await _search(client, admin, "muller sohne") == [mueller["id"]]
    assert await _search(client, admin, "MÜLLER") == [mueller["id"]]
    assert await _search(client, admin, "söhne, kg!") == [mueller["id"]]
    assert await _search(client, admin, "südhafen") == [sudhafen["id"]]
    assert await _search(client, admin, "sudhafen") == [sudhafen["id"]]
    # Punctuation inside a name: as separate words, and joined.
    assert await _search(client, admin, "brien hall") == [obrien["id"]]
    assert await _search(client, admin, "o'brien") == [obrien["id"]]
    assert await _search(client, admin, "obrien") == [obrien["id"]]


async def test_domain_fragments(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    shop = await create_account(
        client, admin, name="Nordhafen Feinkost", domain="nordhafen-feinkost.de"
    )
    other = await create_account(client, admin, name="Globex", domain="globex-shop.com")

    assert await _search(client, admin, "nordhafen-feinkost.de") == [shop["id"]]
    assert await _search(client, admin, "https://www.nordhafen-feinkost.de/") == [shop["id"]]
    assert await _search(client, admin, "feinkost.de") == [shop["id"]]
    # "shop" is only in the other's domain, ".com" only in the other's too.
    assert await _search(client, admin, "shop") == [other["id"]]
    assert await _search(client, admin, "com") == [other["id"]]


async def test_best_matches_first(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    # Created in this order, so creation order alone would put them the other way.
    by_domain = await create_account(client, admin, name="Holzbau Nord", domain="feinkost-hub.de")
    in_name = await create_account(client, admin, name="Nordhafen Feinkost GmbH")
    second_in_name = await create_account(client, admin, name="Alte Feinkost")
    starts = await create_account(client, admin, name="Feinkost Meyer")

    assert await _search(client, admin, "feinkost") == [
        starts["id"],  # the name starts with the query
        in_name["id"],  # a word of the name, by creation order
        second_in_name["id"],
        by_domain["id"],  # found by the domain only
    ]
    assert await _search(client, admin, "nordhafen fein") == [in_name["id"]]


async def test_pages_while_searching_follow_the_rank(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    expected = []
    for n in range(3):
        expected.append((await create_account(client, admin, name=f"Feinkost {n}"))["id"])
    later = []
    for n in range(3):
        later.append((await create_account(client, admin, name=f"Nord Feinkost {n}"))["id"])
    domain_only = await create_account(client, admin, name="Holz", domain="feinkost.example")
    await create_account(client, admin, name="Unrelated")
    expected += [*later, domain_only["id"]]

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"q": "feinkost", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/accounts", headers=admin.headers, params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected

    # A plain list's cursor is no search's, and a search's cursor pages the plain list.
    plain = (
        await client.get("/api/v1/accounts", headers=admin.headers, params={"limit": 1})
    ).json()
    refused = await client.get(
        "/api/v1/accounts",
        headers=admin.headers,
        params={"q": "feinkost", "cursor": plain["next_cursor"]},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "cursor"
    searched = (
        await client.get(
            "/api/v1/accounts", headers=admin.headers, params={"q": "feinkost", "limit": 1}
        )
    ).json()
    onwards = await client.get(
        "/api/v1/accounts", headers=admin.headers, params={"cursor": searched["next_cursor"]}
    )
    assert onwards.status_code == 200
    assert onwards.json()["items"][0]["id"] == expected[1]


async def test_another_tenants_accounts_never_appear(client: httpx.AsyncClient) -> None:
    mine = await register_tenant(client)
    theirs = await register_tenant(client)
    own = await create_account(client, mine, name="Nordhafen Feinkost", domain="nf-mine.example")
    await create_account(client, theirs, name="Nordhafen Feinkost", domain="nf-theirs.example")
    await create_account(client, theirs, name="Feinkost Theirs")

    assert await _search(client, mine, "feinkost") == [own["id"]]
    assert await _search(client, mine, "theirs") == []


async def test_empty_blank_punctuation_and_long_queries(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    await create_account(client, admin, name="Acme")

    # An empty `q` is refused (422); blank or punctuation alone matches nothing.
    empty = await client.get("/api/v1/accounts", headers=admin.headers, params={"q": ""})
    assert empty.status_code == 422
    for q in ("   ", "%", "_", "-- ** --", "'", "\\", "&|!:*()"):
        assert await _search(client, admin, q) == [], q
    # 200 characters at most (422 beyond); more than eight words: the rest ignored.
    long = await client.get("/api/v1/accounts", headers=admin.headers, params={"q": "a" * 1000})
    assert long.status_code == 422
    assert await _search(client, admin, "acme " + "x" * 190) == []
    assert await _search(client, admin, " ".join(["acme"] * 8 + ["nothing"])) != []
    # tsquery syntax in the text is just text.
    assert await _search(client, admin, "acme:* | !x") == []
    assert await _search(client, admin, "acme & <->") != []


async def test_a_search_costs_the_same_statements_on_every_page(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await register_tenant(client)
    for n in range(5):
        await create_account(client, admin, name=f"Nord Feinkost {n}")
    costs = []
    cursor = None
    for _ in range(3):
        params: dict[str, Any] = {"q": "feinkost", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        with counted(database) as statements:
            page = (
                await client.get("/api/v1/accounts", headers=admin.headers, params=params)
            ).json()
        costs.append(len(statements))
        cursor = page["next_cursor"]
    assert cursor is None
    assert costs == [2, 2, 2]  # authenticate, the page


async def test_contacts_by_name_email_and_phone(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin, name="Nordhafen Feinkost")
    anna = await create_contact(
        client,
        admin,
        account["id"],
        first_name="Anna",
        last_name="Schmidt-Ötzal",
        email="anna.schmidt@nordhafen-feinkost.de",
        phone="+49 (40) 123-4567",
    )
    bernd = await create_contact(
        client, admin, account["id"], first_name="Bernd", email="b@anna-shop.example"
    )
    other = await register_tenant(client)
    elsewhere = await create_account(client, other, name="Elsewhere")
    await create_contact(client, other, elsewhere["id"], first_name="Anna", phone="040 1234567")

    def search(q: str, **params: Any) -> Any:
        return _search(client, admin, q, "/api/v1/contacts", **params)

    assert await search("schmidt") == [anna["id"]]
    assert await search("otzal") == [anna["id"]]
    # The name first, then whoever has the word elsewhere (Bernd's email).
    assert await search("anna") == [anna["id"], bernd["id"]]
    assert await search("schmidt@nordhafen") == [anna["id"]]
    assert await search("feinkost.de") == [anna["id"]]
    # Phone digits whatever the formatting: groups, all digits, the national form.
    for typed in ("123-4567", "1234567", "+49401234567", "040 123 4567", "(040) 1234567"):
        assert await search(typed) == [anna["id"]], typed
    assert await search("999 4567") == []
    assert await search("anna", account_id=account["id"]) == [anna["id"], bernd["id"]]


async def test_a_common_words_pages_are_the_one_big_page_cut(client: httpx.AsyncClient) -> None:
    """Pages 1..k of a word every account holds, each after the previous cursor, are the
    single big page: no account twice, none missing, same order."""
    admin = await register_tenant(client)
    for n in range(6):
        await create_account(client, admin, name=f"Gmbh Start {n}")
        await create_account(client, admin, name=f"Nordhafen Feinkost {n} GmbH")
        await create_account(client, admin, name=f"Holz {n}", domain=f"gmbh-{n}.example")
    other = await register_tenant(client)
    await create_account(client, other, name="Other Feinkost GmbH")

    big = (
        await client.get(
            "/api/v1/accounts", headers=admin.headers, params={"q": "gmbh", "limit": 200}
        )
    ).json()
    assert big["next_cursor"] is None
    whole = [item["id"] for item in big["items"]]
    assert len(whole) == 18

    for size in (1, 4, 7):
        seen: list[str] = []
        cursor = None
        for _ in range(30):
            params: dict[str, Any] = {"q": "gmbh", "limit": size}
            if cursor:
                params["cursor"] = cursor
            page = (
                await client.get("/api/v1/accounts", headers=admin.headers, params=params)
            ).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == whole, size
        assert len(set(seen)) == len(seen)
