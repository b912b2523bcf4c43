"""The Targets page over HTTP: every role reads it (writers get controls), status chips
with the summary's counts, search, Add target, status changes (Drop with a reason),
Convert answering with the deal's link; another organization's targets are 404."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.factories import add_member, register_tenant, unique
from tests.targets.support import bring_to, create_target
from tests.web.test_workflow_pages import HTMX, _sign_in


def _chip(html: str, key: str) -> int:
    match = re.search(rf'data-chip="{key}">[^<]*<span class="count">(\d+)</span>', html)
    assert match, key
    return int(match.group(1))


@pytest.mark.parametrize("role", ["admin", "marketing", "sales", "viewer"])
async def test_every_role_reads_targets_and_only_writers_get_controls(
    client: httpx.AsyncClient, role: str
) -> None:
    admin = await register_tenant(client)
    member = admin if role == "admin" else await add_member(client, admin, role)
    target = await create_target(client, admin)
    token = await _sign_in(client, member)
    page = await client.get("/targets")
    assert page.status_code == 200
    assert target["company_name"] in page.text
    writer = role != "viewer"
    assert ("hx-post" in page.text) is writer
    assert ("Add target" in page.text) is writer
    if not writer:
        refused = await client.post(
            "/targets", data={"company_name": "Sneaky", "csrf_token": token}, headers=HTMX
        )
        assert refused.status_code == 403
        refused = await client.post(
            f"/targets/{target['id']}/convert", data={"csrf_token": token}, headers=HTMX
        )
        assert refused.status_code == 403


async def test_chips_search_add_move_drop_and_convert(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    for status in ("new_target", "contacted", "contacted", "dropped"):
        await bring_to(client, admin, await create_target(client, admin), status)
    token = await _sign_in(client, sales)

    page = await client.get("/targets")
    assert _chip(page.text, "all") == 4
    assert _chip(page.text, "new_target") == 1
    assert _chip(page.text, "contacted") == 2
    assert _chip(page.text, "dropped") == 1
    assert _chip(page.text, "converted") == 0
    contacted = await client.get("/targets", params={"status": "contacted"})
    assert contacted.text.count('<tr id="target-') == 2

    company = unique("Wayne")
    added = await client.post(
        "/targets",
        data={
            "company_name": company,
            "email": f"{company.lower()}@wayne.example",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert added.status_code == 200, added.text
    assert f"{company} added" in added.text
    assert _chip(added.text, "new_target") == 2
    duplicate = await client.post(
        "/targets",
        data={
            "company_name": "Other",
            "email": f"{company.lower()}@wayne.example",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert duplicate.status_code == 409
    assert 'class="form-errors"' in duplicate.text

    found = await client.get("/targets", params={"q": company[:8].lower()}, headers=HTMX)
    assert found.status_code == 200
    row = re.search(r'<tr id="target-([0-9a-f-]{36})" data-target="' + company, found.text)
    assert row
    target_id = row.group(1)

    moved = await client.post(
        f"/targets/{target_id}/status",
        data={"status": "contacted", "version": "1", "csrf_token": token},
        headers=HTMX,
    )
    assert moved.status_code == 200, moved.text
    assert f"{company} is now Contacted" in moved.text
    assert _chip(moved.text, "contacted") == 3

    no_reason = await client.post(
        f"/targets/{target_id}/status",
        data={"status": "dropped", "version": "2", "csrf_token": token},
        headers=HTMX,
    )
    assert no_reason.status_code == 422
    assert "<strong>Reason</strong>" in no_reason.text

    for status, version in (("engaged", "2"), ("qualified", "3")):
        answer = await client.post(
            f"/targets/{target_id}/status",
            data={"status": status, "version": version, "csrf_token": token},
            headers=HTMX,
        )
        assert answer.status_code == 200, answer.text
    converted = await client.post(
        f"/targets/{target_id}/convert",
        data={"filter_status": "converted", "csrf_token": token},
        headers=HTMX,
    )
    assert converted.status_code == 200, converted.text
    assert f"{company} converted" in converted.text
    deal = re.search(r'<a href="/deals/([0-9a-f-]{36})">Open the deal</a>', converted.text)
    assert deal
    assert _chip(converted.text, "converted") == 1
    assert (await client.get(f"/deals/{deal.group(1)}")).status_code == 200

    dropped = await client.post(
        f"/targets/{target_id}/status",
        data={"status": "dropped", "reason": "no_budget", "version": "9", "csrf_token": token},
        headers=HTMX,
    )
    assert dropped.status_code in (409, 422)


async def test_another_organizations_targets_are_404(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    target = await create_target(client, admin)
    stranger = await register_tenant(client)
    token = await _sign_in(client, stranger)
    page = await client.get("/targets")
    assert target["company_name"] not in page.text
    for path, data in (
        (f"/targets/{target['id']}/status", {"status": "contacted", "version": "1"}),
        (f"/targets/{target['id']}/convert", {}),
    ):
        answer = await client.post(path, data={**data, "csrf_token": token}, headers=HTMX)
        assert answer.status_code == 404, path


async def test_converting_a_colleagues_target_asks_first_and_says_who(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    own = await bring_to(client, seller, await create_target(client, seller), "qualified")
    theirs = await bring_to(client, admin, await create_target(client, admin), "qualified")
    await _sign_in(client, seller)
    page = await client.get("/targets?status=qualified")
    # The colleague's row asks before converting; the seller's own does not.
    confirm = re.search(
        rf'action="/targets/{theirs["id"]}/convert"[^>]*hx-confirm="([^"]*)"', page.text
    )
    assert confirm, page.text
    assert "Ada Admin\u2019s target" in confirm.group(1)
    assert not re.search(rf'action="/targets/{own["id"]}/convert"[^>]*hx-confirm', page.text)

    converted = await client.post(f"/api/v1/targets/{theirs['id']}/convert", headers=seller.headers)
    assert converted.status_code == 200, converted.text
    timeline = await client.get(
        f"/api/v1/targets/{theirs['id']}/activities", headers=seller.headers
    )
    descriptions = [a["description"] or "" for a in timeline.json()]
    assert any("(converted by Sales Person for Ada Admin)" in d for d in descriptions)
    assert converted.json()["deal"]["owner_id"] == str(admin.user_id)  # still theirs
