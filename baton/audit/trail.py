"""The change trail: who changed which field of a record, from what to what, when.

Read through `baton_audit_trail` (migration c4e7a9d2b816), a SECURITY DEFINER function:
the app role cannot read `audit_log` itself. The rule it shares with `read_trail`:
a member reads the trail of one record they may read (the record is read first as
the caller, so row-level security decides — a salesperson does not see the trail of
a lead a colleague claimed); only admins read the whole organization's trail, with
its security events. Secrets were redacted when the rows were written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    String,
    Table,
    Uuid,
    bindparam,
    column,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import TextClause

from baton.accounts.models import Account
from baton.cadences.models import Cadence, CadenceEnrollment
from baton.contacts.models import Contact
from baton.core.context import Ctx
from baton.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from baton.deals.models import Deal
from baton.identity.models import Role
from baton.identity.queries import member_names
from baton.leads.models import Lead
from baton.targets.models import Target
from baton.workflow.models import Status, Workflow, WorkflowStep
from baton.workitems.models import WorkItem

PAGE_LIMIT = 50


class TrailEntity(StrEnum):
    DEAL = "deal"
    LEAD = "lead"
    ACCOUNT = "account"
    CONTACT = "contact"
    TARGET = "target"


_TABLES: dict[TrailEntity, Table] = {
    TrailEntity.DEAL: Deal.__table__,  # type: ignore[dict-item]
    TrailEntity.LEAD: Lead.__table__,  # type: ignore[dict-item]
    TrailEntity.ACCOUNT: Account.__table__,  # type: ignore[dict-item]
    TrailEntity.CONTACT: Contact.__table__,  # type: ignore[dict-item]
    TrailEntity.TARGET: Target.__table__,  # type: ignore[dict-item]
}
_ENTITIES = {table.name: entity for entity, table in _TABLES.items()}

# Bookkeeping every write touches: not a change anyone made.
_UNTOLD = frozenset(
    {"id", "tenant_id", "version", "created_at", "updated_at", "entered_step_at", "rank"}
    | {"view", "dedupe_key", "name_key", "deletion_id", "search_doc", "phone_tail"}
)

_TRAIL: TextClause = text(
    "SELECT id, at, action, event, table_name, row_id, changed_columns, before, after,"
    " details, actor_user_id FROM baton_audit_trail(:table_name, :row_id, :actor_id,"
    " :since, :until, :before, :limit)"
)


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class TrailEntry:
    id: int
    at: datetime
    # insert, update, delete, or security (an event: sign-in, key created, …)
    action: str
    event: str | None
    entity_type: str | None
    entity_id: uuid.UUID | None
    table_name: str | None
    actor_id: uuid.UUID | None
    changes: list[FieldChange]
    details: dict[str, Any] | None
    # What the record's row said beside its changes, for reading them (not in the API,
    # `READING_ONLY`): the workflow whose labels name its reason codes, the currency of
    # its amounts.
    workflow_id: uuid.UUID | None = None
    currency: str | None = None


# The entry's fields that only serve reading it (`audit.reading`), left out of answers.
READING_ONLY = ("workflow_id", "currency")


@dataclass(frozen=True)
class TrailQuery:
    entity_type: TrailEntity | None = None
    entity_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    # The id of the last entry of the previous page: older entries come next.
    before: int | None = None
    limit: int = PAGE_LIMIT


def _changes(action: str, columns: list[str] | None, before: Any, after: Any) -> list[FieldChange]:
    if action == "update":
        names = [name for name in columns or () if name not in _UNTOLD]
        return [
            FieldChange(name, (before or {}).get(name), (after or {}).get(name)) for name in names
        ]
    if action == "insert":
        return [
            FieldChange(name, None, value)
            for name, value in (after or {}).items()
            if name not in _UNTOLD and value is not None
        ]
    return []


class Referent(StrEnum):
    """What a change's id field points at, for naming it on pages."""

    MEMBER = "member"
    STEP = "step"
    WORKFLOW = "workflow"
    ACCOUNT = "account"
    CONTACT = "contact"
    DEAL = "deal"
    LEAD = "lead"
    TARGET = "target"
    CADENCE = "cadence"
    # A cadence enrolment, named by its cadence (a win-back's "Enrolment: Win-back").
    ENROLMENT = "enrolment"
    WORK_ITEM = "work_item"
    STATUS = "status"


