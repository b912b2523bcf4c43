"""Accounts: create, edit, soft delete with everything that hangs on them, restore, ledger.

Rules (DESIGN §3.2, §5):
- a live account's domain and tax id are unique in the organization (409 naming the
  field; the partial unique indexes are the backstop for races);
- the owner is a member who may write (422 otherwise); viewers read only (403);
- deleting an account soft-deletes, in one transaction and under one deletion id,
  the account, its live contacts, its open deals, the live cadence enrolments and
  the planned activities of all of them; restore brings back exactly the rows
  carrying that id (the enrolments in the status they had, so cadences carry on);
- the status (tenure, activity) is computed by the `account_statuses` view and is
  never written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Table, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from baton.accounts import matching, queries
from baton.accounts.models import Account, AccountTransaction
from baton.accounts.schemas import AccountIn, AccountPatch, TransactionIn
from baton.activities.deletion import delete_planned_activities, restore_activities
from baton.activities.models import Activity
from baton.cadences.deletion import ENROLLMENTS, delete_live_enrollments, restore_enrollments
from baton.contacts.models import Contact
from baton.contacts.service import restore_contacts
from baton.core.context import Ctx
from baton.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    RuleViolation,
    StaleVersion,
    ValidationFailed,
)
from baton.core.ids import uuid7
from baton.core.pagination import PageRequest
from baton.core.versioning import check_sent_version, check_version
from baton.deals.models import Deal
from baton.deals.service import restore_deals
from baton.identity.access import WRITERS, require_role
from baton.identity.queries import default_currency, writer_name

ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
DEALS: Table = Deal.__table__  # type: ignore[assignment]
ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]

# Unique indexes → the field a violation is about (the database's backstop for a race
# between the service's check and the insert).
_UNIQUE_FIELDS = {
    "uq_accounts_domain": ("domain", "Another account already has this domain"),
    "uq_accounts_tax_id": ("tax_id", "Another account already has this tax id"),
    "uq_account_transactions_reference": (
        "reference",
        "This account already has a ledger line with this reference",
    ),
}
# A ledger line may be dated a day ahead of UTC: it is already tomorrow in Asia.
_LEDGER_DAYS_AHEAD = 1


@dataclass(frozen=True)
class Deletion:
    """What one account deletion soft-deleted, under one id."""

    deletion_id: uuid.UUID
    contacts: int
    deals: int
    enrollments: int
    activities: int


def duplicate_conflict(exc: IntegrityError) -> Conflict | None:
    """The friendly 409 for a unique index this domain owns, or None."""
    cause = getattr(exc.orig, "__cause__", None) or exc.orig
    known = _UNIQUE_FIELDS.get(str(getattr(cause, "constraint_name", "")))
    if known is None:
        return None
    field, message = known
    return Conflict(message, errors=[FieldError(field, "is already used by another record")])


async def _flush(ctx: Ctx, what: str) -> None:
    try:
        await ctx.session.flush()
    except StaleDataError as exc:
        raise StaleVersion(f"The {what} changed while you edited it") from exc
    except IntegrityError as exc:
        conflict = duplicate_conflict(exc)
        if conflict is None:
            raise
        raise conflict from exc


async def _check_unique(
    ctx: Ctx, *, domain: str | None, tax_id: str | None, except_id: uuid.UUID | None = None
) -> None:
    """409 naming every field another live account already holds (one statement)."""
    if domain is None and tax_id is None:
        return
    clashes = []
    if domain is not None:
        clashes.append(Account.domain == domain)
    if tax_id is not None:
        clashes.append(Account.tax_id == tax_id)
    query = select(Account.domain, Account.tax_id).where(
        Account.deleted_at.is_(None), or_(*clashes)
    )
    if except_id is not None:
        query = query.where(Account.id != except_id)
    rows = (await ctx.session.execute(query)).all()
    errors = []
    if domain is not None and any(row.domain == domain for row in rows):
        errors.append(FieldError("domain", f"'{domain}' is already another account's domain"))
    if tax_id is not None and any(row.tax_id == tax_id for row in rows):
        errors.append(FieldError("tax_id", "is already another account's tax id"))
    if errors:
        what = " and ".join("domain" if e.field == "domain" else "tax id" for e in errors)
        raise Conflict(f"Another account already has this {what}", errors=errors)


async def _require_owner(ctx: Ctx, tenant_id: uuid.UUID, owner_id: uuid.UUID) -> None:
    if not await writer_name(ctx.session, tenant_id, owner_id):
        raise ValidationFailed(
            errors=[FieldError("owner_id", "is not a member who can own records")]
        )


async def _live(ctx: Ctx, account_id: uuid.UUID) -> Account:
    account = await ctx.session.scalar(
        select(Account).where(Account.id == account_id, Account.deleted_at.is_(None))
    )
    if account is None:
        raise NotFound("No such account")
    return account


async def get_account(ctx: Ctx, account_id: uuid.UUID) -> queries.AccountRow:
    """Any member reads a live account with its status; deleted and foreign ids are 404."""
    ctx.require_principal()
    row = await queries.live_account(ctx.session, account_id)
    if row is None:
        raise NotFound("No such account")
    return row


async def require_live_account(ctx: Ctx, account_id: uuid.UUID) -> None:
    """404 unless `account_id` is a live account of the caller's organization."""
    ctx.require_principal()
    found = await ctx.session.scalar(
        select(literal(True)).where(Account.id == account_id, Account.deleted_at.is_(None))
    )
    if not found:
        raise NotFound("No such account")


