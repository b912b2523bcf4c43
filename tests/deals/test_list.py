"""The deals list (`GET /api/v1/deals`): every sort and filter against known deals,
cursor pages that follow the sort, refusals naming the parameter, and a constant
number of statements whatever the page size."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from baton.core.pagination import encode_sorted_cursor
from baton.db.engine import Database
from tests.deals.conftest import Org, insert_account
from tests.identity.test_statement_counts import counted

TODAY = datetime.now(UTC).date()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


NEXT_MONTH = (TODAY.replace(day=1) + timedelta(days=40)).replace(day=10)
FAR = (TODAY.replace(day=1) + timedelta(days=100)).replace(day=20)


async def _list(client: httpx.AsyncClient, org: Org, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/deals", headers=org.sales.headers, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _all_pages(client: httpx.AsyncClient, org: Org, **params: Any) -> list[str]:
    """Names of every deal, one page of two at a time along the cursors."""
    names: list[str] = []
    cursor = None
    for _ in range(20):
        query = {**params, "limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/deals", headers=org.sales.headers, params=query)
        assert response.status_code == 200, response.text
        names += [item["name"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return names
    raise AssertionError("the pages never ended")


@pytest.fixture
async def known(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> dict[str, dict[str, Any]]:
    """Five deals with known names, accounts, owners, amounts, steps and dates.

    name    account  owner  amount   step         probability expected close  next due
    Bravo   Zeta     sales  500.00   prospecting  (10)        next month      next week
    Alpha   Zeta     admin  none     prospecting  (10)        none            yesterday
    Delta   Able     sales  2000.00  discovery    50 override far             next week
    Charlie Able     sales  1000.00  proposal     (step)      next month      next week
    Echo    Zeta     admin  1000.00  closed lost  —           none            —
    """
    able = await insert_account(owner_conn, org.admin, "Able Inc")
    zeta = org.account_id
    await owner_conn.execute("UPDATE accounts SET name = 'Zeta Ltd' WHERE id = $1", zeta)
    deals: dict[str, dict[str, Any]] = {}
    deals["Bravo"] = await org.create(
        client, name="Bravo", amount="500.00", expected_close_date=NEXT_MONTH.isoformat()
    )
    deals["Alpha"] = await org.create(
        client, name="Alpha", owner_id=str(org.admin.user_id), next_step_due_date=YESTERDAY
    )
    delta = await org.create(
        client,
        name="Delta",
        account_id=str(able),
        amount="2000.00",
        probability=50,
        expected_close_date=FAR.isoformat(),
    )
    deals["Delta"] = await org.walk(client, delta, "discovery")
    charlie = await org.create(client, name="Charlie", account_id=str(able))
    charlie = await org.walk(client, charlie, "discovery")
    moved = await org.move(
        client,
        charlie,
        "proposal",
        fields={"amount": "1000.00", "expected_close_date": NEXT_MONTH.isoformat()},
    )
    assert moved.status_code == 200, moved.text
    deals["Charlie"] = moved.json()["deal"]
    echo = await org.create(client, name="Echo", amount="1000.00", owner_id=str(org.admin.user_id))
    closed = await org.close(client, echo, outcome="lost", reason="price")
    assert closed.status_code == 200, closed.text
    deals["Echo"] = closed.json()["deal"]
    # Days in stage: Bravo entered its step longest ago, then Alpha, Delta, Charlie.
    for name, days in (("Bravo", 30), ("Alpha", 20), ("Delta", 10), ("Charlie", 5), ("Echo", 1)):
        await owner_conn.execute(
            "UPDATE deals SET entered_step_at = now() - make_interval(days => $2) WHERE id = $1",
            uuid.UUID(deals[name]["id"]),
            days,
        )
    return deals


def _names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


SORTED = {
    "name": ["Alpha", "Bravo", "Charlie", "Delta", "Echo"],
    "-name": ["Echo", "Delta", "Charlie", "Bravo", "Alpha"],
    # Able's deals first, then Zeta's; ties in creation order.
    "account": ["Delta", "Charlie", "Bravo", "Alpha", "Echo"],
    "-account": ["Echo", "Alpha", "Bravo", "Charlie", "Delta"],
    # Step order: prospecting 0, discovery 1, proposal 2, lost last.
    "stage": ["Bravo", "Alpha", "Delta", "Charlie", "Echo"],
    # Nulls (Alpha) last both ways; ties by creation (Charlie before Echo).
    "amount": ["Bravo", "Charlie", "Echo", "Delta", "Alpha"],
    "-amount": ["Delta", "Echo", "Charlie", "Bravo", "Alpha"],
    # Bravo 500 x 10 % = 50; Delta 2000 x 50 % = 1000; Charlie 1000 x Proposal's;
    # Echo: lost (probability 0) = 0; Alpha none.
    "-weighted": ["Delta", "Charlie", "Bravo", "Echo", "Alpha"],
    # Ada Admin before Sales Person.
    "owner": ["Alpha", "Echo", "Bravo", "Delta", "Charlie"],
    "expected_close": ["Bravo", "Charlie", "Delta", "Alpha", "Echo"],
    # Descending, ties go newest first: Echo before Alpha.
    "-expected_close": ["Delta", "Charlie", "Bravo", "Echo", "Alpha"],
    # Echo is closed: no next step due date.
    "next_step_due": ["Alpha", "Bravo", "Delta", "Charlie", "Echo"],
    "days_in_stage": ["Echo", "Charlie", "Delta", "Alpha", "Bravo"],
    "-days_in_stage": ["Bravo", "Alpha", "Delta", "Charlie", "Echo"],
}


@pytest.mark.parametrize("sort", list(SORTED))
async def test_each_sort_orders_the_known_deals_and_its_pages_follow_it(
    client: httpx.AsyncClient, org: Org, known: dict[str, dict[str, Any]], sort: str
) -> None:
    assert _names(await _list(client, org, sort=sort)) == SORTED[sort]
    assert await _all_pages(client, org, sort=sort) == SORTED[sort]


async def test_filters_narrow_the_list(
    client: httpx.AsyncClient, org: Org, known: dict[str, dict[str, Any]]
) -> None:
    assert _names(await _list(client, org, owner_id=str(org.admin.user_id), sort="name")) == [
        "Alpha",
        "Echo",
    ]
    assert _names(await _list(client, org, stage="discovery")) == ["Delta"]
    assert _names(await _list(client, org, stage="no_such_step")) == []
    assert _names(await _list(client, org, amount_min="1000", sort="name")) == [
        "Charlie",
        "Delta",
        "Echo",
    ]
    assert _names(
        await _list(client, org, amount_min="600", amount_max="1000.00", sort="name")
    ) == ["Charlie", "Echo"]
    assert _names(await _list(client, org, close_month=_month(NEXT_MONTH), sort="name")) == [
        "Bravo",
        "Charlie",
    ]
    assert _names(await _list(client, org, close_month=_month(FAR))) == ["Delta"]
    # The calendar's last month is a month like any other.
    assert _names(await _list(client, org, close_month="9999-12")) == []
    assert _names(await _list(client, org, overdue="true")) == ["Alpha"]
    assert _names(await _list(client, org, overdue="false", sort="name")) == [
        "Bravo",
        "Charlie",
        "Delta",
        "Echo",
    ]
    assert _names(await _list(client, org, view="closed")) == ["Echo"]
    # Filters combine, and a sorted, filtered list pages like any other.
    combined = {"view": "pipeline", "owner_id": str(org.sales.user_id), "sort": "-amount"}
    assert await _all_pages(client, org, **combined) == ["Delta", "Charlie", "Bravo"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "probability"}, "sort"),
        ({"sort": "--name"}, "sort"),
        ({"amount_min": "-1"}, "amount_min"),
        ({"amount_min": "ten"}, "amount_min"),
        ({"amount_min": "100", "amount_max": "99.99"}, "amount_max"),
        ({"close_month": "2026-13"}, "close_month"),
        ({"close_month": "2026-1"}, "close_month"),
        ({"close_month": "0000-01"}, "close_month"),
        ({"stage": "Proposal!"}, "stage"),
        ({"overdue": "perhaps"}, "overdue"),
        ({"owner_id": "me"}, "owner_id"),
        ({"view": "everything"}, "view"),
        ({"limit": "0"}, "limit"),
    ],
)
async def test_a_bad_sort_or_filter_is_422_naming_the_parameter(
    client: httpx.AsyncClient, org: Org, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/v1/deals", headers=org.sales.headers, params=params)
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_a_cursor_of_another_sort_is_422(
    client: httpx.AsyncClient, org: Org, known: dict[str, dict[str, Any]]
) -> None:
    first = await client.get(
        "/api/v1/deals", headers=org.sales.headers, params={"sort": "name", "limit": "1"}
    )
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    other = await client.get(
        "/api/v1/deals",
        headers=org.sales.headers,
        params={"sort": "-amount", "limit": "1", "cursor": cursor},
    )
    assert other.status_code == 422, other.text
    assert [error["field"] for error in other.json()["errors"]] == ["cursor"]
    # A cursor of the right sort whose value is not of its type: 422, not a crash.
    for sort, value in (
        ("-amount", "lots"),
        ("expected_close", "someday"),
        ("stage", "x"),
        ("stage", "9" * 30),
    ):
        forged = encode_sorted_cursor(sort, value, uuid.uuid4())
        response = await client.get(
            "/api/v1/deals", headers=org.sales.headers, params={"sort": sort, "cursor": forged}
        )
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == ["cursor"]
    garbled = await client.get(
        "/api/v1/deals",
        headers=org.sales.headers,
        params={"sort": "name", "cursor": "A" * 40},
    )
    assert garbled.status_code == 422, garbled.text


async def test_another_organizations_deals_never_appear(
    client: httpx.AsyncClient, org: Org, known: dict[str, dict[str, Any]]
) -> None:
    from tests.factories import register_tenant

    stranger = await register_tenant(client)
    response = await client.get(
        "/api/v1/deals",
        headers=stranger.headers,
        params={"owner_id": str(org.sales.user_id), "sort": "-amount"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


async def test_a_sorted_filtered_list_does_not_grow_with_the_page(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    params = {"sort": "-weighted", "view": "pipeline", "amount_min": "1", "limit": "50"}

    async def measure() -> tuple[int, int]:
        with counted(database) as statements:
            response = await client.get("/api/v1/deals", headers=org.sales.headers, params=params)
        assert response.status_code == 200, response.text
        return len(response.json()["items"]), len(statements)

    await org.create(client, amount="10.00")
    small = await measure()
    for index in range(8):
        await org.create(client, amount=f"{index + 20}.00")
    large = await measure()
    assert (small[0], large[0]) == (1, 9)
    # Authenticate, then the page with each deal's step, account and owner.
    assert small[1] == large[1] == 2, (small, large)


async def test_the_export_takes_the_lists_filters_and_sort(
    client: httpx.AsyncClient, org: Org, known: dict[str, dict[str, Any]]
) -> None:
    import csv
    import io

    response = await client.get(
        "/api/v1/exports/deals",
        headers=org.sales.headers,
        params={"format": "csv", "amount_min": "600", "sort": "-amount", "view": "pipeline"},
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["Name"] for row in rows] == ["Delta", "Charlie"]
    refused = await client.get(
        "/api/v1/exports/deals",
        headers=org.sales.headers,
        params={"format": "csv", "sort": "colour"},
    )
    assert refused.status_code == 422, refused.text
    assert [error["field"] for error in refused.json()["errors"]] == ["sort"]


async def _publish_next_version(client: httpx.AsyncClient, org: Org) -> dict[str, uuid.UUID]:
    """Publish a new version of the Sales pipeline (one edge's effects cleared): deals
    created from now on run on its steps, which share the keys of the first version's.
    Its step ids by key."""
    admin = org.admin
    listed = await client.get("/api/v1/workflow/workflows", headers=admin.headers)
    [summary] = [w for w in listed.json() if w["entity_type"] == "deal" and w["published"]]
    workflow = (
        await client.get(f"/api/v1/workflow/workflows/{summary['id']}", headers=admin.headers)
    ).json()
    [edge] = [
        t
        for t in workflow["transitions"]
        if (t["from_step_id"], t["to_step_id"])
        == (str(org.steps["prospecting"]), str(org.steps["discovery"]))
    ]
    edited = await client.patch(
        f"/api/v1/workflow/transitions/{edge['id']}",
        headers=admin.headers,
        json={"effects": [], "version": edge["version"]},
    )
    assert edited.status_code == 200, edited.text
    published = await client.post(
        f"/api/v1/workflow/workflows/{edited.json()['id']}/publish", headers=admin.headers
    )
    assert published.status_code == 200, published.text
    return {s["key"]: uuid.UUID(s["id"]) for s in published.json()["steps"]}


@pytest.fixture
async def two_versions(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> set[str]:
    """Proposal deals on two versions of the pipeline (so the stage is two steps), with
    deals on other steps of both around them; the Proposal deals' names.

    Each deal's sort values are set directly: names, amounts (one without), expected
    closes (one without, two equal), next steps due and days in stage all differ in
    order from creation order and from version to version."""
    first = await org.create(client, name="Kilo")
    first = await org.walk(client, first, "discovery", "proposal")
    second = await org.walk(client, await org.create(client, name="Golf"), "discovery")
    third = await org.walk(client, await org.create(client, name="Mike"), "discovery", "proposal")
    steps = await _publish_next_version(client, org)
    assert steps["proposal"] != org.steps["proposal"]
    later = Org(org.admin, org.sales, org.account_id, steps)
    fourth = await later.walk(
        client, await later.create(client, name="India"), "discovery", "proposal"
    )
    fifth = await later.walk(client, await later.create(client, name="Hotel"), "discovery")
    sixth = await later.walk(
        client, await later.create(client, name="Juliet"), "discovery", "proposal"
    )
    values = (
        (first, "2500.00", FAR, 3, 40),
        (second, "10.00", NEXT_MONTH, 1, 2),
        (third, None, NEXT_MONTH, 7, 12),
        (fourth, "900.00", None, 2, 25),
        (fifth, "99999.00", TODAY, 0, 60),
        (sixth, "2500.00", NEXT_MONTH, 5, 3),
    )
    for deal, amount, close, due_in, days in values:
        await owner_conn.execute(
            "UPDATE deals SET amount = $2::numeric, expected_close_date = $3,"
            " next_step_due_date = current_date + $4::int, entered_step_at = now() - make_interval("
            "days => $5::int) WHERE id = $1",
            uuid.UUID(deal["id"]),
            amount,
            close,
            due_in,
            days,
        )
    return {"Kilo", "Mike", "India", "Juliet"}


@pytest.mark.parametrize("sort", [None, *SORTED])
async def test_a_stage_over_two_versions_lists_in_every_sort_and_pages_follow_it(
    client: httpx.AsyncClient, org: Org, two_versions: set[str], sort: str | None
) -> None:
    """Filtered by stage, the list pages each step holding the key on its own and merges
    them (`queries._stage_keys`): the same deals in the same order as the whole list's,
    page after page."""
    sorted_by = {"sort": sort} if sort else {}
    whole = await _all_pages(client, org, **sorted_by)
    expected = [name for name in whole if name in two_versions]
    assert len(expected) == 4
    assert await _all_pages(client, org, stage="proposal", **sorted_by) == expected
    assert _names(await _list(client, org, stage="proposal", **sorted_by)) == expected
    # With another filter too (the same statement shape, the values bound).
    owned = await _all_pages(
        client, org, stage="proposal", owner_id=str(org.sales.user_id), **sorted_by
    )
    assert owned == expected
    assert _names(await _list(client, org, stage="discovery", **sorted_by)) == [
        name for name in whole if name in {"Golf", "Hotel"}
    ]


async def test_a_stage_list_is_two_statements_and_one_step_never_shows_anothers_deals(
    client: httpx.AsyncClient, org: Org, two_versions: set[str], database: Database
) -> None:
    from tests.factories import register_tenant

    params = {"stage": "proposal", "sort": "expected_close", "limit": "50"}
    with counted(database) as statements:
        response = await client.get("/api/v1/deals", headers=org.sales.headers, params=params)
    assert response.status_code == 200, response.text
    assert {item["name"] for item in response.json()["items"]} == two_versions
    # Authenticate, then the page (the steps resolved inside it).
    assert len(statements) == 2, statements
    stranger = await register_tenant(client)
    theirs = await client.get("/api/v1/deals", headers=stranger.headers, params=params)
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["items"] == []
