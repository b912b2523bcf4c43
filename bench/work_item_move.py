"""Moving a work item over HTTP, with 100 000 items in the tenant, against raw asyncpg.

Budgets (workflow engine): `POST /api/v1/work-items/{id}/move` p50 ≤ 3 ms on one
client; move throughput through the service with 8 concurrent connections ≥ 50 % of
a raw asyncpg baseline sending the same statements on 8 connections.

Set-up: a throw-away install (the demo tenant), then 100 000 "Support Ticket" work
items bulk-loaded as the database owner in one `INSERT … SELECT … generate_series`
at the workflow's initial step (the `govern_step` trigger checks that and writes a
history row per item; the audit trigger writes its row too), then `ANALYZE`.
Every move takes an item from Open to In Progress or back (a pair of transitions
without conditions); the client keeps each item's step and version, and every
variant works on items of its own, visited in a shuffled order.

1. Latency, one client: this process holds one keep-alive HTTP/1.1 connection to a
   `baton serve` process and times each move from send to the last body byte. In the
   same rounds, chunk by chunk, it runs the same move as raw asyncpg statements, as
   the app role, on uvloop — what baton sends, checked with `log_statement = all`:
   the rate-limit upsert (`rate_limit._HIT_DRIVER_SQL`) in autocommit on a
   connection of its own, then on another: BEGIN; `baton_authenticate(...)`; the
   item's SELECT; the workflow version SELECT (compiled-workflow cache check);
   `set_config` of `baton.transition_*` (`workflow.service._SET_MOVE`); the
   UPDATE … WHERE version; `set_config` reset; the refresh SELECT; COMMIT —
   10 round trips. Authenticated `GET /api/v1/me` runs in the same rounds as the
   floor every API call stands on.
2. Throughput, 8 connections: 8 threads, each with its own keep-alive connection
   and its own login (so its own rate-limit bucket), move their own items as fast as
   the server answers for a fixed time; then 8 asyncio tasks do the raw statements on
   8 + 8 connections (the upsert's and the transaction's) for the same time.
   Alternating, several rounds, median.

    .venv/bin/python -m bench.work_item_move [--backend embedded|local|both]
        [--rounds 5] [-n 2000] [--items 100000] [--tp-rounds 3] [--tp-seconds 8]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.harness import (
    LOCAL_PG_HOST,
    LOCAL_PG_PORT,
    CpuWatch,
    Deployment,
    Http,
    QuietWaiter,
    Result,
    Round,
    Stats,
    Variant,
    backends_of,
    common_args,
    deployment,
    local_postgres_available,
    measure_interleaved,
    median,
    noise_note,
    print_machine,
    print_table,
    round_median,
    round_ratio,
    serving,
    timed_calls,
    write_json,
)
from bench.me_latency import new_loop_runner, positional

BENCH = "work_item_move"
BUDGET_P50_MS = 3.0
BUDGET_THROUGHPUT_SHARE = 0.5
PROJECT_TYPE = "Support Ticket"
CHUNK = 250
WARMUP = 300
CONCURRENCY = 8

# The ORM statements of `workitems.service.move_work_item`, as SQLAlchemy renders them
# for asyncpg (copied from the server's `log_statement = all` output).
_ITEM_COLUMNS = (
    "work_items.tenant_id, work_items.id, work_items.project_type_id, work_items.name, "
    "work_items.description, work_items.owner_id, work_items.workflow_id, "
    "work_items.step_id, work_items.entered_step_at, work_items.metadata, "
    "work_items.created_at, work_items.updated_at, work_items.version"
)
SQL_LOAD_ITEM = f"SELECT {_ITEM_COLUMNS} \nFROM work_items \nWHERE work_items.id = $1::UUID"
SQL_WORKFLOW_VERSION = "SELECT workflows.version \nFROM workflows \nWHERE workflows.id = $1::UUID"
SQL_UPDATE = (
    "UPDATE work_items SET step_id=$1::UUID, updated_at=now(), version=$2::INTEGER"
    " WHERE work_items.tenant_id = $3::UUID AND work_items.id = $4::UUID"
    " AND work_items.version = $5::INTEGER"
)
SQL_REFRESH = (
    f"SELECT {_ITEM_COLUMNS} \nFROM work_items \n"
    "WHERE work_items.tenant_id = $1::UUID AND work_items.id = $2::UUID"
)

# The bulk load: one statement, at the initial step, with the request's settings set
# in the same transaction (the triggers read them; as superuser RLS does not apply).
SQL_BULK_LOAD = """
INSERT INTO work_items (tenant_id, id, project_type_id, name, owner_id, workflow_id,
                        step_id, entered_step_at, metadata)
