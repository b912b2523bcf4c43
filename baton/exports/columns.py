"""What each export holds: its columns, in order, with the header a person reads.

One place for every list's download (`GET /api/v1/exports/{entity}`): a column is a
header and how to read its value from one listed row (`Listed`: the row as the list
query returned it, plus the names the export looked up once per batch). Values stay
typed here — times, dates, amounts, ids — and `formats` writes them: times as ISO
8601 in UTC (`2026-12-07T09:30:00Z`, the headers say "(UTC)"), amounts as decimals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson


class ExportEntity(StrEnum):
    ACCOUNTS = "accounts"
    CONTACTS = "contacts"
    DEALS = "deals"
    LEADS = "leads"
    TARGETS = "targets"
    ACTIVITIES = "activities"
    AUDIT = "audit"


@dataclass(frozen=True)
class Lookups:
    """Names an export looks up: every member's email (once per export) and the names
    of the accounts a batch's rows point at (once per batch)."""

    members: Mapping[Any, str]
    accounts: Mapping[Any, str]


Convert = Callable[[Any, Lookups], Any]


@dataclass(frozen=True)
class Column:
    """A header, the field of the listed row it shows, and how (if not as it is)."""

    header: str
    source: str
    convert: Convert | None = None


def field(header: str, name: str) -> Column:
    return Column(header, name)


def member(header: str, name: str) -> Column:
    return Column(header, name, lambda user_id, names: names.members.get(user_id))


def account(header: str = "Account") -> Column:
    return Column(header, "account_id", lambda account_id, names: names.accounts.get(account_id))


def _json(value: Any, _: Lookups) -> str | None:
    return orjson.dumps(value, default=str).decode() if value else None


def _tags(tags: Any, _: Lookups) -> str:
    return "; ".join(tags or ())


_CREATED = field("Created at (UTC)", "created_at")
_UPDATED = field("Updated at (UTC)", "updated_at")

COLUMNS: dict[ExportEntity, tuple[Column, ...]] = {
    ExportEntity.ACCOUNTS: (
        field("ID", "id"),
        field("Name", "name"),
        field("Domain", "domain"),
        field("Tax ID", "tax_id"),
        field("Address", "address"),
        field("Industry", "industry"),
        member("Owner", "owner_id"),
        Column("Tags", "tags", _tags),
        field("Tenure", "tenure"),
        field("Activity", "activity"),
        field("Customer since", "customer_since"),
        field("Last transaction on", "last_transaction_on"),
        _CREATED,
        _UPDATED,
    ),
    ExportEntity.CONTACTS: (
        field("ID", "id"),
        field("First name", "first_name"),
        field("Last name", "last_name"),
        field("Email", "email"),
        field("Phone", "phone"),
        field("Title", "title"),
        account(),
        field("Account ID", "account_id"),
        _CREATED,
        _UPDATED,
    ),
    ExportEntity.LEADS: (
        field("ID", "id"),
        field("Company", "company_name"),
        field("Contact name", "contact_name"),
        field("Email", "email"),
        field("Phone", "phone"),
        field("Source", "source"),
        field("Need", "need"),
        field("Stage", "step_name"),
        member("Marketing owner", "marketing_owner_id"),
        member("Sales owner", "sales_owner_id"),
        field("Claim due at (UTC)", "claim_due_at"),
        field("Qualified at (UTC)", "qualified_at"),
        field("Handed over at (UTC)", "handed_over_at"),
        field("Claimed at (UTC)", "claimed_at"),
        field("Converted at (UTC)", "converted_at"),
        field("Disqualified at (UTC)", "disqualified_at"),
        field("Disqualify reason", "disqualify_reason"),
        _CREATED,
        _UPDATED,
    ),
    ExportEntity.TARGETS: (
        field("ID", "id"),
        field("Company", "company_name"),
        field("Contact name", "contact_name"),
        field("Email", "email"),
        field("Phone", "phone"),
        field("Status", "step_name"),
        member("Owner", "owner_id"),
        field("Notes", "notes"),
        field("Converted at (UTC)", "converted_at"),
        field("Dropped at (UTC)", "dropped_at"),
        field("Drop reason", "drop_reason"),
        _CREATED,
        _UPDATED,
    ),
    ExportEntity.ACTIVITIES: (
        field("ID", "id"),
        field("Type", "type"),
        field("Status", "status"),
        field("Subject", "subject"),
        field("Description", "description"),
        field("Due at (UTC)", "due_at"),
        field("Completed at (UTC)", "completed_at"),
        field("Outcome", "outcome"),
        member("Owner", "owner_id"),
        account(),
        field("Account ID", "account_id"),
        field("Contact ID", "contact_id"),
        field("Deal ID", "deal_id"),
        field("Lead ID", "lead_id"),
        field("Target ID", "target_id"),
        _CREATED,
        _UPDATED,
    ),
    # People and records by name (`audit.reading`), each beside its id; the changes in
    # words ("Stage: Prospecting → Discovery", one per line) and as stored (JSON).
    ExportEntity.AUDIT: (
        field("Entry", "id"),
        field("At (UTC)", "at"),
        field("Action", "action"),
        field("What", "action_label"),
        field("Event", "event"),
        field("Record type", "entity_type"),
        field("Record", "record_name"),
        field("Record ID", "entity_id"),
        member("By", "actor_id"),
        field("By (name)", "actor_name"),
        field("Actor ID", "actor_id"),
        field("Changes", "changes_text"),
        Column("Changes (JSON)", "changes", _json),
        Column("Details", "details", _json),
    ),
}


def headers(entity: ExportEntity) -> list[str]:
    return [column.header for column in COLUMNS[entity]]


def table(
    entity: ExportEntity, rows: Iterable[Mapping[Any, Any]], names: Lookups
) -> list[list[Any]]:
    """The cells of `rows`, in the columns' order (the hot path of every export: one
    lookup per cell, a call only for the columns that convert)."""
    shown = COLUMNS[entity]
    sources = [column.source for column in shown]
    converts = [(i, column.convert) for i, column in enumerate(shown) if column.convert]
    cells = []
    for values in rows:
        get = values.get
        row = [get(source) for source in sources]
        for i, convert in converts:
            row[i] = convert(row[i], names)
        cells.append(row)
    return cells
