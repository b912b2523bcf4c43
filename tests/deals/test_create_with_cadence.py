"""POST /deals with `cadence_id`: the deal, its enrolment and the cadence's activities
in one statement; the earliest activity is the next step unless one is given."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from baton.cadences.service import DEFAULT_CADENCE_STEPS
from baton.db.engine import Database
from tests.cadences.support import first_due_day
from tests.deals.conftest import NEXT_WEEK, Org, insert_contact
from tests.factories import register_tenant, unique
from tests.identity.test_statement_counts import counted


async def _default_cadence(owner_conn: asyncpg.Connection, org: Org) -> uuid.UUID:
    found = await owner_conn.fetchval(
        "SELECT id FROM cadences WHERE tenant_id = $1 AND is_default", org.admin.tenant_id
    )
    assert found is not None
    return found


async def _footprint(owner_conn: asyncpg.Connection, org: Org) -> tuple[int, ...]:
    row = await owner_conn.fetchrow(
        "SELECT (SELECT count(*) FROM deals WHERE tenant_id = $1),"
        " (SELECT count(*) FROM cadence_enrollments WHERE tenant_id = $1),"
        " (SELECT count(*) FROM activities WHERE tenant_id = $1)",
        org.admin.tenant_id,
    )
    return tuple(row)


async def _create(client: httpx.AsyncClient, org: Org, **body: Any) -> httpx.Response:
    return await client.post(
        "/api/v1/deals",
        headers=org.sales.headers,
        json={"name": unique("Deal"), "account_id": str(org.account_id), **body},
    )


async def test_a_deal_created_with_a_cadence_plans_its_activities_and_takes_the_first_as_next_step(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    cadence_id = await _default_cadence(owner_conn, org)
    company = await owner_conn.fetchval("SELECT name FROM accounts WHERE id = $1", org.account_id)
    contact_id = await insert_contact(owner_conn, org.admin, org.account_id)
    created = await _create(client, org, cadence_id=str(cadence_id), contact_id=str(contact_id))
    assert created.status_code == 201, created.text
    deal = created.json()
    assert deal["next_step"] == f"Intro call with {company}"
    assert deal["next_step_due_date"] == first_due_day().isoformat()

    enrolment = await owner_conn.fetchrow(
        "SELECT cadence_id, status, owner_id FROM cadence_enrollments WHERE deal_id = $1",
        uuid.UUID(deal["id"]),
    )
    assert (enrolment["cadence_id"], enrolment["status"]) == (cadence_id, "active")
    assert enrolment["owner_id"] == org.sales.user_id
    activities = await owner_conn.fetch(
        "SELECT type, subject, status, owner_id, account_id, contact_id FROM activities"
        " WHERE deal_id = $1 ORDER BY due_at, id",
        uuid.UUID(deal["id"]),
    )
    assert [(a["type"], a["subject"]) for a in activities] == [
        (kind.value, template.replace("{company}", company))
        for kind, template, _ in DEFAULT_CADENCE_STEPS
    ]
    assert {(a["status"], a["owner_id"], a["account_id"], a["contact_id"]) for a in activities} == {
        ("planned", org.sales.user_id, org.account_id, contact_id)
    }


async def test_a_given_next_step_wins_over_the_cadence(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    cadence_id = await _default_cadence(owner_conn, org)
    created = await _create(
        client,
        org,
        cadence_id=str(cadence_id),
        next_step="Send the quote",
        next_step_due_date=NEXT_WEEK,
    )
    assert created.status_code == 201, created.text
    assert (created.json()["next_step"], created.json()["next_step_due_date"]) == (
        "Send the quote",
        NEXT_WEEK,
    )
    planned = await owner_conn.fetchval(
        "SELECT count(*) FROM activities WHERE deal_id = $1", uuid.UUID(created.json()["id"])
    )
    assert planned == len(DEFAULT_CADENCE_STEPS)


async def test_a_deal_needs_a_next_step_or_a_cadence(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    before = await _footprint(owner_conn, org)
    neither = await _create(client, org)
    assert neither.status_code == 422
    assert {e["field"] for e in neither.json()["errors"]} == {"next_step", "next_step_due_date"}
    half = await _create(
        client, org, cadence_id=str(await _default_cadence(owner_conn, org)), next_step="Call"
    )
    assert half.status_code == 422
    assert [e["field"] for e in half.json()["errors"]] == ["next_step_due_date"]
    assert await _footprint(owner_conn, org) == before


async def test_another_organizations_or_an_unknown_cadence_is_404_and_writes_nothing(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    other = await register_tenant(client)
    foreign = await owner_conn.fetchval(
        "SELECT id FROM cadences WHERE tenant_id = $1 AND is_default", other.tenant_id
    )
    before = await _footprint(owner_conn, org)
    for cadence_id in (foreign, uuid.uuid4()):
        answer = await _create(client, org, cadence_id=str(cadence_id))
        assert answer.status_code == 404, answer.text
    assert await _footprint(owner_conn, org) == before


async def test_an_inactive_cadence_is_422(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    created = await client.post(
        "/api/v1/cadences",
        headers=org.admin.headers,
        json={
            "name": unique("Winback"),
            "active": False,
            "steps": [{"type": "call", "subject_template": "Call {company}", "delay_days": 0}],
        },
    )
    assert created.status_code == 201, created.text
    cadence = created.json()
    before = await _footprint(owner_conn, org)
    answer = await _create(client, org, cadence_id=cadence["id"])
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "cadence_id", "message": "is not active"}]
    assert await _footprint(owner_conn, org) == before


async def test_a_cadence_costs_the_create_no_statement_more(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection, database: Database
) -> None:
    cadence_id = str(await _default_cadence(owner_conn, org))
    await org.create(client)  # the workflow compiled and cached
    sent = []
    for extra in (
        {"next_step": "Call", "next_step_due_date": NEXT_WEEK},
        {"cadence_id": cadence_id},
    ):
        with counted(database) as statements:
            answer = await _create(client, org, **extra)
        assert answer.status_code == 201, answer.text
        sent.append(len(statements))
    assert sent[0] == sent[1]
