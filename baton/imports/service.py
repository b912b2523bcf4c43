"""Imports: upload → preview → commit (a background job) → undo.

Rules (issue 16 parts 1, 2 and 5):
- who: admins and managers import every kind; marketing imports targets (and
  leads); sales imports targets (and accounts); viewers nothing (403). Another
  organization's batches are unknown (404, RLS);
- upload (`create_batch`) parses the file (`parsing`), suggests a mapping from the
  headers (`fields.suggest_mapping`) and stores the bytes and the preview; nothing
  else is written. Every change of mapping, `on_duplicate` or defaults
  (`update_batch`, at the batch's version) recomputes the preview;
- a preview validates every row (per-row errors: the first 100 kept, all counted)
  and deduplicates by the kind's dedupe key — the one manual entry and target
  conversion use (`targets.service.dedupe_key`) — within the file (the first row
  wins) and against live records (`skip`, `update`; targets are unique by key, so
  `create` is refused for them);
- commit (`commit_batch`, at the batch's version, 409 unless previewed) marks the
  batch running and queues `imports.commit`; the job (`run_commit`) writes every
  row in one transaction — all or nothing, or with `valid_rows_only` only the rows
  without errors — with `import_batch_id` on each row it creates or updates, and
  reports progress in short transactions of its own. A database error leaves
  nothing of the batch and the batch `failed` with the reason;
- undo (`undo_batch`) soft-deletes the rows the batch created and puts the rows it
  updated back to their before-image from the audit trail; rows changed since the
  import are 409 naming them, unless `force`; imported accounts others attached
  records to since are 409 whatever `force` says.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import Table, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from baton.core.context import Ctx, Principal
from baton.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from baton.core.ids import uuid7
from baton.core.versioning import check_version
from baton.identity.models import Membership, Role, User
from baton.identity.queries import may_own_records
from baton.imports import fields as import_fields
from baton.imports.fields import OWNER_FIELD, FieldSpec
from baton.imports.kinds import WRITERS, KindWriter
from baton.imports.models import (
    MAX_FAILURE_LENGTH,
    ImportBatch,
    ImportFile,
    ImportKind,
    ImportStatus,
    OnDuplicate,
)
from baton.imports.parsing import ImportRejected, Parsed, parse
from baton.webhooks.events import emit

log = structlog.get_logger("baton.imports")

BATCHES: Table = ImportBatch.__table__  # type: ignore[assignment]
FILES: Table = ImportFile.__table__  # type: ignore[assignment]

# Errors and duplicates a preview keeps to show (all are counted).
SHOWN = 100
# Rows per statement of the commit; progress is reported after each.
CHUNK = 5000
SAMPLES = 3

KIND_ROLES: dict[ImportKind, tuple[Role, ...]] = {
    ImportKind.TARGETS: (Role.ADMIN, Role.MANAGER, Role.MARKETING, Role.SALES),
    ImportKind.LEADS: (Role.ADMIN, Role.MANAGER, Role.MARKETING),
    ImportKind.ACCOUNTS: (Role.ADMIN, Role.MANAGER, Role.SALES),
    ImportKind.CONTACTS: (Role.ADMIN, Role.MANAGER),
    ImportKind.TRANSACTIONS: (Role.ADMIN, Role.MANAGER),
    ImportKind.DEALS: (Role.ADMIN, Role.MANAGER),
}
READERS = (Role.ADMIN, Role.MANAGER, Role.MARKETING, Role.SALES)


# ---------------------------------------------------------------- roles


def _require_kind(ctx: Ctx, kind: ImportKind) -> Principal:
    principal = ctx.require_principal()
    if principal.role not in KIND_ROLES[kind]:
        raise PermissionDenied(f"Role '{principal.role}' may not import {kind.value}")
    return principal


def _require_reader(ctx: Ctx) -> Principal:
    principal = ctx.require_principal()
    if principal.role not in READERS:
        raise PermissionDenied(f"Role '{principal.role}' may not import")
    return principal


def parse_kind(value: str) -> ImportKind:
    try:
        kind = ImportKind(value)
    except ValueError:
        kind = None
    if kind is None or kind not in import_fields.SUPPORTED:
        names = ", ".join(k.value for k in import_fields.SUPPORTED)
        raise ValidationFailed(errors=[FieldError("kind", f"must be one of: {names}")])
    return kind


# ---------------------------------------------------------------- analysis


@dataclass
class RowPlan:
    row: int
    values: dict[str, Any]
    # The row's dedupe keys, the preferred first (none: always new).
    keys: tuple[str, ...]
    action: str  # create | update | skip
    existing_id: uuid.UUID | None = None

    @property
    def key(self) -> str | None:
        return self.keys[0] if self.keys else None


@dataclass
class Analysis:
    """What a commit would do with every row, and what the preview shows."""

    parsed: Parsed
    mapping: dict[str, str | None]
    plans: list[RowPlan] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_rows: dict[int, str] = field(default_factory=dict)
    mapping_errors: list[dict[str, Any]] = field(default_factory=list)
    in_file: list[dict[str, Any]] = field(default_factory=list)
    existing: list[dict[str, Any]] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for plan in self.plans if plan.action == action)

    def preview(self) -> dict[str, Any]:
        headers = self.parsed.headers
        columns = [
            {
                "header": header,
                "field": self.mapping.get(header),
                "sample": [row[index] for row in self.parsed.rows[:SAMPLES]],
            }
            for index, header in enumerate(headers)
        ]
        duplicates = [*self.in_file, *self.existing]
        duplicates.sort(key=lambda item: item["row"])
        return {
            "columns": columns,
            "unknown_columns": [h for h in headers if self.mapping.get(h) is None],
            # By row: a reference's errors (found after the cells') in their place.
            "errors": (self.mapping_errors + sorted(self.errors, key=lambda e: e["row"]))[:SHOWN],
            "error_count": len(self.mapping_errors) + len(self.errors),
            "rows_with_errors": len(self.error_rows),
            "duplicates": {
                "in_file": len(self.in_file),
                "existing": len(self.existing),
                "items": duplicates[:SHOWN],
            },
            "would_create": self.count("create"),
            "would_update": self.count("update"),
            "would_skip": self.count("skip"),
        }


async def _owners(ctx: Ctx) -> dict[str, uuid.UUID]:
    """Member email → user id, for the members who may own records."""
    rows = await ctx.session.execute(
        select(func.lower(User.email), Membership.user_id)
        .join(Membership, Membership.user_id == User.id)
        .where(may_own_records(Membership.role))
    )
    return {email: user_id for email, user_id in rows}


def _check_mapping(kind: ImportKind, headers: list[str], mapping: dict[str, Any]) -> None:
    """422 for a header the file lacks, a field the kind lacks, or a field twice."""
    names = {spec.name for spec in import_fields.fields_of(kind)}
    problems: list[FieldError] = []
    seen: set[str] = set()
    for header, name in mapping.items():
        if header not in headers:
            problems.append(FieldError(f"mapping.{header}", "is not a column of the file"))
        elif name is not None and name not in names:
            known = ", ".join(sorted(names))
            problems.append(FieldError(f"mapping.{header}", f"must be one of: {known}"))
        elif name is not None and name in seen:
            problems.append(FieldError(f"mapping.{header}", f"{name} is mapped twice"))
        if name is not None:
            seen.add(name)
    if problems:
        raise ValidationFailed(errors=problems)


def _row_errors(result: Analysis, number: int, row_errors: list[tuple[str, str]]) -> None:
    for name, message in row_errors:
        result.errors.append({"row": number, "field": name, "message": message})
    result.error_rows[number] = "; ".join(f"{n}: {m}" for n, m in row_errors)


async def analyse(
    ctx: Ctx,
    kind: ImportKind,
    parsed: Parsed,
    mapping: dict[str, str | None],
    on_duplicate: OnDuplicate,
    default_owner: uuid.UUID,
) -> Analysis:
    """Validate, deduplicate and plan every row (reads only)."""
    result = Analysis(parsed=parsed, mapping=mapping)
    specs = import_fields.fields_of(kind)
    writer = WRITERS[kind]
    mapped: dict[str, int] = {
        name: parsed.headers.index(header)
        for header, name in mapping.items()
        if name is not None and header in parsed.headers
    }
    for spec in specs:
        if spec.required and spec.name not in mapped:
            result.mapping_errors.append(
                {"row": None, "field": spec.name, "message": f"{spec.label} has no column: map one"}
            )
    owners = await _owners(ctx) if OWNER_FIELD in mapped else {}
    chosen: list[tuple[FieldSpec, int]] = [
        (spec, mapped[spec.name]) for spec in specs if spec.name in mapped
    ]
    candidates: list[RowPlan] = []
    # Every row read, with the values of its cells that parsed; a row's references
    # are checked even when one of its cells failed, so it shows all its errors.
    read: list[tuple[int, dict[str, Any]]] = []
    cell_errors: dict[int, list[tuple[str, str]]] = {}
    for number, cells in enumerate(parsed.rows, start=1):
        values: dict[str, Any] = {}
        row_errors: list[tuple[str, str]] = []
        for spec, index in chosen:
            value, message = import_fields.validate_cell(spec, cells[index])
            if message is not None:
                row_errors.append((spec.name, message))
            elif spec.name == OWNER_FIELD and value is not None:
                owner = owners.get(value)
                if owner is None:
                    row_errors.append((OWNER_FIELD, "is not a member who can own records"))
                values["owner_id"] = owner
            else:
                values[spec.name] = value
        extra = parsed.overflow.get(number)
        if extra:
            row_errors.append(("row", f"has {extra} cells past the last column"))
        if row_errors:
            cell_errors[number] = row_errors
        if result.mapping_errors:
            continue
        values.setdefault("owner_id", None)
        if values["owner_id"] is None:
            values["owner_id"] = default_owner
        read.append((number, values))
    resolved: dict[int, list[tuple[str, str]]] = {}
    if writer.resolve is not None and read:
        # References (an account, a step) are looked up once for every row.
        resolved = await writer.resolve(ctx, read)
    for number in sorted(cell_errors.keys() | resolved.keys()):
        failed = cell_errors.get(number, [])
        failed_fields = {name for name, _ in failed}
        _row_errors(
            result,
            number,
            failed + [e for e in resolved.get(number, []) if e[0] not in failed_fields],
        )
    valid = [
        (number, values)
        for number, values in read
        if number not in cell_errors and number not in resolved
    ]
    first_by_key: dict[str, int] = {}
    for number, values in valid:
        keys = writer.keys(values)
        earlier = next((first_by_key[k] for k in keys if k in first_by_key), None)
        if earlier is not None:
            result.in_file.append({"row": number, "key": keys[0], "matches_row": earlier})
            candidates.append(RowPlan(number, values, keys, "skip"))
            continue
        for key in keys:
            first_by_key.setdefault(key, number)
        candidates.append(RowPlan(number, values, keys, "create"))
    if first_by_key:
        existing = await writer.existing(ctx, list(first_by_key))
        for plan in candidates:
            if plan.action != "create":
                continue
            match = next((k for k in plan.keys if k in existing), None)
            if match is None:
                continue
            plan.existing_id = existing[match]
            result.existing.append(
                {"row": plan.row, "key": match, "record_id": str(plan.existing_id)}
            )
            if on_duplicate is OnDuplicate.UPDATE:
                plan.action = "update"
            elif on_duplicate is OnDuplicate.SKIP:
                plan.action = "skip"
    result.plans = candidates
    return result


# ---------------------------------------------------------------- batches


def _limits(ctx: Ctx) -> tuple[int, int]:
    return ctx.settings.import_max_bytes, ctx.settings.import_max_rows


def _parse_stored(ctx: Ctx, batch: ImportBatch, content: bytes) -> Parsed:
    max_bytes, max_rows = _limits(ctx)
    return parse(batch.filename, content, max_bytes=max_bytes, max_rows=max_rows, sheet=batch.sheet)


async def _load(ctx: Ctx, batch_id: uuid.UUID, *, for_update: bool = False) -> ImportBatch:
    query = select(ImportBatch).where(ImportBatch.id == batch_id)
    if for_update:
        query = query.with_for_update()
    batch = await ctx.session.scalar(query)
    if batch is None:
        raise NotFound("No such import")
    return batch


async def _content(ctx: Ctx, batch_id: uuid.UUID) -> bytes:
    content = await ctx.session.scalar(select(FILES.c.content).where(FILES.c.batch_id == batch_id))
    if content is None:
        raise NotFound("The import's file is gone")
    return bytes(content)


def _default_owner(batch: ImportBatch) -> uuid.UUID:
    owner = batch.defaults.get("owner_id") or batch.created_by
    return uuid.UUID(str(owner))


async def create_batch(
    ctx: Ctx, kind_name: str, filename: str, content: bytes, sheet: str | None = None
) -> ImportBatch:
    """Store the file and its first preview (201); nothing else is written."""
    kind = parse_kind(kind_name)
    principal = _require_kind(ctx, kind)
    name = (filename or "upload.csv").replace("\x00", "").strip()[-255:] or "upload.csv"
    max_bytes, max_rows = _limits(ctx)
    parsed = parse(name, content, max_bytes=max_bytes, max_rows=max_rows, sheet=sheet)
    mapping = import_fields.suggest_mapping(kind, parsed.headers)
    analysis = await analyse(ctx, kind, parsed, mapping, OnDuplicate.SKIP, principal.user_id)
    batch = ImportBatch(
        tenant_id=principal.tenant_id,
        id=uuid7(),
        kind=kind.value,
        status=ImportStatus.PREVIEWED.value,
        filename=name,
        size_bytes=len(content),
        encoding=parsed.encoding,
        delimiter=parsed.delimiter,
        sheet=parsed.sheet,
        headers=parsed.headers,
        mapping=mapping,
        on_duplicate=OnDuplicate.SKIP.value,
        defaults={},
        preview={**analysis.preview(), "sheets": parsed.sheets},
        rows_total=len(parsed.rows),
        error_count=len(analysis.errors) + len(analysis.mapping_errors),
        created_by=principal.user_id,
    )
    ctx.session.add(batch)
    await ctx.session.flush()
    await ctx.session.execute(
        insert(FILES).values(tenant_id=principal.tenant_id, batch_id=batch.id, content=content)
    )
    return batch


async def get_batch(ctx: Ctx, batch_id: uuid.UUID) -> ImportBatch:
    _require_reader(ctx)
    return await _load(ctx, batch_id)


async def list_batches(ctx: Ctx, limit: int = 50) -> Sequence[ImportBatch]:
    """The organization's imports, newest first."""
    _require_reader(ctx)
    rows = await ctx.session.scalars(
        select(ImportBatch)
        .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
        .limit(limit)
    )
    return rows.all()


