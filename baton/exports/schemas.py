"""The exports API's shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from baton.core.schemas import Schema
from baton.exports.models import ExportStatus


class ManifestEntry(Schema):
    table: str
    rows: int
    # SHA-256 of the table's CSV file in the ZIP.
    sha256: str


class TenantExportOut(Schema):
    id: uuid.UUID
    status: ExportStatus
    requested_by: uuid.UUID
    # Progress: tables written of all, and rows written so far.
    tables_total: int
    tables_done: int
    rows_done: int
    manifest: list[ManifestEntry] | None
    size_bytes: int | None
    sha256: str | None
    failure: str | None
    # Where the ZIP is, once completed.
    download_url: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
