"""Board order and the pipeline: ranks, reorders, rebalancing, concurrency, the board."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from typing import Any

import asyncpg
import httpx

from baton.db.engine import Database
from baton.deals import ranks
from tests.deals.conftest import NEXT_WEEK, Org, insert_contact
from tests.identity.test_statement_counts import counted


def test_positions_sort_strictly_between_their_neighbours() -> None:
    rng = random.Random(20261129)
    column: list[str] = []
    for _ in range(500):
        slot = rng.randint(0, len(column))
        lo = column[slot - 1] if slot > 0 else None
        hi = column[slot] if slot < len(column) else None
        position = ranks.position_between(lo, hi)
        assert position is not None
        rank = ranks.rank_of(position, uuid.uuid4())
        assert lo is None or lo < rank
        assert hi is None or rank < hi
        assert len(rank) <= ranks.MAX_LENGTH
        column.insert(slot, rank)
    assert column == sorted(column)
    assert len(set(column)) == len(column)


def test_appends_stay_short_and_a_full_gap_asks_for_a_rebalance() -> None:
    last: str | None = None
    for _ in range(100):
        position = ranks.position_between(last, None)
        assert position is not None
        last = ranks.rank_of(position, uuid.uuid4())
    assert last is not None
    assert len(last) == ranks.ID_DIGITS + ranks.APPEND_PRECISION
    a, b = uuid.uuid4(), uuid.uuid4()
    assert (
        ranks.position_between(ranks.rank_of("i" * 39, a), ranks.rank_of("i" * 38 + "j", b)) is None
    )
    cards = [(uuid.uuid4(), f"{n}") for n in range(1, 6)]
    moving = uuid.uuid4()
    others, own = ranks.rebalanced(cards, moving, after="2")
    ordered = sorted([*others.items(), (moving, own)], key=lambda item: item[1])
    assert [card_id for card_id, _ in ordered] == [
        cards[0][0],
        cards[1][0],
        moving,
        *(card_id for card_id, _ in cards[2:]),
    ]


async def _column(owner_conn: asyncpg.Connection, org: Org, key: str) -> list[tuple[str, str]]:
    rows = await owner_conn.fetch(
        "SELECT id::text, rank FROM deals WHERE tenant_id = $1 AND step_id = $2"
        " AND deleted_at IS NULL ORDER BY rank",
        org.admin.tenant_id,
        org.steps[key],
    )
    return [(r["id"], r["rank"]) for r in rows]


async def test_a_reorder_changes_only_the_moved_card(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    a, b, c = [await org.create(client) for _ in range(3)]
    before = dict(await _column(owner_conn, org, "prospecting"))
    moved = await org.move(client, c, "prospecting", after_id=a["id"])
    assert moved.status_code == 200, moved.text
    assert moved.json()["deal"]["version"] == 2
    column = await _column(owner_conn, org, "prospecting")
    assert [card_id for card_id, _ in column] == [a["id"], c["id"], b["id"]]
    after = dict(column)
    assert {k for k in after if after[k] != before[k]} == {c["id"]}
    # No stage change: no history, no timeline entry.
    entries = await owner_conn.fetchval(
        "SELECT count(*) FROM activities WHERE deal_id = $1", uuid.UUID(c["id"])
    )
    assert entries == 0
    top = await org.move(client, moved.json()["deal"], "prospecting", before_id=a["id"])
    assert [i for i, _ in await _column(owner_conn, org, "prospecting")] == [
        c["id"],
        a["id"],
        b["id"],
    ]
    both = await org.move(
        client, top.json()["deal"], "prospecting", after_id=a["id"], before_id=b["id"]
    )
    assert both.status_code == 200
    assert [i for i, _ in await _column(owner_conn, org, "prospecting")] == [
        a["id"],
        c["id"],
        b["id"],
    ]
    out_of_order = await org.move(
        client, both.json()["deal"], "prospecting", after_id=b["id"], before_id=a["id"]
    )
    assert out_of_order.status_code == 422
    elsewhere = await org.walk(client, await org.create(client), "discovery")
    wrong_column = await org.move(
        client, both.json()["deal"], "prospecting", after_id=elsewhere["id"]
    )
    assert wrong_column.status_code == 422
    assert wrong_column.json()["errors"][0]["field"] == "after_id"
    # Between two cards of the next column, on a real move.
    d1 = await org.walk(client, await org.create(client), "discovery")
    into = await org.move(client, b, "discovery", after_id=elsewhere["id"], before_id=d1["id"])
    assert into.status_code == 200, into.text
    assert [i for i, _ in await _column(owner_conn, org, "discovery")] == [
        elsewhere["id"],
        b["id"],
        d1["id"],
    ]


async def test_fifty_concurrent_reorders_keep_a_total_order(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deals = [await org.create(client) for _ in range(52)]
    anchor, last = deals[0], deals[-1]
    movers = deals[1:51]
    # Every request aims at the same gap (right after the anchor, or right before the
    # last card), so they all compute the same position at once.
    results = await asyncio.gather(
        *(
            org.move(
                client,
                deal,
                "prospecting",
                **({"after_id": anchor["id"]} if n % 2 else {"before_id": last["id"]}),
            )
            for n, deal in enumerate(movers)
        )
    )
    assert [r.status_code for r in results] == [200] * 50, [
        r.text for r in results if r.status_code != 200
    ]
    column = await _column(owner_conn, org, "prospecting")
    ids = [card_id for card_id, _ in column]
    assert len(ids) == 52 == len(set(ids))
    assert len({rank for _, rank in column}) == 52
    assert ids[0] == anchor["id"]
    assert ids[-1] == last["id"]
    board = await client.get(
        "/api/v1/pipeline", headers=org.sales.headers, params={"per_column": 200}
    )
    shown = [d["id"] for d in board.json()["columns"][0]["items"]]
    assert shown == ids


def test_a_rebalanced_column_takes_many_appends_before_the_next_rebalance() -> None:
    """bench/sales.py found a 30 000-card column rebalancing after ~1 000 appends (36 s
    each time): a rebalance now leaves the second half of the range to appends."""
    cards = [(uuid.uuid4(), "") for _ in range(30_000)]
    others, own = ranks.rebalanced(cards, uuid.uuid4(), after=None)
    last = max([*others.values(), own])
    for _ in range(50_000):
        position = ranks.position_between(last, None)
        assert position is not None
        last = ranks.rank_of(position, uuid.uuid4())
    assert len(last) <= ranks.ID_DIGITS + ranks.APPEND_PRECISION


async def test_a_full_gap_rebalances_its_column_only(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    a, b, c = [await org.create(client) for _ in range(3)]
    other_column = await org.walk(client, await org.create(client), "discovery")
    # a and b as close as ranks can be: nothing fits between them any more.
    for deal, position in ((a, "i" * 39), (b, "i" * 38 + "j")):
        await owner_conn.execute(
            "UPDATE deals SET rank = $2 WHERE id = $1",
            uuid.UUID(deal["id"]),
            ranks.rank_of(position, uuid.UUID(deal["id"])),
        )
    untouched = await owner_conn.fetchval(
        "SELECT rank FROM deals WHERE id = $1", uuid.UUID(other_column["id"])
    )
    versions = {
        r["id"]: r["version"]
        for r in await owner_conn.fetch(
            "SELECT id::text, version FROM deals WHERE id = ANY($1::uuid[])",
            [uuid.UUID(a["id"]), uuid.UUID(b["id"])],
        )
    }
    moved = await org.move(client, c, "prospecting", after_id=a["id"])
    assert moved.status_code == 200, moved.text
    column = await _column(owner_conn, org, "prospecting")
    assert [i for i, _ in column] == [a["id"], c["id"], b["id"]]
    assert all(len(rank) < 32 for _, rank in column)
    assert (
        await owner_conn.fetchval(
            "SELECT rank FROM deals WHERE id = $1", uuid.UUID(other_column["id"])
        )
        == untouched
    )
    # A place on the board is not an edit: the other cards keep their versions.
    after = {
        r["id"]: r["version"]
        for r in await owner_conn.fetch(
            "SELECT id::text, version FROM deals WHERE id = ANY($1::uuid[])",
            [uuid.UUID(a["id"]), uuid.UUID(b["id"])],
        )
    }
    assert after == versions


async def test_concurrent_move_and_close_of_one_deal_one_wins(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.walk(client, await org.create(client), "discovery", "proposal", "negotiation")
    close, move = await asyncio.gather(
        org.close(client, deal, outcome="won", reason="price"),
        org.move(client, deal, "proposal"),
    )
    assert sorted([close.status_code, move.status_code]) == [200, 409]
    changes = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE record_id = $1 AND from_step_id = $2",
        uuid.UUID(deal["id"]),
        org.steps["negotiation"],
    )
    assert changes == 1
    other = await org.walk(client, await org.create(client), "discovery")
    results = await asyncio.gather(
        *(
            org.move(
                client,
                other,
                "proposal",
                fields={"amount": "1.00", "expected_close_date": "2030-01-01"},
            )
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409]
    closes = await asyncio.gather(
        *(org.close(client, other, outcome="lost", reason="price") for _ in range(3))
    )
    assert sorted(r.status_code for r in closes) == [409, 409, 409]


async def test_the_pipeline_board_in_a_constant_number_of_statements(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    warm = await client.get("/api/v1/pipeline", headers=org.sales.headers)
    assert warm.status_code == 200
    assert [c["count"] for c in warm.json()["columns"]] == [0] * 6

    async def board(**params: Any) -> tuple[dict[str, Any], list[str]]:
        with counted(database) as statements:
            response = await client.get(
                "/api/v1/pipeline", headers=org.sales.headers, params=params
            )
        assert response.status_code == 200, response.text
        return {c["step"]["key"]: c for c in response.json()["columns"]}, statements

    _, small_statements = await board(per_column=2)
    for amount, currency in (("100.00", "EUR"), ("250.50", "EUR"), ("40.00", "USD"), (None, "EUR")):
        await org.create(client, **({"amount": amount} if amount else {}), currency=currency)
    await org.walk(client, await org.create(client, amount="7.00"), "discovery")
    columns, statements = await board(per_column=2)
    # authenticate, the Deal type's workflow (compiled graph cached), totals, cards
    assert len(statements) == len(small_statements) == 4, statements
    assert list(columns) == ["prospecting", "discovery", "proposal", "negotiation", "won", "lost"]
    prospecting = columns["prospecting"]
    assert prospecting["count"] == 4
    assert {t["currency"]: t["amount"] for t in prospecting["totals"]} == {
        "EUR": "350.50",
        "USD": "40.00",
    }
    assert len(prospecting["items"]) == 2
    assert [i["rank"] for i in prospecting["items"]] == sorted(
        i["rank"] for i in prospecting["items"]
    )
    assert columns["discovery"]["count"] == 1
    assert columns["discovery"]["totals"] == [{"currency": "USD", "amount": "7.00"}]
    assert (columns["won"]["count"], columns["won"]["items"], columns["won"]["totals"]) == (
        0,
        [],
        [],
    )
    workflow_id = prospecting["items"][0]["workflow_id"]
    explicit, explicit_statements = await board(workflow_id=workflow_id, per_column=50)
    assert len(explicit_statements) == 4
    assert len(explicit["prospecting"]["items"]) == 4
    with counted(database) as listed:
        page = await client.get("/api/v1/deals", headers=org.sales.headers, params={"limit": 50})
    assert len(page.json()["items"]) == 5
    # authenticate, the page with each deal's step
    assert len(listed) == 2, listed


def _typed(text: str) -> Any:
    """JSON with its numbers kept as written: 20 and 20.0 differ, as in the answer."""
    return json.loads(text, parse_int=lambda s: ("int", s), parse_float=lambda s: ("float", s))


async def test_every_board_card_is_the_deal_as_get_answers_it(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    """The board's cards are written by PostgreSQL, the deal's answer by pydantic:
    the two must agree on every field and on how each is written."""
    contact_id = await insert_contact(owner_conn, org.admin, org.account_id)
    plain = await org.create(client)
    detailed = await org.create(
        client,
        amount="1234.50",
        currency="USD",
        probability=37,
        contact_id=str(contact_id),
        expected_close_date=NEXT_WEEK,
    )
    moved = await org.walk(client, await org.create(client), "discovery", "proposal")
    won = await org.walk(client, await org.create(client), "discovery", "proposal", "negotiation")
    closed = await org.close(client, won, outcome="won", reason="other", notes='Said "yes" — ü')
    assert closed.status_code == 200, closed.text
    # Whole seconds are written without a fraction, other times with six digits.
    for deal, created_at in (
        (plain, "2026-01-02 03:04:05+00"),
        (detailed, "2026-01-02 03:04:05.4+00"),
    ):
        await owner_conn.execute(
            "UPDATE deals SET created_at = $2::text::timestamptz WHERE id = $1",
            uuid.UUID(deal["id"]),
            created_at,
        )
    response = await client.get("/api/v1/pipeline", headers=org.sales.headers)
    assert response.status_code == 200, response.text
    cards = [card for column in _typed(response.text)["columns"] for card in column["items"]]
    assert len(cards) == 4
    for deal in (plain, detailed, moved, won):
        answer = await client.get(f"/api/v1/deals/{deal['id']}", headers=org.sales.headers)
        (card,) = [c for c in cards if c["id"] == deal["id"]]
        assert card == _typed(answer.text)
    by_id = {card["id"]: card for card in cards}
    assert by_id[plain["id"]]["created_at"] == "2026-01-02T03:04:05Z"
    assert by_id[detailed["id"]]["created_at"] == "2026-01-02T03:04:05.400000Z"
    assert by_id[plain["id"]]["amount"] is None
    assert by_id[detailed["id"]]["probability"] == ("float", "37.0")
