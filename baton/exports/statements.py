"""Exports the database writes: each list's own statement, with the exported columns.

Every list is exported from its own statement, whole (every row its filters select,
in its order, with its role rules — the list's query module builds it, the export
never filters again) with its select list replaced by the export's columns, and
PostgreSQL writes the file's rows: `COPY (that statement) TO STDOUT` on the request's
connection, in its transaction — RLS applies to the query as to any other, and the
rows go from PostgreSQL to the client as PostgreSQL writes them, with no row ever
built in Python.

CSV (`csv`): `FORMAT csv, HEADER`, each cell written in SQL —

- text a spreadsheet would run as a formula (a first character `=`, `+`, `-`, `@`,
  tab or carriage return) gets a leading `'`;
- times are UTC to the second, `2026-12-07T09:30:00Z` (the headers say "(UTC)");
- dates `2026-12-07`; amounts as stored (two decimals, `1234.50`); ids canonical.

XLSX (`xlsx`): one text column, each row the worksheet's `<row>` element, its cells
typed — text an inline string (neutralised as in CSV), numbers and amounts numbers,
dates and times Excel's day numbers with a date format (times the UTC wall time);
`formats.XlsxStream` zips the rows as they come. SQL escapes XML's markup (`&`, `<`,
`>`); what COPY's text format escapes itself (a backslash, tab, line break …) is made
a character reference by `XlsxStream` (a few replace calls per text cell: measured,
PostgreSQL's `translate` and regular expressions cost several times more).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import reduce
from typing import Any

from sqlalchemy import (
    ScalarSelect,
    Select,
    Table,
    Text,
    any_,
    asc,
    case,
    cast,
    desc,
    func,
    literal_column,
    nulls_first,
    nulls_last,
    select,
)
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from baton.accounts import queries as account_queries
from baton.accounts.models import Account
from baton.activities import queries as activity_queries
from baton.activities.models import Activity
from baton.audit import reading, trail
from baton.contacts import queries as contact_queries
from baton.contacts.models import Contact
from baton.core.context import Ctx
from baton.deals import queries as deal_queries
from baton.deals import service as deals
from baton.deals.schemas import DealListFilters
from baton.exports.filters import ExportEntity, ExportFilters
from baton.exports.formats import FORMULA_STARTS, XLSX_STYLES
from baton.identity.models import User
from baton.leads import queries as lead_queries
from baton.leads import service as leads
from baton.leads.models import LeadView
from baton.leads.schemas import LeadList
from baton.targets import queries as target_queries
from baton.targets import service as targets


class Cell(StrEnum):
    """How a column's value is written."""

    # Free text: neutralised.
    TEXT = "text"
    # timestamptz: UTC to the second.
    TIME = "time"
    DATE = "date"
    # A number (a count, a percentage, an entry number).
    NUMBER = "number"
    # An amount: as stored in CSV, a number shown with two decimals in XLSX.
    AMOUNT = "amount"
    # Ids and the app's own keys: as PostgreSQL writes them (text in XLSX).
    PLAIN = "plain"


@dataclass(frozen=True)
class SqlColumn:
    header: str
    expression: Any
    cell: Cell = Cell.PLAIN


def _sql(text: str) -> Any:
    return literal_column(text, Text)


def _constant(text: str) -> Any:
    """`text` as a PostgreSQL string constant (E'…': control characters as escapes)."""
    escaped = "".join(
        f"\\x{ord(c):02x}" if ord(c) < 32 else "\\\\" if c == "\\" else "''" if c == "'" else c
        for c in text
    )
    return literal_column(f"E'{escaped}'", Text)


_FORMULA_CODES: Any = literal_column(f"ARRAY[{', '.join(str(ord(c)) for c in FORMULA_STARTS)}]")
_QUOTE = _constant("'")
_UTC: Any = literal_column("'UTC'")
_TIME_FORMAT: Any = _constant('YYYY-MM-DD"T"HH24:MI:SS"Z"')
_DATE_FORMAT: Any = _constant("YYYY-MM-DD")


