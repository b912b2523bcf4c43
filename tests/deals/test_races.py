"""Two requests on one deal, interleaved deterministically (DESIGN §8: races written
like PostgreSQL's isolation tester, so they fail reliably, not by luck).

The test holds the deal's row lock from its own connection, sends the first request
and waits until PostgreSQL shows it blocked on a lock, then sends the second and waits
for it to block too; only then does it let go. Both requests have read the deal at the
same version by then, and they reach its row in the order they queued: the first
writes, the second must see that it lost — a 409 stale-version problem, never a 500,
never a second history row.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import asyncpg
import httpx
import pytest

from baton.db.engine import Database
from baton.deals import ranks
from baton.deals import service as deal_service
from tests.deals.conftest import NEXT_WEEK, Org, squeeze
from tests.identity.test_statement_counts import counted

Request = Coroutine[Any, Any, httpx.Response]
# One side of a race: the request it sends about a deal as its client last saw it.
Action = Callable[[httpx.AsyncClient, Org, dict[str, Any]], Request]

LOCK_WAIT_TIMEOUT = 20.0


async def _blocked_backends(owner_conn: asyncpg.Connection) -> int:
    # Activity statistics are a snapshot per transaction: take a fresh one.
    await owner_conn.execute("SELECT pg_stat_clear_snapshot()")
    count: int = await owner_conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    return count


async def _until_blocked(
    owner_conn: asyncpg.Connection, count: int, tasks: Sequence[asyncio.Future[httpx.Response]]
) -> None:
    """Return once `count` backends of this database wait for a lock; fail if a request
    answered instead (it never reached the contested row) or nothing blocks in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_WAIT_TIMEOUT
    while await _blocked_backends(owner_conn) < count:
        for task in tasks:
            if task.done():
                raise AssertionError(f"a request answered without waiting: {task.result().text}")
        assert loop.time() < deadline, f"fewer than {count} requests blocked on the lock"
        await asyncio.sleep(0.005)


async def interleave(
    owner_conn: asyncpg.Connection, locked_ids: Sequence[str], first: Request, second: Request
) -> tuple[httpx.Response, httpx.Response]:
    """Run `first`, then `second`, each until it blocks on the rows `locked_ids`
    (held from `owner_conn`), then release them: `first` reaches the rows first."""
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT 1 FROM deals WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
            [uuid.UUID(i) for i in locked_ids],
        )
        one = asyncio.ensure_future(first)
        await _until_blocked(owner_conn, 1, [one])
        two = asyncio.ensure_future(second)
        await _until_blocked(owner_conn, 2, [one, two])
    return await one, await two


def _move_to(key: str, **extra: Any) -> Action:
    def send(client: httpx.AsyncClient, org: Org, deal: dict[str, Any]) -> Request:
        return org.move(client, deal, key, **extra)

    return send


def _close_as(outcome: str) -> Action:
    def send(client: httpx.AsyncClient, org: Org, deal: dict[str, Any]) -> Request:
        reason = "price" if outcome == "won" else "competitor"
        return org.close(client, deal, outcome=outcome, reason=reason)

    return send


def _patch(client: httpx.AsyncClient, org: Org, deal: dict[str, Any]) -> Request:
    return client.patch(
        f"/api/v1/deals/{deal['id']}",
        headers=org.sales.headers,
        json={"name": "Renamed in a race", "amount": "4321.00", "version": deal["version"]},
    )


# Each side by name, with the detail of its 409 when it loses at the write.
ACTIONS: dict[str, tuple[Action, str]] = {
    "move-forward": (
        _move_to("proposal", fields={"amount": "1000.00", "expected_close_date": NEXT_WEEK}),
        "The deal changed while you moved it",
    ),
    "move-back": (_move_to("prospecting"), "The deal changed while you moved it"),
    "close-won": (_close_as("won"), "The deal changed while you closed it"),
    "close-lost": (_close_as("lost"), "The deal changed while you closed it"),
    "patch": (_patch, "The deal changed while you edited it"),
}

RACES = [
    ("move-forward", "close-lost"),
    ("close-lost", "move-forward"),
    ("close-won", "close-lost"),
    ("close-lost", "close-lost"),
    ("move-forward", "move-back"),
    ("move-back", "move-forward"),
    ("patch", "move-forward"),
    ("move-forward", "patch"),
    ("patch", "close-won"),
]


