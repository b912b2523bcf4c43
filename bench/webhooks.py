"""Webhooks: what the outbox costs the deal move, and how fast one worker delivers.

- **outbox A/B on the deal move** (raw driver, one run, interleaved): the move
  statement as baton sends it on the driver's transaction (`deals.service.move_statement()`:
  the deal, its history and timeline entry, the audit rows, the board totals and the
  `deal.moved` outbox row, one statement, its own transaction) against the same
  statement without the outbox row (`move_statement(emit=False)`), alternating A and
  B on the same deals, Prospecting ↔ Discovery. Budget: A - B ≤ 0.2 ms at p50.
- **HTTP move p50** (`POST /api/v1/deals/{id}/move` on `baton serve`, one keep-alive
  client): the move's 3 ms budget, outbox included.
- **delivery throughput**: N events for one endpoint, fanned out (`dispatch`, timed
  on its own) and then delivered by one pump (`baton.webhooks.delivery.pump`, what
  one worker's job runs) to a receiver on 127.0.0.1 in its own process (keep-alive
  HTTP/1.1, answers 200), `--rounds` times; deliveries/s and the pump's CPU per
  delivery, medians. With `--baseline GIT_REF`, the pump as it was at that commit
  runs too, alternating with today's round by round (who goes first alternating),
  without sniffio as before it was a dependency; the ratio is the median of the
  rounds' ratios. Budget: ≥ 500 deliveries/s.

Runs on the local PostgreSQL (127.0.0.1:5432), on a throw-away database holding the
demo organization. `python -m bench.webhooks [--moves N] [--webhooks N] [--rounds N]
[--baseline GIT_REF] [--only-delivery] [--json F]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.abc
import json
import os
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg

from bench.harness import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    LOCAL_PG_HOST,
    LOCAL_PG_PORT,
    Deployment,
    DriverStatement,
    Http,
    Result,
    deployment,
    finish,
    free_port,
    percentile,
    print_machine,
    serving,
)
from bench.reference import ReferenceMover, machine_factor
from bench.sales import login

BUDGET_OUTBOX_MS = 0.2
BUDGET_MOVE_P50_MS = 3.0
BUDGET_DELIVERIES_PER_S = 500.0

RECEIVER = """
import asyncio, sys
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            length = 0
            for line in head.split(b"\\r\\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\nok")
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


async def _owner(deployed: Deployment) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=LOCAL_PG_HOST, port=LOCAL_PG_PORT, user="postgres", database=deployed.database
    )


async def _demo(owner: asyncpg.Connection) -> dict[str, Any]:
    tenant_id, user_id = await owner.fetchrow(
        "SELECT m.tenant_id, m.user_id FROM memberships m JOIN users u ON u.id = m.user_id"
        " WHERE u.email = $1",
        DEMO_EMAIL,
    )
    steps = {
        r["key"]: r["id"]
        for r in await owner.fetch(
            "SELECT s.key, s.id FROM workflow_steps s JOIN workflows w ON w.tenant_id = s.tenant_id"
            " AND w.id = s.workflow_id WHERE s.tenant_id = $1 AND w.name = 'Sales pipeline'",
            tenant_id,
        )
    }
    deals = await owner.fetch(
        "SELECT id, step_id, version FROM deals WHERE tenant_id = $1 AND deleted_at IS NULL"
        " AND step_id = ANY($2::uuid[]) ORDER BY id",
        tenant_id,
        [steps["prospecting"], steps["discovery"]],
    )
    return {"tenant_id": tenant_id, "user_id": user_id, "steps": steps, "deals": deals}


