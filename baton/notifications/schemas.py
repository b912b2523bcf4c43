"""Notification shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from baton.core.schemas import Schema


class NotificationOut(Schema):
    id: uuid.UUID
    message: str
    entity_type: str | None
    record_id: uuid.UUID | None
    read_at: datetime | None
    created_at: datetime