SELECT $1::uuid, baton_uuid7(), $2::uuid, 'Bench ticket ' || g, $3::uuid, $4::uuid,
       $5::uuid, now(), '{}'::jsonb
FROM generate_series(1, $6::integer) AS g
"""


def owner_connect_kwargs(deployed: Deployment) -> dict[str, Any]:
    """The database owner (a superuser in the bench), for the bulk load."""
    if deployed.backend == "local":
        return {
            "host": LOCAL_PG_HOST,
            "port": LOCAL_PG_PORT,
            "user": "postgres",
            "database": deployed.database,
        }
    kwargs = deployed.app_connect_kwargs()
    kwargs.pop("password")
    return {**kwargs, "user": "postgres"}


@dataclass
class Fixture:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    project_type_id: uuid.UUID
    workflow_id: uuid.UUID
    open_id: uuid.UUID
    in_progress_id: uuid.UUID


def discover(client: Http, token: str) -> Fixture:
    from baton.identity import credentials

    headers = {"authorization": f"Bearer {token}"}
    parsed = credentials.parse(token)
    assert parsed is not None
    status, raw = client.call("GET", "/api/v1/me", None, headers)
    assert status == 200, raw
    user_id = uuid.UUID(json.loads(raw)["user"]["id"])
    status, raw = client.call("GET", "/api/v1/workflow/project-types", None, headers)
    assert status == 200, raw
    listed = json.loads(raw)
    listed = listed["items"] if isinstance(listed, dict) else listed
    project_type = next(p for p in listed if p["name"] == PROJECT_TYPE)
    workflow_id = project_type["default_workflow_id"]
    status, raw = client.call("GET", f"/api/v1/workflow/workflows/{workflow_id}", None, headers)
    assert status == 200, raw
    workflow = json.loads(raw)
    steps = {s["key"]: uuid.UUID(s["id"]) for s in workflow["steps"]}
    edges = {(t["from_step_id"], t["to_step_id"]): t["conditions"] for t in workflow["transitions"]}
    for pair in ((steps["open"], steps["in_progress"]), (steps["in_progress"], steps["open"])):
        if edges.get((str(pair[0]), str(pair[1]))) != {}:
            raise RuntimeError(f"no unconditional transition {pair} in {PROJECT_TYPE}")
    return Fixture(
        tenant_id=parsed.tenant_id,
        user_id=user_id,
        project_type_id=uuid.UUID(project_type["id"]),
        workflow_id=uuid.UUID(workflow_id),
        open_id=steps["open"],
        in_progress_id=steps["in_progress"],
    )


def bulk_load(deployed: Deployment, fixture: Fixture, count: int) -> list[uuid.UUID]:
    async def load() -> list[uuid.UUID]:
        conn = await asyncpg.connect(**owner_connect_kwargs(deployed))
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('baton.tenant_id', $1, true),"
                    " set_config('baton.user_id', $2, true),"
                    " set_config('baton.role', 'admin', true),"
                    " set_config('baton.request_id', 'bench-bulk-load', true)",
                    str(fixture.tenant_id),
                    str(fixture.user_id),
                )
                await conn.execute(
                    SQL_BULK_LOAD,
                    fixture.tenant_id,
                    fixture.project_type_id,
                    fixture.user_id,
                    fixture.workflow_id,
                    fixture.open_id,
                    count,
                )
            await conn.execute("ANALYZE")
            rows = await conn.fetch(
                "SELECT id FROM work_items WHERE tenant_id = $1 AND project_type_id = $2"
                " AND step_id = $3 ORDER BY id",
                fixture.tenant_id,
                fixture.project_type_id,
                fixture.open_id,
            )
            return [row["id"] for row in rows]
        finally:
            await conn.close()

    return asyncio.run(load())


@dataclass
class Items:
    """Items of one variant or worker: id, current step (False = open) and version."""

    ids: list[uuid.UUID]
    fixture: Fixture
    at_open: list[bool] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    cursor: int = 0

    def __post_init__(self) -> None:
        self.at_open = [True] * len(self.ids)
        self.versions = [1] * len(self.ids)

    def next(self) -> tuple[int, uuid.UUID, uuid.UUID, int]:
        """(index, item id, target step, expected version) of the next move."""
        i = self.cursor
        self.cursor = (i + 1) % len(self.ids)
        target = self.fixture.in_progress_id if self.at_open[i] else self.fixture.open_id
        return i, self.ids[i], target, self.versions[i]

    def moved(self, i: int, version: int) -> None:
        self.at_open[i] = not self.at_open[i]
        self.versions[i] = version


# ---------------------------------------------------------------- HTTP


# uvicorn closes a keep-alive connection after 5 s idle; reconnect (untimed) before that.
IDLE_RECONNECT_S = 3.0


def keep_fresh(client: Http, last_used: float) -> float:
    """Close `client`'s connection if it idled long enough to be dropped; now."""
    now = time.monotonic()
    if now - last_used > IDLE_RECONNECT_S:
        client.conn.close()  # http.client connects again on the next request
        client.conn.connect()
    return now


