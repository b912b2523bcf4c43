"""Domain events, written to the outbox with the change that caused them.

`emit(ctx, type, subject_id, data=None)` inserts one `outbox_events` row on the unit
of work's session: it commits with the change or not at all (a rolled-back change
emits nothing), and the worker fans it out after the commit (`delivery.pump`). The
deal move and close are one statement each (the move may even run in a transaction on
the driver, `baton.core.driver_transaction`): they write their event from that statement, with
`outbox_cte`, so the outbox costs them no round trip.

`data` is the record as the REST API shows it. Left out (None), the dispatcher reads
the record when it fans the event out (`presenters`): usually milliseconds later,
so the receiver gets the record as it is then.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, Uuid, bindparam, insert, literal, select
from sqlalchemy.sql.selectable import CTE

from baton.core.context import Ctx
from baton.core.ids import uuid7
from baton.webhooks.models import OutboxEvent

OUTBOX: Table = OutboxEvent.__table__  # type: ignore[assignment]

# Every event an endpoint may subscribe to (`["*"]`: all of them).
EVENT_TYPES: tuple[str, ...] = (
    "deal.created",
    "deal.moved",
    "deal.closed",
    "lead.created",
    "lead.qualified",
    "lead.claimed",
    "lead.rejected",
    "lead.converted",
    "target.converted",
    "account.status_changed",
    "activity.completed",
    "import.completed",
)
ALL_EVENTS = "*"
# The test message `POST /webhooks/{id}/ping` sends; no endpoint subscribes to it.
PING = "webhook.ping"


def _emitting_tenant(ctx: Ctx, types: Sequence[str]) -> uuid.UUID:
    """The tenant whose transaction the events join; a known type, a transaction and
    a tenant are the emitter's to get right (a bug otherwise)."""
    for type in types:
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type!r}")
    if ctx.driver_connection is not None:
        raise RuntimeError("emit needs the session's transaction, not the driver's")
    tenant_id = ctx.current_tenant_id
    if tenant_id is None:
        raise RuntimeError("an event belongs to a tenant; this unit of work has none")
    return tenant_id


async def emit(
    ctx: Ctx,
    type: str,
    subject_id: uuid.UUID | None,
    data: Mapping[str, Any] | None = None,
) -> uuid.UUID:
    """Write the event `type` about `subject_id` in the caller's transaction; answers
    its id (the `webhook-id` every delivery of it carries).

    `data` (JSON values: the record as the API shows it, e.g. a schema's
    `model_dump(mode="json")`) is sent as is; None lets the dispatcher read the
    record. An unknown type is a bug (ValueError), as is a unit of work without a
    tenant or a driver-transaction request (RuntimeError; such a statement uses
    `outbox_cte`).
    """
    tenant_id = _emitting_tenant(ctx, [type])
    event_id = uuid7()
    await ctx.session.execute(
        insert(OUTBOX).values(
            tenant_id=tenant_id,
            id=event_id,
            type=type,
            subject_id=subject_id,
            data=dict(data) if data is not None else None,
        )
    )
    return event_id


async def emit_each(ctx: Ctx, events: Sequence[tuple[str, uuid.UUID | None]]) -> None:
    """Several events (type, subject id) of one change in one statement (a hot path
    that writes more than one, as the claim: `lead.claimed` and `deal.created`); the
    dispatcher reads their records. Same rules as `emit`."""
    tenant_id = _emitting_tenant(ctx, [type for type, _ in events])
    await ctx.session.execute(
        insert(OUTBOX).values(
            [
                {"tenant_id": tenant_id, "id": uuid7(), "type": type, "subject_id": subject_id}
                for type, subject_id in events
            ]
        )
    )


def outbox_cte(changed: CTE, type: str, *, only_if: Any = True, name: str = "emitted") -> CTE:
    """The event `type` about the rows of `changed` (a CTE returning `tenant_id` and
    `id`), as a data-modifying CTE to add to the statement that changed them.

    Its id is the bound parameter `event_id` (one row: the statement changes one
    record); `only_if` (a SQL boolean, e.g. a bound parameter) lets the statement
    skip it. The record itself is read by the dispatcher.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    rows = select(
        changed.c.tenant_id, bindparam("event_id", type_=Uuid), literal(type), changed.c.id
    ).where(only_if)
    return (
        insert(OUTBOX)
        .from_select(["tenant_id", "id", "type", "subject_id"], rows)
        .returning(OUTBOX.c.id)
        .cte(name)
    )
