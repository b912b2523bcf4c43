"""Running workers: `baton worker`, and the one `baton serve` runs inline.

A worker is procrastinate's: it fetches due jobs with `SKIP LOCKED` (any number of
workers on any machines share the queue, each job runs once at a time), LISTENs for
new ones, defers the periodic sweeps (each tick once, whatever the number of
workers: procrastinate's `procrastinate_periodic_defers` is unique per tick) and
stops gracefully: on SIGTERM/SIGINT (`baton worker`) or when its task is cancelled
(inline), it takes no new job and waits for the running ones.

It connects to procrastinate's tables through psycopg (procrastinate's driver) as the
app role — directly (`BATON_WORKER_DATABASE_URL`), never through a transaction pooler:
it LISTENs, and psycopg prepares statements it reuses — and runs the jobs themselves
on the app's `Database` (asyncpg), like a request. Successful jobs are deleted at
once; failed ones stay, with their error, until an admin retries them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import procrastinate
import structlog
from procrastinate import PsycopgConnector

from baton.config import Settings
from baton.db.engine import Database
from baton.db.urls import libpq_dsn, worker_url
from baton.jobs.runtime import RESOURCES, JobResources, queue

# Between polls when no NOTIFY arrives (a lost LISTEN connection, a job scheduled for
# later): the longest a due job waits for an idle worker.
POLL_SECONDS = 5.0
# A worker that lost the database starts again after the first, doubling to the last.
RESTART_SECONDS = (1.0, 30.0)

log = structlog.get_logger("baton.jobs.worker")


@asynccontextmanager
async def open_queue(
    settings: Settings, *, concurrency: int = 1
) -> AsyncIterator[procrastinate.App]:
    """The process's procrastinate app, connected as the app role while in the block.

    The pool holds the LISTEN connection, one per job being fetched or finished, and a
    spare; the jobs' own work uses the `Database` pool. The app is one per process
    (its tasks register on it at import), so one block at a time: a process runs one
    worker, inline or `baton worker`.
    """
    connector = PsycopgConnector(
        conninfo=libpq_dsn(worker_url(settings)), min_size=1, max_size=concurrency + 2
    )
    with queue.replace_connector(connector) as app:
        async with app.open_async():
            yield app


async def run_worker(
    settings: Settings,
    db: Database,
    *,
    concurrency: int = 1,
    install_signal_handlers: bool = True,
    wait: bool = True,
) -> None:
    """Run one worker until it is stopped (or, with `wait=False`, until no job is due).

    `concurrency` jobs run at once, each on its own connection from `db`'s pool. The
    worker outlives the database: procrastinate stops a worker whose LISTEN connection
    fails (PostgreSQL restarting, a connection dropped), and its queries raise while
    the server is away, so the worker is started again, after 1, 2, 4 … 30 seconds,
    until SIGTERM or Ctrl-C (`install_signal_handlers`) or until its task is cancelled
    (the server's inline worker). Either stop lets the running jobs finish.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if install_signal_handlers:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    delay = RESTART_SECONDS[0]
    try:
        while True:
            started = loop.time()
            run = asyncio.create_task(_run_once(settings, db, concurrency=concurrency, wait=wait))
            stopped = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({run, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                # A signal, or this task cancelled: procrastinate takes a cancellation
                # as a graceful stop (no new job, the running ones finish).
                if not run.done():
                    run.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await run
                stopped.cancel()
            if stop.is_set():
                return
            error = run.exception()
            if error is None and not wait:
                return
            # A worker that ran a good while before it stopped starts over at 1 s.
            if loop.time() - started > RESTART_SECONDS[1]:
                delay = RESTART_SECONDS[0]
            log.warning(
                "the job worker stopped; starting it again",
                in_seconds=delay,
                error=str(error) if error else "its connection to the database was lost",
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
                return
            delay = min(delay * 2, RESTART_SECONDS[1])
    finally:
        if install_signal_handlers:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)


async def _run_once(settings: Settings, db: Database, *, concurrency: int, wait: bool) -> None:
    async with open_queue(settings, concurrency=concurrency) as app:
        await app.run_worker_async(
            concurrency=concurrency,
            wait=wait,
            install_signal_handlers=False,
            delete_jobs="successful",
            fetch_job_polling_interval=POLL_SECONDS,
            additional_context={RESOURCES: JobResources(db=db, settings=settings)},
        )
