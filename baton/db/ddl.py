"""SQL that migrations emit for tenancy, RLS and audit.

Migrations call these builders so every table gets exactly the same policy text.
Treat the output as versioned: changing a builder changes only future migrations,
so a change here needs a migration that re-applies it to existing tables.
"""

from __future__ import annotations

# `nullif(…, '')` because a custom setting reverts to '' (not NULL) after a
# transaction that set it ends; ''::uuid would raise instead of showing nothing.
CURRENT_TENANT = "nullif(current_setting('baton.tenant_id', true), '')::uuid"
CURRENT_USER_ID = "nullif(current_setting('baton.user_id', true), '')::uuid"


def enable_tenant_rls(table: str) -> list[str]:
    """ENABLE + FORCE RLS with the inline tenant policy (fails closed when unset)."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})",
    ]


def disable_tenant_rls(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def attach_audit(table: str, redact: tuple[str, ...] = ()) -> str:
    args = ", ".join(f"'{column}'" for column in redact)
    return (
        f"CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION baton_audit({args})"
    )


def detach_audit(table: str) -> str:
    return f"DROP TRIGGER IF EXISTS audit ON {table}"


# The generic audit trigger. Trigger arguments name columns whose values are
# replaced by '[redacted]' (credential hashes). It runs as the invoking role, so the
# app role's INSERT privilege and the audit_log policy apply to it like any insert.
AUDIT_FUNCTION = """
CREATE FUNCTION baton_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    before_row jsonb;
    after_row jsonb;
    changed text[];
    redacted text;
BEGIN
    IF TG_OP <> 'INSERT' THEN before_row := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN after_row := to_jsonb(NEW); END IF;
    FOREACH redacted IN ARRAY coalesce(TG_ARGV, '{}'::text[]) LOOP
        IF before_row ? redacted THEN
            before_row := before_row || jsonb_build_object(redacted, '[redacted]');
        END IF;
        IF after_row ? redacted THEN
            after_row := after_row || jsonb_build_object(redacted, '[redacted]');
        END IF;
    END LOOP;
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(array_agg(n.key ORDER BY n.key), '{}') INTO changed
        FROM jsonb_each(to_jsonb(NEW)) n
        WHERE n.value IS DISTINCT FROM to_jsonb(OLD) -> n.key;
    END IF;
    INSERT INTO audit_log (tenant_id, action, table_name, row_id, changed_columns,
                           before, after, actor_user_id, request_id)
    VALUES (CASE WHEN TG_TABLE_NAME = 'tenants'
                 THEN (coalesce(after_row, before_row) ->> 'id')::uuid
                 ELSE (coalesce(after_row, before_row) ->> 'tenant_id')::uuid END,
            lower(TG_OP), TG_TABLE_NAME,
            (coalesce(after_row, before_row) ->> 'id')::uuid,
            changed, before_row, after_row,
            nullif(current_setting('baton.user_id', true), '')::uuid,
            nullif(current_setting('baton.request_id', true), ''));
    RETURN NULL;
END
$$
"""

# Expired idempotency keys and stale rate-limit buckets are removed across all
# tenants; SECURITY DEFINER so the app role can run it without seeing other tenants.
CLEANUP_FUNCTION = """
CREATE FUNCTION baton_cleanup_expired() RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    WITH expired_keys AS (
        DELETE FROM idempotency_keys WHERE expires_at < now() RETURNING 1
    ), stale_buckets AS (
        DELETE FROM rate_limit_buckets
        WHERE updated_at < now() - interval '1 day'
          AND (blocked_until IS NULL OR blocked_until < now())
        RETURNING 1
    )
    SELECT ((SELECT count(*) FROM expired_keys) + (SELECT count(*) FROM stale_buckets))::integer
$$
"""

# A tenant always keeps at least one admin; checked at commit so a role swap inside
# one transaction is fine. RLS scopes the count to the row's own tenant.
ADMIN_REQUIRED_FUNCTION = """
CREATE FUNCTION baton_require_admin() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = OLD.tenant_id AND role = 'admin')
    THEN
        RAISE EXCEPTION 'tenant % would be left without an admin', OLD.tenant_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'memberships_admin_required';
    END IF;
    RETURN NULL;
