"""`baton demo`'s sales data and lead journey: built through the services, complete,
and added once."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from click.testing import Result
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from baton.cli import app
from baton.db.urls import libpq_dsn
from baton.demo import DEMO_SLUG
from baton.demo_leads import LEADS, MARKER_EMAIL, TARGETS, Journey
from baton.demo_sales import COMPANIES, DEALS, MARKER_DOMAIN
from baton.leads.models import LeadView

runner = CliRunner()
pytestmark = pytest.mark.xdist_group("demo")

COUNTS = """
SELECT (SELECT count(*) FROM accounts WHERE tenant_id = $1) AS accounts,
       (SELECT count(*) FROM contacts WHERE tenant_id = $1) AS contacts,
       (SELECT count(*) FROM account_transactions WHERE tenant_id = $1) AS ledger_lines,
       (SELECT count(*) FROM deals WHERE tenant_id = $1) AS deals,
       (SELECT count(*) FROM activities WHERE tenant_id = $1) AS activities,
       (SELECT count(*) FROM leads WHERE tenant_id = $1) AS leads,
       (SELECT count(*) FROM lead_pool WHERE tenant_id = $1) AS pool,
       (SELECT count(*) FROM targets WHERE tenant_id = $1) AS targets,
       (SELECT count(*) FROM workflow_history WHERE tenant_id = $1) AS history,
       (SELECT count(*) FROM audit_log WHERE tenant_id = $1) AS audit
"""


def _query(url: URL, sql: str, *args: object) -> list[asyncpg.Record]:
    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(libpq_dsn(url))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(fetch())


@pytest.fixture(scope="module")
def demo_run(owner_url: URL) -> Result:
    """`baton demo`, run once for this module (perhaps not for the first time)."""
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def demo(owner_url: URL, demo_run: Result) -> Any:
    """The demo tenant's id, after `baton demo` ran."""
    return _query(owner_url, "SELECT id FROM tenants WHERE slug = $1", DEMO_SLUG)[0]["id"]


def test_a_second_run_adds_nothing(owner_url: URL, demo: Any) -> None:
    before = dict(_query(owner_url, COUNTS, demo)[0])
    assert before["accounts"] >= len(COMPANIES)
    assert before["deals"] >= len(DEALS)
    assert before["leads"] >= len(LEADS)
    assert before["targets"] >= len(TARGETS)
    # As a user runs it: a process of its own, importing only what the CLI imports.
    again = subprocess.run(
        [sys.executable, "-m", "baton", "demo"], capture_output=True, text=True, check=False
    )
    assert again.returncode == 0, again.stderr
    assert "Demo sales data: already there, nothing added" in again.stdout
    assert "Demo leads: already there, nothing added" in again.stdout
    assert dict(_query(owner_url, COUNTS, demo)[0]) == before


def test_the_first_run_reports_what_it_built(owner_url: URL, demo: Any) -> None:
    marker = _query(
        owner_url,
        "SELECT count(*) AS n FROM accounts WHERE tenant_id = $1 AND domain = $2",
        demo,
        MARKER_DOMAIN,
    )
    assert marker[0]["n"] == 1
    # The summary the first run printed matches the rows (other tests may add their
    # own records to the demo tenant later, so count the demo's own).
    rows = _query(
        owner_url,
        "SELECT count(*) AS n FROM accounts WHERE tenant_id = $1 AND domain = ANY($2::text[])",
        demo,
        [company.domain for company in COMPANIES],
    )
    assert rows[0]["n"] == len(COMPANIES)


def _demo_deals(url: URL, tenant_id: Any) -> list[asyncpg.Record]:
    return _query(
        url,
        "SELECT d.*, s.key AS step_key, u.email AS owner_email FROM deals d"
        " JOIN workflow_steps s ON s.tenant_id = d.tenant_id AND s.id = d.step_id"
        " JOIN users u ON u.id = d.owner_id"
        " WHERE d.tenant_id = $1 AND d.name = ANY($2::text[])",
        tenant_id,
        [plan.name for plan in DEALS],
    )


