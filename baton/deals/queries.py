"""Read models for deals: the lists of DESIGN §5, the pipeline board, the history.

Each runs a fixed number of statements whatever the page or board size.
"""

from __future__ import annotations

import operator
import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Float,
    Integer,
    Numeric,
    Row,
    Select,
    Table,
    Text,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from baton.accounts.models import Account
from baton.contacts.models import Contact
from baton.core.errors import FieldError, ValidationFailed
from baton.core.pagination import SortedPageRequest, encode_cursor, encode_sorted_cursor
from baton.db import search
from baton.db.driver import DriverStatement
from baton.deals.models import Deal, PipelineColumnTotal
from baton.deals.schemas import DealListFilters, DealView
from baton.identity.models import User
from baton.leads.models import Lead
from baton.workflow.models import Status, WorkflowHistory, WorkflowStep

DEALS: Table = Deal.__table__  # type: ignore[assignment]
STEPS: Table = WorkflowStep.__table__  # type: ignore[assignment]
STATUSES: Table = Status.__table__  # type: ignore[assignment]
ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
LEADS: Table = Lead.__table__  # type: ignore[assignment]
TOTALS: Table = PipelineColumnTotal.__table__  # type: ignore[assignment]
USERS: Table = User.__table__  # type: ignore[assignment]

# The step each listed deal is on, joined in (steps of any workflow version).
_STEP_COLUMNS = (
    STEPS.c.key.label("step_key"),
    STEPS.c.name.label("step_name"),
    STEPS.c.position.label("step_position"),
    STEPS.c.probability.label("step_probability"),
    STATUSES.c.category.label("step_category"),
)


class Joined(StrEnum):
    """What the deals list's key query joins besides the deals: only what its sort or
    filters read, so an index-ordered page touches `limit + 1` deals and no more."""

    STEPS = "steps"
    ACCOUNTS = "accounts"
    OWNERS = "owners"


@dataclass(frozen=True)
class SortKey:
    """A sortable column of the deals list: its expression, how the cursor's text
    reads back into a value of it, whether it may be null (nulls come last), and the
    tables it reads besides the deals."""

    expression: Any
    read: Callable[[str], Any]
    nullable: bool
    # days_in_stage is entered_step_at the other way round.
    reversed: bool = False
    joins: frozenset[Joined] = frozenset()


def _datetime(text_value: str) -> datetime:
    return datetime.fromisoformat(text_value)


def _position(text_value: str) -> int:
    """A step position as a cursor writes it: an `integer` column's value."""
    position = int(text_value)
    if not 0 <= position <= 2_147_483_647:
        raise ValueError("not a step position")
    return position


_WEIGHTED = func.round(
    DEALS.c.amount
    * cast(func.coalesce(cast(DEALS.c.probability, Float), STEPS.c.probability), Numeric)
    / 100,
    2,
)
_OWNER_NAME = USERS.c.full_name
# Sorts by a deal column use the `ix_deals_list_*` / `ix_deals_open_due` indexes;
# account, owner, stage and weighted are read across a join and sorted (top-N).
SORT_KEYS: dict[str, SortKey] = {
    "name": SortKey(DEALS.c.name, str, nullable=False),
    "account": SortKey(ACCOUNTS.c.name, str, nullable=False, joins=frozenset({Joined.ACCOUNTS})),
    "stage": SortKey(STEPS.c.position, _position, nullable=False, joins=frozenset({Joined.STEPS})),
    "amount": SortKey(DEALS.c.amount, Decimal, nullable=True),
    "weighted": SortKey(_WEIGHTED, Decimal, nullable=True, joins=frozenset({Joined.STEPS})),
    "owner": SortKey(_OWNER_NAME, str, nullable=False, joins=frozenset({Joined.OWNERS})),
    "expected_close": SortKey(DEALS.c.expected_close_date, date.fromisoformat, nullable=True),
    "next_step_due": SortKey(DEALS.c.next_step_due_date, date.fromisoformat, nullable=True),
    "days_in_stage": SortKey(DEALS.c.entered_step_at, _datetime, nullable=False, reversed=True),
}


def sort_of(sort: str) -> tuple[SortKey, bool]:
    """The sort key a `sort` parameter names and whether the expression descends."""
    key = SORT_KEYS[sort.removeprefix("-")]
    return key, sort.startswith("-") != key.reversed


def _after(key: SortKey, descending: bool, value: str | None, last_id: uuid.UUID) -> Any:
    """The rows after the cursor's (value, id) in `(expression NULLS LAST, id)` order."""
    beyond = operator.lt if descending else operator.gt
    after_id = bindparam("after_id", last_id, type_=Uuid)
    if value is None:
        return and_(key.expression.is_(None), beyond(DEALS.c.id, after_id))
    typed = _typed_after(key, value)
    after_value = bindparam("after_value", typed, type_=key.expression.type)
    later = beyond(tuple_(key.expression, DEALS.c.id), tuple_(after_value, after_id))
    return or_(later, key.expression.is_(None)) if key.nullable else later