class HttpMover:
    """Moves over one keep-alive connection with its own login."""

    def __init__(self, port: int, items: Items, token: str | None = None) -> None:
        self.client = Http(port)
        token = token or self.client.login()
        self.headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        self.items = items
        self.last_used = time.monotonic()

    def close(self) -> None:
        self.client.close()

    def refresh(self) -> None:
        self.last_used = keep_fresh(self.client, self.last_used)

    def move_once(self) -> int:
        """One move; its wall time in ns (body built and answer parsed outside it)."""
        i, item_id, target, version = self.items.next()
        body = f'{{"to_step_id":"{target}","version":{version}}}'.encode()
        conn = self.client.conn
        started = time.perf_counter_ns()
        conn.request("POST", f"/api/v1/work-items/{item_id}/move", body, self.headers)
        response = conn.getresponse()
        raw = response.read()
        elapsed = time.perf_counter_ns() - started
        if response.status != 200:
            raise RuntimeError(f"move answered {response.status}: {raw[:300]!r}")
        item = json.loads(raw)["item"]
        if item["step"]["id"] != str(target):
            raise RuntimeError(f"move landed on {item['step']['id']}, not {target}")
        self.items.moved(i, item["version"])
        return elapsed

    def run(self, count: int) -> Stats:
        self.refresh()
        stats = Stats()
        for _ in range(count):
            stats.add_ns(self.move_once())
        self.last_used = time.monotonic()
        return stats


# ---------------------------------------------------------------- raw asyncpg


class RawStatements:
    def __init__(self) -> None:
        from baton.core.rate_limit import _HIT_DRIVER_SQL
        from baton.identity.queries import _AUTHENTICATE
        from baton.workflow.service import _SET_MOVE

        self.hit = _HIT_DRIVER_SQL
        self.authenticate = positional(_AUTHENTICATE)
        self.set_move = positional(_SET_MOVE)


