"""Webhook endpoint and delivery shapes (`/api/v1/webhooks`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from baton.core.schemas import Schema
from baton.webhooks.models import MAX_URL

Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL)]
EventName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Version = Annotated[int, Field(ge=1, le=2_147_483_647)]


class EndpointIn(Schema):
    url: Url
    # Event types (`GET /api/v1/webhooks/event-types`), or ["*"] for all of them.
    events: list[EventName] = Field(min_length=1, max_length=64)
    description: Description = ""


class EndpointPatch(Schema):
    url: Url | None = None
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=64)
    description: Description | None = None
    # true enables a disabled endpoint again (its failure clock starts over).
    enabled: bool | None = None
    version: Version | None = None


class EndpointOut(Schema):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class EndpointCreated(EndpointOut):
    # The signing secret (`whsec_…`): in this answer only, never again.
    secret: str


class DeliveryOut(Schema):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    # The event's id: the `webhook-id` header of every attempt and redelivery.
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    response_status: int | None
    latency_ms: int | None
    response_excerpt: str | None
    error: str | None
    delivered_at: datetime | None
    created_at: datetime


class EventTypesOut(Schema):
    items: list[str]