async def create_account(ctx: Ctx, data: AccountIn) -> queries.AccountRow:
    """Writers create accounts; the owner defaults to the caller and must be a writer.

    Domain and tax id arrive normalised (schemas) and must not belong to another live
    account (409 naming the field).
    """
    principal = require_role(ctx, *WRITERS)
    owner_id = data.owner_id or principal.user_id
    if owner_id != principal.user_id:
        await _require_owner(ctx, principal.tenant_id, owner_id)
    await _check_unique(ctx, domain=data.domain, tax_id=data.tax_id)
    account = Account(
        tenant_id=principal.tenant_id,
        name=data.name,
        domain=data.domain,
        tax_id=data.tax_id,
        address=data.address,
        industry=data.industry,
        owner_id=owner_id,
        tags=data.tags,
    )
    ctx.session.add(account)
    await _flush(ctx, "account")
    return await get_account(ctx, account.id)


async def update_account(
    ctx: Ctx, account_id: uuid.UUID, data: AccountPatch, expected_version: int | None
) -> queries.AccountRow:
    """Writers edit a live account at its current version (409 if stale, 422 if none).

    Only the fields sent change; name and owner cannot be cleared; a new domain or tax
    id must not belong to another live account (409).
    """
    principal = require_role(ctx, *WRITERS)
    account = await _live(ctx, account_id)
    check_version(account.version, expected_version, "account")
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    for required in ("name", "owner_id", "tags"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(errors=[FieldError(required, "cannot be removed")])
    if changes.get("owner_id") not in (None, account.owner_id):
        await _require_owner(ctx, principal.tenant_id, changes["owner_id"])
    await _check_unique(
        ctx,
        domain=changes.get("domain") if changes.get("domain") != account.domain else None,
        tax_id=changes.get("tax_id") if changes.get("tax_id") != account.tax_id else None,
        except_id=account.id,
    )
    for name, value in changes.items():
        setattr(account, name, value)
    if changes:
        await _flush(ctx, "account")
    # The generated name_key and updated_at are the database's: read them back.
    ctx.session.expire(account)
    return await get_account(ctx, account_id)


async def delete_account(ctx: Ctx, account_id: uuid.UUID, expected_version: int | None) -> Deletion:
    """Writers soft-delete a live account at its current version, and with it — same
    transaction, same new deletion id — its live contacts, its open deals (won and lost
    ones stay: they are history), and the live (active or paused) cadence enrolments
    and the planned activities of the account, of those contacts and of those deals.
    Contacts, enrolments or activities deleted earlier keep their own deletion id, so
    a restore leaves them deleted. A constant number of statements, however many rows.
    """
    principal = require_role(ctx, *WRITERS)
    account = await _live(ctx, account_id)
    check_version(account.version, expected_version, "account")
    deletion_id = uuid7()
    marks = {
        "deleted_at": func.now(),
        "deleted_by": principal.user_id,
        "deletion_id": deletion_id,
        "updated_at": func.now(),
    }
    deleted = await ctx.session.execute(
        update(ACCOUNTS)
        .where(
            ACCOUNTS.c.id == account_id,
            ACCOUNTS.c.version == expected_version,
            ACCOUNTS.c.deleted_at.is_(None),
        )
        .values(version=ACCOUNTS.c.version + 1, **marks)
    )
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        raise StaleVersion("The account changed while you deleted it")
    contact_ids = (
        await ctx.session.scalars(
            update(CONTACTS)
            .where(CONTACTS.c.account_id == account_id, CONTACTS.c.deleted_at.is_(None))
            .values(version=CONTACTS.c.version + 1, **marks)
            .returning(CONTACTS.c.id)
        )
    ).all()
    deal_ids = (
        await ctx.session.scalars(
            update(DEALS)
            .where(
                DEALS.c.account_id == account_id,
                DEALS.c.deleted_at.is_(None),
                DEALS.c.outcome.is_(None),
            )
            .values(version=DEALS.c.version + 1, **marks)
            .returning(DEALS.c.id)
        )
    ).all()
    # The deals first, then their enrolments, then the activities: the lock order of
    # an open deal, its enrolments, their activities (cadences.service).
    enrollments = await ctx.session.execute(
        delete_live_enrollments(
            or_(*_of_records(ENROLLMENTS, account_id, contact_ids, deal_ids)), marks
        )
    )
    related = _of_records(ACTIVITIES, account_id, contact_ids, deal_ids)
    activities = await ctx.session.execute(delete_planned_activities(or_(*related), marks))
    # The identity map may hold the account as it was: never answer from it again.
    ctx.session.expire_all()
    return Deletion(
        deletion_id=deletion_id,
        contacts=len(contact_ids),
        deals=len(deal_ids),
        enrollments=enrollments.rowcount,  # type: ignore[attr-defined]
        activities=activities.rowcount,  # type: ignore[attr-defined]
    )


def _of_records(
    table: Table,
    account_id: uuid.UUID,
    contact_ids: Sequence[uuid.UUID],
    deal_ids: Sequence[uuid.UUID],
) -> list[ColumnElement[bool]]:
    """Conditions (to OR) on `table`'s rows linked to the account, those contacts or
    those deals."""
    related = [table.c.account_id == account_id]
    if contact_ids:
        related.append(table.c.contact_id.in_(contact_ids))
    if deal_ids:
        related.append(table.c.deal_id.in_(deal_ids))
    return related


async def restore_account(
    ctx: Ctx, account_id: uuid.UUID, expected_version: int | None
) -> queries.AccountRow:
    """Writers bring back a deleted account and exactly the rows its deletion took
    (same deletion id) — nothing deleted before or after on its own.

    409 if the account is not deleted, if the version given (optional) is stale, or if
    its domain or tax id now belongs to a live account. A restored deal whose board
    position was taken meanwhile goes to the end of its column.
    """
    require_role(ctx, *WRITERS)
    account = await ctx.session.scalar(select(Account).where(Account.id == account_id))
    if account is None:
        raise NotFound("No such account")
    if account.deleted_at is None or account.deletion_id is None:
        raise Conflict("The account is not deleted")
    check_sent_version(account.version, expected_version, "account")
    await _check_unique(ctx, domain=account.domain, tax_id=account.tax_id, except_id=account.id)
    deletion_id = account.deletion_id
    live = {
        "deleted_at": None,
        "deleted_by": None,
        "deletion_id": None,
        "updated_at": func.now(),
    }
    try:
        restored = await ctx.session.execute(
            update(ACCOUNTS)
            .where(
                ACCOUNTS.c.id == account_id,
                ACCOUNTS.c.deletion_id == deletion_id,
                ACCOUNTS.c.version == account.version,
            )
            .values(version=ACCOUNTS.c.version + 1, **live)
        )
    except IntegrityError as exc:
        # A live twin committed after the check above: the unique index says so.
        conflict = duplicate_conflict(exc)
        if conflict is None:
            raise
        raise conflict from exc
    if restored.rowcount == 0:  # type: ignore[attr-defined]
        raise StaleVersion("The account changed while you restored it")
    await ctx.session.execute(restore_contacts(deletion_id))
    # Deals, then their enrolments, then the activities (the lock order, as in the
    # delete). The enrolments come back in the status they had: an active one with
    # its planned activities, a paused one with its remaining steps.
    await restore_deals(ctx, deletion_id)
    await ctx.session.execute(restore_enrollments(deletion_id))
    await ctx.session.execute(restore_activities(deletion_id))
    ctx.session.expire_all()
    return await get_account(ctx, account_id)


async def find_or_create_account(
    ctx: Ctx, company_name: str, email: str | None, owner_id: uuid.UUID
) -> uuid.UUID:
    """The live account of a prospect's company, created (name, domain, owner) when
    there is none — what a lead claim and a target conversion both start from.

    Matching: the account whose domain is the email's (free mail says nothing and is
    ignored), else the oldest whose `name_key` is the company name's. Never a
    duplicate: callers finding-or-creating the same company at once (two leads of one
    new company claimed, a claim racing a conversion) first take transaction-scoped
    advisory locks on the company's domain and name key, in one order (no deadlock),
    so the second waits for the first to commit and then finds its account. The
    unique index on live domains is the backstop against an account created meanwhile
    through the accounts API.
    """
    tenant_id = ctx.require_principal().tenant_id
    domain = matching.company_domain(email)
    key = matching.company_key(company_name)
    locks = matching.account_locks(tenant_id, company_name, email)
    await ctx.session.execute(
        select(*(func.pg_advisory_xact_lock(func.hashtextextended(lock, 0)) for lock in locks))
    )
    by_domain = ACCOUNTS.c.domain == domain if domain else literal(False)
    # A name of punctuation alone has an empty key: compare it whole instead.
    by_name = (
        ACCOUNTS.c.name_key == matching.name_key_of(company_name)
        if key
        else func.lower(ACCOUNTS.c.name) == company_name.strip().lower()
    )
    found: uuid.UUID | None = await ctx.session.scalar(
        select(ACCOUNTS.c.id)
        .where(ACCOUNTS.c.deleted_at.is_(None), by_domain | by_name)
        .order_by(by_domain.desc().nulls_last(), ACCOUNTS.c.created_at, ACCOUNTS.c.id)
        .limit(1)
    )
    if found is not None:
        return found
    account_id = uuid7()
    await ctx.session.execute(
        insert(ACCOUNTS).values(
            tenant_id=tenant_id, id=account_id, name=company_name, domain=domain, owner_id=owner_id
        )
    )
    return account_id


async def add_transaction(
    ctx: Ctx, account_id: uuid.UUID, data: TransactionIn
) -> AccountTransaction:
    """Writers record a ledger line on a live account; it drives the computed status.

    The currency defaults to the organization's; a reference names one line of the
    account (a second line with it is 409, so an import run twice adds nothing); the
    date may not lie more than a day ahead (UTC).
    """
    principal = require_role(ctx, *WRITERS)
    await _live(ctx, account_id)
    latest = datetime.now(UTC).date() + timedelta(days=_LEDGER_DAYS_AHEAD)
    if data.occurred_on > latest:
        raise RuleViolation(
            "A ledger line records what happened: it cannot be dated in the future",
            errors=[FieldError("occurred_on", f"must be on or before {latest.isoformat()}")],
        )
    if data.reference is not None:
        clash = await ctx.session.scalar(
            select(literal(True)).where(
                AccountTransaction.account_id == account_id,
                AccountTransaction.reference == data.reference,
            )
        )
        if clash:
            raise Conflict(
                "This account already has a ledger line with this reference",
                errors=[FieldError("reference", "is already used by another ledger line")],
            )
    line = AccountTransaction(
        tenant_id=principal.tenant_id,
        account_id=account_id,
        occurred_on=data.occurred_on,
        amount=data.amount,
        currency=data.currency or await default_currency(ctx.session),
        reference=data.reference,
        created_by=principal.user_id,
    )
    ctx.session.add(line)
    await _flush(ctx, "ledger line")
    await ctx.session.refresh(line)
    return line


async def list_transactions(
    ctx: Ctx, account_id: uuid.UUID, page: PageRequest
) -> list[AccountTransaction]:
    """Any member reads a live account's ledger."""
    await require_live_account(ctx, account_id)
    return await queries.list_transactions(ctx.session, account_id, page)


async def account_overview(
    ctx: Ctx, account_id: uuid.UUID
) -> tuple[queries.AccountRow, queries.Overview]:
    """Any member reads a live account's page: profile, status, contacts, deals,
    activities — six statements whatever it holds."""
    row = await get_account(ctx, account_id)
    return row, await queries.overview(ctx.session, account_id)