def _neutralised(value: Any) -> Any:
    if isinstance(value, ScalarSelect):
        # Inside the lookup: the CASE reads its value twice, and a subquery would run
        # twice (three times in the plan) per row.
        inner: Any = value.element
        (column,) = inner.selected_columns
        return inner.with_only_columns(
            _neutralised(column), maintain_column_froms=True
        ).scalar_subquery()
    # ascii() is the first character's code point (0 for an empty text).
    return case((func.ascii(value) == any_(_FORMULA_CODES), _QUOTE + value), else_=value)


def csv_cell(column: SqlColumn) -> Any:
    """The column's value as its CSV cell's text (NULL: an empty cell)."""
    value = column.expression
    if column.cell is Cell.TEXT:
        return _neutralised(value)
    if column.cell is Cell.TIME:
        return func.to_char(func.timezone(_UTC, value), _TIME_FORMAT)
    if column.cell is Cell.DATE:
        return func.to_char(value, _DATE_FORMAT)
    return value


# XML's markup characters, escaped in SQL. COPY's text format escapes the rest that
# matter (backslash, tab, line feed, carriage return, and backspace, form feed and
# vertical tab, which XML cannot hold) with a backslash; `formats.XlsxStream` turns
# those into character references (or drops them) and drops the other C0 controls.
_XML_REFERENCES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


def _xml_text(value: Any) -> Any:
    escaped: Any = cast(value, Text)
    for plain, reference in _XML_REFERENCES:
        escaped = func.replace(escaped, _constant(plain), _constant(reference))
    return escaped


def _styled(style: str | None) -> str:
    return f' s="{XLSX_STYLES[style]}"' if style else ""


def _inline(text: Any) -> Any:
    return (
        _constant('<c t="inlineStr"><is><t xml:space="preserve">')
        + _xml_text(text)
        + _constant("</t></is></c>")
    )


def _number(value: Any, style: str | None = None) -> Any:
    return _constant(f"<c{_styled(style)}><v>") + cast(value, Text) + _constant("</v></c>")


def xlsx_cell(column: SqlColumn) -> Any:
    """The column's value as a worksheet cell element (NULL: an empty cell)."""
    value = column.expression
    if column.cell is Cell.TEXT:
        cell = _inline(_neutralised(value))
    elif column.cell is Cell.TIME:
        # Excel's day number (days since 1899-12-30) of the UTC wall time.
        days = func.extract("epoch", value) / 86400 + 25569
        cell = _number(func.round(days, 8), "time")
    elif column.cell is Cell.DATE:
        cell = _number(value - literal_column("DATE '1899-12-30'"), "date")
    elif column.cell is Cell.NUMBER:
        cell = _number(value)
    elif column.cell is Cell.AMOUNT:
        cell = _number(value, "amount")
    else:
        cell = _inline(value)
    return func.coalesce(cell, _constant("<c/>"))


@dataclass(frozen=True)
class ExportStatement:
    """A list's whole statement and the columns an export selects from it."""

    listed: Select[Any]
    columns: tuple[SqlColumn, ...]
    # The list's order is an index's, its filter the index's leading columns (a lead
    # queue: `ix_leads_view`): the export is planned without a Sort
    # (`service.planner_settings`).
    index_ordered: bool = False

    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def csv(self) -> Select[Any]:
        """The rows as CSV cells, each labelled with its header (COPY's HEADER)."""
        return self.listed.with_only_columns(
            *(csv_cell(column).label(column.header) for column in self.columns),
            maintain_column_froms=True,
        )

    def xlsx(self) -> Select[Any]:
        """The rows as worksheet `<row>` elements, one text column, in the list's order.

        The values are read in a subquery, in the list's order, and the XML built
        over it: `OFFSET 0` keeps the subquery apart, so PostgreSQL builds each row
        as it comes out of the ordered read. Flattened, the planner priced the XML
        into the joins and chose to build every row before sorting them: the first
        byte of 100 000 deals waited 3 s.

        SQL promises no order for rows read from a subquery, so the subquery carries
        its ORDER BY keys out (`k0`, `k1` …) and the outer query orders by them, the
        same way: the planner knows the subquery's rows come out sorted by those
        columns and adds no Sort of its own (tests/exports prove it with EXPLAIN),
        and the order no longer rests on how PostgreSQL happens to read a subquery."""
        order = [_order_parts(clause) for clause in self.listed._order_by_clauses]
        values = self.listed.with_only_columns(
            *(column.expression.label(f"v{i}") for i, column in enumerate(self.columns)),
            *(key.label(f"k{i}") for i, (key, _) in enumerate(order)),
            maintain_column_froms=True,
        )
        listed = values.offset(0).subquery("listed")
        cells = [
            xlsx_cell(SqlColumn(column.header, listed.c[f"v{i}"], column.cell))
            for i, column in enumerate(self.columns)
        ]
        row = reduce(lambda left, right: left + right, cells, _constant("<row>"))
        return (
            select((row + _constant("</row>")).label("row"))
            .select_from(listed)
            .order_by(*(_ordered(listed.c[f"k{i}"], ways) for i, (_, ways) in enumerate(order)))
        )


