"""Reading one member's notifications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.core.pagination import PageRequest
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


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    """The member's unread notifications, up to `UNREAD_SHOWN + 1`: one index-only
    scan of `ix_notifications_unread` (RLS adds the tenant)."""
    capped = (
        select(Notification.id)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .limit(UNREAD_SHOWN + 1)
        .subquery()
    )
    return int(await session.scalar(select(func.count()).select_from(capped)) or 0)
