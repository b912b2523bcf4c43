"""Read models for leads: one lead, and the lists of DESIGN §5 (one statement each).

A lead is read with its step (any workflow version) and, while pooled, its pool entry
(the claim SLA). Row-level security decides which leads a role sees at all; the lists
filter by `view`, which the database derives from the step. The team list (managers'
"Team's leads") is the `mine` view of every owner, by owner name, with the name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, Table, false, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from baton.accounts.models import Account
from baton.core.errors import FieldError, ValidationFailed
from baton.core.pagination import PageRequest, decode_cursor, encode_cursor
from baton.db import search
from baton.deals.models import Deal
from baton.identity.models import User
from baton.leads.models import Lead, LeadView, PoolEntry
from baton.workflow.models import Status, WorkflowStep

LEADS: Table = Lead.__table__  # type: ignore[assignment]
POOL: Table = PoolEntry.__table__  # type: ignore[assignment]
STEPS: Table = WorkflowStep.__table__  # type: ignore[assignment]
STATUSES: Table = Status.__table__  # type: ignore[assignment]
ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
DEALS: Table = Deal.__table__  # type: ignore[assignment]
USERS: Table = User.__table__  # type: ignore[assignment]

_LEAD_KEYS = tuple(column.key for column in search.answered_columns(LEADS))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class StepInfo:
    id: uuid.UUID
    key: str
    name: str
    category: str
    position: int


@dataclass(frozen=True)
class LeadRecord:
    """A lead as the API shows it: its columns, its step, its pool entry if pooled."""

    lead: Lead
    step: StepInfo
    claim_due_at: datetime | None


def _read() -> Select[Any]:
    return (
        select(
            *search.answered_columns(LEADS),
            STEPS.c.key.label("step_key"),
            STEPS.c.name.label("step_name"),
            STEPS.c.position.label("step_position"),
            STATUSES.c.category.label("step_category"),
            POOL.c.claim_due_at,
        )
        .join(STEPS, (STEPS.c.tenant_id == LEADS.c.tenant_id) & (STEPS.c.id == LEADS.c.step_id))
        .join(
            STATUSES,
            (STATUSES.c.tenant_id == STEPS.c.tenant_id) & (STATUSES.c.id == STEPS.c.status_id),
        )
        .outerjoin(POOL, (POOL.c.tenant_id == LEADS.c.tenant_id) & (POOL.c.lead_id == LEADS.c.id))
    )


def lead_of(row: Row[Any]) -> Lead:
    """A detached Lead, from a row holding the `leads` columns."""
    values = row._asdict()
    return Lead.detached({key: values[key] for key in _LEAD_KEYS})


def record_of(row: Row[Any]) -> LeadRecord:
    return LeadRecord(
        lead=lead_of(row),
        step=StepInfo(
            id=row.step_id,
            key=row.step_key,
            name=row.step_name,
            category=row.step_category,
            position=row.step_position,
        ),
        claim_due_at=row.claim_due_at,
    )


async def live_lead(session: AsyncSession, lead_id: uuid.UUID) -> LeadRecord | None:
    """A live lead the caller may see (RLS: tenant and role), or None."""
    row = (
        await session.execute(_read().where(LEADS.c.id == lead_id, LEADS.c.deleted_at.is_(None)))
    ).first()
    return record_of(row) if row else None


@dataclass(frozen=True)
class LeadOutcome:
    """What a claimed or converted lead became, as its page links it: names of the live
    account and deal (None when there is none, or it was deleted since)."""

    account_name: str | None
    deal_name: str | None


async def outcome_of(
    session: AsyncSession, account_id: uuid.UUID | None, deal_id: uuid.UUID | None
) -> LeadOutcome:
    """The lead's account and deal names (one statement)."""
    row = (
        await session.execute(
            select(
                select(ACCOUNTS.c.name)
                .where(ACCOUNTS.c.id == account_id, ACCOUNTS.c.deleted_at.is_(None))
                .scalar_subquery()
                .label("account_name"),
                select(DEALS.c.name)
                .where(DEALS.c.id == deal_id, DEALS.c.deleted_at.is_(None))
                .scalar_subquery()
                .label("deal_name"),
            )
        )
    ).one()
    return LeadOutcome(row.account_name, row.deal_name)


