"""The rows of the exports not written by the database (`statements`: deals), a
batch at a time, read by each list's own query.

An export is the list a member sees, whole: the same service function the list's
endpoint calls (its role checks, its filters, its order), asked for `BATCH` rows at a
time along its own cursor, all inside the request's one transaction (tenant set
transaction-locally, so RLS decides what is read). Memory holds one batch, however
long the list. There is no second filter implementation here: a filter the list
gains is the export's by passing it through.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from baton.accounts import queries as account_queries
from baton.accounts.models import ActivityLevel, Tenure
from baton.activities import queries as activity_queries
from baton.activities.schemas import ActivityView
from baton.audit.reading import read_for_people
from baton.audit.trail import TrailEntity, TrailQuery, read_trail
from baton.contacts import service as contacts
from baton.core.context import Ctx
from baton.core.pagination import PageRequest, encode_cursor, page_of
from baton.deals import queries as deal_queries
from baton.deals.schemas import DealView
from baton.exports import columns
from baton.exports.columns import ExportEntity
from baton.identity.models import Membership, User
from baton.leads import queries as lead_queries
from baton.leads import service as leads
from baton.leads.models import LeadView
from baton.leads.schemas import LeadList
from baton.targets import service as targets

# Rows per statement: large enough that 100 000 rows are 50 round trips, small
# enough that a batch is a megabyte or so. The first batch is smaller: the first
# bytes leave sooner.
BATCH = 2000
FIRST_BATCH = 200


@dataclass(frozen=True)
class ExportFilters:
    """Every list's filters, under the names its endpoint takes them; each entity
    reads its own (`docs/api.md` lists which)."""

    q: str | None = None
    owner_me: bool = False
    owner_id: uuid.UUID | None = None
    tenure: Tenure | None = None
    activity: ActivityLevel | None = None
    account_id: uuid.UUID | None = None
    deal_view: DealView | None = None
    # The deals list's own filters and sort (`DealListFilters`, validated there).
    stage: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    close_month: str | None = None
    overdue: bool | None = None
    sort: str | None = None
    lead_view: LeadList | None = None
    status: str | None = None
    activity_view: ActivityView = ActivityView.PLANNER
    entity_type: TrailEntity | None = None
    entity_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


def _columns_of(record: Any) -> dict[str, Any]:
    """A (detached) ORM object's loaded columns by name."""
    return {key: value for key, value in vars(record).items() if not key.startswith("_")}


async def member_emails(ctx: Ctx) -> dict[uuid.UUID, str]:
    """Every member's email, once per export (an organization has tens, not
    thousands); the membership join keeps RLS in force (`users` is global)."""
    rows = await ctx.session.execute(
        select(User.id, User.email).join(Membership, Membership.user_id == User.id)
    )
    return {user_id: email for user_id, email in rows.all()}


async def _account_names(ctx: Ctx, rows: Sequence[Mapping[Any, Any]]) -> dict[uuid.UUID, str]:
    return await deal_queries.account_names(
        ctx.session, {row["account_id"] for row in rows if row.get("account_id")}
    )


def batch_sizes(size: int) -> Iterator[int]:
    """A small first batch (the first bytes leave sooner), then `size` at a time."""
    return itertools.chain([min(FIRST_BATCH, size)], itertools.repeat(size))


async def batches(
    ctx: Ctx, entity: ExportEntity, filters: ExportFilters, size: int = BATCH
) -> AsyncIterator[list[list[Any]]]:
    """The export's rows as cells (`columns.table`), a batch at a time, in the list's
    order. The first batch is read when the iterator is first advanced: a refusal
    (403, 422) comes from it."""
    members = await member_emails(ctx)
    no_accounts: dict[uuid.UUID, str] = {}
    async for rows in _READERS[entity](ctx, filters, batch_sizes(size)):
        accounts = no_accounts
        if entity in (ExportEntity.CONTACTS, ExportEntity.ACTIVITIES):
            accounts = await _account_names(ctx, rows)
        yield columns.table(entity, rows, columns.Lookups(members, accounts))


Rows = AsyncIterator[Sequence[Mapping[Any, Any]]]
Reader = Callable[[Ctx, ExportFilters, Iterator[int]], Rows]


async def _accounts(ctx: Ctx, filters: ExportFilters, sizes: Iterator[int]) -> Rows:
    owner_id = ctx.require_principal().user_id if filters.owner_me else None
    size = next(sizes)
    page = PageRequest(limit=size, after=None)
    while True:
        found = await account_queries.list_accounts(
            ctx.session,
            page,
            q=filters.q,
            owner_id=owner_id,
            tenure=filters.tenure,
            activity=filters.activity,
        )
        shown = found[:size]
        yield [_columns_of(row.account) | row.status for row in shown]
        if len(found) <= size:
            return
        last = shown[-1]
        size = next(sizes)
        page = page_of(size, encode_cursor(last.account.id, last.rank))