async def update_batch(
    ctx: Ctx,
    batch_id: uuid.UUID,
    *,
    mapping: dict[str, str | None] | None,
    on_duplicate: str | None,
    defaults: dict[str, Any] | None,
    expected_version: int | None,
) -> ImportBatch:
    """Change the mapping, what duplicates do, or the defaults, and recompute the
    preview (409 stale or not previewed any more, 422 for a bad mapping)."""
    batch = await _load(ctx, batch_id, for_update=True)
    kind = ImportKind(batch.kind)
    principal = _require_kind(ctx, kind)
    check_version(batch.version, expected_version, "import")
    if batch.status != ImportStatus.PREVIEWED.value:
        raise Conflict(f"The import is {batch.status}; only a previewed import changes")
    new_mapping = dict(batch.mapping)
    if mapping is not None:
        _check_mapping(kind, batch.headers, mapping)
        new_mapping.update(mapping)
        _check_mapping(kind, batch.headers, new_mapping)
    choice = OnDuplicate(batch.on_duplicate)
    if on_duplicate is not None:
        try:
            choice = OnDuplicate(on_duplicate)
        except ValueError:
            raise ValidationFailed(
                errors=[FieldError("on_duplicate", "must be one of: skip, update, create")]
            ) from None
        if choice is OnDuplicate.CREATE and not WRITERS[kind].duplicates_allowed:
            raise ValidationFailed(
                errors=[FieldError("on_duplicate", WRITERS[kind].unique_because)]
            )
    new_defaults = dict(batch.defaults)
    if defaults is not None:
        unknown = set(defaults) - {"owner_id"}
        if unknown:
            raise ValidationFailed(
                errors=[FieldError(f"defaults.{name}", "is not a default") for name in unknown]
            )
        owner = defaults.get("owner_id")
        if owner is not None:
            try:
                owner_id = uuid.UUID(str(owner))
            except ValueError:
                owner_id = None
            if owner_id is None or owner_id not in set((await _owners(ctx)).values()):
                raise ValidationFailed(
                    errors=[FieldError("defaults.owner_id", "is not a member who can own records")]
                )
            new_defaults["owner_id"] = str(owner_id)
        else:
            new_defaults.pop("owner_id", None)
    parsed = _parse_stored(ctx, batch, await _content(ctx, batch.id))
    batch.mapping = new_mapping
    batch.on_duplicate = choice.value
    batch.defaults = new_defaults
    analysis = await analyse(
        ctx, kind, parsed, new_mapping, choice, _default_owner(batch) or principal.user_id
    )
    batch.preview = {**analysis.preview(), "sheets": parsed.sheets}
    batch.error_count = analysis.preview()["error_count"]
    await ctx.session.flush()
    return batch


