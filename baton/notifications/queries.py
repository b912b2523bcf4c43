"""Reading one member's notifications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
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