def _typed_after(key: SortKey, value: str) -> Any:
    """A cursor's sort value read back as the sort's type."""
    try:
        return key.read(value)
    except (ValueError, ArithmeticError) as exc:
        # A cursor is the client's text: one whose value is not of the sort's type
        # was not written by us.
        raise ValidationFailed(errors=[FieldError("cursor", "is not a valid cursor")]) from exc


def _order(expression: Any, id_column: Any, descending: bool, nullable: bool = True) -> list[Any]:
    """`(expression NULLS LAST, id)`, both descending or both ascending. A column that
    is never null descends without `NULLS LAST` (the same order): PostgreSQL does not
    know the column has no nulls, and only `DESC` (nulls first) is the backward order
    of its ascending index — with `NULLS LAST` every row was sorted (`-name`,
    `days_in_stage`)."""
    if descending:
        ordered = expression.desc() if not nullable else expression.desc().nulls_last()
        return [ordered, id_column.desc()]
    return [expression.asc().nulls_last(), id_column]


def sort_value(row: Row[Any] | ListedShown) -> str | None:
    """A listed row's sort value as a cursor writes it (`sort_value` column)."""
    value = row.sort_value
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def _joined(query: Any, joins: Iterable[Joined]) -> Any:
    """`query` over the deals with the steps, accounts or owners joined in."""
    wanted = set(joins)
    if Joined.STEPS in wanted:
        query = query.join(
            STEPS, (STEPS.c.tenant_id == DEALS.c.tenant_id) & (STEPS.c.id == DEALS.c.step_id)
        )
    if Joined.ACCOUNTS in wanted:
        query = query.join(
            ACCOUNTS,
            (ACCOUNTS.c.tenant_id == DEALS.c.tenant_id) & (ACCOUNTS.c.id == DEALS.c.account_id),
        )
    if Joined.OWNERS in wanted:
        query = query.join(USERS, USERS.c.id == DEALS.c.owner_id)
    return query


def list_cursor(row: Row[Any] | ListedShown, sort: str | None) -> str:
    """The cursor of the page that continues after `row` in the order of `sort`; a
    search's (no sort) carries the row's rank."""
    if sort is None:
        rank = row.search_rank if isinstance(row, ListedShown) else row._mapping.get("search_rank")
        return encode_cursor(row.id, rank)
    return encode_sorted_cursor(sort, sort_value(row), row.id)


# The named parameters of a search's arguments (`search.bound_values`).
SEARCH_BIND = "q"


@dataclass(frozen=True)
class _Searched:
    """The list's search, when it has a `q` with words: what it looks for, where a
    ranked page starts (None: first page, or sorted by a column), and whether it is
    ranked (no `sort`) or only narrows a sorted list."""

    wanted: search.Search
    start: tuple[int, uuid.UUID] | None
    ranked: bool
    # No filter besides `q`: a ranked page is read by the page function.
    alone: bool


def _searched(page: SortedPageRequest, filters: DealListFilters) -> _Searched | None:
    """The search of a request (None without `q`). A ranked search continues only from
    a search's cursor: a plain list's is 422, as on the other lists."""
    if filters.q is None:
        return None
    ranked = page.sort is None
    start = None
    if ranked and page.after is not None:
        if page.after_rank is None:
            raise ValidationFailed(
                errors=[FieldError("cursor", "is not a valid cursor for this search")]
            )
        start = (page.after_rank, page.after)
    others = filters.model_dump(exclude={"q", "sort"}, exclude_none=True)
    return _Searched(search.parse(filters.q), start, ranked, alone=not others)


def searches_nothing(page: SortedPageRequest, filters: DealListFilters) -> bool:
    """A `q` without letters or digits: the list is empty, without a statement (its
    cursor is still checked, as on the other lists)."""
    found = _searched(page, filters)
    return found is not None and not found.wanted.words


def next_list_cursor(rows: Sequence[Row[Any] | ListedShown], page: SortedPageRequest) -> str | None:
    """The next page's cursor from a deals list's `limit + 1` rows (None: last page)."""
    if len(rows) <= page.limit:
        return None
    return list_cursor(rows[page.limit - 1], page.sort)


async def list_deals(
    session: AsyncSession,
    page: SortedPageRequest,
    filters: DealListFilters,
    *,
    user_id: uuid.UUID,
    today: date,
) -> list[Row[Any]]:
    """Live deals in the filters' order (creation order without a sort), `limit + 1`
    rows, each with its step, its account's and owner's names, its weighted amount
    and the value it is sorted by (one query: `list_statement`)."""
    if searches_nothing(page, filters):
        return []
    query = list_statement(page, filters, user_id=user_id, today=today)
    return list((await session.execute(query)).all())


class ListedShown(NamedTuple):
    """A row of `list_shown`: the deal's id, its sort value and what it shows (and in
    a ranked search its rank)."""

    id: uuid.UUID
    sort_value: Any
    shown: Any
    search_rank: int | None = None


