"""The outbox and the webhook tables.

`outbox_events` holds every domain event, written with the change that caused it:
a rolled-back change leaves none, a committed one is there for the dispatcher.
`webhook_endpoints` are the receivers admins register (the signing secret is kept to
sign, never shown again after the endpoint is created). `webhook_deliveries` is the
delivery log and the queue at once: one row per event and endpoint (a redelivery or a
ping adds a row), due at `next_attempt_at`; a worker leases a due row by moving
`next_attempt_at` past the time its attempt may take.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from baton.db.base import Base, TenantKeyed, Timestamped, Versioned, enum_check

MAX_EXCERPT = 500
MAX_URL = 2000


class DeliveryStatus(StrEnum):
    # Due at `next_attempt_at` (the first attempt, or a retry after a failure).
    PENDING = "pending"
    # Leased by a worker until `next_attempt_at`; due again after that (worker lost).
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    # Every attempt failed, or the endpoint was disabled or deleted meanwhile.
    FAILED = "failed"


class OutboxEvent(TenantKeyed, Base):
    """A domain event, written by the statement or transaction of its change."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        CheckConstraint("length(type) BETWEEN 1 AND 64", name="type_length"),
        # What the dispatcher has not fanned out yet.
        Index(
            "ix_outbox_events_undispatched",
            "tenant_id",
            "id",
            postgresql_where=text("dispatched_at IS NULL"),
        ),
        # What the retention sweep removes, oldest first (baton/jobs/ddl.py).
        Index(
            "ix_outbox_events_dispatched",
            "dispatched_at",
            postgresql_where=text("dispatched_at IS NOT NULL"),
        ),
        # Events are written by everyone's changes; the audit trail has the changes.
        {"info": {"tenancy": "tenant", "audited": False}},
    )

    type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID | None]
    # The record as the REST API shows it; NULL until the dispatcher reads it when
    # the emitter left it out (the deal move's statement writes no JSON).
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    dispatched_at: Mapped[datetime | None]


class WebhookEndpoint(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint(f"length(url) BETWEEN 1 AND {MAX_URL}", name="url_length"),
        CheckConstraint("cardinality(events) >= 1", name="events_present"),
        {"info": {"tenancy": "tenant"}},
    )

    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    description: Mapped[str] = mapped_column(String(500), server_default="")
    secret: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    # The first failure since the last success: failing for 3 days disables it.
    failing_since: Mapped[datetime | None]


class WebhookDelivery(TenantKeyed, Timestamped, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(enum_check("status", DeliveryStatus), name="status_valid"),
        CheckConstraint(
            f"response_excerpt IS NULL OR length(response_excerpt) <= {MAX_EXCERPT}",
            name="excerpt_length",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["webhook_endpoints.tenant_id", "webhook_endpoints.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "event_id"], ["outbox_events.tenant_id", "outbox_events.id"]
        ),
        # The queue: what is due, in order.
        Index(
            "ix_webhook_deliveries_due",
            "tenant_id",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'delivering')"),
        ),
        # The log of one endpoint, newest first.
        Index("ix_webhook_deliveries_endpoint", "tenant_id", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_event", "tenant_id", "event_id"),
        # The finished attempts the retention sweep removes, oldest first.
        Index(
            "ix_webhook_deliveries_finished",
            "created_at",
            postgresql_where=text("status IN ('delivered', 'failed')"),
        ),
        # The log, not business data: each attempt would be an audit row.
        {"info": {"tenancy": "tenant", "audited": False}},
    )

    endpoint_id: Mapped[uuid.UUID]
    event_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(16), server_default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    last_attempt_at: Mapped[datetime | None]
    response_status: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]