def test_every_stage_has_deals_and_open_deals_have_a_next_step(owner_url: URL, demo: Any) -> None:
    deals = _demo_deals(owner_url, demo)
    assert len(deals) == len(DEALS)
    stages = Counter(deal["step_key"] for deal in deals)
    assert set(stages) == {"prospecting", "discovery", "proposal", "negotiation", "won", "lost"}
    owners = {deal["owner_email"] for deal in deals}
    assert owners == {"sales1@acme.example", "sales2@acme.example", "manager@acme.example"}
    today = datetime.now(UTC).date()
    open_deals = [deal for deal in deals if deal["outcome"] is None]
    for deal in open_deals:
        assert deal["owner_id"] is not None
        assert deal["next_step"]
        assert deal["next_step_due_date"] is not None
        if deal["step_key"] in ("proposal", "negotiation"):
            assert deal["amount"] is not None
            assert deal["expected_close_date"] is not None
    assert any(deal["next_step_due_date"] < today for deal in open_deals)
    assert any(deal["next_step_due_date"] == today for deal in open_deals)
    assert any(deal["next_step_due_date"] > today for deal in open_deals)
    for deal in deals:
        if deal["outcome"] is not None:
            assert deal["step_key"] == deal["outcome"]
            assert deal["closed_at"] is not None
            assert (deal["win_reason"] or deal["loss_reason"]) is not None


def test_an_open_deals_next_step_is_its_planned_activity(owner_url: URL, demo: Any) -> None:
    planned = _query(
        owner_url,
        "SELECT deal_id, subject, (due_at AT TIME ZONE 'UTC')::date AS day FROM activities"
        " WHERE tenant_id = $1 AND deal_id IS NOT NULL AND status = 'planned'",
        demo,
    )
    by_deal = defaultdict(set)
    for row in planned:
        by_deal[row["deal_id"]].add((row["subject"], row["day"]))
    for deal in _demo_deals(owner_url, demo):
        if deal["outcome"] is None:
            assert (deal["next_step"], deal["next_step_due_date"]) in by_deal[deal["id"]]
        else:
            # Closing cancelled the deal's planned work.
            assert not by_deal[deal["id"]]


def test_every_stage_change_went_through_the_engine(owner_url: URL, demo: Any) -> None:
    """Each deal's history is a chain from the initial step to its current one, and
    each change has its "Stage changed" timeline entry and its audit row."""
    deals = {deal["id"]: deal for deal in _demo_deals(owner_url, demo)}
    history = _query(
        owner_url,
        "SELECT h.record_id, h.from_step_id, h.to_step_id, h.reason, h.backwards, s.key"
        " FROM workflow_history h JOIN workflow_steps s"
        " ON s.tenant_id = h.tenant_id AND s.id = h.to_step_id"
        " WHERE h.tenant_id = $1 AND h.record_id = ANY($2::uuid[]) ORDER BY h.at, h.id",
        demo,
        list(deals),
    )
    chains = defaultdict(list)
    for row in history:
        chains[row["record_id"]].append(row)
    changes = 0
    for deal_id, deal in deals.items():
        chain = chains[deal_id]
        assert chain[0]["from_step_id"] is None
        assert chain[0]["key"] == "prospecting"
        for before, after in itertools.pairwise(chain):
            assert after["from_step_id"] == before["to_step_id"]
        assert chain[-1]["to_step_id"] == deal["step_id"]
        if deal["outcome"] is not None:
            assert chain[-1]["reason"] == (deal["win_reason"] or deal["loss_reason"])
        changes += len(chain) - 1
    assert any(row["backwards"] for row in history)
    assert len(history) > len(deals)  # deals were moved, not created in place
    entries = _query(
        owner_url,
        "SELECT count(*) AS n FROM activities WHERE tenant_id = $1 AND type = 'system'"
        " AND subject LIKE 'Stage changed: %' AND deal_id = ANY($2::uuid[])",
        demo,
        list(deals),
    )
    assert entries[0]["n"] == changes
    # Audited, as done by the deal's owner (the demo acts as the demo users).
    audited = _query(
        owner_url,
        "SELECT row_id, actor_user_id, count(*) AS n FROM audit_log"
        " WHERE tenant_id = $1 AND table_name = 'deals' AND row_id = ANY($2::uuid[])"
        " GROUP BY row_id, actor_user_id",
        demo,
        list(deals),
    )
    assert {row["row_id"]: row["actor_user_id"] for row in audited} == {
        deal_id: deal["owner_id"] for deal_id, deal in deals.items()
    }
    assert sum(row["n"] for row in audited) > len(deals)