# How an ORDER BY term orders its expression (ASC/DESC, NULLS FIRST/LAST).
_ORDER_WAYS: dict[Any, Callable[[Any], Any]] = {
    operators.asc_op: asc,
    operators.desc_op: desc,
    operators.nulls_first_op: nulls_first,
    operators.nulls_last_op: nulls_last,
}


def _order_parts(clause: Any) -> tuple[Any, list[Callable[[Any], Any]]]:
    """An ORDER BY term as its expression and the ways it is ordered, innermost
    first (`name DESC NULLS LAST` → `name`, [desc, nulls_last])."""
    ways: list[Callable[[Any], Any]] = []
    while isinstance(clause, UnaryExpression) and clause.modifier in _ORDER_WAYS:
        ways.insert(0, _ORDER_WAYS[clause.modifier])
        clause = clause.element
    return clause, ways


def _ordered(key: Any, ways: list[Callable[[Any], Any]]) -> Any:
    for way in ways:
        key = way(key)
    return key


# ------------------------------------------------------------------------ columns

_USERS: Table = User.__table__  # type: ignore[assignment]
_ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]


def _member_email(user_id: Any) -> Any:
    """A member's email by id (the list's own joins may hold `users`: an alias)."""
    members = _USERS.alias("member")
    return select(members.c.email).where(members.c.id == user_id).scalar_subquery()


def _member_name(user_id: Any) -> Any:
    """A member's full name by id."""
    members = _USERS.alias("named_member")
    return select(members.c.full_name).where(members.c.id == user_id).scalar_subquery()


def _label_of(labelled: Any, row_id: Any) -> Any:
    """A record's name from its kind's `(id, label)` query (`trail.record_label_queries`)."""
    rows = labelled.subquery()
    row_column, label = list(rows.c)
    return select(label).where(row_column == row_id).scalar_subquery()


def _account_name(account_id: Any) -> Any:
    """An account's name by id, deleted ones too (RLS: the tenant's own only)."""
    named = _ACCOUNTS.alias("named_account")
    return select(named.c.name).where(named.c.id == account_id).scalar_subquery()


def _created(table: Any) -> tuple[SqlColumn, SqlColumn]:
    return (
        SqlColumn("Created at (UTC)", table.created_at, Cell.TIME),
        SqlColumn("Updated at (UTC)", table.updated_at, Cell.TIME),
    )


_DEALS, _STEPS, _STATUSES = deal_queries.DEALS.c, deal_queries.STEPS.c, deal_queries.STATUSES.c
_DEAL_ACCOUNTS, _OWNERS = deal_queries.ACCOUNTS.c, deal_queries.USERS.c

DEAL_COLUMNS = (
    SqlColumn("ID", _DEALS.id),
    SqlColumn("Name", _DEALS.name, Cell.TEXT),
    SqlColumn("Account", _DEAL_ACCOUNTS.name, Cell.TEXT),
    SqlColumn("Account ID", _DEALS.account_id),
    SqlColumn("Owner", _OWNERS.email, Cell.TEXT),
    SqlColumn("Stage", _STEPS.name, Cell.TEXT),
    SqlColumn("Stage category", _STATUSES.category),
    SqlColumn("Amount", _DEALS.amount, Cell.AMOUNT),
    SqlColumn("Currency", _DEALS.currency),
    SqlColumn("Probability (%)", _DEALS.probability, Cell.NUMBER),
    SqlColumn("Expected close date", _DEALS.expected_close_date, Cell.DATE),
    SqlColumn("Next step", _DEALS.next_step, Cell.TEXT),
    SqlColumn("Next step due date", _DEALS.next_step_due_date, Cell.DATE),
    SqlColumn("Outcome", _DEALS.outcome),
    SqlColumn("Win reason", _DEALS.win_reason),
    SqlColumn("Loss reason", _DEALS.loss_reason),
    SqlColumn("Closed at (UTC)", _DEALS.closed_at, Cell.TIME),
    SqlColumn("Source", _DEALS.source, Cell.TEXT),
    SqlColumn("Entered stage at (UTC)", _DEALS.entered_step_at, Cell.TIME),
    *_created(_DEALS),
)