END
$$
"""

ADMIN_REQUIRED_TRIGGER = (
    "CREATE CONSTRAINT TRIGGER admin_required AFTER UPDATE OF role OR DELETE ON memberships "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION baton_require_admin()"
)

# A password change ends the actor's sessions in every tenant; RLS would confine a
# plain UPDATE to the current one. The function only touches the credentials of the
# user named by `baton.user_id`, which the request pipeline sets from the verified
# credential; it is only as trustworthy as the code that calls it.
REVOKE_OWN_CREDENTIALS_FUNCTION = f"""
CREATE FUNCTION baton_revoke_own_credentials(keep uuid) RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    WITH revoked AS (
        UPDATE access_tokens SET revoked_at = now()
        WHERE user_id = {CURRENT_USER_ID} AND revoked_at IS NULL
          AND id IS DISTINCT FROM keep
        RETURNING 1
    )
    SELECT count(*)::integer FROM revoked
$$
"""


# Authentication in one round trip (the floor every API call stands on): scope the
# transaction to the credential's tenant, find the live credential there — as the
# invoking app role, so RLS applies with the tenant just set — and, for its row
# only, set the actor and role. Unknown, expired or revoked: no row, no actor.
_CREDENTIAL_COLUMNS = """
        c.id, m.id, m.role::text, u.id, u.email::text, u.full_name::text,
        t.slug::text, t.name::text,
        set_config('baton.user_id', u.id::text, true),
        set_config('baton.role', m.role, true)"""

AUTHENTICATE_FUNCTION = f"""
CREATE FUNCTION baton_authenticate(p_tenant uuid, p_digest bytea, p_prefix text, p_request_id text)
RETURNS TABLE (credential_id uuid, membership_id uuid, role text, user_id uuid, email text,
               full_name text, tenant_slug text, tenant_name text, _user text, _role text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('baton.tenant_id', p_tenant::text, true),
            set_config('baton.request_id', coalesce(p_request_id, ''), true);
    IF p_prefix = 'bak' THEN
        RETURN QUERY SELECT {_CREDENTIAL_COLUMNS}
        FROM api_keys c
        JOIN memberships m ON m.tenant_id = c.tenant_id AND m.id = c.membership_id
        JOIN users u ON u.id = m.user_id
        JOIN tenants t ON t.id = c.tenant_id
        WHERE c.tenant_id = p_tenant AND c.key_hash = p_digest AND c.revoked_at IS NULL
          AND u.is_active;
    ELSE
        RETURN QUERY SELECT {_CREDENTIAL_COLUMNS}
        FROM access_tokens c
        JOIN memberships m ON m.tenant_id = c.tenant_id AND m.id = c.membership_id
        JOIN users u ON u.id = m.user_id
        JOIN tenants t ON t.id = c.tenant_id
        WHERE c.tenant_id = p_tenant AND c.token_hash = p_digest
          AND c.kind = CASE p_prefix WHEN 'bas' THEN 'session' ELSE 'bearer' END
          AND c.revoked_at IS NULL AND c.expires_at > now() AND u.is_active;
    END IF;
END
$$
"""


# UUIDv7 inside the database (PostgreSQL 15 has no uuidv7()): the 48-bit unix-ms
# timestamp over the front of a random v4, with the version nibble turned to 7.
UUID7_FUNCTION = """
CREATE FUNCTION baton_uuid7() RETURNS uuid
LANGUAGE sql VOLATILE AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid()) PLACING
                substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                          FROM 3)
                FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$