# `list_shown`'s statements compiled for the driver, by the shape of the request:
# which filters are set (not their values), the sort, where the cursor is, and what
# the rows show. A client sends the same few lists; past the bound a list is compiled
# for its request alone.
_SHOWN_LISTS: dict[tuple[Any, ...], DriverStatement] = {}
_MAX_SHOWN_LISTS = 256
# The filters whose value changes the statement itself (the others are parameters).
_SHAPING_FILTERS = frozenset({"view", "overdue", "sort"})


async def list_shown(
    session: AsyncSession,
    page: SortedPageRequest,
    filters: DealListFilters,
    shown_as: Any,
    shown_key: Hashable,
    *,
    user_id: uuid.UUID,
    today: date,
) -> list[ListedShown]:
    """`list_deals` where each row shows `shown_as` (an expression over the deal, its
    step, status, account and owner; `shown_key` names it): the same deals, order
    and pages, the statement compiled once per shape of request and sent on the
    driver (SQLAlchemy's cache key alone, over a statement writing JSON, cost more
    than the rest of the Python around it)."""
    if searches_nothing(page, filters):
        return []
    shape = (
        tuple(
            (name, value if name in _SHAPING_FILTERS else value is None) for name, value in filters
        ),
        page.sort,
        page.after is None,
        page.after_value is None,
        shown_key,
    )
    statement = _SHOWN_LISTS.get(shape)
    if statement is None:
        query = list_statement(page, filters, user_id=user_id, today=today, shown_as=shown_as)
        statement = DriverStatement.of(query)
        if len(_SHOWN_LISTS) < _MAX_SHOWN_LISTS:
            _SHOWN_LISTS[shape] = statement
    rows = await statement.fetch(session, _list_values(page, filters, user_id, today))
    # asyncpg's ids are `uuid.UUID`s (a subclass).
    return [
        ListedShown(row["id"], row["sort_value"], row["shown"], row.get("search_rank"))
        for row in rows
    ]


def _list_values(
    page: SortedPageRequest, filters: DealListFilters, user_id: uuid.UUID, today: date
) -> dict[str, Any]:
    """The named parameters `_keys` and `list_statement` bind (whichever the
    statement has)."""
    month = filters.month_range()
    values: dict[str, Any] = {
        "user_id": user_id,
        "today": today,
        "account_id": filters.account_id,
        "owner_id": filters.owner_id,
        "stage": filters.stage,
        "amount_min": filters.amount_min,
        "amount_max": filters.amount_max,
        "month_first": month[0] if month else None,
        "month_last": month[1] if month else None,
        "after_id": page.after,
        "after_value": None,
        "limit": page.limit + 1,
    }
    if page.sort and page.after_value is not None:
        values["after_value"] = _typed_after(sort_of(page.sort)[0], page.after_value)
    searched = _searched(page, filters)
    if searched is not None:
        values |= search.bound_values(searched.wanted, SEARCH_BIND, searched.start, page.limit + 1)
    return values


