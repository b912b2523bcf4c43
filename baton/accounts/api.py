"""/api/v1/accounts: companies, their computed status, their ledger and their page."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends, status

from baton.accounts import queries, service
from baton.accounts.models import ActivityLevel, Tenure
from baton.accounts.schemas import (
    AccountIn,
    AccountOut,
    AccountOverviewOut,
    AccountPatch,
    AccountStatusOut,
    ActivitySummary,
    ContactSummary,
    DealSummary,
    TransactionIn,
    TransactionOut,
)
from baton.core.auth import CtxDep, IfMatchDep, VersionQuery, get_principal
from baton.core.pagination import PageRequest, SearchQuery, next_cursor, next_page, page_request
from baton.core.replica import replica_route
from baton.core.routing import JsonRoute
from baton.core.schemas import Page
from baton.core.versioning import expected_version

router = APIRouter(
    prefix="/api/v1/accounts",
    tags=["accounts"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)


def account_out(row: queries.AccountRow) -> AccountOut:
    account = row.account
    return AccountOut(
        id=account.id,
        name=account.name,
        domain=account.domain,
        tax_id=account.tax_id,
        address=account.address,
        industry=account.industry,
        owner_id=account.owner_id,
        tags=list(account.tags),
        status=AccountStatusOut.model_validate(row.status),
        created_at=account.created_at,
        updated_at=account.updated_at,
        version=account.version,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_account(data: AccountIn, ctx: CtxDep) -> AccountOut:
    return account_out(await service.create_account(ctx, data))


@router.get("")
@replica_route
async def list_accounts(
    ctx: CtxDep,
    q: SearchQuery = None,
    owner: Literal["me"] | None = None,
    tenure: Tenure | None = None,
    activity: ActivityLevel | None = None,
    page: PageRequest = Depends(page_request),
) -> Page[AccountOut]:
    """Live accounts, each with its status; `owner=me`: the caller's. Without `q`, in
    creation order. `q`: words found anywhere in the name, domain or tax id (each the
    start of a word; case, accents and punctuation ignored), best matches first
    (`baton.db.search`); a `q` without letters or digits matches nothing."""
    principal = ctx.require_principal()
    rows = await queries.list_accounts(
        ctx.session,
        page,
        q=q,
        owner_id=principal.user_id if owner == "me" else None,
        tenure=tenure,
        activity=activity,
    )
    return Page(
        items=[account_out(row) for row in rows[: page.limit]],
        next_cursor=next_page(((row.account.id, row.rank) for row in rows), page),
    )


@router.get("/{account_id}")
async def get_account(account_id: uuid.UUID, ctx: CtxDep) -> AccountOut:
    return account_out(await service.get_account(ctx, account_id))


@router.patch("/{account_id}")
async def update_account(
    account_id: uuid.UUID, data: AccountPatch, ctx: CtxDep, if_match: IfMatchDep
) -> AccountOut:
    """Edit the profile; send the version (If-Match or body). Null clears a field."""
    version = expected_version(if_match, data.version)
    return account_out(await service.update_account(ctx, account_id, data, version))


@router.delete("/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_account(
    account_id: uuid.UUID, ctx: CtxDep, if_match: IfMatchDep, version: VersionQuery = None
) -> None:
    """Soft delete with its contacts, open deals, planned activities and live cadence
    enrolments (one deletion, restored together)."""
    await service.delete_account(ctx, account_id, expected_version(if_match, version))


@router.post("/{account_id}/restore")
async def restore_account(
    account_id: uuid.UUID, ctx: CtxDep, if_match: IfMatchDep, version: VersionQuery = None
) -> AccountOut:
    """Undo a deletion: the account and exactly what its deletion took come back."""
    restored = await service.restore_account(ctx, account_id, expected_version(if_match, version))
    return account_out(restored)


@router.get("/{account_id}/overview")
async def account_overview(account_id: uuid.UUID, ctx: CtxDep) -> AccountOverviewOut:
    row, overview = await service.account_overview(ctx, account_id)
    return AccountOverviewOut(
        account=account_out(row),
        contacts=[ContactSummary.model_validate(contact) for contact in overview.contacts],
        open_deals=[DealSummary.model_validate(deal) for deal in overview.open_deals],
        recent_activities=[ActivitySummary.model_validate(a) for a in overview.recent_activities],
        upcoming_activities=[
            ActivitySummary.model_validate(a) for a in overview.upcoming_activities
        ],
        closed_deals=[DealSummary.model_validate(deal) for deal in overview.closed_deals],
    )


@router.post("/{account_id}/transactions", status_code=status.HTTP_201_CREATED)
async def add_transaction(
    account_id: uuid.UUID, data: TransactionIn, ctx: CtxDep
) -> TransactionOut:
    """Record a ledger line (an invoice, an order); the status follows from the ledger."""
    return TransactionOut.model_validate(await service.add_transaction(ctx, account_id, data))


@router.get("/{account_id}/transactions")
async def list_transactions(
    account_id: uuid.UUID, ctx: CtxDep, page: PageRequest = Depends(page_request)
) -> Page[TransactionOut]:
    """The account's ledger in the order it was recorded."""
    rows = await service.list_transactions(ctx, account_id, page)
    shown = rows[: page.limit]
    return Page(
        items=[TransactionOut.model_validate(line) for line in shown],
        next_cursor=next_cursor(rows, page, shown[-1].id if shown else None),
    )