"""

# The workflow guard on every governed table (trigger argument: the entity type).
# - INSERT: the record starts at its workflow's initial step; history gets an entry.
# - UPDATE of step_id: only along a transition of the record's workflow, by a role
#   the transition allows, with a reason from its list (and notes for `other`);
#   the history row is written by the same statement.
# - UPDATE of workflow_id: only inside an explicit migration (baton.workflow_migration).
# The service passes reason, notes and fields in transaction-local settings
# (baton.transition_*) and checks everything first, with friendlier messages.
GOVERN_STEP_FUNCTION = """
CREATE FUNCTION baton_govern_step() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    conditions jsonb;
    from_position integer;
    to_position integer;
    moved_reason text := nullif(current_setting('baton.transition_reason', true), '');
    moved_notes text := nullif(current_setting('baton.transition_notes', true), '');
    moved_fields jsonb := coalesce(
        nullif(current_setting('baton.transition_fields', true), '')::jsonb, '{}'::jsonb);
    actor uuid := nullif(current_setting('baton.user_id', true), '')::uuid;
    actor_role text := coalesce(current_setting('baton.role', true), '');
    migrating boolean := coalesce(current_setting('baton.workflow_migration', true), '') = 'on';
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (
            SELECT 1 FROM workflow_steps s
            WHERE s.tenant_id = NEW.tenant_id AND s.workflow_id = NEW.workflow_id
              AND s.id = NEW.step_id AND (s.is_initial OR migrating)
        ) THEN
            RAISE EXCEPTION 'a new record starts at the initial step of its workflow'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'workflow_initial_step';
        END IF;
        NEW.entered_step_at := now();
        INSERT INTO workflow_history (tenant_id, id, entity_type, record_id, workflow_id,
            from_step_id, to_step_id, actor_id, reason, notes, fields, at,
            seconds_in_previous_step, backwards)
        VALUES (NEW.tenant_id, baton_uuid7(), TG_ARGV[0], NEW.id, NEW.workflow_id,
            NULL, NEW.step_id, actor, NULL, NULL, '{}'::jsonb, now(), NULL, false);
        RETURN NEW;
    END IF;

    IF NEW.workflow_id IS DISTINCT FROM OLD.workflow_id THEN
        IF NOT migrating THEN
            RAISE EXCEPTION 'a record changes workflow only through a workflow migration'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'workflow_migration_required';
        END IF;
        INSERT INTO workflow_history (tenant_id, id, entity_type, record_id, workflow_id,
            from_step_id, to_step_id, actor_id, reason, notes, fields, at,
            seconds_in_previous_step, backwards)
        VALUES (NEW.tenant_id, baton_uuid7(), TG_ARGV[0], NEW.id, NEW.workflow_id,
            OLD.step_id, NEW.step_id, actor, 'migration', moved_notes,
            jsonb_build_object('from_workflow_id', OLD.workflow_id), now(),
            extract(epoch FROM now() - OLD.entered_step_at), false);
        NEW.entered_step_at := now();
        RETURN NEW;
    END IF;

    IF NEW.step_id = OLD.step_id THEN
        NEW.entered_step_at := OLD.entered_step_at;
        RETURN NEW;
    END IF;

    SELECT t.conditions INTO conditions FROM workflow_transitions t
    WHERE t.tenant_id = NEW.tenant_id AND t.workflow_id = NEW.workflow_id
      AND t.from_step_id = OLD.step_id AND t.to_step_id = NEW.step_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no transition from step % to step % in this workflow',
            OLD.step_id, NEW.step_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'workflow_transition_required';
    END IF;
    IF jsonb_array_length(coalesce(conditions -> 'roles', '[]'::jsonb)) > 0
       AND NOT (conditions -> 'roles') ? actor_role THEN
        RAISE EXCEPTION 'role "%" may not take this transition', actor_role
            USING ERRCODE = 'check_violation', CONSTRAINT = 'workflow_transition_role';
    END IF;
    IF jsonb_array_length(coalesce(conditions -> 'reasons', '[]'::jsonb)) > 0
       AND (moved_reason IS NULL OR NOT (conditions -> 'reasons') ? moved_reason) THEN
        RAISE EXCEPTION 'this transition requires a reason from its list'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'workflow_transition_reason';
    END IF;
    IF moved_reason = 'other' AND moved_notes IS NULL THEN
        RAISE EXCEPTION 'the reason "other" requires notes'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'workflow_transition_notes';
    END IF;

    SELECT s.position INTO from_position FROM workflow_steps s
    WHERE s.tenant_id = NEW.tenant_id AND s.id = OLD.step_id;
    SELECT s.position INTO to_position FROM workflow_steps s
    WHERE s.tenant_id = NEW.tenant_id AND s.id = NEW.step_id;
    INSERT INTO workflow_history (tenant_id, id, entity_type, record_id, workflow_id,
        from_step_id, to_step_id, actor_id, reason, notes, fields, at,
        seconds_in_previous_step, backwards)
    VALUES (NEW.tenant_id, baton_uuid7(), TG_ARGV[0], NEW.id, NEW.workflow_id,
        OLD.step_id, NEW.step_id, actor, moved_reason, moved_notes, moved_fields, now(),
        extract(epoch FROM now() - OLD.entered_step_at), to_position < from_position);
    NEW.entered_step_at := now();
    RETURN NEW;
