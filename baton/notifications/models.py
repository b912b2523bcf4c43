"""In-app notifications: what a person should look at (a record moved, handed over …).

Written inside the transaction that caused them, so a rolled-back action notifies
no one; read and marked read through `/api/v1/me/notifications` and the
Notifications page. A notification of an emailed kind (`EMAILED_KINDS`) also queues
its email in that transaction (`baton.notifications.email`); `email_sent_at` records
that it went, so the job sends it once. An invitation's link and a welcome are emails
only (`email.queue_invitation`, `email.queue_welcome`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from baton.db.base import Base, TenantKeyed, Timestamped, Versioned, enum_check
from baton.workflow.models import EntityType


class NotificationKind(StrEnum):
    """What a notification is about; which kinds a member gets by email is theirs to
    choose (`memberships.muted_emails`)."""

    # A record of theirs moved (a workflow's `notify_owner`): in the app only.
    UPDATE = "update"
    # A lead, deal or work item was given to them by someone else.
    ASSIGNMENT = "assignment"
    # A pooled lead past its claim due time (managers and admins).
    ESCALATION = "escalation"
    # The daily digest of their deals whose next step is overdue.
    DIGEST = "digest"


# The kinds also sent by email (when `BATON_SMTP_URL` is set), unless the member
# muted them.
EMAILED_KINDS = frozenset(
    {
        NotificationKind.ASSIGNMENT,
        NotificationKind.ESCALATION,
        NotificationKind.DIGEST,
    }
)


class Notification(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("length(btrim(message)) BETWEEN 1 AND 500", name="message_length"),
        CheckConstraint(
            f"entity_type IS NULL OR {enum_check('entity_type', EntityType)}",
            name="entity_type_valid",
        ),
        CheckConstraint("(entity_type IS NULL) = (record_id IS NULL)", name="record_complete"),
        CheckConstraint(enum_check("kind", NotificationKind), name="kind_valid"),
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
    kind: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(String(500))
    entity_type: Mapped[str | None] = mapped_column(String(16))
    record_id: Mapped[uuid.UUID | None]
    read_at: Mapped[datetime | None]
    # When its email went out (null: not emailed, or not yet).
    email_sent_at: Mapped[datetime | None]
