"""Completing and cancelling: the follow-up in the same transaction, and an open deal
that never lacks a next step."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.activities.records import (
    API,
    Org,
    account,
    contact,
    deal,
    deal_row,
    org,
    plan,
    soft_delete,
)


@pytest.fixture
async def team(client: httpx.AsyncClient) -> Org:
    return await org(client)


async def _status(conn: asyncpg.Connection, activity: dict[str, Any]) -> tuple[str, int]:
    row = await conn.fetchrow(
        "SELECT status, version FROM activities WHERE id = $1", uuid.UUID(activity["id"])
    )
    assert row is not None
    return row["status"], row["version"]


async def test_complete_plans_the_follow_up_on_the_same_records(
    client: httpx.AsyncClient, team: Org, owner_conn: asyncpg.Connection
) -> None:
    acme = await account(owner_conn, team.admin)
    bob = await contact(owner_conn, team.admin, acme)
    activity = await plan(client, team.sales, contact_id=str(bob))
    due = "2031-02-03T10:00:00Z"
    completed = await client.post(
        f"{API}/{activity['id']}/complete",
        headers=team.admin.headers,
        json={
            "version": 1,
            "outcome": "Interested, wants a demo",
            "next": {"type": "meeting", "subject": "Demo", "due_at": due},
        },
    )
    assert completed.status_code == 200, completed.text
    body = completed.json()
    done = body["activity"]
    assert (done["status"], done["outcome"], done["version"]) == (
        "done",
        "Interested, wants a demo",
        2,
    )
    assert done["completed_at"] is not None
    follow_up = body["follow_up"]
    assert (follow_up["type"], follow_up["subject"], follow_up["status"]) == (
        "meeting",
        "Demo",
        "planned",
    )
    assert follow_up["due_at"] == due
    assert (follow_up["account_id"], follow_up["contact_id"], follow_up["deal_id"]) == (
        str(acme),
        str(bob),
        None,
    )
    # Default owner: the completed activity's owner, not the manager who completed it.
    assert follow_up["owner_id"] == str(team.sales.user_id)
    assert body["deal"] is None
    assert (await client.get(f"{API}/{follow_up['id']}", headers=team.sales.headers)).json() == (
        follow_up
    )


async def test_a_follow_up_that_fails_leaves_the_activity_planned(
    client: httpx.AsyncClient, team: Org, owner_conn: asyncpg.Connection
) -> None:
    activity = await plan(client, team.sales)
    before = await owner_conn.fetchval(
        "SELECT count(*) FROM activities WHERE tenant_id = $1", team.admin.tenant_id
    )
    for owner in (team.viewer.user_id, uuid.uuid4()):
        refused = await client.post(
            f"{API}/{activity['id']}/complete",
            headers=team.sales.headers,
            json={
                "version": 1,
                "outcome": "Done",
                "next": {
                    "type": "call",
                    "subject": "Again",
                    "due_at": "2031-01-01T09:00:00Z",
                    "owner_id": str(owner),
                },
            },
        )
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["next.owner_id"]
    assert await _status(owner_conn, activity) == ("planned", 1)
    after = await owner_conn.fetchval(
        "SELECT count(*) FROM activities WHERE tenant_id = $1", team.admin.tenant_id
    )
    assert after == before
    handed = await client.post(
        f"{API}/{activity['id']}/complete",
        headers=team.sales.headers,
        json={
            "version": 1,
            "next": {
                "type": "call",
                "subject": "Again",
                "due_at": "2031-01-01T09:00:00Z",
                "owner_id": str(team.admin.user_id),
            },
        },
    )
    assert handed.status_code == 200, handed.text
    assert handed.json()["follow_up"]["owner_id"] == str(team.admin.user_id)


async def test_completing_a_deals_only_planned_activity_needs_next(
    client: httpx.AsyncClient, team: Org, owner_conn: asyncpg.Connection
) -> None:
    acme = await account(owner_conn, team.admin)
    big = await deal(owner_conn, team.admin, acme)
    activity = await plan(client, team.sales, subject="Discovery call", deal_id=str(big))
    before = await deal_row(owner_conn, big)
    refused = await client.post(
        f"{API}/{activity['id']}/complete",
        headers=team.sales.headers,
        json={"version": 1, "outcome": "Good call"},
    )
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["next"]
    assert await _status(owner_conn, activity) == ("planned", 1)
    assert await deal_row(owner_conn, big) == before
    completed = await client.post(
        f"{API}/{activity['id']}/complete",
        headers=team.sales.headers,
        json={
            "version": 1,
            "outcome": "Good call",
            "next": {
                "type": "email",
                "subject": "Send proposal",
                "due_at": "2031-03-04T23:30:00-02:00",
            },
        },
    )
    assert completed.status_code == 200, completed.text
    body = completed.json()
    assert body["follow_up"]["deal_id"] == str(big)
    assert body["follow_up"]["account_id"] == str(acme)
    assert body["deal"] == {
        "id": str(big),
        "next_step": "Send proposal",
        # The day of the follow-up's due time for the deal's owner (the organization is on UTC).
        "next_step_due_date": "2031-03-05",
    }
    after = await deal_row(owner_conn, big)
    assert (after["next_step"], after["next_step_due_date"].isoformat()) == (
        "Send proposal",
        "2031-03-05",
    )
    assert after["version"] == before["version"] + 1


async def test_without_next_the_deal_takes_its_earliest_remaining_activity(
    client: httpx.AsyncClient, team: Org, owner_conn: asyncpg.Connection
) -> None:
    acme = await account(owner_conn, team.admin)
    big = await deal(owner_conn, team.admin, acme)
    first = await plan(client, team.sales, subject="First", due=timedelta(days=1), deal_id=str(big))
    later = await plan(client, team.sales, subject="Later", due=timedelta(days=9), deal_id=str(big))
    sooner = await plan(
        client, team.sales, subject="Sooner", due=timedelta(days=4), deal_id=str(big)
    )
    completed = await client.post(
        f"{API}/{first['id']}/complete", headers=team.sales.headers, json={"version": 1}
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["follow_up"] is None
    assert completed.json()["deal"]["next_step"] == "Sooner"
    row = await deal_row(owner_conn, big)
    assert row["next_step"] == "Sooner"
    assert (
        row["next_step_due_date"] == datetime.fromisoformat(sooner["due_at"]).astimezone(UTC).date()
    )
    # Cancelling the next one moves the deal on to the remaining one...
    cancelled = await client.post(
        f"{API}/{sooner['id']}/cancel", headers=team.sales.headers, json={"version": 1}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["activity"]["status"] == "cancelled"
    assert cancelled.json()["activity"]["completed_at"] is None
    assert cancelled.json()["deal"]["next_step"] == "Later"
    # ...and the last planned activity of an open deal cannot be cancelled.
    before = await deal_row(owner_conn, big)
    refused = await client.post(
        f"{API}/{later['id']}/cancel", headers=team.sales.headers, json={"version": 1}
    )
    assert refused.status_code == 422, refused.text
    assert await _status(owner_conn, later) == ("planned", 1)
    assert await deal_row(owner_conn, big) == before
    assert (before["next_step"]) == "Later"


async def test_deleted_deals_have_no_next_step_to_keep(
    client: httpx.AsyncClient, team: Org, owner_conn: asyncpg.Connection
) -> None:
    acme = await account(owner_conn, team.admin)
    big = await deal(owner_conn, team.admin, acme)
    to_complete = await plan(client, team.sales, deal_id=str(big))
    to_cancel = await plan(client, team.sales, deal_id=str(big))
    await soft_delete(owner_conn, "deals", big)
    for action, activity in (("complete", to_complete), ("cancel", to_cancel)):
        response = await client.post(
            f"{API}/{activity['id']}/{action}", headers=team.sales.headers, json={"version": 1}
        )
        assert response.status_code == 200, response.text
        assert response.json()["deal"] is None
    assert (await deal_row(owner_conn, big))["next_step"] == "Intro call"


async def test_cancel_without_a_deal_and_twice(
    client: httpx.AsyncClient, team: Org, owner_conn: asyncpg.Connection
) -> None:
    activity = await plan(client, team.sales)
    url = f"{API}/{activity['id']}/cancel"
    first = await client.post(url, headers=team.sales.headers, json={"version": 1})
    assert first.status_code == 200, first.text
    assert first.json() == {
        "activity": {**first.json()["activity"], "status": "cancelled", "version": 2},
        "follow_up": None,
        "deal": None,
    }
    again = await client.post(url, headers=team.sales.headers, json={"version": 2})
    assert again.status_code == 409, again.text
    assert await _status(owner_conn, activity) == ("cancelled", 2)


async def test_concurrent_completes_one_wins(
    client: httpx.AsyncClient, team: Org, owner_conn: asyncpg.Connection
) -> None:
    import asyncio

    acme = await account(owner_conn, team.admin)
    big = await deal(owner_conn, team.admin, acme)
    activity = await plan(client, team.sales, deal_id=str(big))

    async def complete(n: int) -> httpx.Response:
        return await client.post(
            f"{API}/{activity['id']}/complete",
            headers=team.sales.headers,
            json={
                "version": 1,
                "next": {"type": "call", "subject": f"Next {n}", "due_at": "2031-01-01T09:00:00Z"},
            },
        )

    results = await asyncio.gather(*(complete(n) for n in range(4)))
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409]
    planned = await owner_conn.fetchval(
        "SELECT count(*) FROM activities WHERE deal_id = $1 AND status = 'planned'", big
    )
    assert planned == 1
    assert (await deal_row(owner_conn, big))["version"] == 2


@pytest.mark.parametrize(
    ("zone", "due_at", "day"),
    [
        # 08:30 on the 5th in Tokyo, though UTC still says the 4th.
        ("Asia/Tokyo", "2031-03-04T23:30:00Z", "2031-03-05"),
        # 19:00 on the 4th in Los Angeles, though UTC already says the 5th.
        ("America/Los_Angeles", "2031-03-05T03:00:00Z", "2031-03-04"),
    ],
)
async def test_the_deals_next_step_is_due_on_its_owners_day(
    client: httpx.AsyncClient,
    team: Org,
    owner_conn: asyncpg.Connection,
    zone: str,
    due_at: str,
    day: str,
) -> None:
    acme = await account(owner_conn, team.admin)
    big = await deal(owner_conn, team.admin, acme)  # owned by the admin
    chosen = await client.patch("/api/v1/me", headers=team.admin.headers, json={"timezone": zone})
    assert chosen.status_code == 200, chosen.text
    activity = await plan(client, team.sales, subject="Discovery call", deal_id=str(big))
    completed = await client.post(
        f"{API}/{activity['id']}/complete",
        headers=team.sales.headers,
        json={"version": 1, "next": {"type": "call", "subject": "Follow up", "due_at": due_at}},
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["deal"]["next_step_due_date"] == day
    assert (await deal_row(owner_conn, big))["next_step_due_date"].isoformat() == day
