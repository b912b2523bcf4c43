"""SQL the jobs migration emits: procrastinate's schema and Baton's functions over it.

procrastinate's tables hold the jobs of every tenant in one place (its functions
fetch across tenants, which the worker needs), so they carry no RLS. The API never
reads them directly: tenants see their jobs through `baton_tenant_jobs` and retry
them through `baton_retry_tenant_job`, SECURITY DEFINER functions that filter on the
tenant id every job carries in its arguments against the transaction's
`baton.tenant_id` — unset, they show nothing (fail closed), like the RLS policies.
"""

from __future__ import annotations

from procrastinate.schema import SchemaManager

from baton.audit.models import EXPIRABLE_AUDIT
from baton.db.ddl import CURRENT_TENANT

# procrastinate's tables, which the worker (the app role) reads and writes.
PROCRASTINATE_TABLES = (
    "procrastinate_workers",
    "procrastinate_jobs",
    "procrastinate_periodic_defers",
    "procrastinate_events",
)
PROCRASTINATE_TYPES = (
    "procrastinate_job_to_defer_v1",
    "procrastinate_job_event_type",
    "procrastinate_job_status",
)
PROCRASTINATE_PREFIX = "procrastinate_"


def procrastinate_schema() -> str:
    """The schema file of the installed procrastinate (pinned in pyproject.toml: a new
    procrastinate version comes with a new revision applying its sql/migrations)."""
    return SchemaManager.get_schema()


def is_procrastinate_object(name: str | None) -> bool:
    """Whether a table or index belongs to procrastinate, not to Baton's metadata
    (Alembic's autogenerate and the catalog tests leave those alone)."""
    return name is not None and name.startswith(PROCRASTINATE_PREFIX)


# Every procrastinate function, whatever its version suffix, then its tables and
# types: the schema file has no counterpart that removes it.
DROP_PROCRASTINATE = f"""
DO $$
DECLARE
    fn regprocedure;
BEGIN
    FOR fn IN
        SELECT p.oid::regprocedure FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proname LIKE 'procrastinate\\_%'
    LOOP
        EXECUTE 'DROP FUNCTION ' || fn || ' CASCADE';
    END LOOP;
END
$$;
DROP TABLE {", ".join(reversed(PROCRASTINATE_TABLES))};
DROP TYPE {", ".join(PROCRASTINATE_TYPES)};
"""

# The job's tenant as text, compared with the text procrastinate stores in `args`.
_TENANT_TEXT = f"({CURRENT_TENANT})::text"

# A tenant's open jobs by list: queued (`todo`), running (`doing`) or failed; the page
# and the API list the newest first, `before` is the cursor (a job id).
TENANT_JOBS_INDEX = (
    "CREATE INDEX procrastinate_jobs_baton_tenant_idx ON procrastinate_jobs"
    " ((args ->> 'tenant_id'), id) WHERE status IN ('todo', 'doing', 'failed')"
)

TENANT_JOBS_FUNCTION = f"""
CREATE FUNCTION baton_tenant_jobs(p_status text, p_before bigint, p_limit integer)
RETURNS TABLE (id bigint, task_name text, status text, attempts integer,
               queued_at timestamptz, scheduled_at timestamptz, started_at timestamptz,
               error text, failed_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT j.id, j.task_name::text, j.status::text, j.attempts,
           (SELECT min(e.at) FROM procrastinate_events e
             WHERE e.job_id = j.id AND e.type = 'deferred'),
           j.scheduled_at,
           (SELECT max(e.at) FROM procrastinate_events e
             WHERE e.job_id = j.id AND e.type = 'started'),
           je.error, je.failed_at
    FROM procrastinate_jobs j
    LEFT JOIN job_errors je
      ON je.tenant_id = {CURRENT_TENANT} AND je.job_id = j.id
    WHERE j.args ->> 'tenant_id' = {_TENANT_TEXT}
      AND j.status IN ('todo', 'doing', 'failed')
      AND (p_status IS NULL OR j.status::text = p_status)
      AND (p_before IS NULL OR j.id < p_before)
    ORDER BY j.id DESC
    LIMIT p_limit
$$
"""

