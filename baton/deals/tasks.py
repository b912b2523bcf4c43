"""The next-step sweep: one daily digest per owner of their deals whose next step is overdue.

Every hour (`tenant_sweep`), per organization, from `DIGEST_HOUR` o'clock in the
organization's time zone on: every member who owns open, live deals whose
`next_step_due_date` is before today (the organization's calendar day — the rule of
the Pipeline's "overdue" view, read in the organization's zone) gets one in-app
notification listing them (the `LISTED` soonest-due by name, next step and due date,
then how many more) — not one per deal. Members only: a deal of someone who left
the organization is nobody's digest.

Once a day per owner: the statement that finds the owners inserts their
`next_step_digests` row for the day and answers only the rows it wrote (`ON CONFLICT
DO NOTHING RETURNING`). A second sweep that day finds the rows; one running at the
same time waits on the first's uncommitted rows and then finds them — either way it
sends nothing. An owner whose overdue deals all move on before the digest hour gets
no digest that day.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from baton.core.context import Ctx
from baton.jobs.sweeps import tenant_sweep
from baton.notifications.models import NotificationKind
from baton.notifications.service import Notice, notify_each

CRON = "0 * * * *"
# The first sweep at or after this hour of the organization's day sends the digests.
DIGEST_HOUR = 7
# Deals named in a digest; the rest are counted.
LISTED = 5

_DIGEST = text(
    """
WITH today AS (
    SELECT (CAST(:now AS timestamptz) AT TIME ZONE s.timezone) AS local_now
    FROM tenant_settings s WHERE s.tenant_id = :tenant_id
), overdue AS (
    SELECT d.owner_id, count(*) AS deal_count
    FROM deals d
    JOIN memberships m ON m.tenant_id = d.tenant_id AND m.user_id = d.owner_id
    CROSS JOIN today
    WHERE d.tenant_id = :tenant_id AND d.outcome IS NULL AND d.deleted_at IS NULL
      AND d.next_step_due_date < CAST(today.local_now AS date)
      AND extract(hour FROM today.local_now) >= :hour
    GROUP BY d.owner_id
), sent AS (
    INSERT INTO next_step_digests (tenant_id, id, user_id, day, deal_count)
    SELECT :tenant_id, baton_uuid7(), overdue.owner_id, CAST(today.local_now AS date),
           overdue.deal_count
    FROM overdue CROSS JOIN today
    ORDER BY overdue.owner_id
    ON CONFLICT (tenant_id, user_id, day) DO NOTHING
    RETURNING user_id, day, deal_count
)
SELECT sent.user_id, sent.deal_count, listed.lines
FROM sent
CROSS JOIN LATERAL (
    SELECT array_agg(first.line ORDER BY first.due, first.id) AS lines
    FROM (
        SELECT d.id, d.next_step_due_date AS due,
               d.name || ': ' || d.next_step || ' (due ' || d.next_step_due_date || ')' AS line
        FROM deals d
        WHERE d.tenant_id = :tenant_id AND d.owner_id = sent.user_id
          AND d.outcome IS NULL AND d.deleted_at IS NULL AND d.next_step_due_date < sent.day
        ORDER BY d.next_step_due_date, d.id
        LIMIT :listed
    ) first
) listed
ORDER BY sent.user_id
"""
)


@dataclass(frozen=True)
class Digest:
    """One owner's digest as sent: how many deals, and the lines naming the first few."""

    user_id: uuid.UUID
    deal_count: int
    lines: list[str]


def digest_message(digest: Digest) -> str:
    """ "2 of your open deals have an overdue next step: A: Call (due …); B: …" — the
    named ones soonest due first, then "and N more"; within the notification's 500
    characters."""
    verb = "has" if digest.deal_count == 1 else "have"
    head = f"{digest.deal_count} of your open deals {verb} an overdue next step: "
    more = digest.deal_count - len(digest.lines)
    tail = f"; and {more} more" if more else ""
    body = "; ".join(digest.lines)
    if len(head) + len(body) + len(tail) > 500:
        body = body[: 500 - len(head) - len(tail) - 1] + "…"
    return head + body + tail


async def send_next_step_digests(
    ctx: Ctx, *, now: datetime | None = None, hour: int = DIGEST_HOUR
) -> list[Digest]:
    """Send today's digests that are due and not sent yet (module docstring: to whom,
    when, why once); answers what this run sent. Writes one `next_step_digests` row
    and one notification per owner, in the caller's transaction."""
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    rows = (
        await ctx.session.execute(
            _DIGEST,
            {
                "tenant_id": tenant_id,
                "now": now or datetime.now(UTC),
                "hour": hour,
                "listed": LISTED,
            },
        )
    ).all()
    digests = [Digest(row.user_id, row.deal_count, list(row.lines or [])) for row in rows]
    await notify_each(
        ctx,
        [Notice(d.user_id, digest_message(d), kind=NotificationKind.DIGEST) for d in digests],
    )
    return digests


@tenant_sweep(name="deals.send_next_step_digests", cron=CRON, periodic_id="next_step_digest")
async def next_step_sweep(ctx: Ctx) -> None:
    """The periodic next-step sweep of one organization."""
    await send_next_step_digests(ctx)