async def _trail(owner_conn: asyncpg.Connection, deal_id: uuid.UUID) -> dict[str, Any]:
    row = await owner_conn.fetchrow(
        "SELECT d.version, d.step_id, d.outcome, d.name,"
        " (SELECT count(*) FROM workflow_history h WHERE h.record_id = d.id) AS history,"
        " (SELECT count(*) FROM activities a WHERE a.deal_id = d.id AND a.type = 'system')"
        "   AS entries,"
        " (SELECT count(*) FROM activities a WHERE a.deal_id = d.id AND a.type = 'system'"
        "   AND a.description LIKE 'Closed %') AS close_entries,"
        " (SELECT count(*) FROM audit_log l WHERE l.table_name = 'deals' AND l.row_id = d.id)"
        "   AS audit"
        " FROM deals d WHERE d.id = $1",
        deal_id,
    )
    return dict(row)


@pytest.mark.parametrize(("first", "second"), RACES, ids=[f"{a}-then-{b}" for a, b in RACES])
async def test_two_writes_of_one_version_one_wins_the_other_is_409(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    first: str,
    second: str,
) -> None:
    # Discovery can go forward, back and to Lost; a win needs Negotiation.
    path = ["discovery"]
    if "close-won" in (first, second):
        path += ["proposal", "negotiation"]
    deal = await org.walk(client, await org.create(client), *path)
    deal_id = uuid.UUID(deal["id"])
    before = await _trail(owner_conn, deal_id)
    (send_first, _), (send_second, lost_detail) = ACTIONS[first], ACTIONS[second]
    won, lost = await interleave(
        owner_conn,
        [deal["id"]],
        send_first(client, org, deal),
        send_second(client, org, deal),
    )
    assert won.status_code == 200, won.text
    assert lost.status_code == 409, lost.text
    problem = lost.json()
    assert lost.headers["content-type"].startswith("application/problem+json")
    assert problem["type"].endswith("/stale-version")
    assert (problem["status"], problem["title"]) == (409, "The record changed since you loaded it")
    # The loser passed the version check on load and lost at the write itself.
    assert problem["detail"] == lost_detail
    after = await _trail(owner_conn, deal_id)
    changed_step = first != "patch"
    assert after["version"] == before["version"] + 1
    assert after["history"] == before["history"] + changed_step
    assert after["entries"] == before["entries"] + changed_step
    assert after["close_entries"] == before["close_entries"] + first.startswith("close")
    assert after["audit"] == before["audit"] + 1
    shown = await org.get(client, deal)
    winner = won.json() if first == "patch" else won.json()["deal"]
    assert (shown["version"], shown["step"], shown["outcome"], shown["name"]) == (
        winner["version"],
        winner["step"],
        winner["outcome"],
        winner["name"],
    )
    # The loser, sent again with the version it now sees, is judged on the new state.
    retried = await ACTIONS[second][0](client, org, shown)
    assert retried.status_code in (200, 422), retried.text


# ---------------------------------------------------------------- reorders
#
# Placing a card on the board carries no version conflict with placing another: two
# cards dropped into the same gap at the same moment both land there, side by side.


async def _column(owner_conn: asyncpg.Connection, org: Org, key: str) -> list[tuple[str, str]]:
    rows = await owner_conn.fetch(
        "SELECT id::text, rank FROM deals WHERE tenant_id = $1 AND step_id = $2"
        " AND deleted_at IS NULL ORDER BY rank",
        org.admin.tenant_id,
        org.steps[key],
    )
    return [(r["id"], r["rank"]) for r in rows]


async def _board(client: httpx.AsyncClient, org: Org) -> list[str]:
    board = await client.get(
        "/api/v1/pipeline", headers=org.sales.headers, params={"per_column": 200}
    )
    assert board.status_code == 200, board.text
    return [card["id"] for card in board.json()["columns"][0]["items"]]


def _by_id(*deals: dict[str, Any]) -> list[str]:
    """Cards given one position sit in id order (their ranks end with their ids)."""
    return [d["id"] for d in sorted(deals, key=lambda d: uuid.UUID(d["id"]).int)]


