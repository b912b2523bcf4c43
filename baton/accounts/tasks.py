"""The account-status sweep: accounts that go quiet are announced, noted on their
timeline and, when the organization chose a winback cadence, enrolled in it.

Every hour (`tenant_sweep`; statuses change by the day), per organization: every live
account whose computed status — the `account_statuses` view, the one place the rule
lives — is `inactive` (activity) or `winback_target` (tenure) and that has no
`account_winbacks` row for its last ledger transaction yet has lapsed. For each lapse
the sweep writes, in its transaction, the `account.status_changed` event (the outbox:
webhooks hear it) and a system entry on the account's timeline saying what the status
became — with or without a winback cadence. When the organization has one
(`tenant_settings.winback_cadence_id`, set on the Organization page or
`PATCH /api/v1/settings`, and active), the account is also enrolled in it through
`cadences.service.enroll_record` (the same rule as a hand enrolment: activities for
the account's owner, one live enrolment per record and cadence — an account already
enrolled there is not enrolled twice). A lapse recorded while there was no cadence is
enrolled by the first sweep that finds one, as long as the account is still in that
lapse (choosing a cadence later enrols the accounts quiet at that time). At most
`BATCH` accounts of each kind per run; the next run takes the rest.

Once per lapse: the `account_winbacks` row (unique per account and last transaction
date) is inserted first, `ON CONFLICT DO NOTHING RETURNING`, and only the lapses that
insert wrote are announced: a second sweep finds the rows, and one running at the same
time waits on the first's uncommitted rows and then finds them. A late enrolment
claims its row by setting `cadence_id` (`FOR UPDATE SKIP LOCKED`, `cadence_id IS
NULL`), so two sweeps never enrol one lapse twice either. A new transaction makes the
account active again; when it lapses again it is a new row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import structlog
from sqlalchemy import Table, select, text, update

from baton.accounts.models import AccountWinback, ActivityLevel, Tenure
from baton.activities.service import log_system_entries
from baton.cadences.models import Cadence
from baton.cadences.service import enroll_record
from baton.core.context import Ctx
from baton.core.errors import Conflict
from baton.identity.models import TenantSettings
from baton.jobs.sweeps import tenant_sweep
from baton.webhooks.events import emit_each

log = structlog.get_logger("baton.accounts.tasks")

# Each enrolment is the cadences service's few statements, about 20 ms on the 2-core
# machine (bench/sweeps.py): 50 keep a run near a second; the next hour takes the rest.
BATCH = 50
CRON = "15 * * * *"

# A live account in a lapse (its status is inactive or winback target now) for
# whose last transaction no lapse is recorded yet.
_LAPSED = text(
    """
INSERT INTO account_winbacks AS w
    (tenant_id, id, account_id, last_transaction_on, tenure, activity, cadence_id)
SELECT s.tenant_id, baton_uuid7(), s.account_id, s.last_transaction_on, s.tenure,
       s.activity, :cadence_id
FROM account_statuses s
JOIN accounts a ON a.tenant_id = s.tenant_id AND a.id = s.account_id
WHERE s.tenant_id = :tenant_id AND a.deleted_at IS NULL
  AND (s.activity = :inactive OR s.tenure = :winback_target)
  AND NOT EXISTS (
      SELECT 1 FROM account_winbacks seen
      WHERE seen.tenant_id = s.tenant_id AND seen.account_id = s.account_id
        AND seen.last_transaction_on = s.last_transaction_on)
ORDER BY s.account_id
LIMIT :batch
ON CONFLICT (tenant_id, account_id, last_transaction_on) DO NOTHING
RETURNING w.id, w.account_id, w.last_transaction_on, w.tenure, w.activity
"""
)

# Lapses recorded while the organization had no winback cadence whose account is
# still in that lapse: the cadence now chosen claims them.
_UNENROLLED = text(
    """
UPDATE account_winbacks w SET cadence_id = :cadence_id, updated_at = now()
WHERE w.tenant_id = :tenant_id AND w.id IN (
    SELECT pending.id
    FROM account_winbacks pending
    JOIN account_statuses s
      ON s.tenant_id = pending.tenant_id AND s.account_id = pending.account_id
     AND s.last_transaction_on = pending.last_transaction_on
    JOIN accounts a ON a.tenant_id = s.tenant_id AND a.id = s.account_id
    WHERE pending.tenant_id = :tenant_id AND pending.cadence_id IS NULL
      AND s.tenant_id = :tenant_id AND a.deleted_at IS NULL
      AND (s.activity = :inactive OR s.tenure = :winback_target)
    ORDER BY pending.account_id
    LIMIT :batch
    FOR UPDATE OF pending SKIP LOCKED)
  AND w.cadence_id IS NULL
