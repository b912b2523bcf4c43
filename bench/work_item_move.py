"""Moving a work item, with 100 000 items in the tenant: HTTP, service layer, raw asyncpg.

Budgets (workflow engine): `POST /api/v1/work-items/{id}/move` p50 ≤ 3 ms on one
client; move throughput through the service layer with 8 concurrent connections
≥ 50 % of a raw asyncpg baseline sending the same statements on 8 connections.

Set-up: a throw-away install (the demo tenant), then 100 000 "Support Ticket" work
items bulk-loaded as the database owner in one `INSERT … SELECT … generate_series`
at the workflow's initial step (the `govern_step` trigger checks that and writes a
history row per item; the audit trigger writes its row too), then `ANALYZE`.
Every move takes an item from Open to In Progress or back (a pair of transitions
without conditions or effects); each variant keeps its items' steps and versions and
works on items of its own, visited in a shuffled order.

The variants:
- **HTTP**: `POST /api/v1/work-items/{id}/move` to a `baton serve` process over a
  keep-alive HTTP/1.1 connection, timed from send to the last body byte.
- **service**: in this process, what the request middleware does for that request,
  with baton's own functions and without HTTP: the app's `Runtime` from `create_app`
  (its `Database`: pool 10 + 10 and the counters pool), a session, the rate-limit
  hit overlapping authentication (`request_transaction._authenticate_within_budget`
  → `rate_limit.hit` and `queries.principal_for`), then
  `workitems.service.move_work_item`, `session.commit()`.
- **raw**: the statements baton sends for a move (checked with `log_statement = all`),
  compiled from baton's own statement objects, on raw asyncpg as the app role: the
  rate-limit upsert (`rate_limit._HIT_DRIVER_SQL`) in autocommit on a connection of
  its own, overlapping (as baton does) `BEGIN` and `baton_authenticate(…)` on
  another; then `_LOAD_FOR_MOVE` (the
  item joined to its workflow's version, setting the three `baton.transition_*`
  settings); `_MOVE` (`UPDATE … RETURNING` in a CTE plus the "Stage changed"
  activity `INSERT`); `COMMIT`. 6 round trips, 5 of them in sequence.

1. Latency, one client: HTTP, service (one task), raw and an authenticated
   `GET /api/v1/me` interleaved in chunks, several rounds, medians and ratios.
2. Throughput, 8 connections each, same duration, the order rotating per round:
   service (8 asyncio tasks in this process, sharing the app's `Database`), raw
   (8 asyncio tasks on 8 + 8 connections), HTTP (8 threads, each with its own
   keep-alive connection and login, against one `baton serve` process). Every
   task or thread has its own token, so its own rate-limit row. CPU per move of the
   Python process doing the work and of PostgreSQL is taken from `/proc`, and new
   database sessions from `pg_stat_database.sessions`.
   `baton serve` has no `--workers` option (baton/cli.py runs `uvicorn.run(app)` on
   an app object), so there is no multi-process HTTP variant.

    .venv/bin/python -m bench.work_item_move [--backend embedded|local|both]
        [--rounds 5] [-n 2000] [--items 100000] [--tp-rounds 5] [--tp-seconds 8]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

from bench.harness import (
    LOCAL_PG_HOST,
    LOCAL_PG_PORT,
    CpuWatch,
    Deployment,
    DriverStatement,
    Http,
    QuietWaiter,
    Result,
    Round,
    Stats,
    TokenParts,
    Variant,
    backends_of,
    close_quietly,
    common_args,
    connect_counter_and_tx,
    deployment,
    finish,
    measure_interleaved,
    median,
    new_loop_runner,
    noise_note,
    percentile_rows,
    print_machine,
    process_jiffies,
    round_median,
    round_ratio,
    run_backends,
    serving,
    timed_calls,
)

BENCH = "work_item_move"
BUDGET_P50_MS = 3.0
BUDGET_THROUGHPUT_SHARE = 0.5
PROJECT_TYPE = "Support Ticket"
CHUNK = 250
WARMUP = 300
CONCURRENCY = 8
TP_WARMUP_S = 1.5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

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
    step_names: dict[uuid.UUID, str]

    def subject(self, target: uuid.UUID) -> str:
        """The "Stage changed" activity's subject, as `stage_change_subject` writes it."""
        source = self.in_progress_id if target == self.open_id else self.open_id
        return f"Stage changed: {self.step_names[source]} → {self.step_names[target]}"


