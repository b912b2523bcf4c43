"""What every resolver receives: the request's unit of work and its data loaders.

graphql-core resolves sibling fields concurrently, but one `AsyncSession` (one
connection, one transaction) takes one statement at a time: every database call of a
resolver or a loader runs under `GraphContext.lock`. A resolver never awaits a loader
while it holds the lock (the loader's batch takes it too).
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

    def __post_init__(self) -> None:
        from baton.graphql.loaders import Loaders

        self.loaders = Loaders(self)

    @property
    def principal(self) -> Principal:
        return self.ctx.require_principal()

    async def run(self, call: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """One service (or REST-shaping) call on the request's unit of work, alone."""
        async with self.lock:
            return await call(*args, **kwargs)
