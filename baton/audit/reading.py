"""The change trail as people read it: who (by name), which record (by its name), and
each changed value in words — an id by what it points at ("Stage: Prospecting →
Discovery"), a reason code by the label its workflow gives it ("No budget left"), a
time in the viewer's zone, an amount as money in the organization's locale.

Used by the record pages' Changes, the audit page and its CSV (`audit.web`) and the
audit export's record and member names (`exports.statements`, in SQL). The API keeps the values as
stored. Everything a page of entries needs is looked up once for the page
(`read_for_people`): members, referenced records, the records themselves, workflows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from baton.audit.trail import (
    FieldChange,
    TrailEntry,
    change_field,
    record_label_queries,
    referenced_names,
)
from baton.core.context import Ctx
from baton.core.errors import DomainError
from baton.identity.queries import member_names
from baton.web.formatting import change_value, code_label, local_time, money
from baton.workflow import service as workflow_service

# Reason codes, named by the label the record's workflow gives them (deals), else in
# words (`no_budget` → "No budget").
REASON_FIELDS = frozenset(
    {"win_reason", "loss_reason", "disqualify_reason", "reject_reason", "drop_reason"}
)
# Other codes the trail shows in words.
CODE_FIELDS = frozenset({"outcome", "tenure", "activity"})
# Amounts in the record's currency.
MONEY_FIELDS = frozenset({"amount"})

ACTIONS = {"insert": "Created", "update": "Changed", "delete": "Deleted"}

# What one row of each audited table is called on the audit page ("Activity", not the
# table's "Activities"); tests/audit/test_reading.py holds every audited table to a name.
RECORD_KINDS = {
    "access_tokens": "Session or API token",
    "account_transactions": "Account ledger line",
    "account_winbacks": "Win-back",
    "accounts": "Account",
    "activities": "Activity",
    "api_keys": "API key",
    "cadence_enrollments": "Cadence enrolment",
    "cadence_steps": "Cadence step",
    "cadences": "Cadence",
    "contacts": "Contact",
    "deals": "Deal",
    "import_batches": "Import",
    "invitations": "Invitation",
    "lead_escalations": "Lead escalation",
    "lead_pool": "Sales Inbox entry",
    "leads": "Lead",
    "memberships": "Membership",
    "next_step_digests": "Next-step digest",
    "project_types": "Project type",
    "saved_views": "Saved view",
    "statuses": "Status",
    "targets": "Target",
    "tenant_settings": "Organization settings",
    "tenants": "Organization",
    "users": "User",
    "webhook_endpoints": "Webhook",
    "work_items": "Work item",
    "workflow_steps": "Workflow step",
    "workflow_transitions": "Workflow transition",
    "workflows": "Workflow",
}


def record_kind(table_name: str) -> str:
    """What one row of an audited table is called; a table added since without a name
    here reads as its name made singular ("work_orders" → "Work order")."""
    if table_name in RECORD_KINDS:
        return RECORD_KINDS[table_name]
    if table_name.endswith("ies"):
        singular = table_name[:-3] + "y"
    elif table_name.endswith(("ses", "xes")):
        singular = table_name[:-2]
    else:
        singular = table_name.removesuffix("s")
    return code_label(singular)


@dataclass(frozen=True)
class TrailReading:
    """The names and labels of a page of entries, and how to write times and money.

    Without `zone` times are ISO 8601 in UTC and without `locale` amounts are plain
    decimals: what a file holds (docs/api.md, Exports)."""

    actors: Mapping[uuid.UUID, str]
    references: Mapping[str, str]
    records: Mapping[uuid.UUID, str]
    # (workflow id, reason code) → the workflow's label for it.
    reasons: Mapping[tuple[uuid.UUID, str], str]
    zone: ZoneInfo | None = None
    locale: str | None = None

    def actor(self, entry: TrailEntry) -> str:
        """Who made the change: a member's name, "a former member", or "the system"."""
        if entry.actor_id is None:
            return "the system"
        return self.actors.get(entry.actor_id, "a former member")

    def action(self, entry: TrailEntry) -> str:
        """What happened: "Created", "Changed", "Deleted", or the event in words
        (`login.ok` → "Login ok")."""
        if entry.action == "security":
            return code_label((entry.event or "").replace(".", " "))
        return ACTIONS.get(entry.action, code_label(entry.action))

    def kind(self, entry: TrailEntry) -> str:
        """What kind of record the entry is about ("Deal", "Activity"); "" for an
        event of no table."""
        return record_kind(entry.table_name) if entry.table_name else ""

    def record(self, entry: TrailEntry) -> str:
        """The record's name ("Acme Logistics"); "" for an event or a record gone since."""
        return self.records.get(entry.entity_id, "") if entry.entity_id else ""

    def time(self, moment: datetime) -> str:
        """A time of the trail: in the viewer's zone on pages, ISO 8601 UTC in files."""
        return _time(moment, self.zone)

    def before(self, entry: TrailEntry, change: FieldChange) -> str:
        return self.value(entry, change.field, change.before)

    def after(self, entry: TrailEntry, change: FieldChange) -> str:
        return self.value(entry, change.field, change.after)

    def value(self, entry: TrailEntry, field: str, value: Any) -> str:
        """One value of a changed field as a person reads it."""
        if value is None or value == "":
            return "—"
        if field in REASON_FIELDS:
            label = self.reasons.get((entry.workflow_id, str(value))) if entry.workflow_id else None
            return label or code_label(str(value))
        if field in CODE_FIELDS:
            return code_label(str(value))
        if field in MONEY_FIELDS and entry.currency:
            amount = _decimal(value)
            if amount is not None:
                if self.locale is None:
                    return f"{amount:.2f} {entry.currency}"
                return money(amount, entry.currency, self.locale)
        if field.endswith("_at") and isinstance(value, str):
            moment = _moment(value)
            if moment is not None:
                return _time(moment, self.zone)
        return change_value(value, self.references)

    def changes(self, entry: TrailEntry) -> str:
        """Every changed field on one line each: "Stage: Prospecting → Discovery"."""
        return "\n".join(
            f"{change_field(change.field)}: {self.before(entry, change)} → "
            f"{self.after(entry, change)}"
            for change in entry.changes
        )


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _moment(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _time(moment: datetime, zone: ZoneInfo | None) -> str:
    if zone is None:
        return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    return local_time(moment, zone)


async def read_for_people(
    ctx: Ctx,
    entries: Iterable[TrailEntry],
    zone: ZoneInfo | None = None,
    locale: str | None = None,
) -> TrailReading:
    """What reading `entries` needs, looked up once: the actors' names, the names of
    what their id fields point at, the records' own names and the reason labels of
    their workflows (row-level security keeps them all to the caller's organization;
    a record purged since keeps only its id)."""
    shown = list(entries)
    workflows = {
        entry.workflow_id
        for entry in shown
        if entry.workflow_id and any(c.field in REASON_FIELDS for c in entry.changes)
    }
    reasons: dict[tuple[uuid.UUID, str], str] = {}
    for workflow_id in workflows:
        try:
            flow = await workflow_service.compiled(ctx, workflow_id)
        except DomainError:
            # A workflow still being drafted names no reasons yet: codes in words.
            continue
        if flow is None:
            continue
        for edge in flow.edges.values():
            for code, label in edge.reason_labels.items():
                reasons.setdefault((workflow_id, code), label)
    return TrailReading(
        actors=await member_names(ctx.session, (entry.actor_id for entry in shown)),
        references=await referenced_names(ctx, shown),
        records=await _record_labels(ctx, shown),
        reasons=reasons,
        zone=zone,
        locale=locale,
    )


async def _record_labels(ctx: Ctx, entries: list[TrailEntry]) -> dict[uuid.UUID, str]:
    wanted: dict[str, set[uuid.UUID]] = {}
    for entry in entries:
        if entry.entity_type and entry.entity_id:
            wanted.setdefault(entry.entity_type, set()).add(entry.entity_id)
    queries = record_label_queries()
    labels: dict[uuid.UUID, str] = {}
    for entity_type, ids in wanted.items():
        query = queries[entity_type]
        id_column = query.selected_columns[0]
        rows = await ctx.session.execute(query.where(id_column.in_(ids)))
        labels.update({row[0]: str(row[1]) for row in rows.all()})
    return labels
