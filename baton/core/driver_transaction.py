"""Requests that write with one statement skip SQLAlchemy's session.

A deal move is authentication, a load and one writing statement (the deal, its
history, its timeline entry, the audit rows and the board totals, through triggers).
Through SQLAlchemy's session each costs its execution path, and the checkout and
commit theirs (docs/benchmarks.md). A route marked `@driver_transaction_route` runs
instead on a connection of `Database.driver_transaction_pool()` (asyncpg's own), in a
transaction begun and ended on the driver: BEGIN, authentication, load, move, COMMIT.
(Until `b7d2e9f4a1c6` this path ran without a transaction and was called
"autocommit"; docs/benchmarks.md keeps that name in its history.)

Nothing depends on session state surviving between statements. Every setting the
request makes — tenant, actor, role and request id (`baton_authenticate`), the
transition's reason, notes and fields (the load) — is transaction-local
(`set_config(…, true)`), so it lasts exactly as long as the transaction that needs
it and ends with it. That is what makes a transaction-mode pooler (PgBouncer) safe
in front of the database: it hands a server connection to one client for a whole
transaction, and nothing of one client's transaction reaches the next
(`tests/deals/test_pooled_tenancy.py` proves it over a one-connection pooler). An
earlier version ran these statements without a transaction, with the settings kept
on the connection between them (`baton_authenticate_session`): two round trips
fewer, but behind a pooler another client's statements could run in between.

How (`RequestTransaction`): an API call with a bearer token or API key and no
Idempotency-Key, to a marked route, takes a connection from the pool, begins, and
authenticates. The endpoint finds the connection in `ctx.driver_connection`;
`ctx.session` refuses to connect. A success commits; an error status or exception rolls back.

The service reads, checks, and writes with exactly one statement. Whenever it would
need more — a second write (transition effects), a rebalance, a reorder placed again,
a workflow not in the cache — it raises `NeedsSessionTransaction` *before* writing anything,
the driver's transaction is rolled back, and the request runs again from the start
the usual way, in the session's transaction. (`/graphql` declines the same way when a
resolver raised it, or reached for the session: its transaction on the driver is
rolled back whole, so even a move already written there is undone before the re-run.)
An Idempotency-Key keeps the usual way: its stored answer must commit with the write.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from starlette.routing import BaseRoute, Route

_MARK = "__baton_driver_transaction__"

F = TypeVar("F", bound=Callable[..., Any])
# Which request bodies of a marked route run on the driver.
BodyTest = Callable[[bytes], bool]


class NeedsSessionTransaction(Exception):
    """The one-statement request needs the session's transaction after all; raised
    before any write, so the request can run again there."""


def _any_body(body: bytes) -> bool:
    return True


def driver_transaction_route(endpoint: F) -> F:
    """Mark an endpoint whose service writes with one statement on the driver's
    connection (and raises `NeedsSessionTransaction` otherwise)."""
    setattr(endpoint, _MARK, _any_body)
    return endpoint


def driver_transaction_route_for(accepts: BodyTest) -> Callable[[F], F]:
    """Mark an endpoint that runs on the driver for the bodies `accepts` (the others
    go the usual way at once, without an attempt): `/graphql` for a document that is
    one deal move, the REST move's twin."""

    def mark(endpoint: F) -> F:
        setattr(endpoint, _MARK, accepts)
        return endpoint

    return mark


def driver_transaction_paths(
    routes: Iterable[BaseRoute],
) -> tuple[tuple[re.Pattern[str], BodyTest], ...]:
    """The path patterns of the marked routes, each with its test of the body."""
    return tuple(
        (route.path_regex, getattr(route.endpoint, _MARK))
        for route in routes
        if isinstance(route, Route) and getattr(route.endpoint, _MARK, None) is not None
    )
