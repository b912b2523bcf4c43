"""The account pages over HTTP: the list with search, filters and "Load more", and the
overview with its forms (profile, contacts, deals, activities) for every role."""

from __future__ import annotations

import re
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from baton.accounts import web as account_pages
from tests.activities.records import account, contact, soft_delete
from tests.audit.test_reading import _closed_deal as closed_deal_with_a_labelled_reason
from tests.factories import Member, add_member, register_tenant, unique
from tests.web.test_workflow_pages import HTMX, _sign_in

API = "/api/v1/accounts"


async def _account(client: httpx.AsyncClient, member: Member, **fields: Any) -> dict[str, Any]:
    created = await client.post(API, headers=member.headers, json={"name": "Acme", **fields})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


@pytest.mark.parametrize("role", ["admin", "sales", "viewer"])
async def test_each_role_reads_the_pages_and_only_writers_get_controls(
    client: httpx.AsyncClient, role: str
) -> None:
    admin = await register_tenant(client)
    member = admin if role == "admin" else await add_member(client, admin, role)
    name = unique("Globex")
    acme = await _account(client, admin, name=name, domain=f"{name.lower()}.example")
    token = await _sign_in(client, member)

    listed = await client.get("/accounts")
    assert listed.status_code == 200
    assert ">Accounts</a>" in listed.text
    assert f'href="/accounts/{acme["id"]}"' in listed.text
    assert 'class="badge tenure-prospect"' in listed.text
    assert 'class="badge level-no_transaction"' in listed.text
    assert 'hx-trigger="input changed delay:250ms, search"' in listed.text
    page = await client.get(f"/accounts/{acme['id']}")
    assert page.status_code == 200
    assert name in page.text
    assert "Prospect" in page.text

    writer = role != "viewer"
    for html in (listed.text, page.text):
        assert ("hx-post" in html) is writer
    assert ("Add account" in listed.text) is writer
    for control in ("Add contact", "Log activity", "Add deal", "Delete account", "Edit profile"):
        assert (control in page.text) is writer, control
    if not writer:
        for path, form in (
            ("/accounts", {"name": "Sneaky"}),
            (f"/accounts/{acme['id']}/contacts", {"first_name": "Eve"}),
            (f"/accounts/{acme['id']}/activities", {"type": "note", "subject": "Hi"}),
            (f"/accounts/{acme['id']}/delete", {"version": "1"}),
        ):
            refused = await client.post(path, data={**form, "csrf_token": token}, headers=HTMX)
            assert refused.status_code == 403, path


