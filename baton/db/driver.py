"""Hot-path statements sent straight to asyncpg, inside the session's transaction.

SQLAlchemy's execution path (compiled-cache lookup, parameter processing, result
wrapping, greenlet hops) costs about 0.3 ms a statement on the 2-core machine, as
much as the round trip itself. The few statements every request or every move sends
are compiled once from their Core objects — so they stay checked by SQLAlchemy and
follow the models — and then run on the session connection's driver connection.

Errors come out as SQLAlchemy's `DBAPIError` (`IntegrityError` for constraint
classes), the asyncpg error as `orig`. Values go in as the driver takes them: JSON
and JSONB as text; they come back decoded (SQLAlchemy's asyncpg dialect registers
these codecs on every connection).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import ClauseElement, Connection
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler

_DIALECT = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class DriverStatement:
    """One Core statement as asyncpg SQL (`$1`, `$2` …), and its parameters' order."""

    sql: str
    names: tuple[str, ...]
    # Values bound in the statement itself (literals, constants).
    fixed: dict[str, Any]

    @classmethod
    def of(cls, statement: ClauseElement) -> DriverStatement:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        if compiled.post_compile_params:
            raise ValueError("expanding parameters (IN lists) cannot be sent on the driver")
        names = tuple(compiled.positiontup or ())
        fixed = {
            name: bind.effective_value
            for bind, name in compiled.bind_names.items()
            if not bind.required
        }
        return cls(str(compiled), names, fixed)

    def args(self, params: Mapping[str, Any] | None = None, /, **named: Any) -> list[Any]:
        """The positional arguments, from `params` (or keywords) by name, else the
        value bound in the statement."""
        given = {**(params or {}), **named}
        return [given[name] if name in given else self.fixed[name] for name in self.names]

    async def fetchrow(
        self, session: AsyncSession, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        """The first row, run in the session's transaction (begun if need be).

        Listeners of the engine's `before_cursor_execute` hear of it as of any other
        statement (the tests count statements that way)."""
        sync, driver = await _connections_of(session)
        args = self.args(params)
        if sync.dispatch.before_cursor_execute:
            sync.dispatch.before_cursor_execute(sync, None, self.sql, args, None, False)
        try:
            return await driver.fetchrow(self.sql, *args)
        except _DRIVER_ERRORS as error:
            raise await _failed(session, driver, self.sql, args, error) from error

    async def fetchrow_on(
        self, connection: asyncpg.Connection, params: Mapping[str, Any], *, engine: AsyncEngine
    ) -> asyncpg.Record | None:
        """The first row, on a connection of the driver-transaction pool (no transaction:
        the statement is its own). The engine's `before_cursor_execute` listeners
        hear of it, with no SQLAlchemy connection."""
        args = self.args(params)
        dispatch = engine.sync_engine.dispatch
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(None, None, self.sql, args, None, False)
        try:
            return await connection.fetchrow(self.sql, *args)
        except asyncpg.PostgresError as error:
            raise _as_dbapi_error(self.sql, args, error) from error

    async def fetch(self, session: AsyncSession, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        """Every row, as `fetchrow` runs it."""
        sync, driver = await _connections_of(session)
        args = self.args(params)
        if sync.dispatch.before_cursor_execute:
            sync.dispatch.before_cursor_execute(sync, None, self.sql, args, None, False)
        try:
            rows: list[asyncpg.Record] = await driver.fetch(self.sql, *args)
        except _DRIVER_ERRORS as error:
            raise await _failed(session, driver, self.sql, args, error) from error
        return rows

    async def copy_out(
        self,
        session: AsyncSession,
        params: Mapping[str, Any],
        output: Callable[[bytes], Awaitable[None]],
        **options: Any,
    ) -> None:
        """`COPY (this statement) TO STDOUT` with the COPY `options` (asyncpg's names:
        `format`, `header` …), run as `fetch` runs it; `output` is awaited with each
        chunk as it arrives (awaiting it holds the next one back)."""
        sync, driver = await _connections_of(session)
        args = self.args(params)
        if sync.dispatch.before_cursor_execute:
            sync.dispatch.before_cursor_execute(sync, None, self.sql, args, None, False)
        try:
            await driver.copy_from_query(self.sql, *args, output=output, **options)
        except asyncpg.PostgresError as error:
            raise _as_dbapi_error(self.sql, args, error) from error

    async def batches(
        self, session: AsyncSession, params: Mapping[str, Any], size: int
    ) -> AsyncIterator[list[asyncpg.Record]]:
        """Every row, `size` at a time, from a server-side cursor in the session's
        transaction (as `fetch` runs it)."""
        sync, driver = await _connections_of(session)
        args = self.args(params)
        if sync.dispatch.before_cursor_execute:
            sync.dispatch.before_cursor_execute(sync, None, self.sql, args, None, False)
        try:
            cursor = await driver.cursor(self.sql, *args)
            while rows := await cursor.fetch(size):
                yield rows
        except asyncpg.PostgresError as error:
            raise _as_dbapi_error(self.sql, args, error) from error


def _as_dbapi_error(
    sql: str, args: list[Any], error: Exception, *, connection_invalidated: bool = False
) -> DBAPIError:
    """The error SQLAlchemy would have raised, so what handles database errors for
    every other statement (the request's translation into 409/422/503) handles these."""
    sqlstate = str(getattr(error, "sqlstate", "") or "")
    kind = IntegrityError if sqlstate.startswith("23") else DBAPIError
    return kind(sql, args, error, connection_invalidated=connection_invalidated)


async def _failed(
    session: AsyncSession, driver: asyncpg.Connection, sql: str, args: list[Any], error: Exception
) -> DBAPIError:
    """A statement's error as SQLAlchemy's; a connection the server cut (a restart,
    `pg_terminate_backend`) is invalidated first, so the pool opens a new one rather
    than hand the dead one to the next request — what SQLAlchemy does for its own
    statements, which these bypass."""
    cut = driver.is_closed()
    if cut:
        await _invalidate(session, error)
    return _as_dbapi_error(sql, args, error, connection_invalidated=cut)


async def _invalidate(session: AsyncSession, error: BaseException) -> None:
    await session.run_sync(_invalidate_after_disconnect, error)


def _invalidate_after_disconnect(session: Session, error: BaseException) -> None:
    """What SQLAlchemy does when its own statement meets a disconnect
    (`Connection._handle_dbapi_exception`): every connection of the pool opened
    before now is replaced at its next checkout — a restart cut them all, and each
    would otherwise fail one request — and this one is dropped."""
    connection = session.connection()
    connection.engine.pool._invalidate(connection.connection, error)
    connection.invalidate(error)


# What a statement on the driver may raise: the server's refusals, and the driver's
# own errors on a connection the server cut (closed, or cut mid-message).
_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)

_CONNECTIONS = "baton.driver_connections"


async def _connections_of(session: AsyncSession) -> tuple[Connection, asyncpg.Connection]:
    """The session transaction's connection and the asyncpg connection under it, its
    transaction begun. Kept in `session.info` for the transaction: looking them up
    costs a greenlet hop (a fresh frame stack: an mmap and munmap), more than a
    statement's own Python."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_CONNECTIONS)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1], cached[2]
    sync, pooled = await session.run_sync(_checked_out)
    adapter, driver = pooled.dbapi_connection, pooled.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    # SQLAlchemy's asyncpg adapter sends BEGIN lazily, before its own first statement;
    # one sent here first would otherwise run outside the session's transaction.
    if adapter is not None and adapter._transaction is None:
        try:
            await adapter._start_transaction()
        except Exception as error:
            if not driver.is_closed():
                raise
            raise await _failed(session, driver, "BEGIN", [], error) from error
    session.info[_CONNECTIONS] = (session.sync_session.get_transaction(), sync, driver)
    return sync, driver


def _checked_out(session: Session) -> tuple[Connection, PoolProxiedConnection]:
    """The session's connection (checked out, its transaction begun in SQLAlchemy's
    terms) and the pooled connection under it: one greenlet hop for both."""
    connection = session.connection()
    return connection, connection.connection
