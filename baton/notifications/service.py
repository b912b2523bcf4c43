"""Notifying members, inside the transaction of the action that concerns them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, func, insert, select, update

from baton.core.context import Ctx
from baton.core.errors import NotFound
from baton.core.ids import uuid7
from baton.notifications.email import QueuedNotice, queue_emails
from baton.notifications.models import Notification, NotificationKind
from baton.workflow.effects import MovedRecord

NOTIFICATIONS: Table = Notification.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Notice:
    """One notification to leave: for whom, what it says, the record it is about."""

    user_id: uuid.UUID
    message: str
    record: MovedRecord | None = None
    kind: NotificationKind = NotificationKind.UPDATE


async def notify(
    ctx: Ctx,
    user_id: uuid.UUID,
    message: str,
    record: MovedRecord | None,
    kind: NotificationKind = NotificationKind.UPDATE,
) -> None:
    """Leave `user_id` a notification; it exists only if the caller's transaction commits."""
    await notify_each(ctx, [Notice(user_id, message, record, kind)])


async def notify_each(ctx: Ctx, notices: Sequence[Notice]) -> int:
    """Leave every notice in one statement, in the caller's transaction; answers how
    many. Messages are cut to the column's 500 characters. The emails of emailed kinds
    are queued in the same transaction (`baton.notifications.email`)."""
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    if not notices:
        return 0
    queued = [QueuedNotice(uuid7(), notice.user_id, notice.kind.value) for notice in notices]
    await ctx.session.execute(
        insert(NOTIFICATIONS),
        [
            {
                "tenant_id": tenant_id,
                "id": queued_notice.id,
                "user_id": notice.user_id,
                "kind": notice.kind.value,
                "message": notice.message[:500],
                "entity_type": notice.record.entity_type.value if notice.record else None,
                "record_id": notice.record.id if notice.record else None,
            }
            for notice, queued_notice in zip(notices, queued, strict=True)
        ],
    )
    await queue_emails(ctx, queued)
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


async def mark_all_read(ctx: Ctx) -> int:
    """The caller marks every unread notification of theirs read; answers how many."""
    principal = ctx.require_principal()
    result = await ctx.session.execute(
        update(NOTIFICATIONS)
        .where(NOTIFICATIONS.c.user_id == principal.user_id, NOTIFICATIONS.c.read_at.is_(None))
        .values(read_at=func.now(), version=NOTIFICATIONS.c.version + 1)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def open_notification(ctx: Ctx, notification_id: uuid.UUID) -> Notification:
    """Following one marks it read (the caller's own; anyone else's is 404) and
    answers it, for its record's page."""
    principal = ctx.require_principal()
    await mark_read(ctx, notification_id)
    found = await ctx.session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == principal.user_id
        )
    )
    if found is None:
        raise NotFound("No such notification")
    return found
