"""Alembic driven from code, and the app role that the service connects as.

`baton db upgrade` runs the migrations as the owner, then (re)creates the app role:
LOGIN, no superuser, no BYPASSRLS, owning nothing, with only the grants each table
declares (`info["app_privileges"]`, default SELECT/INSERT/UPDATE/DELETE).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from baton.db import ddl, search
from baton.db.base import Base
from baton.identity import ddl as identity_ddl
from baton.jobs import ddl as jobs_ddl

ALEMBIC_DIR = Path(__file__).parent / "alembic"
DEFAULT_APP_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")


def alembic_config(owner: URL) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    config.set_main_option("timezone", "UTC")
    config.attributes["owner_url"] = owner
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    script = ScriptDirectory(str(ALEMBIC_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


def upgrade(owner: URL, revision: str = "head") -> None:
    command.upgrade(alembic_config(owner), revision)


def downgrade(owner: URL, revision: str) -> None:
    command.downgrade(alembic_config(owner), revision)


def new_revision(owner: URL, message: str, autogenerate: bool) -> None:
    command.revision(alembic_config(owner), message=message, autogenerate=autogenerate)


async def current_revision(owner: URL) -> str | None:
    engine = create_async_engine(owner)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


async def grant_app_role(owner: URL, role: str, password: str | None) -> None:
    """Create the app role if missing and give it exactly the declared privileges."""
    engine = create_async_engine(owner)
    try:
        async with engine.begin() as conn:
            await _ensure_role(conn, role, password)
            await _grant(conn, role)
    finally:
        await engine.dispose()


async def _ensure_role(conn: AsyncConnection, role: str, password: str | None) -> None:
    quoted = _ident(role)
    # Tolerates a concurrent `db upgrade` (or test worker) creating the same role: the
    # loser of that race sees duplicate_object, or unique_violation on pg_authid.
    await conn.execute(
        text(
            f"DO $$ BEGIN CREATE ROLE {quoted} LOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
    )
    unsafe = await conn.scalar(
        text(
            "SELECT NOT rolcanlogin OR rolsuper OR rolbypassrls OR rolcreatedb OR rolcreaterole"
            " FROM pg_roles WHERE rolname = :r"
        ),
        {"r": role},
    )
    if unsafe:
        await conn.execute(
            text(f"ALTER ROLE {quoted} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
        )
    if password is not None:
        # Hex digest from our own HMAC: no quoting hazard.
        await conn.execute(text(f"ALTER ROLE {quoted} PASSWORD '{password}'"))


async def _grant(conn: AsyncConnection, role: str) -> None:
    quoted = _ident(role)
    database = await conn.scalar(text("SELECT current_database()"))
    await conn.execute(text(f"GRANT CONNECT ON DATABASE {_ident(str(database))} TO {quoted}"))
    await conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
    await conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}"))
    for table in Base.metadata.sorted_tables:
        privileges = table.info.get("app_privileges", DEFAULT_APP_PRIVILEGES)
        await conn.execute(text(f"GRANT {', '.join(privileges)} ON {table.name} TO {quoted}"))
    for view in ddl.APP_VIEWS:
        await conn.execute(text(f"GRANT SELECT ON {view} TO {quoted}"))
    # The worker runs as the app role: procrastinate's functions (EXECUTE is PUBLIC's)
    # work on these tables as the invoking role.
    for table_name in jobs_ddl.PROCRASTINATE_TABLES:
        await conn.execute(
            text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table_name} TO {quoted}")
        )
    await conn.execute(text(f"GRANT SELECT ON alembic_version TO {quoted}"))
    await conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))
    for function in (
        "baton_cleanup_expired()",
        "baton_revoke_own_credentials(uuid)",
        "baton_authenticate(uuid, bytea, text, text)",
        "baton_record_as_of(text, uuid, timestamptz)",
        "baton_import_trail(text, uuid)",
        *search.FUNCTIONS,
        *identity_ddl.SIGNATURES,
        *jobs_ddl.APP_FUNCTIONS,
    ):
        await conn.execute(text(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC"))
        await conn.execute(text(f"GRANT EXECUTE ON FUNCTION {function} TO {quoted}"))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