def _keys(
    page: SortedPageRequest,
    filters: DealListFilters,
    *,
    user_id: uuid.UUID,
    today: date,
    on_step: Any = None,
    paged: bool = True,
) -> Any:
    """The ids and sort values of the deals after the page's cursor, in order, without
    a limit: the deals with only the joins the sort and filters read. `on_step`: a
    step (a `workflow_steps` alias of the enclosing query) whose deals alone are
    listed, in place of the stage filter (`_stage_keys`). Searched (`q`, no sort): in
    (rank, id) order, each with its `search_rank`; `paged` False (the whole list),
    every match."""
    searched = _searched(page, filters)
    sort = sort_of(page.sort) if page.sort else None
    joins = set(sort[0].joins) if sort else set()
    conditions: list[Any] = [DEALS.c.deleted_at.is_(None)]
    view = filters.view
    if view is DealView.CLOSED:
        conditions.append(DEALS.c.outcome.is_not(None))
    elif view is not None:
        conditions.append(DEALS.c.outcome.is_(None))
    # Each value a request gives is a named parameter (`_LIST_PARAMETERS`): the
    # statement compiled for one request serves the next of the same shape
    # (`list_shown`).
    if view is DealView.MINE:
        conditions.append(DEALS.c.owner_id == bindparam("user_id", user_id))
    if view is DealView.OVERDUE or filters.overdue:
        conditions += [
            DEALS.c.outcome.is_(None),
            DEALS.c.next_step_due_date < bindparam("today", today),
        ]
    elif filters.overdue is False:
        conditions.append(
            or_(
                DEALS.c.outcome.is_not(None),
                DEALS.c.next_step_due_date >= bindparam("today", today),
            )
        )
    if filters.account_id is not None:
        conditions.append(DEALS.c.account_id == bindparam("account_id", filters.account_id))
    if filters.owner_id is not None:
        conditions.append(DEALS.c.owner_id == bindparam("owner_id", filters.owner_id))
    if on_step is not None:
        conditions.append(DEALS.c.step_id == on_step.c.id)
    elif filters.stage is not None:
        joins.add(Joined.STEPS)
        conditions.append(STEPS.c.key == bindparam("stage", filters.stage))
    if filters.amount_min is not None:
        conditions.append(DEALS.c.amount >= bindparam("amount_min", filters.amount_min))
    if filters.amount_max is not None:
        conditions.append(DEALS.c.amount <= bindparam("amount_max", filters.amount_max))
    month = filters.month_range()
    if month is not None:
        conditions += [
            DEALS.c.expected_close_date >= bindparam("month_first", month[0]),
            DEALS.c.expected_close_date <= bindparam("month_last", month[1]),
        ]
    if searched is not None and not searched.wanted.words:
        # Nothing to look for matches nothing (`searches_nothing`: no statement is sent).
        conditions.append(false())
        searched = None
    if searched is not None and searched.ranked:
        unsorted: Any = literal_column("NULL").label("sort_value")
        if searched.alone and paged:
            # Only the page's rows are read, however many match (`search.page`).
            first = search.page(
                "deals", searched.wanted, searched.start, page.limit + 1, bind=SEARCH_BIND
            )
            keys = (
                select(DEALS.c.id, first.c.search_rank, unsorted)
                .select_from(DEALS)
                .join(first, first.c.id == DEALS.c.id)
                .order_by(first.c.search_rank, DEALS.c.id)
            )
        else:
            found = search.found("deals", searched.wanted, bind=SEARCH_BIND)
            keys = (
                select(DEALS.c.id, found.c.rank.label("search_rank"), unsorted)
                .select_from(DEALS)
                .join(found, found.c.id == DEALS.c.id)
                .order_by(found.c.rank, DEALS.c.id)
            )
            if searched.start is not None:
                conditions.append(
                    search.after(found.c.rank, DEALS.c.id, searched.start, bind=SEARCH_BIND)
                )
        return _joined(keys, joins).where(*conditions)
    if searched is not None:
        # Sorted by a column: the search only narrows the list.
        found = search.found("deals", searched.wanted, bind=SEARCH_BIND)
        conditions.append(DEALS.c.id.in_(select(found.c.id)))
    if sort is None:
        keys = select(DEALS.c.id, literal_column("NULL").label("sort_value")).order_by(DEALS.c.id)
        if page.after is not None:
            conditions.append(DEALS.c.id > bindparam("after_id", page.after))
    else:
        key, descending = sort
        keys = select(DEALS.c.id, key.expression.label("sort_value")).order_by(
            *_order(key.expression, DEALS.c.id, descending, key.nullable)
        )
        if page.after is not None:
            conditions.append(_after(key, descending, page.after_value, page.after))
    return _joined(keys.select_from(DEALS), joins).where(*conditions)


def list_statement(
    page: SortedPageRequest,
    filters: DealListFilters,
    *,
    user_id: uuid.UUID,
    today: date,
    shown_as: Any = None,
) -> Select[Any]:
    """The deals list's one statement (`list_deals`; bench/deals_list.py runs it raw):
    the page's keys first (`_keys`), then what each of those rows shows joined
    in — so the display joins cost `limit + 1` lookups, not one per deal sorted.
    With `shown_as`, each row is the deal's `id`, `shown_as` as `shown` and its
    `sort_value` (`list_shown`).

    view pipeline: open; mine: open and owned by the caller; overdue (or `overdue`):
    open with the next step's due date before today; closed: won or lost. The other
    filters narrow by owner, step key, amount range and expected-close month.
    """
    limit = bindparam("limit", page.limit + 1, type_=Integer)
    searched = _searched(page, filters)
    ranked = None
    if searched is not None and searched.ranked and searched.wanted.words:
        ranked = searched.wanted
    if filters.stage is not None and page.sort in STEP_ORDERED and searched is None:
        keys = _stage_keys(page, filters, user_id=user_id, today=today, limit=limit)
    else:
        # A search keeps the stage a join: its keys come in (rank, id) order or narrow
        # the sort's own read (`_keys`).
        keys = _keys(page, filters, user_id=user_id, today=today).limit(limit)
    return _shown_page(keys.subquery("page_keys"), page.sort, shown_as, ranked)


# The orders a step-led index gives (`ix_deals_step_*`; None: creation order): a list
# filtered by stage in one of them is paged step by step (`_stage_keys`). In the
# others, the stage stays a join on its key, where the planner reads the sort's own
# index and drops the other steps' deals (or, for a small step, sorts the step's).
STEP_ORDERED: frozenset[str | None] = frozenset(
    {None, "expected_close", "days_in_stage", "-days_in_stage", "-amount"}
)