async def commit_batch(
    ctx: Ctx, batch_id: uuid.UUID, expected_version: int | None, valid_rows_only: bool
) -> ImportBatch:
    """Queue the import job: 202-like (the batch, now running). 409 when the batch is
    not previewed (a second commit) or stale; 422 when rows have errors and
    `valid_rows_only` is not set, or a required field has no column."""
    from baton.imports import tasks
    from baton.jobs.defer import defer

    batch = await _load(ctx, batch_id, for_update=True)
    _require_kind(ctx, ImportKind(batch.kind))
    check_version(batch.version, expected_version, "import")
    if batch.status != ImportStatus.PREVIEWED.value:
        raise Conflict(f"The import is {batch.status}; it was committed already")
    preview = batch.preview
    missing = [e for e in preview.get("errors", []) if e.get("row") is None]
    if missing:
        raise ValidationFailed(
            "A required field has no column",
            errors=[FieldError(e["field"], e["message"]) for e in missing],
        )
    if preview.get("rows_with_errors") and not valid_rows_only:
        raise ValidationFailed(
            f"{preview['rows_with_errors']} rows have errors: fix the file or mapping,"
            " or import the valid rows only"
        )
    batch.status = ImportStatus.RUNNING.value
    batch.valid_rows_only = valid_rows_only
    batch.committed_at = datetime.now(UTC)
    batch.rows_done = 0
    await ctx.session.flush()
    await defer(ctx, tasks.commit_import, {"batch_id": str(batch.id)})
    return batch


