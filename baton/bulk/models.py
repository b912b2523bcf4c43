"""`bulk_runs`: a bulk action too large for its request, run by the worker.

Above `SYNC_ROWS` rows the request resolves its rows (the ids sent, or what the
filter matched then), stores them here with the action and its parameters, and
answers 202; the job `bulk.run` acts on them a chunk per transaction, each row as
the request would have (`baton.bulk.service`), appending each row's result and
advancing `rows_done`, so a client polls `GET /api/v1/bulk-runs/{id}` for progress.
Operational, not audited itself: every row it changes is audited as a single change.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from baton.db.base import Base, TenantKeyed, Timestamped, Versioned, enum_check


class BulkRunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"


class BulkRun(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "bulk_runs"
    __table_args__ = (
        CheckConstraint(enum_check("status", BulkRunStatus), name="status_valid"),
        CheckConstraint(
            "entity IN ('deals', 'leads', 'targets', 'accounts', 'contacts')", name="entity_valid"
        ),
        CheckConstraint(
            "rows_total = cardinality(ids) AND rows_done BETWEEN 0 AND rows_total",
            name="progress_valid",
        ),
        CheckConstraint(
            "(status = 'completed') = (rows_done = rows_total AND finished_at IS NOT NULL)",
            name="completed_when_done",
        ),
        # The retention sweep's candidates, oldest first.
        Index(
            "ix_bulk_runs_finished_at",
            "finished_at",
            postgresql_where=text("finished_at IS NOT NULL"),
        ),
        {"info": {"tenancy": "tenant_operational"}},
    )

    entity: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    # The validated request without its rows: the action's parameters.
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, server_default="0")
    # One result per row done, in row order: {id, status, error}.
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    status: Mapped[str] = mapped_column(String(16), server_default=BulkRunStatus.RUNNING.value)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    finished_at: Mapped[datetime | None]