class RawMover:
    """One move's statements on two raw connections (counter, transaction)."""

    def __init__(self, deployed: Deployment, token: str, items: Items, sql: RawStatements) -> None:
        from baton.identity import credentials

        parsed = credentials.parse(token)
        assert parsed is not None
        self.tenant_id = parsed.tenant_id
        self.digest = parsed.digest
        self.prefix = parsed.prefix.value
        # Its own bucket: same row shape and cost, the server's counters left alone.
        self.bucket = f"api:{parsed.digest.hex()[:24]}raw{uuid.uuid4().hex[:8]}"
        self.connect_kwargs = deployed.app_connect_kwargs()
        self.items = items
        self.sql = sql
        self.hit_conn: Any = None
        self.tx_conn: Any = None

    async def open(self) -> None:
        counters = {"server_settings": {"synchronous_commit": "off"}}
        self.hit_conn = await asyncpg.connect(**self.connect_kwargs, **counters)
        self.tx_conn = await asyncpg.connect(**self.connect_kwargs)

    async def close(self) -> None:
        for conn in (self.hit_conn, self.tx_conn):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()

    async def move_once(self, request_no: int) -> int:
        i, item_id, target, version = self.items.next()
        sql, tx = self.sql, self.tx_conn
        started = time.perf_counter_ns()
        await self.hit_conn.fetchrow(sql.hit, self.bucket)
        async with tx.transaction():
            who = await tx.fetchrow(
                sql.authenticate, self.tenant_id, self.digest, self.prefix, f"{request_no:032x}"
            )
            item = await tx.fetchrow(SQL_LOAD_ITEM, item_id)
            await tx.fetchval(SQL_WORKFLOW_VERSION, item["workflow_id"])
            await tx.fetchrow(sql.set_move, "", "", "{}")
            done = await tx.execute(
                SQL_UPDATE, target, version + 1, self.tenant_id, item_id, version
            )
            await tx.fetchrow(sql.set_move, "", "", "{}")
            fresh = await tx.fetchrow(SQL_REFRESH, self.tenant_id, item_id)
        elapsed = time.perf_counter_ns() - started
        if who is None or item["version"] != version or done != "UPDATE 1":
            raise RuntimeError(f"raw move of {item_id} failed: {done}")
        self.items.moved(i, fresh["version"])
        return elapsed


class RawLatency:
    """The raw single-client variant, on its own event loop."""

    def __init__(self, mover: RawMover) -> None:
        self.mover = mover
        self.runner = new_loop_runner()
        self.count = 0

    def open(self) -> None:
        self.runner.run(self.mover.open())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.runner.run(self.mover.close())
        self.runner.close()

    def run(self, count: int) -> Stats:
        async def go() -> Stats:
            stats = Stats()
            for _ in range(count):
                self.count += 1
                stats.add_ns(await self.mover.move_once(self.count))
            return stats

        return self.runner.run(go())


# ---------------------------------------------------------------- throughput


def http_throughput(movers: list[HttpMover], seconds: float) -> tuple[int, float]:
    """Moves completed by the movers' threads within `seconds` of a common start."""
    counts = [0] * len(movers)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(movers) + 1)
    for mover in movers:
        mover.refresh()
    deadline = [0.0]

    def work(index: int, mover: HttpMover) -> None:
        barrier.wait()
        end = deadline[0]
        try:
            while time.perf_counter() < end:
                mover.move_once()
                counts[index] += 1
        except BaseException as exc:
            errors.append(exc)
        mover.last_used = time.monotonic()

    threads = [
        threading.Thread(target=work, args=(n, m), daemon=True) for n, m in enumerate(movers)
    ]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    barrier.wait()
    for thread in threads:
        thread.join(seconds + 30)
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"HTTP throughput worker failed: {errors[0]!r}")
    return sum(counts), elapsed


async def raw_throughput(movers: list[RawMover], seconds: float) -> tuple[int, float]:
    counts = [0] * len(movers)
    started = time.perf_counter()
    end = started + seconds

    async def work(index: int, mover: RawMover) -> None:
        n = 0
        while time.perf_counter() < end:
            n += 1
            await mover.move_once(index * 10_000_000 + n)
            counts[index] += 1

    await asyncio.gather(*(work(n, m) for n, m in enumerate(movers)))
    return sum(counts), time.perf_counter() - started


@dataclass
class TpRound:
    http_rate: float
    raw_rate: float
    foreign: float