_ACCOUNT, _ACCOUNT_STATUS = _ACCOUNTS.c, account_queries.ACCOUNT_STATUSES.c

ACCOUNT_COLUMNS = (
    SqlColumn("ID", _ACCOUNT.id),
    SqlColumn("Name", _ACCOUNT.name, Cell.TEXT),
    SqlColumn("Domain", _ACCOUNT.domain, Cell.TEXT),
    SqlColumn("Tax ID", _ACCOUNT.tax_id, Cell.TEXT),
    SqlColumn("Address", _ACCOUNT.address, Cell.TEXT),
    SqlColumn("Industry", _ACCOUNT.industry, Cell.TEXT),
    SqlColumn("Owner", _member_email(_ACCOUNT.owner_id), Cell.TEXT),
    SqlColumn("Tags", func.array_to_string(_ACCOUNT.tags, _constant("; ")), Cell.TEXT),
    SqlColumn("Tenure", _ACCOUNT_STATUS.tenure),
    SqlColumn("Activity", _ACCOUNT_STATUS.activity),
    SqlColumn("Customer since", _ACCOUNT_STATUS.customer_since, Cell.DATE),
    SqlColumn("Last transaction on", _ACCOUNT_STATUS.last_transaction_on, Cell.DATE),
    *_created(_ACCOUNT),
)

_CONTACT = Contact.__table__.c

CONTACT_COLUMNS = (
    SqlColumn("ID", _CONTACT.id),
    SqlColumn("First name", _CONTACT.first_name, Cell.TEXT),
    SqlColumn("Last name", _CONTACT.last_name, Cell.TEXT),
    SqlColumn("Email", _CONTACT.email, Cell.TEXT),
    SqlColumn("Phone", _CONTACT.phone, Cell.TEXT),
    SqlColumn("Title", _CONTACT.title, Cell.TEXT),
    SqlColumn("Account", _account_name(_CONTACT.account_id), Cell.TEXT),
    SqlColumn("Account ID", _CONTACT.account_id),
    *_created(_CONTACT),
)

_LEAD, _LEAD_STEP = lead_queries.LEADS.c, lead_queries.STEPS.c

LEAD_COLUMNS = (
    SqlColumn("ID", _LEAD.id),
    SqlColumn("Company", _LEAD.company_name, Cell.TEXT),
    SqlColumn("Contact name", _LEAD.contact_name, Cell.TEXT),
    SqlColumn("Email", _LEAD.email, Cell.TEXT),
    SqlColumn("Phone", _LEAD.phone, Cell.TEXT),
    SqlColumn("Source", _LEAD.source, Cell.TEXT),
    SqlColumn("Need", _LEAD.need, Cell.TEXT),
    SqlColumn("Stage", _LEAD_STEP.name, Cell.TEXT),
    SqlColumn("Marketing owner", _member_email(_LEAD.marketing_owner_id), Cell.TEXT),
    SqlColumn("Sales owner", _member_email(_LEAD.sales_owner_id), Cell.TEXT),
    SqlColumn("Claim due at (UTC)", lead_queries.POOL.c.claim_due_at, Cell.TIME),
    SqlColumn("Qualified at (UTC)", _LEAD.qualified_at, Cell.TIME),
    SqlColumn("Handed over at (UTC)", _LEAD.handed_over_at, Cell.TIME),
    SqlColumn("Claimed at (UTC)", _LEAD.claimed_at, Cell.TIME),
    SqlColumn("Converted at (UTC)", _LEAD.converted_at, Cell.TIME),
    SqlColumn("Disqualified at (UTC)", _LEAD.disqualified_at, Cell.TIME),
    SqlColumn("Disqualify reason", _LEAD.disqualify_reason, Cell.TEXT),
    *_created(_LEAD),
)

_TARGET, _TARGET_STEP = target_queries.TARGETS.c, target_queries.STEPS.c