# A failed job of the current tenant back to the queue, due now, for one more
# attempt (procrastinate's own retry: it counts the attempt). NULL: no such job in
# this tenant; 'not_failed': it exists but is queued or running.
RETRY_TENANT_JOB_FUNCTION = f"""
CREATE FUNCTION baton_retry_tenant_job(p_job_id bigint) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    current_status text;
BEGIN
    SELECT j.status::text INTO current_status FROM procrastinate_jobs j
    WHERE j.id = p_job_id AND j.args ->> 'tenant_id' = {_TENANT_TEXT}
      AND j.status IN ('todo', 'doing', 'failed')
    FOR UPDATE;
    IF current_status IS NULL THEN
        RETURN NULL;
    END IF;
    IF current_status <> 'failed' THEN
        RETURN 'not_failed';
    END IF;
    PERFORM procrastinate_retry_job_v2(p_job_id, now(), NULL, NULL, NULL);
    RETURN 'retried';
END
$$
"""

# One batch of expired rows of one kind, across tenants (the app role sees one
# tenant at a time, and rate-limit buckets none). `ctid = ANY(ARRAY(… LIMIT n FOR
# UPDATE SKIP LOCKED))` keeps each statement short and its locks few, and lets two
# sweeps run at once: each skips the rows the other holds, so every row is deleted
# by exactly one of them and neither waits.
RETENTION_KINDS = (
    "idempotency_keys",
    "access_tokens",
    "rate_limit_buckets",
    "job_errors",
    "audit_log",
    # Deliveries before events: an event goes once no delivery names it.
    "webhook_deliveries",
    "outbox_events",
    "invitations",
    "bulk_runs",
)
# How long audit rows are kept (DESIGN §3.3: two years), deletes and user removals
# excepted.
AUDIT_RETENTION_DAYS = 730
# How long finished webhook deliveries (the endpoint's log) and their dispatched
# events are kept.
WEBHOOK_LOG_DAYS = 30

# How long a spent invitation (accepted, revoked or expired) and a finished bulk run
# (its per-row results) are kept: operational logs, kept as long as the webhook log.
SPENT_INVITATION_DAYS = WEBHOOK_LOG_DAYS
BULK_RUN_DAYS = WEBHOOK_LOG_DAYS

# The sweep's function is one IF over the kinds; each revision that added kinds put a
# longer list of branches in place, so the function of each revision is composed
# here from the branches it had.
_RETENTION_OPEN = """
CREATE FUNCTION baton_retention_sweep(kind text, batch integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    removed integer;
    shortest integer;
BEGIN
    IF kind = 'idempotency_keys' THEN
        DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM idempotency_keys WHERE expires_at < now()
            LIMIT batch FOR UPDATE SKIP LOCKED));
    ELSIF kind = 'access_tokens' THEN
        -- Expired bearer tokens and web sessions (revoked ones expire too). The audit
        -- trigger records each deletion, as any other change.
        DELETE FROM access_tokens WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM access_tokens WHERE expires_at < now()
            LIMIT batch FOR UPDATE SKIP LOCKED));
    ELSIF kind = 'rate_limit_buckets' THEN
        DELETE FROM rate_limit_buckets WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM rate_limit_buckets
            WHERE updated_at < now() - interval '1 day'
              AND (blocked_until IS NULL OR blocked_until < now())
            LIMIT batch FOR UPDATE SKIP LOCKED));
    ELSIF kind = 'job_errors' THEN
        -- The error of a job that is gone (it succeeded on a later attempt and
        -- procrastinate deleted it).
        DELETE FROM job_errors WHERE ctid = ANY (ARRAY(
            SELECT je.ctid FROM job_errors je
            WHERE NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.id = je.job_id)
            LIMIT batch FOR UPDATE OF je SKIP LOCKED));
"""

_RETENTION_CLOSE = """    ELSE
        RAISE EXCEPTION 'unknown retention kind %', kind USING ERRCODE = 'invalid_parameter_value';
    END IF;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$
"""

# The purge revision's audit branch: one retention for everyone.
_AUDIT_BRANCH_V2 = f"""    ELSIF kind = 'audit_log' THEN
        -- Older than AUDIT_RETENTION_DAYS, except what DESIGN §3.3 keeps for good:
        -- deletes (a purged record's last image) and user removals. The partial
        -- index `ix_audit_log_at_expirable` holds exactly the candidates.
        DELETE FROM audit_log WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM audit_log
            WHERE at < now() - make_interval(days => {AUDIT_RETENTION_DAYS})
              AND {EXPIRABLE_AUDIT}
            ORDER BY at
            LIMIT batch FOR UPDATE SKIP LOCKED));
"""