async def list_leads(
    session: AsyncSession, page: PageRequest, *, view: LeadView, owner_id: uuid.UUID | None
) -> list[LeadRecord]:
    """Live leads of one view in creation order (UUIDv7 ids), `limit + 1` of them;
    `owner_id` keeps one salesperson's leads (the `mine` list)."""
    query = list_statement(page, view=view, owner_id=owner_id)
    return [record_of(row) for row in (await session.execute(query)).all()]


def list_statement(
    page: PageRequest | None, *, view: LeadView, owner_id: uuid.UUID | None
) -> Select[Any]:
    """The statement of `list_leads`; `page` None is the whole queue (an export reads
    it: `baton.exports.statements`)."""
    query = (
        _read()
        .where(LEADS.c.view == view.value, LEADS.c.deleted_at.is_(None))
        .order_by(LEADS.c.id)
        .limit(None if page is None else page.limit + 1)
    )
    if owner_id is not None:
        query = query.where(LEADS.c.sales_owner_id == owner_id)
    if page is not None and page.after is not None:
        query = query.where(LEADS.c.id > page.after)
    return query


@dataclass(frozen=True)
class FoundLead:
    """A lead a search found: its record, its rank (`baton.db.search`) and, in the
    team's list, its owner's name."""

    record: LeadRecord
    rank: int
    owner_name: str | None


async def search_leads(
    session: AsyncSession,
    page: PageRequest,
    q: str,
    *,
    view: LeadView,
    owner_id: uuid.UUID | None,
    owner_names: bool = False,
) -> list[FoundLead]:
    """Live leads of one view whose company, contact name, email or phone hold every
    word of `q` as the start of a word (or whose phone ends with the digits of a
    phone-number `q`), `limit + 1` of them, one statement.

    Every queue searched is in the same order — the company starting with `q`, then
    every word in the company, then the rest, by creation order within a rank — not the
    queue's own (the pool's claim due, the team's owner names): a search shows best
    matches first. The cursor carries the rank. `owner_id` keeps one salesperson's
    leads; `owner_names` adds each lead's sales owner's name (the team's list). A `q`
    without letters or digits matches nothing (and sends no statement).
    """
    search.position(page)  # a plain list's cursor is 422, words or not
    if not search.parse(q).words:
        return []
    query = search_statement(page, q, view=view, owner_id=owner_id, owner_names=owner_names)
    return [
        FoundLead(record_of(row), row.search_rank, row.owner_name if owner_names else None)
        for row in (await session.execute(query)).all()
    ]


def search_statement(
    page: PageRequest | None,
    q: str,
    *,
    view: LeadView,
    owner_id: uuid.UUID | None,
    owner_names: bool = False,
) -> Select[Any]:
    """The statement of `search_leads` (`owner_name` with `owner_names`); `page` None
    is every match (an export reads it: `baton.exports.statements`)."""
    start = None if page is None else search.position(page)
    wanted = search.parse(q)
    if not wanted.words:
        return _read().where(false())
    if page is not None:
        # The page's rows only, within the queue (and owner), however many match
        # (`search.FILTERED`): RLS still applies to the join, as for any read.
        chosen = search.page("leads", wanted, start, page.limit + 1, within=(view.value, owner_id))
        rank = chosen.c.search_rank
        query = _read().join(chosen, chosen.c.id == LEADS.c.id)
    else:
        found = search.found("leads", wanted)
        rank = found.c.rank
        query = _read().join(found, found.c.id == LEADS.c.id)
    query = (
        query.add_columns(rank.label("search_rank"))
        .where(
            LEADS.c.view == view.value,
            LEADS.c.deleted_at.is_(None),
            search.after(rank, LEADS.c.id, start),
        )
        .order_by(rank, LEADS.c.id)
        .limit(None if page is None else page.limit + 1)
    )
    if owner_id is not None:
        query = query.where(LEADS.c.sales_owner_id == owner_id)
    if owner_names:
        query = query.add_columns(USERS.c.full_name.label("owner_name")).join(
            USERS, USERS.c.id == LEADS.c.sales_owner_id
        )
    return query


