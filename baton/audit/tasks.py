"""The purge sweep: soft-deleted records past the organization's retention are removed.

Every hour (`tenant_sweep`), per organization, with `cutoff = now - retention_days`
(`tenant_settings.retention_days`, 90 by default): every account, contact, deal,
lead, target, work item, activity and cadence enrolment soft-deleted before the
cutoff is deleted for good, **with its dependants** — the activities linked to it
(any status: a done call of a deleted deal goes with the deal, even when it also
names a live account), its enrolments, its ledger lines, its winback and escalation
rows. The audit trigger leaves one `delete` row per purged row (its whole last
image), which the audit retention keeps. `workflow_history` is append-only and keeps
its rows (stage analytics count them).

A record is kept, still soft-deleted, while a record that is not being purged points
at it by a foreign key that is not a dependant's — a live deal naming a deleted
contact, a live lead converted into a deleted deal or account, a target converted
into one: deleting it would break that record (reads show "deleted contact"). It
goes at the first sweep after that reference does.

In batches: each step deletes at most `BATCH` rows per statement, `FOR UPDATE SKIP
LOCKED`, each statement in a short transaction of the organization's own (like the
retention sweep of `baton.jobs.retention`), dependants before what they depend on, so
a request never waits on more than one batch and two sweeps at once split the rows.
Idempotent: a second sweep finds nothing before the cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text

from baton.core.context import Ctx
from baton.jobs.sweeps import SWEEP_ROLE, tenant_sweep

BATCH = 1000
CRON = "30 * * * *"


def _gone(alias: str) -> str:
    return f"{alias}.deleted_at < :cutoff"


def _kept(alias: str) -> str:
    return f"({alias}.deleted_at IS NULL OR {alias}.deleted_at >= :cutoff)"


# The ids that go, per kind: soft-deleted before the cutoff and pointed at by no
# record that stays. Deals are pointed at by leads and targets; contacts by deals;
# accounts by contacts, deals, leads and targets. Uncorrelated subqueries: PostgreSQL
# computes each set once per statement (a hashed subplan), whatever the table scanned.
def _gone_ids(table: str) -> str:
    return f"SELECT g.id FROM {table} g WHERE g.tenant_id = :tenant_id AND {_gone('g')}"


DEALS = (
    "SELECT pd.id FROM deals pd WHERE pd.tenant_id = :tenant_id AND "
    + _gone("pd")
    + " AND NOT EXISTS (SELECT 1 FROM leads kl WHERE kl.tenant_id = pd.tenant_id"
    " AND kl.deal_id = pd.id AND " + _kept("kl") + ")"
    " AND NOT EXISTS (SELECT 1 FROM targets kt WHERE kt.tenant_id = pd.tenant_id"
    " AND kt.converted_deal_id = pd.id AND " + _kept("kt") + ")"
)
CONTACTS = (
    "SELECT pc.id FROM contacts pc WHERE pc.tenant_id = :tenant_id AND "
    + _gone("pc")
    + " AND NOT EXISTS (SELECT 1 FROM deals kd WHERE kd.tenant_id = pc.tenant_id"
    " AND kd.contact_id = pc.id AND kd.id NOT IN (" + DEALS + "))"
)
ACCOUNTS = (
    "SELECT pa.id FROM accounts pa WHERE pa.tenant_id = :tenant_id AND "
    + _gone("pa")
    + " AND NOT EXISTS (SELECT 1 FROM contacts kc WHERE kc.tenant_id = pa.tenant_id"
    " AND kc.account_id = pa.id AND kc.id NOT IN (" + CONTACTS + "))"
    " AND NOT EXISTS (SELECT 1 FROM deals kd2 WHERE kd2.tenant_id = pa.tenant_id"
    " AND kd2.account_id = pa.id AND kd2.id NOT IN (" + DEALS + "))"
    " AND NOT EXISTS (SELECT 1 FROM leads kl2 WHERE kl2.tenant_id = pa.tenant_id"
    " AND kl2.account_id = pa.id AND " + _kept("kl2") + ")"
    " AND NOT EXISTS (SELECT 1 FROM targets kt2 WHERE kt2.tenant_id = pa.tenant_id"
    " AND kt2.converted_account_id = pa.id AND " + _kept("kt2") + ")"
)
ENROLLMENTS = (
    "SELECT pe.id FROM cadence_enrollments pe WHERE pe.tenant_id = :tenant_id AND ("
    + _gone("pe")
    + f" OR pe.account_id IN ({ACCOUNTS}) OR pe.contact_id IN ({CONTACTS})"
    f" OR pe.deal_id IN ({DEALS}))"
)

# (table, the condition on its alias `r`), dependants first.
STEPS: tuple[tuple[str, str], ...] = (
    (
        "activities",
        " OR ".join(
            (
                _gone("r"),
                f"r.account_id IN ({ACCOUNTS})",
                f"r.contact_id IN ({CONTACTS})",
                f"r.deal_id IN ({DEALS})",
                f"r.lead_id IN ({_gone_ids('leads')})",
                f"r.target_id IN ({_gone_ids('targets')})",
                f"r.work_item_id IN ({_gone_ids('work_items')})",
                f"r.enrollment_id IN ({ENROLLMENTS})",
            )
        ),
    ),
    ("account_winbacks", f"r.account_id IN ({ACCOUNTS}) OR r.enrollment_id IN ({ENROLLMENTS})"),
    ("cadence_enrollments", f"r.id IN ({ENROLLMENTS})"),
    ("account_transactions", f"r.account_id IN ({ACCOUNTS})"),
    ("lead_escalations", f"r.lead_id IN ({_gone_ids('leads')})"),
    ("leads", _gone("r")),
    ("targets", _gone("r")),
    ("deals", f"r.id IN ({DEALS})"),
    ("contacts", f"r.id IN ({CONTACTS})"),
    ("accounts", f"r.id IN ({ACCOUNTS})"),
    ("work_items", _gone("r")),
)

# Whether anything is due at all: one cheap statement, so an organization with
# nothing deleted long ago costs one round trip per sweep.
_ANY_DUE = text(
    "SELECT "
    + " OR ".join(
        f"EXISTS ({_gone_ids(table)})"
        for table in (
            "activities",
            "cadence_enrollments",
            "leads",
            "targets",
            "deals",
            "contacts",
            "accounts",
            "work_items",
        )
    )
)

_STATEMENTS = {
    table: text(
        f"DELETE FROM {table} WHERE tenant_id = :tenant_id AND ctid = ANY (ARRAY("
        f"SELECT r.ctid FROM {table} r WHERE r.tenant_id = :tenant_id AND ({condition})"
        f" LIMIT :batch FOR UPDATE OF r SKIP LOCKED))"
    )
    for table, condition in STEPS
}

_CUTOFF = text(
    "SELECT CAST(:now AS timestamptz) - make_interval(days => retention_days)"
    " FROM tenant_settings WHERE tenant_id = :tenant_id"
)


@dataclass
class PurgeReport:
    """Rows deleted per table, and how many batches (transactions) that took."""

    deleted: dict[str, int] = field(default_factory=dict)
    batches: int = 0

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


async def purge_deleted_records(
    ctx: Ctx, *, now: datetime | None = None, batch: int = BATCH
) -> PurgeReport:
    """Purge the organization's records soft-deleted before its retention (module
    docstring: what goes with them, what is kept, why in batches); answers what was
    deleted. Each batch is a transaction of its own, opened on `ctx.db` with the
    organization and the sweep's role: the job's own unit of work only reads the cutoff.
    """
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    params = {"tenant_id": tenant_id, "batch": batch}
    cutoff = await ctx.session.scalar(
        _CUTOFF, {"tenant_id": tenant_id, "now": now or datetime.now(UTC)}
    )
    report = PurgeReport()
    if cutoff is None or not await ctx.session.scalar(
        _ANY_DUE, {"tenant_id": tenant_id, "cutoff": cutoff}
    ):
        return report
    for table, _condition in STEPS:
        deleted = 0
        while True:
            async with ctx.db.session_scope(
                tenant_id=tenant_id, role=SWEEP_ROLE, request_id=ctx.request_id
            ) as session:
                result = await session.execute(_STATEMENTS[table], {**params, "cutoff": cutoff})
            removed = int(result.rowcount or 0)  # type: ignore[attr-defined]
            report.batches += 1
            deleted += removed
            if removed < batch:
                break
        report.deleted[table] = deleted
    return report


@tenant_sweep(name="audit.purge_deleted_records", cron=CRON, periodic_id="purge")
async def purge_sweep(ctx: Ctx) -> None:
    """The periodic purge of one organization."""
    await purge_deleted_records(ctx)
