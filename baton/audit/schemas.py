"""Shapes of the change trail (`GET /audit`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from baton.core.schemas import Schema


class FieldChangeOut(Schema):
    field: str
    # As stored (JSON): secrets read "[redacted]".
    before: Any
    after: Any


class AuditEntryOut(Schema):
    id: int
    at: datetime
    # insert | update | delete | security
    action: str
    # For a security event: login.ok, api_key.created, …
    event: str | None
    # deal | lead | account | contact | target; null for other tables and events
    entity_type: str | None
    entity_id: uuid.UUID | None
    table_name: str | None
    actor_id: uuid.UUID | None
    changes: list[FieldChangeOut]
    details: dict[str, Any] | None