@dataclass(frozen=True)
class PoolCursor:
    """Where a page of the Sales Inbox ended: the last lead's claim due and id (the
    list's sort key, so the next page starts exactly after it)."""

    claim_due_at: datetime
    lead_id: uuid.UUID

    def encode(self) -> str:
        micros = (self.claim_due_at - _EPOCH) // timedelta(microseconds=1)
        return f"{encode_cursor(self.lead_id)}.{micros}"

    @classmethod
    def decode(cls, raw: str) -> PoolCursor:
        lead_part, _, micros = raw.partition(".")
        try:
            # Bounded before int(): a cursor is short, and datetime's range is finite.
            if not (1 <= len(micros) <= 17 and micros.lstrip("-").isdigit()):
                raise ValueError(raw)
            due = _EPOCH + timedelta(microseconds=int(micros))
        except (ValueError, OverflowError):
            raise ValidationFailed(errors=[FieldError("cursor", "is not a valid cursor")]) from None
        return cls(due, decode_cursor(lead_part))


async def pool_by_claim_due(
    session: AsyncSession, limit: int, after: PoolCursor | None = None
) -> list[LeadRecord]:
    """The Sales Inbox: pooled live leads, the earliest claim due first (then creation
    order), `limit + 1` of them, after `after` if given — one statement along
    `ix_lead_pool_claim_due`."""
    query = (
        _read()
        .where(LEADS.c.view == LeadView.POOL.value, LEADS.c.deleted_at.is_(None))
        .order_by(POOL.c.claim_due_at, LEADS.c.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(
            tuple_(POOL.c.claim_due_at, LEADS.c.id) > tuple_(after.claim_due_at, after.lead_id)
        )
    return [record_of(row) for row in (await session.execute(query)).all()]


@dataclass(frozen=True)
class TeamLead:
    """A claimed lead in the team list, with its owner's name."""

    record: LeadRecord
    # The lead's sales owner (never null in the `mine` view) and their name.
    owner_id: uuid.UUID
    owner_name: str


@dataclass(frozen=True)
class TeamCursor:
    """Where a page of the team list ended: the last lead's owner and id. The owner's
    name, the first sort key, is read again from the owner's id, so the cursor stays
    short enough for the API's `cursor` (64 characters)."""

    owner_id: uuid.UUID
    lead_id: uuid.UUID

    def encode(self) -> str:
        return f"{encode_cursor(self.owner_id)}.{encode_cursor(self.lead_id)}"

    @classmethod
    def decode(cls, raw: str) -> TeamCursor:
        owner_part, dot, lead_part = raw.partition(".")
        if not dot:
            raise ValidationFailed(errors=[FieldError("cursor", "is not a valid cursor")])
        return cls(decode_cursor(owner_part), decode_cursor(lead_part))


async def team_leads(
    session: AsyncSession, limit: int, after: TeamCursor | None = None
) -> list[TeamLead]:
    """Claimed, unconverted live leads of every owner (the `mine` view of each), by
    owner name, then owner, then claim order (UUIDv7 ids): `limit + 1` of them, after
    `after` if given. One statement; the claimed leads of one organization are a
    working set (hundreds), so they are sorted rather than read along an index."""
    query = team_statement(limit, after)
    return [
        TeamLead(record_of(row), row.sales_owner_id, row.owner_name)
        for row in (await session.execute(query)).all()
    ]


def team_statement(limit: int | None, after: TeamCursor | None = None) -> Select[Any]:
    """The statement of `team_leads`; `limit` None is the whole list (an export reads
    it: `baton.exports.statements`)."""
    owner_name = USERS.c.full_name
    query = (
        _read()
        .add_columns(owner_name.label("owner_name"))
        .join(USERS, USERS.c.id == LEADS.c.sales_owner_id)
        .where(LEADS.c.view == LeadView.MINE.value, LEADS.c.deleted_at.is_(None))
        .order_by(owner_name, LEADS.c.sales_owner_id, LEADS.c.id)
        .limit(None if limit is None else limit + 1)
    )
    if after is not None:
        after_name = select(USERS.c.full_name).where(USERS.c.id == after.owner_id)
        query = query.where(
            tuple_(owner_name, LEADS.c.sales_owner_id, LEADS.c.id)
            > tuple_(after_name.scalar_subquery(), after.owner_id, after.lead_id)
        )
    return query


def team_page(found: list[TeamLead], limit: int) -> tuple[list[TeamLead], str | None]:
    """The rows of a `team_leads` answer to show, and the next page's cursor (its
    surplus row says there is one)."""
    shown = found[:limit]
    if len(found) <= limit or not shown:
        return shown, None
    last = shown[-1]
    return shown, TeamCursor(last.owner_id, last.record.lead.id).encode()
