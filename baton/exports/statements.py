"""Exports the database writes: the list's own statement, with the exported columns.

A list whose query can be had whole (every row its filters select, in its order) is
exported from that one statement with its select list replaced by the export's
columns. CSV is `COPY (that statement) TO STDOUT (FORMAT csv, HEADER)` on the
request's connection, in its transaction — RLS applies to the query as to any other,
and the rows go from PostgreSQL to the client as PostgreSQL writes them, with no row
ever built in Python. The cells are formatted in the statement:

- text a spreadsheet would run as a formula (a first character `=`, `+`, `-`, `@`,
  tab or carriage return) gets a leading `'`;
- times are UTC to the second, `2026-12-07T09:30:00Z` (the headers say "(UTC)");
- dates `2026-12-07`; amounts as stored (two decimals, `1234.50`); ids canonical.

XLSX reads the same statement with the values typed (`typed`), a batch of rows at a
time from a server-side cursor, and `formats.XlsxWriter` writes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, Text, any_, case, func, literal_column

from baton.core.context import Ctx
from baton.deals import queries as deal_queries
from baton.deals import service as deals
from baton.deals.schemas import DealListFilters
from baton.exports.columns import ExportEntity
from baton.exports.formats import FORMULA_STARTS
from baton.exports.sources import ExportFilters


class Cell(StrEnum):
    """How a column's value is written in CSV."""

    # Free text: neutralised.
    TEXT = "text"
    # timestamptz: UTC to the second.
    TIME = "time"
    DATE = "date"
    # Ids, numbers, amounts and the app's own keys: as PostgreSQL writes them.
    PLAIN = "plain"


@dataclass(frozen=True)
class SqlColumn:
    header: str
    expression: Any
    cell: Cell = Cell.PLAIN


_FORMULA_CODES: Any = literal_column(f"ARRAY[{', '.join(str(ord(c)) for c in FORMULA_STARTS)}]")
_QUOTE = literal_column("''''", Text)
_UTC: Any = literal_column("'UTC'")
_TIME_FORMAT: Any = literal_column("""'YYYY-MM-DD"T"HH24:MI:SS"Z"'""")
_DATE_FORMAT: Any = literal_column("'YYYY-MM-DD'")


def csv_cell(column: SqlColumn) -> Any:
    """The column's value as its CSV cell's text (NULL: an empty cell)."""
    value = column.expression
    if column.cell is Cell.TEXT:
        # ascii() is the first character's code point (0 for an empty text).
        return case((func.ascii(value) == any_(_FORMULA_CODES), _QUOTE + value), else_=value)
    if column.cell is Cell.TIME:
        return func.to_char(func.timezone(_UTC, value), _TIME_FORMAT)
    if column.cell is Cell.DATE:
        return func.to_char(value, _DATE_FORMAT)
    return value


@dataclass(frozen=True)
class ExportStatement:
    """A list's whole statement and the columns an export selects from it."""

    listed: Select[Any]
    columns: tuple[SqlColumn, ...]

    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def csv(self) -> Select[Any]:
        """The rows as CSV cells, each labelled with its header (COPY's HEADER)."""
        return self.listed.with_only_columns(
            *(csv_cell(column).label(column.header) for column in self.columns),
            maintain_column_froms=True,
        )

    def typed(self) -> Select[Any]:
        """The rows as values (times, dates, amounts), for XLSX."""
        return self.listed.with_only_columns(
            *(column.expression.label(column.header) for column in self.columns),
            maintain_column_froms=True,
        )


_DEALS, _STEPS, _STATUSES = deal_queries.DEALS.c, deal_queries.STEPS.c, deal_queries.STATUSES.c
_ACCOUNTS, _OWNERS = deal_queries.ACCOUNTS.c, deal_queries.USERS.c

DEAL_COLUMNS = (
    SqlColumn("ID", _DEALS.id),
    SqlColumn("Name", _DEALS.name, Cell.TEXT),
    SqlColumn("Account", _ACCOUNTS.name, Cell.TEXT),
    SqlColumn("Account ID", _DEALS.account_id),
    SqlColumn("Owner", _OWNERS.email, Cell.TEXT),
    SqlColumn("Stage", _STEPS.name, Cell.TEXT),
    SqlColumn("Stage category", _STATUSES.category),
    SqlColumn("Amount", _DEALS.amount),
    SqlColumn("Currency", _DEALS.currency),
    SqlColumn("Probability (%)", _DEALS.probability),
    SqlColumn("Expected close date", _DEALS.expected_close_date, Cell.DATE),
    SqlColumn("Next step", _DEALS.next_step, Cell.TEXT),
    SqlColumn("Next step due date", _DEALS.next_step_due_date, Cell.DATE),
    SqlColumn("Outcome", _DEALS.outcome),
    SqlColumn("Win reason", _DEALS.win_reason),
    SqlColumn("Loss reason", _DEALS.loss_reason),
    SqlColumn("Closed at (UTC)", _DEALS.closed_at, Cell.TIME),
    SqlColumn("Source", _DEALS.source, Cell.TEXT),
    SqlColumn("Entered stage at (UTC)", _DEALS.entered_step_at, Cell.TIME),
    SqlColumn("Created at (UTC)", _DEALS.created_at, Cell.TIME),
    SqlColumn("Updated at (UTC)", _DEALS.updated_at, Cell.TIME),
)


def deal_list_filters(filters: ExportFilters, caller_id: uuid.UUID) -> DealListFilters:
    """The deals list's filters an export was asked for (`owner=me`: the caller)."""
    return DealListFilters(
        view=filters.deal_view,
        account_id=filters.account_id,
        owner_id=caller_id if filters.owner_me else filters.owner_id,
        stage=filters.stage,
        amount_min=filters.amount_min,
        amount_max=filters.amount_max,
        close_month=filters.close_month,
        overdue=filters.overdue,
        sort=filters.sort,
    )


def _deals(ctx: Ctx, filters: ExportFilters) -> ExportStatement:
    wanted = deal_list_filters(filters, ctx.require_principal().user_id)
    return ExportStatement(deals.whole_list_statement(ctx, wanted), DEAL_COLUMNS)


# The lists exported from their own statement; the others are read page by page
# through their list's service function (`sources`).
STATEMENTS: dict[ExportEntity, Callable[[Ctx, ExportFilters], ExportStatement]] = {
    ExportEntity.DEALS: _deals,
}