# The id fields of the trail's records, each with the words a page names it by and
# what its values are ids of: a change reads "Stage: Qualified → Proposal", never two
# uuids (the API answers the ids as stored).
REFERENCES: dict[str, tuple[str, Referent]] = {
    "step_id": ("Stage", Referent.STEP),
    "workflow_id": ("Workflow", Referent.WORKFLOW),
    "owner_id": ("Owner", Referent.MEMBER),
    "marketing_owner_id": ("Marketing owner", Referent.MEMBER),
    "sales_owner_id": ("Sales owner", Referent.MEMBER),
    "deleted_by": ("Deleted by", Referent.MEMBER),
    "rejected_by": ("Rejected by", Referent.MEMBER),
    "account_id": ("Account", Referent.ACCOUNT),
    "converted_account_id": ("Converted to account", Referent.ACCOUNT),
    "contact_id": ("Contact", Referent.CONTACT),
    "deal_id": ("Deal", Referent.DEAL),
    "converted_deal_id": ("Converted to deal", Referent.DEAL),
    "from_step_id": ("From stage", Referent.STEP),
    "to_step_id": ("To stage", Referent.STEP),
    "default_workflow_id": ("Default workflow", Referent.WORKFLOW),
    "user_id": ("Member", Referent.MEMBER),
    "lead_id": ("Lead", Referent.LEAD),
    "target_id": ("Target", Referent.TARGET),
    "cadence_id": ("Cadence", Referent.CADENCE),
    "winback_cadence_id": ("Win-back cadence", Referent.CADENCE),
    "enrollment_id": ("Cadence enrolment", Referent.ENROLMENT),
    "work_item_id": ("Work item", Referent.WORK_ITEM),
    "status_id": ("Status", Referent.STATUS),
}


def change_field(field: str) -> str:
    """A changed field as a page names it: an id field by what it points at ("Stage"),
    any other in words ("Expected close date")."""
    reference = REFERENCES.get(field)
    if reference:
        return reference[0]
    # Any other id field by what it is of ("Import batch"), not "Import batch id".
    return field.removesuffix("_id").replace("_", " ").capitalize()


def _name_queries() -> dict[Referent, Any]:
    steps: Table = WorkflowStep.__table__  # type: ignore[assignment]
    workflows: Table = Workflow.__table__  # type: ignore[assignment]
    accounts: Table = Account.__table__  # type: ignore[assignment]
    contacts: Table = Contact.__table__  # type: ignore[assignment]
    deals: Table = Deal.__table__  # type: ignore[assignment]
    leads: Table = Lead.__table__  # type: ignore[assignment]
    targets: Table = Target.__table__  # type: ignore[assignment]
    cadences: Table = Cadence.__table__  # type: ignore[assignment]
    enrolments: Table = CadenceEnrollment.__table__  # type: ignore[assignment]
    work_items: Table = WorkItem.__table__  # type: ignore[assignment]
    statuses: Table = Status.__table__  # type: ignore[assignment]
    return {
        Referent.STEP: select(steps.c.id, steps.c.name),
        Referent.WORKFLOW: select(workflows.c.id, workflows.c.name),
        Referent.ACCOUNT: select(accounts.c.id, accounts.c.name),
        Referent.CONTACT: select(
            contacts.c.id, func.concat_ws(" ", contacts.c.first_name, contacts.c.last_name)
        ),
        Referent.DEAL: select(deals.c.id, deals.c.name),
        Referent.LEAD: select(leads.c.id, leads.c.company_name),
        Referent.TARGET: select(targets.c.id, targets.c.company_name),
        Referent.CADENCE: select(cadences.c.id, cadences.c.name),
        Referent.ENROLMENT: select(enrolments.c.id, cadences.c.name).join_from(
            enrolments,
            cadences,
            (cadences.c.tenant_id == enrolments.c.tenant_id)
            & (cadences.c.id == enrolments.c.cadence_id),
        ),
        Referent.WORK_ITEM: select(work_items.c.id, work_items.c.name),
        Referent.STATUS: select(statuses.c.id, statuses.c.name),
    }


def record_label_queries() -> dict[str, Any]:
    """How each kind of record of the trail is named, by its entity type: `id, label`."""
    queries = _name_queries()
    return {
        TrailEntity.DEAL.value: queries[Referent.DEAL],
        TrailEntity.ACCOUNT.value: queries[Referent.ACCOUNT],
        TrailEntity.CONTACT.value: queries[Referent.CONTACT],
        TrailEntity.LEAD.value: queries[Referent.LEAD],
        TrailEntity.TARGET.value: queries[Referent.TARGET],
    }


async def referenced_names(ctx: Ctx, entries: list[TrailEntry]) -> dict[str, str]:
    """The names of what the entries' id fields point at, by id as text (one query per
    kind; row-level security keeps them to the organization's). Members of the past
    and records purged since keep their id."""
    wanted: dict[Referent, set[uuid.UUID]] = {}
    for entry in entries:
        for change in entry.changes:
            reference = REFERENCES.get(change.field)
            if reference is None:
                continue
            for value in (change.before, change.after):
                try:
                    wanted.setdefault(reference[1], set()).add(uuid.UUID(str(value)))
                except ValueError:
                    continue
    names: dict[str, str] = {}
    queries = _name_queries()
    for referent, ids in wanted.items():
        if referent is Referent.MEMBER:
            found = await member_names(ctx.session, ids)
            names.update({str(key): value for key, value in found.items()})
            continue
        query = queries[referent]
        id_column = query.selected_columns[0]
        rows = await ctx.session.execute(query.where(id_column.in_(ids)))
        names.update({str(row[0]): str(row[1]) for row in rows.all()})
    return names


