"""Read models for accounts: one account with its status, lists, the ledger, the overview.

Every read joins the `account_statuses` view, so the status is computed in the same
statement as the row it belongs to. Reads never see another tenant: RLS applies to
the tables and, through `security_invoker`, to the view.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import (
    ARRAY,
    Column,
    Date,
    MetaData,
    Row,
    Select,
    String,
    Table,
    Uuid,
    any_,
    bindparam,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from baton.accounts.models import Account, AccountTransaction, ActivityLevel, Tenure
from baton.activities.models import Activity, ActivityStatus
from baton.contacts.models import Contact
from baton.core.pagination import PageRequest
from baton.db import search
from baton.db.driver import DriverStatement
from baton.deals.models import Deal
from baton.workflow.models import Status, WorkflowStep

# The view is created by the migration (`ddl.ACCOUNT_STATUSES_VIEW`); it is described
# here on its own MetaData so autogenerate never tries to create it as a table.
ACCOUNT_STATUSES = Table(
    "account_statuses",
    MetaData(),
    Column("tenant_id", Uuid),
    Column("account_id", Uuid),
    Column("first_transaction_on", Date),
    Column("last_transaction_on", Date),
    Column("first_won_on", Date),
    Column("customer_since", Date),
    Column("tenure", String),
    Column("activity", String),
)
STATUS_COLUMNS = (
    "tenure",
    "activity",
    "customer_since",
    "first_transaction_on",
    "last_transaction_on",
    "first_won_on",
)

# What the overview shows at most of each list; the account page links to the full
# lists for more.
OVERVIEW_CONTACTS = 200
OVERVIEW_OPEN_DEALS = 200
OVERVIEW_CLOSED_DEALS = 50
OVERVIEW_ACTIVITIES = 20

DELETED_CONTACT = "Deleted contact"
DELETED_DEAL = "Deleted deal"


@dataclass(frozen=True)
class AccountRow:
    account: Account
    status: dict[str, Any]
    # In a search, the row's rank (`baton.db.search`); else None.
    rank: int | None = None


def _with_status() -> Select[Any]:
    statuses = ACCOUNT_STATUSES
    return select(Account, *(statuses.c[name] for name in STATUS_COLUMNS)).join(
        statuses,
        (statuses.c.tenant_id == Account.tenant_id) & (statuses.c.account_id == Account.id),
    )


def _account_row(row: Row[Any]) -> AccountRow:
    values = row._mapping
    return AccountRow(
        values[Account],
        {name: values[name] for name in STATUS_COLUMNS},
        values.get("search_rank"),
    )


async def live_account(session: AsyncSession, account_id: uuid.UUID) -> AccountRow | None:
    """A live account of the current tenant with its status (one statement)."""
    row = (
        await session.execute(
            _with_status().where(Account.id == account_id, Account.deleted_at.is_(None))
        )
    ).first()
    return _account_row(row) if row else None


# What GraphQL's account loader shows of an account, with its status: the columns
# of `types.Account`, on the driver (a board's page asks it for every account its
# cards name; through the ORM each row was an `Account` and an `AccountOut` first).
_SHOWN_BY_IDS = DriverStatement.of(
    select(
        *(
            Account.__table__.c[name]
            for name in (
                "id",
                "name",
                "domain",
                "tax_id",
                "address",
                "industry",
                "owner_id",
                "tags",
                "created_at",
                "updated_at",
                "version",
            )
        ),
        *(ACCOUNT_STATUSES.c[name] for name in STATUS_COLUMNS),
    )
    .join(
        ACCOUNT_STATUSES,
        (ACCOUNT_STATUSES.c.tenant_id == Account.tenant_id)
        & (ACCOUNT_STATUSES.c.account_id == Account.id),
    )
    .where(Account.id == any_(bindparam("ids", type_=ARRAY(Uuid))))
)


async def shown_accounts_by_ids(
    session: AsyncSession, account_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, asyncpg.Record]:
    """Accounts of the current tenant by id, deleted ones too, as plain rows of their
    shown columns and status columns (one statement on the driver, in the session's
    transaction: RLS as for any other read)."""
    wanted = list(set(account_ids))
    if not wanted:
        return {}
    rows = await _SHOWN_BY_IDS.fetch(session, {"ids": wanted})
    return {uuid.UUID(bytes=row["id"].bytes): row for row in rows}


async def list_accounts(
    session: AsyncSession,
    page: PageRequest,
    *,
    q: str | None = None,
    owner_id: uuid.UUID | None = None,
    tenure: Tenure | None = None,
    activity: ActivityLevel | None = None,
) -> list[AccountRow]:
    """Live accounts with their status, `limit + 1` rows, one statement.

    Without `q`: creation order, cursor on the id. With `q`: the accounts whose name,
    domain or tax id hold every word of `q` as the start of a word, best first —
    the name starting with `q`, then every word in the name, then the rest — and by
    creation order within a rank; the cursor carries the rank (`baton.db.search`). A `q`
    without letters or digits matches nothing (and sends no statement). A search picks
    its page first and computes the status of that page's rows only.
    """
    if q is not None:
        search.position(page)  # a plain list's cursor is 422, words or not
        if not search.parse(q).words:
            return []
    query = list_statement(page, q=q, owner_id=owner_id, tenure=tenure, activity=activity)
    return [_account_row(row) for row in (await session.execute(query)).all()]


def list_statement(
    page: PageRequest | None,
    *,
    q: str | None = None,
    owner_id: uuid.UUID | None = None,
    tenure: Tenure | None = None,
    activity: ActivityLevel | None = None,
) -> Select[Any]:
    """The statement of `list_accounts`; `page` None is the whole list, every row its
    filters select in its order (an export reads it: `baton.exports.statements`)."""
    limit = None if page is None else page.limit + 1
    if q is None:
        query = _with_status().where(Account.deleted_at.is_(None)).order_by(Account.id)
        if page is not None and page.after is not None:
            query = query.where(Account.id > page.after)
        return _filtered(query, owner_id, tenure, activity).limit(limit)
    start = None if page is None else search.position(page)
    wanted = search.parse(q)
    if not wanted.words:
        return _with_status().where(false())
    if owner_id is None and tenure is None and activity is None:
        return _chosen_accounts(search.first_rows("accounts", wanted, start, limit))
    found = search.found("accounts", wanted)
    matched: Select[Any] = (
        select(Account.id, found.c.rank.label("search_rank"))
        .join(found, found.c.id == Account.id)
        .where(Account.deleted_at.is_(None), search.after(found.c.rank, Account.id, start))
    )
    if tenure is not None or activity is not None:
        statuses = ACCOUNT_STATUSES
        matched = matched.join(
            statuses,
            (statuses.c.tenant_id == Account.tenant_id) & (statuses.c.account_id == Account.id),
        )
    chosen = (
        _filtered(matched, owner_id, tenure, activity)
        .order_by(found.c.rank, Account.id)
        .limit(limit)
        .subquery("chosen")
    )
    return _chosen_accounts(chosen)


def _chosen_accounts(chosen: Any) -> Select[Any]:
    """The accounts of a search's page (`id`, `search_rank`) with their status."""
    return (
        _with_status()
        .add_columns(chosen.c.search_rank)
        .join(chosen, chosen.c.id == Account.id)
        .where(Account.deleted_at.is_(None))
        .order_by(chosen.c.search_rank, Account.id)
    )


