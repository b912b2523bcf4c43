"""What each export holds: its columns, in order, with the header a person reads.

One place for every list's download (`GET /api/v1/exports/{entity}`): a column is a
header and how to read its value from one listed row (`Listed`: the row as the list
query returned it, plus the names the export looked up once per batch). Values stay
typed here — times, dates, amounts, ids — and `formats` writes them: times as ISO
8601 in UTC (`2026-12-07T09:30:00Z`, the headers say "(UTC)"), amounts as decimals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
class Listed:
    """One row of a list, as the export reads it: `values` by field name, and the
    member emails and account names looked up for its batch."""

    values: Mapping[str, Any]
    members: Mapping[Any, str]
    accounts: Mapping[Any, str]

    def __getitem__(self, name: str) -> Any:
        return self.values.get(name)

    def member(self, name: str) -> str | None:
        user_id = self.values.get(name)
        return self.members.get(user_id) if user_id is not None else None

    def account(self, name: str = "account_id") -> str | None:
        account_id = self.values.get(name)
        return self.accounts.get(account_id) if account_id is not None else None


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Listed], Any]


def field(header: str, name: str) -> Column:
    return Column(header, lambda row: row[name])


def member(header: str, name: str) -> Column:
    return Column(header, lambda row: row.member(name))


def _json(value: Any) -> str | None:
    return orjson.dumps(value, default=str).decode() if value else None


def _tags(row: Listed) -> str:
    return "; ".join(row["tags"] or ())


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
        Column("Tags", _tags),
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
        Column("Account", lambda row: row.account()),
        field("Account ID", "account_id"),
        _CREATED,
        _UPDATED,
    ),
    ExportEntity.DEALS: (
        field("ID", "id"),
        field("Name", "name"),
        Column("Account", lambda row: row.account()),
        field("Account ID", "account_id"),
        member("Owner", "owner_id"),
        field("Stage", "step_name"),
        field("Stage category", "step_category"),
        field("Amount", "amount"),
        field("Currency", "currency"),
        field("Probability (%)", "probability"),
        field("Expected close date", "expected_close_date"),
        field("Next step", "next_step"),
        field("Next step due date", "next_step_due_date"),
        field("Outcome", "outcome"),
        field("Win reason", "win_reason"),
        field("Loss reason", "loss_reason"),
        field("Closed at (UTC)", "closed_at"),
        field("Source", "source"),
        field("Entered stage at (UTC)", "entered_step_at"),
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
        Column("Account", lambda row: row.account()),
        field("Account ID", "account_id"),
        field("Contact ID", "contact_id"),
        field("Deal ID", "deal_id"),
        field("Lead ID", "lead_id"),
        field("Target ID", "target_id"),
        _CREATED,
        _UPDATED,
    ),
    ExportEntity.AUDIT: (
        field("Entry", "id"),
        field("At (UTC)", "at"),
        field("Action", "action"),
        field("Event", "event"),
        field("Record type", "entity_type"),
        field("Record ID", "entity_id"),
        member("By", "actor_id"),
        field("Actor ID", "actor_id"),
        Column("Changes", lambda row: _json(row["changes"])),
        Column("Details", lambda row: _json(row["details"])),
    ),
}


def headers(entity: ExportEntity) -> list[str]:
    return [column.header for column in COLUMNS[entity]]


def cells(entity: ExportEntity, row: Listed) -> list[Any]:
    return [column.value(row) for column in COLUMNS[entity]]
