"""`baton serve --workers N`: N server processes sharing one port, kept running.

Each process binds the port itself with `SO_REUSEPORT`, so the kernel spreads new
connections over the listening processes (by a hash of the client's address and
port) and a process that dies takes only its own queue with it; the others keep
serving while it restarts. The supervisor holds the port bound (not listening, so no
connection is ever queued to it) to learn at once that another program has it and to
keep it while a process restarts.

The supervisor restarts a process that exits on its own after a pause; one that keeps
dying (`MAX_RESTARTS` within `RESTART_WINDOW_SECONDS`: a bug at start-up, the database
gone) stops the whole server with exit status 1 and says why. SIGTERM or SIGINT
(Ctrl-C) stops every process gracefully (uvicorn finishes the requests under way, the
inline worker its running jobs) within `STOP_TIMEOUT_SECONDS`, then kills what is left.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger("baton.supervisor")

MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 60.0
RESTART_PAUSE_SECONDS = 1.0
STOP_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.2
# prctl(2)
_PR_SET_PDEATHSIG = 1


def _address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[str, int]]:
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    return family, (str(address[0]), int(address[1]))


def _reusable_socket(host: str, port: int) -> socket.socket:
    family, address = _address(host, port)
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def listening_socket(host: str, port: int) -> socket.socket:
    """One server process's own listening socket in the port's `SO_REUSEPORT` group."""
    sock = _reusable_socket(host, port)
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


def hold_port(host: str, port: int) -> socket.socket:
    """The supervisor's bound, non-listening socket: fails now if the port is taken."""
    return _reusable_socket(host, port)


def die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its supervisor dies (even by
    SIGKILL), so no orphan keeps serving the port."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the supervisor died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class _Child:
    index: int
    process: subprocess.Popen[bytes]
    started: float


@dataclass
class Supervisor:
    """Runs `processes` copies of `command`; `env_of(index)` is each one's environment."""

    command: Sequence[str]
    processes: int
    env_of: Callable[[int], dict[str, str]]
    # Told the pid of each process that exited (to drop its live gauges).
    on_exit: Callable[[int], None] = lambda _pid: None
    children: dict[int, _Child] = field(default_factory=dict)
    _failures: list[float] = field(default_factory=list)
    _stop_signal: int | None = None

    def run(self) -> int:
        """Serve until a stop signal (exit status 0) or a crash loop (1)."""
        previous = {
            number: signal.signal(number, self._ask_stop)
            for number in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for index in range(self.processes):
                self._start(index)
            failure = self._watch()
        finally:
            self._stop_all()
            for number, handler in previous.items():
                signal.signal(number, handler)
        if failure:
            print(f"baton serve: {failure}; stopped every process.", file=sys.stderr, flush=True)
            return 1
        return 0

    def pids(self) -> list[int]:
        return [child.process.pid for child in self.children.values()]

    def _ask_stop(self, number: int, _frame: object) -> None:
        self._stop_signal = number

    def _start(self, index: int) -> None:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            list(self.command), env=self.env_of(index)
        )
        self.children[index] = _Child(index, process, time.monotonic())

    def _watch(self) -> str | None:
        """Restart processes that exit until asked to stop; a reason to give up, if any."""
        while self._stop_signal is None:
            for index, child in list(self.children.items()):
                code = child.process.poll()
                if code is None or self._stop_signal is not None:
                    continue
                self.on_exit(child.process.pid)
                now = time.monotonic()
                self._failures = [
                    at for at in self._failures if now - at < RESTART_WINDOW_SECONDS
                ] + [now]
                how = f"signal {-code}" if code < 0 else f"status {code}"
                print(
                    f"baton serve: process {index} (pid {child.process.pid}) exited with {how}",
                    file=sys.stderr,
                    flush=True,
                )
                if len(self._failures) > MAX_RESTARTS:
                    return (
                        f"{len(self._failures)} server processes exited within"
                        f" {RESTART_WINDOW_SECONDS:.0f} s (the last with {how})"
                    )
                time.sleep(RESTART_PAUSE_SECONDS)
                if self._stop_signal is None:
                    self._start(index)
                    log.warning(
                        "server process restarted",
                        index=index,
                        pid=self.children[index].process.pid,
                    )
            time.sleep(POLL_SECONDS)
        return None

    def _stop_all(self) -> None:
        live = [c.process for c in self.children.values() if c.process.poll() is None]
        for process in live:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in live:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(
                    f"baton serve: pid {process.pid} did not stop in"
                    f" {STOP_TIMEOUT_SECONDS:.0f} s; killed",
                    file=sys.stderr,
                    flush=True,
                )
                process.kill()
                process.wait()
