"""Requests that write with one statement run without an explicit transaction.

A deal move is five round trips in a transaction: BEGIN, authentication, the load,
the move, COMMIT. The move is one statement (the deal, its history, its timeline
entry, the audit rows and the board totals, through triggers), and PostgreSQL runs
a statement sent outside a transaction as a transaction of its own: all of it or
nothing, flushed before the answer comes back. Without BEGIN and COMMIT the move is
three round trips.

How (`RequestTransaction`): an API call with a bearer token or API key and no
Idempotency-Key, to a route marked `@autocommit_route`, takes a connection from
`Database.autocommit_pool()` and authenticates on it with
`baton_authenticate_session`, whose settings (tenant, actor, role, request) stay on
the connection for the next statements — RLS, audit and the workflow guard read them
there. Every request on that pool starts with that call, which replaces each of them,
so nothing of one request reaches the next. The endpoint finds the connection in
`ctx.autocommit`; `ctx.session` refuses to connect.

The service reads, checks, and writes with exactly one statement. Whenever it would
need more — a second write (transition effects), a rebalance, a reorder placed again,
a workflow not in the cache — it raises `NeedsTransaction` *before* writing anything,
and the request is run again from the start the usual way, in one transaction. An
Idempotency-Key keeps the usual way: its stored answer must commit with the write.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from starlette.routing import BaseRoute, Route

_MARK = "__baton_autocommit__"

F = TypeVar("F", bound=Callable[..., Any])


class NeedsTransaction(Exception):
    """The autocommit request needs a transaction after all; raised before any write,
    so the request can run again in one."""


def autocommit_route(endpoint: F) -> F:
    """Mark an endpoint whose service writes with one statement in autocommit mode
    (and raises `NeedsTransaction` otherwise)."""
    setattr(endpoint, _MARK, True)
    return endpoint


def autocommit_paths(routes: Iterable[BaseRoute]) -> tuple[re.Pattern[str], ...]:
    """The path patterns of the marked routes."""
    return tuple(
        route.path_regex
        for route in routes
        if isinstance(route, Route) and getattr(route.endpoint, _MARK, False)
    )