# Since the notification email revision: each organization's audit rows past its own
# `tenant_settings.audit_retention_days` (rows of no organization: AUDIT_RETENTION_DAYS).
# The candidates are read oldest first down to the shortest retention any
# organization has, so the partial index bounds the scan.
_AUDIT_BRANCH = f"""    ELSIF kind = 'audit_log' THEN
        -- Older than the organization's audit retention, except what DESIGN §3.3
        -- keeps for good: deletes (a purged record's last image) and user removals.
        -- The partial index `ix_audit_log_at_expirable` holds exactly the candidates.
        SELECT least(coalesce(min(s.audit_retention_days), {AUDIT_RETENTION_DAYS}),
                     {AUDIT_RETENTION_DAYS})
          INTO shortest FROM tenant_settings s;
        DELETE FROM audit_log WHERE ctid = ANY (ARRAY(
            SELECT a.ctid FROM audit_log a
            LEFT JOIN tenant_settings s ON s.tenant_id = a.tenant_id
            WHERE a.at < now() - make_interval(days => shortest)
              AND a.at < now() - make_interval(
                    days => coalesce(s.audit_retention_days, {AUDIT_RETENTION_DAYS}))
              AND {EXPIRABLE_AUDIT}
            ORDER BY a.at
            LIMIT batch FOR UPDATE OF a SKIP LOCKED));
"""

# Since the webhook log revision: finished deliveries past WEBHOOK_LOG_DAYS (a pending
# or leased one is the queue, kept however old), then dispatched events past it that no
# delivery names any more. Each reads its partial index oldest first.
_WEBHOOK_BRANCHES = f"""    ELSIF kind = 'webhook_deliveries' THEN
        DELETE FROM webhook_deliveries WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM webhook_deliveries
            WHERE status IN ('delivered', 'failed')
              AND created_at < now() - make_interval(days => {WEBHOOK_LOG_DAYS})
            ORDER BY created_at
            LIMIT batch FOR UPDATE SKIP LOCKED));
    ELSIF kind = 'outbox_events' THEN
        DELETE FROM outbox_events WHERE ctid = ANY (ARRAY(
            SELECT e.ctid FROM outbox_events e
            WHERE e.dispatched_at < now() - make_interval(days => {WEBHOOK_LOG_DAYS})
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                              WHERE d.tenant_id = e.tenant_id AND d.event_id = e.id)
            ORDER BY e.dispatched_at
            LIMIT batch FOR UPDATE OF e SKIP LOCKED));
"""

# Since the invitation links revision: invitations spent past SPENT_INVITATION_DAYS
# (used, revoked, or expired that long ago; a pending one stays), and bulk runs that
# finished past BULK_RUN_DAYS (a running one stays however old), oldest first through
# its partial index. Invitations are few (a handful per organization): no index.
_INVITATION_AND_BULK_BRANCHES = f"""    ELSIF kind = 'invitations' THEN
        DELETE FROM invitations WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM invitations
            WHERE coalesce(accepted_at, revoked_at, expires_at)
                  < now() - make_interval(days => {SPENT_INVITATION_DAYS})
            LIMIT batch FOR UPDATE SKIP LOCKED));
    ELSIF kind = 'bulk_runs' THEN
        DELETE FROM bulk_runs WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM bulk_runs
            WHERE finished_at < now() - make_interval(days => {BULK_RUN_DAYS})
            ORDER BY finished_at
            LIMIT batch FOR UPDATE SKIP LOCKED));
"""

RETENTION_FUNCTION_V1 = _RETENTION_OPEN + _RETENTION_CLOSE
RETENTION_FUNCTION_V2 = _RETENTION_OPEN + _AUDIT_BRANCH_V2 + _RETENTION_CLOSE
RETENTION_FUNCTION_V3 = _RETENTION_OPEN + _AUDIT_BRANCH + _RETENTION_CLOSE
RETENTION_FUNCTION_V4 = _RETENTION_OPEN + _AUDIT_BRANCH + _WEBHOOK_BRANCHES + _RETENTION_CLOSE
RETENTION_FUNCTION = (
    _RETENTION_OPEN
    + _AUDIT_BRANCH
    + _WEBHOOK_BRANCHES
    + _INVITATION_AND_BULK_BRANCHES
    + _RETENTION_CLOSE
)

# Functions the app role may execute (granted by `baton db upgrade`).
APP_FUNCTIONS = (
    "baton_tenant_jobs(text, bigint, integer)",
    "baton_retry_tenant_job(bigint)",
    "baton_retention_sweep(text, integer)",
)
