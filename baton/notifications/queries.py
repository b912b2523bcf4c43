"""Reading one member's notifications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from baton.core.pagination import PageRequest
from baton.db.driver import DriverStatement
from baton.notifications.models import Notification


async def for_user(
    session: AsyncSession, user_id: uuid.UUID, page: PageRequest, unread_only: bool
) -> Sequence[Notification]:
    """Newest first; one row more than the page, to tell whether another page follows."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if page.after is not None:
        query = query.where(Notification.id < page.after)
    query = query.order_by(Notification.id.desc()).limit(page.limit + 1)
    return (await session.scalars(query)).all()


# The bell shows "99+" past this; counting stops there, so a member with thousands
# unread costs what one with a hundred does.
UNREAD_SHOWN = 99


# Every whole page sends it (the bell): straight to the driver, as the sign-in is.
_UNREAD = DriverStatement.of(
    text(
        "SELECT count(*) AS unread FROM (SELECT 1 FROM notifications"
        " WHERE user_id = :user_id AND read_at IS NULL LIMIT :cap) AS capped"
    )
)


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    """The member's unread notifications, up to `UNREAD_SHOWN + 1`: one index scan of
    `ix_notifications_unread` (RLS adds the tenant)."""
    row = await _UNREAD.fetchrow(session, {"user_id": user_id, "cap": UNREAD_SHOWN + 1})
    return int(row["unread"]) if row else 0