END
$$
"""


def attach_governance(table: str, entity_type: str) -> str:
    return (
        f"CREATE TRIGGER govern_step BEFORE INSERT OR UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION baton_govern_step('{entity_type}')"
    )


# A deal's outcome follows the step it is on: won on a `won` step, lost on a `lost`
# one, none elsewhere. Closing sets both in one UPDATE; anything else is refused,
# whoever sends the SQL.
DEAL_OUTCOME_FUNCTION = """
CREATE FUNCTION baton_deal_outcome() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    step_category text;
BEGIN
    SELECT st.category INTO step_category
    FROM workflow_steps s JOIN statuses st ON st.tenant_id = s.tenant_id AND st.id = s.status_id
    WHERE s.tenant_id = NEW.tenant_id AND s.id = NEW.step_id;
    IF NEW.outcome IS DISTINCT FROM
       (CASE WHEN step_category IN ('won', 'lost') THEN step_category END) THEN
        RAISE EXCEPTION 'a deal on a % step cannot have the outcome %',
            step_category, coalesce(NEW.outcome, 'none')
            USING ERRCODE = 'check_violation', CONSTRAINT = 'deal_outcome_matches_step';
    END IF;
    RETURN NEW;
END
$$
"""
ATTACH_DEAL_OUTCOME = (
    "CREATE TRIGGER deal_outcome BEFORE INSERT OR UPDATE OF step_id, outcome ON deals "
    "FOR EACH ROW EXECUTE FUNCTION baton_deal_outcome()"
)

# Account status (DESIGN §5), computed on every read and never stored. Days count in
# UTC. Tenure: prospect until the first won deal or ledger line; a new customer for
# 90 days from it; then a winback target once the last ledger line is 90 days old,
# else an active customer. Activity from the last ledger line: ≤ 30 days active,
# 31 to 89 passive, ≥ 90 inactive; none at all: no transaction. `security_invoker`
# makes the tables' row-level security apply to whoever reads the view.
ACCOUNT_STATUSES_VIEW = """
CREATE VIEW account_statuses WITH (security_invoker = true) AS
SELECT a.tenant_id,
       a.id AS account_id,
       ledger.first_on AS first_transaction_on,
       ledger.last_on AS last_transaction_on,
       won.first_won_on,
       since.customer_since,
       CASE
           WHEN since.customer_since IS NULL THEN 'prospect'
           WHEN today.d - since.customer_since <= 90 THEN 'new_customer'
           WHEN ledger.last_on IS NOT NULL AND today.d - ledger.last_on >= 90
               THEN 'winback_target'
           ELSE 'active_customer'
       END AS tenure,
       CASE
           WHEN ledger.last_on IS NULL THEN 'no_transaction'
           WHEN today.d - ledger.last_on <= 30 THEN 'active'
           WHEN today.d - ledger.last_on < 90 THEN 'passive'
           ELSE 'inactive'
       END AS activity
FROM accounts a
CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE 'UTC')::date AS d) today
LEFT JOIN LATERAL (
    SELECT min(t.occurred_on) AS first_on, max(t.occurred_on) AS last_on
    FROM account_transactions t
    WHERE t.tenant_id = a.tenant_id AND t.account_id = a.id
) ledger ON true
LEFT JOIN LATERAL (
    SELECT min((d.closed_at AT TIME ZONE 'UTC')::date) AS first_won_on
    FROM deals d
    WHERE d.tenant_id = a.tenant_id AND d.account_id = a.id
      AND d.outcome = 'won' AND d.deleted_at IS NULL
) won ON true
CROSS JOIN LATERAL (SELECT least(ledger.first_on, won.first_won_on) AS customer_since) since
"""

# Views the app role reads (granted by `migrate.grant_app_role`).
APP_VIEWS = ("account_statuses",)