def _filtered(
    query: Select[Any],
    owner_id: uuid.UUID | None,
    tenure: Tenure | None,
    activity: ActivityLevel | None,
) -> Select[Any]:
    if owner_id is not None:
        query = query.where(Account.owner_id == owner_id)
    if tenure is not None:
        query = query.where(ACCOUNT_STATUSES.c.tenure == tenure.value)
    if activity is not None:
        query = query.where(ACCOUNT_STATUSES.c.activity == activity.value)
    return query


async def list_transactions(
    session: AsyncSession, account_id: uuid.UUID, page: PageRequest
) -> list[AccountTransaction]:
    """An account's ledger lines in the order they were recorded, `limit + 1` rows."""
    query = (
        select(AccountTransaction)
        .where(AccountTransaction.account_id == account_id)
        .order_by(AccountTransaction.id)
        .limit(page.limit + 1)
    )
    if page.after is not None:
        query = query.where(AccountTransaction.id > page.after)
    return list((await session.scalars(query)).all())


# ---------------------------------------------------------------- overview


def _contact_name(contact: type[Contact] | Any) -> Any:
    return func.concat_ws(" ", contact.first_name, contact.last_name)


def _ref(columns: dict[str, Any], prefix: str, deleted_label: str) -> dict[str, Any] | None:
    """A related record from outer-joined columns; a deleted one keeps only its id."""
    record_id = columns[f"{prefix}_id"]
    if record_id is None:
        return None
    deleted = columns[f"{prefix}_deleted_at"] is not None
    name = deleted_label if deleted else columns[f"{prefix}_name"]
    return {"id": record_id, "name": name, "deleted": deleted}


def _deals_query(account_id: uuid.UUID) -> Select[Any]:
    contact = Contact.__table__.alias("deal_contact")
    return (
        select(
            Deal,
            WorkflowStep.key.label("step_key"),
            WorkflowStep.name.label("step_name"),
            Status.category.label("step_category"),
            contact.c.id.label("contact_id"),
            _contact_name(contact.c).label("contact_name"),
            contact.c.deleted_at.label("contact_deleted_at"),
        )
        .join(
            WorkflowStep,
            (WorkflowStep.tenant_id == Deal.tenant_id) & (WorkflowStep.id == Deal.step_id),
        )
        .join(
            Status,
            (Status.tenant_id == WorkflowStep.tenant_id) & (Status.id == WorkflowStep.status_id),
        )
        .outerjoin(
            contact,
            (contact.c.tenant_id == Deal.tenant_id) & (contact.c.id == Deal.contact_id),
        )
        .where(Deal.account_id == account_id, Deal.deleted_at.is_(None))
    )


