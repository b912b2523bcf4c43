"""Shapes of import batches (DESIGN §6 imports; issue 16 part 2)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from baton.core.schemas import Schema
from baton.targets.schemas import Version


class ColumnOut(Schema):
    header: str
    field: str | None
    sample: list[str]


class RowErrorOut(Schema):
    # None: the mapping's own error (a required field without a column).
    row: int | None
    field: str
    message: str


class DuplicatesOut(Schema):
    in_file: int
    existing: int
    # Each duplicate row with what it matches: an earlier row or a live record.
    items: list[dict[str, Any]]


class ImportOut(Schema):
    id: uuid.UUID
    kind: str
    status: str
    filename: str
    size_bytes: int
    encoding: str
    delimiter: str | None
    sheet: str | None
    sheets: list[str]
    rows_total: int
    rows_done: int
    columns: list[ColumnOut]
    unknown_columns: list[str]
    mapping: dict[str, str | None]
    on_duplicate: str
    defaults: dict[str, Any]
    errors: list[RowErrorOut]
    error_count: int
    rows_with_errors: int
    duplicates: DuplicatesOut
    would_create: int
    would_update: int
    would_skip: int
    valid_rows_only: bool
    created: int
    updated: int
    skipped: int
    failed: int
    failure: str | None
    created_by: uuid.UUID | None
    created_at: datetime
    committed_at: datetime | None
    finished_at: datetime | None
    undone_at: datetime | None
    version: int


class ImportPatch(Schema):
    """header → field (null: ignore the column); what a duplicate does; defaults
    (`owner_id`: the owner of rows without an owner column)."""

    mapping: dict[str, str | None] | None = None
    on_duplicate: str | None = None
    defaults: dict[str, Any] | None = None
    version: Version


class CommitIn(Schema):
    version: Version
    valid_rows_only: bool = False


class UndoIn(Schema):
    version: Version
    force: bool = False
