"""Workers as they are run: `baton worker` in a process of its own (real database,
SIGTERM ends it), and the one `baton serve` runs inline with `BATON_WORKER=inline`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from baton.app import create_app
from baton.config import Settings, WorkerMode
from baton.db.engine import Database
from baton.db.urls import app_url
from baton.jobs.defer import defer
from baton.jobs.retention import retention_sweep
from baton.jobs.worker import open_queue
from tests.conftest import make_settings
from tests.factories import register_tenant, unique
from tests.jobs.support import SEEN, observe, unit_of_work


async def _eventually(check: object, seconds: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        assert callable(check)
        if await check():
            return
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def test_the_worker_command_processes_a_job_and_stops_on_sigterm(
    client: httpx.AsyncClient, settings: Settings, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    now = datetime.now(UTC)
    await owner_conn.execute(
        "INSERT INTO idempotency_keys (tenant_id, user_id, key, request_hash,"
        " response_status, response_headers, response_body, expires_at)"
        " VALUES ($1, $2, 'expired', '\\x00', 200, '{}', '\\x00', $3)",
        admin.tenant_id,
        admin.user_id,
        now - timedelta(minutes=1),
    )
    async with open_queue(settings):
        job_id = await retention_sweep.defer_async(timestamp=0)

    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "baton",
        "worker",
        "--concurrency",
        "2",
        env={**os.environ, "BATON_LOG_LEVEL": "INFO"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        async def swept() -> bool:
            job = await owner_conn.fetchval(
                "SELECT count(*) FROM procrastinate_jobs WHERE id = $1", job_id
            )
            key = await owner_conn.fetchval(
                "SELECT count(*) FROM idempotency_keys WHERE tenant_id = $1", admin.tenant_id
            )
            # Done and deleted (successful jobs are not kept), its work done.
            return job == 0 and key == 0

        await _eventually(swept)
        assert worker.returncode is None
        worker.send_signal(signal.SIGTERM)
        raw, _ = await asyncio.wait_for(worker.communicate(), timeout=30)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    output = raw.decode()
    assert worker.returncode == 0, output
    assert "worker, 2 job(s) at once" in output
    workers = await owner_conn.fetchval("SELECT count(*) FROM procrastinate_workers")
    assert workers == 0  # it unregistered on its way out


async def test_serve_runs_a_worker_inline_unless_it_is_off(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await register_tenant(client)
    for mode in (WorkerMode.OFF, WorkerMode.INLINE):
        own = make_settings(settings, worker=mode)
        db = Database(app_url(own), pool_size=3, max_overflow=0)
        app = create_app(own, db)
        key = unique(f"inline-{mode.value}")
        async with app.router.lifespan_context(app):
            async with unit_of_work(db, own, admin) as ctx:
                await defer(ctx, observe, {"key": key})

            async def ran(key: str = key) -> bool:
                return key in SEEN

            if mode is WorkerMode.INLINE:
                await _eventually(ran)
                assert SEEN[key]["tenant_id"] == str(admin.tenant_id)
            else:
                await asyncio.sleep(1)
                assert not await ran()
        # With OFF, the job stays queued for a worker: the INLINE round's takes it.
