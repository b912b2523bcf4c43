"""The claim: one atomic, idempotent action; one winner among concurrent claimers;
find-or-create of the account; the new deal enrolled in the default cadence (or a
first contact without one); nothing changes when a step of it fails."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from baton.cadences import service as cadence_service
from baton.cadences.service import DEFAULT_CADENCE_STEPS
from baton.deals import service as deal_service
from baton.leads import service as lead_service
from tests.cadences.support import days_after_first, first_due_day
from tests.factories import add_member, unique
from tests.leads.conftest import Org, counts


def _seeded_plan(company: str) -> list[tuple[str, str, int]]:
    """The seeded default cadence for `company`: type, subject and due day of each step
    (days from today, the delays adding up)."""
    plan, day = [], 0
    for kind, template, delay in DEFAULT_CADENCE_STEPS:
        day += delay
        plan.append((kind.value, template.replace("{company}", company), day))
    return plan


async def _enrollments(owner_conn: asyncpg.Connection, deal_id: str) -> list[Any]:
    return list(
        await owner_conn.fetch(
            "SELECT e.id, e.cadence_id, e.status, e.owner_id, e.created_by, c.is_default"
            " FROM cadence_enrollments e"
            " JOIN cadences c ON c.tenant_id = e.tenant_id AND c.id = e.cadence_id"
            " WHERE e.deal_id = $1::uuid",
            deal_id,
        )
    )


async def test_a_claim_opens_account_and_deal_enrolled_in_the_default_cadence(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    lead = await org.pooled(client, email=f"{unique('ceo')}@{unique('newco')}.io")
    response = await org.action(client, lead, "claim")
    assert response.status_code == 200, response.text
    body = response.json()
    claimed, deal, account = body["lead"], body["deal"], body["account"]
    assert claimed["view"] == "mine"
    assert claimed["step"]["key"] == "claimed"
    assert claimed["sales_owner_id"] == str(org.sales.user_id)
    assert claimed["claimed_at"] is not None
    assert claimed["claim_due_at"] is None
    assert claimed["deal_id"] == deal["id"]
    assert claimed["account_id"] == account["id"]
    assert deal["owner_id"] == str(org.sales.user_id)
    assert deal["name"] == lead["company_name"]
    assert deal["step"]["key"] == "prospecting"
    assert account["name"] == lead["company_name"]
    assert account["domain"] == lead["email"].split("@")[1]
    assert account["status"]["tenure"] == "prospect"
    # Every step of the seeded cadence is planned for the claimer; the deal's next step
    # is the first of them.
    plan = _seeded_plan(account["name"])
    activities = body["activities"]
    assert [(a["type"], a["subject"], days_after_first(a["due_at"])) for a in activities] == plan
    assert {(a["owner_id"], a["status"], a["deal_id"], a["account_id"]) for a in activities} == {
        (str(org.sales.user_id), "planned", deal["id"], account["id"])
    }
    assert (deal["next_step"], deal["next_step_due_date"]) == (
        plan[0][1],
        first_due_day().isoformat(),
    )
    [enrollment] = await _enrollments(owner_conn, deal["id"])
    assert enrollment["is_default"]
    assert (enrollment["status"], enrollment["owner_id"], enrollment["created_by"]) == (
        "active",
        org.sales.user_id,
        org.sales.user_id,
    )
    linked = await owner_conn.fetch(
        "SELECT enrollment_id, lead_id FROM activities WHERE deal_id = $1::uuid", deal["id"]
    )
    assert {(r["enrollment_id"], str(r["lead_id"])) for r in linked} == {
        (enrollment["id"], lead["id"])
    }
    assert await counts(owner_conn, org.admin.tenant_id) == {
        "deals": 1,
        "accounts": 1,
        "activities": len(plan),
        "pool": 0,
        "enrollments": 1,
    }
    history = await owner_conn.fetch(
        "SELECT actor_id FROM workflow_history WHERE tenant_id = $1 AND record_id = $2::uuid"
        " ORDER BY at DESC, id DESC LIMIT 1",
        org.admin.tenant_id,
        lead["id"],
    )
    assert history[0]["actor_id"] == org.sales.user_id
    timeline = await owner_conn.fetch(
        "SELECT subject, owner_id FROM activities WHERE lead_id = $1::uuid AND type = 'system'"
        " ORDER BY created_at DESC, id DESC LIMIT 1",
        lead["id"],
    )
    assert [tuple(r) for r in timeline] == [
        ("Stage changed: Handed Over → Claimed", org.sales.user_id)
    ]
    audited = await owner_conn.fetch(
        "SELECT table_name, action FROM audit_log WHERE tenant_id = $1"
        " AND table_name IN ('lead_pool', 'leads', 'deals', 'accounts', 'cadence_enrollments')"
        " AND actor_user_id = $2",
        org.admin.tenant_id,
        org.sales.user_id,
    )
    assert {(r["table_name"], r["action"]) for r in audited} >= {
        ("lead_pool", "delete"),
        ("leads", "update"),
        ("deals", "insert"),
        ("accounts", "insert"),
        ("cadence_enrollments", "insert"),
    }
    mine = await client.get("/api/v1/leads", params={"view": "mine"}, headers=org.sales.headers)
    assert [item["id"] for item in mine.json()["items"]] == [lead["id"]]
    # The answer is what the database holds.
    assert (await org.get(client, lead)).json() == claimed
    stored = await client.get(f"/api/v1/deals/{deal['id']}", headers=org.sales.headers)
    assert stored.json() == deal


@pytest.mark.parametrize("setup", ["no default", "inactive default"])
async def test_without_an_active_default_cadence_a_claim_plans_a_first_contact(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection, setup: str
) -> None:
    # The service keeps a default cadence active; the database alone does not.
    column = "is_default" if setup == "no default" else "active"
    await owner_conn.execute(
        f"UPDATE cadences SET {column} = false WHERE tenant_id = $1 AND is_default",
        org.admin.tenant_id,
    )
    lead = await org.pooled(client)
    response = await org.action(client, lead, "claim")
    assert response.status_code == 200, response.text
    body = response.json()
    deal = body["deal"]
    today = first_due_day().isoformat()
    assert (deal["next_step"], deal["next_step_due_date"]) == ("First contact", today)
    [activity] = body["activities"]
    assert (activity["type"], activity["subject"], activity["status"]) == (
        "call",
        "First contact",
        "planned",
    )
    assert activity["description"] == lead["need"]
    assert activity["owner_id"] == str(org.sales.user_id)
    assert activity["due_at"].startswith(today)
    assert await _enrollments(owner_conn, deal["id"]) == []
    assert await counts(owner_conn, org.admin.tenant_id) == {
        "deals": 1,
        "accounts": 1,
        "activities": 1,
        "pool": 0,
        "enrollments": 0,
    }


async def test_a_repeated_claim_answers_the_same_and_enrols_once(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    lead = await org.pooled(client)
    first = await org.action(client, lead, "claim")
    assert first.status_code == 200, first.text
    counted = await counts(owner_conn, org.admin.tenant_id)
    for _ in range(2):
        again = await org.action(client, lead, "claim")
        assert again.status_code == 200, again.text
        assert again.json()["deal"] == first.json()["deal"]
        assert again.json()["account"] == first.json()["account"]
        assert again.json()["activities"] == first.json()["activities"]
        assert again.json()["lead"] == first.json()["lead"]
    assert await counts(owner_conn, org.admin.tenant_id) == counted
    assert len(await _enrollments(owner_conn, first.json()["deal"]["id"])) == 1


async def test_32_concurrent_claims_have_one_winner(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    claimers = [org.sales, org.other_sales]
    claimers += await asyncio.gather(*(add_member(client, org.admin, "sales") for _ in range(30)))
    lead = await org.pooled(client)
    responses = await asyncio.gather(
        *(org.action(client, lead, "claim", member) for member in claimers)
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * 31, [r.text for r in responses if r.status_code != 409]
    [won] = [r.json() for r in responses if r.status_code == 200]
    details = {r.json()["detail"] for r in responses if r.status_code == 409}
    assert all("already claimed" in detail for detail in details), details
    steps = len(DEFAULT_CADENCE_STEPS)
    assert await counts(owner_conn, org.admin.tenant_id) == {
        "deals": 1,
        "accounts": 1,
        "activities": steps,
        "pool": 0,
        "enrollments": 1,
    }
    winner = next(m for m in claimers if str(m.user_id) == won["lead"]["sales_owner_id"])
    again = await org.action(client, lead, "claim", winner)
    assert again.status_code == 200, again.text
    assert again.json()["deal"] == won["deal"]
    assert again.json()["account"]["id"] == won["account"]["id"]
    assert [a["id"] for a in again.json()["activities"]] == [a["id"] for a in won["activities"]]
    late = await org.action(client, lead, "claim", next(m for m in claimers if m != winner))
    assert late.status_code == 409, late.text
    after = await counts(owner_conn, org.admin.tenant_id)
    assert (after["deals"], after["enrollments"], after["activities"]) == (1, 1, steps)


async def test_find_or_create_matches_the_domain_first(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    domain = f"{unique('acme')}.com"
    existing = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO accounts (tenant_id, id, name, domain, owner_id) VALUES ($1, $2, $3, $4, $5)",
        org.admin.tenant_id,
        existing,
        "Acme Holding (by domain)",
        domain,
        org.admin.user_id,
    )
    lead = await org.pooled(client, company_name="Totally Different GmbH", email=f"x@{domain}")
    body = (await org.action(client, lead, "claim")).json()
    assert body["account"]["id"] == str(existing)
    assert (await counts(owner_conn, org.admin.tenant_id))["accounts"] == 1
    # The cadence's {company} is the account's name; the deal keeps the lead's.
    assert body["activities"][0]["subject"] == "Intro call with Acme Holding (by domain)"
    assert body["deal"]["name"] == "Totally Different GmbH"


async def test_find_or_create_matches_the_normalised_name(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    name = unique("Hopper Logistics")
    existing = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO accounts (tenant_id, id, name, owner_id) VALUES ($1, $2, $3, $4)",
        org.admin.tenant_id,
        existing,
        name,
        org.admin.user_id,
    )
    # Another case, punctuation and spacing; a free-mail address says nothing.
    lead = await org.pooled(client, company_name=f"  {name.upper()}!! ", email="boss@gmail.com")
    body = (await org.action(client, lead, "claim")).json()
    assert body["account"]["id"] == str(existing)
    second = await org.pooled(client, company_name=name.lower() + ".", phone="+1 555 0100")
    body = (await org.action(client, second, "claim", org.other_sales)).json()
    assert body["account"]["id"] == str(existing)
    assert (await counts(owner_conn, org.admin.tenant_id))["accounts"] == 1


async def test_leads_of_one_new_company_claimed_at_once_share_one_account(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    domain = f"{unique('newco')}.com"
    company = unique("NewCo")
    leads = [
        await org.pooled(client, company_name=company, email=f"{unique('p')}@{domain}")
        for _ in range(4)
    ] + [await org.pooled(client, company_name=company, email=f"{unique('p')}@gmail.com")]
    sellers = [org.sales, org.other_sales] + [
        await add_member(client, org.admin, "sales") for _ in range(3)
    ]
    responses = await asyncio.gather(
        *(
            org.action(client, lead, "claim", seller)
            for lead, seller in zip(leads, sellers, strict=True)
        )
    )
    assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
    assert len({r.json()["account"]["id"] for r in responses}) == 1
    assert await counts(owner_conn, org.admin.tenant_id) == {
        "deals": 5,
        "accounts": 1,
        "activities": 5 * len(DEFAULT_CADENCE_STEPS),
        "pool": 0,
        "enrollments": 5,
    }


async def _pool_snapshot(owner_conn: asyncpg.Connection, lead: dict[str, Any]) -> Any:
    return await owner_conn.fetchrow(
        "SELECT l.version, l.view, l.sales_owner_id, l.deal_id, l.account_id, p.id AS pool_id,"
        " p.claim_due_at FROM leads l LEFT JOIN lead_pool p"
        " ON p.tenant_id = l.tenant_id AND p.lead_id = l.id WHERE l.id = $1::uuid",
        lead["id"],
    )


# Each write of a claim, after the pool row was taken, refused in turn by the database
# (a trigger of the test's own, for this organization only).
WRITES = [
    ("accounts", "INSERT"),  # the account
    ("contacts", "INSERT"),  # the lead's person
    ("deals", "INSERT"),  # the deal
    ("cadence_enrollments", "INSERT"),  # the enrolment
    ("activities", "INSERT"),  # the planned activities, the timeline entry
    ("leads", "UPDATE"),  # the lead to Claimed
    ("workflow_history", "INSERT"),  # the history row the lead's move writes
]
# And failures between the statements, and after the last one.
FAULTS = [
    (deal_service, "rank_in"),  # after the account, before the deal
    (cadence_service, "new_deal_plan"),  # before the deal and its enrolment
    (lead_service, "_run_effects"),  # after every write: deal, enrolment, activities
]


async def _pool_snapshot(owner_conn: asyncpg.Connection, lead: dict[str, Any]) -> Any:
    return await owner_conn.fetchrow(
        "SELECT l.version, l.view, l.sales_owner_id, l.deal_id, l.account_id, p.id AS pool_id,"
        " p.claim_due_at FROM leads l LEFT JOIN lead_pool p"
        " ON p.tenant_id = l.tenant_id AND p.lead_id = l.id WHERE l.id = $1::uuid",
        lead["id"],
    )


async def _all_rows(owner_conn: asyncpg.Connection, tenant_id: uuid.UUID) -> dict[str, int]:
    """Every row a claim could leave, deleted and ended ones too."""
    row = await owner_conn.fetchrow(
        "SELECT (SELECT count(*) FROM accounts WHERE tenant_id = $1) AS accounts,"
        " (SELECT count(*) FROM contacts WHERE tenant_id = $1) AS contacts,"
        " (SELECT count(*) FROM deals WHERE tenant_id = $1) AS deals,"
        " (SELECT count(*) FROM cadence_enrollments WHERE tenant_id = $1) AS enrollments,"
        " (SELECT count(*) FROM activities WHERE tenant_id = $1) AS activities,"
        " (SELECT count(*) FROM workflow_history WHERE tenant_id = $1) AS history,"
        " (SELECT count(*) FROM audit_log WHERE tenant_id = $1) AS audit",
        tenant_id,
    )
    assert row is not None
    return dict(row)


async def _claim_fails_and_changes_nothing(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection, lead: dict[str, Any]
) -> dict[str, int]:
    before = await _pool_snapshot(owner_conn, lead)
    written = await _all_rows(owner_conn, org.admin.tenant_id)
    response = await org.action(client, lead, "claim")
    assert response.status_code == 500, response.text
    assert await _pool_snapshot(owner_conn, lead) == before
    assert await _all_rows(owner_conn, org.admin.tenant_id) == written
    return written


@pytest.mark.parametrize(("table", "event"), WRITES, ids=[f"{t} {e}" for t, e in WRITES])
async def test_a_refused_write_leaves_the_lead_in_the_pool(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    table: str,
    event: str,
) -> None:
    lead = await org.pooled(client, email=f"x@{unique('faulty')}.com")
    function = f"test_fault_{uuid.uuid4().hex}"
    await owner_conn.execute(
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF NEW.tenant_id = '{org.admin.tenant_id}' THEN"
        f" RAISE EXCEPTION 'injected fault on {table}'; END IF; RETURN NEW; END $$"
    )
    await owner_conn.execute(
        f"CREATE TRIGGER {function} BEFORE {event} ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION {function}()"
    )
    try:
        await _claim_fails_and_changes_nothing(client, org, owner_conn, lead)
    finally:
        await owner_conn.execute(f"DROP TRIGGER {function} ON {table}")
        await owner_conn.execute(f"DROP FUNCTION {function}()")
    # And the next claim works.
    assert (await org.action(client, lead, "claim")).status_code == 200


@pytest.mark.parametrize(("module", "name"), FAULTS, ids=[name for _, name in FAULTS])
async def test_a_fault_between_or_after_the_writes_leaves_the_lead_in_the_pool(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    name: str,
) -> None:
    lead = await org.pooled(client, email=f"x@{unique('faulty')}.com")
    real = getattr(module, name)
    calls = 0

    async def broken(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        raise RuntimeError(f"injected fault in {name}")

    def broken_sync(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        raise RuntimeError(f"injected fault in {name}")

    is_async = asyncio.iscoroutinefunction(real)
    monkeypatch.setattr(module, name, broken if is_async else broken_sync)
    await _claim_fails_and_changes_nothing(client, org, owner_conn, lead)
    assert calls == 1
    monkeypatch.undo()
    assert (await org.action(client, lead, "claim")).status_code == 200


async def test_a_lead_changed_during_the_claim_is_refused_whole(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lead is read with its pool row and written last, at the version read: a
    change in between (here an edit committed while the claim places its deal) makes
    the last statement find no lead to move — 409, and the account, deal, enrolment
    and activities it wrote alongside go with the rest."""
    lead = await org.pooled(client, email=f"x@{unique('raced')}.com")
    real = deal_service.rank_in

    async def edited_meanwhile(*args: Any, **kwargs: Any) -> Any:
        await owner_conn.execute(
            "UPDATE leads SET notes = 'edited', version = version + 1 WHERE id = $1::uuid",
            lead["id"],
        )
        return await real(*args, **kwargs)

    monkeypatch.setattr(deal_service, "rank_in", edited_meanwhile)
    written = await _all_rows(owner_conn, org.admin.tenant_id)
    response = await org.action(client, lead, "claim")
    assert response.status_code == 409, response.text
    monkeypatch.undo()
    snapshot = await _pool_snapshot(owner_conn, lead)
    assert (snapshot["view"], snapshot["deal_id"], snapshot["version"]) == (
        "pool",
        None,
        lead["version"] + 1,
    )
    assert snapshot["pool_id"] is not None
    assert await _all_rows(owner_conn, org.admin.tenant_id) == {
        **written,
        "audit": written["audit"] + 1,  # the edit's own
    }
    assert (await org.action(client, lead, "claim")).status_code == 200


