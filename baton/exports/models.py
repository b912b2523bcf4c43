"""`exports`: an organization's whole-data exports (a job's progress and its ZIP).

An admin asks for one (`POST /api/v1/exports/tenant`); the worker fills the row in
(`baton.exports.tasks`): status and progress as it goes, then the ZIP itself, kept in
PostgreSQL so every process — and every backup — has it. Operational, not audited
(the request is audited as an `export` security event; copying a ZIP into the audit
log would double its size); RLS scopes it to its organization.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from baton.db.base import Base, TenantKeyed, Timestamped, Versioned, enum_check


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class TenantExport(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "exports"
    __table_args__ = (
        CheckConstraint(enum_check("status", ExportStatus), name="status_valid"),
        CheckConstraint(
            "(status = 'completed') = (archive IS NOT NULL)", name="archive_iff_completed"
        ),
        {"info": {"tenancy": "tenant_operational"}},
    )

    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), server_default=ExportStatus.QUEUED.value)
    tables_total: Mapped[int] = mapped_column(Integer, server_default="0")
    tables_done: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_done: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # [{table, rows, sha256}] as in the ZIP's manifest.json, once completed.
    manifest: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    archive: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    failure: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
