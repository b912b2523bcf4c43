"""Notification shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from baton.core.schemas import Schema


class NotificationOut(Schema):
    id: uuid.UUID
    # update | assignment | escalation | digest | invitation
    kind: str
    message: str
    entity_type: str | None
    record_id: uuid.UUID | None
    read_at: datetime | None
    # When its email was sent; null: not emailed (or not yet).
    email_sent_at: datetime | None
    created_at: datetime


class MarkedOut(Schema):
    # How many notifications this call marked read.
    marked: int


class UnreadOut(Schema):
    # Unread notifications, counted up to 100 (the bell shows "99+" past 99).
    unread: int