def _deal_summary(row: Row[Any]) -> dict[str, Any]:
    values = row._mapping
    deal: Deal = values[Deal]
    return {
        "id": deal.id,
        "name": deal.name,
        "amount": deal.amount,
        "currency": deal.currency,
        "owner_id": deal.owner_id,
        "step": {
            "id": deal.step_id,
            "key": values["step_key"],
            "name": values["step_name"],
            "category": values["step_category"],
        },
        "contact": _ref(dict(values), "contact", DELETED_CONTACT),
        "expected_close_date": deal.expected_close_date,
        "next_step": deal.next_step,
        "next_step_due_date": deal.next_step_due_date,
        "outcome": deal.outcome,
        "win_reason": deal.win_reason,
        "loss_reason": deal.loss_reason,
        "closed_at": deal.closed_at,
        "version": deal.version,
    }


def _activities_query(account_id: uuid.UUID, status: ActivityStatus) -> Select[Any]:
    """Activities of the account itself, of its contacts and of its deals — deleted
    contacts and deals included, so their trail stays on the account."""
    contact = Contact.__table__.alias("activity_contact")
    deal = Deal.__table__.alias("activity_deal")
    of_contacts = select(Contact.id).where(Contact.account_id == account_id)
    of_deals = select(Deal.id).where(Deal.account_id == account_id)
    return (
        select(
            Activity,
            contact.c.id.label("contact_id"),
            _contact_name(contact.c).label("contact_name"),
            contact.c.deleted_at.label("contact_deleted_at"),
            deal.c.id.label("deal_id"),
            deal.c.name.label("deal_name"),
            deal.c.deleted_at.label("deal_deleted_at"),
        )
        .outerjoin(
            contact,
            (contact.c.tenant_id == Activity.tenant_id) & (contact.c.id == Activity.contact_id),
        )
        .outerjoin(deal, (deal.c.tenant_id == Activity.tenant_id) & (deal.c.id == Activity.deal_id))
        .where(
            Activity.deleted_at.is_(None),
            Activity.status == status.value,
            or_(
                Activity.account_id == account_id,
                Activity.contact_id.in_(of_contacts),
                Activity.deal_id.in_(of_deals),
            ),
        )
    )


def _activity_summary(row: Row[Any]) -> dict[str, Any]:
    values = row._mapping
    activity: Activity = values[Activity]
    return {
        "id": activity.id,
        "type": activity.type,
        "subject": activity.subject,
        "status": activity.status,
        "due_at": activity.due_at,
        "completed_at": activity.completed_at,
        "outcome": activity.outcome,
        "owner_id": activity.owner_id,
        "contact": _ref(dict(values), "contact", DELETED_CONTACT),
        "deal": _ref(dict(values), "deal", DELETED_DEAL),
    }


@dataclass(frozen=True)
class Overview:
    contacts: list[Contact]
    open_deals: list[dict[str, Any]]
    closed_deals: list[dict[str, Any]]
    recent_activities: list[dict[str, Any]]
    upcoming_activities: list[dict[str, Any]]


async def overview(session: AsyncSession, account_id: uuid.UUID) -> Overview:
    """Everything the account page shows besides the account: five statements, whatever
    the account holds. Deleted contacts and deals appear only as references."""
    contacts = (
        await session.scalars(
            select(Contact)
            .where(Contact.account_id == account_id, Contact.deleted_at.is_(None))
            .order_by(Contact.first_name, Contact.last_name, Contact.id)
            .limit(OVERVIEW_CONTACTS)
        )
    ).all()
    open_deals = (
        await session.execute(
            _deals_query(account_id)
            .where(Deal.outcome.is_(None))
            .order_by(Deal.next_step_due_date, Deal.id)
            .limit(OVERVIEW_OPEN_DEALS)
        )
    ).all()
    closed_deals = (
        await session.execute(
            _deals_query(account_id)
            .where(Deal.outcome.is_not(None))
            .order_by(Deal.closed_at.desc(), Deal.id.desc())
            .limit(OVERVIEW_CLOSED_DEALS)
        )
    ).all()
    recent = (
        await session.execute(
            _activities_query(account_id, ActivityStatus.DONE)
            .order_by(Activity.completed_at.desc(), Activity.id.desc())
            .limit(OVERVIEW_ACTIVITIES)
        )
    ).all()
    upcoming = (
        await session.execute(
            _activities_query(account_id, ActivityStatus.PLANNED)
            .order_by(Activity.due_at.asc().nulls_last(), Activity.id)
            .limit(OVERVIEW_ACTIVITIES)
        )
    ).all()
    return Overview(
        contacts=list(contacts),
        open_deals=[_deal_summary(row) for row in open_deals],
        closed_deals=[_deal_summary(row) for row in closed_deals],
        recent_activities=[_activity_summary(row) for row in recent],
        upcoming_activities=[_activity_summary(row) for row in upcoming],
    )
