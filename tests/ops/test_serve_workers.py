"""`baton serve --workers 2`: two processes answer on one port, a killed one comes
back, SIGTERM stops them all."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

START_TIMEOUT_SECONDS = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == pid and stat[0] != "Z":
                    found.append(int(entry.name))
    return sorted(found)


def _serving_pid(server_port: int, client_port: int, candidates: list[int]) -> int | None:
    """Which process holds the server side of the connection from `client_port`: the
    socket's inode in /proc/net/tcp, then the process whose fds include it."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if (local_port, remote_port) == (server_port, client_port) and fields[9] != "0":
            inode = fields[9]
    if inode is None:
        return None
    for pid in candidates:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
    return None


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _healthz_count(port: int) -> float:
    """`GET /healthz` answered so far, as a scrape of /metrics (on a new connection,
    so on either process) says."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        text = response.read().decode()
        assert response.status == 200
    finally:
        conn.close()
    found = re.search(
        r'^baton_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$',
        text,
        re.MULTILINE,
    )
    return float(found.group(1)) if found else 0.0


def _wait_for(condition: object, what: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if condition():  # type: ignore[operator]
                return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.contextmanager
def _serving(port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "baton", "serve", "--port", str(port), "--workers", "2"],
            # Inline: the first process runs the job worker, the second must not.
            # Small pools: the embedded test server allows 100 connections in all.
            env={
                **os.environ,
                "BATON_WORKER": "inline",
                "BATON_LOG_LEVEL": "WARNING",
                "BATON_DB_POOL_SIZE": "3",
                "BATON_DB_MAX_OVERFLOW": "2",
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield server
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        for child in _children(server.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)


def _pids_serving(port: int, children: list[int], connections: int = 24) -> set[int]:
    """Open `connections` kept-alive connections, get /healthz on each, and say which
    processes answered them."""
    seen: set[int] = set()
    opened = []
    try:
        for _ in range(connections):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
            opened.append(conn)
            assert conn.sock is not None
            pid = _serving_pid(port, conn.sock.getsockname()[1], children)
            assert pid is not None, "no server process holds the connection"
            seen.add(pid)
    finally:
        for conn in opened:
            conn.close()
    return seen


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_two_processes_serve_one_port_restart_and_stop_on_sigterm(
    owner_url: URL, tmp_path: Path
) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    with _serving(port, log) as server:
        _wait_for(lambda: len(_children(server.pid)) == 2, "two server processes")
        _wait_for(lambda: _get(port, "/readyz") == 200, "/readyz")
        children = _children(server.pid)
        # Both answer: the kernel spreads the connections over both listening sockets.
        _wait_for(lambda: _pids_serving(port, children) == set(children), "both to answer")

        # A scrape adds up every process's counts, whichever process answers it.
        healthz_before = _healthz_count(port)
        for _ in range(30):
            assert _get(port, "/healthz") == 200
        for _ in range(6):
            assert _healthz_count(port) >= healthz_before + 30

        # Exactly one of them runs the inline job worker.
        environments = [Path(f"/proc/{pid}/environ").read_bytes() for pid in children]
        assert sum(b"BATON_WORKER=off\0" in env for env in environments) == 1

        # A process killed outright is replaced; the other serves meanwhile.
        victim, survivor = children
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: _zombie_or_gone(victim), "the killed process to exit")
        assert _get(port, "/healthz") == 200
        _wait_for(
            lambda: len(_children(server.pid)) == 2 and victim not in _children(server.pid),
            "the killed process to be replaced",
        )
        replaced = _children(server.pid)
        assert survivor in replaced
        # The killed process's requests still count.
        assert _healthz_count(port) >= healthz_before + 30
        _wait_for(lambda: _pids_serving(port, replaced) == set(replaced), "the new one to answer")

        # SIGTERM stops every process and the supervisor exits cleanly.
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0, log.read_text()
        for pid in replaced:
            assert not Path(f"/proc/{pid}").exists() or _zombie_or_gone(pid)
        with pytest.raises(ConnectionRefusedError):
            _get(port, "/healthz")
    output = log.read_text()
    assert f"exited with signal {signal.SIGKILL.value}" in output
    # Jobs other tests left queued in this database name tasks of the test process, which
    # the server's inline worker cannot import ("Task cannot be imported", a traceback
    # each); any other traceback is the server's own.
    unknown_tasks = output.count("procrastinate.exceptions.TaskNotFound")
    assert output.count("Traceback") == unknown_tasks, output


def _zombie_or_gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_process_that_keeps_dying_stops_the_server_loudly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from baton.ops.supervisor import MAX_RESTARTS, Supervisor

    started = time.monotonic()
    code = Supervisor(
        [sys.executable, "-c", "import sys; sys.exit(3)"], 2, lambda _: dict(os.environ)
    ).run()
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("exited with status 3") == MAX_RESTARTS + 1
    assert f"{MAX_RESTARTS + 1} server processes exited within 60 s" in err
    assert "stopped every process" in err
    assert time.monotonic() - started < 30
