"""Deal-move throughput of `baton serve --workers 1` and `--workers 2` at 16 clients,
against pgbench running the same transaction, in the same rounds.

- **HTTP**: 16 client threads (one keep-alive connection and 8 deals each) move deals
  between Prospecting and Discovery (`POST /api/v1/deals/{id}/move`, to the end of the
  column) for `--seconds`, against a `--workers 1` server and a `--workers 2` server
  started side by side on the same database (both with BATON_WORKER=off).
- **pgbench**: 16 clients (`-M prepared`), each on 32 deals of its own, running in one
  transaction what a move sends, built from baton's own statement objects
  (`baton_authenticate`, `_LOAD_FOR_MOVE`, `_MOVE`; their `$n` become pgbench
  variables, constants come in with `-D`, NULL parameters are written as `NULL`), plus
  one lookup of the deal, its target step and rank (pgbench cannot compute a rank:
  each deal has a fixed one per column) and the new ids (`gen_random_uuid()`). It does
  not hit the rate-limit counter (the server does, on its counter pool). The figure is
  what PostgreSQL alone does with these statements on this machine: the ceiling.

The variants alternate within each round (rotating which goes first), since the
machine is shared and noisy; the table gives each one's median moves/s and the
ratios. Local PostgreSQL only (127.0.0.1:5432): the embedded server's 100 connections
do not hold both servers' pools.

    .venv/bin/python -m bench.serve_workers [--rounds 3] [--seconds 8] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.harness import (
    HOST,
    LOCAL_PG_HOST,
    LOCAL_PG_PORT,
    Deployment,
    Http,
    QuietWaiter,
    Result,
    Server,
    TokenParts,
    children_of,
    deployment,
    finish,
    local_postgres_available,
    median,
    print_machine,
    process_jiffies,
)

BENCH = "serve_workers"
CLIENTS = 16
HTTP_DEALS_PER_CLIENT = 8
PGBENCH_DEALS_PER_CLIENT = 32
# Each process's three pools: room for all 16 clients in one process (16 each), and
# both servers (1 + 2 processes x 48) within the local server's max_connections.
POOL_ENV = {"BATON_DB_POOL_SIZE": "10", "BATON_DB_MAX_OVERFLOW": "6"}
# Positions of the pgbench deals' fixed ranks (the id suffix makes each unique).
PGBENCH_POSITION = "x00000"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Fixture:
    token: str
    tenant_id: uuid.UUID
    actor_id: uuid.UUID
    prospecting: uuid.UUID
    discovery: uuid.UUID
    http_deals: list[list[tuple[uuid.UUID, uuid.UUID, int]]]  # per client: deal, step, version
    pgbench_deals: list[uuid.UUID]


def _create_deals(port: int, token: str, count: int) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
    client = Http(port)
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    try:
        status, raw = client.call("GET", "/api/v1/accounts?limit=1", None, headers)
        if status != 200:
            raise RuntimeError(f"accounts: {status} {raw[:200]!r}")
        account = json.loads(raw)["items"][0]["id"]
        made = []
        for n in range(count):
            body = json.dumps(
                {
                    "name": f"Bench move {n}",
                    "account_id": account,
                    "next_step": "Call",
                    "next_step_due_date": "2030-01-01",
                }
            ).encode()
            status, raw = client.call("POST", "/api/v1/deals", body, headers)
            if status != 201:
                raise RuntimeError(f"create deal: {status} {raw[:300]!r}")
            deal = json.loads(raw)
            made.append((uuid.UUID(deal["id"]), uuid.UUID(deal["step"]["id"]), deal["version"]))
        return made
    finally:
        client.close()


async def _owner(deployed: Deployment) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=LOCAL_PG_HOST, port=LOCAL_PG_PORT, user="postgres", database=deployed.database
    )


def prepare(deployed: Deployment, port: int) -> Fixture:
    from baton.deals import ranks

    token = Http(port).login()
    parts = TokenParts.of(token)
    total_http = CLIENTS * HTTP_DEALS_PER_CLIENT
    total_pgbench = CLIENTS * PGBENCH_DEALS_PER_CLIENT
    deals = _create_deals(port, token, total_http + total_pgbench)

    async def facts() -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
        conn = await _owner(deployed)
        try:
            actor = await conn.fetchval("SELECT id FROM users WHERE email = 'admin@acme.example'")
            prospecting = deals[0][1]
            discovery = await conn.fetchval(
                "SELECT s.id FROM workflow_steps s JOIN workflow_steps p"
                " ON p.workflow_id = s.workflow_id WHERE p.id = $1 AND s.position > p.position"
                " ORDER BY s.position LIMIT 1",
                prospecting,
            )
            movers = deals[total_http:]
            await conn.execute(
                "CREATE TABLE bench_movers (i int PRIMARY KEY, deal_id uuid NOT NULL,"
                " prospecting_rank text NOT NULL, discovery_rank text NOT NULL)"
            )
            await conn.executemany(
                "INSERT INTO bench_movers VALUES ($1, $2, $3, $3)",
                [
                    (i, deal_id, ranks.rank_of(PGBENCH_POSITION, deal_id))
                    for i, (deal_id, _, _) in enumerate(movers)
                ],
            )
            await conn.execute(f'GRANT SELECT ON bench_movers TO "{deployed.app_role}"')
            return actor, prospecting, discovery
        finally:
            await conn.close()

    actor, prospecting, discovery = asyncio.run(facts())
    http = deals[:total_http]
    return Fixture(
        token=token,
        tenant_id=parts.tenant_id,
        actor_id=actor,
        prospecting=prospecting,
        discovery=discovery,
        http_deals=[
            http[c * HTTP_DEALS_PER_CLIENT : (c + 1) * HTTP_DEALS_PER_CLIENT]
            for c in range(CLIENTS)
        ],
        pgbench_deals=[deal_id for deal_id, _, _ in deals[total_http:]],
    )


# ---------------------------------------------------------------- HTTP


class Mover:
    def __init__(self, port: int, fixture: Fixture, deals: list[tuple[uuid.UUID, uuid.UUID, int]]):
        self.client = Http(port)
        self.fixture = fixture
        self.deals = deals
        self.cursor = 0
        self.headers = {
            "authorization": f"Bearer {fixture.token}",
            "content-type": "application/json",
        }

    def move_once(self) -> None:
        i = self.cursor
        self.cursor = (i + 1) % len(self.deals)
        deal_id, step, version = self.deals[i]
        target = (
            self.fixture.discovery if step == self.fixture.prospecting else self.fixture.prospecting
        )
        body = f'{{"to_step_id":"{target}","version":{version}}}'.encode()
        status, raw = self.client.call("POST", f"/api/v1/deals/{deal_id}/move", body, self.headers)
        if status != 200:
            raise RuntimeError(f"move answered {status}: {raw[:300]!r}")
        self.deals[i] = (deal_id, target, json.loads(raw)["deal"]["version"])


def http_burst(port: int, fixture: Fixture, seconds: float) -> float:
    """Moves a second by 16 client threads over `seconds`."""
    movers = [Mover(port, fixture, deals) for deals in fixture.http_deals]
    counts = [0] * len(movers)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(movers) + 1)
    deadline = [0.0]

    def work(index: int, mover: Mover) -> None:
        mover.client.connect()
        barrier.wait()
        try:
            while time.perf_counter() < deadline[0]:
                mover.move_once()
                counts[index] += 1
        except BaseException as error:
            errors.append(error)
        finally:
            mover.client.close()

    threads = [
        threading.Thread(target=work, args=(n, m), daemon=True) for n, m in enumerate(movers)
    ]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    barrier.wait()
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"an HTTP client failed: {errors[0]!r}")
    return sum(counts) / elapsed


# ---------------------------------------------------------------- pgbench


def _bind(
    statement: Any,
    per_move: dict[str, str],
    given: dict[str, Any],
    tag: str,
    defines: dict[str, str],
) -> str:
    """The statement's SQL with `$n` as pgbench variables: per-move ones by name, the
    others defined once (`-D`), NULL as a literal."""

    def variable(match: re.Match[str]) -> str:
        position = int(match.group(1))
        name = statement.names[position - 1]
        if name in per_move:
            return f":{per_move[name]}"
        value = given[name] if name in given else statement.fixed[name]
        if value is None:
            return "NULL"
        key = f"{tag}{position}"
        if isinstance(value, bool):
            defines[key] = "true" if value else "false"
        elif isinstance(value, bytes):
            defines[key] = "\\x" + value.hex()
        else:
            defines[key] = str(value)
        return f":{key}"

    return re.sub(r"\$(\d+)\b", variable, statement.sql)


def pgbench_script(fixture: Fixture) -> tuple[str, dict[str, str]]:
    from baton.db.driver import DriverStatement
    from baton.deals.service import _LOAD_FOR_MOVE, _MOVE, _MOVE_FIELD_TYPES
    from baton.identity.queries import AUTHENTICATE

    parts = TokenParts.of(fixture.token)
    defines = {
        "prospecting": str(fixture.prospecting),
        "discovery": str(fixture.discovery),
    }
    authenticate = _bind(
        AUTHENTICATE,
        {},
        {
            "tenant_id": str(parts.tenant_id),
            "digest": parts.digest,
            "prefix": parts.prefix,
            "request_id": uuid.uuid4().hex,
        },
        "a",
        defines,
    )
    lookup = (
        "SELECT m.deal_id AS deal_id,"
        " CASE WHEN d.step_id = :prospecting::uuid THEN :discovery ELSE :prospecting END"
        " AS to_step,"
        " CASE WHEN d.step_id = :prospecting::uuid THEN m.discovery_rank"
        " ELSE m.prospecting_rank END AS new_rank,"
        " gen_random_uuid() AS activity_id, gen_random_uuid() AS event_id,"
        # pgbench takes no empty -D value: the load's empty settings come from here.
        " '' AS empty"
        " FROM bench_movers m JOIN deals d ON d.id = m.deal_id WHERE m.i = :i"
    )
    load = _bind(
        DriverStatement.of(_LOAD_FOR_MOVE),
        {
            "record_id": "deal_id",
            "to_step_id": "to_step",
            "reason": "empty",
            "notes": "empty",
            "fields_text": "empty",
        },
        {"after_id": None, "before_id": None},
        "l",
        defines,
    )
    move = _bind(
        DriverStatement.of(_MOVE),
        {
            "record_id": "deal_id",
            "to_step_id": "to_step",
            "new_rank": "new_rank",
            "expected_version": "l_version",
            "activity_id": "activity_id",
            "event_id": "event_id",
        },
        {
            **{f"set_{name}": None for name in _MOVE_FIELD_TYPES},
            "entry_subject": "Stage changed: Prospecting → Discovery",
            "entry_description": None,
            "actor_id": str(fixture.actor_id),
            "log_stage_change": True,
            "board_workflow_id": None,
            "guard_lo": None,
            "guard_hi": None,
        },
        "m",
        defines,
    )
    script = "\n".join(
        [
            f"\\set i :client_id * {PGBENCH_DEALS_PER_CLIENT} + random(0, "
            f"{PGBENCH_DEALS_PER_CLIENT - 1})",
            "BEGIN;",
            f"{authenticate};",
            f"{lookup} \\gset",
            f"{load} \\gset l_",
            f"{move};",
            "END;",
            "",
        ]
    )
    return script, defines


def pgbench_burst(
    deployed: Deployment, script: Path, defines: dict[str, str], seconds: float
) -> float:
    connect = deployed.app_connect_kwargs()
    command = [
        shutil.which("pgbench") or "pgbench",
        "-n",
        "-M",
        "prepared",
        "-c",
        str(CLIENTS),
        "-j",
        "2",
        "-T",
        str(max(1, round(seconds))),
        "-h",
        connect["host"],
        "-p",
        str(connect["port"]),
        "-U",
        connect["user"],
        "-f",
        str(script),
        *[arg for key, value in defines.items() for arg in ("-D", f"{key}={value}")],
        connect["database"],
    ]
    done = subprocess.run(  # noqa: S603 - pgbench with our own arguments
        command,
        env={**deployed.env, "PGPASSWORD": connect["password"]},
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if failed and int(failed.group(1)):
        raise RuntimeError(f"pgbench: failed transactions\n{done.stdout}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    if tps is None:
        raise RuntimeError(f"pgbench printed no tps:\n{done.stdout}")
    return float(tps.group(1))


def count_pgbench_moves(deployed: Deployment) -> int:
    async def count() -> int:
        conn = await _owner(deployed)
        try:
            moved: int = await conn.fetchval(
                "SELECT sum(version - 1) FROM deals WHERE id IN (SELECT deal_id FROM bench_movers)"
            )
            return moved or 0
        finally:
            await conn.close()

    return asyncio.run(count())


# ---------------------------------------------------------------- main


def started(deployed: Deployment, workers: int) -> Server:
    server = Server(deployed, args=["--workers", str(workers)], env=POOL_ENV)
    server.start()
    server.wait_ready()
    return server


def _cpu_seconds(pids: list[int]) -> float:
    return sum(process_jiffies(pid) for pid in pids) / CLOCK_TICKS


def run(rounds: int, seconds: float, quiet_wait: float) -> list[Result]:
    results: list[Result] = []
    with deployment("local") as deployed:
        one = started(deployed, 1)
        two = started(deployed, 2)
        try:
            fixture = prepare(deployed, one.port)
            script_text, defines = pgbench_script(fixture)
            script = deployed.data_dir / "move.pgbench"
            script.write_text(script_text)
            variants = {
                "workers=1": lambda: http_burst(one.port, fixture, seconds),
                "workers=2": lambda: http_burst(two.port, fixture, seconds),
                "pgbench": lambda: pgbench_burst(deployed, script, defines, seconds),
            }
            # Warm-up: every server process has its pools and statements ready.
            http_burst(one.port, fixture, 2)
            http_burst(two.port, fixture, 2)
            pgbench_burst(deployed, script, defines, 2)
            before = count_pgbench_moves(deployed)
            quiet = QuietWaiter(quiet_wait)
            servers = {"workers=1": one, "workers=2": two}
            rates: dict[str, list[float]] = {name: [] for name in variants}
            # CPU seconds a second of the client (this process: 16 threads, one GIL)
            # and of the server's processes, per HTTP variant.
            client_cpu: dict[str, list[float]] = {name: [] for name in servers}
            server_cpu: dict[str, list[float]] = {name: [] for name in servers}
            pgbench_seconds = 0.0
            names = list(variants)
            for number in range(rounds):
                busy = quiet.wait()
                shift = number % len(names)
                line = []
                for name in names[shift:] + names[:shift]:
                    server_pids = (
                        [servers[name].pid, *children_of(servers[name].pid)]
                        if name in servers
                        else []
                    )
                    cpu_before = _cpu_seconds([os.getpid()]), _cpu_seconds(server_pids)
                    clock = time.perf_counter()
                    rate = variants[name]()
                    elapsed = time.perf_counter() - clock
                    rates[name].append(rate)
                    if name == "pgbench":
                        pgbench_seconds += max(1, round(seconds)) * rate
                        line.append(f"{name} {rate:.0f}/s")
                        continue
                    client = (_cpu_seconds([os.getpid()]) - cpu_before[0]) / elapsed
                    server = (_cpu_seconds(server_pids) - cpu_before[1]) / elapsed
                    client_cpu[name].append(client)
                    server_cpu[name].append(server)
                    line.append(
                        f"{name} {rate:.0f}/s (client {client:.0%} of a core,"
                        f" server {server:.0%}, {1000 * server / rate:.1f} ms CPU a move)"
                    )
                print(f"round {number + 1}: busy before {busy:.0%}; " + ", ".join(line), flush=True)
            moved = count_pgbench_moves(deployed) - before
            # pgbench's moves really moved deals (a stale version would write nothing).
            if moved < 0.95 * pgbench_seconds:
                raise RuntimeError(f"pgbench moved {moved} deals for {pgbench_seconds:.0f} moves")
        finally:
            two.stop()
            one.stop()
    m1, m2, pg = (median(rates[name]) for name in ("workers=1", "workers=2", "pgbench"))

    def ratio(top: str, bottom: str) -> float:
        """The median of each round's ratio: both sides met the same outside load."""
        return median([a / b for a, b in zip(rates[top], rates[bottom], strict=True)])

    results += [
        Result(BENCH, f"moves/s, HTTP, --workers 1, {CLIENTS} clients", m1, "/s"),
        Result(BENCH, f"moves/s, HTTP, --workers 2, {CLIENTS} clients", m2, "/s"),
        Result(BENCH, f"moves/s, pgbench, {CLIENTS} clients", pg, "/s"),
        Result(
            BENCH, "workers 2 / workers 1 (median of rounds)", ratio("workers=2", "workers=1"), "x"
        ),
        Result(BENCH, "workers 1 / pgbench (median of rounds)", ratio("workers=1", "pgbench"), "x"),
        Result(BENCH, "workers 2 / pgbench (median of rounds)", ratio("workers=2", "pgbench"), "x"),
    ]
    for name in ("workers=1", "workers=2"):
        results += [
            Result(BENCH, f"{name}: client CPU (cores)", median(client_cpu[name]), "x"),
            Result(BENCH, f"{name}: server CPU (cores)", median(server_cpu[name]), "x"),
        ]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="per variant and round")
    parser.add_argument("--quiet-wait", type=float, default=20.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    print_machine()
    if not local_postgres_available():
        raise SystemExit(f"PostgreSQL at {LOCAL_PG_HOST}:{LOCAL_PG_PORT} is not reachable")
    results = run(args.rounds, args.seconds, args.quiet_wait)
    finish(results, f"deal moves at {CLIENTS} clients: workers vs pgbench ({HOST})", args.json)


if __name__ == "__main__":
    main()