async def read_trail(ctx: Ctx, query: TrailQuery) -> list[TrailEntry]:
    """The change trail, newest first, `query.limit + 1` entries (the extra one says
    there is more). One record's (entity type and id together) for any member who
    may read it — 404 otherwise, also for another organization's; a type without an
    id, or an id without a type, is 422; the organization's whole trail only for
    admins (403)."""
    table_name = await _trail_table(ctx, query)
    rows = await ctx.session.execute(
        _TRAIL,
        {
            "table_name": table_name,
            "row_id": query.entity_id,
            "actor_id": query.actor_id,
            "since": query.since,
            "until": query.until,
            "before": query.before,
            "limit": query.limit + 1,
        },
    )
    return [
        TrailEntry(
            id=row.id,
            at=row.at,
            action=row.action,
            event=row.event,
            entity_type=_ENTITIES[row.table_name].value if row.table_name in _ENTITIES else None,
            entity_id=row.row_id,
            table_name=row.table_name,
            actor_id=row.actor_user_id,
            changes=_changes(row.action, row.changed_columns, row.before, row.after),
            details=row.details,
            workflow_id=_row_id(row.after or row.before, "workflow_id"),
            currency=(row.after or row.before or {}).get("currency"),
        )
        for row in rows.all()
    ]


def _row_id(image: dict[str, Any] | None, name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str((image or {})[name]))
    except (KeyError, ValueError):
        return None


async def _trail_table(ctx: Ctx, query: TrailQuery) -> str | None:
    """`read_trail`'s rules: the table of the one record asked for (None: the whole
    organization's, admins only)."""
    principal = ctx.require_principal()
    table_name = None
    if (query.entity_type is None) != (query.entity_id is None):
        missing = "entity_id" if query.entity_id is None else "entity_type"
        raise ValidationFailed(
            "Name the record by its type and id together",
            errors=[FieldError(missing, "is required with the other")],
        )
    if query.entity_type is not None and query.entity_id is not None:
        table = _TABLES[query.entity_type]
        seen = await ctx.session.scalar(select(table.c.id).where(table.c.id == query.entity_id))
        if seen is None:
            raise NotFound(f"No such {query.entity_type.value}")
        table_name = table.name
    elif principal.role != Role.ADMIN.value:
        raise PermissionDenied("Only admins read the whole organization's trail")
    return table_name


# The trail whole, newest first: the function answers at most 200 entries a call, so
# the statement calls it page after page, each after the last one's oldest entry (a
# recursive query, evaluated as it is read: the first entries leave before the last
# page is read). Each page is one row (an array of entries), unnested in order.
_WHOLE_TRAIL = """
WITH RECURSIVE trail_pages(entries, oldest) AS (
    SELECT page.entries, page.oldest FROM (
        SELECT array_agg(a ORDER BY a.id DESC) AS entries, min(a.id) AS oldest
        FROM baton_audit_trail(:table_name, :row_id, :actor_id, :since, :until, NULL, 200) a
    ) page
  UNION ALL
    SELECT page.entries, page.oldest FROM trail_pages, LATERAL (
        SELECT array_agg(a ORDER BY a.id DESC) AS entries, min(a.id) AS oldest
        FROM baton_audit_trail(
            :table_name, :row_id, :actor_id, :since, :until, trail_pages.oldest, 200
        ) a
    ) page
    WHERE trail_pages.oldest IS NOT NULL
)
SELECT entry.id, entry.at, entry.action, entry.event, entry.table_name, entry.row_id,
       entry.changed_columns, entry.before, entry.after, entry.details,
       entry.actor_user_id
FROM trail_pages CROSS JOIN LATERAL unnest(trail_pages.entries) AS entry
"""

# What the trail's record types are called (`TrailEntity`), by table.
ENTITY_NAMES = {table: entity.value for table, entity in _ENTITIES.items()}
# The fields `read_trail` does not tell as changes.
UNTOLD_FIELDS = _UNTOLD


async def whole_trail(ctx: Ctx, query: TrailQuery) -> Any:
    """The trail `read_trail` pages, whole (the same rules; `before` and `limit` are
    not read), newest first, as a FROM item with the columns of `audit_log` (an export
    selects from it)."""
    table_name = await _trail_table(ctx, query)
    return (
        text(_WHOLE_TRAIL)
        .bindparams(
            bindparam("table_name", table_name, type_=String),
            bindparam("row_id", query.entity_id, type_=Uuid),
            bindparam("actor_id", query.actor_id, type_=Uuid),
            bindparam("since", query.since, type_=DateTime(timezone=True)),
            bindparam("until", query.until, type_=DateTime(timezone=True)),
        )
        .columns(
            column("id", BigInteger),
            column("at", DateTime(timezone=True)),
            column("action", String),
            column("event", String),
            column("table_name", String),
            column("row_id", Uuid),
            column("changed_columns", ARRAY(String)),
            column("before", JSONB),
            column("after", JSONB),
            column("details", JSONB),
            column("actor_user_id", Uuid),
        )
        .subquery("trail")
    )
