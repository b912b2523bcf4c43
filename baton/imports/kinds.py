"""What each kind of import writes: its table, the columns its fields fill, the
owner column, the dedupe key and the workflow step a new row starts at.

The commit's statements are built here from these constants (never from input):
one multi-row `INSERT … SELECT FROM unnest(…)` per chunk of new rows, one
`UPDATE … FROM unnest(…)` per chunk of matched rows (a blank cell keeps the
record's value). The tables' own triggers still run per row: the workflow
history row, the audit row, the search document, the lead's view.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import Table, TextClause, text

from baton.core.context import Ctx
from baton.imports.models import ImportKind
from baton.leads import service as lead_service
from baton.leads.models import Lead
from baton.targets import service as target_service
from baton.targets.models import Target
from baton.workflow import service as workflow_service


async def _target_start(ctx: Ctx) -> tuple[uuid.UUID, uuid.UUID]:
    flow = await target_service.target_workflow(ctx)
    return flow.workflow_id, flow.initial_step.id


async def _lead_start(ctx: Ctx) -> tuple[uuid.UUID, uuid.UUID]:
    workflow_id, version = await lead_service.lead_workflow(ctx)
    flow = await workflow_service.require_compiled(ctx, workflow_id, version)
    return workflow_id, flow.initial_step.id


@dataclass(frozen=True)
class KindWriter:
    kind: ImportKind
    table: Table
    # Text columns the fields fill, in this order in the statements' arrays.
    columns: tuple[str, ...]
    owner_column: str
    dedupe: Callable[[str | None, str | None, str], str]
    start: Callable[[Ctx], Awaitable[tuple[uuid.UUID, uuid.UUID]]]
    # Whether two live records may share a dedupe key (`on_duplicate: create`).
    duplicates_allowed: bool

    @property
    def name(self) -> str:
        return self.table.name

    def _unnest(self) -> str:
        arrays = ", ".join(f"CAST(:{c} AS text[])" for c in self.columns)
        names = ", ".join(self.columns)
        return (
            f"unnest(CAST(:ids AS uuid[]), {arrays}, CAST(:owner_ids AS uuid[]),"
            f" CAST(:dedupe_keys AS text[])) AS r(id, {names}, owner_id, dedupe_key)"
        )

    def insert(self) -> TextClause:
        names = ", ".join(self.columns)
        values = ", ".join(f"r.{c}" for c in self.columns)
        return text(
            f"INSERT INTO {self.name} (tenant_id, id, {names}, {self.owner_column},"
            " dedupe_key, workflow_id, step_id, entered_step_at, import_batch_id)"
            f" SELECT CAST(:tenant_id AS uuid), r.id, {values}, r.owner_id, r.dedupe_key,"
            " CAST(:workflow_id AS uuid), CAST(:step_id AS uuid), now(),"
            f" CAST(:batch_id AS uuid) FROM {self._unnest()}"
        )

    def update(self) -> TextClause:
        sets = ", ".join(f"{c} = coalesce(r.{c}, t.{c})" for c in self.columns)
        owner = self.owner_column
        return text(
            f"UPDATE {self.name} t SET {sets}, {owner} = coalesce(r.owner_id, t.{owner}),"
            " dedupe_key = r.dedupe_key, import_batch_id = CAST(:batch_id AS uuid),"
            " version = t.version + 1, updated_at = now()"
            f" FROM {self._unnest()} WHERE t.id = r.id AND t.deleted_at IS NULL"
        )

    @property
    def restored(self) -> tuple[str, ...]:
        """What undo puts back from an updated row's before-image."""
        return (*self.columns, self.owner_column, "dedupe_key", "import_batch_id")


WRITERS: dict[ImportKind, KindWriter] = {
    ImportKind.TARGETS: KindWriter(
        kind=ImportKind.TARGETS,
        table=Target.__table__,  # type: ignore[arg-type]
        columns=("company_name", "contact_name", "email", "phone", "notes"),
        owner_column="owner_id",
        dedupe=target_service.dedupe_key,
        start=_target_start,
        duplicates_allowed=False,
    ),
    ImportKind.LEADS: KindWriter(
        kind=ImportKind.LEADS,
        table=Lead.__table__,  # type: ignore[arg-type]
        columns=("company_name", "contact_name", "email", "phone", "source", "need", "notes"),
        owner_column="marketing_owner_id",
        dedupe=lead_service.dedupe_key,
        start=_lead_start,
        duplicates_allowed=True,
    ),
}