def _stage_keys(
    page: SortedPageRequest,
    filters: DealListFilters,
    *,
    user_id: uuid.UUID,
    today: date,
    limit: BindParameter[int],
) -> Any:
    """`_keys` of a list filtered by stage, cut to the page: per step with the stage's
    key (one per workflow version holding it), its first `limit` deals in the list's
    order, then the first `limit` of those.

    Why per step: joined by key, the planner neither knows which step nor how many
    deals it holds, and read every deal of the step to sort them (190 ms at 1 000 000
    deals, 11.9 times the 100 000-deal tenant's). With the step fixed in each part,
    each part is one range of a step-led index in the list's order and stops at the
    page (`STEP_ORDERED`); the key stays a bound parameter, so the statement is the
    same for every stage."""
    step = STEPS.alias("stage_step")
    per_step = (
        _keys(page, filters, user_id=user_id, today=today, on_step=step)
        .limit(limit)
        .lateral("step_keys")
    )
    merged = (
        select(per_step.c.id, per_step.c.sort_value)
        .select_from(step)
        .join(per_step, true())
        .where(step.c.key == bindparam("stage", filters.stage))
    )
    if page.sort is None:
        return merged.order_by(per_step.c.id).limit(limit)
    key, descending = sort_of(page.sort)
    ordered = _order(per_step.c.sort_value, per_step.c.id, descending, key.nullable)
    return merged.order_by(*ordered).limit(limit)


def whole_list_statement(
    filters: DealListFilters, *, user_id: uuid.UUID, today: date
) -> Select[Any]:
    """The deals list without pages: every deal its filters select, in its order, with
    what `list_statement` joins in (the export of the list selects its own columns
    from it: `baton.exports.statements`)."""
    whole = SortedPageRequest(limit=0, sort=filters.sort, after=None)
    # The keys' own order is the outer statement's: no sort in the subquery.
    keys = _keys(whole, filters, user_id=user_id, today=today, paged=False).order_by(None)
    searched = _searched(whole, filters)
    ranked = searched is not None and searched.ranked and bool(searched.wanted.words)
    return _shown(keys.subquery("keys"), filters.sort, ranked=ranked)


def _shown_page(
    keys: Any, sort_name: str | None, shown_as: Any = None, ranked: search.Search | None = None
) -> Select[Any]:
    """What each deal of one page of `keys` shows, in the page's order.

    The page's ids go in as one array, computed once (`deals.id = ANY(…)`), not as a
    join with the keys: the planner's estimate of a tenant's deals comes from the
    whole table, and when it guessed one row it nested the join the wrong way round,
    reading the page's keys again for every deal (200 times 200 rows for a board of 200
    on a table not yet analyzed: 15 ms of a 20 ms statement). Each id is now one
    index lookup whatever the estimate; the sort value is computed again on the
    page's rows, over the same joins; so is a search's rank (`ranked`), the page then
    in (rank, id) order."""
    sort = sort_of(sort_name) if sort_name else None
    # An array value (the cast says so): `= ANY (SELECT …)` would compare each id
    # with the subquery's rows instead.
    page_ids = cast(select(func.array_agg(keys.c.id)).scalar_subquery(), ARRAY(Uuid))
    sort_value = sort[0].expression if sort else literal_column("NULL")
    columns = (
        (
            *search.answered_columns(DEALS),
            *_STEP_COLUMNS,
            ACCOUNTS.c.name.label("account_name"),
            _OWNER_NAME.label("owner_name"),
            _WEIGHTED.label("weighted"),
        )
        if shown_as is None
        else (DEALS.c.id, shown_as.label("shown"))
    )
    shown = select(*columns, sort_value.label("sort_value")).where(DEALS.c.id == any_(page_ids))
    query: Select[Any] = _joined(shown.select_from(DEALS), Joined).join(
        STATUSES,
        (STATUSES.c.tenant_id == STEPS.c.tenant_id) & (STATUSES.c.id == STEPS.c.status_id),
    )
    if ranked is not None:
        rank = search.rank_of(DEALS.c.search_doc, ranked, bind=SEARCH_BIND)
        return query.add_columns(rank.label("search_rank")).order_by(rank, DEALS.c.id)
    if sort is None:
        return query.order_by(DEALS.c.id)
    return query.order_by(*_order(sort[0].expression, DEALS.c.id, sort[1], sort[0].nullable))


def _shown(keys: Any, sort_name: str | None, *, ranked: bool = False) -> Select[Any]:
    """What each of the `keys` rows shows, in their order: the deal, its step,
    status, account, owner and weighted amount joined in (`ranked`: a search's keys,
    in (rank, id) order)."""
    sort = sort_of(sort_name) if sort_name else None
    shown = select(
        *search.answered_columns(DEALS),
        *_STEP_COLUMNS,
        ACCOUNTS.c.name.label("account_name"),
        _OWNER_NAME.label("owner_name"),
        _WEIGHTED.label("weighted"),
        keys.c.sort_value,
    ).join(keys, (DEALS.c.id == keys.c.id))
    query: Select[Any] = _joined(shown, Joined).join(
        STATUSES,
        (STATUSES.c.tenant_id == STEPS.c.tenant_id) & (STATUSES.c.id == STEPS.c.status_id),
    )
    if ranked:
        return query.order_by(keys.c.search_rank, keys.c.id)
    if sort is None:
        return query.order_by(keys.c.id)
    return query.order_by(*_order(keys.c.sort_value, keys.c.id, sort[1], sort[0].nullable))


