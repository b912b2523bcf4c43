"""Triage: every transition of the lead workflow through the API, valid and invalid,
and the hand-over that qualifying is."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.leads.conftest import Org, counts

TRIAGE = ("in_review", "qualified", "nurture", "disqualified")

# From each state a triage may reach, the statuses it accepts (all others are 422).
ALLOWED = {
    "new": {"in_review"},
    "in_review": {"qualified", "nurture", "disqualified"},
    "nurture": {"in_review"},
    "disqualified": set(),
    "handed_over": set(),
}


async def _lead_at(client: httpx.AsyncClient, org: Org, key: str) -> dict[str, Any]:
    lead = await org.create(client)
    path = {
        "new": (),
        "in_review": ("in_review",),
        "nurture": ("in_review", "nurture"),
        "handed_over": ("in_review", "qualified"),
    }
    if key == "disqualified":
        lead = await org.walk(client, lead, "in_review")
        response = await org.triage(client, lead, "disqualified", reason="no_fit")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]
    return await org.walk(client, lead, *path[key])


@pytest.mark.parametrize("start", sorted(ALLOWED))
async def test_every_triage_transition_valid_and_invalid(
    client: httpx.AsyncClient, org: Org, start: str
) -> None:
    for status in TRIAGE:
        lead = await _lead_at(client, org, start)
        assert lead["step"]["key"] == start
        reason = "no_fit" if status == "disqualified" else None
        response = await org.triage(client, lead, status, reason=reason)
        if status in ALLOWED[start]:
            assert response.status_code == 200, (start, status, response.text)
            moved = response.json()
            expected = "handed_over" if status == "qualified" else status
            assert moved["step"]["key"] == expected
            assert moved["version"] > lead["version"]
        else:
            assert response.status_code == 422, (start, status, response.text)
            current = (await org.get(client, lead)).json()
            assert current["step"]["key"] == start
            assert current["version"] == lead["version"]


async def test_views_follow_the_steps(client: httpx.AsyncClient, org: Org) -> None:
    lead = await org.create(client)
    assert (lead["view"], lead["step"]["key"]) == ("inbox", "new")
    assert lead["marketing_owner_id"] == str(org.marketing.user_id)
    lead = await org.walk(client, lead, "in_review")
    assert lead["view"] == "inbox"
    lead = await org.walk(client, lead, "nurture")
    assert lead["view"] == "nurture"
    lead = await org.walk(client, lead, "in_review")
    response = await org.triage(client, lead, "disqualified", reason="duplicate")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["view"] == "disqualified"
    assert body["disqualify_reason"] == "duplicate"
    assert body["disqualified_at"] is not None


async def test_disqualifying_needs_a_listed_reason_and_notes_for_other(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.walk(client, await org.create(client), "in_review")
    missing = await org.triage(client, lead, "disqualified")
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["reason"]
    unknown = await org.triage(client, lead, "disqualified", reason="bored")
    assert unknown.status_code == 422
    other = await org.triage(client, lead, "disqualified", reason="other")
    assert other.status_code == 422
    assert [e["field"] for e in other.json()["errors"]] == ["notes"]
    fine = await org.triage(client, lead, "disqualified", reason="other", notes="A competitor")
    assert fine.status_code == 200, fine.text
    assert fine.json()["disqualify_notes"] == "A competitor"


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"email": None, "phone": None}, ["email"]),
        ({"need": None}, ["need"]),
        ({"email": None, "need": None}, ["email", "need"]),
    ],
)
async def test_qualified_needs_a_contact_and_a_need(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    fields: dict[str, Any],
    missing: list[str],
) -> None:
    lead = await org.walk(client, await org.create(client, **fields), "in_review")
    response = await org.triage(client, lead, "qualified")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == missing
    assert "Nurture" in problem["detail"]
    assert (await org.get(client, lead)).json()["step"]["key"] == "in_review"
    assert (await counts(owner_conn, org.admin.tenant_id))["pool"] == 0


async def test_a_phone_is_enough_contact(client: httpx.AsyncClient, org: Org) -> None:
    lead = await org.create(client, email=None, phone="+49 30 1234 567")
    assert lead["dedupe_key"] == "49301234567"
    pooled = await org.walk(client, lead, "in_review", "qualified")
    assert pooled["view"] == "pool"


async def test_qualifying_hands_over_in_the_same_transaction(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    lead = await org.walk(client, await org.create(client), "in_review")
    response = await org.triage(client, lead, "qualified")
    assert response.status_code == 200, response.text
    pooled = response.json()
    # The answer already shows the lead in the pool.
    assert pooled["view"] == "pool"
    assert pooled["step"]["key"] == "handed_over"
    assert pooled["qualified_at"] is not None
    assert pooled["handed_over_at"] is not None
    assert pooled["claim_due_at"] is not None
    assert pooled["claim_overdue"] is False
    history = await owner_conn.fetch(
        "SELECT s.key FROM workflow_history h JOIN workflow_steps s"
        " ON s.tenant_id = h.tenant_id AND s.id = h.to_step_id"
        " WHERE h.tenant_id = $1 AND h.record_id = $2::uuid ORDER BY h.at, h.id",
        org.admin.tenant_id,
        lead["id"],
    )
    assert [r["key"] for r in history] == ["new", "in_review", "qualified", "handed_over"]
    pool = await owner_conn.fetchrow(
        "SELECT claim_due_at - entered_at AS sla, handed_over_by FROM lead_pool"
        " WHERE tenant_id = $1 AND lead_id = $2::uuid",
        org.admin.tenant_id,
        lead["id"],
    )
    assert pool is not None
    assert pool["sla"].total_seconds() == 24 * 3600
    assert pool["handed_over_by"] == org.marketing.user_id
    subjects = await owner_conn.fetch(
        "SELECT subject FROM activities WHERE tenant_id = $1 AND lead_id = $2::uuid"
        " AND type = 'system' ORDER BY id",
        org.admin.tenant_id,
        lead["id"],
    )
    assert "Handed over to sales" in [r["subject"] for r in subjects]
    audited = await owner_conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND table_name = 'lead_pool'",
        org.admin.tenant_id,
    )
    assert audited == 1
    listed = await client.get("/api/v1/leads", params={"view": "pool"}, headers=org.sales.headers)
    assert [item["id"] for item in listed.json()["items"]] == [lead["id"]]


async def test_a_stale_version_is_409(client: httpx.AsyncClient, org: Org) -> None:
    lead = await org.create(client)
    await org.walk(client, lead, "in_review")
    stale = await org.triage(client, lead, "in_review")
    assert stale.status_code == 409


async def test_sales_and_viewers_do_not_triage_the_inbox(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead = await org.create(client)
    for member in (org.viewer,):
        response = await org.triage(client, lead, "in_review", member)
        assert response.status_code == 403, response.text
    # Sales cannot even see the inbox: 404 like an unknown id.
    response = await org.triage(client, lead, "in_review", org.sales)
    assert response.status_code == 404, response.text
    for member in (org.admin, org.manager):
        fresh = await org.create(client, member)
        moved = await org.triage(client, fresh, "in_review", member)
        assert moved.status_code == 200, moved.text


async def test_the_lead_hand_over_effect_is_in_the_catalogue(
    client: httpx.AsyncClient, org: Org
) -> None:
    listed = await client.get(
        "/api/v1/workflow/effects", headers=org.admin.headers, params={"entity_type": "lead"}
    )
    assert listed.status_code == 200, listed.text
    catalogue = {e["name"]: e for e in listed.json()}
    assert "sales pool" in catalogue["hand_over"]["summary"]
    assert catalogue["hand_over"]["config_schema"].get("required", []) == []
