"""`Ctx`: what every service call receives — session, tenant, actor, request."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from baton.config import Settings
from baton.core.errors import Unauthenticated
from baton.db.driver import DriverStatement
from baton.db.engine import Database, set_transaction_context

log = structlog.get_logger("baton.ctx")


class AuthMethod(StrEnum):
    BEARER = "bearer"
    SESSION = "session"
    API_KEY = "api_key"
    # An operator at the server's shell (`baton user create`, `baton demo`).
    CLI = "cli"


@dataclass(frozen=True)
class Principal:
    """An authenticated member of one tenant."""

    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str
    user_id: uuid.UUID
    email: str
    full_name: str
    membership_id: uuid.UUID
    role: str
    method: AuthMethod
    # The token, session or API key the request came with; None for the CLI.
    credential_id: uuid.UUID | None
    # The IANA zone pages show times in and read typed times as (the member's, else the
    # organization's); stored times are UTC whatever it is.
    timezone: str = "UTC"
    # The organization's locale (BCP 47): how pages write money and read typed amounts.
    locale: str = "en-US"
    # An admin of an organization that requires two-factor sign-in of admins, without
    # it: their sign-ins reach only enrolment and sign-out (baton.identity.enrolment).
    second_factor_due: bool = False


@dataclass
class Ctx:
    """One unit of work. Services `flush()`; the owner of the Ctx commits."""

    session: AsyncSession
    db: Database
    settings: Settings
    request_id: str
    client_address: str | None = None
    user_agent: str | None = None
    principal: Principal | None = None
    # The tenant this transaction is scoped to (RLS, audit). Follows the principal,
    # or whatever `enter_tenant` set last (registration, sign-in).
    tenant_id: uuid.UUID | None = field(default=None)
    # Writes that must persist whatever becomes of this unit of work (a refused
    # attempt's audit row and failure count). The owner of the unit of work runs
    # them after it has ended — so they never need a second pooled connection
    # while this one is held — each in its own short transaction.
    durable: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Set for a request that runs in a transaction on the driver's connection
    # (`baton.core.driver_transaction`): that connection, the tenant and actor set in
    # its transaction; `session` refuses.
    driver_connection: asyncpg.Connection | None = None

    @property
    def current_tenant_id(self) -> uuid.UUID | None:
        return self.tenant_id

    @property
    def actor_id(self) -> uuid.UUID | None:
        return self.principal.user_id if self.principal else None

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated()
        return self.principal

    async def fetchrow(
        self, statement: DriverStatement, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        """A driver statement's first row, on this unit of work's connection: the
        driver's one (its own transaction), else in the session's transaction."""
        if self.driver_connection is not None:
            return await statement.fetchrow_on(
                self.driver_connection, params, engine=self.db.engine
            )
        return await statement.fetchrow(self.session, params)

    def defer_durable(self, action: Callable[[], Awaitable[None]]) -> None:
        self.durable.append(action)

    async def run_durable(self) -> None:
        """Run the deferred writes; called by the unit of work's owner once it ended."""
        actions, self.durable = self.durable, []
        for action in actions:
            try:
                await action()
            except Exception:
                # A lost audit row must not turn the caller's answer into a 500.
                log.exception("durable write failed")

    async def enter_tenant(
        self,
        tenant_id: uuid.UUID | None,
        user_id: uuid.UUID | None = None,
        role: str | None = None,
    ) -> None:
        """Scope the rest of this transaction to `tenant_id` and actor (RLS and audit)."""
        self.tenant_id = tenant_id
        await set_transaction_context(
            self.session,
            tenant_id=tenant_id,
            user_id=user_id,
            role=role,
            request_id=self.request_id,
        )