@dataclass(frozen=True)
class BoardFilter:
    """Which deals a board shows: every live one, or a member's (`owner_id`), or the
    open ones whose next step was due before `due_before`."""

    owner_id: uuid.UUID | None = None
    due_before: date | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.owner_id is not None:
            found.append(DEALS.c.owner_id == self.owner_id)
        if self.due_before is not None:
            found += [DEALS.c.outcome.is_(None), DEALS.c.next_step_due_date < self.due_before]
        return found


@dataclass
class ColumnTotals:
    count: int = 0
    # Sum of the column's amounts per currency; a currency whose deals have no amount
    # has no total.
    amounts: dict[str, Decimal] = field(default_factory=dict)


# The whole board: `pipeline_column_totals`, kept by triggers on deals, has a few
# shard rows per column and currency, so this reads O(steps) rows however many deals
# the pipeline holds. Every board sends it: straight to the driver.
_amount_count = func.sum(TOTALS.c.amount_count)
_WHOLE_BOARD_TOTALS = DriverStatement.of(
    select(
        TOTALS.c.step_id,
        TOTALS.c.currency,
        func.sum(TOTALS.c.deal_count),
        case((_amount_count > 0, func.sum(TOTALS.c.amount_total))),
    )
    .where(TOTALS.c.workflow_id == bindparam("workflow_id"))
    .group_by(TOTALS.c.step_id, TOTALS.c.currency)
    .having(func.sum(TOTALS.c.deal_count) > 0)
    .order_by(TOTALS.c.step_id, TOTALS.c.currency)
)


async def board_totals(
    session: AsyncSession, workflow_id: uuid.UUID, shown: BoardFilter
) -> dict[uuid.UUID, ColumnTotals]:
    """Per step of the workflow: how many deals the board shows and their amounts
    summed per currency (one query); steps without deals are absent."""
    conditions = shown.conditions()
    rows: Iterable[Any]
    if conditions:
        # A filtered board counts only some deals: the maintained totals cannot say
        # which, so it aggregates the deals it shows (owner / due-date partial indexes).
        rows = await session.execute(
            select(DEALS.c.step_id, DEALS.c.currency, func.count(), func.sum(DEALS.c.amount))
            .where(DEALS.c.workflow_id == workflow_id, DEALS.c.deleted_at.is_(None), *conditions)
            .group_by(DEALS.c.step_id, DEALS.c.currency)
            .order_by(DEALS.c.step_id, DEALS.c.currency)
        )
    else:
        rows = await _WHOLE_BOARD_TOTALS.fetch(session, {"workflow_id": workflow_id})
    columns: dict[uuid.UUID, ColumnTotals] = defaultdict(ColumnTotals)
    for step_id, currency, count, amount in rows:
        column = columns[step_id]
        column.count += int(count)
        if amount is not None:
            column.amounts[currency] = amount
    return columns


def _first_cards(per_column: int | BindParameter[int], shown: BoardFilter, *columns: Any) -> Any:
    """`columns` of the first `per_column` cards of the step in the enclosing query,
    in board order: an index range scan of `uq_deals_board_rank` (workflow, step,
    rank) per step, so the cost follows the cards shown, not the deals in the
    workflow."""
    return (
        select(*columns)
        .where(
            DEALS.c.workflow_id == STEPS.c.workflow_id,
            DEALS.c.step_id == STEPS.c.id,
            DEALS.c.deleted_at.is_(None),
            *shown.conditions(),
        )
        .order_by(DEALS.c.rank)
        .limit(per_column)
    )


# What a board card on a page shows, with the name of its account.
_CARD_COLUMNS = (
    DEALS.c.id,
    DEALS.c.step_id,
    DEALS.c.rank,
    DEALS.c.version,
    DEALS.c.name,
    DEALS.c.account_id,
    DEALS.c.owner_id,
    DEALS.c.amount,
    DEALS.c.currency,
    DEALS.c.outcome,
    DEALS.c.next_step,
    DEALS.c.next_step_due_date,
)


async def board_cards(
    session: AsyncSession, workflow_id: uuid.UUID, per_column: int, shown: BoardFilter
) -> dict[uuid.UUID, list[Row[Any]]]:
    """Per step: its first `per_column` cards in board order, each with the columns
    a card shows and `account_name` (deleted accounts too: a card still names its
    account) — one query."""
    first = _first_cards(per_column, shown, *_CARD_COLUMNS).lateral("first_cards")
    rows = await session.execute(
        select(first, ACCOUNTS.c.name.label("account_name"))
        .select_from(STEPS)
        .join(first, true())
        .outerjoin(ACCOUNTS, ACCOUNTS.c.id == first.c.account_id)
        .where(STEPS.c.workflow_id == workflow_id)
        .order_by(first.c.step_id, first.c.rank)
    )
    cards: dict[uuid.UUID, list[Row[Any]]] = defaultdict(list)
    for card in rows:
        cards[card.step_id].append(card)
    return cards


