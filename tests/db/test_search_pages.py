"""List search pages (issue 14, part 5): `baton_search_page_<table>` pages a search in
exactly the (rank, id) order of ranking every match, whether it reads a rank whole
(probed) or walks it in id order; pages concatenated are the one big page, with no row
twice and none missing; another tenant's rows never come.

The lists read a rank whole up to `search.PROBE` (2 000) rows, so the API tests with a
few rows go the probed way; here `probe` 0 makes every rank walked, the way a word most
of 100 000 rows hold goes."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from baton.db import search
from tests.accounts.support import create_account, create_contact
from tests.factories import Member, register_tenant
from tests.targets.support import create_target


async def _ranked(conn: asyncpg.Connection, table: str, q: str) -> list[tuple[uuid.UUID, int]]:
    """Every match in (rank, id) order, ranked whole (`baton_search_<table>`)."""
    wanted = search.parse(q)
    tail_from, tail_to = wanted.tail_range()
    rows = await conn.fetch(
        f"SELECT id, rank FROM baton_search_{table}(to_tsquery('simple', $1),"
        " to_tsquery('simple', $2), $3::tsquery, $4, $5) ORDER BY rank, id",
        wanted.tsquery(),
        wanted.tsquery("A"),
        wanted.start(),
        tail_from,
        tail_to,
    )
    return [(row["id"], row["rank"]) for row in rows]


def _searched(q: str) -> tuple[Any, ...]:
    """A page function's first eight arguments for the query `q`."""
    wanted = search.parse(q)
    tail_from, tail_to = wanted.tail_range()
    return (
        wanted.tsquery(),
        wanted.tsquery("A"),
        wanted.start(),
        tail_from,
        tail_to,
        wanted.name_hint(),
        wanted.start_hint(),
        wanted.other_hint(),
    )


async def _paged(
    conn: asyncpg.Connection, table: str, q: str, *, size: int, probe: int
) -> list[tuple[uuid.UUID, int]]:
    """Page after page of `size`, each after the last one's (rank, id), concatenated."""
    seen: list[tuple[uuid.UUID, int]] = []
    after: tuple[int, uuid.UUID] | None = None
    for _ in range(100):
        rows = await conn.fetch(
            f"SELECT id, rank FROM baton_search_page_{table}("
            "to_tsquery('simple', $1), to_tsquery('simple', $2), $3::tsquery, $4, $5,"
            " $6::tsquery, $7::tsquery, $8::tsquery, $9, $10, $11, $12)",
            *_searched(q),
            None if after is None else after[0],
            None if after is None else after[1],
            size,
            probe,
        )
        page = [(row["id"], row["rank"]) for row in rows]
        assert len(page) <= size
        seen += page
        if len(page) < size:
            return seen
        after = (page[-1][1], page[-1][0])
    raise AssertionError("more pages than rows")


async def _as_tenant(conn: asyncpg.Connection, member: Member) -> Any:
    transaction = conn.transaction()
    await transaction.start()
    await conn.execute("SELECT set_config('baton.tenant_id', $1, true)", str(member.tenant_id))
    return transaction


async def _accounts(client: httpx.AsyncClient, admin: Member) -> None:
    """Accounts of every rank for "feinkost" and "nordhafen fein", interleaved in
    creation order so that each rank's ids are spread over the table."""
    for n in range(4):
        await create_account(client, admin, name=f"Feinkost Nord {n}")
        await create_account(client, admin, name=f"Nordhafen Feinkost {n} GmbH")
        await create_account(client, admin, name=f"Holz {n}", domain=f"feinkost-{n}.example")
        await create_account(client, admin, name=f"Unrelated {n}")
        await create_account(
            client, admin, name=f"Alte Feinkost {n}", domain=f"nordhafen-{n}.example"
        )


