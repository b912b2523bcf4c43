"""Shared machinery for the benchmarks.

- `Deployment`: a throw-away Baton install (data dir + migrated database holding the
  demo organization) on the embedded PostgreSQL or on the local PostgreSQL at
  127.0.0.1:5432 (scratch database and app role, dropped afterwards).
- `Server`: one `baton serve` process (uvicorn, its own OS process) on 127.0.0.1.
- `Http`: a keep-alive HTTP/1.1 connection on a plain socket (a lean client: its own
  time is in every HTTP figure).
- `Result` rows, percentiles and the machine description every report starts with.
- The raw-driver side of the baselines: baton's statements compiled for asyncpg
  (`DriverStatement`), the counter/transaction connection pair, a uvloop runner.
- `run_backends` / `finish`: the loop over backends and the end of every `main()`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

# Baselines send baton's own statements, compiled as baton sends them on the driver.
from baton.db.driver import DriverStatement as DriverStatement

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
LOCAL_PG_HOST = "127.0.0.1"
LOCAL_PG_PORT = 5432
DEMO_EMAIL = "admin@acme.example"
DEMO_PASSWORD = "baton-demo-password"  # printed by `baton demo` on purpose
BACKENDS = ("embedded", "local")
# Every budget figure is about a server doing its job, not about logging it.
BENCH_LOG_LEVEL = "WARNING"


# ---------------------------------------------------------------- results


@dataclass
class Result:
    bench: str
    metric: str
    value: float
    unit: str
    budget: str = ""
    met: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "budget": self.budget,
            "met": self.met,
            "note": self.note,
        }


def verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: ""}[met]


def format_value(value: float, unit: str) -> str:
    if unit in ("ms", "s", "x"):
        return f"{value:.3f} {unit}" if abs(value) < 10 else f"{value:.2f} {unit}"
    if unit in ("MiB", "MB"):
        return f"{value:.1f} {unit}"
    return f"{value:g} {unit}"


def print_table(results: Sequence[Result], title: str | None = None) -> None:
    if title:
        print(f"\n== {title} ==")
    rows = [
        (r.bench, r.metric, format_value(r.value, r.unit), r.budget, verdict(r.met), r.note)
        for r in results
    ]
    header = ("bench", "metric", "value", "budget", "verdict", "note")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    sys.stdout.flush()


def write_json(path: str | None, results: Sequence[Result], extra: dict[str, Any]) -> None:
    if not path:
        return
    payload = {**extra, "results": [r.as_dict() for r in results]}
    Path(path).write_text(json.dumps(payload, indent=2) + "\n")


def machine_info() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def print_machine(info: dict[str, Any] | None = None) -> None:
    info = info or machine_info()
    print(
        f"machine: nproc={info['nproc']} cpu={info['cpu']!r} kernel={info['kernel']} "
        f"python={info['python']} date={info['date']}"
    )
    sys.stdout.flush()


def common_args(description: str, *, rounds: int, requests: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--backend",
        choices=[*BACKENDS, "both"],
        default="embedded",
        help="embedded PostgreSQL under a temp data dir, or the local one at 127.0.0.1:5432",
    )
    parser.add_argument("--rounds", type=int, default=rounds, help="timed rounds (median)")
    parser.add_argument("-n", "--requests", type=int, default=requests, help="per round")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=20.0,
        help="seconds in all to wait, before rounds, for other load on the machine to pass",
    )
    return parser


def backends_of(choice: str) -> list[str]:
    return list(BACKENDS) if choice == "both" else [choice]


def run_backends(backends: Sequence[str], bench: Callable[[str], list[Result]]) -> list[Result]:
    """`bench(backend)` for each backend; the local one is skipped when unreachable."""
    results: list[Result] = []
    for backend in backends:
        if backend == "local" and not local_postgres_available():
            print("[local] PostgreSQL at 127.0.0.1:5432 not reachable: skipped")
            continue
        results += bench(backend)
    return results


def finish(results: Sequence[Result], title: str, json_path: str | None) -> None:
    """The end of every script's `main()`: the table, and the JSON file if asked for."""
    print_table(results, title)
    write_json(json_path, results, {})