def _constant(value: str) -> Any:
    """A string written into the statement: a bound parameter in `to_char`'s format
    or `timezone`'s zone is parsed again for every row (ten times slower)."""
    return literal_column("'" + value.replace("'", "''") + "'", Text)


class Json(StrEnum):
    """How `json_text` writes a member's SQL value."""

    TEXT = "text"  # free text: escaped by to_json
    QUOTED = "quoted"  # text that needs no escaping (ids, dates, codes): quoted as is
    BARE = "bare"  # a number, or JSON already written


def json_text(**members: tuple[Json, Any]) -> Any:
    """A JSON object as text, its members in the order given, written by
    concatenation: `json_build_object` looks each argument's type up again for every
    row, which made it twice as slow over a board's cards. Null values write `null`."""
    written = None
    for index, (name, (kind, value)) in enumerate(members.items()):
        text_value = cast(value, Text)
        if kind is Json.TEXT:
            text_value = cast(func.to_json(value), Text)
        elif kind is Json.QUOTED:
            text_value = _constant('"') + text_value + _constant('"')
        member = _constant(("{" if index == 0 else ",") + f'"{name}":') + func.coalesce(
            text_value, _constant("null")
        )
        written = member if written is None else written + member
    return written + _constant("}")


def _utc_json(column: Any) -> Any:
    """A timestamp as the API's other answers write it (pydantic's form): UTC,
    microseconds only when there are some, `Z`."""
    utc = func.timezone(_constant("UTC"), column)
    return func.to_char(utc, _constant('YYYY-MM-DD"T"HH24:MI:SS'), type_=Text) + case(
        (func.date_trunc(_constant("second"), utc) == utc, _constant("Z")),
        else_=func.to_char(utc, _constant('.US"Z"')),
    )


def iso_datetime_json(column: Any) -> Any:
    """A timestamp as Python's `isoformat` writes an aware UTC datetime (GraphQL's
    `DateTime`): microseconds only when there are some, `+00:00`."""
    utc = func.timezone(_constant("UTC"), column)
    return func.to_char(utc, _constant('YYYY-MM-DD"T"HH24:MI:SS'), type_=Text) + case(
        (func.date_trunc(_constant("second"), utc) == utc, _constant("+00:00")),
        else_=func.to_char(utc, _constant('.US"+00:00"')),
    )


def float_json(value: Any) -> Any:
    """A number as a JSON float the way Python writes it (20 → 20.0)."""
    return case(
        (value == func.trunc(value), cast(cast(value, BigInteger), Text) + _constant(".0")),
        else_=cast(value, Text),
    )


def _board_cards_json_statement() -> Any:
    """Per step of `:workflow_id`: its id and its first `:per_column` cards in board
    order, a JSON array of `DealOut` objects. Built once (the expression is costly to
    build: ~1 ms), bound per request."""
    step = json_text(
        id=(Json.QUOTED, STEPS.c.id),
        key=(Json.TEXT, STEPS.c.key),
        name=(Json.TEXT, STEPS.c.name),
        category=(Json.QUOTED, STATUSES.c.category),
        order=(Json.BARE, STEPS.c.position),
    )
    d = DEALS.c
    card = json_text(
        id=(Json.QUOTED, d.id),
        name=(Json.TEXT, d.name),
        account_id=(Json.QUOTED, d.account_id),
        contact_id=(Json.QUOTED, d.contact_id),
        owner_id=(Json.QUOTED, d.owner_id),
        amount=(Json.QUOTED, d.amount),
        currency=(Json.QUOTED, d.currency),
        probability=(
            Json.BARE,
            float_json(func.coalesce(cast(d.probability, Float), STEPS.c.probability)),
        ),
        probability_override=(Json.BARE, d.probability),
        expected_close_date=(Json.QUOTED, d.expected_close_date),
        next_step=(Json.TEXT, d.next_step),
        next_step_due_date=(Json.QUOTED, d.next_step_due_date),
        outcome=(Json.QUOTED, d.outcome),
        win_reason=(Json.TEXT, d.win_reason),
        loss_reason=(Json.TEXT, d.loss_reason),
        close_notes=(Json.TEXT, d.close_notes),
        closed_at=(Json.QUOTED, _utc_json(d.closed_at)),
        source=(Json.TEXT, d.source),
        need=(Json.TEXT, d.need),
        notes=(Json.TEXT, d.notes),
        workflow_id=(Json.QUOTED, d.workflow_id),
        step=(Json.BARE, step),
        entered_step_at=(Json.QUOTED, _utc_json(d.entered_step_at)),
        rank=(Json.QUOTED, d.rank),
        created_at=(Json.QUOTED, _utc_json(d.created_at)),
        updated_at=(Json.QUOTED, _utc_json(d.updated_at)),
        version=(Json.BARE, d.version),
    )
    # The card's step is the enclosing query's: correlate rather than join it again.
    first = (
        _first_cards(bindparam("per_column"), BoardFilter(), card.label("card"), d.rank)
        .correlate(STEPS, STATUSES)
        .subquery("first_cards")
    )
    column_cards = select(
        _constant("[")
        + func.coalesce(
            func.string_agg(first.c.card, aggregate_order_by(_constant(","), first.c.rank)),
            _constant(""),
        )
        + _constant("]")
    ).scalar_subquery()
    return (
        select(STEPS.c.id, column_cards)
        .join(
            STATUSES,
            (STATUSES.c.tenant_id == STEPS.c.tenant_id) & (STATUSES.c.id == STEPS.c.status_id),
        )
        .where(STEPS.c.workflow_id == bindparam("workflow_id"))
    )


