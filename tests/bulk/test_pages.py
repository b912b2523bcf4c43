"""The lists' action bar on the server: the form's choices in words, the rows by name,
a large selection's progress polled until the worker is done, and who sees the bar."""

from __future__ import annotations

import re
import uuid

import asyncpg
import httpx

from baton.config import Settings
from baton.db.engine import Database
from tests.bulk.conftest import Org
from tests.bulk.test_runs import _accounts
from tests.deals.conftest import insert_account
from tests.factories import add_member
from tests.jobs.support import run_due_jobs
from tests.web.test_workflow_pages import HTMX, _sign_in


async def test_the_bar_answers_row_by_row_and_polls_a_large_run(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    database: Database,
) -> None:
    word = uuid.uuid4().hex[:8]
    ids = await _accounts(owner_conn, org.sales, word, 3)
    csrf = await _sign_in(client, org.sales)
    page = await client.get("/accounts")
    assert 'id="bulk-form"' in page.text
    assert page.text.count("data-bulk-row") >= 3

    nothing = await client.post(
        "/accounts/bulk", headers=HTMX, data={"csrf_token": csrf, "action": "delete"}
    )
    assert nothing.status_code == 422
    assert "Select at least one row first" in nothing.text
    no_tag = await client.post(
        "/accounts/bulk",
        headers=HTMX,
        data={"csrf_token": csrf, "action": "add_tag", "ids": [str(i) for i in ids]},
    )
    assert no_tag.status_code == 422
    assert "<strong>Tag</strong> is required" in no_tag.text

    deleted = await client.post(
        "/accounts/bulk",
        headers=HTMX,
        data={"csrf_token": csrf, "action": "delete", "ids": [str(ids[0]), str(uuid.uuid4())]},
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.headers["HX-Trigger"] == "bulk-done"
    assert "1 deleted, 1 not found" in deleted.text
    assert f"Bulkrun {word} " in deleted.text
    assert "A record you cannot see" in deleted.text
    assert "Undo delete" in deleted.text

    # Every account the search matches, above the request's share: a run to poll.
    await _accounts(owner_conn, org.sales, word, 250)
    started = await client.post(
        "/accounts/bulk",
        headers=HTMX,
        data={
            "csrf_token": csrf,
            "action": "add_tag",
            "bulk_tag": "big",
            "all_matching": "1",
            "q": f"bulkrun {word}",
        },
    )
    assert started.status_code == 200, started.text
    assert "0 of 252 done" in started.text
    poll = re.search(r'hx-get="(/bulk-runs/[0-9a-f-]{36})"', started.text)
    assert poll
    await run_due_jobs(settings, database)
    finished = await client.get(poll.group(1), headers=HTMX)
    assert "252 updated" in finished.text
    assert 'hx-trigger="every' not in finished.text
    assert finished.headers["HX-Trigger"] == "bulk-done"


async def test_a_viewer_gets_no_bar_and_may_not_post_it(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    viewer = await add_member(client, org.admin, "viewer")
    ids = await _accounts(owner_conn, org.sales, uuid.uuid4().hex[:8], 1)
    csrf = await _sign_in(client, viewer)
    page = await client.get("/accounts")
    assert 'id="bulk-form"' not in page.text
    refused = await client.post(
        "/accounts/bulk",
        headers=HTMX,
        data={"csrf_token": csrf, "action": "delete", "ids": [str(ids[0])]},
    )
    assert refused.status_code == 403
    alive = await owner_conn.fetchval(
        "SELECT deleted_at IS NULL FROM accounts WHERE id = $1", ids[0]
    )
    assert alive


async def test_the_deals_list_bar_acts_on_what_the_list_shows(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    big = await org.create(client, name="Bulk big", amount="5000.00")
    small = await org.create(client, name="Bulk small", amount="50.00")
    csrf = await _sign_in(client, org.sales)
    page = await client.get("/deals?amount_min=1000")
    assert 'id="bulk-form"' in page.text
    assert 'hx-include="#deal-filters"' in page.text
    assert f'value="{big["id"]}" form="bulk-form"' in page.text
    assert small["id"] not in page.text
    # The filter form redraws the results alone, rows with their boxes.
    redrawn = await client.get("/deals?amount_min=1000", headers=HTMX)
    assert '<section id="deal-results"' in redrawn.text
    assert 'id="deal-filters"' not in redrawn.text
    assert f'value="{big["id"]}" form="bulk-form"' in redrawn.text

    # "All matching" sends the list's filters as the form has them (text).
    moved = await client.post(
        "/deals/bulk",
        headers=HTMX,
        data={
            "csrf_token": csrf,
            "action": "move",
            "bulk_status": str(org.steps["discovery"]),
            "all_matching": "1",
            "amount_min": "1000",
            "overdue": "",
            "sort": "-amount",
        },
    )
    assert moved.status_code == 200, moved.text
    assert "1 moved" in moved.text
    assert "Bulk big" in moved.text
    steps = dict(
        await owner_conn.fetch(
            "SELECT name, step_id FROM deals WHERE tenant_id = $1", org.admin.tenant_id
        )
    )
    assert steps["Bulk big"] == org.steps["discovery"]
    assert steps["Bulk small"] == org.steps["prospecting"]

    # A filter the list cannot read refuses the request: nothing is done.
    unreadable = await client.post(
        "/deals/bulk",
        headers=HTMX,
        data={"csrf_token": csrf, "action": "delete", "all_matching": "1", "amount_min": "lots"},
    )
    assert unreadable.status_code == 422
    assert "must be a number" in unreadable.text

    deleted = await client.post(
        "/deals/bulk",
        headers=HTMX,
        data={"csrf_token": csrf, "action": "delete", "ids": [small["id"]]},
    )
    assert "1 deleted" in deleted.text
    assert 'hx-post="/deals/bulk"' in deleted.text
    assert "Undo delete" in deleted.text
    alive = await owner_conn.fetchval(
        "SELECT count(*) FROM deals WHERE tenant_id = $1 AND deleted_at IS NULL",
        org.admin.tenant_id,
    )
    assert alive == 1


async def test_the_contacts_list_lists_searches_and_acts_in_bulk(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    other_account = await insert_account(owner_conn, org.admin, "Other Harbour")
    names = [("Ada", org.account_id), ("Grace", org.account_id), ("Linus", other_account)]
    ids = {}
    for first, account_id in names:
        created = await client.post(
            "/api/v1/contacts",
            headers=org.sales.headers,
            json={"first_name": first, "last_name": "Bulkfield", "account_id": str(account_id)},
        )
        assert created.status_code == 201, created.text
        ids[first] = created.json()["id"]
    csrf = await _sign_in(client, org.sales)
    page = await client.get("/contacts")
    assert page.status_code == 200, page.text
    assert set(re.findall(r'<tr data-contact="([^"]*)"', page.text)) == {
        "Ada Bulkfield",
        "Grace Bulkfield",
        "Linus Bulkfield",
    }
    assert 'id="bulk-form"' in page.text
    assert 'data-view-tab="All"' in page.text
    one_account = await client.get(f"/contacts?account_id={other_account}")
    assert re.findall(r'<tr data-contact="([^"]*)"', one_account.text) == ["Linus Bulkfield"]
    assert "Other Harbour" in one_account.text
    searched = await client.get("/contacts?q=grace", headers=HTMX)
    assert searched.headers["HX-Push-Url"] == "/contacts?q=grace"
    assert re.findall(r'<tr data-contact="([^"]*)"', searched.text) == ["Grace Bulkfield"]
    # A link with an account id that is not one keeps the page, unfiltered.
    odd = await client.get("/contacts?account_id=nonsense")
    assert odd.status_code == 200

    # Every contact of one account: deleted, then undone.
    deleted = await client.post(
        "/contacts/bulk",
        headers=HTMX,
        data={
            "csrf_token": csrf,
            "action": "delete",
            "all_matching": "1",
            "account_id": str(org.account_id),
        },
    )
    assert deleted.status_code == 200, deleted.text
    assert "2 deleted" in deleted.text
    assert 'hx-post="/contacts/bulk"' in deleted.text
    alive = await owner_conn.fetch(
        "SELECT first_name FROM contacts WHERE tenant_id = $1 AND deleted_at IS NULL",
        org.admin.tenant_id,
    )
    assert [row["first_name"] for row in alive] == ["Linus"]
    undone = await client.post(
        "/contacts/bulk",
        headers=HTMX,
        data={"csrf_token": csrf, "action": "restore", "ids": [ids["Ada"], ids["Grace"]]},
    )
    assert "2 restored" in undone.text


async def test_all_matching_reads_amount_bounds_as_the_organizations_locale_types_them(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    """The filter form shows `1.000,00` in a de-DE organization and "all matching"
    sends it so: the bar reads it as the list does (one thousand, not one)."""
    settings = await client.get("/api/v1/settings", headers=org.admin.headers)
    localized = await client.patch(
        "/api/v1/settings",
        headers=org.admin.headers,
        json={"locale": "de-DE", "version": settings.json()["version"]},
    )
    assert localized.status_code == 200, localized.text
    await org.create(client, name="Gross", amount="5000.00")
    await org.create(client, name="Klein", amount="50.00")
    csrf = await _sign_in(client, org.sales)
    moved = await client.post(
        "/deals/bulk",
        headers=HTMX,
        data={
            "csrf_token": csrf,
            "action": "move",
            "bulk_status": str(org.steps["discovery"]),
            "all_matching": "1",
            "amount_min": "1.000,00",
        },
    )
    assert moved.status_code == 200, moved.text
    assert "1 moved" in moved.text
    steps = dict(
        await owner_conn.fetch(
            "SELECT name, step_id FROM deals WHERE tenant_id = $1", org.admin.tenant_id
        )
    )
    assert steps["Gross"] == org.steps["discovery"]
    assert steps["Klein"] == org.steps["prospecting"]
    # No amount at all is still refused, nothing done.
    unreadable = await client.post(
        "/deals/bulk",
        headers=HTMX,
        data={"csrf_token": csrf, "action": "delete", "all_matching": "1", "amount_min": "viel"},
    )
    assert unreadable.status_code == 422
