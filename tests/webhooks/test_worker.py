"""A real `baton worker` process delivers webhooks; killed mid-delivery (SIGKILL), the
delivery is made after a restart, with the same `webhook-id`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import httpx

from baton.config import Settings
from baton.db.engine import Database
from tests.factories import register_tenant
from tests.webhooks.receiver import receiving
from tests.webhooks.support import add_endpoint, deliveries_of, emit_one


async def _start_worker() -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "baton",
        "worker",
        env={**os.environ, "BATON_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 40) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def test_a_worker_killed_mid_delivery_delivers_after_restart_with_the_same_id(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    # The first request is never answered: the worker is killed while it waits.
    async with receiving(None, 200) as receiver:
        endpoint = await add_endpoint(client, admin, receiver.url)
        event_id = await emit_one(database, settings, admin)
        worker = await _start_worker()
        try:
            await asyncio.wait_for(receiver.arrived.wait(), timeout=40)
            worker.send_signal(signal.SIGKILL)
            await worker.wait()
        finally:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
        [delivery] = await deliveries_of(owner_conn, endpoint["id"])
        assert delivery["status"] == "delivering"  # leased by the dead worker
        assert delivery["attempts"] == 1
        # The lease runs out (time passes: the row's timestamp moves).
        await owner_conn.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second'"
            " WHERE id = $1",
            delivery["id"],
        )
        worker = await _start_worker()
        try:

            async def delivered() -> bool:
                rows = await deliveries_of(owner_conn, endpoint["id"])
                return rows[0]["status"] == "delivered"

            await _eventually(delivered)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(worker.wait(), timeout=30)
            except TimeoutError:
                worker.kill()
                await worker.wait()
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert ids == [str(event_id), str(event_id)]
    [delivery] = await deliveries_of(owner_conn, endpoint["id"])
    assert delivery["attempts"] == 2
    assert delivery["event_id"] == uuid.UUID(str(event_id))
