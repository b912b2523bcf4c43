"""What the search document costs a write (issue 14, defect 5): create and rename of an
account, a contact and a deal, with and without `search_doc` and its GIN index.

    .venv/bin/python -m bench.search_write_cost [--backend local] [--rounds 5] [-n 300]

A throw-away install (`bench.harness.deployment`: `baton db upgrade`, `baton demo`).
For each of `accounts`, `contacts` and `deals`, two scratch copies of the table are made
as the owner — `CREATE TABLE … (LIKE <table> INCLUDING ALL)`, so the same columns,
defaults, generated columns and indexes (no triggers, no foreign keys, no RLS: the
difference is the document alone) — and the second loses `search_doc` (its GIN index
goes with it; `phone_tail` stays). Each round times `n` single-row INSERTs and `n`
single-row UPDATEs of the name, each its own statement in autocommit
(`synchronous_commit = off`: the flush is no part of the difference), on both copies,
interleaved (with, without, with, …) so both see the same load; the p50 per statement
is reported, the difference, and DESIGN §7's reference transaction (`bench.reference`)
of the same rounds as the yardstick. The real write path adds triggers (audit,
outbox, totals) and RLS on top, so the difference is what the document adds to it.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from typing import Any

import asyncpg

from bench.harness import Result, Stats, common_args, deployment, finish, median, print_machine
from bench.reference import ReferenceMover, machine_factor
from bench.sales_data import owner_kwargs

TAG = "search-write"
# Each table and the column a rename changes (a name of its document).
TABLES: dict[str, str] = {"accounts": "name", "contacts": "first_name", "deals": "name"}


async def _scratch(conn: asyncpg.Connection, table: str) -> tuple[str, str]:
    """Two copies of `table`: with the document, and without it."""
    with_doc, without = f"bench_{table}_with_doc", f"bench_{table}_without_doc"
    for name in (with_doc, without):
        await conn.execute(f"DROP TABLE IF EXISTS {name}")
        await conn.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING ALL)")
    await conn.execute(f"ALTER TABLE {without} DROP COLUMN search_doc")
    for name in (with_doc, without):
        # Unique indexes besides the key would refuse the copied rows (a deal's board
        # rank, an account's domain): dropped from both copies alike.
        unique = await conn.fetch(
            "SELECT i.indexrelid::regclass::text AS name FROM pg_index i"
            " WHERE i.indrelid = $1::regclass AND i.indisunique AND NOT i.indisprimary",
            name,
        )
        for index in unique:
            await conn.execute(f"DROP INDEX {index['name']}")
    return with_doc, without


async def _template_row(conn: asyncpg.Connection, table: str) -> dict[str, Any]:
    """A live row of the demo organization to copy (its required columns filled)."""
    row = await conn.fetchrow(f"SELECT * FROM {table} WHERE deleted_at IS NULL LIMIT 1")
    assert row is not None, table
    generated = {
        r["column_name"]
        for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1"
            " AND (is_generated = 'ALWAYS' OR is_identity = 'YES')",
            table,
        )
    }
    return {k: v for k, v in row.items() if k not in generated}


async def _time(conn: asyncpg.Connection, sql: str, args: list[Any]) -> int:
    started = time.perf_counter_ns()
    await conn.execute(sql, *args)
    return time.perf_counter_ns() - started


async def measure(deployed: Any, rounds: int, requests: int) -> list[Result]:
    conn = await asyncpg.connect(**owner_kwargs(deployed))
    # The document's cost is CPU (the folding, the lexemes, the GIN entries), not the
    # commit's flush: without this, a WAL flush on the shared disk (~3 ms, now and then)
    # decided the p50 of whole rounds on both sides.
    await conn.execute("SET synchronous_commit = off")
    reference = ReferenceMover(owner_kwargs(deployed))
    await reference.open()
    results: list[Result] = []
    try:
        copies = {table: await _scratch(conn, table) for table in TABLES}
        templates = {table: await _template_row(conn, table) for table in TABLES}
        stats: dict[tuple[str, str, str], list[Stats]] = {}
        references: list[Stats] = []
        for number in range(1, rounds + 1):
            ref = Stats()
            for _ in range(requests):
                ref.add_ns(await reference.move_once())
            references.append(ref)
            for table, name_column in TABLES.items():
                row = templates[table]
                columns = [c for c in row if c != "id"]
                for op in ("create", "rename"):
                    per = {copy: Stats() for copy in copies[table]}
                    ids: dict[str, list[uuid.UUID]] = {copy: [] for copy in copies[table]}
                    for n in range(requests):
                        for copy in copies[table]:
                            if op == "create":
                                new_id = uuid.uuid4()
                                ids[copy].append(new_id)
                                values = [
                                    f"Nordhafen Feinkost {n} GmbH" if c == name_column else row[c]
                                    for c in columns
                                ]
                                placeholders = ", ".join(f"${i + 2}" for i in range(len(values)))
                                sql = (
                                    f"INSERT INTO {copy} (id, {', '.join(columns)})"
                                    f" VALUES ($1, {placeholders})"
                                )
                                per[copy].add_ns(await _time(conn, sql, [new_id, *values]))
                            else:
                                target = await conn.fetchval(
                                    f"SELECT id FROM {copy} ORDER BY id OFFSET $1 LIMIT 1", n
                                )
                                sql = f"UPDATE {copy} SET {name_column} = $2 WHERE id = $1"
                                per[copy].add_ns(
                                    await _time(conn, sql, [target, f"Südhafen Logistik {n} AG"])
                                )
                    for copy, measured in per.items():
                        stats.setdefault((table, op, copy), []).append(measured)
            print(
                f"[{TAG}] round {number}: reference p50 {references[-1].p50:.3f} ms; "
                + "; ".join(
                    f"{table} {op} {'with' if 'with_doc' in copy else 'without'} {runs[-1].p50:.3f}"
                    for (table, op, copy), runs in stats.items()
                ),
                flush=True,
            )
        reference_p50 = median([s.p50 for s in references])
        results.append(
            Result(
                TAG,
                "DESIGN §7 reference transaction, raw asyncpg p50",
                reference_p50,
                "ms",
                note=f"machine factor {machine_factor(reference_p50):.2f}",
            )
        )
        for table in TABLES:
            with_doc, without = copies[table]
            for op in ("create", "rename"):
                a = median([s.p50 for s in stats[(table, op, with_doc)]])
                b = median([s.p50 for s in stats[(table, op, without)]])
                results.append(Result(TAG, f"{table} {op}, with search_doc: p50", a, "ms"))
                results.append(Result(TAG, f"{table} {op}, without: p50", b, "ms"))
                results.append(
                    Result(
                        TAG,
                        f"{table} {op}: the document's cost (with minus without)",
                        a - b,
                        "ms",
                        note=f"{a / b:.2f}x; {(a - b) / reference_p50:.2f}x the reference",
                    )
                )
        for table in TABLES:
            for copy in copies[table]:
                await conn.execute(f"DROP TABLE {copy}")
    finally:
        await reference.close()
        await conn.close()
    return results


def main() -> None:
    parser = common_args(__doc__.splitlines()[0], rounds=5, requests=300)
    args = parser.parse_args()
    print_machine()
    with deployment(args.backend) as deployed:
        results = asyncio.run(measure(deployed, args.rounds, args.requests))
    finish(results, "Search document write cost", args.json)
    sys.exit(0)


if __name__ == "__main__":
    main()