TARGET_COLUMNS = (
    SqlColumn("ID", _TARGET.id),
    SqlColumn("Company", _TARGET.company_name, Cell.TEXT),
    SqlColumn("Contact name", _TARGET.contact_name, Cell.TEXT),
    SqlColumn("Email", _TARGET.email, Cell.TEXT),
    SqlColumn("Phone", _TARGET.phone, Cell.TEXT),
    SqlColumn("Status", _TARGET_STEP.name, Cell.TEXT),
    SqlColumn("Owner", _member_email(_TARGET.owner_id), Cell.TEXT),
    SqlColumn("Notes", _TARGET.notes, Cell.TEXT),
    SqlColumn("Converted at (UTC)", _TARGET.converted_at, Cell.TIME),
    SqlColumn("Dropped at (UTC)", _TARGET.dropped_at, Cell.TIME),
    SqlColumn("Drop reason", _TARGET.drop_reason, Cell.TEXT),
    *_created(_TARGET),
)

_ACTIVITY = Activity.__table__.c

ACTIVITY_COLUMNS = (
    SqlColumn("ID", _ACTIVITY.id),
    SqlColumn("Type", _ACTIVITY.type),
    SqlColumn("Status", _ACTIVITY.status),
    SqlColumn("Subject", _ACTIVITY.subject, Cell.TEXT),
    SqlColumn("Description", _ACTIVITY.description, Cell.TEXT),
    SqlColumn("Due at (UTC)", _ACTIVITY.due_at, Cell.TIME),
    SqlColumn("Completed at (UTC)", _ACTIVITY.completed_at, Cell.TIME),
    SqlColumn("Outcome", _ACTIVITY.outcome, Cell.TEXT),
    SqlColumn("Owner", _member_email(_ACTIVITY.owner_id), Cell.TEXT),
    SqlColumn("Account", _account_name(_ACTIVITY.account_id), Cell.TEXT),
    SqlColumn("Account ID", _ACTIVITY.account_id),
    SqlColumn("Contact ID", _ACTIVITY.contact_id),
    SqlColumn("Deal ID", _ACTIVITY.deal_id),
    SqlColumn("Lead ID", _ACTIVITY.lead_id),
    SqlColumn("Target ID", _ACTIVITY.target_id),
    *_created(_ACTIVITY),
)


def _audit_columns(entries: Any) -> tuple[SqlColumn, ...]:
    entry = entries.c
    untold = "ARRAY[" + ", ".join(f"'{name}'" for name in sorted(trail.UNTOLD_FIELDS)) + "]"
    # The changes as `read_trail` tells them: an update's changed fields, an insert's
    # set ones, each {"field", "before", "after"} (JSON, as the API answers them).
    updated = _sql(  # the texts are constants: no input in them
        "(SELECT jsonb_agg(jsonb_build_object('field', name,"  # noqa: S608
        " 'before', trail.before -> name,"
        " 'after', trail.after -> name) ORDER BY place)"
        " FROM unnest(trail.changed_columns) WITH ORDINALITY AS changed(name, place)"
        f" WHERE name::text <> ALL({untold}))"
    )
    inserted = _sql(
        "(SELECT jsonb_agg(jsonb_build_object('field', key,"  # noqa: S608
        " 'before', NULL, 'after', value))"
        f" FROM jsonb_each(trail.after) WHERE key <> ALL({untold})"
        " AND value <> 'null'::jsonb)"
    )
    changes = case(
        (entry.action == "update", updated), (entry.action == "insert", inserted), else_=None
    )
    record_type = case(
        *((entry.table_name == table, name) for table, name in trail.ENTITY_NAMES.items()),
        else_=None,
    )
    # People and records by name beside their ids (`audit.reading` names them so on
    # the pages); a record purged since keeps only its id.
    labels = trail.record_label_queries()
    record_name = case(
        *(
            (entry.table_name == table, _label_of(labels[name], entry.row_id))
            for table, name in trail.ENTITY_NAMES.items()
            if name in labels
        ),
        else_=None,
    )
    what = case(
        *((entry.action == action, label) for action, label in reading.ACTIONS.items()),
        else_=entry.action,
    )
    return (
        SqlColumn("Entry", entry.id, Cell.NUMBER),
        SqlColumn("At (UTC)", entry.at, Cell.TIME),
        SqlColumn("Action", entry.action),
        SqlColumn("What", what, Cell.TEXT),
        SqlColumn("Event", entry.event),
        SqlColumn("Record type", record_type),
        SqlColumn("Record", record_name, Cell.TEXT),
        SqlColumn("Record ID", entry.row_id),
        SqlColumn("By", _member_email(entry.actor_user_id), Cell.TEXT),
        SqlColumn("By (name)", _member_name(entry.actor_user_id), Cell.TEXT),
        SqlColumn("Actor ID", entry.actor_user_id),
        # JSON arrays and objects: a `[` or `{` first, never a formula.
        SqlColumn("Changes", cast(changes, Text)),
        SqlColumn("Details", cast(entry.details, Text)),
    )