# ---------------------------------------------------------------- statistics


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (q in 0..100)."""
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Stats:
    """Latencies of one round, in milliseconds."""

    samples: list[float] = field(default_factory=list)

    def add_ns(self, nanoseconds: int) -> None:
        self.samples.append(nanoseconds / 1e6)

    def extend(self, other: Stats) -> None:
        self.samples.extend(other.samples)

    def pct(self, q: float) -> float:
        return percentile(sorted(self.samples), q)

    @property
    def p50(self) -> float:
        return self.pct(50)

    @property
    def p90(self) -> float:
        return self.pct(90)

    @property
    def p99(self) -> float:
        return self.pct(99)


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return float("nan")
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def baton_command() -> list[str]:
    script = BIN / "baton"
    return [str(script)] if script.exists() else [sys.executable, "-m", "baton"]


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class Memory:
    rss_kib: int
    hwm_kib: int
    pss_kib: int

    @property
    def rss_mib(self) -> float:
        return self.rss_kib / 1024

    @property
    def hwm_mib(self) -> float:
        return self.hwm_kib / 1024

    @property
    def pss_mib(self) -> float:
        return self.pss_kib / 1024


def memory_of(pid: int) -> Memory:
    """VmRSS / VmHWM from /proc/<pid>/status, Pss from smaps_rollup (KiB)."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(rest.split()[0])
    pss = 0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    return Memory(fields.get("VmRSS", 0), fields.get("VmHWM", 0), pss)


# ---------------------------------------------------------------- noise


def _system_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values)
    return total - idle, total


def process_jiffies(pid: int, *, reaped_children: bool = False) -> int:
    """utime + stime of one process (all its threads), plus, if asked, the CPU time of
    its children that have exited and been waited for (cutime + cstime)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    own = int(fields[11]) + int(fields[12])
    return own + int(fields[13]) + int(fields[14]) if reaped_children else own


def pids_matching(fragment: str) -> list[int]:
    """Processes whose command line contains `fragment` (e.g. a database name)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if fragment.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


class CpuWatch:
    """Share of the machine's CPU that processes other than ours used during a window.

    The machine is shared (2 noisy cores); each round reports this so a slow round
    can be told apart from a slow server.
    """

    def __init__(self, our_pids: Callable[[], list[int]]) -> None:
        self.our_pids = our_pids
        self.pids: list[int] = []
        self.start_busy = self.start_total = self.start_ours = 0

    def _ours(self) -> int:
        return sum(process_jiffies(pid) for pid in self.pids)

    def start(self) -> None:
        self.pids = sorted({os.getpid(), *self.our_pids()})
        self.start_ours = self._ours()
        self.start_busy, self.start_total = _system_jiffies()

    def stop(self) -> float:
        busy, total = _system_jiffies()
        ours = self._ours()
        elapsed = max(1, total - self.start_total)
        foreign = (busy - self.start_busy) - (ours - self.start_ours)
        return max(0.0, foreign / elapsed)


def machine_busy(interval: float = 0.5) -> float:
    """Share of all CPUs busy over `interval` (our own processes idle meanwhile)."""
    busy0, total0 = _system_jiffies()
    time.sleep(interval)
    busy1, total1 = _system_jiffies()
    return (busy1 - busy0) / max(1, total1 - total0)


class QuietWaiter:
    """Before a round, wait (within a total allowance) for other work to calm down."""

    def __init__(self, allowance: float, threshold: float = 0.15) -> None:
        self.deadline = time.monotonic() + allowance
        self.threshold = threshold

    def wait(self) -> float:
        busy = machine_busy(0.3)
        while busy > self.threshold and time.monotonic() < self.deadline:
            busy = machine_busy(0.5)
        return busy


# ---------------------------------------------------------------- deployment