async def test_add_account_and_a_duplicate_domain_refused_inline(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    token = await _sign_in(client, sales)
    domain = f"{unique('initech')}.example"
    added = await client.post(
        "/accounts",
        data={
            "name": "Initech",
            "domain": domain,
            "tags": "key, key, partner",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert added.status_code == 200, added.text
    target = added.headers["HX-Redirect"]
    assert re.fullmatch(r"/accounts/[0-9a-f-]{36}", target)
    page = await client.get(target)
    assert "Initech" in page.text
    assert domain in page.text

    again = await client.post(
        "/accounts",
        data={
            "name": "Initech again",
            "domain": f"https://www.{domain.upper()}/",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert again.status_code == 409
    assert 'class="form-errors"' in again.text
    assert "already another account&#39;s domain" in again.text
    nameless = await client.post(
        "/accounts", data={"name": " ", "domain": "not a domain", "csrf_token": token}, headers=HTMX
    )
    assert nameless.status_code == 422
    assert "<strong>Name</strong>" in nameless.text
    assert "<strong>Domain</strong>" in nameless.text

    # Without htmx the form still works: a 303 to the new account.
    plain = await client.post("/accounts", data={"name": "Plain Co", "csrf_token": token})
    assert plain.status_code == 303
    assert plain.headers["location"].startswith("/accounts/")


async def test_search_filters_and_load_more(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    for n in range(53):
        await account(owner_conn, admin, name=f"Bulk {n:02d}")
    await _account(client, admin, name="Umbrella", domain="umbrella-corp.example")
    await _sign_in(client, admin)

    first = await client.get("/accounts", params={"q": "bulk"}, headers=HTMX)
    assert first.status_code == 200
    assert first.text.lstrip().startswith('<section id="account-results"')
    assert first.text.count("<tr data-account=") == 50
    assert "Umbrella" not in first.text
    more = re.search(r'hx-get="([^"]+)"[^>]*>Load more', first.text)
    assert more
    rest = await client.get(more.group(1).replace("&amp;", "&"), headers=HTMX)
    assert rest.status_code == 200
    assert rest.text.count("<tr data-account=") == 3
    assert "Load more" not in rest.text
    assert "Bulk 52" in rest.text

    by_domain = await client.get("/accounts", params={"q": "www.umbrella-c"}, headers=HTMX)
    assert by_domain.text.count("<tr data-account=") == 1
    assert "Umbrella" in by_domain.text
    customers = await client.get(
        "/accounts", params={"q": "umb", "tenure": "active_customer"}, headers=HTMX
    )
    assert "No account matches" in customers.text
    # Unknown filter values are ignored rather than failing the page.
    lenient = await client.get("/accounts", params={"q": "umb", "activity": "bogus"})
    assert lenient.status_code == 200
    assert "Umbrella" in lenient.text


async def test_overview_add_contact_log_activity_and_a_deleted_contact(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    acme = await _account(client, admin, name="Acme Overview")
    token = await _sign_in(client, sales)
    path = f"/accounts/{acme['id']}"

    added = await client.post(
        f"{path}/contacts",
        data={
            "first_name": "Bob",
            "last_name": "Builder",
            "email": "Bob@Acme.example",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert added.status_code == 200, added.text
    assert added.text.lstrip().startswith('<div id="overview">')
    assert 'data-contact="Bob Builder"' in added.text
    assert "bob@acme.example" in added.text
    twin = await client.post(
        f"{path}/contacts",
        data={"first_name": "Bobby", "email": "bob@acme.example", "csrf_token": token},
        headers=HTMX,
    )
    assert twin.status_code == 409
    assert "<strong>Email</strong>" in twin.text
    bob = re.search(r'<option value="([0-9a-f-]{36})">Bob Builder</option>', added.text)
    assert bob

    logged = await client.post(
        f"{path}/activities",
        data={
            "type": "call",
            "subject": "Discovery call",
            "due_at": "2031-05-06T10:30",
            "contact_id": bob.group(1),
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert logged.status_code == 200, logged.text
    assert "“Discovery call” planned" in logged.text
    upcoming = logged.text.split('id="upcoming"', 1)[1].split('id="recent"', 1)[0]
    assert 'data-activity="Discovery call"' in upcoming
    assert "due 2031-05-06 10:30" in upcoming
    assert "Bob Builder" in upcoming
    assert "Complete</button>" in upcoming
    # A note is logged as done, whatever due time the form still holds.
    noted = await client.post(
        f"{path}/activities",
        data={
            "type": "note",
            "subject": "Met at the fair",
            "due_at": "2031-05-06T10:30",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert noted.status_code == 200, noted.text
    recent = noted.text.split('id="recent"', 1)[1]
    assert 'data-activity="Met at the fair"' in recent
    missing = await client.post(
        f"{path}/activities",
        data={"type": "task", "subject": "No time", "due_at": "", "csrf_token": token},
        headers=HTMX,
    )
    assert missing.status_code == 422
    assert "<strong>Due</strong>" in missing.text

    # The contact is deleted elsewhere: the page names it, it does not fail.
    await soft_delete(owner_conn, "contacts", uuid.UUID(bob.group(1)))
    page = await client.get(path)
    assert page.status_code == 200
    assert "Deleted contact" in page.text
    assert 'data-contact="Bob Builder"' not in page.text


async def test_delete_contact_edit_profile_and_delete_account(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    acme = await _account(client, admin, name="Acme Edit")
    bob = await contact(owner_conn, admin, uuid.UUID(acme["id"]))
    token = await _sign_in(client, admin)
    path = f"/accounts/{acme['id']}"

    deleted = await client.post(
        f"{path}/contacts/{bob}/delete", data={"version": "1", "csrf_token": token}, headers=HTMX
    )
    assert deleted.status_code == 200, deleted.text
    assert "Contact deleted" in deleted.text
    assert "data-contact=" not in deleted.text

    edited = await client.post(
        f"{path}/edit",
        data={
            "version": "1",
            "name": "Acme Renamed",
            "domain": "https://acme-renamed.example/about",
            "industry": "Anvils",
            "tags": "vip",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert edited.status_code == 200, edited.text
    assert "Acme Renamed saved" in edited.text
    assert "acme-renamed.example" in edited.text
    stale = await client.post(
        f"{path}/edit", data={"version": "1", "name": "Late", "csrf_token": token}, headers=HTMX
    )
    assert stale.status_code == 409
    assert 'class="form-errors"' in stale.text

    gone = await client.post(
        f"{path}/delete", data={"version": "2", "csrf_token": token}, headers=HTMX
    )
    assert gone.status_code == 200, gone.text
    assert gone.headers["HX-Redirect"] == "/accounts?notice=deleted"
    assert "was deleted" in (await client.get("/accounts?notice=deleted")).text
    page = await client.get(path)
    assert page.status_code == 404
    assert "Acme Renamed" not in (await client.get("/accounts")).text


async def test_add_deal_from_the_overview(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    acme = await _account(client, admin, name="Acme Deals")
    token = await _sign_in(client, sales)
    path = f"/accounts/{acme['id']}"
    added = await client.post(
        f"{path}/deals",
        data={
            "name": "Anvil order",
            "amount": "1250.50",
            "currency": "EUR",
            "next_step": "Send quote",
            "next_step_due_date": "2031-01-15",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert added.status_code == 200, added.text
    assert "Deal Anvil order added" in added.text
    deals = added.text.split('id="deals"', 1)[1].split("Add deal", 1)[0]
    assert re.search(r'href="/deals/[0-9a-f-]{36}">Anvil order</a>', deals)
    assert "Send quote" in deals
    assert "€1,250.50" in deals
    # The new deal can be chosen when logging an activity.
    assert re.search(r'<option value="[0-9a-f-]{36}">Anvil order</option>', added.text)
    refused = await client.post(
        f"{path}/deals", data={"name": "No next step", "csrf_token": token}, headers=HTMX
    )
    assert refused.status_code == 422
    assert "<strong>Next step</strong>" in refused.text


async def test_add_deal_with_a_cadence_from_the_overview(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    acme = await _account(client, admin, name="Acme Cadenced")
    token = await _sign_in(client, sales)
    path = f"/accounts/{acme['id']}"
    cadence_id = await owner_conn.fetchval(
        "SELECT id FROM cadences WHERE tenant_id = $1 AND is_default", admin.tenant_id
    )
    assert f'<option value="{cadence_id}">' in (await client.get(path)).text
    added = await client.post(
        f"{path}/deals",
        data={"name": "Crates", "cadence_id": str(cadence_id), "csrf_token": token},
        headers=HTMX,
    )
    assert added.status_code == 200, added.text
    assert "Deal Crates added" in added.text
    upcoming = added.text.split('id="upcoming"', 1)[1]
    assert "Intro call with Acme Cadenced" in upcoming
    assert "Meeting with Acme Cadenced" in upcoming


async def test_another_organizations_account_is_not_found(client: httpx.AsyncClient) -> None:
    theirs = await register_tenant(client)
    foreign = await _account(client, theirs, name="Their Secret Co")
    ours = await register_tenant(client)
    token = await _sign_in(client, ours)
    path = f"/accounts/{foreign['id']}"
    page = await client.get(path)
    assert page.status_code == 404
    assert "Their Secret Co" not in page.text
    assert 'class="sidebar"' in page.text  # a whole page, with the sidebar
    for action, form in (
        ("contacts", {"first_name": "Eve"}),
        ("activities", {"type": "note", "subject": "Hi"}),
        ("edit", {"version": "1", "name": "Mine now"}),
        ("delete", {"version": "1"}),
    ):
        refused = await client.post(
            f"{path}/{action}", data={**form, "csrf_token": token}, headers=HTMX
        )
        assert refused.status_code == 404, action
    listed = await client.get("/accounts", params={"q": "their"})
    assert "Their Secret Co" not in listed.text


async def test_search_finds_a_word_in_the_middle_and_loads_more_in_rank_order(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14, defect 5: "Feinkost" finds "Nordhafen Feinkost GmbH"; "Load more"
    continues the ranked list (the cursor carries the rank); a very long query is cut,
    not refused."""
    monkeypatch.setattr(account_pages, "PAGE_SIZE", 2)
    admin = await register_tenant(client)
    by_domain = await _account(client, admin, name="Holzbau", domain="feinkost-hub.example")
    middle = await _account(client, admin, name="Nordhafen Feinkost GmbH")
    starts = await _account(client, admin, name="Feinkost Meyer")
    await _account(client, admin, name="Südhafen Logistik")
    await _sign_in(client, admin)

    first = await client.get("/accounts", params={"q": "Feinkost"}, headers=HTMX)
    assert first.status_code == 200
    names = re.findall(r'<tr data-account="([^"]+)"', first.text)
    assert names == [starts["name"], middle["name"]]
    # On a phone each row is a block (no sideways scroll), its cells labelled.
    assert '<table class="accounts stacked">' in first.text
    assert 'data-label="Owner"' in first.text
    more = re.search(r'hx-get="([^"]+)"[^>]*>Load more', first.text)
    assert more
    rest = await client.get(more.group(1).replace("&amp;", "&"), headers=HTMX)
    assert re.findall(r'<tr data-account="([^"]+)"', rest.text) == [by_domain["name"]]
    assert "Load more" not in rest.text

    whole = await client.get("/accounts", params={"q": "feinkost " + "x" * 2000})
    assert whole.status_code == 200
    assert "No account matches" in whole.text


async def test_closed_deals_name_their_reason_as_the_workflow_labels_it(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The organization labels `no_budget` "Budget frozen this year" on its pipeline:
    the account's closed deals say that, not the code or "No budget"."""
    deals, deal = await closed_deal_with_a_labelled_reason(client, owner_conn)
    await _sign_in(client, deals.sales)
    page = await client.get(f"/accounts/{deals.account_id}")
    assert page.status_code == 200, page.text
    closed = page.text.split('id="closed-deals"', 1)[1].split("</section>", 1)[0]
    assert deal["name"] in closed
    assert '<td data-label="Reason">Budget frozen this year</td>' in closed
    assert "no_budget" not in closed
    assert '<td data-label="Outcome"><span class="tag cat-lost">Lost</span></td>' in closed