def discover(client: Http, token: str) -> Fixture:
    headers = {"authorization": f"Bearer {token}"}
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
    edges = {(t["from_step_id"], t["to_step_id"]): t for t in workflow["transitions"]}
    for pair in ((steps["open"], steps["in_progress"]), (steps["in_progress"], steps["open"])):
        edge = edges.get((str(pair[0]), str(pair[1])))
        if edge is None or edge["conditions"] != {} or edge.get("effects"):
            raise RuntimeError(f"no plain transition {pair} in {PROJECT_TYPE}")
    return Fixture(
        tenant_id=TokenParts.of(token).tenant_id,
        user_id=user_id,
        project_type_id=uuid.UUID(project_type["id"]),
        workflow_id=uuid.UUID(workflow_id),
        open_id=steps["open"],
        in_progress_id=steps["in_progress"],
        step_names={uuid.UUID(s["id"]): s["name"] for s in workflow["steps"]},
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


def split(ids: list[uuid.UUID], fixture: Fixture, parts: int) -> list[Items]:
    size = len(ids) // parts
    return [Items(ids[n * size : (n + 1) * size], fixture) for n in range(parts)]


# ---------------------------------------------------------------- HTTP


# uvicorn closes a keep-alive connection after 5 s idle; reconnect (untimed) before that.
IDLE_RECONNECT_S = 3.0


def keep_fresh(client: Http, last_used: float) -> float:
    """Close `client`'s connection if it idled long enough to be dropped; now."""
    now = time.monotonic()
    if now - last_used > IDLE_RECONNECT_S:
        client.reconnect()
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
        started = time.perf_counter_ns()
        status, raw = self.client.call(
            "POST", f"/api/v1/work-items/{item_id}/move", body, self.headers
        )
        elapsed = time.perf_counter_ns() - started
        if status != 200:
            raise RuntimeError(f"move answered {status}: {raw[:300]!r}")
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


class MoveSql:
    """What baton sends for a move, from baton's own statement objects."""

    def __init__(self) -> None:
        from baton.core.rate_limit import _HIT_DRIVER_SQL
        from baton.identity.queries import AUTHENTICATE
        from baton.workitems.service import _LOAD_FOR_MOVE, _MOVE

        self.hit = _HIT_DRIVER_SQL
        self.authenticate = AUTHENTICATE
        self.load = DriverStatement.of(_LOAD_FOR_MOVE)
        self.move = DriverStatement.of(_MOVE)


class AsyncMover(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def move_once(self) -> int: ...


class RawMover:
    """One move's statements on two raw connections (counter, transaction)."""

    def __init__(self, deployed: Deployment, token: str, items: Items, sql: MoveSql) -> None:
        from baton.core.ids import uuid7

        self.uuid7 = uuid7
        self.token = TokenParts.of(token)
        self.bucket = self.token.bucket(f"raw{uuid.uuid4().hex[:8]}")
        self.connect_kwargs = deployed.app_connect_kwargs()
        self.items = items
        self.sql = sql
        self.hit_conn: Any = None
        self.tx_conn: Any = None

    async def open(self) -> None:
        self.hit_conn, self.tx_conn = await connect_counter_and_tx(self.connect_kwargs)

    async def close(self) -> None:
        await close_quietly(self.hit_conn, self.tx_conn)

    async def move_once(self) -> int:
        i, item_id, target, version = self.items.next()
        sql, tx, token, fixture = self.sql, self.tx_conn, self.token, self.items.fixture
        started = time.perf_counter_ns()
        async with tx.transaction():
            # As baton does: the budget hit on its own connection while authenticating.
            _, who = await asyncio.gather(
                self.hit_conn.fetchrow(sql.hit, self.bucket),
                tx.fetchrow(
                    sql.authenticate.sql,
                    *sql.authenticate.args(
                        tenant_id=token.tenant_id,
                        digest=token.digest,
                        prefix=token.prefix,
                        request_id=self.uuid7().hex,
                    ),
                ),
            )
            row = await tx.fetchrow(
                sql.load.sql,
                *sql.load.args(item_id=item_id, reason="", notes="", fields_text=""),
            )
            moved = await tx.fetchrow(
                sql.move.sql,
                *sql.move.args(
                    item_id=item_id,
                    version=version,
                    to_step_id=target,
                    fields="{}",
                    activity_id=self.uuid7(),
                    subject=fixture.subject(target),
                    actor_id=fixture.user_id,
                ),
            )
        elapsed = time.perf_counter_ns() - started
        if who is None or row is None or row["version"] != version or moved is None:
            raise RuntimeError(f"raw move of {item_id} (version {version}) failed")
        self.items.moved(i, moved["version"])
        return elapsed


# ---------------------------------------------------------------- service layer


class InProcessApp:
    """The app's `Runtime` built in this process by `create_app`, with no server.

    Same settings as the `baton serve` under test (its environment), same `Database`
    (the app role's engine, pool 10 + 10, and the counters pool).
    """

    def __init__(self, deployed: Deployment) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import make_url

        from baton.app import create_app
        from baton.config import Settings
        from baton.db.engine import Database
        from baton.db.urls import app_url, owner_url

        # The server's settings: its BATON_* environment, nothing from this process's.
        settings = Settings.model_validate(
            {
                key.removeprefix("BATON_").lower(): value
                for key, value in deployed.env.items()
                if key.startswith("BATON_")
            }
        )
        if deployed.backend == "local":
            owner = owner_url(settings)
        else:
            # The running embedded server, by its socket (not `owner_url`, which would
            # make this process one of pgserver's users and owners of its lifetime).
            kwargs = deployed.app_connect_kwargs()
            owner = make_url(
                f"postgresql+asyncpg://postgres@/postgres?host={kwargs['host']}"
                f"&port={kwargs['port']}"
            )
        database = Database(
            app_url(settings, owner),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        self.runtime = create_app(settings, database).state.runtime
        # Connections the engine opens (a pool that closes and reopens them churns; the
        # counters pool's show in the sessions count).
        self.connects = {"engine": 0}
        event.listen(database.engine.sync_engine, "connect", self._counting("engine"))

    def _counting(self, name: str) -> Callable[..., None]:
        def count(*_: object) -> None:
            self.connects[name] += 1

        return count

    async def dispose(self) -> None:
        await self.runtime.db.dispose()


# What the middleware sees of the request: the path decides API-ness.
MOVE_SCOPE = {"type": "http", "method": "POST", "path": "/api/v1/work-items/_/move"}


class ServiceMover:
    """One request's work without HTTP: session, budget, authentication, move, commit."""

    def __init__(self, app: InProcessApp, token: str, items: Items) -> None:
        self.runtime = app.runtime
        self.headers = {b"authorization": f"Bearer {token}".encode()}
        self.items = items

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def move_once(self) -> int:
        from baton.core.context import Ctx
        from baton.core.ids import uuid7
        from baton.core.request_transaction import (
            _authenticate_within_budget,
            _presented_credential,
        )
        from baton.workitems.schemas import MoveIn
        from baton.workitems.service import move_work_item

        i, item_id, target, version = self.items.next()
        runtime = self.runtime
        started = time.perf_counter_ns()
        data = MoveIn(to_step_id=target, version=version)
        async with runtime.db.sessions() as session:
            ctx = Ctx(
                session=session,
                db=runtime.db,
                settings=runtime.settings,
                request_id=uuid7().hex,
                client_address="127.0.0.1",
            )
            parsed = _presented_credential(MOVE_SCOPE, self.headers, {})
            assert parsed is not None
            await _authenticate_within_budget(ctx, runtime, MOVE_SCOPE, parsed)
            result = await move_work_item(ctx, item_id, data)
            await session.commit()
        await ctx.run_durable()
        elapsed = time.perf_counter_ns() - started
        if result.item.step_id != target:
            raise RuntimeError(f"service move landed on {result.item.step_id}, not {target}")
        self.items.moved(i, result.item.version)
        return elapsed


def sequential(runner: asyncio.Runner, mover: AsyncMover) -> Variant:
    """A one-client latency variant: `count` moves in a row on `runner`'s loop."""

    async def go(count: int) -> Stats:
        stats = Stats()
        for _ in range(count):
            stats.add_ns(await mover.move_once())
        return stats

    return lambda count: runner.run(go(count))


# ---------------------------------------------------------------- throughput


@dataclass
class Burst:
    """One variant's fixed-time run: moves, seconds, and CPU jiffies spent meanwhile."""

    moves: int
    seconds: float
    python_jiffies: int  # the process doing the work (server for HTTP, this one otherwise)
    client_jiffies: int  # this process, the HTTP client (HTTP only)
    pg_jiffies: int
    sessions: int  # new database sessions (pg_stat_database; its counters lag ≤ 1 s)
    engine_connects: int = 0  # service: connections the engine opened

    @property
    def rate(self) -> float:
        return self.moves / self.seconds

    def cpu_ms(self, jiffies: int) -> float:
        return 1000 * jiffies / CLOCK_TICKS / max(1, self.moves)


def http_burst(movers: list[HttpMover], seconds: float) -> tuple[int, float]:
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


async def async_burst(movers: list[Any], seconds: float) -> tuple[int, float]:
    """8 asyncio tasks, one per mover, moving until `seconds` have passed."""
    counts = [0] * len(movers)
    started = time.perf_counter()
    end = started + seconds

    async def work(index: int, mover: AsyncMover) -> None:
        while time.perf_counter() < end:
            await mover.move_once()
            counts[index] += 1

    await asyncio.gather(*(work(n, m) for n, m in enumerate(movers)))
    return sum(counts), time.perf_counter() - started


@dataclass
class TpRound:
    bursts: dict[str, Burst]
    foreign: float


TP_VARIANTS = ("service", "raw", "http")


class Throughput:
    """The three 8-connection variants, measured in rotating order."""

    def __init__(
        self,
        deployed: Deployment,
        server_pid: int,
        runner: asyncio.Runner,
        app: InProcessApp,
        http_movers: list[HttpMover],
        service_movers: list[ServiceMover],
        raw_movers: list[RawMover],
    ) -> None:
        self.app = app
        self.deployed = deployed
        self.server_pid = server_pid
        self.runner = runner
        self.http_movers = http_movers
        self.async_movers: dict[str, list[Any]] = {"service": service_movers, "raw": raw_movers}
        self.monitor: Any = None

    def open(self) -> None:
        async def go() -> None:
            for movers in self.async_movers.values():
                for mover in movers:
                    await mover.open()
            self.monitor = await asyncpg.connect(**self.deployed.app_connect_kwargs())

        self.runner.run(go())

    def close(self) -> None:
        for mover in self.http_movers:
            mover.close()

        async def go() -> None:
            for movers in self.async_movers.values():
                for mover in movers:
                    await mover.close()
            await close_quietly(self.monitor)

        with contextlib.suppress(Exception):
            self.runner.run(go())

    def sessions(self) -> int:
        value: int = self.runner.run(
            self.monitor.fetchval(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            )
        )
        return value

    def counters(self, worker: int) -> tuple[int, ...]:
        """Cumulative counts a burst is the difference of (see `Burst`)."""
        return (
            process_jiffies(worker),
            process_jiffies(os.getpid()),
            self.deployed.postgres_jiffies(),
            self.sessions(),
            self.app.connects["engine"],
        )

    def burst(self, name: str, seconds: float) -> Burst:
        worker = self.server_pid if name == "http" else os.getpid()
        before = self.counters(worker)
        if name == "http":
            moves, elapsed = http_burst(self.http_movers, seconds)
        else:
            moves, elapsed = self.runner.run(async_burst(self.async_movers[name], seconds))
        delta = [b - a for a, b in zip(before, self.counters(worker), strict=True)]
        return Burst(
            moves,
            elapsed,
            python_jiffies=delta[0],
            client_jiffies=delta[1] if name == "http" else 0,
            pg_jiffies=delta[2],
            sessions=delta[3],
            engine_connects=delta[4],
        )

    def measure(
        self, rounds: int, seconds: float, our_pids: Callable[[], list[int]], quiet: QuietWaiter
    ) -> list[TpRound]:
        for name in TP_VARIANTS:  # warm-up: every pooled connection, caches, plans
            self.burst(name, TP_WARMUP_S)
        done: list[TpRound] = []
        for number in range(rounds):
            quiet.wait()
            watch = CpuWatch(our_pids)
            watch.start()
            shift = number % len(TP_VARIANTS)
            order = TP_VARIANTS[shift:] + TP_VARIANTS[:shift]
            bursts = {name: self.burst(name, seconds) for name in order}
            result = TpRound(bursts, watch.stop())
            done.append(result)
            raw = bursts["raw"].rate
            print(
                f"  throughput round {number + 1} ({' → '.join(order)}):"
                f" service {bursts['service'].rate:.0f}/s ({bursts['service'].rate / raw:.0%})"
                f" | raw {raw:.0f}/s"
                f" | HTTP {bursts['http'].rate:.0f}/s ({bursts['http'].rate / raw:.0%})"
                f" | other load {result.foreign:.0%}"
            )
        return done


CPU_ROWS = (
    ("service layer (this process)", "service", "python_jiffies"),
    ("raw asyncpg (this process)", "raw", "python_jiffies"),
    ("HTTP server process", "http", "python_jiffies"),
    ("HTTP client threads (this process)", "http", "client_jiffies"),
    ("PostgreSQL, service run", "service", "pg_jiffies"),
    ("PostgreSQL, raw run", "raw", "pg_jiffies"),
    ("PostgreSQL, HTTP run", "http", "pg_jiffies"),
)


def throughput_results(tag: str, tp: list[TpRound]) -> list[Result]:
    def rate(name: str) -> float:
        return median([r.bursts[name].rate for r in tp])

    def share(name: str) -> float:
        return median([r.bursts[name].rate / r.bursts["raw"].rate for r in tp])

    def cpu(name: str, which: str) -> float:
        return median([r.bursts[name].cpu_ms(getattr(r.bursts[name], which)) for r in tp])

    def sessions(name: str) -> float:
        return median([r.bursts[name].sessions for r in tp])

    engine_connects = median([r.bursts["service"].engine_connects for r in tp])

    def per_round(name: str) -> str:
        return ", ".join(f"{r.bursts[name].rate / r.bursts['raw'].rate:.0%}" for r in tp)

    note = (
        f"other load during rounds: median {median([r.foreign for r in tp]):.0%},"
        f" max {max(r.foreign for r in tp):.0%} of all CPUs; rounds: {per_round('service')}"
    )
    service_share = share("service")
    http_share = share("http")
    return [
        Result(tag, f"service-layer moves/s, {CONCURRENCY} tasks", round(rate("service")), "tx/s"),
        Result(tag, f"raw asyncpg moves/s, {CONCURRENCY} tasks", round(rate("raw")), "tx/s"),
        Result(
            tag,
            "throughput service layer ÷ raw",
            round(100 * service_share, 1),
            "%",
            f"≥ {BUDGET_THROUGHPUT_SHARE:.0%}",
            service_share >= BUDGET_THROUGHPUT_SHARE,
            note,
        ),
        Result(tag, f"HTTP moves/s, {CONCURRENCY} clients, 1 server", round(rate("http")), "tx/s"),
        Result(
            tag,
            "throughput HTTP ÷ raw",
            round(100 * http_share, 1),
            "%",
            note=f"rounds: {per_round('http')}; budget applies to the service layer",
        ),
        *(
            Result(tag, f"CPU per move: {label}", cpu(name, which), "ms")
            for label, name, which in CPU_ROWS
        ),
        Result(
            tag,
            "new DB sessions per timed run: service",
            sessions("service"),
            "",
            note=f"pool events: {engine_connects:g} by the engine",
        ),
        Result(tag, "new DB sessions per timed run: raw", sessions("raw"), ""),
        Result(tag, "new DB sessions per timed run: HTTP server", sessions("http"), ""),
    ]


# ---------------------------------------------------------------- the run


def report_round(number: int, result: Round) -> None:
    stats = result.stats
    move, service, raw = stats["move"], stats["service"], stats["raw"]
    print(
        f"  round {number}: HTTP move p50 {move.p50:.3f} p90 {move.p90:.3f} p99 {move.p99:.3f} ms"
        f" | service p50 {service.p50:.3f} | raw p50 {raw.p50:.3f} ms"
        f" | HTTP ÷ raw {move.p50 / raw.p50:.2f}x | /me p50 {stats['me'].p50:.3f} ms"
        f" | other load {result.foreign_during:.0%}"
    )


def latency_results(tag: str, measured: list[Round]) -> list[Result]:
    def med(name: str) -> float:
        return round_median(measured, name, 50)

    move_p50 = med("move")
    return [
        Result(
            tag,
            "POST move p50, one client",
            move_p50,
            "ms",
            f"≤ {BUDGET_P50_MS:g} ms",
            move_p50 <= BUDGET_P50_MS,
            noise_note(measured),
        ),
        *percentile_rows(tag, measured, "move", "POST move", (90, 99)),
        *percentile_rows(tag, measured, "service", "service layer in process, one task"),
        *percentile_rows(tag, measured, "raw", "raw asyncpg, same SQL (6 round trips)"),
        Result(tag, "ratio HTTP move ÷ raw (p50)", round_ratio(measured, "move", "raw"), "x"),
        Result(tag, "ratio service ÷ raw (p50)", round_ratio(measured, "service", "raw"), "x"),
        Result(tag, "HTTP move - service (p50)", move_p50 - med("service"), "ms"),
        Result(tag, "service - raw (p50)", med("service") - med("raw"), "ms"),
        Result(tag, "GET /me p50 (same rounds)", med("me"), "ms"),
    ]


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
        f"\n[{backend}] work-item move, {items} items in the tenant;"
        f" latency {rounds} rounds x {requests} moves per variant"
        + (f"; throughput {tp_rounds} rounds x {tp_seconds:g} s per variant" if tp_rounds else "")
    )
    tag = f"{BENCH}[{backend}]"
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
        # Latency: an eighth each for HTTP, service and raw; throughput: the rest.
        eighth = len(ids) // 8
        latency_items = split(ids[: 3 * eighth], fixture, 3)
        tp_items = split(ids[3 * eighth :], fixture, 3 * CONCURRENCY)

        runner = new_loop_runner()
        stack.callback(runner.close)
        app = InProcessApp(deployed)
        stack.callback(lambda: runner.run(app.dispose()))
        sql = MoveSql()
        raw_mover = RawMover(deployed, token, latency_items[2], sql)
        runner.run(raw_mover.open())
        stack.callback(lambda: runner.run(raw_mover.close()))
        mover = HttpMover(server.port, latency_items[0], token)
        stack.callback(mover.close)
        auth = {"authorization": f"Bearer {token}"}
        me_used = [0.0]

        def me_calls(count: int) -> Stats:
            me_used[0] = keep_fresh(client, me_used[0])
            stats = timed_calls(client, count, "GET", "/api/v1/me", auth)
            me_used[0] = time.monotonic()
            return stats

        def our_pids() -> list[int]:
            return [server.pid, *deployed.postgres_pids()]

        variants: dict[str, Variant] = {
            "move": mover.run,
            "service": sequential(runner, ServiceMover(app, token, latency_items[1])),
            "raw": sequential(runner, raw_mover),
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
        results = latency_results(tag, measured)

        if tp_rounds:
            print(f"[{backend}] throughput, {CONCURRENCY} connections per variant")
            http_movers = [HttpMover(server.port, tp_items[n]) for n in range(CONCURRENCY)]
            # A login of its own for each service task (its own rate-limit row); the
            # raw task of the same index uses the same credential with its own bucket.
            logins = Http(server.port)  # `client` may have idled past keep-alive
            tokens = [logins.login() for _ in range(CONCURRENCY)]
            logins.close()
            service_movers = [
                ServiceMover(app, tokens[n], tp_items[CONCURRENCY + n]) for n in range(CONCURRENCY)
            ]
            raw_movers = [
                RawMover(deployed, tokens[n], tp_items[2 * CONCURRENCY + n], sql)
                for n in range(CONCURRENCY)
            ]
            tp = Throughput(
                deployed, server.pid, runner, app, http_movers, service_movers, raw_movers
            )
            tp.open()
            try:
                measured_tp = tp.measure(tp_rounds, tp_seconds, our_pids, quiet)
            finally:
                tp.close()
            results += throughput_results(tag, measured_tp)
    return results


def run(
    backends: list[str],
    rounds: int = 5,
    requests: int = 2000,
    *,
    items: int = 100_000,
    tp_rounds: int = 5,
    tp_seconds: float = 8.0,
    quiet_wait: float = 20.0,
) -> list[Result]:
    quiet = QuietWaiter(quiet_wait)
    return run_backends(
        backends,
        lambda backend: bench_backend(
            backend,
            rounds,
            requests,
            items=items,
            tp_rounds=tp_rounds,
            tp_seconds=tp_seconds,
            quiet=quiet,
        ),
    )


def main() -> None:
    parser = common_args(__doc__.splitlines()[0], rounds=5, requests=2000)
    parser.add_argument("--items", type=int, default=100_000, help="work items to bulk-load")
    parser.add_argument(
        "--tp-rounds", type=int, default=5, help="throughput rounds (0: latency only)"
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
    finish(results, "Work-item move", args.json)


if __name__ == "__main__":
    main()