# ---------------------------------------------------------------------- statements


def deal_list_filters(filters: ExportFilters, caller_id: uuid.UUID) -> DealListFilters:
    """The deals list's filters an export was asked for (`owner=me`: the caller)."""
    return DealListFilters(
        q=filters.q,
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


async def _deals(ctx: Ctx, filters: ExportFilters) -> ExportStatement:
    wanted = deal_list_filters(filters, ctx.require_principal().user_id)
    return ExportStatement(deals.whole_list_statement(ctx, wanted), DEAL_COLUMNS)


async def _accounts(ctx: Ctx, filters: ExportFilters) -> ExportStatement:
    # Any member reads the accounts list.
    owner_id = ctx.require_principal().user_id if filters.owner_me else None
    listed = account_queries.list_statement(
        None, q=filters.q, owner_id=owner_id, tenure=filters.tenure, activity=filters.activity
    )
    return ExportStatement(listed, ACCOUNT_COLUMNS)


async def _contacts(ctx: Ctx, filters: ExportFilters) -> ExportStatement:
    # Any member reads the contacts list.
    ctx.require_principal()
    listed = contact_queries.list_statement(None, filters.account_id, filters.q)
    return ExportStatement(listed, CONTACT_COLUMNS)


async def _leads(ctx: Ctx, filters: ExportFilters) -> ExportStatement:
    view = filters.lead_view or LeadList.POOL
    queue = None if view is LeadList.TEAM else LeadView(view.value)
    listed = leads.whole_list_statement(ctx, queue, filters.q)
    # A queue in creation order reads `ix_leads_view` (tenant, view, id); the team's
    # list (by owner name) and a search (by rank) are sorted.
    index_ordered = queue is not None and filters.q is None
    return ExportStatement(listed, LEAD_COLUMNS, index_ordered=index_ordered)


async def _targets(ctx: Ctx, filters: ExportFilters) -> ExportStatement:
    listed = await targets.whole_list_statement(ctx, filters.status, filters.q)
    return ExportStatement(listed, TARGET_COLUMNS)


async def _activities(ctx: Ctx, filters: ExportFilters) -> ExportStatement:
    # Any member reads the activity views (as `GET /activities`: days in UTC).
    principal = ctx.require_principal()
    owner_id = principal.user_id if filters.owner_me else filters.owner_id
    listed = activity_queries.view_statement(
        filters.activity_view, None, owner_id, datetime.now(UTC)
    )
    return ExportStatement(listed, ACTIVITY_COLUMNS)


async def _audit(ctx: Ctx, filters: ExportFilters) -> ExportStatement:
    query = trail.TrailQuery(
        entity_type=filters.entity_type,
        entity_id=filters.entity_id,
        actor_id=filters.actor_id,
        since=filters.since,
        until=filters.until,
    )
    entries = await trail.whole_trail(ctx, query)
    return ExportStatement(select(entries), _audit_columns(entries))


# Each list's whole statement, with its list's role rules (a refusal is raised here,
# before anything is sent) and the export's columns.
STATEMENTS: dict[ExportEntity, Callable[[Ctx, ExportFilters], Awaitable[ExportStatement]]] = {
    ExportEntity.ACCOUNTS: _accounts,
    ExportEntity.CONTACTS: _contacts,
    ExportEntity.DEALS: _deals,
    ExportEntity.LEADS: _leads,
    ExportEntity.TARGETS: _targets,
    ExportEntity.ACTIVITIES: _activities,
    ExportEntity.AUDIT: _audit,
}
