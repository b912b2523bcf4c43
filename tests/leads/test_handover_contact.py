"""The lead's person survives the hand-over: claim, assign and convert find the
account's contact (by email, then phone) or add one, name it the deal's contact, and
carry the need, source and notes onto the deal (issue 14, defect 1)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from tests.factories import unique
from tests.leads.conftest import Org
from tests.ops.test_doctor import findings_of
from tests.targets.support import bring_to


async def _contacts(owner_conn: asyncpg.Connection, account_id: str) -> list[dict[str, Any]]:
    rows = await owner_conn.fetch(
        "SELECT id::text, first_name, last_name, email, phone, version FROM contacts"
        " WHERE account_id = $1::uuid AND deleted_at IS NULL ORDER BY created_at",
        account_id,
    )
    return [dict(row) for row in rows]


async def _account(client: httpx.AsyncClient, org: Org, name: str, domain: str) -> str:
    response = await client.post(
        "/api/v1/accounts", headers=org.sales.headers, json={"name": name, "domain": domain}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _contact(
    client: httpx.AsyncClient, org: Org, account_id: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/contacts",
        headers=org.sales.headers,
        json={"account_id": account_id, "first_name": "Existing", **fields},
    )
    assert response.status_code == 201, response.text
    contact: dict[str, Any] = response.json()
    return contact


async def test_a_claim_adds_the_leads_person_as_the_deals_contact(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    lead = await org.pooled(
        client,
        contact_name="Grace Brewster Hopper",
        email=f"{unique('grace')}@{unique('navy')}.example",
        phone="+1 (555) 010-2030",
        source="Trade fair Hamburg",
        notes="Met at booth 4; wants a call after March 3",
    )
    response = await org.action(client, lead, "claim")
    assert response.status_code == 200, response.text
    body = response.json()
    deal, account = body["deal"], body["account"]

    contacts = await _contacts(owner_conn, account["id"])
    assert [(c["first_name"], c["last_name"], c["email"], c["phone"]) for c in contacts] == [
        ("Grace", "Brewster Hopper", lead["email"], "+1 (555) 010-2030")
    ]
    assert deal["contact_id"] == contacts[0]["id"]
    assert (deal["source"], deal["need"], deal["notes"]) == (
        "Trade fair Hamburg",
        lead["need"],
        "Met at booth 4; wants a call after March 3",
    )
    # The planned work names the contact too.
    assert {a["contact_id"] for a in body["activities"]} == {contacts[0]["id"]}
    # The lead keeps what it had.
    again = (await org.get(client, lead)).json()
    assert (again["need"], again["source"], again["notes"]) == (
        lead["need"],
        "Trade fair Hamburg",
        "Met at booth 4; wants a call after March 3",
    )
    # The deal as the API reads it later, and on the board, says the same.
    read = await client.get(f"/api/v1/deals/{deal['id']}", headers=org.sales.headers)
    assert read.json()["contact_id"] == contacts[0]["id"]
    assert read.json()["need"] == lead["need"]


async def test_a_claim_reuses_the_accounts_contact_with_the_leads_email(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    domain = f"{unique('kestrel')}.example"
    account_id = await _account(client, org, unique("Kestrel"), domain)
    existing = await _contact(client, org, account_id, email=f"ops@{domain}", last_name="One")
    lead = await org.pooled(client, contact_name="Someone Else", email=f"ops@{domain}")
    response = await org.action(client, lead, "claim")
    assert response.status_code == 200, response.text
    deal = response.json()["deal"]
    assert response.json()["account"]["id"] == account_id
    assert deal["contact_id"] == existing["id"]
    contacts = await _contacts(owner_conn, account_id)
    assert [c["id"] for c in contacts] == [existing["id"]]
    # Found by email: nothing about it changes.
    assert contacts[0]["version"] == existing["version"]


async def test_a_claim_finds_the_contact_by_phone_digits_and_fills_its_email(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    domain = f"{unique('harbour')}.example"
    account_id = await _account(client, org, unique("Harbour"), domain)
    existing = await _contact(client, org, account_id, phone="+44 20 7946 0018")
    lead = await org.pooled(client, email=f"buyer@{domain}", phone="+44-20-79460018")
    response = await org.action(client, lead, "claim")
    assert response.status_code == 200, response.text
    assert response.json()["deal"]["contact_id"] == existing["id"]
    contacts = await _contacts(owner_conn, account_id)
    assert [(c["id"], c["email"], c["phone"]) for c in contacts] == [
        (existing["id"], f"buyer@{domain}", "+44 20 7946 0018")
    ]
    assert contacts[0]["version"] == existing["version"] + 1


async def test_the_same_phone_with_another_email_is_another_person(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    domain = f"{unique('switch')}.example"
    account_id = await _account(client, org, unique("Switchboard"), domain)
    existing = await _contact(
        client, org, account_id, email=f"reception@{domain}", phone="030 1234 5678"
    )
    lead = await org.pooled(client, email=f"cfo@{domain}", phone="030 12345678")
    response = await org.action(client, lead, "claim")
    assert response.status_code == 200, response.text
    contacts = await _contacts(owner_conn, account_id)
    assert [c["email"] for c in contacts] == [f"reception@{domain}", f"cfo@{domain}"]
    assert response.json()["deal"]["contact_id"] == contacts[1]["id"] != existing["id"]


async def test_an_assignment_and_a_conversion_keep_the_contact(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    lead = await org.pooled(client, contact_name="Ada", phone="0800 123 456", email=None)
    response = await org.action(
        client, lead, "assign", org.manager, json={"user_id": str(org.sales.user_id)}
    )
    assert response.status_code == 200, response.text
    deal, account = response.json()["deal"], response.json()["account"]
    contacts = await _contacts(owner_conn, account["id"])
    assert [(c["first_name"], c["email"], c["phone"]) for c in contacts] == [
        ("Ada", None, "0800 123 456")
    ]
    assert deal["contact_id"] == contacts[0]["id"]
    converted = await org.action(client, lead, "convert")
    assert converted.status_code == 200, converted.text
    assert converted.json()["deal"]["contact_id"] == contacts[0]["id"]
    assert len(await _contacts(owner_conn, account["id"])) == 1


async def test_target_conversion_finds_the_contact_by_phone(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    company = unique("Fjord Freight")
    account_id = await _account(client, org, company, f"{unique('fjord')}.example")
    existing = await _contact(client, org, account_id, phone="+47 22 00 11 22")
    response = await client.post(
        "/api/v1/targets",
        headers=org.sales.headers,
        json={
            "company_name": company,
            "contact_name": "Ola Nordmann",
            "phone": "+4722001122",
            "notes": "Imports salmon feed twice a month",
        },
    )
    assert response.status_code == 201, response.text
    target = await bring_to(client, org.sales, response.json(), "qualified")
    converted = await client.post(
        f"/api/v1/targets/{target['id']}/convert", headers=org.sales.headers
    )
    assert converted.status_code == 200, converted.text
    deal = converted.json()["deal"]
    assert deal["contact_id"] == existing["id"]
    assert deal["notes"] == "Imports salmon feed twice a month"
    assert [c["id"] for c in await _contacts(owner_conn, account_id)] == [existing["id"]]


async def test_doctor_finds_a_claimed_lead_whose_contact_is_gone(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    lead = await org.pooled(client, email=f"{unique('lost')}@{unique('doctor')}.example")
    claimed = await org.action(client, lead, "claim")
    assert claimed.status_code == 200, claimed.text
    assert "converted_lead_contact_missing" not in await findings_of(org.admin.tenant_slug)
    await owner_conn.execute(
        "UPDATE contacts SET deleted_at = now(), deletion_id = $2"
        " WHERE tenant_id = $1 AND email = $3",
        org.admin.tenant_id,
        uuid.uuid4(),
        lead["email"],
    )
    found = await findings_of(org.admin.tenant_slug)
    assert found["converted_lead_contact_missing"] == {lead["id"]}
