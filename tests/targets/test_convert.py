"""POST /targets/{id}/convert: account, contact, deal and its cadence enrolment (or a
first contact) in one transaction; idempotent; find-or-create of the account; all or
nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from baton.cadences.service import DEFAULT_CADENCE_STEPS
from baton.core.errors import StaleVersion
from baton.db.engine import Database
from baton.targets import service
from tests.accounts.support import create_account, create_contact
from tests.cadences.support import days_after_first, first_due_day
from tests.factories import Member, add_member, register_tenant
from tests.identity.test_statement_counts import counted
from tests.targets.support import bring_to, create_target, get_target


def _seeded_plan(company: str) -> list[tuple[str, str, int]]:
    """The seeded default cadence for `company`: type, subject and due day of each step
    (days from today, the delays adding up)."""
    plan, day = [], 0
    for kind, template, delay in DEFAULT_CADENCE_STEPS:
        day += delay
        plan.append((kind.value, template.replace("{company}", company), day))
    return plan


async def convert(client: httpx.AsyncClient, member: Member, target_id: str) -> httpx.Response:
    return await client.post(f"/api/v1/targets/{target_id}/convert", headers=member.headers)


async def counts(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> dict[str, int]:
    """Rows of the tenant that a conversion may write."""
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM accounts WHERE tenant_id = $1) AS accounts,"
        " (SELECT count(*) FROM contacts WHERE tenant_id = $1) AS contacts,"
        " (SELECT count(*) FROM deals WHERE tenant_id = $1) AS deals,"
        " (SELECT count(*) FROM activities WHERE tenant_id = $1) AS activities,"
        " (SELECT count(*) FROM workflow_history WHERE tenant_id = $1) AS history,"
        " (SELECT count(*) FROM audit_log WHERE tenant_id = $1) AS audit",
        tenant_id,
    )
    assert row is not None
    return dict(row)


async def history_keys(conn: asyncpg.Connection, record_id: str) -> list[tuple[str | None, str]]:
    rows = await conn.fetch(
        "SELECT f.key AS from_key, t.key AS to_key FROM workflow_history h"
        " LEFT JOIN workflow_steps f ON f.tenant_id = h.tenant_id AND f.id = h.from_step_id"
        " JOIN workflow_steps t ON t.tenant_id = h.tenant_id AND t.id = h.to_step_id"
        " WHERE h.record_id = $1 ORDER BY h.at, h.id",
        uuid.UUID(record_id),
    )
    return [(r["from_key"], r["to_key"]) for r in rows]


async def test_converting_a_qualified_target_makes_account_contact_deal_and_activity(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    marketing = await add_member(client, admin, "marketing")
    sales = await add_member(client, admin, "sales")
    target = await create_target(
        client,
        marketing,
        company_name="Acme Tools GmbH",
        contact_name="Ada King Lovelace",
        email="ada@acme-tools.example",
        phone="+49 30 1234",
        notes="Wants 200 units",
        owner_id=str(sales.user_id),
    )
    target = await bring_to(client, marketing, target, "qualified")
    before = await counts(owner_conn, admin.tenant_id)

    response = await convert(client, marketing, target["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    account, deal, converted = body["account"], body["deal"], body["target"]
    assert (account["name"], account["domain"]) == ("Acme Tools GmbH", "acme-tools.example")
    assert account["owner_id"] == str(sales.user_id)
    assert deal["account_id"] == account["id"]
    assert deal["owner_id"] == str(sales.user_id)
    assert deal["name"] == "Acme Tools GmbH"
    # The deal is enrolled in the default cadence: every step planned for its owner,
    # the first of them its next step.
    activities = body["activities"]
    assert [
        (a["type"], a["subject"], days_after_first(a["due_at"])) for a in activities
    ] == _seeded_plan("Acme Tools GmbH")
    assert (deal["next_step"], deal["next_step_due_date"]) == (
        "Intro call with Acme Tools GmbH",
        first_due_day().isoformat(),
    )
    assert deal["step"]["key"] == "prospecting"
    assert converted["status"] == "converted"
    assert (converted["account_id"], converted["deal_id"]) == (account["id"], deal["id"])
    assert converted["converted_at"] is not None
    assert converted["version"] == target["version"] + 1
    assert {
        (
            a["status"],
            a["owner_id"],
            a["deal_id"],
            a["account_id"],
            a["contact_id"],
            a["target_id"],
        )
        for a in activities
    } == {
        ("planned", str(sales.user_id), deal["id"], account["id"], deal["contact_id"], target["id"])
    }
    enrollment = await owner_conn.fetchrow(
        "SELECT e.status, e.owner_id, c.is_default FROM cadence_enrollments e"
        " JOIN cadences c ON c.tenant_id = e.tenant_id AND c.id = e.cadence_id"
        " WHERE e.deal_id = $1::uuid",
        deal["id"],
    )
    assert enrollment is not None
    assert tuple(enrollment) == ("active", sales.user_id, True)
    contact = await client.get(f"/api/v1/contacts/{deal['contact_id']}", headers=admin.headers)
    assert contact.status_code == 200
    assert (contact.json()["first_name"], contact.json()["last_name"]) == ("Ada", "King Lovelace")
    assert (contact.json()["email"], contact.json()["phone"]) == (
        "ada@acme-tools.example",
        "+49 30 1234",
    )
    assert contact.json()["account_id"] == account["id"]

    after = await counts(owner_conn, admin.tenant_id)
    assert after["accounts"] - before["accounts"] == 1
    assert after["contacts"] - before["contacts"] == 1
    assert after["deals"] - before["deals"] == 1
    # the cadence's activities, the target's "Stage changed" entry
    assert after["activities"] - before["activities"] == len(activities) + 1
    assert (await history_keys(owner_conn, target["id"]))[-1] == ("qualified", "converted")

    # Converting again answers the same records and writes nothing.
    again = await convert(client, admin, target["id"])
    assert again.status_code == 200, again.text
    repeat = again.json()
    assert repeat["account"]["id"] == account["id"]
    assert repeat["deal"]["id"] == deal["id"]
    assert [a["id"] for a in repeat["activities"]] == [a["id"] for a in activities]
    assert repeat["target"] == converted
    assert await counts(owner_conn, admin.tenant_id) == after


async def test_converting_an_engaged_target_qualifies_it_on_the_way(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    target = await bring_to(
        client, admin, await create_target(client, admin, email="bo@gmail.com"), "engaged"
    )
    response = await convert(client, admin, target["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["target"]["status"] == "converted"
    assert body["target"]["version"] == target["version"] + 2
    # Free mail says nothing about the company: no domain.
    assert body["account"]["domain"] is None
    assert (await history_keys(owner_conn, target["id"]))[-2:] == [
        ("engaged", "qualified"),
        ("qualified", "converted"),
    ]
    timeline = await client.get(f"/api/v1/targets/{target['id']}/activities", headers=admin.headers)
    subjects = [a["subject"] for a in timeline.json() if a["type"] == "system"]
    assert subjects[:2] == [
        "Stage changed: Qualified → Converted",
        "Stage changed: Engaged → Qualified",
    ]
    # No contact name: the person is named after the email.
    contact = await client.get(
        f"/api/v1/contacts/{body['deal']['contact_id']}", headers=admin.headers
    )
    assert contact.json()["first_name"] == "bo"


async def test_a_target_without_person_gets_no_contact(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    target = await bring_to(client, admin, await create_target(client, admin), "qualified")
    body = (await convert(client, admin, target["id"])).json()
    assert body["deal"]["contact_id"] is None
    assert body["activities"][0]["contact_id"] is None


async def test_a_contact_fills_the_cadences_contact_placeholder(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    await owner_conn.execute(
        "UPDATE cadence_steps s SET subject_template = 'Call {contact} at {company}'"
        " FROM cadences c WHERE c.tenant_id = s.tenant_id AND c.id = s.cadence_id"
        " AND c.is_default AND s.tenant_id = $1 AND s.position = 1",
        admin.tenant_id,
    )
    target = await create_target(
        client, admin, company_name="Wayne Enterprises", contact_name="Lucius Fox"
    )
    body = (
        await convert(client, admin, (await bring_to(client, admin, target, "qualified"))["id"])
    ).json()
    assert body["deal"]["next_step"] == "Call Lucius Fox at Wayne Enterprises"
    assert body["activities"][0]["subject"] == "Call Lucius Fox at Wayne Enterprises"
    assert body["activities"][0]["contact_id"] == body["deal"]["contact_id"]


@pytest.mark.parametrize("setup", ["no default", "inactive default"])
async def test_without_an_active_default_cadence_a_conversion_plans_a_first_contact(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, setup: str
) -> None:
    admin = await register_tenant(client)
    # The service keeps a default cadence active; the database alone does not.
    column = "is_default" if setup == "no default" else "active"
    await owner_conn.execute(
        f"UPDATE cadences SET {column} = false WHERE tenant_id = $1 AND is_default",
        admin.tenant_id,
    )
    target = await create_target(client, admin, contact_name="Ann Lee", notes="Wants 5 units")
    target = await bring_to(client, admin, target, "qualified")
    response = await convert(client, admin, target["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    today = first_due_day().isoformat()
    assert (body["deal"]["next_step"], body["deal"]["next_step_due_date"]) == (
        "First contact",
        today,
    )
    [activity] = body["activities"]
    assert (activity["type"], activity["subject"], activity["description"]) == (
        "call",
        "First contact",
        "Wants 5 units",
    )
    assert activity["due_at"].startswith(today)
    assert activity["contact_id"] == body["deal"]["contact_id"] is not None
    enrolled = await owner_conn.fetchval(
        "SELECT count(*) FROM cadence_enrollments WHERE deal_id = $1::uuid", body["deal"]["id"]
    )
    assert enrolled == 0


async def test_conversion_finds_the_account_by_domain_then_by_name(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    by_domain = await create_account(
        client, admin, name="Initech Holdings", domain="initech.example"
    )
    by_name = await create_account(client, admin, name="Globex, Inc.")
    await create_account(client, admin, name="Initech")

    async def converted(**fields: Any) -> dict[str, Any]:
        target = await bring_to(
            client, admin, await create_target(client, admin, **fields), "qualified"
        )
        response = await convert(client, admin, target["id"])
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    before = await counts(owner_conn, admin.tenant_id)
    # The domain wins over an account with the very name.
    first = await converted(company_name="Initech", email="peter@Initech.example")
    assert first["account"]["id"] == by_domain["id"]
    # Free mail: matched on the normalised name.
    second = await converted(company_name="globex inc", email="hank@gmail.com")
    assert second["account"]["id"] == by_name["id"]
    third = await converted(company_name="GLOBEX INC.", phone="555 0100")
    assert third["account"]["id"] == by_name["id"]
    # A person the account already has is reused, not added twice.
    mike = await create_contact(client, admin, by_domain["id"], email="mike@initech.example")
    fourth = await converted(company_name="Initech", email="MIKE@initech.example")
    assert fourth["deal"]["contact_id"] == mike["id"]
    after = await counts(owner_conn, admin.tenant_id)
    assert after["accounts"] == before["accounts"]
    assert after["deals"] - before["deals"] == 4
    # peter, hank and the phone-only stand-in; mike was there
    assert after["contacts"] - before["contacts"] == 4


async def test_concurrent_conversions_of_one_company_find_one_account(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    one = await bring_to(
        client,
        admin,
        await create_target(client, admin, company_name="Umbrella", email="a@umbrella.example"),
        "qualified",
    )
    two = await bring_to(
        client,
        admin,
        await create_target(client, admin, company_name="UMBRELLA.", email="b@umbrella.example"),
        "qualified",
    )
    three = await bring_to(
        client,
        admin,
        await create_target(client, admin, company_name="umbrella", phone="123 456"),
        "qualified",
    )
    answers = await asyncio.gather(*(convert(client, admin, t["id"]) for t in (one, two, three)))
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    assert len({a.json()["account"]["id"] for a in answers}) == 1
    assert (await counts(owner_conn, admin.tenant_id))["accounts"] == 1


async def test_concurrent_converts_of_one_target_make_one_deal(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    target = await bring_to(client, admin, await create_target(client, admin), "qualified")
    answers = await asyncio.gather(*(convert(client, admin, target["id"]) for _ in range(5)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["deal"]["id"] for a in answers}) == 1
    assert (await counts(owner_conn, admin.tenant_id))["deals"] == 1


async def test_a_refused_deal_undoes_the_whole_conversion(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, database: Database
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    target = await create_target(
        client,
        admin,
        company_name="Soylent",
        contact_name="Sol Roth",
        email="sol@soylent.example",
        owner_id=str(sales.user_id),
    )
    target = await bring_to(client, admin, target, "engaged")
    # The owner can no longer own records: the deal is refused after the account and
    # the contact were written.
    await owner_conn.execute(
        "UPDATE memberships SET role = 'viewer' WHERE tenant_id = $1 AND user_id = $2",
        admin.tenant_id,
        sales.user_id,
    )
    before = await counts(owner_conn, admin.tenant_id)
    history_before = await history_keys(owner_conn, target["id"])

    with counted(database) as statements:
        response = await convert(client, admin, target["id"])
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "owner_id"
    assert any(s.startswith("INSERT INTO accounts") for s in statements)
    assert any("INSERT INTO contacts" in s for s in statements)
    # Nothing at all was written, not even an audit row.
    assert await counts(owner_conn, admin.tenant_id) == before
    assert await history_keys(owner_conn, target["id"]) == history_before
    assert await get_target(client, admin, target["id"]) == target
    accounts = await client.get("/api/v1/accounts", headers=admin.headers, params={"q": "soylent"})
    assert accounts.json()["items"] == []


async def test_a_failure_after_the_deal_and_first_move_undoes_everything(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await register_tenant(client)
    target = await bring_to(
        client, admin, await create_target(client, admin, contact_name="Al"), "engaged"
    )
    real_move = service._move
    calls = 0

    async def second_move_fails(ctx: Any, params: dict[str, Any]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise StaleVersion("injected after the deal and the first move")
        return await real_move(ctx, params)

    monkeypatch.setattr(service, "_move", second_move_fails)
    before = await counts(owner_conn, admin.tenant_id)
    history_before = await history_keys(owner_conn, target["id"])
    response = await convert(client, admin, target["id"])
    assert response.status_code == 409, response.text
    assert calls == 2
    assert await counts(owner_conn, admin.tenant_id) == before
    assert await history_keys(owner_conn, target["id"]) == history_before
    assert await get_target(client, admin, target["id"]) == target
    monkeypatch.undo()
    assert (await convert(client, admin, target["id"])).status_code == 200
