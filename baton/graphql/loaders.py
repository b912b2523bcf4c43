"""The request's data loaders: whatever number of records a query names, one
statement per kind of link (accounts, members, contacts), each run under the
request's lock (`GraphContext.run`)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from baton.accounts import queries as account_queries
from baton.contacts.models import Contact as ContactRow
from baton.contacts.schemas import ContactOut
from baton.graphql import types
from baton.identity.queries import member_names
from baton.workflow.api import workflow_out
from baton.workflow.queries import workflow_details
from baton.workflow.schemas import WorkflowOut

if TYPE_CHECKING:
    from baton.graphql.context import GraphContext


class Loaders:
    def __init__(self, graph: GraphContext) -> None:
        self.graph = graph
        self.accounts = DataLoader[uuid.UUID, types.Account | None](load_fn=self._accounts)
        self.members = DataLoader[uuid.UUID, types.Member | None](load_fn=self._members)
        self.contacts = DataLoader[uuid.UUID, types.Contact | None](load_fn=self._contacts)
        self.workflows = DataLoader[uuid.UUID, WorkflowOut | None](load_fn=self._workflows)

    async def _accounts(self, keys: list[uuid.UUID]) -> list[types.Account | None]:
        session = self.graph.ctx.session
        found = await self.graph.run(account_queries.shown_accounts_by_ids, session, keys)
        return [types.account_of_row(found[k]) if k in found else None for k in keys]

    async def _members(self, keys: list[uuid.UUID]) -> list[types.Member | None]:
        names = await self.graph.run(member_names, self.graph.ctx.session, keys)
        return [types.Member(id=k, full_name=names[k]) if k in names else None for k in keys]

    async def _contacts(self, keys: list[uuid.UUID]) -> list[types.Contact | None]:
        async def load() -> dict[uuid.UUID, Any]:
            rows = await self.graph.ctx.session.scalars(
                select(ContactRow).where(ContactRow.id.in_(set(keys)))
            )
            return {row.id: row for row in rows}

        found = await self.graph.run(load)
        return [
            types.build(types.Contact, ContactOut.model_validate(found[k])) if k in found else None
            for k in keys
        ]

    async def _workflows(self, keys: list[uuid.UUID]) -> list[WorkflowOut | None]:
        """Workflows with their steps and transitions, as REST's `GET /workflows/{id}`."""
        found = await self.graph.run(workflow_details, self.graph.ctx.session, keys)
        return [workflow_out(found[k]) if k in found else None for k in keys]
