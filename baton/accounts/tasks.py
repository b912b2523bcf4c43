"""The winback sweep: accounts that go quiet are enrolled in the winback cadence.

Every hour (`tenant_sweep`; statuses change by the day), per organization that
chose a winback cadence (`tenant_settings.winback_cadence_id`, set on the
Organization page or `PATCH /api/v1/settings`; with none set, or the cadence made
inactive since, the sweep does nothing and records nothing, so choosing one later
enrols the accounts quiet at that time): every live account whose computed status —
the `account_statuses` view, the one place the rule lives — is `inactive` (activity)
or `winback_target` (tenure) and that has no `account_winbacks` row for its last
ledger transaction yet is enrolled in the cadence through
`cadences.service.enroll_record` (the same rule as a hand enrolment: activities for
the account's owner, one live enrolment per record and cadence — an account already
enrolled there is not enrolled twice) and gets a system entry on its timeline saying
what changed and what was done. At most `BATCH` accounts per run; the next run takes
the rest.

Once per lapse: the `account_winbacks` row (unique per account and last transaction
date) is inserted first, `ON CONFLICT DO NOTHING RETURNING`, and only the accounts
that insert wrote are enrolled: a second sweep finds the rows, and one running at the
same time waits on the first's uncommitted rows and then finds them. A new
transaction makes the account active again; when it lapses again it is a new row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

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
from baton.webhooks.events import emit

log = structlog.get_logger("baton.accounts.tasks")

# Each enrolment is the cadences service's few statements, about 20 ms on the 2-core
# machine (bench/sweeps.py): 50 keep a run near a second; the next hour takes the rest.
BATCH = 50
CRON = "15 * * * *"

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

_WINBACKS: Table = AccountWinback.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Winback:
    """An account this run saw lapse, and the enrolment made (None: already enrolled)."""

    account_id: uuid.UUID
    enrollment_id: uuid.UUID | None


def lapse_subject(tenure: str, last_transaction_on: date, cadence: str, *, enrolled: bool) -> str:
    """The timeline entry: what the status became, since when, and what was done."""
    became = "winback target" if tenure == Tenure.WINBACK_TARGET.value else "inactive"
    done = f"enrolled in '{cadence}'" if enrolled else f"already enrolled in '{cadence}'"
    return f"Status changed to {became} (last transaction {last_transaction_on}): {done}"


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


async def enrol_lapsed_accounts(ctx: Ctx, *, batch: int = BATCH) -> list[Winback]:
    """Enrol the organization's newly lapsed accounts in its winback cadence and note
    it on their timelines (module docstring: which, why once); answers what this run
    did. Writes in the caller's transaction."""
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    cadence = await winback_cadence(ctx)
    if cadence is None:
        return []
    lapsed = (
        await ctx.session.execute(
            _LAPSED,
            {
                "tenant_id": tenant_id,
                "cadence_id": cadence.id,
                "inactive": ActivityLevel.INACTIVE.value,
                "winback_target": Tenure.WINBACK_TARGET.value,
                "batch": batch,
            },
        )
    ).all()
    done: list[Winback] = []
    entries: list[tuple[dict[str, uuid.UUID], str]] = []
    for row in lapsed:
        await emit(ctx, "account.status_changed", row.account_id)
        try:
            # A savepoint: an account the cadence refuses (a deleted enrolment left
            # by a partial restore, 409) is noted and skipped, not the whole run.
            async with ctx.session.begin_nested():
                view = await enroll_record(ctx, cadence, "account_id", row.account_id)
        except Conflict as refused:
            log.warning("winback enrolment refused", account_id=str(row.account_id))
            entries.append(
                ({"account_id": row.account_id}, f"Winback not started: {refused.detail}")
            )
            done.append(Winback(row.account_id, None))
            continue
        enrollment_id = view.enrollment.id if view is not None else None
        if enrollment_id is not None:
            await ctx.session.execute(
                update(_WINBACKS)
                .where(_WINBACKS.c.id == row.id)
                .values(enrollment_id=enrollment_id)
            )
        subject = lapse_subject(
            row.tenure, row.last_transaction_on, cadence.name, enrolled=view is not None
        )
        entries.append(({"account_id": row.account_id}, subject))
        done.append(Winback(row.account_id, enrollment_id))
    await log_system_entries(ctx, entries)
    return done


@tenant_sweep(name="accounts.enrol_lapsed_accounts", cron=CRON, periodic_id="winback")
async def winback_sweep(ctx: Ctx) -> None:
    """The periodic winback sweep of one organization."""
    await enrol_lapsed_accounts(ctx)
