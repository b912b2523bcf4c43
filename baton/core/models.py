"""Operational tables shared by every domain: idempotency keys and rate-limit buckets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, LargeBinary, SmallInteger, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from baton.db.base import Base


class IdempotencyRecord(Base):
    """The stored answer to a completed request, replayed for the same key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = ({"info": {"tenancy": "tenant_operational"}},)

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary)
    response_status: Mapped[int] = mapped_column(SmallInteger)
    response_headers: Mapped[dict[str, Any]] = mapped_column(JSONB)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RateLimitBucket(Base):
    """A fixed-window counter shared by every process; survives restarts."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = ({"info": {"tenancy": "global"}},)

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_started_at: Mapped[datetime]
    hits: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[datetime | None]
    # Not indexed, so the per-request counter update stays a HOT update.
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
