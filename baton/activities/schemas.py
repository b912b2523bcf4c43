"""Activity shapes (DESIGN §6 activity)."""

from __future__ import annotations

import uuid
from datetime import datetime

from baton.core.schemas import Schema


class ActivityOut(Schema):
    id: uuid.UUID
    type: str
    subject: str
    description: str | None
    due_at: datetime | None
    status: str
    outcome: str | None
    owner_id: uuid.UUID | None
    completed_at: datetime | None
    work_item_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int
