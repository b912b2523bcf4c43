"""In-app notifications: what a person should look at (a record moved, handed over …).

Written inside the transaction that caused them, so a rolled-back action notifies
no one; read and marked read through `/api/v1/me/notifications`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from baton.db.base import Base, TenantKeyed, Timestamped, Versioned, enum_check
from baton.workflow.models import EntityType


class Notification(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("length(btrim(message)) BETWEEN 1 AND 500", name="message_length"),
        CheckConstraint(
            f"entity_type IS NULL OR {enum_check('entity_type', EntityType)}",
            name="entity_type_valid",
        ),
        CheckConstraint("(entity_type IS NULL) = (record_id IS NULL)", name="record_complete"),
        Index(
            "ix_notifications_unread",
            "tenant_id",
            "user_id",
            "created_at",
            postgresql_where=text("read_at IS NULL"),
        ),
        # Not audited: reading a notification is not a change anyone needs to trace.
        {"info": {"tenancy": "tenant", "audited": False}},
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    message: Mapped[str] = mapped_column(String(500))
    entity_type: Mapped[str | None] = mapped_column(String(16))
    record_id: Mapped[uuid.UUID | None]
    read_at: Mapped[datetime | None]