def test_account_statuses_cover_every_tenure_and_activity(owner_url: URL, demo: Any) -> None:
    rows = _query(
        owner_url,
        "SELECT s.tenure, s.activity FROM account_statuses s"
        " JOIN accounts a ON a.tenant_id = s.tenant_id AND a.id = s.account_id"
        " WHERE a.tenant_id = $1 AND a.domain = ANY($2::text[])",
        demo,
        [company.domain for company in COMPANIES],
    )
    assert {row["tenure"] for row in rows} == {
        "prospect",
        "new_customer",
        "active_customer",
        "winback_target",
    }
    assert {row["activity"] for row in rows} == {"active", "passive", "inactive", "no_transaction"}
    contacts = _query(
        owner_url,
        "SELECT a.domain, count(c.id) AS n FROM accounts a LEFT JOIN contacts c"
        " ON c.tenant_id = a.tenant_id AND c.account_id = a.id"
        " WHERE a.tenant_id = $1 AND a.domain = ANY($2::text[]) GROUP BY a.domain",
        demo,
        [company.domain for company in COMPANIES],
    )
    assert all(1 <= row["n"] <= 3 for row in contacts)


def test_the_sales_users_planners_are_full(owner_url: URL, demo: Any) -> None:
    """Each sales user has overdue work, work due today, upcoming work and done work."""
    rows = _query(
        owner_url,
        "SELECT u.email, a.status, (a.due_at AT TIME ZONE 'UTC')::date AS day"
        " FROM activities a JOIN users u ON u.id = a.owner_id"
        " WHERE a.tenant_id = $1 AND a.type <> 'system'"
        " AND u.email IN ('sales1@acme.example', 'sales2@acme.example')",
        demo,
    )
    today = datetime.now(UTC).date()
    for email in ("sales1@acme.example", "sales2@acme.example"):
        mine = [row for row in rows if row["email"] == email]
        planned = [row["day"] for row in mine if row["status"] == "planned"]
        assert any(day < today for day in planned), email
        assert any(day == today for day in planned), email
        assert any(day > today for day in planned), email
        assert any(row["status"] == "done" for row in mine), email


# ---------------------------------------------------------------- the lead journey


def _demo_leads(url: URL, tenant_id: Any) -> dict[str, asyncpg.Record]:
    """The demo's own leads by company (other tests may add leads to the demo tenant)."""
    rows = _query(
        url,
        "SELECT l.*, s.key AS step_key, m.email AS marketing_email, o.email AS sales_email,"
        " r.email AS rejected_by_email, p.claim_due_at, d.outcome AS deal_outcome,"
        " d.loss_reason AS deal_loss_reason, d.owner_id AS deal_owner_id,"
        " d.deleted_at AS deal_deleted_at"
        " FROM leads l"
        " JOIN workflow_steps s ON s.tenant_id = l.tenant_id AND s.id = l.step_id"
        " JOIN users m ON m.id = l.marketing_owner_id"
        " LEFT JOIN users o ON o.id = l.sales_owner_id"
        " LEFT JOIN users r ON r.id = l.rejected_by"
        " LEFT JOIN lead_pool p ON p.tenant_id = l.tenant_id AND p.lead_id = l.id"
        " LEFT JOIN deals d ON d.tenant_id = l.tenant_id AND d.id = l.deal_id"
        " WHERE l.tenant_id = $1 AND l.company_name = ANY($2::text[])",
        tenant_id,
        [plan.company for plan in LEADS],
    )
    return {row["company_name"]: row for row in rows}


# Where each journey leaves a lead: its step and its view.
JOURNEY_ENDS = {
    Journey.NEW: ("new", LeadView.INBOX),
    Journey.IN_REVIEW: ("in_review", LeadView.INBOX),
    Journey.REJECTED: ("in_review", LeadView.INBOX),
    Journey.NURTURE: ("nurture", LeadView.NURTURE),
    Journey.DISQUALIFIED: ("disqualified", LeadView.DISQUALIFIED),
    Journey.POOL: ("handed_over", LeadView.POOL),
    Journey.CLAIMED: ("claimed", LeadView.MINE),
    Journey.CONVERTED: ("converted", LeadView.CONVERTED),
    Journey.CLOSED: ("disqualified", LeadView.DISQUALIFIED),
}


