"""Each report's figures against the hand-built organization of `conftest.py`.

Every expected value is computed by hand from the rows listed there (the comments
say how), and asserted exactly.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import Member
from tests.reports.conftest import DAY, PERIOD, Org

H = 3600


async def get(
    client: httpx.AsyncClient, member: Member, name: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/reports/{name}", headers=member.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_pipeline_counts_amounts_and_weights_open_deals_per_stage(
    client: httpx.AsyncClient, org: Org, stranger: Member
) -> None:
    body = await get(client, org.manager, "pipeline")
    # Exactly the documented shape.
    assert set(body) == {"currency", "stages", "total"}
    assert body["currency"] == "EUR"
    assert [(s["key"], s["count"], s["amount"], s["weighted"]) for s in body["stages"]] == [
        ("prospecting", 1, "1000.00", "100.00"),  # d1: 1000 x 10 %
        ("discovery", 1, "2000.00", "400.00"),  # d2: 2000 x 20 %
        ("proposal", 2, "8000.00", "4500.00"),  # d3 3000 x 50 % + d6 5000 x 60 % (its own)
        ("negotiation", 2, "4000.00", "3600.00"),  # d4 4000 x 90 % + d5 without amount
    ]
    assert set(body["stages"][0]) == {"step_id", "key", "name", "count", "amount", "weighted"}
    assert body["stages"][0]["step_id"] == str(org.deal_steps["prospecting"])
    assert body["stages"][0]["name"] == "Prospecting"
    # d7 is in USD: left out of the EUR report (counts and sums alike).
    assert body["total"] == {"count": 6, "amount": "15000.00", "weighted": "8600.00"}

    mine = await get(client, org.sales1, "pipeline", owner_id=str(org.sales1.user_id))
    assert mine["total"] == {"count": 4, "amount": "8000.00", "weighted": "3500.00"}

    dollars = await get(client, org.manager, "pipeline", currency="USD")
    assert dollars["currency"] == "USD"
    assert dollars["total"] == {"count": 1, "amount": "7000.00", "weighted": "700.00"}


async def test_forecast_by_expected_close_month(
    client: httpx.AsyncClient, org: Org, stranger: Member
) -> None:
    body = await get(client, org.manager, "forecast", **PERIOD)
    september, october = body["months"]
    # September: d1 1000 @10 %, d2 2000 @20 %, d5 (no amount) @75 %; won w1 10000, w2 6000.
    assert september == {
        "month": "2026-09",
        "count": 3,
        "pipeline": "3000.00",
        "best_case": "0.00",
        "commit": "0.00",
        "weighted": "500.00",
        "won_count": 2,
        "won": "16000.00",
    }
    # October: d3 3000 @50 % (best case), d4 4000 @90 % (commit and best case).
    assert october == {
        "month": "2026-10",
        "count": 2,
        "pipeline": "7000.00",
        "best_case": "7000.00",
        "commit": "4000.00",
        "weighted": "5100.00",
        "won_count": 0,
        "won": "0.00",
    }
    assert body["total"]["pipeline"] == "10000.00"
    assert body["total"]["commit"] == "4000.00"
    assert body["undated"] == {"count": 1, "amount": "5000.00"}  # d6
    assert body["other_currencies"] == [{"currency": "USD", "count": 1}]  # d7
    assert (body["commit_probability"], body["best_case_probability"]) == (70, 50)

    # A shorter period: October only.
    october_only = await get(
        client, org.manager, "forecast", **{"from": "2026-10-01T00:00:00Z", "to": PERIOD["to"]}
    )
    assert [m["month"] for m in october_only["months"]] == ["2026-10"]
    assert october_only["total"]["commit"] == "4000.00"

    sales2 = await get(client, org.manager, "forecast", owner_id=str(org.sales2.user_id), **PERIOD)
    assert [m["pipeline"] for m in sales2["months"]] == ["0.00", "7000.00"]
    assert [m["won"] for m in sales2["months"]] == ["6000.00", "0.00"]


async def test_a_forecast_period_inside_months_counts_only_its_days(
    client: httpx.AsyncClient, org: Org
) -> None:
    """Whole months read the open deals' rollup; a period that starts or ends inside a
    month reads the deals by day (exact either way)."""
    body = await get(
        client,
        org.manager,
        "forecast",
        **{"from": "2026-09-10T00:00:00Z", "to": "2026-10-15T00:00:00Z"},
    )
    open_figures = ("count", "pipeline", "best_case", "commit", "weighted")
    by_month = {m["month"]: tuple(m[key] for key in open_figures) for m in body["months"]}
    assert by_month == {
        # d1 1000 @10 % (09-15), d2 2000 @20 % (09-20); d5 (09-05) is before the period.
        "2026-09": (2, "3000.00", "0.00", "0.00", "500.00"),
        # d3 3000 @50 % (10-10); d4 (10-28) is after it.
        "2026-10": (1, "3000.00", "3000.00", "0.00", "1500.00"),
    }
    assert body["undated"] == {"count": 1, "amount": "5000.00"}  # d6, whatever the period


async def test_win_rate_and_cycle_by_owner(
    client: httpx.AsyncClient, org: Org, stranger: Member
) -> None:
    body = await get(client, org.manager, "win-rate", **PERIOD)
    owners = {o["owner_id"]: o for o in body["owners"]}
    # Sales 1: w1 won (created 08-01, closed 09-10: 40 days), l1 and l2 lost; x1 is
    # before the period.
    assert owners[str(org.sales1.user_id)] | {"name": ""} == {
        "owner_id": str(org.sales1.user_id),
        "name": "",
        "won": 1,
        "lost": 2,
        "win_rate": 1 / 3,
        "won_amount": "10000.00",
        "average_cycle_days": 40.0,
    }
    # Sales 2: w2 won in 20 days, l3 lost.
    assert owners[str(org.sales2.user_id)]["win_rate"] == 0.5
    assert owners[str(org.sales2.user_id)]["average_cycle_days"] == 20.0
    assert body["total"] == {
        "won": 2,
        "lost": 3,
        "win_rate": 0.4,
        "won_amount": "16000.00",
        "average_cycle_days": 30.0,
    }
    assert body["win_reasons"] == [
        {"reason": "price", "label": "Price", "count": 1},
        {"reason": "product_fit", "label": "Product fit", "count": 1},
    ]
    assert body["loss_reasons"] == [
        {"reason": "competitor", "label": "Competitor", "count": 2},
        {"reason": "price", "label": "Price", "count": 1},
    ]
    assert len(body["owners"]) == 2  # the other organization's closer is not here


async def test_stage_conversion_from_the_ledger_per_period_and_owner(
    client: httpx.AsyncClient, org: Org
) -> None:
    body = await get(client, org.manager, "stage-conversion", **PERIOD)
    steps = {s["key"]: s for s in body["steps"]}
    # Entries: 3 created into prospecting; discovery from prospecting twice and once back
    # from proposal. The move of 2026-08-01 is before the period.
    assert steps["prospecting"] | {} == {
        **steps["prospecting"],
        "entries": 3,
        "exits": 2,
        "conversion_to_next": 2 / 3,
        # 2 and 4 days: the lower median (a duration the ledger holds, not the mean
        # of the middle two) and the first reaching 90 %.
        "median_seconds_in_step": 2 * DAY,
        "p90_seconds_in_step": 4 * DAY,
        "backwards_moves": 0,
    }
    assert (steps["discovery"]["entries"], steps["discovery"]["exits"]) == (3, 1)
    assert steps["discovery"]["conversion_to_next"] == 1 / 3
    assert steps["discovery"]["median_seconds_in_step"] == 6 * DAY
    assert steps["proposal"]["backwards_moves"] == 1
    assert steps["proposal"]["conversion_to_next"] == 0.0
    assert steps["negotiation"]["conversion_to_next"] is None

    mine = await get(
        client, org.manager, "stage-conversion", owner_id=str(org.sales1.user_id), **PERIOD
    )
    first = {s["key"]: s for s in mine["steps"]}["prospecting"]
    # Sales 1 owns d1 and d2: two entries, d2 moved on after 4 days.
    assert (first["entries"], first["exits"], first["conversion_to_next"]) == (2, 1, 0.5)
    assert first["median_seconds_in_step"] == 4 * DAY


async def test_lead_funnel(client: httpx.AsyncClient, org: Org, stranger: Member) -> None:
    body = await get(client, org.manager, "lead-funnel", **PERIOD)
    assert body["stages"] == [
        {"key": "created", "count": 5, "share_of_created": 1.0,
         "median_seconds_from_previous": None},
        # qualified after 2, 4 and 6 hours
        {"key": "qualified", "count": 3, "share_of_created": 0.6,
         "median_seconds_from_previous": 4 * H},
        # claimed 1 and 30 hours after the hand-over
        {"key": "claimed", "count": 2, "share_of_created": 0.4,
         "median_seconds_from_previous": 15.5 * H},
        {"key": "converted", "count": 1, "share_of_created": 0.2,
         "median_seconds_from_previous": 24 * H},
    ]  # fmt: skip
    assert (body["claim_sla_hours"], body["claimed_within_sla"]) == (24, 1)
    assert body["claimed_within_sla_rate"] == 0.5
    assert body["rejected_reasons"] == [{"reason": "duplicate", "label": "Duplicate", "count": 1}]

    claimed_by_two = await get(
        client, org.manager, "lead-funnel", owner_id=str(org.sales2.user_id), **PERIOD
    )
    assert [s["count"] for s in claimed_by_two["stages"]] == [1, 1, 1, 0]


async def test_sources(client: httpx.AsyncClient, org: Org, stranger: Member) -> None:
    body = await get(client, org.manager, "sources", **PERIOD)
    assert body["weeks"] == [
        "2026-08-31", "2026-09-07", "2026-09-14", "2026-09-21", "2026-09-28",
        "2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26",
    ]  # fmt: skip
    rest = [0] * 7
    assert body["sources"] == [
        {"source": "event", "created": 2, "qualified": 1, "qualification_rate": 0.5,
         "weeks": [1, 1, *rest]},
        {"source": "web", "created": 2, "qualified": 2, "qualification_rate": 1.0,
         "weeks": [2, 0, *rest]},
        {"source": None, "created": 1, "qualified": 0, "qualification_rate": 0.0,
         "weeks": [0, 1, *rest]},
    ]  # fmt: skip
    assert body["total"] == {"created": 5, "qualified": 3, "qualification_rate": 0.6}
    # Triage: 2 h (L1), 4 h (L2), 6 h (L3), 1 h (L4 disqualified): median 3 h.
    assert (body["median_triage_seconds"], body["triaged"]) == (3 * H, 4)
    assert body["nurture_backlog"] == 1
    assert body["rejected_reasons"] == [{"reason": "duplicate", "label": "Duplicate", "count": 1}]
    # Marketing reads only the leads its lists show: not L1 (converted) nor L2 (claimed).
    marketing = await get(client, org.marketing, "sources", **PERIOD)
    assert [(s["source"], s["created"]) for s in marketing["sources"]] == [("event", 2), (None, 1)]


async def test_activity_per_owner(client: httpx.AsyncClient, org: Org, stranger: Member) -> None:
    body = await get(client, org.manager, "activity", **PERIOD)
    owners = {o["owner_id"]: o for o in body["owners"]}
    # Sales 1: 2 tasks and 2 cadence steps done in the period (the system entry is not
    # work); overdue: 2 tasks and the cadence step of 09-12.
    assert {k: owners[str(org.sales1.user_id)][k] for k in ("done", "overdue", "due_today")} == {
        "done": 4,
        "overdue": 3,
        "due_today": 0,
    }
    assert {k: owners[str(org.sales2.user_id)][k] for k in ("done", "overdue", "due_today")} == {
        "done": 2,
        "overdue": 1,  # the cadence step of 08-01, still planned
        "due_today": 1,
    }
    assert body["total"] == {"done": 6, "overdue": 4, "due_today": 1}


async def test_cadence_adherence(client: httpx.AsyncClient, org: Org) -> None:
    body = await get(client, org.manager, "cadence-adherence", **PERIOD)
    owners = {o["owner_id"]: o for o in body["owners"]}
    one = owners[str(org.sales1.user_id)]
    assert (one["due"], one["on_time"], one["late"], one["not_done"]) == (3, 1, 1, 1)
    assert one["on_time_rate"] == 1 / 3
    two = owners[str(org.sales2.user_id)]
    assert (two["due"], two["on_time"], two["on_time_rate"]) == (1, 1, 1.0)
    assert body["total"] == {
        "due": 4,
        "on_time": 2,
        "late": 1,
        "not_done": 1,
        "on_time_rate": 0.5,
    }


# ------------------------------------------------------------------ who reads what


async def test_a_salesperson_counts_only_the_leads_they_may_read(
    client: httpx.AsyncClient, org: Org
) -> None:
    # Sales 1 reads the pool (L3), their own leads (L1) and what they sent back (L5).
    body = await get(client, org.sales1, "lead-funnel", **PERIOD)
    assert [s["count"] for s in body["stages"]] == [3, 2, 1, 1]
    marketing = await get(client, org.marketing, "lead-funnel", **PERIOD)
    # Marketing reads inbox, pool, nurture and disqualified: L3, L4, L5.
    assert [s["count"] for s in marketing["stages"]] == [3, 1, 0, 0]
    # Deals are read by every member: a salesperson's team pipeline is the team's.
    team = await get(client, org.sales1, "pipeline")
    assert team["total"]["count"] == 6
    viewer = await get(client, org.viewer, "win-rate", **PERIOD)
    assert viewer["total"]["won"] == 2


@pytest.mark.parametrize("name", ["pipeline", "forecast", "win-rate", "lead-funnel", "activity"])
async def test_another_organization_sees_none_of_it(
    client: httpx.AsyncClient, org: Org, stranger: Member, name: str
) -> None:
    body = await get(client, stranger, name, **({} if name == "pipeline" else PERIOD))
    text = str(body)
    for member in (org.sales1, org.sales2):
        assert str(member.user_id) not in text
    if name == "pipeline":
        assert body["total"] == {"count": 1, "amount": "77777.00", "weighted": "38888.50"}
    if name == "win-rate":
        assert body["total"]["won_amount"] == "55555.00"
    if name == "lead-funnel":
        assert body["stages"][0]["count"] == 1
    if name == "activity":
        assert body["total"] == {"done": 1, "overdue": 1, "due_today": 0}


async def test_another_organizations_ids_are_refused(
    client: httpx.AsyncClient, org: Org, stranger: Member
) -> None:
    workflow = await client.get(
        "/api/v1/reports/pipeline",
        headers=stranger.headers,
        params={"workflow_id": str(org.deal_workflow_id)},
    )
    assert workflow.status_code == 404
    owner = await client.get(
        "/api/v1/reports/win-rate",
        headers=stranger.headers,
        params={"owner_id": str(org.sales1.user_id)},
    )
    assert owner.status_code == 422
    assert owner.json()["errors"][0]["field"] == "owner_id"


async def test_reports_need_a_signed_in_member(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/reports/pipeline")
    assert response.status_code == 401


# ------------------------------------------------------------------ bounded parameters


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-09-01T00:00:00"}, "from"),  # no offset
        ({"from": "2026-09-01"}, "from"),  # a date, not a moment
        ({"from": "1800-01-01T00:00:00Z"}, "from"),  # out of range
        ({"to": "10000-01-01T00:00:00Z"}, "to"),
        ({"from": "2026-10-01T00:00:00Z", "to": "2026-09-01T00:00:00Z"}, "from"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),  # > 732 days
        ({"from": "9999-12-31T00:00:00Z"}, "from"),  # after the last possible end
        ({"owner_id": "not-a-uuid"}, "owner_id"),
        ({"currency": "euro"}, "currency"),
    ],
)
async def test_bounded_parameters(
    client: httpx.AsyncClient, org: Org, params: dict[str, str], field: str
) -> None:
    response = await client.get(
        "/api/v1/reports/win-rate", headers=org.manager.headers, params=params
    )
    assert response.status_code == 422, response.text
    assert field in {error["field"] for error in response.json()["errors"]}


async def test_a_workflow_of_another_kind_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    lead_flow = {"workflow_id": str(org.lead_workflow_id)}
    refused = await client.get(
        "/api/v1/reports/forecast", headers=org.manager.headers, params=lead_flow
    )
    assert refused.status_code == 422
    not_applicable = await client.get(
        "/api/v1/reports/activity", headers=org.manager.headers, params=lead_flow
    )
    assert not_applicable.status_code == 422
    # The ledger of the lead workflow is a stage-conversion report like any other.
    leads = await get(client, org.manager, "stage-conversion", **lead_flow)
    assert leads["workflow_id"] == str(org.lead_workflow_id)


async def test_an_unknown_report_is_404(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get("/api/v1/reports/everything", headers=org.manager.headers)
    assert response.status_code == 404