# ---------------------------------------------------------------- the commit job


async def _progress(ctx: Ctx, batch_id: uuid.UUID, done: int) -> None:
    """rows_done, in a short transaction of its own, so pollers see it now."""
    tenant_id = ctx.current_tenant_id
    async with ctx.db.session_scope(tenant_id=tenant_id, request_id=ctx.request_id) as session:
        await session.execute(
            update(BATCHES)
            .where(BATCHES.c.id == batch_id, BATCHES.c.status == ImportStatus.RUNNING.value)
            .values(rows_done=done)
        )


def _columns(
    writer: KindWriter, plans: Sequence[RowPlan], ids: list[uuid.UUID], owners: bool
) -> dict[str, Any]:
    params: dict[str, Any] = {
        column: [p.values.get(column) for p in plans] for column in writer.arrays
    }
    params["ids"] = ids
    params["owner_ids"] = [p.values.get("owner_id") if owners else None for p in plans]
    params["dedupe_keys"] = [p.key for p in plans]
    return params


async def _write(ctx: Ctx, batch: ImportBatch, analysis: Analysis) -> tuple[int, int]:
    """The batch's rows, a chunk a statement, progress after each.

    The transaction names the batch (`baton.import_batch`) while it writes: the
    workflow guard lets the batch's own rows — and only them — start at an open step
    other than the first (an imported deal's current stage)."""
    writer = WRITERS[ImportKind(batch.kind)]
    workflow_id, step_id = await writer.start(ctx) if writer.start else (None, None)
    creates = [p for p in analysis.plans if p.action == "create"]
    updates = [p for p in analysis.plans if p.action == "update"]
    owner_mapped = OWNER_FIELD in {v for v in analysis.mapping.values() if v}
    connection = await ctx.session.connection()
    done = 0
    common = {"tenant_id": str(batch.tenant_id), "batch_id": str(batch.id)}
    flow = (
        {"workflow_id": str(workflow_id), "initial_step_id": str(step_id)} if writer.start else {}
    )
    inserting, updating = writer.insert(), writer.update()
    companion = writer.companion_insert()
    await connection.execute(
        text("SELECT set_config('baton.import_batch', :batch_id, true)"), common
    )
    for start in range(0, len(creates), CHUNK):
        chunk = creates[start : start + CHUNK]
        ids = [uuid7() for _ in chunk]
        if writer.ranked:
            ranks = await writer.ranks(ctx, [p.values for p in chunk], ids)
            for plan, rank in zip(chunk, ranks, strict=True):
                plan.values["rank"] = rank
        params = {**common, **_columns(writer, chunk, ids, True), **flow}
        await connection.execute(inserting, params)
        if companion is not None:
            await connection.execute(companion, params)
        done += len(chunk)
        await _progress(ctx, batch.id, done)
    for start in range(0, len(updates), CHUNK):
        chunk = updates[start : start + CHUNK]
        ids = [p.existing_id for p in chunk if p.existing_id is not None]
        await connection.execute(updating, {**common, **_columns(writer, chunk, ids, owner_mapped)})
        done += len(chunk)
        await _progress(ctx, batch.id, done)
    await connection.execute(text("SELECT set_config('baton.import_batch', '', true)"))
    return len(creates), len(updates)


