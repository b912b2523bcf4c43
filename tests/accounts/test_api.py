"""Accounts through the API: create, read, list, search, edit, the ledger, validation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest

from baton.core.ids import uuid7
from tests.accounts.support import add_transaction, create_account, today
from tests.factories import add_member, register_tenant


async def test_create_get_list_and_patch_round_trip(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    created = await create_account(
        client,
        admin,
        name="  Acme Corp  ",
        domain="https://www.Acme-Corp.com/about?x=1",
        tax_id="de 123 456 789",
        address="1 Road, Berlin",
        industry="Manufacturing",
        tags=["key", "eu", "key"],
    )
    assert created["name"] == "Acme Corp"
    assert created["domain"] == "acme-corp.com"
    assert created["tax_id"] == "DE123456789"
    assert created["tags"] == ["key", "eu"]
    assert created["owner_id"] == str(admin.user_id)
    assert created["version"] == 1
    assert created["status"] == {
        "tenure": "prospect",
        "activity": "no_transaction",
        "customer_since": None,
        "first_transaction_on": None,
        "last_transaction_on": None,
        "first_won_on": None,
    }

    fetched = await client.get(f"/api/v1/accounts/{created['id']}", headers=admin.headers)
    assert fetched.status_code == 200
    assert fetched.json() == created

    listed = await client.get("/api/v1/accounts", headers=admin.headers)
    assert [a["id"] for a in listed.json()["items"]] == [created["id"]]

    sales = await add_member(client, admin, "sales")
    patched = await client.patch(
        f"/api/v1/accounts/{created['id']}",
        headers=admin.headers,
        json={"industry": None, "owner_id": str(sales.user_id), "version": 1},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["industry"], body["owner_id"], body["version"]) == (None, str(sales.user_id), 2)
    assert body["name"] == "Acme Corp"
    assert body["updated_at"] >= created["updated_at"]

    mine = await client.get("/api/v1/accounts", headers=sales.headers, params={"owner": "me"})
    assert [a["id"] for a in mine.json()["items"]] == [created["id"]]
    not_mine = await client.get("/api/v1/accounts", headers=admin.headers, params={"owner": "me"})
    assert not_mine.json()["items"] == []


async def test_search_by_name_words_or_domain_prefix(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    acme = await create_account(client, admin, name="ACME, Inc.", domain="acme.io")
    globex = await create_account(client, admin, name="Globex  Corporation", domain="initech.com")
    await create_account(client, admin, name="Umbrella")

    async def search(q: str) -> list[str]:
        response = await client.get("/api/v1/accounts", headers=admin.headers, params={"q": q})
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert await search("acme inc") == [acme["id"]]
    assert await search("Acme") == [acme["id"]]
    assert await search("globex corp") == [globex["id"]]
    # The domain matches too, typed the way people paste it.
    assert await search("initech") == [globex["id"]]
    assert await search("https://www.acme.i") == [acme["id"]]
    # A word anywhere (issue 14, defect 5), but not the inside of a word.
    assert await search("corporation") == [globex["id"]]
    assert await search("oration") == []
    assert await search("%") == []
    assert await search("_") == []


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Acme.com", "acme.com"),
        ("http://acme.com", "acme.com"),
        ("https://www.acme.com/", "acme.com"),
        ("HTTPS://WWW.ACME.COM/path/to?q=1#top", "acme.com"),
        ("acme.com:8443", "acme.com"),
        ("user@mail.acme.co.uk", "mail.acme.co.uk"),
        ("  acme.com.  ", "acme.com"),
        ("bücher.de", "xn--bcher-kva.de"),
    ],
)
async def test_domains_are_stored_normalised(
    client: httpx.AsyncClient, given: str, stored: str
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin, domain=given)
    assert account["domain"] == stored


@pytest.mark.parametrize(
    "given",
    ["acme", "", "https://", "acme..com", "-acme.com", "acme_corp.com", "10.0.0.1", "a" * 300],
)
async def test_invalid_domains_are_422_on_domain(client: httpx.AsyncClient, given: str) -> None:
    admin = await register_tenant(client)
    response = await client.post(
        "/api/v1/accounts", headers=admin.headers, json={"name": "Acme", "domain": given}
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["domain"]


async def test_duplicate_domain_or_tax_id_is_409_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    first = await create_account(client, admin, domain="acme.com", tax_id="DE1")
    twin = await client.post(
        "/api/v1/accounts",
        headers=admin.headers,
        json={"name": "Acme again", "domain": "https://www.ACME.com"},
    )
    assert twin.status_code == 409
    assert [e["field"] for e in twin.json()["errors"]] == ["domain"]
    both = await client.post(
        "/api/v1/accounts",
        headers=admin.headers,
        json={"name": "Acme again", "domain": "acme.com", "tax_id": "de 1"},
    )
    assert both.status_code == 409
    assert [e["field"] for e in both.json()["errors"]] == ["domain", "tax_id"]
    other = await create_account(client, admin, domain="other.com")
    stolen = await client.patch(
        f"/api/v1/accounts/{other['id']}",
        headers=admin.headers,
        json={"tax_id": "DE1", "version": other["version"]},
    )
    assert stolen.status_code == 409
    assert [e["field"] for e in stolen.json()["errors"]] == ["tax_id"]
    # Re-sending its own values is no conflict.
    same = await client.patch(
        f"/api/v1/accounts/{first['id']}",
        headers=admin.headers,
        json={"domain": "acme.com", "tax_id": "DE1", "version": first["version"]},
    )
    assert same.status_code == 200, same.text
    # Another organization may have the same domain.
    elsewhere = await register_tenant(client)
    await create_account(client, elsewhere, domain="acme.com", tax_id="DE1")


async def test_stale_version_is_409_and_missing_version_is_422(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    url = f"/api/v1/accounts/{account['id']}"
    missing = await client.patch(url, headers=admin.headers, json={"name": "New"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "version"
    ok = await client.patch(url, headers={**admin.headers, "If-Match": '"1"'}, json={"name": "New"})
    assert ok.status_code == 200
    assert ok.json()["version"] == 2
    stale = await client.patch(url, headers=admin.headers, json={"name": "Newer", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["type"].endswith("stale-version")
    assert (await client.delete(url, headers=admin.headers)).status_code == 422
    assert (
        await client.delete(url, headers=admin.headers, params={"version": 1})
    ).status_code == 409
    assert (await client.get(url, headers=admin.headers)).json()["name"] == "New"


async def test_owner_must_be_a_writer_member(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")
    outsider = await register_tenant(client)
    for owner in (viewer.user_id, outsider.user_id, uuid.uuid4()):
        response = await client.post(
            "/api/v1/accounts",
            headers=admin.headers,
            json={"name": "Acme", "owner_id": str(owner)},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "owner_id"
    account = await create_account(client, admin)
    cleared = await client.patch(
        f"/api/v1/accounts/{account['id']}",
        headers=admin.headers,
        json={"owner_id": None, "version": 1},
    )
    assert cleared.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 201},
        {"name": "Acme", "tax_id": "x" * 65},
        {"name": "Acme", "address": "x" * 1001},
        {"name": "Acme", "industry": "x" * 101},
        {"name": "Acme", "tags": ["x" * 51]},
        {"name": "Acme", "tags": [f"t{n}" for n in range(21)]},
        {"name": "Acme", "owner_id": "not-a-uuid"},
        {"name": "Acme", "status": {"tenure": "active_customer"}},
        {"name": "Acme\x00"},
        {"name": 42},
    ],
)
async def test_malformed_and_oversized_input_is_422(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    admin = await register_tenant(client)
    response = await client.post("/api/v1/accounts", headers=admin.headers, json=body)
    assert response.status_code == 422, response.text


async def test_malformed_queries_are_422(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    for params in (
        {"tenure": "vip"},
        {"activity": "busy"},
        {"owner": "you"},
        {"q": "x" * 201},
        {"q": "a\x00b"},
        {"limit": 0},
        {"cursor": "!!"},
    ):
        response = await client.get("/api/v1/accounts", headers=admin.headers, params=params)
        assert response.status_code == 422, (params, response.text)
    assert (await client.get("/api/v1/accounts/nope", headers=admin.headers)).status_code == 422


async def test_pagination_walks_every_account_once(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    ids = [(await create_account(client, admin))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/accounts", headers=admin.headers, params=params)).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


async def test_the_ledger_records_decimal_amounts(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    url = f"/api/v1/accounts/{account['id']}/transactions"
    line = await client.post(
        url,
        headers=admin.headers,
        json={"occurred_on": today().isoformat(), "amount": 1250.5, "reference": "INV-1"},
    )
    assert line.status_code == 201, line.text
    body = line.json()
    # Decimals are answered as strings with two places, whatever the input looked like.
    assert body["amount"] == "1250.50"
    assert body["currency"] == "USD"  # the organization's default
    assert body["created_by"] == str(admin.user_id)
    credit = await add_transaction(client, admin, account["id"], 3, amount="-20", currency="usd")
    assert (credit["amount"], credit["currency"]) == ("-20.00", "USD")

    again = await client.post(
        url,
        headers=admin.headers,
        json={"occurred_on": today().isoformat(), "amount": "1", "reference": " INV-1 "},
    )
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "reference"

    for bad in (
        {"occurred_on": (today() + timedelta(days=5)).isoformat(), "amount": "1"},
        {"occurred_on": today().isoformat(), "amount": "1.001"},
        {"occurred_on": today().isoformat(), "amount": "1e13"},
        {"occurred_on": today().isoformat(), "amount": "NaN"},
        {"occurred_on": today().isoformat(), "amount": "1", "currency": "EURO"},
        {"occurred_on": "yesterday", "amount": "1"},
        {"occurred_on": today().isoformat()},
        {"occurred_on": today().isoformat(), "amount": "1", "reference": "x" * 201},
    ):
        response = await client.post(url, headers=admin.headers, json=bad)
        assert response.status_code == 422, (bad, response.text)

    listed = await client.get(url, headers=admin.headers, params={"limit": 1})
    assert [t["id"] for t in listed.json()["items"]] == [body["id"]]
    rest = await client.get(
        url, headers=admin.headers, params={"cursor": listed.json()["next_cursor"]}
    )
    assert [t["id"] for t in rest.json()["items"]] == [credit["id"]]
    status = (await client.get(f"/api/v1/accounts/{account['id']}", headers=admin.headers)).json()
    assert status["status"]["last_transaction_on"] == today().isoformat()

    missing = await client.post(
        f"/api/v1/accounts/{uuid.uuid4()}/transactions",
        headers=admin.headers,
        json={"occurred_on": today().isoformat(), "amount": "1"},
    )
    assert missing.status_code == 404


async def test_a_duplicate_domain_that_races_the_check_is_still_a_friendly_409(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The service's check cannot see an uncommitted twin; the unique index can, and its
    violation is answered like the check's."""
    admin = await register_tenant(client)
    async with owner_conn.transaction():
        await owner_conn.execute(
            "INSERT INTO accounts (tenant_id, id, name, owner_id, domain)"
            " VALUES ($1, $2, 'Twin', $3, 'race.com')",
            admin.tenant_id,
            uuid7(),
            admin.user_id,
        )
        request = asyncio.create_task(
            client.post(
                "/api/v1/accounts",
                headers=admin.headers,
                json={"name": "Racer", "domain": "race.com"},
            )
        )
        # Commit the twin only once the request waits on it (inside the unique index).
        for _ in range(200):
            waiting = await owner_conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
            if waiting:
                break
            await asyncio.sleep(0.02)
        assert waiting, "the request never reached the unique index"
    response = await request
    assert response.status_code == 409, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["domain"]
