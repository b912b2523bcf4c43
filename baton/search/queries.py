"""The one-box search's read model: every searched type's best rows in one statement.

Who calls it: `baton.search.service.search`. Each type is a branch of one `UNION ALL`:
its rows found and ranked by `baton_search_<table>` (`baton.db.search`: the folded
words of the query, each a prefix, all of them; rank 0 the name starts with the query,
1 every word in the name, 2 elsewhere), the best `per_type` of them by (rank, id), with
what the answer shows (title, the parts of the subtitle, the link's key). Tables whose
row-level security is the tenant alone are cut on the function's answer before the join
(`first_rows`), so only the kept rows are read; leads are joined first, under RLS, so
a role's hidden leads never take a kept place (`lead_visibility`).

The hot path: one round trip whatever the number of types. Each branch costs what its
function costs: the matches found along the table's GIN index, the first `CAP` of
them read and ranked (`baton_search_capped_<table>`) — so a word most rows hold costs
no more than one that `CAP` rows hold (docs/benchmarks.md, "One-box search"). A type
whose `CAP` was reached is named in the answer (`SearchResults.partial_types`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Select, Table, Text, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from baton.accounts.models import Account
from baton.contacts.models import Contact
from baton.db.search import Search, found
from baton.deals.models import Deal
from baton.leads.models import Lead
from baton.search.schemas import SearchType
from baton.targets.models import Target
from baton.workflow.models import ProjectType, WorkflowStep
from baton.workitems.models import WorkItem

ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
DEALS: Table = Deal.__table__  # type: ignore[assignment]
LEADS: Table = Lead.__table__  # type: ignore[assignment]
TARGETS: Table = Target.__table__  # type: ignore[assignment]
WORK_ITEMS: Table = WorkItem.__table__  # type: ignore[assignment]
STEPS: Table = WorkflowStep.__table__  # type: ignore[assignment]
PROJECT_TYPES: Table = ProjectType.__table__  # type: ignore[assignment]

# At most this many matches of each type are ranked (`capped_function_sql`: a word
# most rows hold would read every one of them from the heap, for each type).
CAP = 200

# The order of the types within one rank: the records people look up most first.
ORDER = (
    SearchType.ACCOUNT,
    SearchType.CONTACT,
    SearchType.DEAL,
    SearchType.LEAD,
    SearchType.TARGET,
    SearchType.WORK_ITEM,
)


@dataclass(frozen=True)
class Hit:
    """One found row: its title, the parts of its subtitle (empty ones left out by the
    caller) and `key`, what its link needs besides the id (a target's status)."""

    type: SearchType
    id: uuid.UUID
    rank: int
    title: str
    detail: str | None
    more: str | None
    key: str | None
    # How many matches of its type the search ranked (at most `CAP`).
    matched: int


def _text(value: Any) -> Any:
    return literal(value, Text) if value is None or isinstance(value, str) else value


def _cut(table: str, search: Search, per_type: int) -> Any:
    """The best `per_type` of the first `CAP` matches of `table` (`id`, `search_rank`,
    `matched`): cut on the function's answer, so only the kept rows are read from the
    table. Only for tables whose RLS is the tenant alone, which the function keeps to."""
    found_rows = found(table, search, CAP)
    return (
        select(
            found_rows.c.id,
            found_rows.c.rank.label("search_rank"),
            func.count().over().label("matched"),
        )
        .order_by(found_rows.c.rank, found_rows.c.id)
        .limit(per_type)
        .subquery(f"first_{table}")
    )


def _branch(
    kind: SearchType,
    matched: Any,
    rank: Any,
    row_id: Any,
    title: Any,
    detail: Any,
    more: Any,
    key: Any,
) -> Select[Any]:
    return select(
        literal(ORDER.index(kind), Integer).label("kind"),
        matched.label("matched"),
        row_id.label("id"),
        rank.label("rank"),
        _text(title).label("title"),
        _text(detail).label("detail"),
        _text(more).label("more"),
        _text(key).label("key"),
    )


def _accounts(search: Search, per_type: int) -> Select[Any]:
    kept = _cut("accounts", search, per_type)
    return (
        _branch(
            SearchType.ACCOUNT,
            kept.c.matched,
            kept.c.search_rank,
            ACCOUNTS.c.id,
            ACCOUNTS.c.name,
            ACCOUNTS.c.domain,
            ACCOUNTS.c.industry,
            None,
        )
        .select_from(kept)
        .join(ACCOUNTS, ACCOUNTS.c.id == kept.c.id)
    )


def _contacts(search: Search, per_type: int) -> Select[Any]:
    kept = _cut("contacts", search, per_type)
    return (
        _branch(
            SearchType.CONTACT,
            kept.c.matched,
            kept.c.search_rank,
            CONTACTS.c.id,
            func.concat_ws(" ", CONTACTS.c.first_name, CONTACTS.c.last_name),
            ACCOUNTS.c.name,
            func.coalesce(CONTACTS.c.email, CONTACTS.c.title),
            None,
        )
        .select_from(kept)
        .join(CONTACTS, CONTACTS.c.id == kept.c.id)
        .outerjoin(
            ACCOUNTS,
            (ACCOUNTS.c.tenant_id == CONTACTS.c.tenant_id)
            & (ACCOUNTS.c.id == CONTACTS.c.account_id),
        )
    )


def _deals(search: Search, per_type: int) -> Select[Any]:
    kept = _cut("deals", search, per_type)
    return (
        _branch(
            SearchType.DEAL,
            kept.c.matched,
            kept.c.search_rank,
            DEALS.c.id,
            DEALS.c.name,
            ACCOUNTS.c.name,
            STEPS.c.name,
            None,
        )
        .select_from(kept)
        .join(DEALS, DEALS.c.id == kept.c.id)
        .outerjoin(
            ACCOUNTS,
            (ACCOUNTS.c.tenant_id == DEALS.c.tenant_id) & (ACCOUNTS.c.id == DEALS.c.account_id),
        )
        .outerjoin(
            STEPS, (STEPS.c.tenant_id == DEALS.c.tenant_id) & (STEPS.c.id == DEALS.c.step_id)
        )
    )


def _leads(search: Search, per_type: int) -> Select[Any]:
    # Joined before the cut: RLS hides leads by role (`lead_visibility`), so the
    # function's best rows may not be the caller's.
    found_rows = found("leads", search, CAP)
    counted = select(
        found_rows.c.id, found_rows.c.rank, func.count().over().label("matched")
    ).subquery("counted_leads")
    ranked = (
        select(
            LEADS.c.id,
            counted.c.rank,
            counted.c.matched,
            LEADS.c.company_name,
            LEADS.c.contact_name,
            LEADS.c.view,
        )
        .select_from(counted)
        .join(LEADS, LEADS.c.id == counted.c.id)
        .where(LEADS.c.deleted_at.is_(None))
        .order_by(counted.c.rank, LEADS.c.id)
        .limit(per_type)
        .subquery("kept_leads")
    )
    return _branch(
        SearchType.LEAD,
        ranked.c.matched,
        ranked.c.rank,
        ranked.c.id,
        ranked.c.company_name,
        ranked.c.contact_name,
        None,
        ranked.c.view,
    ).select_from(ranked)


def _targets(search: Search, per_type: int) -> Select[Any]:
    kept = _cut("targets", search, per_type)
    return (
        _branch(
            SearchType.TARGET,
            kept.c.matched,
            kept.c.search_rank,
            TARGETS.c.id,
            TARGETS.c.company_name,
            TARGETS.c.contact_name,
            STEPS.c.name,
            STEPS.c.key,
        )
        .select_from(kept)
        .join(TARGETS, TARGETS.c.id == kept.c.id)
        .outerjoin(
            STEPS, (STEPS.c.tenant_id == TARGETS.c.tenant_id) & (STEPS.c.id == TARGETS.c.step_id)
        )
    )


def _work_items(search: Search, per_type: int) -> Select[Any]:
    kept = _cut("work_items", search, per_type)
    return (
        _branch(
            SearchType.WORK_ITEM,
            kept.c.matched,
            kept.c.search_rank,
            WORK_ITEMS.c.id,
            WORK_ITEMS.c.name,
            PROJECT_TYPES.c.name,
            STEPS.c.name,
            None,
        )
        .select_from(kept)
        .join(WORK_ITEMS, WORK_ITEMS.c.id == kept.c.id)
        .outerjoin(
            PROJECT_TYPES,
            (PROJECT_TYPES.c.tenant_id == WORK_ITEMS.c.tenant_id)
            & (PROJECT_TYPES.c.id == WORK_ITEMS.c.project_type_id),
        )
        .outerjoin(
            STEPS,
            (STEPS.c.tenant_id == WORK_ITEMS.c.tenant_id) & (STEPS.c.id == WORK_ITEMS.c.step_id),
        )
    )


BRANCHES = {
    SearchType.ACCOUNT: _accounts,
    SearchType.CONTACT: _contacts,
    SearchType.DEAL: _deals,
    SearchType.LEAD: _leads,
    SearchType.TARGET: _targets,
    SearchType.WORK_ITEM: _work_items,
}


def statement(search: Search, types: list[SearchType], per_type: int) -> Any:
    """The one statement: each of `types`' best `per_type` rows, best first — by rank,
    then type (`ORDER`), then creation order (id). `search` must have words."""
    branches = [BRANCHES[kind](search, per_type) for kind in ORDER if kind in types]
    every = union_all(*branches).subquery("hits")
    return select(every).order_by(every.c.rank, every.c.kind, every.c.id)


async def search_records(
    session: AsyncSession, search: Search, types: list[SearchType], per_type: int
) -> list[Hit]:
    """The rows of `types` that `search` finds and the caller may read (RLS), at most
    `per_type` of each, best first; one statement. No words or no types: no statement."""
    if not search.words or not types:
        return []
    rows = (await session.execute(statement(search, types, per_type))).all()
    return [
        Hit(
            type=ORDER[row.kind],
            id=row.id,
            rank=row.rank,
            title=row.title,
            detail=row.detail,
            more=row.more,
            key=row.key,
            matched=row.matched,
        )
        for row in rows
    ]