def measure_throughput(
    deployed: Deployment,
    port: int,
    token: str,
    slices: list[Items],
    *,
    rounds: int,
    seconds: float,
    our_pids: Any,
    quiet: QuietWaiter,
) -> list[TpRound]:
    half = len(slices) // 2
    http_movers = [HttpMover(port, items) for items in slices[:half]]
    sql = RawStatements()
    raw_movers = [RawMover(deployed, token, items, sql) for items in slices[half:]]
    runner = new_loop_runner()
    done: list[TpRound] = []
    try:

        async def open_all() -> None:
            for mover in raw_movers:
                await mover.open()

        runner.run(open_all())
        # Warm-up: every connection of the server's pool and of the baseline.
        http_throughput(http_movers, 1.5)
        runner.run(raw_throughput(raw_movers, 1.5))
        for number in range(rounds):
            quiet.wait()
            watch = CpuWatch(our_pids)
            watch.start()
            order = ["http", "raw"] if number % 2 == 0 else ["raw", "http"]
            rates: dict[str, float] = {}
            for name in order:
                if name == "http":
                    moves, elapsed = http_throughput(http_movers, seconds)
                else:
                    moves, elapsed = runner.run(raw_throughput(raw_movers, seconds))
                rates[name] = moves / elapsed
            result = TpRound(rates["http"], rates["raw"], watch.stop())
            done.append(result)
            print(
                f"  throughput round {number + 1}: HTTP {result.http_rate:.0f} moves/s"
                f" | raw {result.raw_rate:.0f} moves/s"
                f" | ratio {result.http_rate / result.raw_rate:.0%}"
                f" | other load {result.foreign:.0%}"
            )
    finally:
        for mover in http_movers:
            mover.close()

        async def close_all() -> None:
            for mover in raw_movers:
                await mover.close()

        with contextlib.suppress(Exception):
            runner.run(close_all())
        runner.close()
    return done


# ---------------------------------------------------------------- the run


def report_round(number: int, result: Round) -> None:
    move, raw, me = result.stats["move"], result.stats["raw"], result.stats["me"]
    print(
        f"  round {number}: move p50 {move.p50:.3f} p90 {move.p90:.3f} p99 {move.p99:.3f} ms"
        f" | raw p50 {raw.p50:.3f} ms | ratio {move.p50 / raw.p50:.2f}x"
        f" | /me p50 {me.p50:.3f} ms | other load {result.foreign_during:.0%}"
    )