async def _contacts(ctx: Ctx, filters: ExportFilters, sizes: Iterator[int]) -> Rows:
    size = next(sizes)
    page = PageRequest(limit=size, after=None)
    while True:
        found = await contacts.list_contacts(ctx, page, filters.account_id, filters.q)
        shown = found[:size]
        yield [_columns_of(contact) for contact, _ in shown]
        if len(found) <= size:
            return
        last, rank = shown[-1]
        size = next(sizes)
        page = page_of(size, encode_cursor(last.id, rank))


def _lead_values(record: lead_queries.LeadRecord) -> dict[str, Any]:
    return _columns_of(record.lead) | {
        "step_name": record.step.name,
        "claim_due_at": record.claim_due_at,
    }


async def _leads(ctx: Ctx, filters: ExportFilters, sizes: Iterator[int]) -> Rows:
    view = filters.lead_view or LeadList.POOL
    queue = None if view is LeadList.TEAM else LeadView(view.value)
    size = next(sizes)
    if filters.q is not None:
        page = PageRequest(limit=size, after=None)
        while True:
            matched = await leads.search_leads(ctx, queue, page, filters.q)
            shown = matched[:size]
            yield [_lead_values(row.record) for row in shown]
            if len(matched) <= size:
                return
            size = next(sizes)
            page = page_of(size, encode_cursor(shown[-1].record.lead.id, shown[-1].rank))
    elif queue is None:
        after = None
        while True:
            team = await leads.list_team_leads(ctx, size, after)
            claimed, following = lead_queries.team_page(team, size)
            yield [_lead_values(row.record) for row in claimed]
            if following is None:
                return
            size = next(sizes)
            after = lead_queries.TeamCursor.decode(following)
    else:
        page = PageRequest(limit=size, after=None)
        while True:
            records = await leads.list_leads(ctx, queue, page)
            shown_records = records[:size]
            yield [_lead_values(record) for record in shown_records]
            if len(records) <= size:
                return
            size = next(sizes)
            page = PageRequest(limit=size, after=shown_records[-1].lead.id)


async def _targets(ctx: Ctx, filters: ExportFilters, sizes: Iterator[int]) -> Rows:
    size = next(sizes)
    page = PageRequest(limit=size, after=None)
    while True:
        found = await targets.list_targets(ctx, page, filters.status, filters.q)
        shown = found[:size]
        yield [row._mapping for row in shown]
        if len(found) <= size:
            return
        last = shown[-1]
        size = next(sizes)
        page = page_of(size, encode_cursor(last.id, last._mapping.get("search_rank")))


async def _activities(ctx: Ctx, filters: ExportFilters, sizes: Iterator[int]) -> Rows:
    owner_id = ctx.require_principal().user_id if filters.owner_me else filters.owner_id
    view = filters.activity_view
    page = activity_queries.ViewPage(limit=next(sizes), after=None)
    now = datetime.now(UTC)
    while True:
        found = await activity_queries.list_view(ctx.session, view, page, owner_id, now)
        yield [_columns_of(activity) for activity in found[: page.limit]]
        following = activity_queries.view_next_cursor(view, found, page)
        if following is None:
            return
        page = activity_queries.ViewPage(
            limit=next(sizes), after=activity_queries.decode_view_cursor(following)
        )


async def _audit(ctx: Ctx, filters: ExportFilters, sizes: Iterator[int]) -> Rows:
    query = TrailQuery(
        entity_type=filters.entity_type,
        entity_id=filters.entity_id,
        actor_id=filters.actor_id,
        since=filters.since,
        until=filters.until,
        before=None,
        limit=next(sizes),
    )
    while True:
        entries = await read_trail(ctx, query)
        shown = entries[: query.limit]
        # Read as the pages read it (names, labels), in a file's units: UTC, decimals.
        reading = await read_for_people(ctx, shown)
        yield [
            dataclasses.asdict(entry)
            | {
                "changes": [dataclasses.asdict(change) for change in entry.changes],
                "action_label": reading.action(entry),
                "actor_name": reading.actor(entry),
                "record_name": reading.record(entry),
                "changes_text": reading.changes(entry),
            }
            for entry in shown
        ]
        if len(entries) <= query.limit:
            return
        query = dataclasses.replace(query, before=shown[-1].id, limit=next(sizes))


_READERS: dict[ExportEntity, Reader] = {
    ExportEntity.ACCOUNTS: _accounts,
    ExportEntity.CONTACTS: _contacts,
    ExportEntity.LEADS: _leads,
    ExportEntity.TARGETS: _targets,
    ExportEntity.ACTIVITIES: _activities,
    ExportEntity.AUDIT: _audit,
}
