"""The planner views: planner, today, overdue, done, owner filter; paging by time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from baton.core.ids import uuid7
from baton.db.engine import Database
from tests.activities.records import API, ids, org, plan, start_of_today
from tests.identity.test_statement_counts import counted


async def _not_near_midnight() -> None:
    """Fixed offsets from now must stay on their UTC day while the test runs."""
    left = start_of_today() + timedelta(days=1) - datetime.now(UTC)
    if left < timedelta(minutes=2):
        await asyncio.sleep(left.total_seconds() + 1)
    since = datetime.now(UTC) - start_of_today()
    if since < timedelta(minutes=2):
        await asyncio.sleep((timedelta(minutes=2) - since).total_seconds())


async def test_views_at_fixed_offsets_from_now(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    await _not_near_midnight()
    team = await org(client)
    me = team.sales
    now = datetime.now(UTC)
    today = start_of_today()
    later_today = now + (today + timedelta(days=1) - now) / 2
    earlier_today = today + (now - today) / 2
    last_week = await plan(client, me, subject="last week", due=timedelta(days=-7))
    this_morning = await plan(client, me, subject="earlier today", due=earlier_today)
    tonight = await plan(client, me, subject="later today", due=later_today)
    tomorrow = await plan(client, me, subject="tomorrow", due=today + timedelta(days=1, hours=9))
    next_week = await plan(client, me, subject="next week", due=timedelta(days=7))
    theirs = await plan(
        client, me, subject="admin's", due=timedelta(days=2), owner_id=str(team.admin.user_id)
    )
    # Undated planned work (a workflow effect may plan it): last in the planner.
    undated = uuid7()
    await owner_conn.execute(
        "INSERT INTO activities (tenant_id, id, type, status, subject, owner_id)"
        " VALUES ($1, $2, 'task', 'planned', 'someday', $3)",
        me.tenant_id,
        undated,
        me.user_id,
    )
    first_done = await plan(client, me, subject="done first", due=timedelta(days=3))
    second_done = await plan(client, me, subject="done second", due=timedelta(days=4))
    for done in (first_done, second_done):
        response = await client.post(
            f"{API}/{done['id']}/complete",
            headers=me.headers,
            json={"version": 1, "outcome": "Reached"},
        )
        assert response.status_code == 200, response.text
    cancelled = await plan(client, me, subject="called off", due=timedelta(hours=1))
    await client.post(f"{API}/{cancelled['id']}/cancel", headers=me.headers, json={"version": 1})
    await client.post(API, headers=me.headers, json={"type": "note", "subject": "a note"})
    # The system trail stays out of the views.
    await owner_conn.execute(
        "INSERT INTO activities (tenant_id, id, type, status, subject, completed_at)"
        " VALUES ($1, $2, 'system', 'done', 'Stage changed', now())",
        me.tenant_id,
        uuid7(),
    )

    async def view(name: str, **params: Any) -> httpx.Response:
        return await client.get(API, headers=me.headers, params={"view": name, **params})

    planner = await view("planner")
    assert ids(planner) == [
        this_morning["id"],
        tonight["id"],
        tomorrow["id"],
        theirs["id"],
        next_week["id"],
        str(undated),
    ]
    days = [item["day"] for item in planner.json()["items"]]
    assert days[:3] == [
        today.date().isoformat(),
        today.date().isoformat(),
        (today + timedelta(days=1)).date().isoformat(),
    ]
    assert days[-1] is None
    assert ids(await client.get(API, headers=me.headers)) == ids(planner)
    assert ids(await view("planner", owner="me")) == [
        this_morning["id"],
        tonight["id"],
        tomorrow["id"],
        next_week["id"],
        str(undated),
    ]
    assert ids(await view("planner", owner=str(team.admin.user_id))) == [theirs["id"]]
    assert ids(await view("today")) == [this_morning["id"], tonight["id"]]
    assert ids(await view("overdue")) == [last_week["id"], this_morning["id"]]
    assert ids(await view("overdue", owner="me")) == [last_week["id"], this_morning["id"]]
    done = await view("done")
    assert [item["subject"] for item in done.json()["items"]] == [
        "a note",
        "done second",
        "done first",
    ]
    assert done.json()["items"][1]["outcome"] == "Reached"
    assert done.json()["items"][1]["day"] == now.date().isoformat()
    assert ids(await view("done", owner=str(team.admin.user_id))) == []
    assert ids(await client.get(API, headers=team.admin.headers, params={"owner": "me"})) == [
        theirs["id"]
    ]


async def test_pages_follow_the_view_order(client: httpx.AsyncClient) -> None:
    team = await org(client)
    me = team.sales
    # Equal due times too: the cursor's id breaks the tie.
    same = datetime.now(UTC) + timedelta(days=3)
    planned = [
        await plan(client, me, subject=f"p{n}", due=timedelta(days=10 - n)) for n in range(5)
    ]
    planned += [await plan(client, me, subject=f"s{n}", due=same) for n in range(3)]
    expected = ids(await client.get(API, headers=me.headers, params={"limit": 200}))
    assert sorted(expected) == sorted(p["id"] for p in planned)
    for name, size in (("planner", 3), ("done", 2)):
        if name == "done":
            for item in planned[:5]:
                await client.post(
                    f"{API}/{item['id']}/complete", headers=me.headers, json={"version": 1}
                )
            expected = ids(await client.get(API, headers=me.headers, params={"view": "done"}))
            assert len(expected) == 5
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"view": name, "limit": size}
            if cursor:
                params["cursor"] = cursor
            page = await client.get(API, headers=me.headers, params=params)
            seen += ids(page)
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == expected, name


async def test_views_take_two_statements_whatever_the_page_size(
    client: httpx.AsyncClient, database: Database
) -> None:
    team = await org(client)
    me = team.sales
    for n in range(6):
        created = await plan(client, me, subject=f"a{n}", due=timedelta(hours=n - 3))
        if n % 2:
            await client.post(
                f"{API}/{created['id']}/complete", headers=me.headers, json={"version": 1}
            )
    for view in ("planner", "today", "overdue", "done"):
        counts = []
        for limit in (1, 50):
            with counted(database) as statements:
                response = await client.get(
                    API, headers=me.headers, params={"view": view, "limit": limit, "owner": "me"}
                )
            assert response.status_code == 200, response.text
            counts.append(len(statements))
        # authentication, the view itself
        assert counts == [2, 2], (view, counts)


async def test_planner_pages_run_from_today_to_the_undated_and_skip_overdue(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    await _not_near_midnight()
    team = await org(client)
    me = team.sales
    overdue = [
        await plan(client, me, subject=f"o{n}", due=timedelta(days=-1 - n)) for n in range(3)
    ]
    dated = [await plan(client, me, subject=f"d{n}", due=timedelta(days=5 - n)) for n in range(4)]
    undated = sorted(str(uuid7()) for _ in range(3))
    for activity_id in undated:
        await owner_conn.execute(
            "INSERT INTO activities (tenant_id, id, type, status, subject, owner_id)"
            " VALUES ($1, $2, 'task', 'planned', 'someday', $3)",
            me.tenant_id,
            activity_id,
            me.user_id,
        )
    expected = [d["id"] for d in reversed(dated)] + undated
    for size in (1, 2, 3, 50):
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"view": "planner", "limit": size}
            if cursor:
                params["cursor"] = cursor
            page = await client.get(API, headers=me.headers, params=params)
            assert page.status_code == 200, page.text
            seen += ids(page)
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == expected, size
    assert not {o["id"] for o in overdue} & set(seen)
