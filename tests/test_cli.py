"""The `baton` command line, run as a user would (in-process and as a module)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import pytest
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from baton import __version__
from baton.cli import app
from baton.db.urls import libpq_dsn
from baton.demo import DEMO_LOGINS, DEMO_SLUG
from tests.factories import PASSWORD, unique

runner = CliRunner()


def test_version_and_python_dash_m() -> None:
    assert runner.invoke(app, ["version"]).stdout.strip() == __version__
    module = subprocess.run(
        [sys.executable, "-m", "baton", "version"], capture_output=True, text=True, check=True
    )
    assert module.stdout.strip() == __version__


@pytest.mark.xdist_group("demo")
def test_demo_is_idempotent_and_prints_the_logins(owner_url: URL) -> None:
    first = runner.invoke(app, ["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["demo"])
    assert second.exit_code == 0, second.output
    for login in DEMO_LOGINS:
        assert login.email in second.stdout
    counts = _run(
        "SELECT m.role, count(*) FROM memberships m JOIN tenants t ON t.id = m.tenant_id"
        " JOIN users u ON u.id = m.user_id WHERE t.slug = $1 AND u.email = ANY($2::text[])"
        " GROUP BY m.role ORDER BY m.role",
        owner_url,
        DEMO_SLUG,
        [login.email for login in DEMO_LOGINS],
    )
    assert counts == [("admin", 1), ("manager", 1), ("marketing", 1), ("sales", 2), ("viewer", 1)]


def test_user_create_adds_a_member_and_explains_errors(owner_url: URL) -> None:
    runner.invoke(app, ["demo"])
    email = f"{unique('cli')}@example.com"
    args = ["user", "create", "--tenant", DEMO_SLUG, "--email", email, "--full-name", "Cli User"]
    created = runner.invoke(app, [*args, "--role", "marketing", "--password", PASSWORD])
    assert created.exit_code == 0, created.output
    assert f"{email} is now marketing of {DEMO_SLUG}" in created.stdout
    bad_role = runner.invoke(app, [*args, "--role", "boss", "--password", PASSWORD])
    assert bad_role.exit_code == 1
    assert "role" in bad_role.stderr
    no_tenant = runner.invoke(
        app,
        [
            "user",
            "create",
            "--tenant",
            "nope",
            "--email",
            email,
            "--full-name",
            "X",
            "--password",
            PASSWORD,
        ],
    )
    assert no_tenant.exit_code == 1
    assert "No organization with slug 'nope'" in no_tenant.stderr


def test_db_current_reports_head() -> None:
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines())
    assert lines["current"].strip() == lines["head"].strip()


def test_prod_refuses_a_dev_secret_and_the_embedded_database() -> None:
    env = {
        **os.environ,
        "BATON_ENV": "prod",
        "BATON_SECRET_KEY": "dev-" + "x" * 40,
        "BATON_DATABASE_URL": "postgresql://db.example/baton",
    }
    result = subprocess.run(
        [sys.executable, "-m", "baton", "db", "current"], capture_output=True, text=True, env=env
    )
    assert result.returncode == 2
    assert "BATON_SECRET_KEY must be set" in result.stderr
    assert "Traceback" not in result.stderr
    del env["BATON_DATABASE_URL"]
    env["BATON_SECRET_KEY"] = "s" * 40
    embedded = subprocess.run(
        [sys.executable, "-m", "baton", "version"], capture_output=True, text=True, env=env
    )
    assert embedded.returncode == 2
    assert "BATON_DATABASE_URL must point at a managed PostgreSQL" in embedded.stderr


def _run(sql: str, url: URL, *args: object) -> list[tuple[object, ...]]:
    async def fetch() -> list[tuple[object, ...]]:
        conn = await asyncpg.connect(libpq_dsn(url))
        try:
            return [tuple(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(fetch())