async def test_converting_a_claimed_lead_without_a_deal_opens_one_as_a_claim_does(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    lead = await org.pooled(client)
    claim = (await org.action(client, lead, "claim")).json()
    # A claimed lead without its deal (data from before claims opened deals).
    await owner_conn.execute(
        "UPDATE leads SET deal_id = NULL, account_id = NULL WHERE id = $1::uuid", lead["id"]
    )
    response = await org.action(client, lead, "convert")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["lead"]["view"], body["lead"]["step"]["key"]) == ("converted", "converted")
    assert body["lead"]["converted_at"] is not None
    assert body["lead"]["claimed_at"] == claim["lead"]["claimed_at"]
    assert body["deal"]["id"] not in (None, claim["deal"]["id"])
    assert body["lead"]["deal_id"] == body["deal"]["id"]
    assert body["account"]["id"] == claim["account"]["id"]  # found again
    assert [a["subject"] for a in body["activities"]] == [
        subject for _, subject, _ in _seeded_plan(body["account"]["name"])
    ]
    assert {a["owner_id"] for a in body["activities"]} == {str(org.sales.user_id)}
    [enrollment] = await _enrollments(owner_conn, body["deal"]["id"])
    assert enrollment["status"] == "active"
    assert (await org.get(client, lead)).json() == body["lead"]
    again = await org.action(client, lead, "convert")
    assert again.status_code == 200, again.text
    assert again.json()["deal"]["id"] == body["deal"]["id"]
    assert [a["id"] for a in again.json()["activities"]] == [a["id"] for a in body["activities"]]


async def test_a_refused_activity_leaves_the_lead_in_the_pool(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    """Fault through data: the claim's planned activities are refused by the database,
    after the account, the deal and the enrolment were written in the same statement:
    422 and nothing stays."""
    lead = await org.pooled(client)
    before = await _pool_snapshot(owner_conn, lead)
    counted = await counts(owner_conn, org.admin.tenant_id)
    seller = await add_member(client, org.admin, "sales")
    # A CHECK that refuses this tenant's planned activities only (other tests go on).
    await owner_conn.execute(
        "ALTER TABLE activities ADD CONSTRAINT ck_test_no_planned"
        " CHECK (status <> 'planned' OR tenant_id <> $$"
        + str(org.admin.tenant_id)
        + "$$::uuid) NOT VALID"
    )
    try:
        response = await org.action(
            client, lead, "assign", org.manager, json={"user_id": str(seller.user_id)}
        )
    finally:
        await owner_conn.execute("ALTER TABLE activities DROP CONSTRAINT ck_test_no_planned")
    assert response.status_code == 422, response.text
    assert await _pool_snapshot(owner_conn, lead) == before
    assert await counts(owner_conn, org.admin.tenant_id) == counted
