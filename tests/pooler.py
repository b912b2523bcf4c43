"""A private PgBouncer in transaction mode in front of the test cluster.

Debian's `pgbouncer` (1.18: no prepared statements across transactions) on a free
port of 127.0.0.1, with a generated configuration: every database of the cluster
(`* =`), `pool_mode = transaction`, `pool_size` server connections per database and
user, clients let in without a password (`auth_type = trust`; the cluster trusts
127.0.0.1, so PgBouncer logs in as the client's user without one either).

Used by the tenancy tests (one server connection: every client's transactions take
turns on it) and by `.ci/run`, which runs the whole suite through one:

    python -m tests.pooler --port 6544 --pool-size 20   # in the foreground until killed
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from tests.database import cluster_url

INSTALL_HINT = "apt-get install -y pgbouncer"
# A client that waits this long for a server connection is refused: a test whose
# transactions wait for each other fails instead of hanging.
QUERY_WAIT_SECONDS = 20


@dataclass(frozen=True)
class Pooler:
    host: str
    port: int

    def url(self, base: URL, *, username: str) -> URL:
        """`base` (its database) through the pooler, as `username`, marked as pooled."""
        direct = base.difference_update_query(["host", "port"])  # a socket directory
        return direct.set(
            host=self.host, port=self.port, username=username, password=None
        ).update_query_dict({"pooler": "transaction"})


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_config(
    directory: Path, *, port: int, pool_size: int, users: tuple[str, ...], cluster: URL
) -> Path:
    """The configuration (and its user list) in `directory`; its path."""
    # The embedded server listens on a socket in its data directory (`?host=`).
    server_host = _socket_directory(cluster) or cluster.host
    server_port = cluster.port or 5432
    (directory / "users.txt").write_text("".join(f'"{user}" ""\n' for user in users))
    config = directory / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
* = host={server_host or "127.0.0.1"} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory / "users.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 2000
query_wait_timeout = {QUERY_WAIT_SECONDS}
server_reset_query =
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
"""
    )
    # PgBouncer will not run as root: it drops to `postgres`, who must read these.
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)
    return config


def _socket_directory(cluster: URL) -> str | None:
    directory = cluster.query.get("host")
    return directory if isinstance(directory, str) else None


def _command(config: Path, cluster: URL) -> list[str]:
    """PgBouncer in the foreground. It will not run as root: then as the owner of the
    cluster's socket directory (the embedded server's user), else as `postgres`."""
    binary = pgbouncer_binary()
    if binary is None:
        raise RuntimeError(f"pgbouncer is not installed ({INSTALL_HINT})")
    if os.geteuid() != 0:
        return [binary, str(config)]
    socket_directory = _socket_directory(cluster)
    user = Path(socket_directory).owner() if socket_directory else "postgres"
    return [binary, "-u", user, str(config)]


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"pgbouncer is not listening on {port}: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def running_pgbouncer(
    *, pool_size: int, users: tuple[str, ...], port: int | None = None, cluster: URL | None = None
) -> Iterator[Pooler]:
    """A PgBouncer in transaction mode in front of `cluster` (the test cluster) while
    in the block."""
    port = port or free_port()
    cluster = cluster or cluster_url()
    with tempfile.TemporaryDirectory(prefix="baton-pgbouncer-") as name:
        directory = Path(name)
        config = write_config(
            directory, port=port, pool_size=pool_size, users=users, cluster=cluster
        )
        log = directory / "pgbouncer.log"
        with log.open("wb") as output:
            process = subprocess.Popen(_command(config, cluster), stdout=output, stderr=output)  # noqa: S603
        try:
            _wait_until_listening(port, process, log)
            yield Pooler("127.0.0.1", port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pool-size", type=int, default=20)
    parser.add_argument("--users", default="postgres,baton_app")
    args = parser.parse_args()
    # Kept after exec (the caller removes nothing: a few hundred bytes in /tmp).
    directory = Path(tempfile.mkdtemp(prefix="baton-pgbouncer-"))
    cluster = cluster_url()
    config = write_config(
        directory,
        port=args.port,
        pool_size=args.pool_size,
        users=tuple(args.users.split(",")),
        cluster=cluster,
    )
    # In the foreground, its log on stderr, until the caller stops it.
    command = _command(config, cluster)
    os.execv(command[0], command)  # noqa: S606


if __name__ == "__main__":
    main()
