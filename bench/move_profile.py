"""Where the driver's deal move spends its time, statement by statement and trigger by
trigger (issue 19 part 2, DESIGN §7's 3 ms move).

- **statements**: the five round trips of `POST /api/v1/deals/{id}/move` on the driver
  (`baton.core.driver_transaction`) replayed on one asyncpg connection as the app role,
  each timed on its own: BEGIN, `baton_authenticate`, the load, the move statement,
  COMMIT (the WAL flush). DESIGN §7's reference transaction runs in the same rounds.
- **triggers**: copies of the database (`CREATE DATABASE … TEMPLATE`), each with one
  part of the move's server-side work switched off, and the move statement timed on
  each in turn, in a transaction rolled back afterwards (no WAL flush): what each part
  costs is the full copy's p50 less its own. Only to learn where the time goes: every
  part is required (DESIGN §3).

Runs on the local PostgreSQL (127.0.0.1:5432), on a throw-away database holding the
demo organization. `python -m bench.move_profile [--moves N] [--json F]`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import asyncpg

from bench.harness import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    LOCAL_PG_HOST,
    LOCAL_PG_PORT,
    Deployment,
    Result,
    deployment,
    finish,
    percentile,
    print_machine,
    serving,
)
from bench.reference import ReferenceMover, machine_factor
from bench.sales import login
from bench.webhooks import _demo

# Each copy: the statements that switch its part off (run as the owner, once), and
# whether the move writes its timeline entry and outbox row. One copy a variant, so
# each table takes the same number of (rolled-back) writes.
PARTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "full": ((), True),
    "audit rows (deal and timeline entry)": (
        (
            "ALTER TABLE deals DISABLE TRIGGER audit",
            "ALTER TABLE activities DISABLE TRIGGER audit",
        ),
        True,
    ),
    "history row and transition check (govern_step, deal_outcome)": (
        (
            "ALTER TABLE deals DISABLE TRIGGER govern_step",
            "ALTER TABLE deals DISABLE TRIGGER deal_outcome",
        ),
        True,
    ),
    "board and open-deal totals": (
        (
            "ALTER TABLE deals DISABLE TRIGGER pipeline_totals_update",
            "ALTER TABLE deals DISABLE TRIGGER open_deal_totals_update",
        ),
        True,
    ),
    "search index (GIN)": (("DROP INDEX ix_deals_search",), True),
    "every trigger on deals, foreign keys' too": (("ALTER TABLE deals DISABLE TRIGGER ALL",), True),
    "timeline entry and outbox row": ((), False),
}


def _move_params(deal: list[Any], target: Any, user_id: Any, *, log: bool) -> dict[str, Any]:
    from baton.core.ids import uuid7
    from baton.deals import ranks
    from baton.deals.service import _MOVE_FIELD_TYPES

    return {
        "record_id": deal[0],
        "expected_version": deal[2],
        "to_step_id": target,
        "new_rank": ranks.rank_of(ranks.position_between(None, None), deal[0]),
        **{f"set_{name}": None for name in _MOVE_FIELD_TYPES},
        "activity_id": uuid7(),
        "entry_subject": "Stage changed",
        "entry_description": None,
        "actor_id": user_id,
        "log_stage_change": log,
        "event_id": uuid7(),
        "board_workflow_id": None,
        "guard_lo": None,
        "guard_hi": None,
    }


def _load_params(deal: list[Any], target: Any) -> dict[str, Any]:
    return {
        "record_id": deal[0],
        "to_step_id": target,
        "after_id": None,
        "before_id": None,
        "reason": "",
        "notes": "",
        "fields_text": "",
    }


def _other_steps(demo: dict[str, Any]) -> dict[Any, Any]:
    steps = demo["steps"]
    return {steps["prospecting"]: steps["discovery"], steps["discovery"]: steps["prospecting"]}


def _token(deployed: Deployment) -> str:
    with serving(deployed) as server:
        return login(server.port, DEMO_EMAIL, DEMO_PASSWORD)


async def statements(deployed: Deployment, token: str, moves: int) -> list[Result]:
    from baton.deals.service import _LOAD_FOR_MOVE_ON_DRIVER, _MOVE_ON_DRIVER
    from baton.identity import credentials
    from baton.identity.queries import AUTHENTICATE

    credential = credentials.parse(token)
    assert credential is not None
    owner = await asyncpg.connect(
        host=LOCAL_PG_HOST, port=LOCAL_PG_PORT, user="postgres", database=deployed.database
    )
    demo = await _demo(owner)
    await owner.close()
    other = _other_steps(demo)
    deals = [[r["id"], r["step_id"], r["version"]] for r in demo["deals"]]
    authenticate = AUTHENTICATE.args(
        tenant_id=credential.tenant_id,
        digest=credential.digest,
        prefix=credential.prefix.value,
        request_id="bench",
    )
    conn = await asyncpg.connect(**deployed.app_connect_kwargs())
    reference = ReferenceMover(
        {
            "host": LOCAL_PG_HOST,
            "port": LOCAL_PG_PORT,
            "user": "postgres",
            "database": deployed.database,
        }
    )
    await reference.open()
    names = ("BEGIN", "baton_authenticate", "load", "move statement", "COMMIT", "all five")
    timings: dict[str, list[float]] = {name: [] for name in (*names, "reference")}
    try:
        for i in range(moves + 20):
            deal = deals[i % len(deals)]
            target = other[deal[1]]
            marks = [time.perf_counter_ns()]
            await conn.execute("BEGIN")
            marks.append(time.perf_counter_ns())
            await conn.fetchrow(AUTHENTICATE.sql, *authenticate)
            marks.append(time.perf_counter_ns())
            row = await conn.fetchrow(
                _LOAD_FOR_MOVE_ON_DRIVER.sql,
                *_LOAD_FOR_MOVE_ON_DRIVER.args(_load_params(deal, target)),
            )
            marks.append(time.perf_counter_ns())
            params = _move_params(deal, target, demo["user_id"], log=True)
            moved = await conn.fetchrow(_MOVE_ON_DRIVER.sql, *_MOVE_ON_DRIVER.args(params))
            marks.append(time.perf_counter_ns())
            await conn.execute("COMMIT")
            marks.append(time.perf_counter_ns())
            if row is None or moved is None:
                raise RuntimeError(f"the move of {deal[0]} failed")
            deal[1], deal[2] = target, moved["version"]
            if i >= 20:
                for name, start, end in zip(names, marks, marks[1:], strict=False):
                    timings[name].append((end - start) / 1e6)
                timings["all five"].append((marks[-1] - marks[0]) / 1e6)
                timings["reference"].append(await reference.move_once() / 1e6)
    finally:
        await conn.close()
        await reference.close()
    total = percentile(sorted(timings["all five"]), 50)
    results = []
    for name in names:
        p50 = percentile(sorted(timings[name]), 50)
        share = f"{p50 / total:.0%} of all five" if name != "all five" else f"{moves} moves"
        results.append(Result("move statements", f"{name} p50", p50, "ms", note=share))
    reference_p50 = percentile(sorted(timings["reference"]), 50)
    results.append(
        Result(
            "move statements",
            "reference transaction p50",
            reference_p50,
            "ms",
            note=f"machine factor {machine_factor(reference_p50):.2f} (DESIGN §7: 1.26 ms)",
        )
    )
    return results


async def _admin(database: str, *sql: str) -> None:
    conn = await asyncpg.connect(
        host=LOCAL_PG_HOST, port=LOCAL_PG_PORT, user="postgres", database=database
    )
    try:
        for statement in sql:
            await conn.execute(statement)
    finally:
        await conn.close()


async def triggers(deployed: Deployment, moves: int) -> list[Result]:
    from baton.deals.service import _MOVE_ON_DRIVER

    assert deployed.database is not None
    copies = {name: f"{deployed.database}_p{i}" for i, name in enumerate(PARTS)}
    variants = list(PARTS)
    connections: list[asyncpg.Connection] = []
    try:
        plan: dict[str, tuple[asyncpg.Connection, dict[str, Any], list[list[Any]]]] = {}
        for name, database in copies.items():
            await _admin("postgres", f'CREATE DATABASE "{database}" TEMPLATE "{deployed.database}"')
            await _admin(database, *PARTS[name][0], "VACUUM ANALYZE")
            conn = await asyncpg.connect(
                host=LOCAL_PG_HOST, port=LOCAL_PG_PORT, user="postgres", database=database
            )
            connections.append(conn)
            demo = await _demo(conn)
            plan[name] = (
                conn,
                demo,
                [[r["id"], r["step_id"], r["version"]] for r in demo["deals"]],
            )
        timings: dict[str, list[float]] = {name: [] for name in variants}
        for i in range(moves + 10):
            for name in variants:
                conn, demo, deals = plan[name]
                deal = deals[i % len(deals)]
                target = _other_steps(demo)[deal[1]]
                params = _move_params(deal, target, demo["user_id"], log=PARTS[name][1])
                transaction = conn.transaction()
                await transaction.start()
                await conn.execute(
                    "SELECT set_config('baton.tenant_id', $1, true),"
                    " set_config('baton.user_id', $2, true),"
                    " set_config('baton.role', 'admin', true),"
                    " set_config('baton.request_id', 'bench', true)",
                    str(demo["tenant_id"]),
                    str(demo["user_id"]),
                )
                await conn.execute(f'SET LOCAL ROLE "{deployed.app_role}"')
                started = time.perf_counter_ns()
                row = await conn.fetchrow(_MOVE_ON_DRIVER.sql, *_MOVE_ON_DRIVER.args(params))
                elapsed = (time.perf_counter_ns() - started) / 1e6
                # Rolled back: the copies stay alike, and no WAL flush is timed.
                await transaction.rollback()
                if row is None or row["version"] != deal[2] + 1:
                    raise RuntimeError(f"the move of {deal[0]} failed ({name})")
                if i >= 10:
                    timings[name].append(elapsed)
    finally:
        for conn in connections:
            await conn.close()
        for database in copies.values():
            await _admin("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    full = percentile(sorted(timings["full"]), 50)
    results = [Result("move triggers", "move statement p50, all parts", full, "ms")]
    for name in variants[1:]:
        p50 = percentile(sorted(timings[name]), 50)
        results.append(
            Result(
                "move triggers",
                f"without {name}",
                p50,
                "ms",
                note=f"saves {full - p50:.3f} ms ({(full - p50) / full:.0%})",
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--moves", type=int, default=300, help="moves per variant")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    print_machine()
    results: list[Result] = []
    with deployment("local") as deployed:
        token = _token(deployed)
        results += asyncio.run(statements(deployed, token, args.moves))
        results += asyncio.run(triggers(deployed, args.moves))
    finish(results, "move profile", args.json)


if __name__ == "__main__":
    main()
