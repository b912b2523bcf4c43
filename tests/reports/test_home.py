"""Home by role over plain HTTP: which dashboard each role gets, that its figures are
the reports', that each links to its list, and the CSV downloads."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from baton.reports.web import period_of
from tests.factories import PASSWORD, Member
from tests.reports.conftest import Loader, Org, at, rebuild_rollups

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


async def sign_in(client: httpx.AsyncClient, member: Member) -> None:
    page = await client.get("/login")
    match = CSRF.search(page.text)
    assert match
    response = await client.post(
        "/login",
        data={"email": member.email, "password": PASSWORD, "csrf_token": match.group(1)},
    )
    assert response.status_code == 303, response.text


async def home(client: httpx.AsyncClient, member: Member, query: str = "") -> str:
    await sign_in(client, member)
    response = await client.get("/" + query)
    assert response.status_code == 200, response.text
    return response.text


async def test_sales_home_links_each_figure_to_its_list(
    client: httpx.AsyncClient, org: Org
) -> None:
    page = await home(client, org.sales1)
    assert 'data-home="sales"' in page
    # Overdue: two tasks and a cadence step; each figure opens the list behind it.
    assert re.search(
        r'href="/activities\?view=overdue&amp;owner=me" data-stat="overdue">'
        r'<span class="stat-value">3</span>',
        page,
    )
    assert 'href="/activities?view=today&amp;owner=me"' in page
    assert 'href="/leads/pool"' in page
    # My open pipeline: 4 deals, 8 000 EUR, 3 500 weighted; counts open my board.
    assert re.search(
        r'<th scope="row">Total</th><td data-label="Deals">4</td><td data-label="Amount">€8,000.00</td>'
        r'<td data-label="Weighted">€3,500.00</td>',
        page,
    )
    assert 'href="/pipeline?view=mine"' in page
    # Its chart is SVG with a title and a description, and nobody else's deals.
    assert '<svg class="chart"' in page
    assert '<desc id="pipeline-chart-desc">4 open deals worth €8,000.00' in page
    # L2 is claimed by sales 2; sales 1's L1 is converted: nothing waits for contact.
    assert "Everyone you claimed has been contacted." in page


async def test_sales_home_counts_every_lead_waiting_and_lists_the_oldest_five(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    """Sales 2 claimed L2 (never contacted) and seven more: W1 was called after its
    claim (contacted), W2 only before it and W3 only by a system entry (both still
    waiting), W4 was contacted on the deal it became. Home counts the seven waiting
    and lists the five claimed longest ago; the link says how many there are."""
    s2 = org.sales2
    async with owner_conn.transaction():
        await owner_conn.execute("SET LOCAL session_replication_role = replica")
        load = Loader(owner_conn, org, uuid.uuid4())
        deal = org.deals["d3"]
        claimed = {}
        for n in range(1, 8):
            claimed[n] = f"2026-09-1{n}T09:00:00"
            await load.lead(
                f"W{n}", "mine", "2026-09-10T00:00:00", sales_owner_id=s2.user_id,
                qualified_at="2026-09-10T01:00:00", handed_over_at="2026-09-10T01:00:00",
                claimed_at=claimed[n], deal_id=deal if n == 4 else None,
            )  # fmt: skip
        done = (
            ("W1", "lead_id", "task", "2026-09-11T10:00:00"),
            ("W2", "lead_id", "task", "2026-09-12T08:00:00"),
            ("W3", "lead_id", "system", "2026-09-13T10:00:00"),
            ("W4", "deal_id", "task", "2026-09-14T10:00:00"),
        )
        for label, column, kind, when in done:
            record = deal if column == "deal_id" else org.leads[label]
            await owner_conn.execute(
                f"INSERT INTO activities (tenant_id, id, type, status, subject, completed_at,"
                f" owner_id, {column}) VALUES ($1, $2, $3, 'done', 'Call', $4, $5, $6)",
                s2.tenant_id,
                uuid.uuid4(),
                kind,
                at(when),
                s2.user_id,
                record,
            )
    await rebuild_rollups(owner_conn, s2.tenant_id)
    page = await home(client, s2)
    assert re.search(
        r'href="/leads/mine" data-stat="waiting"><span class="stat-value">6</span>', page
    )
    listed = re.findall(r'<a href="/leads/([0-9a-f-]{36})">', page)
    oldest = ["L2", "W2", "W3", "W5", "W6"]
    assert listed[:5] == [str(org.leads[label]) for label in oldest]
    assert str(org.leads["W7"]) not in listed
    assert '<a href="/leads/mine">All 6 in My Leads</a>' in page


async def test_manager_home_has_the_teams_reports(client: httpx.AsyncClient, org: Org) -> None:
    page = await home(client, org.manager, "?period=this_year")
    assert 'data-home="manager"' in page
    for heading in (
        "Team pipeline",
        "Forecast by expected close month",
        "Won and lost, by owner",
        "Stage conversion and time in stage",
        "Lead funnel",
        "Activities per rep",
        "Cadence steps done on time",
    ):
        assert heading in page
    assert re.search(
        r'<th scope="row">Total</th><td data-label="Deals">6</td><td data-label="Amount">€15,000.00</td>'
        r'<td data-label="Weighted">€8,600.00</td>',
        page,
    )
    assert "1 deals in USD are not included" in page
    for name in ("pipeline", "forecast", "win-rate", "stage-conversion", "lead-funnel"):
        assert f'href="/reports/{name}.csv?period=this_year"' in page
    # The owner filter narrows the team's figures to one member.
    narrowed = await client.get(f"/?period=this_year&owner={org.sales1.user_id}")
    assert re.search(
        r'<th scope="row">Total</th><td data-label="Deals">4</td><td data-label="Amount">€8,000.00</td>'
        r'<td data-label="Weighted">€3,500.00</td>',
        narrowed.text,
    )


async def test_marketing_and_admin_homes(client: httpx.AsyncClient, org: Org) -> None:
    page = await home(client, org.marketing)
    assert 'data-home="marketing"' in page
    assert "Leads by source" in page
    assert 'href="/leads/nurture" data-stat="nurture"><span class="stat-value">1</span>' in page
    client.cookies.clear()
    admin = await home(client, org.admin)
    assert 'data-home="admin"' in admin
    assert org.sales1.email in admin  # members and their last sign-in
    assert "Team pipeline" in admin


async def test_a_viewer_reads_the_teams_home_without_the_admin_part(
    client: httpx.AsyncClient, org: Org
) -> None:
    page = await home(client, org.viewer)
    assert 'data-home="manager"' in page
    assert "Team pipeline" in page
    assert "Last signed in" not in page  # members and sign-ins are the admins'
    # The period filter takes only its presets: anything else is the default.
    odd = await client.get("/?period=forever&owner=not-a-member")
    assert odd.status_code == 200
    assert '<option value="this_quarter" selected>' in odd.text


async def test_csv_download_matches_the_table(client: httpx.AsyncClient, org: Org) -> None:
    await sign_in(client, org.manager)
    response = await client.get("/reports/pipeline.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["stage", "count", "amount", "weighted", "currency"]
    assert rows[-1] == ["Total", "6", "15000.00", "8600.00", "EUR"]
    missing = await client.get("/reports/nothing.csv")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("key", "first", "last"),
    [
        ("this_month", "2026-12-01", "2026-12-31"),
        ("last_month", "2026-11-01", "2026-11-30"),
        ("this_quarter", "2026-10-01", "2026-12-31"),
        ("last_quarter", "2026-07-01", "2026-09-30"),
        ("this_year", "2026-01-01", "2026-12-31"),
        ("nonsense", "2026-10-01", "2026-12-31"),
    ],
)
def test_preset_periods(key: str, first: str, last: str) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    chosen = period_of(key, datetime(2026, 12, 7, 5, 0, tzinfo=UTC), "Europe/Berlin")
    assert (chosen.first.isoformat(), chosen.last.isoformat()) == (first, last)
    # From midnight of the first day to midnight after the last, in Berlin.
    assert chosen.since.astimezone(berlin) == datetime.combine(chosen.first, time(), berlin)
    end = chosen.last + timedelta(days=1)
    assert chosen.until.astimezone(berlin) == datetime.combine(end, time(), berlin)


async def test_loss_reasons_read_as_the_workflow_labels_them_on_home_and_in_the_api(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The organization labels `no_budget` "Budget frozen this year": the win-rate
    report gives that label beside the code, and the manager's Home, its loss chart
    included, says it — not the code, not "No budget"."""
    from tests.audit.test_reading import _closed_deal

    deals, _ = await _closed_deal(client, owner_conn)
    report = await client.get("/api/v1/reports/win-rate", headers=deals.admin.headers)
    assert report.status_code == 200, report.text
    assert report.json()["loss_reasons"] == [
        {"reason": "no_budget", "label": "Budget frozen this year", "count": 1}
    ]
    page = await home(client, deals.admin)
    assert "Budget frozen this year: 1" in page
    assert "Lost deals by reason: Budget frozen this year 1." in page
    assert "No budget" not in page
    assert "no_budget" not in page
