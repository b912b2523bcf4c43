"""`baton doctor`: read-only integrity checks over every tenant (seed 001 §10, DESIGN §5).

The database already refuses most broken states (composite FKs, CHECKs, the workflow,
lead-view, lead-pool and deal-outcome triggers). The doctor double-checks what a bug
in a service, a raw SQL edit with triggers disabled (`session_replication_role =
replica`), or a partial restore could still leave behind. It only reads tables — it
never imports a domain service — and runs in one READ ONLY, REPEATABLE READ
transaction, so every check sees the same snapshot.

How the owner sees every tenant: every tenant table has FORCE ROW LEVEL SECURITY, which
binds the table owner too, unless the session's role is a superuser or has BYPASSRLS.
`SET row_security = off` does not help a role without BYPASSRLS (PostgreSQL raises an
error instead of filtering). So the doctor asks the server which case it is in:

- superuser or BYPASSRLS (the embedded server, most self-hosted owners): each check is
  one query over all tenants;
- otherwise (a managed service's owner role): it iterates the tenants (the owner
  sees them all: RLS on `tenants` is enabled, not forced) and, for each, sets
  `baton.tenant_id` and `baton.role = 'admin'` transaction-locally, exactly as a
  request of that tenant's admin would — the policies then show all of that tenant's
  rows — and runs every check scoped to it.

Both paths run the same SQL; each check returns `(tenant, id, detail)` rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from baton.db import ddl


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Check:
    name: str
    severity: Severity
    description: str
    # A SELECT returning `tenant` (slug), `id` (the offending row) and `detail`,
    # limited to the tenant named by `:slug` when it is not NULL.
    sql: str


@dataclass(frozen=True)
class Offender:
    tenant: str
    id: str
    detail: str


@dataclass
class Finding:
    check: Check
    count: int = 0
    samples: list[Offender] = field(default_factory=list)


@dataclass
class Report:
    mode: str
    tenant: str | None
    tenants_checked: int
    checks_run: list[str]
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mode": self.mode,
            "tenant": self.tenant,
            "tenants_checked": self.tenants_checked,
            "checks_run": self.checks_run,
            "findings": [
                {
                    "check": finding.check.name,
                    "severity": finding.check.severity.value,
                    "description": finding.check.description,
                    "count": finding.count,
                    "samples": [
                        {"tenant": o.tenant, "id": o.id, "detail": o.detail}
                        for o in finding.samples
                    ],
                }
                for finding in self.findings
            ],
        }

    def lines(self) -> list[str]:
        scope = f"tenant {self.tenant}" if self.tenant else f"{self.tenants_checked} tenant(s)"
        if self.ok:
            return [f"No problems found: {len(self.checks_run)} checks over {scope}."]
        out: list[str] = []
        for finding in self.findings:
            check = finding.check
            out.append(f"{check.severity.value.upper()} {check.name}: {finding.count}")
            out.append(f"  {check.description}")
            for offender in finding.samples:
                out.append(f"  - {offender.tenant}  {offender.id}  {offender.detail}")
            if finding.count > len(finding.samples):
                out.append(f"  … and {finding.count - len(finding.samples)} more")
        problems = sum(f.count for f in self.findings)
        out.append(
            f"{problems} problem(s) in {len(self.findings)} of {len(self.checks_run)} checks"
            f" over {scope}."
        )
        return out


class DoctorUsageError(Exception):
    """The request cannot be run (e.g. an unknown tenant slug)."""


# Every check joins `tenants t` for the slug and applies this filter.
_SCOPE = "(CAST(:slug AS text) IS NULL OR t.slug = CAST(:slug AS text))"
_SCOPED_TENANTS = f"(SELECT t.id FROM tenants t WHERE {_SCOPE})"

# The same mapping as the `lead_view` trigger (baton/db/ddl.py LEAD_VIEW_FUNCTION),
# written again on purpose: the doctor must notice when the stored view and the step
# disagree, which it could not if it trusted the trigger's output.
_EXPECTED_LEAD_VIEW = """CASE
    WHEN s.key IN ('new', 'in_review') THEN 'inbox'
    WHEN s.key IN ('qualified', 'handed_over') THEN 'pool'
    WHEN s.key = 'claimed' THEN 'mine'
    WHEN s.key = 'nurture' THEN 'nurture'
    WHEN s.key = 'disqualified' THEN 'disqualified'
    WHEN s.key = 'converted' THEN 'converted'
    WHEN st.category = 'won' THEN 'converted'
    WHEN st.category = 'lost' THEN 'disqualified'
    WHEN st.category = 'parked' THEN 'nurture'
    ELSE 'inbox'