async def _race_two_reorders(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    locked: Sequence[dict[str, Any]],
    x: dict[str, Any],
    y: dict[str, Any],
    anchor: dict[str, Any],
) -> None:
    one, two = await interleave(
        owner_conn,
        [d["id"] for d in locked],
        org.move(client, x, "prospecting", after_id=anchor["id"]),
        org.move(client, y, "prospecting", after_id=anchor["id"]),
    )
    assert (one.status_code, two.status_code) == (200, 200), (one.text, two.text)
    assert (one.json()["deal"]["version"], two.json()["deal"]["version"]) == (2, 2)


async def test_two_reorders_into_one_gap_both_land_in_it(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    anchor, after, x, y = [await org.create(client) for _ in range(4)]
    # Each request waits at its own card's row, having read the same neighbours.
    await _race_two_reorders(client, org, owner_conn, [x, y], x, y, anchor)
    column = await _column(owner_conn, org, "prospecting")
    ids = [card_id for card_id, _ in column]
    assert ids == [anchor["id"], *_by_id(x, y), after["id"]]
    assert len({rank for _, rank in column}) == 4
    assert await _board(client, org) == ids
    history = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE record_id = ANY($1::uuid[])",
        [uuid.UUID(d["id"]) for d in (x, y)],
    )
    assert history == 2  # each card's creation only: a reorder is no step change


