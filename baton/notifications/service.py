"""Notifying members, inside the transaction of the action that concerns them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, func, insert, update

from baton.core.context import Ctx
from baton.core.errors import NotFound
from baton.core.ids import uuid7
from baton.notifications.models import Notification
from baton.workflow.effects import MovedRecord

NOTIFICATIONS: Table = Notification.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Notice:
    """One notification to leave: for whom, what it says, the record it is about."""

    user_id: uuid.UUID
    message: str
    record: MovedRecord | None = None


async def notify(ctx: Ctx, user_id: uuid.UUID, message: str, record: MovedRecord | None) -> None:
    """Leave `user_id` a notification; it exists only if the caller's transaction commits."""
    await notify_each(ctx, [Notice(user_id, message, record)])


async def notify_each(ctx: Ctx, notices: Sequence[Notice]) -> int:
    """Leave every notice in one statement, in the caller's transaction; answers how
    many. Messages are cut to the column's 500 characters."""
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    if not notices:
        return 0
    await ctx.session.execute(
        insert(NOTIFICATIONS),
        [
            {
                "tenant_id": tenant_id,
                "id": uuid7(),
                "user_id": notice.user_id,
                "message": notice.message[:500],
                "entity_type": notice.record.entity_type.value if notice.record else None,
                "record_id": notice.record.id if notice.record else None,
            }
            for notice in notices
        ],
    )
    return len(notices)


async def mark_read(ctx: Ctx, notification_id: uuid.UUID) -> None:
    """Members mark their own notifications read; anyone else's is 404.

    Marking one read again keeps the time it was first read.
    """
    principal = ctx.require_principal()
    result = await ctx.session.execute(
        update(NOTIFICATIONS)
        .where(
            NOTIFICATIONS.c.id == notification_id,
            NOTIFICATIONS.c.user_id == principal.user_id,
        )
        .values(
            read_at=func.coalesce(NOTIFICATIONS.c.read_at, datetime.now(UTC)),
            version=NOTIFICATIONS.c.version + 1,
        )
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("No such notification")
