"""Engines, sessions and the per-transaction tenant context.

Exactly one place commits: the request's transaction (`baton.core.request_transaction`)
or `Database.session_scope()` for the CLI and jobs. Services only `flush()`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from baton.db.urls import through_pooler, without_pooler_flag

_SET_CONTEXT = text(
    "SELECT set_config('baton.tenant_id', :tenant_id, true),"
    " set_config('baton.user_id', :user_id, true),"
    " set_config('baton.role', :role, true),"
    " set_config('baton.request_id', :request_id, true)"
)


async def set_transaction_context(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID | None,
    user_id: uuid.UUID | None = None,
    role: str | None = None,
    request_id: str | None = None,
) -> None:
    """Scope the current transaction to one tenant (and actor) for RLS and audit.

    The settings are transaction-local (`set_config(…, true)`), so a pooled
    connection never carries one request's tenant into the next.
    """
    await session.execute(
        _SET_CONTEXT,
        {
            "tenant_id": str(tenant_id) if tenant_id else "",
            "user_id": str(user_id) if user_id else "",
            "role": role or "",
            "request_id": request_id or "",
        },
    )


async def _keep_counter_session(connection: asyncpg.Connection) -> None:
    """A counter connection comes back to its pool as it left: its one statement
    changes no session state (no settings, locks, cursors or LISTENs). asyncpg's
    default reset would send `RESET ALL` and three more statements after every
    counted request — a round trip and more server time than the upsert itself."""


async def _decode_json(connection: asyncpg.Connection) -> None:
    """JSON in and out as the engine's connections take and give it (text in, decoded
    out), so a driver statement reads the same on either pool."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=str, decoder=json.loads, schema="pg_catalog", format="text"
        )


# After the replica failed to give a connection, its reads go to the primary this long
# before it is tried again (a dead replica costs one attempt per process per period).
REPLICA_RETRY_SECONDS = 5.0
# How long connecting to the replica may take before the primary serves the read.
REPLICA_CONNECT_TIMEOUT_SECONDS = 2.0


class SessionRefused(RuntimeError):
    """A driver-transaction request reached for the session it does not have."""


async def _refuse_connection() -> asyncpg.Connection:
    raise SessionRefused(
        "a driver-transaction request has no session: it works on ctx.driver_connection"
    )


async def _keep_driver_transaction_session(connection: asyncpg.Connection) -> None:
    """A request's driver connection comes back with its transaction ended, and with
    it every setting the request made (all transaction-local): nothing to reset.
    asyncpg's default reset (`RESET ALL` and three more statements) would cost a round
    trip a request. One left inside a transaction (a request cancelled half-way) gets
    the full reset, which rolls it back."""
    if connection.is_in_transaction():
        await connection.reset()


def _unnamed_statement() -> str:
    return ""


# Behind a transaction-mode pooler a prepared statement lives on the server connection
# of the transaction that prepared it; the next transaction may get another one
# (PgBouncer 1.18 keeps none across them). So: no statement cache in asyncpg, none in
# SQLAlchemy's asyncpg dialect, and its statements prepared unnamed, which asyncpg
# sends with the execution that follows in one go (Parse, Describe, Flush; Bind,
# Execute, Sync: one server connection) and never needs to close.
_POOLED_ENGINE_ARGS = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": _unnamed_statement,
}


