"""`baton` command line: serve, worker, db, demo, doctor, backup, restore, user, openapi,
version."""

from __future__ import annotations

import asyncio
import gc
import getpass
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError

from baton import __version__
from baton.config import Settings, WorkerMode, get_settings
from baton.core.errors import DomainError
from baton.db.engine import Database
from baton.db.urls import app_role_password, app_url, owner_url

T = TypeVar("T")

# `baton.db.migrate` (alembic, half a second to import) is imported by the commands
# that use it, so the others (demo, doctor, user) start quickly.

app = typer.Typer(help="Baton CRM", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema and roles", no_args_is_help=True)
user_app = typer.Typer(help="Users", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")


def _with_app_db(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` with the service's own (app role) database connection."""
    settings = get_settings()

    async def run() -> T:
        db = Database(app_url(settings), pool_size=2, max_overflow=0)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except DomainError as error:
        typer.secho(f"error: {error.detail}", fg=typer.colors.RED, err=True)
        for field_error in error.errors:
            typer.secho(f"  {field_error.field}: {field_error.message}", err=True)
        raise typer.Exit(1) from error


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (`baton openapi > docs/openapi.json` re-exports it)."""
    import json

    from baton.app import openapi_document

    typer.echo(json.dumps(openapi_document(), indent=2, ensure_ascii=False))


@app.command()
def version() -> None:
    """Print Baton's version."""
    typer.echo(__version__)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: BATON_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: BATON_PORT")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Server processes sharing the port. Default: the number of cores, as many"
            " as the database's max_connections allows with these pools",
        ),
    ] = None,
    supervised: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Serve the web app and API (the schema must already be migrated)."""
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    if supervised:
        # One of `--workers N`'s processes: the supervisor checked the schema and the
        # connections, and holds the port; this process joins its SO_REUSEPORT group.
        from baton.ops.supervisor import die_with_parent, listening_socket

        die_with_parent()
        _serve_one(settings, listening_socket(host, port))
        return
    _require_migrated()
    processes = _processes_that_fit(settings, workers)
    typer.echo(
        f"Baton {__version__} on http://{host}:{port}"
        + (f", {processes} processes" if processes > 1 else "")
    )
    if processes == 1:
        _serve_one(settings, None, host=host, port=port)
        return
    _supervise(settings, host, port, processes)


def _processes_that_fit(settings: Settings, asked: int | None) -> int:
    """`--workers`, refused when its pools could exceed the database's connections; by
    default the number of cores, fewer if that many would not fit."""
    from baton.ops import connection_budget

    limits = asyncio.run(connection_budget.read_server_limits(owner_url(settings)))
    if asked is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        fitting = connection_budget.most_processes(settings, limits)
        if 0 < fitting < (cores or 1):
            typer.echo(
                f"{cores} cores, but the database's connections allow {fitting} server"
                " process(es) with these pools (see --workers)"
            )
        asked = max(1, min(cores or 1, fitting))
    try:
        connection_budget.require_fit(settings, limits, asked)
    except connection_budget.ConnectionBudgetExceeded as refusal:
        typer.secho(f"error: {refusal}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from refusal
    return asked


def _supervise(settings: Settings, host: str, port: int, processes: int) -> None:
    from baton.core.metrics import MULTIPROCESS_DIR
    from baton.ops.supervisor import Supervisor, hold_port

    try:
        held = hold_port(host, port)
    except OSError as error:
        typer.secho(f"error: cannot use {host}:{port}: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    command = [
        sys.executable,
        "-m",
        "baton",
        "serve",
        "--host",
        host,
        "--port",
        str(port),
        "--supervised",
    ]

    # The processes' metrics files, added up by whichever answers a scrape
    # (baton.core.metrics); a fresh directory, so no old run's counts come back.
    metrics_dir = tempfile.mkdtemp(prefix="baton-metrics-")

    def env_of(index: int) -> dict[str, str]:
        env = {**os.environ, MULTIPROCESS_DIR: metrics_dir}
        # One inline job worker for the whole server (its connections were counted once).
        if index > 0:
            env["BATON_WORKER"] = WorkerMode.OFF.value
        return env

    def forget_live_gauges(pid: int) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, metrics_dir)  # type: ignore[no-untyped-call]

    try:
        code = Supervisor(command, processes, env_of, forget_live_gauges).run()
    finally:
        held.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    raise typer.Exit(code)


def _serve_one(
    settings: Settings, sock: socket.socket | None, *, host: str = "", port: int = 0
) -> None:
    """Run the app in this process until SIGTERM or SIGINT, on `sock` or host:port."""
    import uvicorn

    from baton.app import create_app

    application = create_app(settings)
    # What start-up built (modules, routes, compiled statements) lives as long as the
    # process: kept out of the collector's scans, each collection of the request
    # garbage costs about half as much (bench/work_item_move).
    gc.collect()
    gc.freeze()
    # uvicorn re-raises the stop signal after its graceful shutdown, which would skip
    # the exit handlers that stop the embedded PostgreSQL (SIGTERM) or print a
    # traceback (SIGINT); exit normally instead.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: sys.exit(0))
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock] if sock is not None else None)
    if not server.started:  # the app's start-up failed (uvicorn logged why)
        raise SystemExit(3)


def _require_migrated() -> None:
    """Exit unless the database is at the code's migration head (starts the embedded
    server when no URL is configured)."""
    from baton.db import migrate

    owner = owner_url(get_settings())
    current = asyncio.run(migrate.current_revision(owner))
    if current != migrate.head_revision():
        typer.secho(
            f"The database is at {current}, not {migrate.head_revision()}: run `baton db upgrade`.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=100, help="Jobs run at once. Default: BATON_WORKER_CONCURRENCY"),
    ] = None,
) -> None:
    """Run a job worker until SIGTERM or Ctrl-C (then it finishes its running jobs).

    Run any number, on any machines, against the same database; with them, serve
    with BATON_WORKER=off."""
    from baton.jobs.worker import run_worker

    settings = get_settings()
    _require_migrated()
    jobs_at_once = concurrency or settings.worker_concurrency

    async def run() -> None:
        # One connection per running job, and one for the error note of a failing one;
        # checked before each use, so a job after a PostgreSQL restart does not fail
        # on a connection the restart closed (a round trip is nothing beside a job).
        db = Database(app_url(settings), pool_size=jobs_at_once + 1, max_overflow=0, pre_ping=True)
        try:
            await run_worker(settings, db, concurrency=jobs_at_once)
        finally:
            await db.dispose()

    typer.echo(f"Baton {__version__} worker, {jobs_at_once} job(s) at once")
    asyncio.run(run())


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations as the owner, then create and grant the app role."""
    from baton.db import migrate

    settings = get_settings()
    owner = owner_url(settings)
    migrate.upgrade(owner, revision)
    password = None if settings.app_database_url else app_role_password(settings)
    asyncio.run(migrate.grant_app_role(owner, settings.app_db_role, password))
    typer.echo(f"database at {asyncio.run(migrate.current_revision(owner))}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1 or base")]) -> None:
    """Revert migrations down to `revision`."""
    from baton.db import migrate

    owner = owner_url(get_settings())
    migrate.downgrade(owner, revision)
    typer.echo(f"database at {asyncio.run(migrate.current_revision(owner))}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the code's head."""
    from baton.db import migrate

    owner = owner_url(get_settings())
    typer.echo(f"current: {asyncio.run(migrate.current_revision(owner))}")
    typer.echo(f"head:    {migrate.head_revision()}")


@db_app.command("rebuild-rollups")
def db_rebuild_rollups(
    tenant: Annotated[str | None, typer.Option(help="Only this organization (slug)")] = None,
) -> None:
    """Recompute the reports' rollups from their base rows (idempotent): the repair
    for what `baton doctor` reports as `open_deal_totals`, `workflow_moves` or
    `activity_days`."""
    from baton.ops.rollups import rebuild_rollups

    written = asyncio.run(rebuild_rollups(owner_url(get_settings()), tenant))
    if tenant is not None and not written:
        typer.secho(f"error: no organization with slug '{tenant}'", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    for slug, rollups in written.items():
        typer.echo(f"{slug}: " + ", ".join(f"{n} {name} row(s)" for name, n in rollups.items()))


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message")],
    autogenerate: Annotated[bool, typer.Option(help="Diff the models against the DB")] = True,
) -> None:
    """Create a new, date-prefixed migration file."""
    from baton.db import migrate

    migrate.new_revision(owner_url(get_settings()), message, autogenerate)


@app.command()
def demo() -> None:
    """Create the demo organization (Acme Logistics): one login per role, sales data
    (accounts, contacts, ledgers, deals in every stage, activities) and the lead
    journey (leads in every state, a target list), each once."""
    from baton.demo import DEMO_PASSWORD, DEMO_SLUG, DemoLogin, ensure_demo_tenant
    from baton.demo_leads import LeadsSummary, ensure_demo_leads
    from baton.demo_sales import SalesSummary, ensure_demo_sales

    async def work(db: Database) -> tuple[list[DemoLogin], SalesSummary, LeadsSummary]:
        logins = await ensure_demo_tenant(db)
        sales = await ensure_demo_sales(db)
        return logins, sales, await ensure_demo_leads(db)

    logins, sales, lead_data = _with_app_db(work)
    typer.echo(f"Demo organization '{DEMO_SLUG}' — every login's password: {DEMO_PASSWORD}")
    for login in logins:
        typer.echo(f"  {login.role.value:<10} {login.email:<26} {login.full_name}")
    typer.echo(sales.line())
    typer.echo(lead_data.line())


@app.command()
def doctor(
    tenant: Annotated[str | None, typer.Option(help="Check only this organization (slug)")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable report")] = False,
    sample: Annotated[int, typer.Option(min=0, help="Offending ids shown per check")] = 5,
) -> None:
    """Check the data's integrity as the owner, across every organization (read only).

    Exit status: 0 nothing found, 1 findings, 2 the checks could not run."""
    import json

    from sqlalchemy.exc import SQLAlchemyError

    from baton.ops.doctor import DoctorUsageError, run_doctor

    try:
        report = asyncio.run(run_doctor(owner_url(get_settings()), tenant=tenant, sample=sample))
    except DoctorUsageError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from error
    except (OSError, SQLAlchemyError) as error:
        typer.secho(f"error: cannot run the checks: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from error
    if json_output:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            typer.echo(line)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def backup(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Default: baton-backup-<UTC time>.tar here"),
    ] = None,
) -> None:
    """Write a consistent backup (pg_dump custom format + a manifest of row counts and
    checksums per table) of the whole database to one file."""
    from baton.ops import backup as backups

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = output or Path(f"baton-backup-{stamp}.tar")
    try:
        manifest = asyncio.run(backups.backup(owner_url(get_settings()), target))
    except backups.BackupError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    for line in backups.describe(manifest):
        typer.echo(line)
    typer.echo(f"backup written to {target} ({target.stat().st_size} bytes)")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A `baton backup`")],
    force: Annotated[
        bool, typer.Option(help="Replace everything in a database that holds tables")
    ] = False,
    database_url: Annotated[
        str | None,
        typer.Option(help="Restore into this database (owner URL). Default: BATON_DATABASE_URL"),
    ] = None,
) -> None:
    """Restore a backup into an empty database, recreate the app role and its grants,
    and check every table's row count and checksum against the backup's manifest.

    Exit status: 0 restored and verified, 1 refused or failed, 3 restored but the
    counts or checksums differ. Run `baton doctor` afterwards."""
    from sqlalchemy.engine import make_url

    from baton.ops import backup as backups

    settings = get_settings()
    target = (
        make_url(database_url).set(drivername="postgresql+asyncpg")
        if database_url
        else owner_url(settings)
    )
    password = None if settings.app_database_url else app_role_password(settings)
    try:
        report = asyncio.run(
            backups.restore(
                file, target, app_role=settings.app_db_role, app_password=password, force=force
            )
        )
    except backups.BackupError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    for line in backups.describe(report.manifest):
        typer.echo(line)
    if not report.ok:
        typer.secho("restored, but these tables differ from the backup:", fg=typer.colors.RED)
        for line in backups.mismatch_lines(report):
            typer.echo(line)
        raise typer.Exit(3)
    typer.echo("restored; every table's row count and checksum matches the backup")
    from baton.db import migrate

    if report.manifest.migration_head != migrate.head_revision():
        typer.echo(
            f"the backup is at migration {report.manifest.migration_head}; this Baton is at"
            f" {migrate.head_revision()}: run `baton db upgrade`"
        )
    typer.echo("next: `baton doctor`")


@user_app.command("create")
def user_create(
    tenant: Annotated[str, typer.Option(help="Organization slug")],
    email: Annotated[str, typer.Option()],
    full_name: Annotated[str, typer.Option("--full-name")],
    role: Annotated[str, typer.Option(help="admin|manager|marketing|sales|viewer")] = "sales",
    password: Annotated[str | None, typer.Option(help="Prompted when omitted")] = None,
) -> None:
    """Add a member to an organization, as its first admin would."""
    from baton.core.schemas import parse_input
    from baton.identity import service
    from baton.identity.operator import act_as_admin_of, operator_ctx
    from baton.identity.schemas import MemberIn

    secret = password or getpass.getpass("Password (12+ characters, not a common one): ")

    async def work(db: Database) -> None:
        data = parse_input(
            MemberIn, {"email": email, "full_name": full_name, "role": role, "password": secret}
        )
        async with operator_ctx(db, "user-create") as ctx:
            await act_as_admin_of(ctx, tenant)
            member = await service.add_member(ctx, data)
        typer.echo(f"{member['email']} is now {member['role']} of {tenant}")

    _with_app_db(work)


def main() -> None:
    try:
        get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            typer.secho(f"configuration error: {error['msg']}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
    app(prog_name="baton")


if __name__ == "__main__":
    main()
    sys.exit(0)
