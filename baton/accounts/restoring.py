"""What a deal's or contact's own restore checks first: that its account is live.

A record deleted with its account comes back only with the account's restore; one
deleted on its own before its account, only after that restore. The account is
locked `FOR SHARE` in a statement of its own, before the record, its enrolments and
their activities — the lock order of `accounts.service.delete_account`: an account
delete that arrives meanwhile waits for the restore and then takes the restored record
with it; one that came first is seen here.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, select

from baton.accounts.models import Account
from baton.core.context import Ctx
from baton.core.errors import Conflict

ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]


async def lock_account_of(ctx: Ctx, account_id: ColumnElement[Any]) -> Row[Any, Any] | None:
    """The record's account (`id`, `deletion_id`), locked `FOR SHARE`; None when no
    such record is visible (unknown, or another organization's)."""
    statement = (
        select(ACCOUNTS.c.id, ACCOUNTS.c.deletion_id)
        .where(ACCOUNTS.c.id == account_id)
        .with_for_update(read=True)
    )
    return (await ctx.session.execute(statement)).first()


def refuse_while_account_deleted(what: str, account: Row[Any, Any], deletion_id: uuid.UUID) -> None:
    """409 naming the account's restore when the record's account is deleted."""
    if account.deletion_id is None:
        return
    restore = f"POST /api/v1/accounts/{account.id}/restore"
    if account.deletion_id == deletion_id:
        raise Conflict(
            f"The {what} was deleted with its account: restore the account instead"
            f" ({restore}), which brings the {what} back with it"
        )
    raise Conflict(
        f"The {what}'s account is deleted: restore the account first ({restore}), then the {what}"
    )
