"""The activities planner over HTTP: views, grouping by day with overdue first,
mine vs everyone, one-click complete, the follow-up form a deal's last activity asks
for, and cancel."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.activities.records import account, contact, deal, plan, soft_delete
from tests.factories import add_member, register_tenant
from tests.web.test_workflow_pages import HTMX, _sign_in


def _row(html: str, subject: str) -> str:
    """The planner row of `subject` (its <li> … </li>)."""
    match = re.search(
        rf'<li class="activity-row[^"]*"[^>]*data-activity="{subject}".*?</li>', html, re.S
    )
    assert match, f"no row for {subject}"
    return match.group(0)


@pytest.mark.parametrize("role", ["admin", "sales", "viewer"])
async def test_each_role_reads_the_planner_and_only_writers_act(
    client: httpx.AsyncClient, role: str
) -> None:
    admin = await register_tenant(client)
    member = admin if role == "admin" else await add_member(client, admin, role)
    planned = await plan(client, admin, subject="Call the CFO")
    token = await _sign_in(client, member)

    everyone = await client.get("/activities", params={"owner": "all"})
    assert everyone.status_code == 200
    assert ">Activities</a>" in everyone.text
    row = _row(everyone.text, "Call the CFO")
    writer = role != "viewer"
    assert ("Complete</button>" in row) is writer
    assert ("hx-post" in everyone.text) is writer
    for view in ("planner", "today", "overdue", "done"):
        page = await client.get("/activities", params={"view": view})
        assert page.status_code == 200, view
        assert re.search(rf'view={view}&amp;owner=\w+" aria-current="page"', page.text), view
    if not writer:
        # A viewer owns nothing: the planner starts with everyone's work.
        assert "Call the CFO" in (await client.get("/activities")).text
        for action in ("complete", "cancel"):
            refused = await client.post(
                f"/activities/{planned['id']}/{action}",
                data={"version": "1", "csrf_token": token},
                headers=HTMX,
            )
            assert refused.status_code == 403, action


async def test_planner_groups_by_day_overdue_first_and_mine_vs_everyone(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    acme = await account(owner_conn, admin, name="Acme Planner")
    bob = await contact(owner_conn, admin, acme)
    await plan(client, sales, subject="Late follow-up", due=timedelta(days=-2), contact_id=str(bob))
    await plan(client, sales, subject="Tomorrow call", due=timedelta(days=1))
    await plan(client, sales, subject="Next week demo", due=timedelta(days=7), type="meeting")
    await plan(client, admin, subject="Admin chore", due=timedelta(days=1), type="task")
    await _sign_in(client, sales)

    mine = await client.get("/activities")
    text = mine.text
    assert "Admin chore" not in text
    overdue = text.index('aria-label="Overdue"')
    assert overdue < text.index("Tomorrow call") < text.index("Next week demo")
    late = _row(text, "Late follow-up")
    assert 'class="activity-row overdue"' in late
    assert "overdue</span>" in late
    assert 'href="/accounts/' in late
    assert "Acme Planner" in late
    assert "Bob" in late
    assert ">Tomorrow · " in text
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    assert f"{tomorrow.day} {tomorrow.strftime('%b %Y')}" in text

    everyone = await client.get("/activities", params={"owner": "all"})
    assert "Admin chore" in everyone.text
    overdue_tab = await client.get("/activities", params={"view": "overdue"})
    assert "Late follow-up" in overdue_tab.text
    assert "Tomorrow call" not in overdue_tab.text

    # A deleted contact is named as such, never an error.
    await soft_delete(owner_conn, "contacts", bob)
    after = await client.get("/activities")
    assert after.status_code == 200
    assert "Deleted contact" in _row(after.text, "Late follow-up")


async def test_complete_and_cancel_from_the_planner(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    call = await plan(client, sales, subject="Quick call")
    chore = await plan(client, sales, subject="Old chore", type="task")
    token = await _sign_in(client, sales)
    assert "Quick call" in (await client.get("/activities")).text

    done = await client.post(
        f"/activities/{call['id']}/complete",
        data={"version": "1", "outcome": "Wants a quote", "csrf_token": token},
        headers=HTMX,
    )
    assert done.status_code == 200, done.text
    assert f'id="activity-{call["id"]}"' in done.text
    assert "is-done" in done.text
    assert "completed: Wants a quote" in done.text
    twice = await client.post(
        f"/activities/{call['id']}/complete",
        data={"version": "1", "csrf_token": token},
        headers=HTMX,
    )
    assert twice.status_code == 409
    assert 'class="form-errors"' in twice.text
    planner = await client.get("/activities")
    assert "Quick call" not in planner.text
    finished = await client.get("/activities", params={"view": "done"})
    assert "Wants a quote" in _row(finished.text, "Quick call")

    cancelled = await client.post(
        f"/activities/{chore['id']}/cancel",
        data={"version": "1", "csrf_token": token},
        headers=HTMX,
    )
    assert cancelled.status_code == 200, cancelled.text
    assert "is-cancelled" in cancelled.text
    assert "Old chore" not in (await client.get("/activities")).text

    # Without htmx the forms still work, back to where they came from.
    another = await plan(client, sales, subject="Plain form")
    plain = await client.post(
        f"/activities/{another['id']}/complete",
        data={"version": "1", "return_to": "/activities?view=done", "csrf_token": token},
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == "/activities?view=done"
    away = await plan(client, sales, subject="Elsewhere")
    outside = await client.post(
        f"/activities/{away['id']}/cancel",
        data={"version": "1", "return_to": "https://evil.example/", "csrf_token": token},
    )
    assert outside.headers["location"] == "/activities"


async def test_a_deals_last_activity_asks_for_the_follow_up_inline(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    acme = await account(owner_conn, admin, name="Acme Deal")
    big = await deal(owner_conn, admin, acme)
    only = await plan(client, sales, subject="Intro call", deal_id=str(big))
    token = await _sign_in(client, sales)
    assert "Big deal" in _row((await client.get("/activities")).text, "Intro call")

    asked = await client.post(
        f"/activities/{only['id']}/complete",
        data={"version": "1", "outcome": "Went well", "csrf_token": token},
        headers=HTMX,
    )
    assert asked.status_code == 422
    assert "Plan the deal's next step" in asked.text
    assert "an open deal needs a next step" in asked.text
    assert 'name="with_next" value="1"' in asked.text
    assert 'name="outcome" value="Went well"' in asked.text
    assert f'hx-target="#activity-{only["id"]}"' in asked.text
    # Nothing changed: the activity is still planned.
    status = await owner_conn.fetchval(
        "SELECT status FROM activities WHERE id = $1", uuid.UUID(only["id"])
    )
    assert status == "planned"

    form = {
        "version": "1",
        "outcome": "Went well",
        "with_next": "1",
        "next_type": "meeting",
        "next_subject": "",
        "next_due": "2031-03-04T15:00",
        "csrf_token": token,
    }
    incomplete = await client.post(f"/activities/{only['id']}/complete", data=form, headers=HTMX)
    assert incomplete.status_code == 422
    assert "<strong>Subject</strong>" in incomplete.text

    planned = await client.post(
        f"/activities/{only['id']}/complete",
        data={**form, "next_subject": "Demo"},
        headers=HTMX,
    )
    assert planned.status_code == 200, planned.text
    assert "is-done" in planned.text
    assert "next: Demo, due 2031-03-04 15:00" in planned.text
    assert "the deal's next step is now “Demo” (2031-03-04)" in planned.text
    row = await owner_conn.fetchrow(
        "SELECT next_step, next_step_due_date FROM deals WHERE id = $1", big
    )
    assert row is not None
    assert (row["next_step"], row["next_step_due_date"].isoformat()) == ("Demo", "2031-03-04")
    assert "Demo" in (await client.get("/activities")).text