RETURNING w.id, w.account_id, w.last_transaction_on, w.tenure, w.activity
"""
)

_WINBACKS: Table = AccountWinback.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Lapse:
    """What this run did about an account: `changed` when it saw the status change
    (announced and noted); `enrollment_id` the enrolment made (None: no cadence, or
    already enrolled, or refused)."""

    account_id: uuid.UUID
    changed: bool
    enrollment_id: uuid.UUID | None


def _became(tenure: str) -> str:
    return "winback target" if tenure == Tenure.WINBACK_TARGET.value else "inactive"


def lapse_subject(
    tenure: str, last_transaction_on: date, cadence: str | None, *, enrolled: bool
) -> str:
    """The timeline entry of a status change: what the status became, since when, and
    what was done (nothing without a winback cadence)."""
    changed = f"Status changed to {_became(tenure)} (last transaction {last_transaction_on})"
    if cadence is None:
        return changed
    done = f"enrolled in '{cadence}'" if enrolled else f"already enrolled in '{cadence}'"
    return f"{changed}: {done}"


def late_enrolment_subject(tenure: str, last_transaction_on: date, cadence: str) -> str:
    """The timeline entry of a lapse enrolled after it was noted (no cadence then)."""
    return (
        f"Enrolled in '{cadence}': {_became(tenure)} since the last transaction"
        f" ({last_transaction_on})"
    )


async def winback_cadence(ctx: Ctx) -> Cadence | None:
    """The organization's winback cadence when it has one and it is active."""
    cadence_id = await ctx.session.scalar(select(TenantSettings.winback_cadence_id))
    if cadence_id is None:
        return None
    cadence = await ctx.session.get(Cadence, (ctx.current_tenant_id, cadence_id))
    if cadence is None or not cadence.active:
        log.info("winback cadence inactive: nothing enrolled", cadence_id=str(cadence_id))
        return None
    return cadence


async def _enrol(ctx: Ctx, cadence: Cadence, row: Any) -> tuple[uuid.UUID | None, str | None]:
    """Enrol a lapsed account; answers the enrolment made (None: already enrolled) or
    why the cadence refused it."""
    try:
        # A savepoint: an account the cadence refuses (a deleted enrolment left by a
        # partial restore, 409) is noted and skipped, not the whole run.
        async with ctx.session.begin_nested():
            view = await enroll_record(ctx, cadence, "account_id", row.account_id)
    except Conflict as refused:
        log.warning("winback enrolment refused", account_id=str(row.account_id))
        return None, f"Winback not started: {refused.detail}"
    if view is None:
        return None, None
    await ctx.session.execute(
        update(_WINBACKS).where(_WINBACKS.c.id == row.id).values(enrollment_id=view.enrollment.id)
    )
    return view.enrollment.id, None


async def sweep_lapsed_accounts(ctx: Ctx, *, batch: int = BATCH) -> list[Lapse]:
    """Announce (`account.status_changed`) and note on the timeline every newly lapsed
    account of the organization, once per lapse, and enrol the lapsed accounts in its
    winback cadence when it has one (module docstring: which, why once); answers what
    this run did. Writes in the caller's transaction."""
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    cadence = await winback_cadence(ctx)
    params = {
        "tenant_id": tenant_id,
        "cadence_id": cadence.id if cadence is not None else None,
        "inactive": ActivityLevel.INACTIVE.value,
        "winback_target": Tenure.WINBACK_TARGET.value,
        "batch": batch,
    }
    lapsed: Sequence[Any] = (await ctx.session.execute(_LAPSED, params)).all()
    late: Sequence[Any] = (
        (await ctx.session.execute(_UNENROLLED, params)).all() if cadence is not None else []
    )
    if lapsed:
        await emit_each(ctx, [("account.status_changed", row.account_id) for row in lapsed])
    done: list[Lapse] = []
    entries: list[tuple[dict[str, uuid.UUID], str]] = []
    for row, changed in [(row, True) for row in lapsed] + [(row, False) for row in late]:
        links = {"account_id": row.account_id}
        if cadence is None:
            entries.append(
                (links, lapse_subject(row.tenure, row.last_transaction_on, None, enrolled=False))
            )
            done.append(Lapse(row.account_id, changed, None))
            continue
        enrollment_id, refused = await _enrol(ctx, cadence, row)
        if changed:
            entries.append(
                (
                    links,
                    lapse_subject(
                        row.tenure,
                        row.last_transaction_on,
                        cadence.name,
                        enrolled=enrollment_id is not None,
                    ),
                )
            )
        elif refused is None:
            entries.append(
                (links, late_enrolment_subject(row.tenure, row.last_transaction_on, cadence.name))
            )
        if refused is not None:
            entries.append((links, refused))
        done.append(Lapse(row.account_id, changed, enrollment_id))
    await log_system_entries(ctx, entries)
    return done


@tenant_sweep(name="accounts.enrol_lapsed_accounts", cron=CRON, periodic_id="winback")
async def account_status_sweep(ctx: Ctx) -> None:
    """The periodic account-status sweep of one organization (its task name is the
    one it was first registered under: queued rows name it)."""
    await sweep_lapsed_accounts(ctx)
