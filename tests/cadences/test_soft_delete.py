"""Cadence enrolments go with their deal, account or contact into the soft delete, and
come back with the restore exactly as they were (DESIGN §3.2, §5).

Every doctor run here is scoped to the test's own organization: other tests share the
worker's database and may plant problems of their own.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import URL

from baton.ops.doctor import run_doctor
from tests.accounts.support import create_account, create_contact
from tests.cadences.support import ENROLLMENTS, Org, cadence, enroll, org
from tests.factories import Member, unique

NEXT_WEEK = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()


async def findings(owner_url: URL, slug: str) -> dict[str, set[str]]:
    """What `baton doctor --tenant <slug>` finds, as check name → offending ids."""
    report = await run_doctor(owner_url, tenant=slug, sample=100)
    return {finding.check.name: {o.id for o in finding.samples} for finding in report.findings}


async def create_deal(
    client: httpx.AsyncClient, member: Member, account_id: str, **fields: Any
) -> dict[str, Any]:
    body = {
        "name": unique("Deal"),
        "account_id": account_id,
        "next_step": "Call the buyer",
        "next_step_due_date": NEXT_WEEK,
        **fields,
    }
    response = await client.post("/api/v1/deals", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    deal: dict[str, Any] = response.json()
    return deal


async def enrolled(
    client: httpx.AsyncClient, member: Member, cadence_id: str, **record: Any
) -> dict[str, Any]:
    response = await enroll(
        client, member, cadence_id, **{k: uuid.UUID(str(v)) for k, v in record.items()}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def act(client: httpx.AsyncClient, member: Member, enrollment_id: str, action: str) -> int:
    response = await client.post(f"{ENROLLMENTS}/{enrollment_id}/{action}", headers=member.headers)
    return response.status_code


async def enrollment_row(conn: asyncpg.Connection, enrollment_id: str) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT status, remaining_steps, version, deleted_at, deleted_by, deletion_id"
        " FROM cadence_enrollments WHERE id = $1",
        uuid.UUID(enrollment_id),
    )
    assert row is not None
    return dict(row)


async def activity_rows(conn: asyncpg.Connection, enrollment_id: str) -> list[dict[str, Any]]:
    """Every activity the enrolment planned: (id, status, deleted?, deletion id)."""
    rows = await conn.fetch(
        "SELECT id, status, deleted_at IS NOT NULL AS deleted, deletion_id"
        " FROM activities WHERE enrollment_id = $1 ORDER BY id",
        uuid.UUID(enrollment_id),
    )
    return [dict(row) for row in rows]


async def deletion_of(conn: asyncpg.Connection, table: str, record_id: str) -> uuid.UUID:
    deletion_id = await conn.fetchval(
        f"SELECT deletion_id FROM {table} WHERE id = $1", uuid.UUID(record_id)
    )
    assert isinstance(deletion_id, uuid.UUID)
    return deletion_id


async def assert_gone(client: httpx.AsyncClient, members: Org, enrollment_id: str) -> None:
    """A deleted enrolment is 404 to every reader and every action."""
    read = await client.get(f"{ENROLLMENTS}/{enrollment_id}", headers=members.viewer.headers)
    assert read.status_code == 404, read.text
    for action in ("pause", "resume", "stop"):
        assert await act(client, members.sales, enrollment_id, action) == 404, action


# ---------------------------------------------------------------- a deal


async def test_deleting_an_enrolled_deal_takes_its_live_enrolment_with_it(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, owner_url: URL
) -> None:
    members = await org(client)
    account = await create_account(client, members.sales)
    deal = await create_deal(client, members.sales, account["id"])
    running = await cadence(client, members.admin)
    ended = await cadence(client, members.admin)
    live = await enrolled(client, members.sales, running["id"], deal_id=deal["id"])
    stopped = await enrolled(client, members.sales, ended["id"], deal_id=deal["id"])
    assert await act(client, members.sales, stopped["id"], "stop") == 200
    path = f"/api/v1/deals/{deal['id']}"
    version = (await client.get(path, headers=members.sales.headers)).json()["version"]

    # A stale version changes nothing: the enrolment and its work stay as they were.
    before = await enrollment_row(owner_conn, live["id"])
    work_before = await activity_rows(owner_conn, live["id"])
    stale = await client.delete(
        path, headers=members.sales.headers, params={"version": version + 1}
    )
    assert stale.status_code == 409, stale.text
    assert await enrollment_row(owner_conn, live["id"]) == before
    assert await activity_rows(owner_conn, live["id"]) == work_before
    assert before["deleted_at"] is None

    deleted = await client.delete(path, headers=members.sales.headers, params={"version": version})
    assert deleted.status_code == 204, deleted.text
    deletion_id = await deletion_of(owner_conn, "deals", deal["id"])
    # Taken under the deal's deletion id, its status kept (a restore resumes it as is);
    # its planned work went the same way.
    row = await enrollment_row(owner_conn, live["id"])
    assert (row["status"], row["deletion_id"], row["deleted_by"]) == (
        "active",
        deletion_id,
        members.sales.user_id,
    )
    assert row["deleted_at"] is not None
    assert row["version"] == before["version"] + 1
    work = await activity_rows(owner_conn, live["id"])
    assert [(a["id"], a["status"]) for a in work] == [(a["id"], a["status"]) for a in work_before]
    assert {(a["deleted"], a["deletion_id"]) for a in work} == {(True, deletion_id)}
    # An ended enrolment is history: it stays, readable, as done activities do.
    assert (await enrollment_row(owner_conn, stopped["id"]))["deleted_at"] is None
    history = await client.get(f"{ENROLLMENTS}/{stopped['id']}", headers=members.viewer.headers)
    assert history.status_code == 200

    await assert_gone(client, members, live["id"])
    again = await enroll(client, members.sales, running["id"], deal_id=uuid.UUID(deal["id"]))
    assert again.status_code == 422, again.text
    assert again.json()["errors"][0]["field"] == "deal_id"
    assert await findings(owner_url, members.admin.tenant_slug) == {}


async def test_a_paused_enrolment_is_taken_paused(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, owner_url: URL
) -> None:
    members = await org(client)
    account = await create_account(client, members.sales)
    deal = await create_deal(client, members.sales, account["id"])
    template = await cadence(client, members.admin)
    paused = await enrolled(client, members.sales, template["id"], deal_id=deal["id"])
    assert await act(client, members.sales, paused["id"], "pause") == 200
    path = f"/api/v1/deals/{deal['id']}"
    version = (await client.get(path, headers=members.sales.headers)).json()["version"]
    deleted = await client.delete(path, headers={**members.sales.headers, "If-Match": str(version)})
    assert deleted.status_code == 204, deleted.text
    row = await enrollment_row(owner_conn, paused["id"])
    assert (row["status"], row["remaining_steps"]) == ("paused", 5)
    assert row["deletion_id"] == await deletion_of(owner_conn, "deals", deal["id"])
    await assert_gone(client, members, paused["id"])
    assert await findings(owner_url, members.admin.tenant_slug) == {}


# ---------------------------------------------------------------- an account


async def test_account_delete_and_restore_take_and_bring_back_every_enrolment_as_it_was(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, owner_url: URL
) -> None:
    members = await org(client)
    account = await create_account(client, members.sales)
    contact = await create_contact(client, members.sales, account["id"])
    # Deleted on its own first: its enrolment goes with it and stays deleted after the
    # account's restore.
    lone = await create_contact(client, members.sales, account["id"], first_name="Lone")
    deal = await create_deal(client, members.sales, account["id"], contact_id=contact["id"])
    template = await cadence(client, members.admin)
    on_deal = await enrolled(client, members.sales, template["id"], deal_id=deal["id"])
    on_account = await enrolled(client, members.sales, template["id"], account_id=account["id"])
    on_contact = await enrolled(client, members.sales, template["id"], contact_id=contact["id"])
    on_lone = await enrolled(client, members.sales, template["id"], contact_id=lone["id"])
    assert await act(client, members.sales, on_contact["id"], "pause") == 200
    removed = await client.delete(
        f"/api/v1/contacts/{lone['id']}", headers=members.sales.headers, params={"version": 1}
    )
    assert removed.status_code == 204, removed.text
    lone_deletion = await deletion_of(owner_conn, "contacts", lone["id"])
    taken = [on_deal["id"], on_account["id"], on_contact["id"]]
    before = {e: await enrollment_row(owner_conn, e) for e in taken}
    work_before = {e: await activity_rows(owner_conn, e) for e in taken}
    assert [before[e]["status"] for e in taken] == ["active", "active", "paused"]
    assert await findings(owner_url, members.admin.tenant_slug) == {}

    path = f"/api/v1/accounts/{account['id']}"
    version = (await client.get(path, headers=members.sales.headers)).json()["version"]
    stale = await client.delete(path, headers={**members.sales.headers, "If-Match": "99"})
    assert stale.status_code == 409, stale.text
    assert {e: await enrollment_row(owner_conn, e) for e in taken} == before
    assert {e: await activity_rows(owner_conn, e) for e in taken} == work_before

    deleted = await client.delete(path, headers={**members.sales.headers, "If-Match": str(version)})
    assert deleted.status_code == 204, deleted.text
    deletion_id = await deletion_of(owner_conn, "accounts", account["id"])
    for enrollment_id in taken:
        row = await enrollment_row(owner_conn, enrollment_id)
        assert row["deletion_id"] == deletion_id, enrollment_id
        assert row["status"] == before[enrollment_id]["status"]
        assert row["remaining_steps"] == before[enrollment_id]["remaining_steps"]
        planned = [a for a in work_before[enrollment_id] if a["status"] == "planned"]
        after = {a["id"]: a for a in await activity_rows(owner_conn, enrollment_id)}
        assert {(after[a["id"]]["deleted"], after[a["id"]]["deletion_id"]) for a in planned} <= {
            (True, deletion_id)
        }
        await assert_gone(client, members, enrollment_id)
    # The paused one had nothing left planned; the active ones had five steps each.
    assert [len(work_before[e]) for e in taken] == [5, 5, 5]
    assert (await enrollment_row(owner_conn, on_lone["id"]))["deletion_id"] == lone_deletion
    for field, record_id in (
        ("deal_id", deal["id"]),
        ("account_id", account["id"]),
        ("contact_id", contact["id"]),
    ):
        refused = await enroll(
            client, members.sales, template["id"], **{field: uuid.UUID(record_id)}
        )
        assert refused.status_code == 422, refused.text
    assert await findings(owner_url, members.admin.tenant_slug) == {}

    restored = await client.post(f"{path}/restore", headers=members.sales.headers)
    assert restored.status_code == 200, restored.text
    for enrollment_id in taken:
        row = await enrollment_row(owner_conn, enrollment_id)
        assert (row["deleted_at"], row["deleted_by"], row["deletion_id"]) == (None, None, None)
        assert (row["status"], row["remaining_steps"]) == (
            before[enrollment_id]["status"],
            before[enrollment_id]["remaining_steps"],
        )
        assert await activity_rows(owner_conn, enrollment_id) == work_before[enrollment_id]
        read = await client.get(f"{ENROLLMENTS}/{enrollment_id}", headers=members.viewer.headers)
        assert read.status_code == 200, read.text
        assert read.json()["status"] == before[enrollment_id]["status"]
    # Only that deletion came back: the contact deleted on its own stays deleted.
    lone_row = await enrollment_row(owner_conn, on_lone["id"])
    assert (lone_row["status"], lone_row["deletion_id"]) == ("active", lone_deletion)
    assert await act(client, members.sales, on_lone["id"], "stop") == 404
    assert await findings(owner_url, members.admin.tenant_slug) == {}

    # The cadences carry on where they stood.
    resumed = await client.post(
        f"{ENROLLMENTS}/{on_contact['id']}/resume", headers=members.sales.headers
    )
    assert resumed.status_code == 200, resumed.text
    assert [a["status"] for a in resumed.json()["activities"]] == ["planned"] * 5
    paused = await client.post(
        f"{ENROLLMENTS}/{on_deal['id']}/pause", headers=members.sales.headers
    )
    assert paused.status_code == 200, paused.text
    assert [a["id"] for a in paused.json()["activities"]] == [
        str(a["id"]) for a in work_before[on_deal["id"]]
    ]
    # The one-live-enrolment rule holds across the round trip.
    twice = await enroll(client, members.sales, template["id"], account_id=uuid.UUID(account["id"]))
    assert twice.status_code == 409, twice.text
    assert await findings(owner_url, members.admin.tenant_slug) == {}


# ---------------------------------------------------------------- a contact


async def test_deleting_a_contact_takes_its_enrolment_and_the_work_it_planned(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, owner_url: URL
) -> None:
    members = await org(client)
    account = await create_account(client, members.sales)
    contact = await create_contact(client, members.sales, account["id"])
    template = await cadence(client, members.admin)
    live = await enrolled(client, members.sales, template["id"], contact_id=contact["id"])
    path = f"/api/v1/contacts/{contact['id']}"
    before = await enrollment_row(owner_conn, live["id"])
    stale = await client.delete(path, headers=members.sales.headers, params={"version": 7})
    assert stale.status_code == 409, stale.text
    assert await enrollment_row(owner_conn, live["id"]) == before

    deleted = await client.delete(path, headers=members.sales.headers, params={"version": 1})
    assert deleted.status_code == 204, deleted.text
    deletion_id = await deletion_of(owner_conn, "contacts", contact["id"])
    row = await enrollment_row(owner_conn, live["id"])
    assert (row["status"], row["deletion_id"]) == ("active", deletion_id)
    work = await activity_rows(owner_conn, live["id"])
    assert len(work) == 5
    assert {(a["status"], a["deleted"], a["deletion_id"]) for a in work} == {
        ("planned", True, deletion_id)
    }
    await assert_gone(client, members, live["id"])
    assert await findings(owner_url, members.admin.tenant_slug) == {}


# ---------------------------------------------------------------- the doctor, the database


async def test_the_doctor_reports_an_enrolment_a_restore_left_behind(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, owner_url: URL
) -> None:
    members = await org(client)
    account = await create_account(client, members.sales)
    other = await create_account(client, members.sales)
    template = await cadence(client, members.admin)
    behind = await enrolled(client, members.sales, template["id"], account_id=account["id"])
    astray = await enrolled(client, members.sales, template["id"], account_id=other["id"])
    # A restore that forgot the enrolment: the account is live, its enrolment deleted.
    await owner_conn.execute(
        "UPDATE cadence_enrollments SET deleted_at = now(), deletion_id = $2 WHERE id = $1",
        uuid.UUID(behind["id"]),
        uuid.uuid4(),
    )
    # Deleted under another id than its account's: that account's restore would miss it.
    await owner_conn.execute(
        "UPDATE accounts SET deleted_at = now(), deletion_id = $2 WHERE id = $1",
        uuid.UUID(other["id"]),
        uuid.uuid4(),
    )
    await owner_conn.execute(
        "UPDATE cadence_enrollments SET deleted_at = now(), deletion_id = $2 WHERE id = $1",
        uuid.UUID(astray["id"]),
        uuid.uuid4(),
    )
    found = await findings(owner_url, members.admin.tenant_slug)
    assert found.pop("deleted_enrollment_of_live_record") == {behind["id"], astray["id"]}
    # The raw account delete left its planned work behind too; nothing else is found.
    assert set(found) <= {"planned_activity_of_deleted_record"}

    # The left-behind enrolment still holds its place (the unique index keeps it): the
    # service says so before the database has to.
    refused = await enroll(
        client, members.sales, template["id"], account_id=uuid.UUID(account["id"])
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["field"] == "account_id"
    assert "deleted" in refused.json()["detail"]


async def test_the_database_wants_both_deletion_marks_or_neither(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    members = await org(client)
    account = await create_account(client, members.sales)
    template = await cadence(client, members.admin)
    live = await enrolled(client, members.sales, template["id"], account_id=account["id"])
    for marks in ("deleted_at = now()", f"deletion_id = '{uuid.uuid4()}'"):
        with pytest.raises(asyncpg.CheckViolationError) as refused:
            await owner_conn.execute(
                f"UPDATE cadence_enrollments SET {marks} WHERE id = $1", uuid.UUID(live["id"])
            )
        assert refused.value.constraint_name == "ck_cadence_enrollments_deletion_complete"