def _failure_text(error: BaseException) -> str:
    if isinstance(error, DomainError):
        message = error.detail
    elif isinstance(error, DBAPIError):
        message = str(error.orig).splitlines()[0] if error.orig else str(error)
    else:
        message = f"{type(error).__name__}: {error}"
    return f"Nothing was imported: {message}"[:MAX_FAILURE_LENGTH]


async def run_commit(ctx: Ctx, batch_id: uuid.UUID) -> None:
    """The job: write the batch's rows in this transaction, or none of them.

    Idempotent: a batch that is not running (done, failed, or a retry after a
    commit) is left alone; two runs of one batch take turns on an advisory lock.
    Any error inside the writes rolls back to the savepoint before them and the
    batch ends `failed` with the reason (the job itself succeeds: a retry would
    fail the same way). A lost connection ends the job's transaction: nothing was
    written, the batch is still `running`, and procrastinate's retry runs it again.
    """
    session = ctx.session
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"import:{batch_id}", 0)))
    )
    batch = await session.scalar(
        select(ImportBatch)
        .where(ImportBatch.id == batch_id)
        .execution_options(populate_existing=True)
    )
    if batch is None or batch.status != ImportStatus.RUNNING.value:
        return
    kind = ImportKind(batch.kind)
    created = updated = 0
    analysis: Analysis | None = None
    failure: str | None = None
    try:
        async with session.begin_nested():
            parsed = _parse_stored(ctx, batch, await _content(ctx, batch.id))
            analysis = await analyse(
                ctx,
                kind,
                parsed,
                batch.mapping,
                OnDuplicate(batch.on_duplicate),
                _default_owner(batch),
            )
            if analysis.mapping_errors:
                raise ImportRejected(analysis.mapping_errors[0]["message"])
            if analysis.error_rows and not batch.valid_rows_only:
                raise ImportRejected(f"{len(analysis.error_rows)} rows have errors")
            created, updated = await _write(ctx, batch, analysis)
    except (DBAPIError, DomainError) as error:
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            raise
        failure = _failure_text(error)
        log.warning("import failed", batch_id=str(batch_id), failure=failure)
    values: dict[str, Any] = {
        "finished_at": func.now(),
        "version": BATCHES.c.version + 1,
        "updated_at": func.now(),
    }
    if failure is not None or analysis is None:
        values.update(
            status=ImportStatus.FAILED.value,
            failure=failure or "Nothing was imported",
            rows_done=0,
            created=0,
            updated=0,
            skipped=0,
            failed=0,
        )
    else:
        values.update(
            status=ImportStatus.COMPLETED.value,
            rows_done=batch.rows_total,
            created=created,
            updated=updated,
            skipped=analysis.count("skip"),
            failed=len(analysis.error_rows),
        )
    await session.execute(update(BATCHES).where(BATCHES.c.id == batch_id).values(**values))
    if values["status"] == ImportStatus.COMPLETED.value:
        # Integrators hear of it with the batch's counts (the webhooks' `data`).
        await emit(ctx, "import.completed", batch_id)


