"""Reads that tolerate lag go to a streaming replica (`BATON_DATABASE_REPLICA_URL`).

A route marked `@replica_route` reads only, and what it shows may be a moment old:
lists, reports, search. With a replica configured, a `GET` (or `HEAD`) of such a route
runs its whole unit of work there (`Database.replica_sessions`): authentication
(`baton_authenticate` only sets transaction-local settings, which a standby allows),
the tenant context for RLS set in that transaction exactly as on the primary, the
endpoint's queries and the page's loaders. The rate-limit counter and any audit row
of a refusal are written on the primary, on their own connections, as always.

Never marked: anything that writes, and any read a client needs to see its own write
in (a detail page after a save, a redirect's target): the replica may lag behind the
primary by the time its last WAL took to arrive. Every transaction there is READ ONLY
(`Database`), so a marked route that tried to write would fail loudly, on a replica or
not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from starlette.routing import BaseRoute, Route

_MARK = "__baton_replica__"
READ_METHODS = frozenset({"GET", "HEAD"})

F = TypeVar("F", bound=Callable[..., Any])


def replica_route(endpoint: F) -> F:
    """Mark a read-only endpoint whose answer may lag the primary (lists, reports,
    search): with a replica configured, its GETs are served from it."""
    setattr(endpoint, _MARK, True)
    return endpoint


def replica_paths(routes: Iterable[BaseRoute]) -> tuple[re.Pattern[str], ...]:
    """The path patterns of the marked routes' GETs."""
    return tuple(
        route.path_regex
        for route in routes
        if isinstance(route, Route)
        and getattr(route.endpoint, _MARK, False)
        and (route.methods or set()) <= READ_METHODS
    )