def test_the_first_run_reports_the_lead_journey(demo_run: Result) -> None:
    lines = [line for line in demo_run.output.splitlines() if line.startswith("Demo leads:")]
    assert len(lines) == 1
    if "already there" not in lines[0]:  # another test's `baton demo` ran first
        assert lines[0].startswith(f"Demo leads: {len(LEADS)} leads (")
        assert f"{len(TARGETS)} targets (" in lines[0]


def test_every_lead_view_appears_made_by_the_right_users(owner_url: URL, demo: Any) -> None:
    leads = _demo_leads(owner_url, demo)
    assert len(leads) == len(LEADS)
    assert {lead["view"] for lead in leads.values()} == {view.value for view in LeadView}
    for plan in LEADS:
        lead = leads[plan.company]
        step, view = JOURNEY_ENDS[plan.journey]
        assert (lead["step_key"], lead["view"]) == (step, view.value), plan.company
        # Marketing added every lead; sales owns what it claimed.
        assert lead["marketing_email"] == "marketing@acme.example"
        assert lead["deleted_at"] is None
        if plan.journey in (Journey.CLAIMED, Journey.CONVERTED, Journey.CLOSED):
            assert lead["sales_email"] == plan.seller
            assert lead["claimed_at"] is not None
            assert lead["deal_id"] is not None
            assert lead["account_id"] is not None
            assert lead["deal_owner_id"] == lead["sales_owner_id"]
            assert lead["deal_deleted_at"] is None
        else:
            assert lead["sales_owner_id"] is None
            assert lead["deal_id"] is None
        # Pooled exactly while handed over, with the claim SLA.
        assert (lead["claim_due_at"] is not None) == (plan.journey is Journey.POOL)
        if plan.journey in (Journey.POOL, Journey.REJECTED, Journey.CLAIMED):
            assert lead["qualified_at"] is not None
            assert lead["handed_over_at"] is not None
    rejected = [p for p in LEADS if p.journey is Journey.REJECTED]
    assert rejected
    for plan in rejected:
        lead = leads[plan.company]
        assert lead["reject_reason"] == plan.reason
        assert lead["reject_notes"]
        assert lead["rejected_by_email"] == plan.seller
    for plan in LEADS:
        lead = leads[plan.company]
        if plan.journey is Journey.CLAIMED:
            assert lead["deal_outcome"] is None
        if plan.journey is Journey.CONVERTED:
            assert lead["converted_at"] is not None
            assert lead["deal_outcome"] is None
        if plan.journey is Journey.CLOSED:
            # The sales closure: disqualified by its salesperson, the deal lost.
            assert lead["disqualify_reason"] == plan.reason
            assert (lead["deal_outcome"], lead["deal_loss_reason"]) == ("lost", plan.reason)
        if plan.journey is Journey.DISQUALIFIED:
            assert lead["disqualify_reason"] == plan.reason
    assert (
        _query(
            owner_url,
            "SELECT count(*) AS n FROM leads WHERE tenant_id = $1 AND email = $2",
            demo,
            MARKER_EMAIL,
        )[0]["n"]
        == 1
    )