class Database:
    """The app role's engine and session factory.

    `url` may carry `?pooler=transaction` (`baton.db.urls`): it goes through a
    transaction-mode pooler, and nothing is prepared to outlive a transaction."""

    def __init__(
        self,
        url: URL,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        replica_url: URL | None = None,
        pre_ping: bool = False,
        pool_timeout: float = 30.0,
    ) -> None:
        self.pooled = through_pooler(url)
        url = without_pooler_flag(url)
        self.url = url
        connect_args = dict(_POOLED_ENGINE_ARGS) if self.pooled else {}
        # `pre_ping`: each checkout first checks its connection (a round trip), so a
        # pool whose server restarted reconnects instead of failing one use of each.
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_recycle=1800,
            pool_pre_ping=pre_ping,
            # How long a request waits for a connection before it answers 503.
            pool_timeout=pool_timeout,
            connect_args=connect_args,
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        # The replica's read-only units of work (`baton.core.replica`); None without one.
        # READ ONLY even when the URL names a primary: a marked route never writes.
        self.replica_engine: AsyncEngine | None = None
        self.replica_sessions: async_sessionmaker[AsyncSession] | None = None
        self._replica_down_until = 0.0
        # The replica's URL says for itself whether it goes through a transaction-mode
        # pooler (`?pooler=transaction`): then it keeps no statement across
        # transactions either.
        self.replica_pooled = replica_url is not None and through_pooler(replica_url)
        if replica_url is not None:
            replica_args: dict[str, Any] = {"timeout": REPLICA_CONNECT_TIMEOUT_SECONDS}
            if self.replica_pooled:
                replica_args.update(_POOLED_ENGINE_ARGS)
            self.replica_engine = create_async_engine(
                without_pooler_flag(replica_url),
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_recycle=1800,
                execution_options={"postgresql_readonly": True},
                connect_args=replica_args,
            )
            self.replica_sessions = async_sessionmaker(
                self.replica_engine, expire_on_commit=False, autoflush=False
            )
        # A driver-transaction request's `Ctx.session`: it never connects. A service that
        # reaches for it there would read without the request's tenant, or write outside
        # its one statement; it fails loudly instead (`baton.core.driver_transaction`).
        self.refusing_sessions = async_sessionmaker(
            create_async_engine(url, async_creator=_refuse_connection)
        )
        # Rate-limit counters (every API request counts) on asyncpg's own pool: through
        # SQLAlchemy's pool the checkout and return cost ~0.1 ms of CPU a request,
        # three times the statement's own. Autocommit, and no wait for the WAL flush
        # (the statement turns `synchronous_commit` off for its own transaction,
        # `baton.core.rate_limit`): a crash may lose the last fraction of a second of
        # counts, which a per-minute budget tolerates; every API request saves the
        # flush (~0.25 ms).
        self._counter_pool: asyncpg.Pool | None = None
        self._asyncpg_pool_size = pool_size + max_overflow
        self._counter_pool_started = asyncio.Lock()
        # Requests that write with one statement (`baton.core.driver_transaction`), in a
        # transaction on asyncpg's pool, without SQLAlchemy's session.
        self._driver_transaction_pool: asyncpg.Pool | None = None
        self._driver_transaction_pool_started = asyncio.Lock()

    def replica_available(self) -> bool:
        """A replica is configured and has not failed within `REPLICA_RETRY_SECONDS`."""
        return self.replica_sessions is not None and time.monotonic() >= self._replica_down_until

    def replica_failed(self) -> None:
        """Send replica reads to the primary for `REPLICA_RETRY_SECONDS`."""
        self._replica_down_until = time.monotonic() + REPLICA_RETRY_SECONDS

    async def replica_answers(self) -> str | None:
        """Whether the replica answers now: None when it does, else the error's name
        (and its reads go to the primary for `REPLICA_RETRY_SECONDS`, as after a
        request's failed attempt). Without a replica: None."""
        if self.replica_engine is None:
            return None
        try:
            async with asyncio.timeout(REPLICA_CONNECT_TIMEOUT_SECONDS):
                async with self.replica_engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach it means "down"
            self.replica_failed()
            return type(exc).__name__
        return None

    async def counter_pool(self) -> asyncpg.Pool:
        """asyncpg's pool for the rate-limit counters (autocommit), as the app role;
        started on first use."""
        if self._counter_pool is None:
            async with self._counter_pool_started:
                if self._counter_pool is None:
                    self._counter_pool = await self._start_pool(reset=_keep_counter_session)
        return self._counter_pool

    async def driver_transaction_pool(self) -> asyncpg.Pool:
        """asyncpg's pool for one-statement requests (`baton.core.driver_transaction`), as the
        app role; started on first use. Only the request middleware takes from it."""
        if self._driver_transaction_pool is None:
            async with self._driver_transaction_pool_started:
                if self._driver_transaction_pool is None:
                    self._driver_transaction_pool = await self._start_pool(
                        init=_decode_json, reset=_keep_driver_transaction_session
                    )
        return self._driver_transaction_pool

    async def _start_pool(self, **options: Any) -> asyncpg.Pool:
        """One of asyncpg's pools as the app role, as large as the request pool (a
        smaller one churned through hundreds of new connections a second under load:
        bench/work_item_move)."""
        _, connect = self.engine.dialect.create_connect_args(self.url)
        if self.pooled:
            options["statement_cache_size"] = 0
        return await asyncpg.create_pool(
            **connect,
            min_size=0,
            max_size=self._asyncpg_pool_size,
            max_inactive_connection_lifetime=300,
            **options,
        )

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.replica_engine is not None:
            await self.replica_engine.dispose()
        pools = [
            pool for pool in (self._counter_pool, self._driver_transaction_pool) if pool is not None
        ]
        self._counter_pool = self._driver_transaction_pool = None
        for pool in pools:
            await pool.close()

    @asynccontextmanager
    async def session_scope(
        self,
        *,
        tenant_id: uuid.UUID | None = None,
        user_id: uuid.UUID | None = None,
        role: str | None = None,
        request_id: str | None = None,
    ) -> AsyncIterator[AsyncSession]:
        """One transaction for CLI commands and jobs: commit on success, else roll back."""
        async with self.sessions() as session, session.begin():
            await set_transaction_context(
                session, tenant_id=tenant_id, user_id=user_id, role=role, request_id=request_id
            )
            yield session