class Deployment:
    """A migrated Baton database with the demo organization, and its data dir."""

    def __init__(self, backend: str, *, env_name: str | None = None) -> None:
        if backend not in BACKENDS:
            raise ValueError(backend)
        if env_name is None:
            # prod refuses the embedded server (BATON_DATABASE_URL is required there), so
            # the embedded install runs as dev: same code path, console log renderer and
            # non-Secure cookies instead of JSON lines and Secure ones.
            env_name = "prod" if backend == "local" else "dev"
        self.env_name = env_name
        self.backend = backend
        self.data_dir = Path(tempfile.mkdtemp(prefix="baton-bench-"))
        self.secret_key = secrets.token_urlsafe(48)
        self.database: str | None = None
        self.app_role = "baton_app"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
        env.update(
            BATON_ENV=env_name,
            BATON_DATA_DIR=str(self.data_dir),
            BATON_SECRET_KEY=self.secret_key,
            BATON_LOG_LEVEL=BENCH_LOG_LEVEL,
            BATON_API_RATE_PER_MINUTE="1000000000",
            # The benches measure the API: no inline worker taking connections and CPU
            # (its periodic sweeps have their own bench, bench/sweeps.py).
            BATON_WORKER="off",
        )
        if backend == "local":
            suffix = secrets.token_hex(4)
            self.database = f"baton_bench_{suffix}"
            # A role of our own: the cluster's `baton_app` may belong to someone's tests.
            self.app_role = f"baton_bench_app_{suffix}"
            env.update(
                BATON_DATABASE_URL=(
                    f"postgresql://postgres@{LOCAL_PG_HOST}:{LOCAL_PG_PORT}/{self.database}"
                ),
                BATON_APP_DB_ROLE=self.app_role,
            )
        self.env = env

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def baton(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
            [*baton_command(), *args],
            env=self.env,
            cwd=self.data_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"baton {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def prepare(self) -> None:
        if self.backend == "local":
            asyncio.run(_local_admin(f'CREATE DATABASE "{self.database}"'))
        self.baton("db", "upgrade")
        self.baton("demo")
        self.wait_postgres_stopped()

    # --- the embedded server

    def postmaster_pid(self) -> int | None:
        """The embedded postmaster's pid while it runs (None for the local backend)."""
        if self.backend != "embedded":
            return None
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def wait_postgres_stopped(self, timeout: float = 10) -> bool:
        """Wait for the embedded server to stop; stop it ourselves if nothing else will.

        Returns whether it had stopped on its own.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.postmaster_pid() is None:
                return True
            time.sleep(0.05)
        pid = self.postmaster_pid()
        if pid is not None:
            os.kill(pid, signal.SIGINT)  # fast shutdown of the server this run started
            end = time.monotonic() + 15
            while pid_alive(pid) and time.monotonic() < end:
                time.sleep(0.05)
        return False

    def postgres_pids(self) -> list[int]:
        """Our PostgreSQL processes: the embedded tree, or our database's backends."""
        if self.backend == "local":
            assert self.database is not None
            return pids_matching(self.database)
        pid = self.postmaster_pid()
        return [pid, *children_of(pid)] if pid is not None else []

    def postgres_jiffies(self) -> int:
        """CPU jiffies used so far by our PostgreSQL processes.

        Embedded: the postmaster, its live children and the children it has reaped, so
        backends that came and went (a pool opening and closing connections) count.
        Local: the live backends of our database only (the cluster is shared).
        """
        if self.backend == "local":
            return sum(process_jiffies(pid) for pid in self.postgres_pids())
        pid = self.postmaster_pid()
        if pid is None:
            return 0
        children = sum(process_jiffies(child) for child in children_of(pid))
        return process_jiffies(pid, reaped_children=True) + children

    def postgres_memory(self) -> tuple[int, Memory]:
        """(process count, summed memory) of the embedded postmaster and its children."""
        pids = self.postgres_pids() if self.backend == "embedded" else []
        if not pids:
            return 0, Memory(0, 0, 0)
        total = [0, 0, 0]
        for one in pids:
            with contextlib.suppress(OSError):
                mem = memory_of(one)
                total[0] += mem.rss_kib
                total[1] += mem.hwm_kib
                total[2] += mem.pss_kib
        return len(pids), Memory(*total)

    # --- raw driver access as the app role, for the baselines

    def app_connect_kwargs(self) -> dict[str, Any]:
        from baton.config import Settings
        from baton.db.urls import app_role_password

        settings = Settings(secret_key=self.secret_key, data_dir=self.data_dir)
        password = app_role_password(settings)
        if self.backend == "local":
            return {
                "host": LOCAL_PG_HOST,
                "port": LOCAL_PG_PORT,
                "user": self.app_role,
                "password": password,
                "database": self.database,
            }
        lines = (self.pgdata / "postmaster.pid").read_text().split("\n")
        return {
            "host": lines[4].strip(),  # the unix socket directory
            "port": int(lines[3]),
            "user": self.app_role,
            "password": password,
            "database": "postgres",
        }

    def close(self) -> None:
        if self.backend == "embedded":
            self.wait_postgres_stopped(timeout=5)
        else:
            with contextlib.suppress(Exception):
                asyncio.run(
                    _local_admin(
                        f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)',
                        f'DROP ROLE IF EXISTS "{self.app_role}"',
                    )
                )
        shutil.rmtree(self.data_dir, ignore_errors=True)


