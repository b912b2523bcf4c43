"""The pipeline board and the deal page over HTTP, signed in with a session cookie."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from baton.db.engine import Database
from tests.deals.conftest import NEXT_WEEK, insert_account, pipeline_steps
from tests.factories import Member, add_member, register_tenant, unique
from tests.identity.test_statement_counts import counted
from tests.web.test_workflow_pages import HTMX, _sign_in

YESTERDAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


@dataclass
class Pipeline:
    admin: Member
    sales: Member
    viewer: Member
    account_id: uuid.UUID
    account_name: str
    steps: dict[str, uuid.UUID]

    async def create(self, client: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
        body = {
            "name": unique("Deal"),
            "account_id": str(self.account_id),
            "next_step": "Call the buyer",
            "next_step_due_date": NEXT_WEEK,
            **extra,
        }
        answer = await client.post("/api/v1/deals", headers=self.sales.headers, json=body)
        assert answer.status_code == 201, answer.text
        deal: dict[str, Any] = answer.json()
        return deal

    async def get(self, client: httpx.AsyncClient, deal: dict[str, Any]) -> dict[str, Any]:
        answer = await client.get(f"/api/v1/deals/{deal['id']}", headers=self.sales.headers)
        assert answer.status_code == 200, answer.text
        current: dict[str, Any] = answer.json()
        return current

    async def walk(
        self, client: httpx.AsyncClient, deal: dict[str, Any], *keys: str
    ) -> dict[str, Any]:
        for key in keys:
            body: dict[str, Any] = {"to_step_id": str(self.steps[key]), "version": deal["version"]}
            if key == "proposal":
                body["fields"] = {"amount": "1000.00", "expected_close_date": NEXT_WEEK}
            answer = await client.post(
                f"/api/v1/deals/{deal['id']}/move", headers=self.sales.headers, json=body
            )
            assert answer.status_code == 200, answer.text
            deal = answer.json()["deal"]
        return deal


@pytest.fixture
async def pipe(client: httpx.AsyncClient, owner_conn: asyncpg.Connection) -> Pipeline:
    admin = await register_tenant(client)
    name = unique("Northwind")
    return Pipeline(
        admin=admin,
        sales=await add_member(client, admin, "sales"),
        viewer=await add_member(client, admin, "viewer"),
        account_id=await insert_account(owner_conn, admin, name),
        account_name=name,
        steps=await pipeline_steps(owner_conn, admin),
    )


def _counts(page: str) -> dict[str, int]:
    """Column key → the count in its header."""
    found = re.findall(
        r'id="col-([a-z_]+)" class="column-head">\s*<span>[^<]*</span>\s*'
        r'<span class="count" data-count>(\d+)</span>',
        page,
    )
    return {key: int(count) for key, count in found}


def _move(
    pipe: Pipeline, token: str, deal: dict[str, Any], to: str, **extra: str
) -> dict[str, str]:
    return {
        "to_step_id": str(pipe.steps[to]),
        "version": str(deal["version"]),
        "context": "board",
        "csrf_token": token,
        **extra,
    }


async def test_the_board_for_each_role(client: httpx.AsyncClient, pipe: Pipeline) -> None:
    mine = await pipe.create(client, amount="100.00")
    late = await pipe.create(client, amount="250.50", next_step_due_date=YESTERDAY)
    await pipe.walk(client, await pipe.create(client, currency="USD"), "discovery")

    await _sign_in(client, pipe.admin)
    home = await client.get("/")
    assert '<a href="/pipeline"' in home.text
    board = await client.get("/pipeline")
    assert board.status_code == 200, board.text
    assert _counts(board.text) == {
        "prospecting": 2,
        "discovery": 1,
        "proposal": 0,
        "negotiation": 0,
        "won": 0,
        "lost": 0,
    }
    assert "$350.50" in board.text  # the column's total, in the organization's currency
    assert 'data-board="deals"' in board.text
    assert "data-reorder" in board.text
    assert "Add deal" in board.text
    assert f">{pipe.account_name}</option>" in board.text  # the account picker
    assert f'href="/accounts/{pipe.account_id}"' in board.text
    assert mine["name"] in board.text
    assert re.search(rf'deal-card overdue" data-card data-id="{late["id"]}"', board.text)
    assert not re.search(rf'deal-card overdue" data-card data-id="{mine["id"]}"', board.text)

    # Filters: the admin owns none of these deals; one of them is overdue.
    nothing = await client.get("/pipeline?view=mine", headers={**HTMX, "HX-Target": "board"})
    assert nothing.status_code == 200
    assert "<html" not in nothing.text  # the board fragment, for the htmx swap
    assert sum(_counts(nothing.text).values()) == 0
    assert 'data-filter="mine" aria-current="true"' in nothing.text
    overdue = await client.get("/pipeline?view=overdue")
    assert _counts(overdue.text)["prospecting"] == 1
    assert late["name"] in overdue.text
    assert mine["name"] not in overdue.text

    await _sign_in(client, pipe.sales)
    board = await client.get("/pipeline?view=mine")
    assert _counts(board.text)["prospecting"] == 2
    assert "data-board" in board.text
    assert "Add deal" in board.text

    token = await _sign_in(client, pipe.viewer)
    board = await client.get("/pipeline")
    assert board.status_code == 200
    assert _counts(board.text)["prospecting"] == 2
    assert mine["name"] in board.text
    assert "data-board" not in board.text
    assert "hx-post" not in board.text
    assert "Add deal" not in board.text
    page = await client.get(f"/deals/{mine['id']}")
    assert page.status_code == 200
    assert mine["name"] in page.text
    assert "hx-post" not in page.text
    refused = await client.post(
        f"/deals/{mine['id']}/move", data=_move(pipe, token, mine, "discovery"), headers=HTMX
    )
    assert refused.status_code == 403
    refused = await client.post(
        "/deals",
        data={
            "account_id": str(pipe.account_id),
            "name": "Sneaky",
            "next_step": "Call",
            "next_step_due_date": NEXT_WEEK,
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert refused.status_code == 403
    assert (await pipe.get(client, mine))["version"] == mine["version"]


async def test_the_board_in_a_constant_number_of_statements(
    client: httpx.AsyncClient, pipe: Pipeline, database: Database
) -> None:
    await pipe.create(client)
    await _sign_in(client, pipe.sales)
    assert (await client.get("/pipeline")).status_code == 200  # compiles the workflow

    async def statements() -> list[str]:
        with counted(database) as seen:
            answer = await client.get("/pipeline")
        assert answer.status_code == 200
        return seen

    small = await statements()
    for _ in range(5):
        await pipe.walk(client, await pipe.create(client), "discovery")
    await pipe.create(client)
    large = await statements()
    assert len(large) == len(small), large
    # authenticate, the bell's unread count, the Deal workflow, totals, cards with
    # their accounts, owners, the account picker, the cadence picker, the default
    # currency of Add deal
    assert len(large) == 9, large


async def test_moves_from_the_board(client: httpx.AsyncClient, pipe: Pipeline) -> None:
    first = await pipe.create(client)
    deal = await pipe.create(client)
    token = await _sign_in(client, pipe.sales)

    jump = await client.post(
        f"/deals/{deal['id']}/move", data=_move(pipe, token, deal, "negotiation"), headers=HTMX
    )
    assert jump.status_code == 422
    assert "There is no transition from Prospecting to Negotiation" in jump.text
    assert (await pipe.get(client, deal))["step"]["key"] == "prospecting"

    # A reorder within the column: only the rank moves, the board is redrawn.
    reordered = await client.post(
        f"/deals/{deal['id']}/move",
        data=_move(pipe, token, deal, "prospecting", before_id=first["id"], view="mine"),
        headers=HTMX,
    )
    assert reordered.status_code == 200, reordered.text
    assert reordered.headers["HX-Retarget"] == "#board"
    assert f"{deal['name']} reordered" in reordered.text
    assert 'data-view="mine"' in reordered.text  # the filter is kept
    assert reordered.text.index(deal["name"]) < reordered.text.index(first["name"])
    deal = await pipe.get(client, deal)
    assert deal["step"]["key"] == "prospecting"

    moved = await client.post(
        f"/deals/{deal['id']}/move", data=_move(pipe, token, deal, "discovery"), headers=HTMX
    )
    assert moved.status_code == 200, moved.text
    assert f"{deal['name']} moved to Discovery" in moved.text
    assert _counts(moved.text)["discovery"] == 1
    deal = await pipe.get(client, deal)

    # Proposal needs an amount and an expected close date: a form asks for exactly those.
    needs = await client.post(
        f"/deals/{deal['id']}/move", data=_move(pipe, token, deal, "proposal"), headers=HTMX
    )
    assert needs.status_code == 422
    assert 'name="field.amount"' in needs.text
    assert re.search(r'name="field.expected_close_date"[^>]*type="date"', needs.text)
    assert "field.next_step" not in needs.text
    assert (await pipe.get(client, deal))["step"]["key"] == "discovery"
    filled = await client.post(
        f"/deals/{deal['id']}/move",
        data=_move(
            pipe,
            token,
            deal,
            "proposal",
            **{"field.amount": "1200", "field.expected_close_date": NEXT_WEEK},
        ),
        headers=HTMX,
    )
    assert filled.status_code == 200, filled.text
    deal = await pipe.get(client, deal)
    assert (deal["step"]["key"], deal["amount"]) == ("proposal", "1200.00")

    # Dropped on Won: no transition from Proposal, so the reason; on Lost: the close form.
    won = await client.post(
        f"/deals/{deal['id']}/move", data=_move(pipe, token, deal, "won"), headers=HTMX
    )
    assert won.status_code == 422
    assert "There is no transition from Proposal to Won" in won.text
    lost = await client.post(
        f"/deals/{deal['id']}/move", data=_move(pipe, token, deal, "lost"), headers=HTMX
    )
    assert lost.status_code == 422
    assert 'data-outcome="lost"' in lost.text
    assert 'data-outcome="won"' not in lost.text
    assert '<option value="competitor">' in lost.text
    assert (await pipe.get(client, deal))["outcome"] is None

    stale = await client.post(
        f"/deals/{deal['id']}/move",
        data=_move(pipe, token, {**deal, "version": 1}, "negotiation"),
        headers=HTMX,
    )
    assert stale.status_code == 409


async def test_close_needs_its_notes_and_then_closes(
    client: httpx.AsyncClient, pipe: Pipeline
) -> None:
    deal = await pipe.walk(client, await pipe.create(client), "discovery")
    deal = await pipe.walk(client, deal, "proposal", "negotiation")
    token = await _sign_in(client, pipe.sales)
    page = await client.get(f"/deals/{deal['id']}")
    assert page.status_code == 200
    assert 'data-outcome="won"' in page.text
    assert 'data-outcome="lost"' in page.text
    assert "Back → Proposal" in page.text or "→ Proposal" in page.text

    def close(**fields: str) -> dict[str, str]:
        return {"version": str(deal["version"]), "context": "detail", "csrf_token": token, **fields}

    refused = await client.post(
        f"/deals/{deal['id']}/close",
        data=close(outcome="won", reason="other", notes="  "),
        headers=HTMX,
    )
    assert refused.status_code == 422
    assert 'data-field-error="notes"' in refused.text
    # Only the notes are missing: said next to them, not as "Cannot move from … to Won".
    assert "Add notes: they are required when the reason is Other." in refused.text
    assert "Cannot move" not in refused.text
    assert '<option value="other" selected>' in refused.text  # the choice is kept
    assert 'data-outcome="lost"' in refused.text  # the other form is still there
    unchanged = await pipe.get(client, deal)
    assert (unchanged["outcome"], unchanged["version"]) == (None, deal["version"])

    closed = await client.post(
        f"/deals/{deal['id']}/close",
        data=close(outcome="won", reason="relationship", notes="Signed at the fair"),
        headers=HTMX,
    )
    assert closed.status_code == 200, closed.text
    assert closed.headers["HX-Redirect"] == f"/deals/{deal['id']}"
    done = await pipe.get(client, deal)
    assert (done["outcome"], done["win_reason"], done["step"]["key"]) == (
        "won",
        "relationship",
        "won",
    )
    page = await client.get(f"/deals/{deal['id']}")
    assert "Signed at the fair" in page.text
    assert "Negotiation → Won" in page.text  # the history timeline
    assert "Stage changed: Negotiation → Won" in page.text  # the activity
    assert 'data-outcome="won"' not in page.text  # closed: no close form any more


async def test_closing_a_colleagues_deal_is_confirmed_and_says_who(
    client: httpx.AsyncClient, pipe: Pipeline
) -> None:
    # The admin's deal, closed by the salesperson.
    answer = await client.post(
        "/api/v1/deals",
        headers=pipe.admin.headers,
        json={
            "name": unique("Colleague deal"),
            "account_id": str(pipe.account_id),
            "next_step": "Call the buyer",
            "next_step_due_date": NEXT_WEEK,
        },
    )
    assert answer.status_code == 201, answer.text
    deal = await pipe.walk(client, answer.json(), "discovery", "proposal", "negotiation")
    token = await _sign_in(client, pipe.sales)
    page = await client.get(f"/deals/{deal['id']}")
    assert "This is Ada Admin\u2019s deal: close it for them" in page.text

    def close(**fields: str) -> dict[str, str]:
        return {
            "version": str(deal["version"]),
            "context": "detail",
            "csrf_token": token,
            "outcome": "won",
            "reason": "price",
            **fields,
        }

    unconfirmed = await client.post(f"/deals/{deal['id']}/close", data=close(), headers=HTMX)
    assert unconfirmed.status_code == 422, unconfirmed.text
    assert 'data-field-error="for_owner"' in unconfirmed.text
    assert "This deal belongs to Ada Admin." in unconfirmed.text
    assert (await pipe.get(client, deal))["outcome"] is None

    closed = await client.post(
        f"/deals/{deal['id']}/close", data=close(for_owner="on"), headers=HTMX
    )
    assert closed.status_code == 200, closed.text
    done = await pipe.get(client, deal)
    assert (done["outcome"], done["owner_id"]) == ("won", str(pipe.admin.user_id))
    page = await client.get(f"/deals/{deal['id']}")
    assert "Closed won: price (closed by Sales Person for Ada Admin)" in page.text


async def test_close_from_the_board_redraws_it(client: httpx.AsyncClient, pipe: Pipeline) -> None:
    deal = await pipe.create(client)
    token = await _sign_in(client, pipe.sales)
    closed = await client.post(
        f"/deals/{deal['id']}/close",
        data={
            "version": str(deal["version"]),
            "outcome": "lost",
            "reason": "no_budget",
            "context": "board",
            "view": "all",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert closed.status_code == 200, closed.text
    assert closed.headers["HX-Retarget"] == "#board"
    assert f"{deal['name']} closed as lost" in closed.text
    assert _counts(closed.text)["lost"] == 1


async def test_the_deal_page_edits_completes_and_deletes(
    client: httpx.AsyncClient, pipe: Pipeline
) -> None:
    deal = await pipe.create(client, amount="10.00")
    planned = []
    for subject in ("Discovery call", "Send the deck"):
        answer = await client.post(
            "/api/v1/activities",
            headers=pipe.sales.headers,
            json={
                "type": "call",
                "subject": subject,
                "due_at": f"{NEXT_WEEK}T10:00:00Z",
                "deal_id": deal["id"],
            },
        )
        assert answer.status_code == 201, answer.text
        planned.append(answer.json())
    activity = planned[0]
    token = await _sign_in(client, pipe.sales)
    page = await client.get(f"/deals/{deal['id']}")
    assert "Discovery call" in page.text
    # Completing goes to the activities pages' own route, back to this page.
    assert f'hx-post="/activities/{activity["id"]}/complete"' in page.text
    assert f'name="return_to" value="/deals/{deal["id"]}"' in page.text
    assert 'href="/activities"' in page.text
    assert "Stage changed" not in page.text  # created, never moved

    edited = await client.post(
        f"/deals/{deal['id']}/edit",
        data={
            "version": str(deal["version"]),
            "name": "Renamed deal",
            "amount": "99.50",
            "currency": "usd",
            "next_step": "Send the deck",
            "next_step_due_date": NEXT_WEEK,
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert edited.status_code == 200, edited.text
    deal = await pipe.get(client, deal)
    assert (deal["name"], deal["amount"], deal["currency"]) == ("Renamed deal", "99.50", "USD")
    stale = await client.post(
        f"/deals/{deal['id']}/edit",
        data={"version": "1", "name": "x", "currency": "EUR", "csrf_token": token},
        headers=HTMX,
    )
    assert stale.status_code == 409

    completed = await client.post(
        f"/activities/{activity['id']}/complete",
        data={
            "version": str(activity["version"]),
            "outcome": "Interested",
            "return_to": f"/deals/{deal['id']}",
            "csrf_token": token,
        },
    )
    assert completed.status_code == 303, completed.text
    assert completed.headers["location"] == f"/deals/{deal['id']}"
    page = await client.get(f"/deals/{deal['id']}")
    assert "Outcome: Interested" in page.text
    deal = await pipe.get(client, deal)

    deleted = await client.post(
        f"/deals/{deal['id']}/delete",
        data={"version": str(deal["version"]), "csrf_token": token},
        headers=HTMX,
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.headers["HX-Redirect"] == "/pipeline"
    assert (await client.get(f"/deals/{deal['id']}")).status_code == 404


async def test_add_deal_through_the_form(client: httpx.AsyncClient, pipe: Pipeline) -> None:
    token = await _sign_in(client, pipe.sales)
    form = {
        "account_id": str(pipe.account_id),
        "name": "Forklifts",
        "amount": "5000",
        "currency": "eur",
        "next_step": "Call the buyer",
        "next_step_due_date": NEXT_WEEK,
        "csrf_token": token,
    }
    added = await client.post("/deals", data=form, headers=HTMX)
    assert added.status_code == 200, added.text
    assert "Forklifts added" in added.text
    assert _counts(added.text)["prospecting"] == 1
    assert "€5,000.00" in added.text
    missing = await client.post(
        "/deals", data={**form, "next_step": "", "next_step_due_date": ""}, headers=HTMX
    )
    assert missing.status_code == 422
    assert "<strong>Next step</strong> is required" in missing.text


async def test_add_deal_with_a_cadence_through_the_form(
    client: httpx.AsyncClient, pipe: Pipeline, owner_conn: asyncpg.Connection
) -> None:
    token = await _sign_in(client, pipe.sales)
    page = await client.get("/pipeline")
    cadence_id = await owner_conn.fetchval(
        "SELECT id FROM cadences WHERE tenant_id = $1 AND is_default", pipe.admin.tenant_id
    )
    assert f'<option value="{cadence_id}">' in page.text
    added = await client.post(
        "/deals",
        data={
            "account_id": str(pipe.account_id),
            "name": "Pallets",
            "currency": "EUR",
            "cadence_id": str(cadence_id),
            "next_step": "",
            "next_step_due_date": "",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert added.status_code == 200, added.text
    assert "Pallets added" in added.text
    deal = await owner_conn.fetchrow(
        "SELECT id, next_step FROM deals WHERE tenant_id = $1 AND name = 'Pallets'",
        pipe.admin.tenant_id,
    )
    assert deal["next_step"].startswith("Intro call with ")
    planned = await owner_conn.fetchval(
        "SELECT count(*) FROM activities WHERE deal_id = $1 AND status = 'planned'", deal["id"]
    )
    assert planned == 5
    # A cadence the organization does not have: refused inline, nothing written.
    unknown = await client.post(
        "/deals",
        data={
            "account_id": str(pipe.account_id),
            "name": "Ghost pallets",
            "cadence_id": str(uuid.uuid4()),
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert unknown.status_code == 404
    assert "No such cadence" in unknown.text
    assert not await owner_conn.fetchval(
        "SELECT count(*) FROM deals WHERE tenant_id = $1 AND name = 'Ghost pallets'",
        pipe.admin.tenant_id,
    )


async def test_notes_and_calls_are_logged_from_the_deal_page(
    client: httpx.AsyncClient, pipe: Pipeline, owner_conn: asyncpg.Connection
) -> None:
    deal = await pipe.create(client)
    token = await _sign_in(client, pipe.sales)
    page = await client.get(f"/deals/{deal['id']}")
    assert 'id="activity-log"' in page.text

    def log(**fields: str) -> dict[str, str]:
        return {"csrf_token": token, "due_at": "2030-01-07T10:30", **fields}

    # No subject: refused in words, nothing logged.
    refused = await client.post(
        f"/deals/{deal['id']}/activities", data=log(type="note", subject=""), headers=HTMX
    )
    assert refused.status_code == 422, refused.text
    assert "Subject" in refused.text or "subject" in refused.text
    noted = await client.post(
        f"/deals/{deal['id']}/activities",
        data=log(type="note", subject="They want a pilot", description="Two depots first"),
        headers=HTMX,
    )
    assert noted.status_code == 200, noted.text
    assert noted.headers["HX-Redirect"] == f"/deals/{deal['id']}"
    planned = await client.post(
        f"/deals/{deal['id']}/activities", data=log(type="call", subject="Call Jana")
    )
    assert planned.status_code == 303
    rows = {
        row["subject"]: row
        for row in await owner_conn.fetch(
            "SELECT subject, status, account_id FROM activities WHERE deal_id = $1",
            uuid.UUID(deal["id"]),
        )
    }
    assert rows["They want a pilot"]["status"] == "done"  # a note is logged as done
    assert rows["They want a pilot"]["account_id"] == pipe.account_id
    assert rows["Call Jana"]["status"] == "planned"
    page = await client.get(f"/deals/{deal['id']}")
    assert "They want a pilot" in page.text
    assert "Two depots first" in page.text

    # A viewer gets no form and is refused; another organization does not find the deal.
    viewer = await _sign_in(client, pipe.viewer)
    assert 'id="activity-log"' not in (await client.get(f"/deals/{deal['id']}")).text
    refused = await client.post(
        f"/deals/{deal['id']}/activities",
        data={"csrf_token": viewer, "type": "note", "subject": "Sneaky"},
        headers=HTMX,
    )
    assert refused.status_code == 403
    stranger = await _sign_in(client, await register_tenant(client))
    hidden = await client.post(
        f"/deals/{deal['id']}/activities",
        data={"csrf_token": stranger, "type": "note", "subject": "Sneaky"},
        headers=HTMX,
    )
    assert hidden.status_code == 404


async def test_another_tenants_deal_is_not_found(client: httpx.AsyncClient, pipe: Pipeline) -> None:
    deal = await pipe.create(client)
    stranger = await register_tenant(client)
    token = await _sign_in(client, stranger)
    page = await client.get(f"/deals/{deal['id']}")
    assert page.status_code == 404
    assert "No such deal" in page.text
    assert deal["name"] not in page.text
    assert '<nav class="sidebar"' in page.text  # the whole error page, signed in
    move = await client.post(
        f"/deals/{deal['id']}/move", data=_move(pipe, token, deal, "discovery"), headers=HTMX
    )
    assert move.status_code == 404
    close = await client.post(
        f"/deals/{deal['id']}/close",
        data={"version": "1", "outcome": "lost", "reason": "price", "csrf_token": token},
        headers=HTMX,
    )
    assert close.status_code == 404
    board = await client.get("/pipeline")
    assert deal["name"] not in board.text
    assert (await pipe.get(client, deal))["version"] == deal["version"]


async def test_pages_speak_to_people_not_in_codes(
    client: httpx.AsyncClient, pipe: Pipeline
) -> None:
    """Issue 14, defects 6 and 10: reasons read as words (the API keeps the codes), no
    version in the header, one money format on the account page and the board, the
    organization's currency in Add deal, planned work soonest first."""
    deal = await pipe.walk(client, await pipe.create(client, amount="1234.50"), "discovery")
    for subject, day in (("Far call", 20), ("Near call", 2), ("Middle call", 9)):
        due = (datetime.now(UTC) + timedelta(days=day)).strftime("%Y-%m-%dT10:00:00Z")
        answer = await client.post(
            "/api/v1/activities",
            headers=pipe.sales.headers,
            json={"type": "call", "subject": subject, "due_at": due, "deal_id": deal["id"]},
        )
        assert answer.status_code == 201, answer.text
    await _sign_in(client, pipe.sales)
    page = (await client.get(f"/deals/{deal['id']}")).text
    assert f"version {deal['version']}" not in page
    assert page.index("Near call") < page.index("Middle call") < page.index("Far call")
    assert ">No budget<" in page  # the close form's reason list
    assert ">no_budget<" not in page

    board = (await client.get("/pipeline")).text
    account = (await client.get(f"/accounts/{pipe.account_id}")).text
    assert "$1,234.50" in board
    assert "$1,234.50" in account
    # The organization's currency (USD) is what Add deal offers, on both forms.
    assert 'name="currency" value="USD"' in board
    assert 'name="currency" value="USD"' in account
    assert 'value="EUR"' not in board + account

    deal = await pipe.walk(client, deal, "proposal", "negotiation")
    closed = await client.post(
        f"/api/v1/deals/{deal['id']}/close",
        headers=pipe.sales.headers,
        json={"outcome": "lost", "reason": "no_budget", "version": deal["version"]},
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["deal"]["loss_reason"] == "no_budget"
    page = (await client.get(f"/deals/{deal['id']}")).text
    assert "Lost</span> · No budget" in page
    assert "No budget" in (await client.get(f"/accounts/{pipe.account_id}")).text


async def test_a_move_names_only_the_fields_the_deal_still_lacks(
    client: httpx.AsyncClient, pipe: Pipeline
) -> None:
    """Proposal needs an amount and an expected close date: a deal that has both is
    not told it "needs" them (there is nothing to fill in); one without an amount is
    told exactly that, with the box to type it."""
    ready = await pipe.create(client, amount="1200.00", expected_close_date=NEXT_WEEK)
    ready = await pipe.walk(client, ready, "discovery")
    lacking = await pipe.create(client, expected_close_date=NEXT_WEEK)
    lacking = await pipe.walk(client, lacking, "discovery")
    await _sign_in(client, pipe.sales)

    def proposal_form(page: str) -> str:
        return page.split('data-to="proposal"', 1)[1].split("</form>", 1)[0]

    form = proposal_form((await client.get(f"/deals/{ready['id']}")).text)
    assert "Needs" not in form
    assert 'name="field.amount"' not in form
    form = proposal_form((await client.get(f"/deals/{lacking['id']}")).text)
    assert '<span class="hint">Needs amount</span>' in form
    assert 'name="field.amount"' in form
    assert 'name="field.expected_close_date"' not in form