async def test_walked_and_probed_pages_are_the_whole_ranking_cut(
    client: httpx.AsyncClient, app_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    other = await register_tenant(client)
    await _accounts(client, admin)
    await _accounts(client, other)

    transaction = await _as_tenant(app_conn, admin)
    try:
        for q in ("feinkost", "nordhafen fein", "fein nord", "holz", "gmbh", "zyxwv"):
            whole = await _ranked(app_conn, "accounts", q)
            assert len({row for row, _ in whole}) == len(whole), q
            for probe in (0, 1, search.PROBE):
                for size in (1, 3, 50):
                    paged = await _paged(app_conn, "accounts", q, size=size, probe=probe)
                    assert paged == whole, (q, probe, size)
        # Every rank is there: the name starting with the words, the words in the
        # name, the domain only.
        assert {rank for _, rank in await _ranked(app_conn, "accounts", "feinkost")} == {0, 1, 2}
    finally:
        await transaction.rollback()


async def test_walked_pages_keep_to_the_tenant(
    client: httpx.AsyncClient, app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    other = await register_tenant(client)
    mine = await create_account(client, admin, name="Nordhafen Feinkost GmbH")
    for n in range(5):
        await create_account(client, other, name=f"Nordhafen Feinkost {n} GmbH")

    transaction = await _as_tenant(app_conn, admin)
    try:
        for probe in (0, search.PROBE):
            paged = await _paged(app_conn, "accounts", "feinkost", size=2, probe=probe)
            assert [str(row) for row, _ in paged] == [mine["id"]]
    finally:
        await transaction.rollback()
    # Without the tenant setting the function finds nothing, however it reads.
    for probe in (0, search.PROBE):
        assert await _paged(owner_conn, "accounts", "feinkost", size=2, probe=probe) == []


async def test_targets_by_contact_email_and_phone_walked_as_probed(
    client: httpx.AsyncClient, app_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    for n in range(3):
        await create_target(
            client,
            admin,
            company_name=f"Nordhafen Feinkost {n} GmbH",
            contact_name="Jörg Weiß",
            email=f"joerg.weiss@feinkost-{n}.example",
            phone=f"+49 40 555 019{n}",
        )
        await create_target(
            client, admin, company_name=f"Weiss Logistik {n}", phone=f"(040) 555 019{n}"
        )

    transaction = await _as_tenant(app_conn, admin)
    try:
        for q in ("feinkost", "weiss", "jorg weiss", "joerg.weiss@feink", "040 555 0191", "0191"):
            whole = await _ranked(app_conn, "targets", q)
            assert whole, q
            for probe in (0, search.PROBE):
                assert await _paged(app_conn, "targets", q, size=2, probe=probe) == whole, q
        # The phone as dialled finds both ways of writing it, and nothing else.
        assert len(await _ranked(app_conn, "targets", "040 555 0191")) == 2
    finally:
        await transaction.rollback()


async def test_contacts_by_name_email_and_phone_walked_as_probed(
    client: httpx.AsyncClient, app_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin, name="Nordhafen Feinkost GmbH")
    for n in range(3):
        await create_contact(
            client,
            admin,
            account["id"],
            first_name="Jörg",
            last_name=f"Weiß {n}",
            email=f"joerg.weiss{n}@nordhafen-feinkost.example",
            phone=f"+49 40 555 019{n}",
        )
        await create_contact(
            client, admin, account["id"], first_name="Anna", last_name=f"Jorgensen {n}"
        )

    transaction = await _as_tenant(app_conn, admin)
    try:
        for q in ("jorg", "weiss", "jorg weiss", "nordhafen-feinkost", "040 555 0191"):
            whole = await _ranked(app_conn, "contacts", q)
            assert whole, q
            for probe in (0, 1, search.PROBE):
                assert await _paged(app_conn, "contacts", q, size=2, probe=probe) == whole, q
        # "jorg" starts Jörg's name (rank 0) and Anna Jorgensen's last name (rank 1).
        assert [rank for _, rank in await _ranked(app_conn, "contacts", "jorg")] == [0] * 3 + [
            1
        ] * 3
    finally:
        await transaction.rollback()


# Rows read from `accounts` in this transaction: heap fetches of bitmap scans (counted on
# the table) and of index scans (counted on each index).
_ROWS_READ = (
    "SELECT sum(pg_stat_get_xact_tuples_fetched(o)) FROM (SELECT 'accounts'::regclass::oid"
    " AS o UNION ALL SELECT indexrelid FROM pg_index WHERE indrelid = 'accounts'::regclass) r"
)


async def test_a_word_nothing_holds_is_never_walked_whatever_the_estimate(
    client: httpx.AsyncClient, app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection
) -> None:
    """A walk of a rank stops after `WALK_ROWS_PER_PROBE` x `probe` rows and reads the rest
    of the rank along the search index: with `probe` 0 every estimate says "walk", and a
    word no row holds still reads a handful of rows, not the tenant's (the unbounded walk
    read all 25 000 here for each of a word's three ranks; 48 s at 1 000 000 accounts)."""
    admin = await register_tenant(client)
    # Enough rows that the planner reads the search index rather than the tenant's rows.
    await owner_conn.execute(
        "INSERT INTO accounts (tenant_id, id, name, owner_id)"
        " SELECT $1, gen_random_uuid(), 'Lager ' || n || ' GmbH', $2"
        " FROM generate_series(1, 25000) n",
        admin.tenant_id,
        admin.user_id,
    )
    await owner_conn.execute("ANALYZE accounts")
    transaction = await _as_tenant(app_conn, admin)
    try:
        before = await app_conn.fetchval(_ROWS_READ)
        assert await _paged(app_conn, "accounts", "zyxwv", size=50, probe=0) == []
        assert await _paged(app_conn, "accounts", "acct4711", size=50, probe=0) == []
        assert await app_conn.fetchval(_ROWS_READ) - before < 200
        # A word every row holds, with the lists' own probe: at most `probe` + 1 rows to
        # learn the rank is big, then about a page walked.
        before = await app_conn.fetchval(_ROWS_READ)
        first = await app_conn.fetch(
            "SELECT id FROM baton_search_page_accounts(to_tsquery('simple', $1),"
            " to_tsquery('simple', $2), $3::tsquery, $4, $5, $6::tsquery, $7::tsquery,"
            " $8::tsquery, NULL, NULL, 20, $9)",
            *_searched("gmbh"),
            search.PROBE,
        )
        assert len(first) == 20
        assert await app_conn.fetchval(_ROWS_READ) - before <= search.PROBE + 1 + 100
    finally:
        await transaction.rollback()
