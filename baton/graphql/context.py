"""What every resolver receives: the request's unit of work and its data loaders.

graphql-core resolves sibling fields concurrently, but one `AsyncSession` (one
connection, one transaction) takes one statement at a time: every database call of a
resolver or a loader runs under `GraphContext.lock`. A resolver never awaits a loader
while it holds the lock (the loader's batch takes it too).

graphql-core cancels the sibling resolvers of a field that failed; a statement
cancelled half-way would close the connection under the unit of work. So each call
runs shielded, as its own task, and the route waits for all of them (`settle`) before
the unit of work commits or rolls back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from baton.core.context import Ctx, Principal

if TYPE_CHECKING:
    from baton.graphql.loaders import Loaders

T = TypeVar("T")


@dataclass
class GraphContext:
    ctx: Ctx
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    loaders: Loaders = field(init=False)
    pending: set[asyncio.Future[Any]] = field(default_factory=set)
    # The answer is written with orjson (the HTTP route): resolvers may hand objects
    # whose JSON the database wrote (`baton.graphql.executor.Written`).
    splices_json: bool = False
    # The executor running the request (`BatonExecutor` sets itself).
    executor: Any = None

    def __post_init__(self) -> None:
        from baton.graphql.loaders import Loaders

        self.loaders = Loaders(self)

    @property
    def principal(self) -> Principal:
        return self.ctx.require_principal()

    async def run(self, call: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """One service (or REST-shaping) call on the request's unit of work, alone, and
        to its end even if the resolver that made it is cancelled."""

        async def alone() -> T:
            async with self.lock:
                return await call(*args, **kwargs)

        task = asyncio.ensure_future(alone())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        return await asyncio.shield(task)

    async def settle(self) -> None:
        """Wait for every call still running (their resolvers were cancelled)."""
        while self.pending:
            await asyncio.gather(*list(self.pending), return_exceptions=True)
