"""An import batch (`import_batches`) and its file (`import_files`).

A batch is one uploaded file on its way into one kind of record: previewed (parsed,
mapped, validated, deduplicated; nothing written), running (the commit job holds
it), completed, failed (nothing written, `failure` says why) or undone. The file's
bytes sit in `import_files`, apart from the batch row, so the batch's audit rows and
its progress updates never copy them; both live in PostgreSQL, so every process and
every backup sees them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from baton.db.base import Base, TenantKeyed, Timestamped, Versioned, enum_check

MAX_FAILURE_LENGTH = 2000


class ImportKind(StrEnum):
    TARGETS = "targets"
    LEADS = "leads"
    ACCOUNTS = "accounts"
    CONTACTS = "contacts"
    TRANSACTIONS = "transactions"
    DEALS = "deals"


class ImportStatus(StrEnum):
    PREVIEWED = "previewed"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    UNDONE = "undone"


class OnDuplicate(StrEnum):
    """What a row whose dedupe key matches a live record does: nothing (skip), update
    that record, or create a new one anyway (where the kind allows two)."""

    SKIP = "skip"
    UPDATE = "update"
    CREATE = "create"


class ImportBatch(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "import_batches"
    __table_args__ = (
        CheckConstraint(enum_check("kind", ImportKind), name="kind_valid"),
        CheckConstraint(enum_check("status", ImportStatus), name="status_valid"),
        CheckConstraint(enum_check("on_duplicate", OnDuplicate), name="on_duplicate_valid"),
        CheckConstraint("length(filename) BETWEEN 1 AND 255", name="filename_length"),
        CheckConstraint(
            f"failure IS NULL OR length(failure) <= {MAX_FAILURE_LENGTH}", name="failure_length"
        ),
        CheckConstraint(
            "rows_total >= 0 AND rows_done >= 0 AND error_count >= 0 AND created >= 0"
            " AND updated >= 0 AND skipped >= 0 AND failed >= 0",
            name="counts_positive",
        ),
        Index("ix_import_batches_created", "tenant_id", "created_at"),
        {"info": {"tenancy": "tenant"}},
    )

    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    # "utf-8", "cp1252" … for CSV; "xlsx" for a workbook.
    encoding: Mapped[str] = mapped_column(String(40))
    delimiter: Mapped[str | None] = mapped_column(String(1))
    sheet: Mapped[str | None] = mapped_column(String(100))
    # The file's headers in order (deduplicated: "Email", "Email (2)").
    headers: Mapped[list[str]] = mapped_column(JSONB)
    # header → field (or null: ignored).
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB)
    on_duplicate: Mapped[str] = mapped_column(String(8))
    defaults: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # The last preview: columns with samples, the first errors, duplicates, would_*.
    preview: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, server_default="0")
    error_count: Mapped[int] = mapped_column(Integer, server_default="0")
    valid_rows_only: Mapped[bool] = mapped_column(server_default="false")
    created: Mapped[int] = mapped_column(Integer, server_default="0")
    updated: Mapped[int] = mapped_column(Integer, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, server_default="0")
    failure: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    committed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    undone_at: Mapped[datetime | None]


class ImportFile(Base):
    """The uploaded bytes of one batch; not audited (a batch's audit rows name it)."""

    __tablename__ = "import_files"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "batch_id"],
            ["import_batches.tenant_id", "import_batches.id"],
            ondelete="CASCADE",
        ),
        {"info": {"tenancy": "tenant", "audited": False}},
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
