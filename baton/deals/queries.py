"""Read models for deals: the lists of DESIGN §5, the pipeline board, the history.

Each runs a fixed number of statements whatever the page or board size.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Table, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from baton.accounts.models import Account
from baton.contacts.models import Contact
from baton.core.pagination import PageRequest
from baton.deals.models import Deal, PipelineColumnTotal
from baton.deals.schemas import DealView
from baton.workflow.models import Status, WorkflowHistory, WorkflowStep

DEALS: Table = Deal.__table__  # type: ignore[assignment]
STEPS: Table = WorkflowStep.__table__  # type: ignore[assignment]
STATUSES: Table = Status.__table__  # type: ignore[assignment]
ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
TOTALS: Table = PipelineColumnTotal.__table__  # type: ignore[assignment]

# The step each listed deal is on, joined in (steps of any workflow version).
_STEP_COLUMNS = (
    STEPS.c.key.label("step_key"),
    STEPS.c.name.label("step_name"),
    STEPS.c.position.label("step_position"),
    STEPS.c.probability.label("step_probability"),
    STATUSES.c.category.label("step_category"),
)


def _with_steps() -> Any:
    return (
        select(DEALS, *_STEP_COLUMNS)
        .join(STEPS, (STEPS.c.tenant_id == DEALS.c.tenant_id) & (STEPS.c.id == DEALS.c.step_id))
        .join(
            STATUSES,
            (STATUSES.c.tenant_id == STEPS.c.tenant_id) & (STATUSES.c.id == STEPS.c.status_id),
        )
    )


async def list_deals(
    session: AsyncSession,
    page: PageRequest,
    *,
    view: DealView | None,
    user_id: uuid.UUID,
    today: date,
    account_id: uuid.UUID | None,
) -> list[Row[Any]]:
    """Live deals in creation order, `limit + 1` rows, each with its step (one query).

    pipeline: open; mine: open and owned by the caller; overdue: open with the next
    step's due date before today; closed: won or lost. No view: every live deal.
    """
    query = (
        _with_steps().where(DEALS.c.deleted_at.is_(None)).order_by(DEALS.c.id).limit(page.limit + 1)
    )
    if view is DealView.CLOSED:
        query = query.where(DEALS.c.outcome.is_not(None))
    elif view is not None:
        query = query.where(DEALS.c.outcome.is_(None))
    if view is DealView.MINE:
        query = query.where(DEALS.c.owner_id == user_id)
    if view is DealView.OVERDUE:
        query = query.where(DEALS.c.next_step_due_date < today)
    if account_id is not None:
        query = query.where(DEALS.c.account_id == account_id)
    if page.after is not None:
        query = query.where(DEALS.c.id > page.after)
    return list((await session.execute(query)).all())


@dataclass
class BoardColumn:
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    cards: list[Row[Any]] = field(default_factory=list)


async def board(
    session: AsyncSession,
    workflow_id: uuid.UUID,
    per_column: int,
    *,
    owner_id: uuid.UUID | None = None,
    due_before: date | None = None,
) -> dict[uuid.UUID, BoardColumn]:
    """Per step: how many deals, their amounts summed per currency, and the first
    `per_column` cards in board order (2 queries).

    The board's filters narrow counts, totals and cards alike: `owner_id` keeps that
    member's deals, `due_before` the open deals whose next step is due before it.
    """
    live = [DEALS.c.workflow_id == workflow_id, DEALS.c.deleted_at.is_(None)]
    filters = []
    if owner_id is not None:
        filters.append(DEALS.c.owner_id == owner_id)
    if due_before is not None:
        filters += [DEALS.c.outcome.is_(None), DEALS.c.next_step_due_date < due_before]
    live += filters
    columns: dict[uuid.UUID, BoardColumn] = defaultdict(BoardColumn)
    if filters:
        # A filtered board counts only some deals: the maintained totals cannot say
        # which, so it aggregates the deals it shows (owner / due-date partial indexes).
        totals = await session.execute(
            select(DEALS.c.step_id, DEALS.c.currency, func.count(), func.sum(DEALS.c.amount))
            .where(*live)
            .group_by(DEALS.c.step_id, DEALS.c.currency)
            .order_by(DEALS.c.step_id, DEALS.c.currency)
        )
    else:
        # The whole board: `pipeline_column_totals`, kept by triggers on deals, has a
        # few shard rows per column and currency, so this reads O(steps) rows however
        # many deals the pipeline holds. A currency whose deals have no amount has no
        # total, as SUM over the deals says.
        amount_count = func.sum(TOTALS.c.amount_count)
        totals = await session.execute(
            select(
                TOTALS.c.step_id,
                TOTALS.c.currency,
                func.sum(TOTALS.c.deal_count),
                case((amount_count > 0, func.sum(TOTALS.c.amount_total))),
            )
            .where(TOTALS.c.workflow_id == workflow_id)
            .group_by(TOTALS.c.step_id, TOTALS.c.currency)
            .having(func.sum(TOTALS.c.deal_count) > 0)
            .order_by(TOTALS.c.step_id, TOTALS.c.currency)
        )
    for step_id, currency, count, amount in totals:
        column = columns[step_id]
        column.count += int(count)
        if amount is not None:
            column.totals[currency] = amount
    # Per step, an index range scan of `uq_deals_board_rank` (workflow, step, rank):
    # the cost follows the cards shown, not the deals in the workflow.
    first_cards = (
        select(DEALS)
        .where(
            DEALS.c.workflow_id == STEPS.c.workflow_id,
            DEALS.c.step_id == STEPS.c.id,
            DEALS.c.deleted_at.is_(None),
            *filters,
        )
        .order_by(DEALS.c.rank)
        .limit(per_column)
        .lateral("first_cards")
    )
    cards = await session.execute(
        select(first_cards)
        .select_from(STEPS)
        .join(first_cards, true())
        .where(STEPS.c.workflow_id == workflow_id)
        .order_by(first_cards.c.step_id, first_cards.c.rank)
    )
    for card in cards:
        columns[card.step_id].cards.append(card)
    return columns


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


async def references(
    session: AsyncSession, account_id: uuid.UUID, contact_id: uuid.UUID | None
) -> DealReferences:
    """The deal's account and contact names, and whether each is deleted (one query)."""
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
            )
        )
    ).one()
    return DealReferences(
        row.account_name,
        bool(row.account_deleted),
        row.contact_name,
        bool(row.contact_deleted),
    )