_BOARD_CARDS_JSON = DriverStatement.of(_board_cards_json_statement())


async def board_cards_json(
    session: AsyncSession, workflow_id: uuid.UUID, per_column: int
) -> dict[uuid.UUID, str]:
    """Per step: its first `per_column` cards in board order as a JSON array of the
    API's deal answer (`DealOut`), written by PostgreSQL — one query.

    Building a thousand answers in Python costs ~20 µs a card; PostgreSQL writes
    them in about half that, and the API splices the arrays into its answer.
    `tests/deals/test_board.py` holds every card equal to `GET /deals/{id}`.
    """
    rows = await _BOARD_CARDS_JSON.fetch(
        session, {"workflow_id": workflow_id, "per_column": per_column}
    )
    return {step_id: cards_json for step_id, cards_json in rows}


async def history_of(session: AsyncSession, deal_id: uuid.UUID) -> list[WorkflowHistory]:
    """Every step change of a deal, oldest first."""
    query = (
        select(WorkflowHistory)
        .where(WorkflowHistory.record_id == deal_id)
        .order_by(WorkflowHistory.at, WorkflowHistory.id)
    )
    return list((await session.scalars(query)).all())


async def account_names(
    session: AsyncSession, account_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Names of the current tenant's accounts among `account_ids`, deleted ones too
    (a deal's card still names its account), in one query."""
    wanted = set(account_ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(ACCOUNTS.c.id, ACCOUNTS.c.name).where(ACCOUNTS.c.id.in_(wanted))
    )
    return {account_id: name for account_id, name in rows.all()}


async def account_choices(session: AsyncSession, limit: int) -> list[tuple[uuid.UUID, str]]:
    """Live accounts a new deal can be opened on, by name (the first `limit`; one query)."""
    rows = await session.execute(
        select(ACCOUNTS.c.id, ACCOUNTS.c.name)
        .where(ACCOUNTS.c.deleted_at.is_(None))
        .order_by(ACCOUNTS.c.name, ACCOUNTS.c.id)
        .limit(limit)
    )
    return [(account_id, name) for account_id, name in rows.all()]


@dataclass(frozen=True)
class DealReferences:
    """What a deal page shows of the records a deal points at."""

    account_name: str | None
    account_deleted: bool
    contact_name: str | None
    contact_deleted: bool
    contact_email: str | None
    contact_phone: str | None
    # The lead the deal was opened for (its claim or conversion), when the caller sees it.
    lead_id: uuid.UUID | None
    lead_name: str | None


async def references(
    session: AsyncSession, deal_id: uuid.UUID, account_id: uuid.UUID, contact_id: uuid.UUID | None
) -> DealReferences:
    """The deal's account and contact names, whether each is deleted, the contact's
    email and phone, and the lead it came from (one query)."""
    contact = CONTACTS.c
    row = (
        await session.execute(
            select(
                select(ACCOUNTS.c.name)
                .where(ACCOUNTS.c.id == account_id)
                .scalar_subquery()
                .label("account_name"),
                select(ACCOUNTS.c.deleted_at.is_not(None))
                .where(ACCOUNTS.c.id == account_id)
                .scalar_subquery()
                .label("account_deleted"),
                select(func.concat_ws(" ", contact.first_name, contact.last_name))
                .where(contact.id == contact_id)
                .scalar_subquery()
                .label("contact_name"),
                select(contact.deleted_at.is_not(None))
                .where(contact.id == contact_id)
                .scalar_subquery()
                .label("contact_deleted"),
                select(contact.email)
                .where(contact.id == contact_id)
                .scalar_subquery()
                .label("contact_email"),
                select(contact.phone)
                .where(contact.id == contact_id)
                .scalar_subquery()
                .label("contact_phone"),
                select(LEADS.c.id)
                .where(LEADS.c.deal_id == deal_id, LEADS.c.deleted_at.is_(None))
                .limit(1)
                .scalar_subquery()
                .label("lead_id"),
                select(LEADS.c.company_name)
                .where(LEADS.c.deal_id == deal_id, LEADS.c.deleted_at.is_(None))
                .limit(1)
                .scalar_subquery()
                .label("lead_name"),
            )
        )
    ).one()
    return DealReferences(
        row.account_name,
        bool(row.account_deleted),
        row.contact_name,
        bool(row.contact_deleted),
        row.contact_email,
        row.contact_phone,
        row.lead_id,
        row.lead_name,
    )