async def _local_admin(*statements: str) -> None:
    conn = await asyncpg.connect(
        host=LOCAL_PG_HOST, port=LOCAL_PG_PORT, user="postgres", database="postgres", timeout=5
    )
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def local_postgres_available() -> bool:
    try:
        asyncio.run(_local_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


@contextlib.contextmanager
def deployment(backend: str) -> Iterator[Deployment]:
    deployed = Deployment(backend)
    try:
        started = time.perf_counter()
        deployed.prepare()
        print(
            f"[{backend}] db upgrade + demo in {time.perf_counter() - started:.1f} s"
            f" (BATON_ENV={deployed.env_name}, {deployed.data_dir})"
        )
        sys.stdout.flush()
        yield deployed
    finally:
        deployed.close()


# ---------------------------------------------------------------- server


class Server:
    """`baton serve --port N` as its own process, stopped like Ctrl-C would."""

    def __init__(
        self,
        deployed: Deployment,
        *,
        log_level: str = BENCH_LOG_LEVEL,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.deployed = deployed
        self.port = free_port()
        self.log_level = log_level
        # More `baton serve` options (`--workers 2`) and environment, if any.
        self.args = list(args)
        self.env = env or {}
        self.log_path = deployed.data_dir / f"serve-{self.port}.log"
        self.process: subprocess.Popen[str] | None = None
        self.started_at = 0.0
        self.banner_at: float | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> Server:
        env = {**self.deployed.env, "BATON_LOG_LEVEL": self.log_level, **self.env}
        log = self.log_path.open("w")
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(  # noqa: S603 - our own console script
            [*baton_command(), "serve", "--host", HOST, "--port", str(self.port), *self.args],
            env=env,
            cwd=self.deployed.data_dir,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()
        threading.Thread(target=self._watch_stdout, daemon=True).start()
        return self

    def _watch_stdout(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if self.banner_at is None and line.startswith("Baton"):
                self.banner_at = time.perf_counter()

    def wait_ready(self, timeout: float = 60) -> float:
        """Poll GET /readyz until 200; seconds since the process was started."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"baton serve exited early:\n{self.log_path.read_text()}")
            conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
            try:
                conn.request("GET", "/readyz")
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    return time.perf_counter() - self.started_at
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.005)
        raise TimeoutError(f"not ready after {timeout} s:\n{self.log_path.read_text()}")

    def memory(self) -> Memory:
        return memory_of(self.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGINT, like Ctrl-C. Since 5283da8 SIGTERM also stops the embedded PostgreSQL
        # (before, it skipped the exit handlers); wait_postgres_stopped stays a safety net.
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def serving(deployed: Deployment, *, log_level: str = BENCH_LOG_LEVEL) -> Iterator[Server]:
    server = Server(deployed, log_level=log_level)
    try:
        server.start()
        server.wait_ready()
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------- http client


class Http:
    """One keep-alive HTTP/1.1 connection to the server under test, on a plain socket.

    The client's own time is part of every HTTP figure, so it is kept small: the
    request goes out as one `sendall`, the answer is framed by its Content-Length (or
    chunks) and only the status line is parsed. Python's `http.client` parses every
    header through the `email` package: against `GET /healthz` it took 0.28 to 0.34 ms a
    request where this client takes 0.14 to 0.23 ms (same server, same run).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.host_header = f"Host: {HOST}:{port}\r\n"
        self.sock: socket.socket | None = None
        self.buffer = bytearray()
        # Whether any byte of the answer being read has arrived (then no retry).
        self.answer_started = False

    def connect(self) -> socket.socket:
        sock = socket.create_connection((HOST, self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.buffer.clear()
        return sock

    def reconnect(self) -> None:
        """A new connection before the server drops an idle one (uvicorn: after 5 s)."""
        self.close()
        self.connect()

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request and read its whole answer: (status, body).

        A kept-alive connection the server closed while it idled (uvicorn: after 5 s)
        answers nothing at all: the request is sent again, once, on a new one."""
        lines = [f"{method} {path} HTTP/1.1\r\n", self.host_header]
        lines += [f"{name}: {value}\r\n" for name, value in (headers or {}).items()]
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}\r\n")
        lines.append("\r\n")
        request = "".join(lines).encode("latin-1") + (body or b"")
        reused = self.sock is not None
        sock = self.sock or self.connect()
        try:
            sock.sendall(request)
            return self._answer(sock, method)
        except ConnectionError:
            if not reused or self.answer_started:
                raise
        sock = self.connect()
        sock.sendall(request)
        return self._answer(sock, method)

    def _answer(self, sock: socket.socket, method: str) -> tuple[int, bytes]:
        self.answer_started = bool(self.buffer)
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        while end < 0:
            self._fill(sock)
            end = buffer.find(b"\r\n\r\n")
        head = bytes(buffer[:end]).lower()
        del buffer[: end + 4]
        status = int(head[9:12])
        if method == "HEAD" or status in (204, 304) or status < 200:
            body = b""
        elif b"transfer-encoding: chunked" in head:
            body = self._chunks(sock)
        else:
            marker = head.find(b"content-length:")
            if marker < 0:
                raise RuntimeError(f"answer without a length: {head[:200]!r}")
            line_end = head.find(b"\r\n", marker)
            length = int(head[marker + 15 : line_end if line_end >= 0 else None])
            while len(buffer) < length:
                self._fill(sock)
            body = bytes(buffer[:length])
            del buffer[:length]
        if b"connection: close" in head:
            self.close()
        return status, body

    def _chunks(self, sock: socket.socket) -> bytes:
        buffer, out = self.buffer, bytearray()
        while True:
            line_end = buffer.find(b"\r\n")
            while line_end < 0:
                self._fill(sock)
                line_end = buffer.find(b"\r\n")
            size = int(bytes(buffer[:line_end]).split(b";")[0], 16)
            del buffer[: line_end + 2]
            while len(buffer) < size + 2:
                self._fill(sock)
            out += buffer[:size]
            del buffer[: size + 2]
            if size == 0:
                return bytes(out)

    def _fill(self, sock: socket.socket) -> None:
        data = sock.recv(65536)
        if not data:
            self.close()
            raise ConnectionError("the server closed the connection")
        self.answer_started = True
        self.buffer += data

    def login(self) -> str:
        body = json.dumps({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).encode()
        status, raw = self.call(
            "POST", "/api/v1/auth/login", body, {"content-type": "application/json"}
        )
        if status != 200:
            raise RuntimeError(f"login failed: {status} {raw!r}")
        token: str = json.loads(raw)["access_token"]
        return token

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.buffer.clear()


def timed_calls(
    http_client: Http,
    count: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None = None,
    expect: int = 200,
    fresh_headers: Callable[[], dict[str, str]] | None = None,
) -> Stats:
    """`count` sequential requests; wall time of each, from send to last body byte.

    `fresh_headers`, when given, builds each request's headers (untimed).
    """
    stats = Stats()
    call = http_client.call
    clock = time.perf_counter_ns
    bad = 0
    for _ in range(count):
        if fresh_headers is not None:
            headers = fresh_headers()
        started = clock()
        status, _ = call(method, path, body, headers)
        stats.add_ns(clock() - started)
        if status != expect:
            bad += 1
    if bad:
        raise RuntimeError(f"{bad} of {count} {method} {path} answered other than {expect}")
    return stats


# ---------------------------------------------------------------- rounds

Variant = Callable[[int], Stats]


@dataclass
class Round:
    stats: dict[str, Stats]
    # Share of all CPUs used by other processes: just before, and during the round.
    busy_before: float
    foreign_during: float


def measure_interleaved(
    variants: dict[str, Variant],
    *,
    rounds: int,
    requests: int,
    chunk: int,
    warmup: int,
    our_pids: Callable[[], list[int]],
    quiet: QuietWaiter,
    report: Callable[[int, Round], None],
    share: dict[str, float] | None = None,
) -> list[Round]:
    """Warm every variant up, then `rounds` rounds of `requests` per variant.

    Within a round the variants alternate in chunks (rotating which goes first), so
    a burst of outside load hits them all alike. `share` runs a secondary variant
    for only that fraction of each chunk.
    """
    share = share or {}
    for name, run in variants.items():
        run(max(1, int(warmup * share.get(name, 1.0))))
    names = list(variants)
    done_rounds: list[Round] = []
    for number in range(rounds):
        busy_before = quiet.wait()
        watch = CpuWatch(our_pids)
        watch.start()
        per_variant = {name: Stats() for name in names}
        done = 0
        turn = 0
        while done < requests:
            size = min(chunk, requests - done)
            shift = turn % len(names)
            for name in names[shift:] + names[:shift]:
                count = max(1, int(size * share.get(name, 1.0)))
                per_variant[name].extend(variants[name](count))
            done += size
            turn += 1
        result = Round(per_variant, busy_before, watch.stop())
        done_rounds.append(result)
        report(number + 1, result)
        sys.stdout.flush()
    return done_rounds


def round_median(rounds: Sequence[Round], name: str, q: float) -> float:
    return median([r.stats[name].pct(q) for r in rounds])


def round_ratio(rounds: Sequence[Round], a: str, b: str) -> float:
    """Median over rounds of p50(a) / p50(b), both measured in the same round."""
    return median([r.stats[a].p50 / r.stats[b].p50 for r in rounds])


def percentile_rows(
    tag: str, rounds: Sequence[Round], name: str, label: str, qs: Sequence[float] = (50, 90, 99)
) -> list[Result]:
    """One `Result` per percentile of variant `name`: the median over rounds."""
    return [Result(tag, f"{label} p{q:g}", round_median(rounds, name, q), "ms") for q in qs]


def noise_note(rounds: Sequence[Round]) -> str:
    during = median([r.foreign_during for r in rounds])
    worst = max(r.foreign_during for r in rounds)
    return f"other load during rounds: median {during:.0%}, max {worst:.0%} of all CPUs"


# ---------------------------------------------------------------- raw driver

# Like `Database.counter_pool()`: the rate-limit upsert commits without waiting for the flush.
COUNTER_SERVER_SETTINGS = {"synchronous_commit": "off"}


def new_loop_runner() -> asyncio.Runner:
    try:
        import uvloop  # the server runs on uvloop (uvicorn[standard]); so does the baseline
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


async def connect_counter_and_tx(connect_kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """Two raw connections as the app role: the rate-limit counter's, the transaction's."""
    counter = await asyncpg.connect(**connect_kwargs, server_settings=COUNTER_SERVER_SETTINGS)
    return counter, await asyncpg.connect(**connect_kwargs)


async def close_quietly(*connections: Any) -> None:
    for conn in connections:
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


@dataclass(frozen=True)
class TokenParts:
    """What `baton_authenticate` is called with for a bearer token, and its bucket."""

    tenant_id: uuid.UUID
    digest: bytes
    prefix: str  # "bat" for a bearer token

    @classmethod
    def of(cls, token: str) -> TokenParts:
        from baton.identity import credentials

        parsed = credentials.parse(token)
        assert parsed is not None
        return cls(parsed.tenant_id, parsed.digest, parsed.prefix.value)

    def bucket(self, tag: str) -> str:
        """A rate-limit bucket of the baseline's own: the server's row shape and cost,
        the server's counter left alone."""
        return f"api:{self.digest.hex()[:24]}{tag}"