async def test_two_reorders_into_one_full_gap_both_land_in_it(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    anchor, after, x, y = [await org.create(client) for _ in range(4)]
    # Nothing fits between the anchor and the next card: each reorder rebalances the
    # column, locking its other cards in rank order — the anchor first.
    for deal, position in ((anchor, "i" * 39), (after, "i" * 38 + "j")):
        await owner_conn.execute(
            "UPDATE deals SET rank = $2 WHERE id = $1",
            uuid.UUID(deal["id"]),
            ranks.rank_of(position, uuid.UUID(deal["id"])),
        )
    await _race_two_reorders(client, org, owner_conn, [anchor], x, y, anchor)
    column = await _column(owner_conn, org, "prospecting")
    ids = [card_id for card_id, _ in column]
    assert len({rank for _, rank in column}) == 4
    assert await _board(client, org) == ids
    # Both cards right after the anchor (in the order the reorders ran), the card
    # that followed it after them.
    assert ids[0] == anchor["id"]
    assert set(ids[1:3]) == {x["id"], y["id"]}
    assert ids[3] == after["id"]


async def test_a_reorder_waiting_behind_a_rebalance_lands_where_it_was_dropped(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    anchor, after, c, d, x, y = [await org.create(client) for _ in range(6)]
    await squeeze(owner_conn, anchor, after)
    # x into the full gap (a rebalance, which locks every card of the column in rank
    # order and so queues at y); then y between c and d (room there: no rebalance),
    # which finds the column's lock taken and waits for it, to read c and d again.
    one, two = await interleave(
        owner_conn,
        [y["id"]],
        org.move(client, x, "prospecting", after_id=anchor["id"]),
        org.move(client, y, "prospecting", after_id=c["id"]),
    )
    assert (one.status_code, two.status_code) == (200, 200), (one.text, two.text)
    ids = [card_id for card_id, _ in await _column(owner_conn, org, "prospecting")]
    assert ids == [anchor["id"], x["id"], after["id"], c["id"], y["id"], d["id"]]


async def test_a_drop_from_another_column_waits_for_a_rebalance_of_its_target(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    anchor, after, c, d, x = [await org.create(client) for _ in range(5)]
    y = await org.walk(client, await org.create(client), "discovery")
    await squeeze(owner_conn, anchor, after)
    # x's rebalance holds the column's lock and queues at d; y, coming from Discovery,
    # has no row of the column to wait on: it waits for the column's lock instead.
    one, two = await interleave(
        owner_conn,
        [d["id"]],
        org.move(client, x, "prospecting", after_id=anchor["id"]),
        org.move(client, y, "prospecting", after_id=c["id"]),
    )
    assert (one.status_code, two.status_code) == (200, 200), (one.text, two.text)
    ids = [card_id for card_id, _ in await _column(owner_conn, org, "prospecting")]
    assert ids == [anchor["id"], x["id"], after["id"], c["id"], y["id"], d["id"]]


def _meanwhile(monkeypatch: pytest.MonkeyPatch, change: Callable[[], Request]) -> list[int]:
    """Run `change` to its end once, in the next move, between the move's read of its
    card and neighbours and its write; count the placements done again."""
    real_compiled = deal_service._workflow_of
    real_again = deal_service._place_again
    started: list[bool] = []
    again: list[int] = []

    async def compiled(*args: Any, **kwargs: Any) -> Any:
        if not started:  # the change's own move passes through
            started.append(True)
            changed = await change()
            assert changed.status_code == 200, changed.text
        return await real_compiled(*args, **kwargs)

    async def place_again(*args: Any, **kwargs: Any) -> Any:
        again.append(1)
        return await real_again(*args, **kwargs)

    monkeypatch.setattr(deal_service, "_workflow_of", compiled)
    monkeypatch.setattr(deal_service, "_place_again", place_again)
    return again


# In one transaction (an Idempotency-Key) a reorder whose check failed is placed again
# in it; on the driver its statement wrote nothing and the request runs again in a
# transaction, whose read already sees the change: placed once, no second placement.
IN_ONE_TRANSACTION = pytest.mark.parametrize(
    ("idempotency_key", "placed_again"), [("reorder-1", [1]), (None, [])]
)


@IN_ONE_TRANSACTION
async def test_a_reorder_that_read_its_neighbours_before_a_rebalance_committed_is_placed_again(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    idempotency_key: str | None,
    placed_again: list[int],
) -> None:
    anchor, after, c, d, x, y = [await org.create(client) for _ in range(6)]
    await squeeze(owner_conn, anchor, after)
    # y reads c and d; x's rebalance rewrites the column and commits; y writes. Nothing
    # waits: the write's check finds c and d moved and y is placed again.
    again = _meanwhile(
        monkeypatch, lambda: org.move(client, x, "prospecting", after_id=anchor["id"])
    )
    moved = await org.move(
        client, y, "prospecting", after_id=c["id"], idempotency_key=idempotency_key
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["deal"]["version"] == 2
    assert again == placed_again
    column = await _column(owner_conn, org, "prospecting")
    ids = [card_id for card_id, _ in column]
    assert ids == [anchor["id"], x["id"], after["id"], c["id"], y["id"], d["id"]]
    assert await _board(client, org) == ids


@IN_ONE_TRANSACTION
async def test_a_reorder_whose_neighbour_moved_meanwhile_lands_next_to_it(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    idempotency_key: str | None,
    placed_again: list[int],
) -> None:
    a, b, c, y = [await org.create(client) for _ in range(4)]
    # y is dropped after b; b goes to the top between the read and the write.
    again = _meanwhile(monkeypatch, lambda: org.move(client, b, "prospecting", before_id=a["id"]))
    moved = await org.move(
        client, y, "prospecting", after_id=b["id"], idempotency_key=idempotency_key
    )
    assert moved.status_code == 200, moved.text
    assert again == placed_again
    ids = [card_id for card_id, _ in await _column(owner_conn, org, "prospecting")]
    assert ids == [b["id"], y["id"], a["id"], c["id"]]


async def test_a_reorder_costs_no_statement_more_than_a_move_and_a_rebalance_three(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection, database: Database
) -> None:
    first, second = [await org.create(client) for _ in range(2)]
    await squeeze(owner_conn, first, second)
    plain, placed, in_transaction, squeezed = [
        await org.walk(client, await org.create(client), "discovery") for _ in range(4)
    ]

    async def statements(deal: dict[str, Any], **extra: Any) -> int:
        with counted(database) as sent:
            moved = await org.move(client, deal, "prospecting", **extra)
        assert moved.status_code == 200, moved.text
        return len(sent)

    # The same transition each time: an append and a drop after a named card (its check
    # rides in the UPDATE) on the driver: authentication, load, move. A drop into a
    # full gap needs a transaction (the column's lock, its cards locked and read, their
    # new ranks): three statements more than a plain move in one.
    assert await statements(plain) == 3
    assert await statements(placed, after_id=plain["id"]) == 3
    base = await statements(in_transaction, idempotency_key="plain")
    assert await statements(squeezed, after_id=first["id"], idempotency_key="full") == base + 3
    ids = [card_id for card_id, _ in await _column(owner_conn, org, "prospecting")]
    assert ids == [
        first["id"],
        squeezed["id"],
        second["id"],
        plain["id"],
        placed["id"],
        in_transaction["id"],
    ]