def bench_backend(
    backend: str,
    rounds: int,
    requests: int,
    *,
    items: int,
    tp_rounds: int,
    tp_seconds: float,
    quiet: QuietWaiter,
) -> list[Result]:
    print(
        f"\n[{backend}] POST /api/v1/work-items/{{id}}/move, {items} items in the tenant;"
        f" latency {rounds} rounds x {requests} moves per variant"
        + (f"; throughput {tp_rounds} rounds x {tp_seconds:g} s per variant" if tp_rounds else "")
    )
    tag = f"{BENCH}[{backend}]"
    results: list[Result] = []
    with deployment(backend) as deployed, contextlib.ExitStack() as stack:
        server = stack.enter_context(serving(deployed))
        client = Http(server.port)
        stack.callback(client.close)
        token = client.login()
        fixture = discover(client, token)
        started = time.perf_counter()
        ids = bulk_load(deployed, fixture, items)
        print(
            f"[{backend}] bulk load of {len(ids)} work items (+ history and audit rows)"
            f" and ANALYZE in {time.perf_counter() - started:.1f} s"
        )
        random.Random(7).shuffle(ids)
        # Latency: a quarter each for HTTP and raw; throughput: the rest, 16 slices.
        quarter = len(ids) // 4
        move_items = Items(ids[:quarter], fixture)
        raw_items = Items(ids[quarter : 2 * quarter], fixture)
        rest = ids[2 * quarter :]
        share = len(rest) // (2 * CONCURRENCY)
        tp_slices = [
            Items(rest[n * share : (n + 1) * share], fixture) for n in range(2 * CONCURRENCY)
        ]

        mover = HttpMover(server.port, move_items, token)
        stack.callback(mover.close)
        raw = RawLatency(RawMover(deployed, token, raw_items, RawStatements()))
        raw.open()
        stack.callback(raw.close)
        auth = {"authorization": f"Bearer {token}"}
        me_used = [0.0]

        def me_calls(count: int) -> Stats:
            keep_fresh(client, me_used[0])
            stats = timed_calls(client, count, "GET", "/api/v1/me", auth)
            me_used[0] = time.monotonic()
            return stats

        def our_pids() -> list[int]:
            return [server.pid, *deployed.postgres_pids()]

        variants: dict[str, Variant] = {
            "move": mover.run,
            "raw": raw.run,
            "me": me_calls,
        }
        measured = measure_interleaved(
            variants,
            rounds=rounds,
            requests=requests,
            chunk=CHUNK,
            warmup=WARMUP,
            our_pids=our_pids,
            quiet=quiet,
            report=report_round,
        )

        def med(name: str, q: float = 50) -> float:
            return round_median(measured, name, q)

        move_p50 = med("move")
        results += [
            Result(
                tag,
                "POST move p50, one client",
                move_p50,
                "ms",
                f"≤ {BUDGET_P50_MS:g} ms",
                move_p50 <= BUDGET_P50_MS,
                noise_note(measured),
            ),
            Result(tag, "POST move p90", med("move", 90), "ms"),
            Result(tag, "POST move p99", med("move", 99), "ms"),
            Result(tag, "raw asyncpg, same SQL (10 round trips) p50", med("raw"), "ms"),
            Result(tag, "raw asyncpg p90", med("raw", 90), "ms"),
            Result(tag, "raw asyncpg p99", med("raw", 99), "ms"),
            Result(tag, "ratio move ÷ raw (p50)", round_ratio(measured, "move", "raw"), "x"),
            Result(tag, "move - raw (p50)", move_p50 - med("raw"), "ms"),
            Result(tag, "GET /me p50 (same rounds)", med("me"), "ms"),
        ]

        if tp_rounds:
            print(f"[{backend}] throughput, {CONCURRENCY} connections per variant")
            tp = measure_throughput(
                deployed,
                server.port,
                token,
                tp_slices,
                rounds=tp_rounds,
                seconds=tp_seconds,
                our_pids=our_pids,
                quiet=quiet,
            )
            http_rate = median([r.http_rate for r in tp])
            raw_rate = median([r.raw_rate for r in tp])
            share_of_raw = median([r.http_rate / r.raw_rate for r in tp])
            note = (
                f"other load during rounds: median {median([r.foreign for r in tp]):.0%},"
                f" max {max(r.foreign for r in tp):.0%} of all CPUs"
            )
            results += [
                Result(tag, f"HTTP moves/s, {CONCURRENCY} clients", round(http_rate), "tx/s"),
                Result(tag, f"raw asyncpg moves/s, {CONCURRENCY} tasks", round(raw_rate), "tx/s"),
                Result(
                    tag,
                    "throughput HTTP ÷ raw",
                    round(100 * share_of_raw, 1),
                    "%",
                    f"≥ {BUDGET_THROUGHPUT_SHARE:.0%}",
                    share_of_raw >= BUDGET_THROUGHPUT_SHARE,
                    note,
                ),
            ]
    return results


def run(
    backends: list[str],
    rounds: int = 5,
    requests: int = 2000,
    *,
    items: int = 100_000,
    tp_rounds: int = 3,
    tp_seconds: float = 8.0,
    quiet_wait: float = 20.0,
) -> list[Result]:
    quiet = QuietWaiter(quiet_wait)
    results: list[Result] = []
    for backend in backends:
        if backend == "local" and not local_postgres_available():
            print("[local] PostgreSQL at 127.0.0.1:5432 not reachable: skipped")
            continue
        results += bench_backend(
            backend,
            rounds,
            requests,
            items=items,
            tp_rounds=tp_rounds,
            tp_seconds=tp_seconds,
            quiet=quiet,
        )
    return results


def main() -> None:
    parser = common_args(__doc__.splitlines()[0], rounds=5, requests=2000)
    parser.add_argument("--items", type=int, default=100_000, help="work items to bulk-load")
    parser.add_argument(
        "--tp-rounds", type=int, default=3, help="throughput rounds (0: latency only)"
    )
    parser.add_argument("--tp-seconds", type=float, default=8.0, help="per variant and round")
    args = parser.parse_args()
    print_machine()
    results = run(
        backends_of(args.backend),
        args.rounds,
        args.requests,
        items=args.items,
        tp_rounds=args.tp_rounds,
        tp_seconds=args.tp_seconds,
        quiet_wait=args.quiet_wait,
    )
    print_table(results, "POST /api/v1/work-items/{id}/move")
    write_json(args.json, results, {})


if __name__ == "__main__":
    main()
