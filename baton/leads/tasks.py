"""The claim SLA sweep: pooled leads past their claim due time are escalated.

Every five minutes (`tenant_sweep`), per organization: each lead in the sales pool
whose `claim_due_at` has passed and that was not escalated yet — or was escalated
`claim_escalation_hours` ago (an organization setting, 24 h by default) and is still
unclaimed — is escalated: its `lead_escalations` row is written (first time) or its
count bumped (repeat), and every manager and admin of the organization gets one
in-app notification about it. At most `BATCH` leads per run; the next run takes the
rest.

The claim of the work is one statement, `INSERT … ON CONFLICT (tenant, pool entry)
DO UPDATE … WHERE escalated_at <= now - interval RETURNING`: of two sweeps at once,
the second waits on the first's row and then finds it escalated too recently, so
each lead is escalated and notified once per interval. The row is keyed by pool entry,
not by lead, and has no link to the pool row: a claim never waits on a sweep, and a
lead released back into the pool is escalated afresh when it is overdue again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from baton.core.context import Ctx
from baton.identity.models import Role
from baton.identity.queries import members_with_roles
from baton.jobs.sweeps import tenant_sweep
from baton.notifications.models import NotificationKind
from baton.notifications.service import Notice, notify_each
from baton.workflow.effects import MovedRecord
from baton.workflow.models import EntityType

BATCH = 1000
CRON = "*/5 * * * *"
ESCALATED_TO = (Role.MANAGER, Role.ADMIN)

_ESCALATE = text(
    """
WITH due AS (
    SELECT p.id AS pool_entry_id, p.lead_id
    FROM lead_pool p
    JOIN tenant_settings s ON s.tenant_id = p.tenant_id
    LEFT JOIN lead_escalations e ON e.tenant_id = p.tenant_id AND e.pool_entry_id = p.id
    WHERE p.tenant_id = :tenant_id AND p.claim_due_at <= :now
      AND (e.id IS NULL
           OR e.escalated_at <= CAST(:now AS timestamptz)
              - make_interval(hours => s.claim_escalation_hours))
    ORDER BY p.claim_due_at, p.id
    LIMIT :batch
), escalated AS (
    INSERT INTO lead_escalations AS e
        (tenant_id, id, pool_entry_id, lead_id, escalated_at, escalation_count)
    SELECT :tenant_id, baton_uuid7(), due.pool_entry_id, due.lead_id, :now, 1 FROM due
    ON CONFLICT (tenant_id, pool_entry_id) DO UPDATE
    SET escalated_at = excluded.escalated_at,
        escalation_count = e.escalation_count + 1,
        updated_at = now()
    WHERE e.escalated_at <= excluded.escalated_at - make_interval(hours => (
        SELECT s.claim_escalation_hours FROM tenant_settings s WHERE s.tenant_id = e.tenant_id))
    RETURNING e.lead_id, e.escalation_count
)
SELECT escalated.lead_id, escalated.escalation_count, l.company_name
FROM escalated
JOIN leads l ON l.tenant_id = :tenant_id AND l.id = escalated.lead_id
ORDER BY l.company_name, escalated.lead_id
"""
)


@dataclass(frozen=True)
class Escalation:
    """A lead escalated by this run, and the how-manieth time."""

    lead_id: uuid.UUID
    company_name: str
    count: int


def escalation_message(company_name: str, count: int) -> str:
    """What managers read: the first notice, then reminders counted."""
    if count == 1:
        return f"{company_name} is past its claim due time and still unclaimed in the Sales Inbox"
    return (
        f"Reminder {count - 1}: {company_name} is still unclaimed in the Sales Inbox, "
        "past its claim due time"
    )


async def escalate_overdue_claims(
    ctx: Ctx, *, now: datetime | None = None, batch: int = BATCH
) -> list[Escalation]:
    """Escalate the organization's overdue pooled leads (module docstring: which, how
    often, why once); answers what this run escalated. Writes the escalation rows and
    one notification per lead and manager or admin, in the caller's transaction."""
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    rows = (
        await ctx.session.execute(
            _ESCALATE,
            {"tenant_id": tenant_id, "now": now or datetime.now(UTC), "batch": batch},
        )
    ).all()
    escalations = [Escalation(row.lead_id, row.company_name, row.escalation_count) for row in rows]
    if not escalations:
        return []
    recipients = await members_with_roles(ctx.session, ESCALATED_TO)
    await notify_each(
        ctx,
        [
            Notice(
                user_id,
                escalation_message(item.company_name, item.count),
                MovedRecord(EntityType.LEAD, item.lead_id, item.company_name, None),
                NotificationKind.ESCALATION,
            )
            for item in escalations
            for user_id, _name in recipients
        ],
    )
    return escalations


@tenant_sweep(name="leads.escalate_overdue_claims", cron=CRON, periodic_id="claim_sla")
async def claim_sla_sweep(ctx: Ctx) -> None:
    """The periodic claim SLA sweep of one organization."""
    await escalate_overdue_claims(ctx)
