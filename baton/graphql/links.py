"""Links: fields that answer the record another field's id names (a deal's `account`
by its `accountId`), through one of the request's data loaders.

A link is declared once (`types.link`); its resolver and the executor's shortcut
(`baton.graphql.executor`) both read it. A page that prefetched its links (the
`deals` connection loads its accounts and owners in one batch each) has them in the
loader's cache: the executor then completes the linked record at once, without a
resolver call or an awaitable per card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from strawberry.dataloader import DataLoader

    from baton.graphql.context import GraphContext

# The key of a link field's Strawberry metadata.
LINK = "baton.link"


@dataclass(frozen=True, slots=True)
class Link:
    loader: str  # the `Loaders` attribute
    key: str  # the source's attribute holding the linked record's id

    def _loader(self, graph: GraphContext) -> DataLoader[Any, Any]:
        loader: DataLoader[Any, Any] = getattr(graph.loaders, self.loader)
        return loader

    def loaded(self, source: Any, graph: GraphContext) -> tuple[bool, Any]:
        """(True, the record or None) when nothing needs loading, else (False, None)."""
        key = getattr(source, self.key)
        if key is None:
            return True, None
        future = self._loader(graph).cache_map.get(key)
        if (
            future is not None
            and future.done()
            and not future.cancelled()
            and future.exception() is None
        ):
            return True, future.result()
        return False, None

    def resolve(self, source: Any, graph: GraphContext) -> Any:
        """The record, or an awaitable of it through the loader's next batch."""
        loaded, value = self.loaded(source, graph)
        if loaded:
            return value
        return self._loader(graph).load(getattr(source, self.key))
