"""Enrolments: every step planned at once for the record's owner; pause, resume, stop."""

from __future__ import annotations

import uuid

import asyncpg
import httpx

from baton.cadences import service
from baton.config import Settings
from baton.core.context import AuthMethod, Ctx, Principal
from baton.db.engine import Database
from tests.cadences.support import (
    CADENCES,
    DUE_DAYS,
    ENROLLMENTS,
    account,
    cadence,
    contact,
    days_from_first_workday,
    deal,
    enroll,
    enrollment_activities,
    org,
)
from tests.factories import register_tenant


async def test_enrolling_a_deal_plans_every_step_for_its_owner(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    members = await org(client)
    account_id = await account(owner_conn, members.admin, "Acme GmbH")
    contact_id = await contact(owner_conn, members.admin.tenant_id, account_id)
    # The deal belongs to the sales member; the sales member enrols it.
    deal_id = await deal(
        owner_conn, members.sales, account_id, name="Acme rollout", contact_id=contact_id
    )
    template = await cadence(client, members.admin)

    response = await enroll(client, members.sales, template["id"], deal_id=deal_id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "active"
    assert body["deal_id"] == str(deal_id)
    assert body["owner_id"] == str(members.sales.user_id)
    activities = body["activities"]
    assert [a["type"] for a in activities] == ["call", "email", "call", "email", "meeting"]
    assert [days_from_first_workday(a["due_at"]) for a in activities] == DUE_DAYS
    assert [a["subject"] for a in activities] == [
        "Call Bob Builder at Acme GmbH",
        "Email about Acme rollout",
        "Second call with Acme GmbH",
        "Check in with Acme GmbH",
        "Meet Acme GmbH",
    ]
    assert {a["owner_id"] for a in activities} == {str(members.sales.user_id)}
    assert {(a["deal_id"], a["account_id"]) for a in activities} == {
        (str(deal_id), str(account_id))
    }

    stored = await enrollment_activities(owner_conn, body["id"])
    assert [str(row["id"]) for row in stored] == [a["id"] for a in activities]
    assert {row["status"] for row in stored} == {"planned"}
    assert {row["created_by"] for row in stored} == {members.sales.user_id}

    again = await enroll(client, members.admin, template["id"], deal_id=deal_id)
    assert again.status_code == 409, again.text
    # Another cadence is another enrolment.
    default = (await client.get(CADENCES, headers=members.admin.headers)).json()["items"][0]
    other = await enroll(client, members.admin, default["id"], deal_id=deal_id)
    assert other.status_code == 201, other.text

    read = await client.get(f"{ENROLLMENTS}/{body['id']}", headers=members.viewer.headers)
    assert read.status_code == 200
    assert [a["id"] for a in read.json()["activities"]] == [a["id"] for a in activities]


async def test_accounts_and_contacts_enrol_for_the_account_owner(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    members = await org(client)
    account_id = await account(owner_conn, members.manager, "Globex")
    contact_id = await contact(owner_conn, members.admin.tenant_id, account_id, "Hank", None)
    template = await cadence(client, members.admin)

    by_account = await enroll(client, members.sales, template["id"], account_id=account_id)
    assert by_account.status_code == 201, by_account.text
    first = by_account.json()["activities"][0]
    assert first["subject"] == "Call at Globex"  # no contact: the placeholder is dropped
    assert (first["account_id"], first["contact_id"], first["deal_id"]) == (
        str(account_id),
        None,
        None,
    )
    assert first["owner_id"] == str(members.manager.user_id)

    by_contact = await enroll(client, members.sales, template["id"], contact_id=contact_id)
    assert by_contact.status_code == 201, by_contact.text
    activities = by_contact.json()["activities"]
    assert activities[0]["subject"] == "Call Hank at Globex"
    assert activities[1]["subject"] == "Email about Hank"
    assert {(a["contact_id"], a["account_id"]) for a in activities} == {
        (str(contact_id), str(account_id))
    }
    assert {a["owner_id"] for a in activities} == {str(members.manager.user_id)}


async def test_what_cannot_be_enrolled(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    members = await org(client)
    other = await register_tenant(client)
    account_id = await account(owner_conn, members.admin)
    foreign_account = await account(owner_conn, other)
    template = await cadence(client, members.admin)

    for body in ({}, {"account_id": str(account_id), "deal_id": str(uuid.uuid4())}):
        both = await client.post(
            f"{CADENCES}/{template['id']}/enroll", headers=members.admin.headers, json=body
        )
        assert both.status_code == 422, both.text

    foreign = await enroll(client, members.admin, template["id"], account_id=foreign_account)
    assert foreign.status_code == 422, foreign.text
    assert foreign.json()["errors"][0]["field"] == "account_id"

    deleted = await account(owner_conn, members.admin, "Gone")
    await owner_conn.execute(
        "UPDATE accounts SET deleted_at = now(), deletion_id = $2 WHERE id = $1",
        deleted,
        uuid.uuid4(),
    )
    assert (
        await enroll(client, members.admin, template["id"], account_id=deleted)
    ).status_code == 422

    closed = await deal(owner_conn, members.admin, account_id)
    await owner_conn.execute(
        "ALTER TABLE deals DISABLE TRIGGER USER;"
        f" UPDATE deals SET outcome = 'lost', loss_reason = 'price', closed_at = now()"
        f" WHERE id = '{closed}';"
        " ALTER TABLE deals ENABLE TRIGGER USER"
    )
    assert (await enroll(client, members.admin, template["id"], deal_id=closed)).status_code == 422

    inactive = await cadence(client, members.admin, active=False)
    refused = await enroll(client, members.admin, inactive["id"], account_id=account_id)
    assert refused.status_code == 422, refused.text

    viewer = await enroll(client, members.viewer, template["id"], account_id=account_id)
    assert viewer.status_code == 403, viewer.text

    theirs = await cadence(client, other)
    assert (
        await enroll(client, members.admin, theirs["id"], account_id=account_id)
    ).status_code == 404
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM cadence_enrollments WHERE tenant_id = $1", members.admin.tenant_id
        )
        == 0
    )


async def test_pause_resume_stop(client: httpx.AsyncClient, owner_conn: asyncpg.Connection) -> None:
    members = await org(client)
    account_id = await account(owner_conn, members.sales)
    template = await cadence(client, members.admin)
    enrolled = (await enroll(client, members.sales, template["id"], account_id=account_id)).json()
    path = f"{ENROLLMENTS}/{enrolled['id']}"
    first, second = enrolled["activities"][:2]
    # The first call was made.
    await owner_conn.execute(
        "UPDATE activities SET status = 'done', completed_at = now() WHERE id = $1",
        uuid.UUID(first["id"]),
    )

    assert (await client.post(f"{path}/pause", headers=members.viewer.headers)).status_code == 403
    assert (await client.post(f"{path}/resume", headers=members.sales.headers)).status_code == 409
    paused = await client.post(f"{path}/pause", headers=members.sales.headers)
    assert paused.status_code == 200, paused.text
    body = paused.json()
    assert body["status"] == "paused"
    assert body["remaining_steps"] == 4
    assert [a["id"] for a in body["activities"]] == [a["id"] for a in enrolled["activities"][1:]]
    assert {a["status"] for a in body["activities"]} == {"cancelled"}
    assert (await client.post(f"{path}/pause", headers=members.sales.headers)).status_code == 409

    resumed = await client.post(f"{path}/resume", headers=members.sales.headers)
    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert body["status"] == "active"
    assert body["remaining_steps"] is None
    planned = body["activities"]
    # Steps 2 to 5 again, from today, 3, 4 and 5 days apart as in the cadence.
    assert [a["subject"] for a in planned] == [a["subject"] for a in enrolled["activities"][1:]]
    assert [days_from_first_workday(a["due_at"]) for a in planned] == [0, 3, 7, 12]
    assert second["id"] not in {a["id"] for a in planned}
    stored = await enrollment_activities(owner_conn, enrolled["id"])
    assert [row["status"] for row in stored] == ["done"] + ["cancelled"] * 4 + ["planned"] * 4

    stopped = await client.post(f"{path}/stop", headers=members.sales.headers)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "stopped"
    assert stopped.json()["stopped_at"]
    assert [a["id"] for a in stopped.json()["activities"]] == [a["id"] for a in planned]
    stored = await enrollment_activities(owner_conn, enrolled["id"])
    assert "planned" not in {row["status"] for row in stored}
    for action in ("pause", "resume", "stop"):
        again = await client.post(f"{path}/{action}", headers=members.sales.headers)
        assert again.status_code == 409, (action, again.text)

    # Stopped, the record may be enrolled again.
    renewed = await enroll(client, members.sales, template["id"], account_id=account_id)
    assert renewed.status_code == 201, renewed.text


async def test_a_finished_enrolment_completes_when_enrolled_again(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    members = await org(client)
    account_id = await account(owner_conn, members.sales)
    template = await cadence(client, members.admin)
    enrolled = (await enroll(client, members.sales, template["id"], account_id=account_id)).json()
    await owner_conn.execute(
        "UPDATE activities SET status = 'done', completed_at = now() WHERE enrollment_id = $1",
        uuid.UUID(enrolled["id"]),
    )
    pause = await client.post(
        f"{ENROLLMENTS}/{enrolled['id']}/pause", headers=members.sales.headers
    )
    assert pause.status_code == 409, pause.text
    again = await enroll(client, members.sales, template["id"], account_id=account_id)
    assert again.status_code == 201, again.text
    old = await client.get(f"{ENROLLMENTS}/{enrolled['id']}", headers=members.sales.headers)
    assert old.json()["status"] == "completed"
    assert old.json()["stopped_at"]


async def test_another_tenants_enrolment_is_not_found(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    theirs = await register_tenant(client)
    mine = await register_tenant(client)
    account_id = await account(owner_conn, theirs)
    template = await cadence(client, theirs)
    enrolled = (await enroll(client, theirs, template["id"], account_id=account_id)).json()
    path = f"{ENROLLMENTS}/{enrolled['id']}"
    assert (await client.get(path, headers=mine.headers)).status_code == 404
    for action in ("pause", "resume", "stop"):
        response = await client.post(f"{path}/{action}", headers=mine.headers)
        assert response.status_code == 404, (action, response.text)
    stored = await enrollment_activities(owner_conn, enrolled["id"])
    assert {row["status"] for row in stored} == {"planned"}


async def test_stop_enrollments_for_a_deal(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    database: Database,
    settings: Settings,
) -> None:
    """What the deal close calls: every live enrolment of the deal stops."""
    members = await org(client)
    account_id = await account(owner_conn, members.sales)
    deal_id = await deal(owner_conn, members.sales, account_id)
    other_deal = await deal(owner_conn, members.sales, account_id, name="Other")
    first = await cadence(client, members.admin)
    second = await cadence(client, members.admin)
    one = (await enroll(client, members.sales, first["id"], deal_id=deal_id)).json()
    two = (await enroll(client, members.sales, second["id"], deal_id=deal_id)).json()
    kept = (await enroll(client, members.sales, first["id"], deal_id=other_deal)).json()
    paused = await client.post(f"{ENROLLMENTS}/{two['id']}/pause", headers=members.sales.headers)
    assert paused.status_code == 200

    admin = members.admin
    async with database.session_scope(
        tenant_id=admin.tenant_id, user_id=admin.user_id, role="admin", request_id="test"
    ) as session:
        ctx = Ctx(
            session=session,
            db=database,
            settings=settings,
            request_id="test",
            principal=Principal(
                tenant_id=admin.tenant_id,
                tenant_slug=admin.tenant_slug,
                tenant_name="Org",
                user_id=admin.user_id,
                email=admin.email,
                full_name="Ada Admin",
                membership_id=uuid.uuid4(),
                role="admin",
                method=AuthMethod.CLI,
                credential_id=None,
            ),
            tenant_id=admin.tenant_id,
        )
        assert await service.stop_enrollments_for(ctx, deal_id=deal_id) == 2

    for enrolled, status in ((one, "stopped"), (two, "stopped"), (kept, "active")):
        read = await client.get(f"{ENROLLMENTS}/{enrolled['id']}", headers=admin.headers)
        assert read.json()["status"] == status
    statuses = {
        row["status"]
        for enrolled in (one, two)
        for row in await enrollment_activities(owner_conn, enrolled["id"])
    }
    assert statuses == {"cancelled"}


async def test_closing_a_deal_stops_its_enrolments(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The close (POST /deals/{id}/close) ends the deal's cadences in its transaction."""
    members = await org(client)
    account_id = await account(owner_conn, members.sales)
    deal_id = await deal(owner_conn, members.sales, account_id)
    enrolled = (
        await enroll(
            client, members.sales, (await cadence(client, members.admin))["id"], deal_id=deal_id
        )
    ).json()
    version = await owner_conn.fetchval("SELECT version FROM deals WHERE id = $1", deal_id)
    closed = await client.post(
        f"/api/v1/deals/{deal_id}/close",
        headers=members.sales.headers,
        json={"outcome": "lost", "reason": "no_budget", "version": version},
    )
    assert closed.status_code == 200, closed.text
    after = (
        await client.get(f"{ENROLLMENTS}/{enrolled['id']}", headers=members.sales.headers)
    ).json()
    assert after["status"] == "stopped"
    statuses = {a["status"] for a in await enrollment_activities(owner_conn, enrolled["id"])}
    assert statuses == {"cancelled"}