END"""

# Governed tables and the workflow entity type their records belong to.
_GOVERNED = (
    ("leads", "lead"),
    ("deals", "deal"),
    ("targets", "target"),
    ("work_items", "work_item"),
)


def _step_outside_workflow_sql() -> str:
    parts = [
        f"""SELECT t.slug AS tenant, r.id,
            '{table}: ' || CASE
                WHEN s.id IS NULL THEN 'step ' || r.step_id || ' is not a step of workflow '
                    || r.workflow_id
                ELSE 'workflow ' || r.workflow_id || ' is a ' || coalesce(w.entity_type, '?')
                    || ' workflow'
            END AS detail
        FROM {table} r
        JOIN tenants t ON t.id = r.tenant_id
        LEFT JOIN workflow_steps s ON s.tenant_id = r.tenant_id
            AND s.workflow_id = r.workflow_id AND s.id = r.step_id
        LEFT JOIN workflows w ON w.tenant_id = r.tenant_id AND w.id = r.workflow_id
        WHERE {_SCOPE} AND (s.id IS NULL OR w.entity_type IS DISTINCT FROM '{entity}')"""
        for table, entity in _GOVERNED
    ]
    return "\nUNION ALL\n".join(parts)


def _open_deal_totals_sql() -> str:
    # Rows at zero are the same as no row (the triggers leave them until a rebuild).
    key = ddl.OPEN_DEAL_TOTALS_KEY
    return f"""
    WITH stored AS (
        SELECT {key}, deal_count, amount_total FROM open_deal_totals
        WHERE tenant_id IN {_SCOPED_TENANTS} AND (deal_count <> 0 OR amount_total <> 0)
    ),
    recomputed AS (
        SELECT * FROM ({ddl.OPEN_DEAL_TOTALS_RECOMPUTED}) r
        WHERE tenant_id IN {_SCOPED_TENANTS}
    ),
    wrong AS (
        (SELECT 'stored' AS side, * FROM stored EXCEPT SELECT 'stored', * FROM recomputed)
        UNION ALL
        (SELECT 'recomputed', * FROM recomputed EXCEPT SELECT 'recomputed', * FROM stored)
    )
    SELECT t.slug AS tenant, w.step_id AS id,
        w.side || ': owner ' || w.owner_id || ', ' || w.currency
        || ', probability ' || coalesce(w.probability::text, 'of the step')
        || ', closing ' || coalesce(w.close_month::text, 'undated')
        || ': ' || w.deal_count || ' deals, ' || w.amount_total AS detail
    FROM wrong w JOIN tenants t ON t.id = w.tenant_id
    """


def _workflow_moves_sql() -> str:
    # Both ledger rollups against their recomputation; rows at zero are no row.
    def wrong(table: str, key: str, figures: str, nonzero: str, recomputed: str) -> str:
        return f"""(
        WITH stored AS (
            SELECT {key}, {figures} FROM {table}
            WHERE tenant_id IN {_SCOPED_TENANTS} AND ({nonzero})
        ),
        recomputed AS (
            SELECT * FROM ({recomputed}) r WHERE tenant_id IN {_SCOPED_TENANTS}
        )
        SELECT '{table} stored' AS side, * FROM (
            SELECT * FROM stored EXCEPT SELECT * FROM recomputed) s
        UNION ALL
        SELECT '{table} recomputed', * FROM (
            SELECT * FROM recomputed EXCEPT SELECT * FROM stored) r)"""

    days = wrong(
        "workflow_move_days",
        ddl.WORKFLOW_MOVE_DAYS_KEY,
        "moves, backwards",
        "moves <> 0 OR backwards <> 0",
        ddl.WORKFLOW_MOVE_DAYS_RECOMPUTED,
    )
    durations = wrong(
        "step_duration_days",
        ddl.STEP_DURATION_DAYS_KEY,
        "moves",
        "moves <> 0",
        ddl.STEP_DURATION_DAYS_RECOMPUTED,
    )
    return f"""
    SELECT t.slug AS tenant, w.workflow_id AS id,
        w.side || ': ' || w.day || ', from ' || coalesce(w.from_step_id::text, 'creation')
        || ' to ' || w.to_step_id || ': ' || w.moves || ' moves, ' || w.backwards
        || ' backwards' AS detail
    FROM {days} w JOIN tenants t ON t.id = w.tenant_id
    UNION ALL
    SELECT t.slug, w.workflow_id,
        w.side || ': ' || w.day || ', step ' || w.step_id
        || CASE WHEN w.span = 1 THEN ', coarse bucket ' ELSE ', bucket ' END || w.bucket
        || ' s: ' || w.moves || ' moves'
    FROM {durations} w JOIN tenants t ON t.id = w.tenant_id
    """


def _activity_days_sql() -> str:
    key = ddl.ACTIVITY_DAYS_KEY
    return f"""
    WITH stored AS (
        SELECT {key}, done, planned FROM activity_days
        WHERE tenant_id IN {_SCOPED_TENANTS} AND (done <> 0 OR planned <> 0)
    ),
    recomputed AS (
        SELECT * FROM ({ddl.ACTIVITY_DAYS_RECOMPUTED}) r WHERE tenant_id IN {_SCOPED_TENANTS}
    ),
    wrong AS (
        (SELECT 'stored' AS side, * FROM stored EXCEPT SELECT 'stored', * FROM recomputed)
        UNION ALL
        (SELECT 'recomputed', * FROM recomputed EXCEPT SELECT 'recomputed', * FROM stored)
    )
    SELECT t.slug AS tenant, w.owner_id AS id,
        w.side || ': ' || w.day || ', owner ' || coalesce(w.owner_id::text, 'nobody')
        || ': ' || w.done || ' done, ' || w.planned || ' planned' AS detail
    FROM wrong w JOIN tenants t ON t.id = w.tenant_id
    """


def _history_sql() -> str:
    # Replay without trusting timestamps: moves made in one transaction share `at`
    # and their UUIDv7 ids may tie within a millisecond, so an ORDER BY cannot tell
    # which came last. A valid history is a path from "created" (from_step_id NULL)
    # through each move to the current step, so its net flow is -1 at the start,
    # +1 at the current step and 0 everywhere else. Any other balance means a move
    # without history, history without the move, or a second creation.
    records = "\nUNION ALL\n".join(
        f"SELECT tenant_id, '{entity}'::text AS entity_type, id, step_id FROM {table}"
        f" WHERE tenant_id IN {_SCOPED_TENANTS}"
        for table, entity in _GOVERNED
    )
    return f"""
    WITH records AS ({records}),
    moves AS (
        SELECT h.tenant_id, h.entity_type::text AS entity_type, h.record_id,
            coalesce(h.from_step_id, '00000000-0000-0000-0000-000000000000'::uuid) AS from_node,
            h.to_step_id AS to_node
        FROM workflow_history h WHERE h.tenant_id IN {_SCOPED_TENANTS}
    ),
    flow AS (
        SELECT tenant_id, entity_type, record_id, node, sum(delta) AS balance
        FROM (
            SELECT tenant_id, entity_type, record_id, to_node AS node, 1 AS delta FROM moves
            UNION ALL
            SELECT tenant_id, entity_type, record_id, from_node, -1 FROM moves
        ) edges
        GROUP BY tenant_id, entity_type, record_id, node
        HAVING sum(delta) <> 0
    ),
    expected AS (
        SELECT tenant_id, entity_type, id AS record_id, step_id AS node, 1 AS balance
        FROM records
        UNION ALL
        SELECT tenant_id, entity_type, id,
            '00000000-0000-0000-0000-000000000000'::uuid, -1
        FROM records
    ),
    wrong AS (
        SELECT tenant_id, entity_type, record_id
        FROM (
            (SELECT tenant_id, entity_type, record_id, node, balance FROM flow
             EXCEPT ALL
             SELECT tenant_id, entity_type, record_id, node, balance FROM expected)
            UNION ALL
            (SELECT tenant_id, entity_type, record_id, node, balance FROM expected
             EXCEPT ALL
             SELECT tenant_id, entity_type, record_id, node, balance FROM flow)
        ) diff
        GROUP BY tenant_id, entity_type, record_id
    )
    SELECT t.slug AS tenant, r.id,
        r.entity_type || ' on step ' || r.step_id || ': ' || CASE
            WHEN NOT EXISTS (
                SELECT 1 FROM workflow_history h
                WHERE h.tenant_id = r.tenant_id AND h.record_id = r.id
                  AND h.entity_type = r.entity_type
            ) THEN 'no history at all'
            ELSE 'its history does not end at this step'
        END AS detail
    FROM wrong
    JOIN records r ON r.tenant_id = wrong.tenant_id AND r.entity_type = wrong.entity_type
        AND r.id = wrong.record_id
    JOIN tenants t ON t.id = r.tenant_id
    """


CHECKS: tuple[Check, ...] = (
    Check(
        "tenant_without_admin",
        Severity.ERROR,
        "Organizations with no admin membership: nobody can manage them.",
        f"""SELECT t.slug AS tenant, t.id, 'no admin among '
            || (SELECT count(*) FROM memberships m WHERE m.tenant_id = t.id) || ' member(s)'
            AS detail
        FROM tenants t
        WHERE {_SCOPE} AND NOT EXISTS (
            SELECT 1 FROM memberships m WHERE m.tenant_id = t.id AND m.role = 'admin')""",
    ),
    Check(
        "contact_of_deleted_account",
        Severity.ERROR,
        "Live contacts whose account is deleted (deleting an account deletes its contacts).",
        f"""SELECT t.slug AS tenant, c.id, 'account ' || a.id || ' deleted' AS detail
        FROM contacts c
        JOIN accounts a ON a.tenant_id = c.tenant_id AND a.id = c.account_id
        JOIN tenants t ON t.id = c.tenant_id
        WHERE {_SCOPE} AND c.deleted_at IS NULL AND a.deleted_at IS NOT NULL""",
    ),
    Check(
        "open_deal_of_deleted_account",
        Severity.ERROR,
        "Live open deals whose account is deleted.",
        f"""SELECT t.slug AS tenant, d.id, 'account ' || a.id || ' deleted' AS detail
        FROM deals d
        JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id
        JOIN tenants t ON t.id = d.tenant_id
        WHERE {_SCOPE} AND d.deleted_at IS NULL AND d.outcome IS NULL
          AND a.deleted_at IS NOT NULL""",
    ),
    Check(
        "planned_activity_of_deleted_record",
        Severity.ERROR,
        "Live planned activities attached to a deleted account, contact, deal, lead, target"
        " or work item: someone would be asked to work on a record that is gone.",
        f"""SELECT t.slug AS tenant, x.id, concat_ws(', ',
                CASE WHEN a.deleted_at IS NOT NULL THEN 'account ' || a.id || ' deleted' END,
                CASE WHEN c.deleted_at IS NOT NULL THEN 'contact ' || c.id || ' deleted' END,
                CASE WHEN d.deleted_at IS NOT NULL THEN 'deal ' || d.id || ' deleted' END,
                CASE WHEN l.deleted_at IS NOT NULL THEN 'lead ' || l.id || ' deleted' END,
                CASE WHEN g.deleted_at IS NOT NULL THEN 'target ' || g.id || ' deleted' END,
                CASE WHEN w.deleted_at IS NOT NULL THEN 'work item ' || w.id || ' deleted' END
            ) AS detail
        FROM activities x
        JOIN tenants t ON t.id = x.tenant_id
        LEFT JOIN accounts a ON a.tenant_id = x.tenant_id AND a.id = x.account_id
        LEFT JOIN contacts c ON c.tenant_id = x.tenant_id AND c.id = x.contact_id
        LEFT JOIN deals d ON d.tenant_id = x.tenant_id AND d.id = x.deal_id
        LEFT JOIN leads l ON l.tenant_id = x.tenant_id AND l.id = x.lead_id
        LEFT JOIN targets g ON g.tenant_id = x.tenant_id AND g.id = x.target_id
        LEFT JOIN work_items w ON w.tenant_id = x.tenant_id AND w.id = x.work_item_id
        WHERE {_SCOPE} AND x.deleted_at IS NULL AND x.status = 'planned'
          AND num_nonnulls(a.deleted_at, c.deleted_at, d.deleted_at, l.deleted_at,
                           g.deleted_at, w.deleted_at) > 0""",
    ),
    Check(
        "live_enrollment_of_deleted_record",
        Severity.ERROR,
        "Active or paused cadence enrolments of a deleted deal, account or contact that"
        " were not deleted with it: the cadence still runs for a record that is gone.",
        f"""SELECT t.slug AS tenant, e.id, concat_ws(', ',
                CASE WHEN a.deleted_at IS NOT NULL THEN 'account ' || a.id || ' deleted' END,
                CASE WHEN c.deleted_at IS NOT NULL THEN 'contact ' || c.id || ' deleted' END,
                CASE WHEN d.deleted_at IS NOT NULL THEN 'deal ' || d.id || ' deleted' END
            ) AS detail
        FROM cadence_enrollments e
        JOIN tenants t ON t.id = e.tenant_id
        LEFT JOIN accounts a ON a.tenant_id = e.tenant_id AND a.id = e.account_id
        LEFT JOIN contacts c ON c.tenant_id = e.tenant_id AND c.id = e.contact_id
        LEFT JOIN deals d ON d.tenant_id = e.tenant_id AND d.id = e.deal_id
        WHERE {_SCOPE} AND e.status IN ('active', 'paused') AND e.deleted_at IS NULL
          AND num_nonnulls(a.deleted_at, c.deleted_at, d.deleted_at) > 0""",
    ),
    Check(
        "deleted_enrollment_of_live_record",
        Severity.ERROR,
        "Cadence enrolments deleted while their deal, account or contact is live, or"
        " deleted under another deletion id than it: a restore did not (or will not)"
        " bring them back with their record.",
        f"""SELECT t.slug AS tenant, e.id, coalesce(
                CASE WHEN r.deleted_at IS NULL THEN r.kind || ' ' || r.id || ' is live' END,
                r.kind || ' ' || r.id || ' deleted under another deletion id'
            ) AS detail
        FROM cadence_enrollments e
        JOIN tenants t ON t.id = e.tenant_id
        JOIN LATERAL (
            SELECT 'account' AS kind, a.id, a.deleted_at, a.deletion_id FROM accounts a
            WHERE a.tenant_id = e.tenant_id AND a.id = e.account_id
            UNION ALL
            SELECT 'contact', c.id, c.deleted_at, c.deletion_id FROM contacts c
            WHERE c.tenant_id = e.tenant_id AND c.id = e.contact_id
            UNION ALL
            SELECT 'deal', d.id, d.deleted_at, d.deletion_id FROM deals d
            WHERE d.tenant_id = e.tenant_id AND d.id = e.deal_id
        ) r ON true
        WHERE {_SCOPE} AND e.deleted_at IS NOT NULL
          AND r.deletion_id IS DISTINCT FROM e.deletion_id""",
    ),
    Check(
        "duplicate_contact_email",
        Severity.WARNING,
        "Live contacts sharing an email within a tenant (the database allows it across"
        " accounts): likely one person entered twice.",
        f"""SELECT t.slug AS tenant, c.id,
            c.email || ' on ' || c.copies || ' live contacts' AS detail
        FROM (
            SELECT tenant_id, id, email,
                count(*) OVER (PARTITION BY tenant_id, email) AS copies
            FROM contacts WHERE deleted_at IS NULL AND email IS NOT NULL
        ) c
        JOIN tenants t ON t.id = c.tenant_id
        WHERE {_SCOPE} AND c.copies > 1""",
    ),
    Check(
        "duplicate_lead_email",
        Severity.WARNING,
        "Live leads still being worked (inbox, pool, mine, nurture) that share an email:"
        " two teams may chase one person. Disqualify one as `duplicate`.",
        f"""SELECT t.slug AS tenant, l.id,
            l.email || ' on ' || l.copies || ' open leads' AS detail
        FROM (
            SELECT tenant_id, id, email,
                count(*) OVER (PARTITION BY tenant_id, email) AS copies
            FROM leads
            WHERE deleted_at IS NULL AND email IS NOT NULL
              AND view IN ('inbox', 'pool', 'mine', 'nurture')
        ) l
        JOIN tenants t ON t.id = l.tenant_id
        WHERE {_SCOPE} AND l.copies > 1""",
    ),
    Check(
        "lead_view_mismatch",
        Severity.ERROR,
        "Leads whose stored view is not the one their step maps to: the lead shows in the"
        " wrong queue (or in none).",
        f"""SELECT t.slug AS tenant, l.id,
            'view ' || l.view || ' but step ' || coalesce(s.key, 'missing') || ' maps to '
            || e.expected AS detail
        FROM leads l
        JOIN tenants t ON t.id = l.tenant_id
        LEFT JOIN workflow_steps s ON s.tenant_id = l.tenant_id AND s.id = l.step_id
        LEFT JOIN statuses st ON st.tenant_id = s.tenant_id AND st.id = s.status_id
        CROSS JOIN LATERAL (SELECT {_EXPECTED_LEAD_VIEW} AS expected) e
        WHERE {_SCOPE} AND l.view IS DISTINCT FROM e.expected""",
    ),
    Check(
        "lead_pool_mismatch",
        Severity.ERROR,
        "A live lead is in the sales pool exactly when its view is `pool`: no qualified"
        " lead outside the pool, no pool entry for a lead that is elsewhere or deleted.",
        f"""SELECT t.slug AS tenant, l.id, 'in the pool view but not in lead_pool' AS detail
        FROM leads l
        JOIN tenants t ON t.id = l.tenant_id
        WHERE {_SCOPE} AND l.view = 'pool' AND l.deleted_at IS NULL
          AND NOT EXISTS (
            SELECT 1 FROM lead_pool p WHERE p.tenant_id = l.tenant_id AND p.lead_id = l.id)
        UNION ALL
        SELECT t.slug, p.lead_id, 'in lead_pool but ' || CASE
                WHEN l.id IS NULL THEN 'the lead does not exist'
                WHEN l.deleted_at IS NOT NULL THEN 'deleted'
                ELSE 'in the ' || l.view || ' view'
            END
        FROM lead_pool p
        JOIN tenants t ON t.id = p.tenant_id
        LEFT JOIN leads l ON l.tenant_id = p.tenant_id AND l.id = p.lead_id
        WHERE {_SCOPE} AND (l.id IS NULL OR l.deleted_at IS NOT NULL OR l.view <> 'pool')""",
    ),
    Check(
        "claimed_lead_incomplete",
        Severity.ERROR,
        "Live claimed or converted leads without a sales owner, or without a live deal.",
        f"""SELECT t.slug AS tenant, l.id, l.view || ': ' || concat_ws(', ',
                CASE WHEN l.sales_owner_id IS NULL THEN 'no sales owner' END,
                CASE WHEN l.deal_id IS NULL THEN 'no deal' END,
                CASE WHEN d.deleted_at IS NOT NULL THEN 'deal ' || d.id || ' deleted' END
            ) AS detail
        FROM leads l
        JOIN tenants t ON t.id = l.tenant_id
        LEFT JOIN deals d ON d.tenant_id = l.tenant_id AND d.id = l.deal_id
        WHERE {_SCOPE} AND l.deleted_at IS NULL AND l.view IN ('mine', 'converted')
          AND (l.sales_owner_id IS NULL OR l.deal_id IS NULL OR d.deleted_at IS NOT NULL)""",
    ),
    Check(
        "converted_lead_contact_missing",
        Severity.ERROR,
        "A claimed or converted lead with an email must have a live contact with that email"
        " on its account: the hand-over carries the lead's person over (contacts.matching).",
        f"""SELECT t.slug AS tenant, l.id,
            'no contact with ' || l.email || ' on account ' || l.account_id AS detail
        FROM leads l
        JOIN tenants t ON t.id = l.tenant_id
        JOIN accounts a ON a.tenant_id = l.tenant_id AND a.id = l.account_id
        WHERE {_SCOPE} AND l.deleted_at IS NULL AND a.deleted_at IS NULL
          AND l.view IN ('mine', 'converted') AND l.email IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM contacts c
              WHERE c.tenant_id = l.tenant_id AND c.account_id = l.account_id
                AND c.email = l.email AND c.deleted_at IS NULL)""",
    ),
    Check(
        "open_deal_incomplete",
        Severity.ERROR,
        "Live open deals need an owner who is a member of the organization, a next step and"
        " a next-step due date.",
        f"""SELECT t.slug AS tenant, d.id, concat_ws(', ',
                CASE WHEN NOT EXISTS (
                    SELECT 1 FROM memberships m
                    WHERE m.tenant_id = d.tenant_id AND m.user_id = d.owner_id)
                THEN 'owner ' || coalesce(d.owner_id::text, '(none)') || ' is not a member' END,
                CASE WHEN length(btrim(coalesce(d.next_step, ''))) = 0
                THEN 'no next step' END,
                CASE WHEN d.next_step_due_date IS NULL THEN 'no next-step due date' END
            ) AS detail
        FROM deals d
        JOIN tenants t ON t.id = d.tenant_id
        WHERE {_SCOPE} AND d.deleted_at IS NULL AND d.outcome IS NULL
          AND (length(btrim(coalesce(d.next_step, ''))) = 0 OR d.next_step_due_date IS NULL
               OR NOT EXISTS (
                    SELECT 1 FROM memberships m
                    WHERE m.tenant_id = d.tenant_id AND m.user_id = d.owner_id))""",
    ),
    Check(
        "deal_outcome_mismatch",
        Severity.ERROR,
        "Deals whose outcome is not their step's category (won/lost steps close the deal,"
        " every other step leaves it open).",
        f"""SELECT t.slug AS tenant, d.id,
            'outcome ' || coalesce(d.outcome, 'none') || ' on step '
            || coalesce(s.key, 'missing') || ' (' || coalesce(st.category, '?') || ')' AS detail
        FROM deals d
        JOIN tenants t ON t.id = d.tenant_id
        LEFT JOIN workflow_steps s ON s.tenant_id = d.tenant_id AND s.id = d.step_id
        LEFT JOIN statuses st ON st.tenant_id = s.tenant_id AND st.id = s.status_id
        WHERE {_SCOPE} AND d.outcome IS DISTINCT FROM
            (CASE WHEN st.category IN ('won', 'lost') THEN st.category END)""",
    ),
    Check(
        "converted_target_incomplete",
        Severity.ERROR,
        "Live targets on a converted (won) step must name their live account and deal and"
        " when they converted; targets elsewhere must not claim a conversion.",
        f"""SELECT t.slug AS tenant, g.id, 'step ' || s.key || ': ' || concat_ws(', ',
                CASE WHEN st.category = 'won' AND g.converted_account_id IS NULL
                    THEN 'no account' END,
                CASE WHEN st.category = 'won' AND g.converted_deal_id IS NULL
                    THEN 'no deal' END,
                CASE WHEN st.category = 'won' AND g.converted_at IS NULL
                    THEN 'no converted_at' END,
                CASE WHEN a.deleted_at IS NOT NULL THEN 'account ' || a.id || ' deleted' END,
                CASE WHEN d.deleted_at IS NOT NULL THEN 'deal ' || d.id || ' deleted' END,
                CASE WHEN st.category <> 'won' AND g.converted_at IS NOT NULL
                    THEN 'converted_at set on a step that is not converted' END
            ) AS detail
        FROM targets g
        JOIN tenants t ON t.id = g.tenant_id
        JOIN workflow_steps s ON s.tenant_id = g.tenant_id AND s.id = g.step_id
        JOIN statuses st ON st.tenant_id = s.tenant_id AND st.id = s.status_id
        LEFT JOIN accounts a ON a.tenant_id = g.tenant_id AND a.id = g.converted_account_id
        LEFT JOIN deals d ON d.tenant_id = g.tenant_id AND d.id = g.converted_deal_id
        WHERE {_SCOPE} AND g.deleted_at IS NULL AND (
            (st.category = 'won' AND (g.converted_account_id IS NULL
                OR g.converted_deal_id IS NULL OR g.converted_at IS NULL))
            OR a.deleted_at IS NOT NULL OR d.deleted_at IS NOT NULL
            OR (st.category <> 'won' AND g.converted_at IS NOT NULL))""",
    ),
    Check(
        "step_outside_workflow",
        Severity.ERROR,
        "Leads, deals, targets and work items must sit on a step of their own workflow,"
        " of their own entity type (the composite FK guarantees it unless bypassed).",
        _step_outside_workflow_sql(),
    ),
    Check(
        "history_disagrees_with_step",
        Severity.ERROR,
        "Workflow history must replay from creation to each record's current step.",
        _history_sql(),
    ),
    Check(
        "open_deal_totals",
        Severity.ERROR,
        "The reports' rollup of open deals (open_deal_totals) must equal a recomputation"
        " from the deals; `baton db rebuild-rollups` writes the recomputation back.",
        _open_deal_totals_sql(),
    ),
    Check(
        "workflow_moves",
        Severity.ERROR,
        "The stage-conversion report's rollups of the workflow history (workflow_move_days,"
        " step_duration_days) must equal a recomputation from the history;"
        " `baton db rebuild-rollups` writes the recomputation back.",
        _workflow_moves_sql(),
    ),
    Check(
        "activity_days",
        Severity.ERROR,
        "The activity report's rollup (activity_days) must equal a recomputation from the"
        " activities; `baton db rebuild-rollups` writes the recomputation back.",
        _activity_days_sql(),
    ),
)

CHECK_NAMES = tuple(check.name for check in CHECKS)


async def _bypasses_rls(conn: AsyncConnection) -> bool:
    bypass = await conn.scalar(
        text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
    )
    return bool(bypass)


async def _run_check(
    conn: AsyncConnection, check: Check, slug: str | None, sample: int
) -> tuple[int, list[Offender]]:
    rows = (
        await conn.execute(
            text(
                f"SELECT q.tenant, q.id::text AS id, q.detail, count(*) OVER () AS total"
                f" FROM ({check.sql}) q ORDER BY q.tenant, q.id LIMIT :sample"
            ),
            {"slug": slug, "sample": max(sample, 1)},
        )
    ).all()
    total = int(rows[0].total) if rows else 0
    offenders = [Offender(row.tenant, row.id, row.detail or "") for row in rows[:sample]]
    return total, offenders


async def _tenant_ids(conn: AsyncConnection, slug: str | None) -> list[uuid.UUID]:
    """Every organization's id, or the one `slug` names, through the identity definer
    functions: a role RLS binds sees no `tenants` row before it is scoped to one."""
    if slug is None:
        return list((await conn.execute(text("SELECT baton_tenant_ids()"))).scalars())
    found = await conn.scalar(text("SELECT baton_tenant_for_slug(:slug)"), {"slug": slug})
    return [found] if found is not None else []


async def _set_tenant(conn: AsyncConnection, tenant_id: uuid.UUID) -> None:
    # Transaction-local, like a request: the policies of an admin of this tenant.
    await conn.execute(
        text(
            "SELECT set_config('baton.tenant_id', :tenant, true),"
            " set_config('baton.role', 'admin', true),"
            " set_config('baton.user_id', '', true)"
        ),
        {"tenant": str(tenant_id)},
    )


async def diagnose(
    conn: AsyncConnection,
    *,
    tenant: str | None = None,
    sample: int = 5,
    per_tenant: bool | None = None,
    checks: tuple[Check, ...] = CHECKS,
) -> Report:
    """Run `checks` on `conn` (in its current transaction) and report what they find.

    `per_tenant` None picks the strategy from the role (see the module docstring);
    True forces the per-tenant path, which any role with SELECT on the tables can use.
    """
    tenants = await _tenant_ids(conn, tenant)
    if tenant is not None and not tenants:
        raise DoctorUsageError(f"No organization with slug '{tenant}'")
    if per_tenant is None:
        per_tenant = not await _bypasses_rls(conn)
    findings = {check.name: Finding(check) for check in checks}
    if per_tenant:
        for tenant_id in tenants:
            await _set_tenant(conn, tenant_id)
            slug = await conn.scalar(text("SELECT slug FROM tenants"))
            for check in checks:
                count, offenders = await _run_check(conn, check, slug, sample)
                finding = findings[check.name]
                finding.count += count
                finding.samples.extend(offenders[: sample - len(finding.samples)])
    else:
        for check in checks:
            count, offenders = await _run_check(conn, check, tenant, sample)
            findings[check.name].count = count
            findings[check.name].samples = offenders
    return Report(
        mode="per-tenant" if per_tenant else "all-tenants",
        tenant=tenant,
        tenants_checked=len(tenants),
        checks_run=[check.name for check in checks],
        findings=[finding for finding in findings.values() if finding.count],
    )


async def run_doctor(
    owner: URL, *, tenant: str | None = None, sample: int = 5, per_tenant: bool | None = None
) -> Report:
    """Connect as `owner` and diagnose in one read-only snapshot."""
    engine = create_async_engine(owner, poolclass=NullPool)
    try:
        async with engine.connect() as base:
            conn = await base.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            async with conn.begin():
                return await diagnose(conn, tenant=tenant, sample=sample, per_tenant=per_tenant)
    finally:
        await engine.dispose()