def test_every_lead_step_went_through_the_engine(owner_url: URL, demo: Any) -> None:
    """Each demo lead's history is a chain from New to its current step, written by the
    user whose job the step was (the triggers attribute it to the acting member)."""
    leads = {lead["id"]: lead for lead in _demo_leads(owner_url, demo).values()}
    plans = {plan.company: plan for plan in LEADS}
    history = _query(
        owner_url,
        "SELECT h.record_id, h.from_step_id, h.to_step_id, s.key, u.email AS actor"
        " FROM workflow_history h"
        " JOIN workflow_steps s ON s.tenant_id = h.tenant_id AND s.id = h.to_step_id"
        " LEFT JOIN users u ON u.id = h.actor_id"
        " WHERE h.tenant_id = $1 AND h.record_id = ANY($2::uuid[]) ORDER BY h.at, h.id",
        demo,
        list(leads),
    )
    chains = defaultdict(list)
    for row in history:
        chains[row["record_id"]].append(row)
    for lead_id, lead in leads.items():
        chain = chains[lead_id]
        assert chain[0]["from_step_id"] is None
        assert chain[0]["key"] == "new"
        for before, after in itertools.pairwise(chain):
            assert after["from_step_id"] == before["to_step_id"]
        assert chain[-1]["to_step_id"] == lead["step_id"]
        keys = [row["key"] for row in chain]
        if "qualified" in keys:
            # Qualifying handed over at once.
            assert keys[keys.index("qualified") + 1] == "handed_over"
        seller = plans[lead["company_name"]].seller
        for before, row in zip(["", *keys], chain, strict=False):
            after = row["key"]
            by_sales = after in ("claimed", "converted") or (before, after) in (
                ("handed_over", "in_review"),  # rejected back
                ("claimed", "disqualified"),  # closed as not a fit
            )
            expected = seller if by_sales else "marketing@acme.example"
            assert row["actor"] == expected, (lead["company_name"], before, after)


def _demo_targets(url: URL, tenant_id: Any) -> list[asyncpg.Record]:
    return _query(
        url,
        "SELECT g.*, s.key AS step_key, u.email AS owner_email FROM targets g"
        " JOIN workflow_steps s ON s.tenant_id = g.tenant_id AND s.id = g.step_id"
        " JOIN users u ON u.id = g.owner_id"
        " WHERE g.tenant_id = $1 AND g.company_name = ANY($2::text[])",
        tenant_id,
        [plan.company for plan in TARGETS],
    )


def test_targets_in_every_status_owned_by_sales(owner_url: URL, demo: Any) -> None:
    rows = _demo_targets(owner_url, demo)
    assert len(rows) == len(TARGETS)
    statuses = Counter(row["step_key"] for row in rows)
    assert set(statuses) == {
        "new_target",
        "contacted",
        "engaged",
        "qualified",
        "converted",
        "dropped",
    }
    assert statuses == Counter(plan.status for plan in TARGETS)
    assert {row["owner_email"] for row in rows} == {"sales1@acme.example", "sales2@acme.example"}
    for row in rows:
        converted = row["step_key"] == "converted"
        assert (row["converted_at"] is not None) == converted
        assert (row["converted_account_id"] is not None) == converted
        assert (row["converted_deal_id"] is not None) == converted
        dropped = row["step_key"] == "dropped"
        assert (row["dropped_at"] is not None) == dropped
        assert (row["drop_reason"] is not None) == dropped
    converted_deal = [row["converted_deal_id"] for row in rows if row["converted_deal_id"]]
    deal = _query(
        owner_url,
        "SELECT d.outcome, u.email FROM deals d JOIN users u ON u.id = d.owner_id"
        " WHERE d.tenant_id = $1 AND d.id = $2",
        demo,
        converted_deal[0],
    )
    converted_plan = next(plan for plan in TARGETS if plan.status == "converted")
    assert (deal[0]["outcome"], deal[0]["email"]) == (None, converted_plan.owner)


def test_the_doctor_finds_nothing_in_the_demo(demo: Any) -> None:
    result = runner.invoke(app, ["doctor", "--tenant", DEMO_SLUG, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["tenant"] == DEMO_SLUG
    assert report["findings"] == []


def test_the_demo_ships_and_chooses_its_winback_cadence(owner_url: URL, demo: Any) -> None:
    rows = _query(
        owner_url,
        "SELECT c.name, c.active, array_agg(st.type ORDER BY st.position) AS steps"
        " FROM tenant_settings s JOIN cadences c"
        " ON c.tenant_id = s.tenant_id AND c.id = s.winback_cadence_id"
        " JOIN cadence_steps st ON st.tenant_id = c.tenant_id AND st.cadence_id = c.id"
        " WHERE s.tenant_id = $1 GROUP BY c.name, c.active",
        demo,
    )
    assert [(row["name"], row["active"], row["steps"]) for row in rows] == [
        ("Winback: re-engage", True, ["call", "email", "call"])
    ]