async def outbox_ab(deployed: Deployment, moves: int) -> list[Result]:
    from baton.core.ids import uuid7
    from baton.deals import ranks
    from baton.deals.service import _MOVE_FIELD_TYPES, move_statement

    with_outbox = DriverStatement.of(move_statement())
    without = DriverStatement.of(move_statement(emit=False))
    owner = await _owner(deployed)
    demo = await _demo(owner)
    await owner.close()
    steps = demo["steps"]
    other = {steps["prospecting"]: steps["discovery"], steps["discovery"]: steps["prospecting"]}
    deals = [[r["id"], r["step_id"], r["version"]] for r in demo["deals"]]
    if len(deals) < 2:
        raise RuntimeError("the demo has too few open deals in Prospecting and Discovery")
    conn = await asyncpg.connect(**deployed.app_connect_kwargs())
    # A request's settings, for the bench's own connection (no pooler here): both
    # variants run with the same ones.
    await conn.execute(
        "SELECT set_config('baton.tenant_id', $1, false), set_config('baton.user_id', $2, false),"
        " set_config('baton.role', 'admin', false), set_config('baton.request_id', 'bench', false)",
        str(demo["tenant_id"]),
        str(demo["user_id"]),
    )
    timings: dict[str, list[float]] = {"A": [], "B": [], "reference": []}
    reference = ReferenceMover(
        {
            "host": LOCAL_PG_HOST,
            "port": LOCAL_PG_PORT,
            "user": "postgres",
            "database": deployed.database,
        }
    )
    await reference.open()
    try:
        for i in range(moves * 2 + 40):
            deal = deals[i % len(deals)]
            variant = "A" if (i // len(deals) + i) % 2 == 0 else "B"
            statement = with_outbox if variant == "A" else without
            target = other[deal[1]]
            params = {
                "record_id": deal[0],
                "expected_version": deal[2],
                "to_step_id": target,
                "new_rank": ranks.rank_of(ranks.position_between(None, None), deal[0]),
                **{f"set_{name}": None for name in _MOVE_FIELD_TYPES},
                "activity_id": uuid7(),
                "entry_subject": "Stage changed",
                "entry_description": None,
                "actor_id": demo["user_id"],
                "log_stage_change": True,
                "event_id": uuid7(),
                "board_workflow_id": None,
                "guard_lo": None,
                "guard_hi": None,
            }
            started = time.perf_counter_ns()
            row = await conn.fetchrow(statement.sql, *statement.args(params))
            elapsed = (time.perf_counter_ns() - started) / 1e6
            if row is None or row["version"] != deal[2] + 1:
                raise RuntimeError(f"the raw move of {deal[0]} failed")
            deal[1], deal[2] = target, row["version"]
            if i >= 40:  # warm-up left out
                timings[variant].append(elapsed)
                if variant == "A":
                    timings["reference"].append(await reference.move_once() / 1e6)
        events = await conn.fetchval("SELECT count(*) FROM outbox_events WHERE type = 'deal.moved'")
    finally:
        await conn.close()
        await reference.close()
    a = sorted(timings["A"])
    b = sorted(timings["B"])
    cost = percentile(a, 50) - percentile(b, 50)
    reference_p50 = percentile(sorted(timings["reference"]), 50)
    return [
        Result(
            "outbox A/B", "move with outbox p50", percentile(a, 50), "ms", note=f"{len(a)} moves"
        ),
        Result(
            "outbox A/B",
            "move without outbox p50",
            percentile(b, 50),
            "ms",
            note=f"{len(b)} moves",
        ),
        Result(
            "outbox A/B",
            "outbox cost p50 (A - B)",
            cost,
            "ms",
            f"≤ {BUDGET_OUTBOX_MS} ms",
            cost <= BUDGET_OUTBOX_MS,
            f"{events} deal.moved rows written by A",
        ),
        Result("outbox A/B", "move with outbox p99", percentile(a, 99), "ms"),
        Result(
            "outbox A/B",
            "reference transaction p50",
            reference_p50,
            "ms",
            note=f"machine factor {machine_factor(reference_p50):.2f} (DESIGN §7: 1.26 ms)",
        ),
        Result("outbox A/B", "move without outbox p99", percentile(b, 99), "ms"),
    ]


def http_move(deployed: Deployment, moves: int) -> list[Result]:
    owner_demo = asyncio.run(_demo_via_owner(deployed))
    steps = owner_demo["steps"]
    other = {steps["prospecting"]: steps["discovery"], steps["discovery"]: steps["prospecting"]}
    deals = [[r["id"], r["step_id"], r["version"]] for r in owner_demo["deals"]]
    with serving(deployed) as server:
        token = login(server.port, DEMO_EMAIL, DEMO_PASSWORD)
        client = Http(server.port)
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        timings = []
        for i in range(moves + 20):
            deal = deals[i % len(deals)]
            target = other[deal[1]]
            body = json.dumps({"to_step_id": str(target), "version": deal[2]}).encode()
            started = time.perf_counter_ns()
            status, raw = client.call("POST", f"/api/v1/deals/{deal[0]}/move", body, headers)
            elapsed = (time.perf_counter_ns() - started) / 1e6
            if status != 200:
                raise RuntimeError(f"move answered {status}: {raw[:300]!r}")
            deal[1], deal[2] = target, json.loads(raw)["deal"]["version"]
            if i >= 20:
                timings.append(elapsed)
        client.close()
    ordered = sorted(timings)
    p50 = percentile(ordered, 50)
    return [
        Result(
            "deal move (HTTP)",
            "p50, outbox included",
            p50,
            "ms",
            f"≤ {BUDGET_MOVE_P50_MS} ms",
            p50 <= BUDGET_MOVE_P50_MS,
            f"{len(ordered)} moves, one keep-alive client",
        ),
        Result("deal move (HTTP)", "p99", percentile(ordered, 99), "ms"),
    ]


async def _demo_via_owner(deployed: Deployment) -> dict[str, Any]:
    owner = await _owner(deployed)
    try:
        return await _demo(owner)
    finally:
        await owner.close()


def _baseline_pump(ref: str) -> Callable[..., Awaitable[Any]]:
    """`pump` as `baton/webhooks/delivery.py` was at git `ref`, on today's modules."""
    source = subprocess.run(  # noqa: S603 - git, our own repository
        ["git", "show", f"{ref}:baton/webhooks/delivery.py"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    module = types.ModuleType("bench_baseline_delivery")
    # Its dataclasses look their module up while being defined.
    sys.modules[module.__name__] = module
    exec(compile(source, f"{ref}:baton/webhooks/delivery.py", "exec"), module.__dict__)  # noqa: S102
    pump: Callable[..., Awaitable[Any]] = module.pump
    return pump


class _AbsentSniffio(importlib.abc.MetaPathFinder):
    """As if `sniffio` were not installed (as before baton required it): httpcore's
    `import sniffio` at every lock fails after the same search a missing module costs
    (each finder, every entry of sys.path)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name != "sniffio":
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                finder.find_spec("baton_bench_absent_module", None)
        raise ModuleNotFoundError("No module named 'sniffio'", name="sniffio")


@contextlib.contextmanager
def _without_sniffio() -> Iterator[None]:
    saved = sys.modules.pop("sniffio", None)
    finder = _AbsentSniffio()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        if saved is not None:
            sys.modules["sniffio"] = saved


async def delivery_throughput(
    deployed: Deployment, count: int, rounds: int, baseline_ref: str | None
) -> list[Result]:
    os.environ.update(deployed.env)
    os.environ["BATON_WEBHOOK_ALLOW_PRIVATE"] = "1"
    from baton.config import Settings
    from baton.core.ids import uuid7
    from baton.db.engine import Database
    from baton.db.urls import app_url
    from baton.webhooks import signing
    from baton.webhooks.delivery import dispatch, pump

    variants: dict[str, Callable[..., Awaitable[Any]]] = {"current": pump}
    if baseline_ref:
        variants["baseline"] = _baseline_pump(baseline_ref)
    settings = Settings()
    db = Database(app_url(settings), pool_size=4, max_overflow=0)
    owner = await _owner(deployed)
    demo = await _demo(owner)
    tenant_id = demo["tenant_id"]
    port = free_port()
    receiver = subprocess.Popen(  # noqa: S603, ASYNC220 - this interpreter, our script; before the timing
        [sys.executable, "-c", RECEIVER, str(port)], stdout=subprocess.PIPE
    )
    rates: dict[str, list[float]] = {name: [] for name in variants}
    # The pump's own CPU per delivery (this process: the receiver and PostgreSQL are
    # others): what a busy host distorts least.
    cpu_ms: dict[str, list[float]] = {name: [] for name in variants}
    ratios: list[float] = []
    fan_out: list[float] = []
    complete = True
    try:
        assert receiver.stdout is not None
        receiver.stdout.readline()
        endpoint_id = uuid7()
        await owner.execute(
            "INSERT INTO webhook_endpoints (tenant_id, id, url, events, secret)"
            " VALUES ($1, $2, $3, ARRAY['import.completed'], $4)",
            tenant_id,
            endpoint_id,
            f"http://127.0.0.1:{port}/hook",
            signing.new_secret(),
        )
        for round in range(rounds):
            # Alternating which goes first: what the host does meanwhile hits both alike.
            order = list(variants) if round % 2 == 0 else list(reversed(variants))
            this_round: dict[str, float] = {}
            for name in order:
                await owner.executemany(
                    "INSERT INTO outbox_events (tenant_id, id, type, data) VALUES ($1, $2, $3, $4)",
                    [
                        (tenant_id, uuid7(), "import.completed", json.dumps({"rows": n}))
                        for n in range(count)
                    ],
                )
                started = time.perf_counter()
                while await dispatch(db, settings, tenant_id):
                    pass
                fan_out.append(count / (time.perf_counter() - started))
                before = await _delivered(owner, endpoint_id)
                with _without_sniffio() if name == "baseline" else contextlib.nullcontext():
                    started = time.perf_counter()
                    cpu_started = time.process_time()
                    report = await variants[name](db, settings)
                    elapsed = time.perf_counter() - started
                    cpu = time.process_time() - cpu_started
                delivered = await _delivered(owner, endpoint_id) - before
                complete = complete and report.delivered == count == delivered
                this_round[name] = report.delivered / elapsed
                rates[name].append(this_round[name])
                cpu_ms[name].append(cpu * 1000 / max(report.delivered, 1))
                print(
                    f"  round {round + 1} {name}: {this_round[name]:.0f}/s,"
                    f" {cpu_ms[name][-1]:.2f} ms CPU a delivery",
                    flush=True,
                )
            if baseline_ref:
                ratios.append(this_round["current"] / this_round["baseline"])
    finally:
        receiver.terminate()
        receiver.wait()
        await owner.close()
        await db.dispose()
    rate = statistics.median(rates["current"])
    results = [
        Result(
            "webhook delivery",
            "deliveries/s, one pump (median)",
            rate,
            "/s",
            f"≥ {BUDGET_DELIVERIES_PER_S:.0f}/s",
            rate >= BUDGET_DELIVERIES_PER_S and complete,
            f"{rounds} rounds of {count}: "
            + " ".join(f"{r:.0f}" for r in rates["current"])
            + ("" if complete else "; SOME NOT DELIVERED"),
        )
    ]
    results.append(
        Result(
            "webhook delivery",
            "pump CPU per delivery (median)",
            statistics.median(cpu_ms["current"]),
            "ms",
            note=" ".join(f"{c:.2f}" for c in cpu_ms["current"]),
        )
    )
    if baseline_ref:
        results += [
            Result(
                "webhook delivery",
                "baseline pump CPU per delivery (median)",
                statistics.median(cpu_ms["baseline"]),
                "ms",
                note=" ".join(f"{c:.2f}" for c in cpu_ms["baseline"]),
            ),
            Result(
                "webhook delivery",
                f"baseline ({baseline_ref}, no sniffio) deliveries/s (median)",
                statistics.median(rates["baseline"]),
                "/s",
                note=" ".join(f"{r:.0f}" for r in rates["baseline"]),
            ),
            Result(
                "webhook delivery",
                "current ÷ baseline (median of rounds)",
                statistics.median(ratios),
                "x",
                note=" ".join(f"{r:.2f}" for r in ratios),
            ),
        ]
    results.append(
        Result(
            "webhook delivery",
            "fan-out (dispatch) events/s (median)",
            statistics.median(fan_out),
            "/s",
            note=f"{count} events a time",
        )
    )
    return results


async def _delivered(owner: asyncpg.Connection, endpoint_id: Any) -> int:
    count: int = await owner.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'delivered'",
        endpoint_id,
    )
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--moves", type=int, default=1000, help="moves per variant")
    parser.add_argument("--http-moves", type=int, default=500)
    parser.add_argument("--webhooks", type=int, default=3000, help="deliveries per round")
    parser.add_argument("--rounds", type=int, default=5, help="delivery rounds per variant")
    parser.add_argument(
        "--baseline",
        metavar="GIT_REF",
        help="also run the pump as it was at this commit, interleaved (e.g. a2bdaf3)",
    )
    parser.add_argument("--only-delivery", action="store_true", help="skip the move benches")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    print_machine()
    results: list[Result] = []
    with deployment("local") as deployed:
        if not args.only_delivery:
            results += asyncio.run(outbox_ab(deployed, args.moves))
            results += http_move(deployed, args.http_moves)
        results += asyncio.run(
            delivery_throughput(deployed, args.webhooks, args.rounds, args.baseline)
        )
    finish(results, "webhooks", args.json)


if __name__ == "__main__":
    main()