# ---------------------------------------------------------------- undo


async def _trail(ctx: Ctx, table: Table, batch_id: uuid.UUID) -> Sequence[Any]:
    """What the batch did to one table's rows (`baton_import_trail`), with each row's
    version now and whether it is gone (soft-deleted, or deleted from the ledger)."""
    gone = "x.deleted_at IS NOT NULL" if "deleted_at" in table.c else "x.id IS NULL"
    return (
        await ctx.session.execute(
            text(
                "SELECT t.row_id, t.action, t.before, t.left_version, x.version AS now_version,"
                f" {gone} AS gone"
                " FROM baton_import_trail(:table_name, :batch) t"
                f" LEFT JOIN {table.name} x ON x.id = t.row_id"
            ),
            {"batch": batch_id, "table_name": table.name},
        )
    ).all()


def _restored_value(table: Table, column: str, value: Any) -> Any:
    """A before-image's JSON value as the column takes it (dates, amounts, ids)."""
    if value is None:
        return None
    kind = table.c[column].type.python_type
    if kind is date:
        return date.fromisoformat(value)
    if kind is Decimal:
        return Decimal(str(value))
    if kind is uuid.UUID:
        return uuid.UUID(str(value))
    return value


async def undo_batch(
    ctx: Ctx, batch_id: uuid.UUID, expected_version: int | None, force: bool
) -> ImportBatch:
    """Soft-delete what the batch created (delete ledger lines, which have no soft
    delete), restore what it updated (409 naming the records changed since the import,
    unless `force`; 409 unless completed). Imported accounts that others have since
    attached contacts, deals or ledger lines to are 409 even with `force`: undo never
    leaves those records on a deleted account."""
    batch = await _load(ctx, batch_id, for_update=True)
    principal = _require_kind(ctx, ImportKind(batch.kind))
    check_version(batch.version, expected_version, "import")
    if batch.status != ImportStatus.COMPLETED.value:
        raise Conflict(f"The import is {batch.status}; only a completed import is undone")
    writer = WRITERS[ImportKind(batch.kind)]
    trails = [(table, await _trail(ctx, table, batch_id)) for table in writer.tables]
    changed = [
        row.row_id
        for _, trail in trails
        for row in trail
        if not row.gone and row.now_version != row.left_version
    ]
    if changed and not force:
        shown = ", ".join(str(row_id) for row_id in changed[:20])
        more = f" and {len(changed) - 20} more" if len(changed) > 20 else ""
        raise Conflict(
            f"{len(changed)} imported records changed since the import: {shown}{more};"
            " undo with force to undo anyway",
            errors=[FieldError("records", str(row_id)) for row_id in changed[:SHOWN]],
        )
    if writer.attached is not None:
        created_ids = [r.row_id for r in trails[0][1] if r.action == "insert" and not r.gone]
        attached = (
            await ctx.session.scalars(
                text(writer.attached), {"ids": created_ids, "batch_id": str(batch_id)}
            )
        ).all()
        if attached:
            # Never even with force: an account's deleting is the accounts page's (it
            # takes the account's contacts, deals and plans with it, restorably).
            shown = ", ".join(str(record_id) for record_id in attached[:20])
            raise Conflict(
                f"{len(attached)} imported {writer.name} have records added since the"
                f" import: {shown}; delete them on their page, or those records, first",
                errors=[FieldError("records", str(record_id)) for record_id in attached[:SHOWN]],
            )
    connection = await ctx.session.connection()
    for table, trail in trails:
        created = [row.row_id for row in trail if row.action == "insert" and not row.gone]
        if created and "deleted_at" in table.c:
            await connection.execute(
                update(table)
                .where(table.c.id == func.any(text("CAST(:created AS uuid[])")))
                .where(table.c.deleted_at.is_(None))
                .values(
                    deleted_at=func.now(),
                    deleted_by=principal.user_id,
                    deletion_id=uuid7(),
                    version=table.c.version + 1,
                    updated_at=func.now(),
                ),
                {"created": created},
            )
        elif created:
            # The ledger has no soft delete: its imported lines go.
            await connection.execute(
                delete(table).where(table.c.id == func.any(text("CAST(:created AS uuid[])"))),
                {"created": created},
            )
        if table is not writer.table:
            continue
        restored = [row for row in trail if row.action == "update" and not row.gone]
        for row in restored:
            before = row.before
            values: dict[str, Any] = {
                column: _restored_value(table, column, before.get(column))
                for column in writer.restored
            }
            await connection.execute(
                update(table)
                .where(table.c.id == row.row_id)
                .values(**values, version=table.c.version + 1, updated_at=func.now())
            )
    batch.status = ImportStatus.UNDONE.value
    batch.undone_at = datetime.now(UTC)
    await ctx.session.flush()
    return batch


# ---------------------------------------------------------------- the error file


def _inert(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, as text (`'` first)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


async def error_file(ctx: Ctx, batch_id: uuid.UUID) -> tuple[str, str]:
    """The rows with errors as CSV (the original cells and an `error` column) and a
    file name for it."""
    batch = await get_batch(ctx, batch_id)
    kind = ImportKind(batch.kind)
    parsed = _parse_stored(ctx, batch, await _content(ctx, batch.id))
    analysis = await analyse(
        ctx, kind, parsed, batch.mapping, OnDuplicate(batch.on_duplicate), _default_owner(batch)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*parsed.headers, "error"])
    for number, message in sorted(analysis.error_rows.items()):
        writer.writerow([_inert(cell) for cell in (*parsed.rows[number - 1], message)])
    stem = batch.filename.rsplit(".", 1)[0]
    return "\ufeff" + out.getvalue(), f"{stem}-errors.csv"
