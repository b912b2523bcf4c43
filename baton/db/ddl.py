"""SQL that migrations emit for tenancy, RLS and audit.

Migrations call these builders so every table gets exactly the same policy text.
Treat the output as versioned: changing a builder changes only future migrations,
so a change here needs a migration that re-applies it to existing tables.
"""

from __future__ import annotations

from collections.abc import Callable

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
CREATE OR REPLACE FUNCTION baton_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    before_row jsonb;
    after_row jsonb;
    changed text[];
    redacted text;
BEGIN
    IF TG_OP <> 'INSERT' THEN before_row := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN after_row := to_jsonb(NEW); END IF;
    -- The changed columns from the row images taken once (the old image per column
    -- cost a third of a deal move), before any value is redacted: a changed secret
    -- is listed as changed.
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(array_agg(n.key ORDER BY n.key), '{}') INTO changed
        FROM jsonb_each(after_row) n
        WHERE n.value IS DISTINCT FROM before_row -> n.key;
    END IF;
    FOREACH redacted IN ARRAY coalesce(TG_ARGV, '{}'::text[]) LOOP
        IF before_row ? redacted THEN
            before_row := before_row || jsonb_build_object(redacted, '[redacted]');
        END IF;
        IF after_row ? redacted THEN
            after_row := after_row || jsonb_build_object(redacted, '[redacted]');
        END IF;
    END LOOP;
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
def _authenticate_function(
    name: str,
    *,
    local: bool,
    timezone: bool = True,
    locale: bool = True,
    second_factor: bool = True,
) -> str:
    """The authentication function; `local`: its settings end with the transaction,
    else they stay on the connection until the next call replaces every one of them
    (user and role emptied first, the transition settings too). `timezone`: it also
    answers the member's time zone (their own, else the organization's); without it,
    the function as revisions before `9d3f6a2c8e14` created it. `locale`: it also
    answers the organization's locale (revision `c4e8a1f6d2b9` on). `second_factor`:
    it also answers whether the member is an admin without two-factor sign-in in an
    organization that requires it (`baton.identity.enrolment`; revision
    `e2a7c4f9b1d3` on)."""
    scope = "true" if local else "false"
    zone_column = ", coalesce(m.timezone, s.timezone, 'UTC')::text" if timezone else ""
    zone_type = ", timezone text" if timezone else ""
    if locale:
        zone_column += ", coalesce(s.locale, 'en-US')::text"
        zone_type += ", locale text"
    if second_factor:
        zone_column += (
            ",\n        (m.role = 'admin' AND coalesce(s.require_admin_totp, false)"
            " AND u.totp_enabled_at IS NULL)"
        )
        zone_type += ", second_factor_due boolean"
    zone_join = (
        "\n        LEFT JOIN tenant_settings s ON s.tenant_id = c.tenant_id" if timezone else ""
    )
    columns = f"""
        c.id, m.id, m.role::text, u.id, u.email::text, u.full_name::text,
        t.slug::text, t.name::text{zone_column},
        set_config('baton.user_id', u.id::text, {scope}),
        set_config('baton.role', m.role, {scope})"""
    cleared = (
        ""
        if local
        else """
    PERFORM set_config('baton.user_id', '', false), set_config('baton.role', '', false),
            set_config('baton.transition_reason', '', false),
            set_config('baton.transition_notes', '', false),
            set_config('baton.transition_fields', '', false);"""
    )
    return f"""
CREATE FUNCTION {name}(p_tenant uuid, p_digest bytea, p_prefix text, p_request_id text)
RETURNS TABLE (credential_id uuid, membership_id uuid, role text, user_id uuid, email text,
               full_name text, tenant_slug text, tenant_name text{zone_type}, _user text,
               _role text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('baton.tenant_id', p_tenant::text, {scope}),
            set_config('baton.request_id', coalesce(p_request_id, ''), {scope});{cleared}
    IF p_prefix = 'bak' THEN
        RETURN QUERY SELECT {columns}
        FROM api_keys c
        JOIN memberships m ON m.tenant_id = c.tenant_id AND m.id = c.membership_id
        JOIN users u ON u.id = m.user_id
        JOIN tenants t ON t.id = c.tenant_id{zone_join}
        WHERE c.tenant_id = p_tenant AND c.key_hash = p_digest AND c.revoked_at IS NULL
          AND u.is_active;
    ELSE
        RETURN QUERY SELECT {columns}
        FROM access_tokens c
        JOIN memberships m ON m.tenant_id = c.tenant_id AND m.id = c.membership_id
        JOIN users u ON u.id = m.user_id
        JOIN tenants t ON t.id = c.tenant_id{zone_join}
        WHERE c.tenant_id = p_tenant AND c.token_hash = p_digest
          AND c.kind = CASE p_prefix WHEN 'bas' THEN 'session' ELSE 'bearer' END
          AND c.revoked_at IS NULL AND c.expires_at > now() AND u.is_active;
    END IF;
END
$$
"""


AUTHENTICATE_FUNCTION = _authenticate_function("baton_authenticate", local=True)
# As `c4e8a1f6d2b9` created it (time zone and locale, no second factor).
AUTHENTICATE_FUNCTION_V3 = _authenticate_function(
    "baton_authenticate", local=True, second_factor=False
)
# As `9d3f6a2c8e14` created it (the time zone alone): its migrations keep this text.
AUTHENTICATE_FUNCTION_V2 = _authenticate_function(
    "baton_authenticate", local=True, locale=False, second_factor=False
)
# As the foundation revision created it (no time zone): its migrations keep this text.
AUTHENTICATE_FUNCTION_V1 = _authenticate_function(
    "baton_authenticate", local=True, timezone=False, locale=False, second_factor=False
)
# The session-level variant the deal move used until `b7d2e9f4a1c6` dropped it (its
# settings outlived the call: unsafe behind a transaction pooler); migrations only.
AUTHENTICATE_SESSION_FUNCTION = _authenticate_function(
    "baton_authenticate_session", local=False, locale=False, second_factor=False
)
AUTHENTICATE_SESSION_FUNCTION_V1 = _authenticate_function(
    "baton_authenticate_session", local=False, timezone=False, locale=False, second_factor=False
)


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

# The workflow guard as the workflow engine revision created it (its migration keeps
# this text; GOVERN_STEP_FUNCTION below is the current one).
# The workflow guard on every governed table (trigger argument: the entity type).
# - INSERT: the record starts at its workflow's initial step; history gets an entry.
# - UPDATE of step_id: only along a transition of the record's workflow, by a role
#   the transition allows, with a reason from its list (and notes for `other`);
#   the history row is written by the same statement.
# - UPDATE of workflow_id: only inside an explicit migration (baton.workflow_migration).
# The service passes reason, notes and fields in transaction-local settings
# (baton.transition_*) and checks everything first, with friendlier messages.
GOVERN_STEP_FUNCTION_V1 = """
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


# The workflow guard on every governed table (trigger argument: the entity type).
# - INSERT: the record starts at its workflow's initial step; history gets an entry.
#   One exception (issue 16): a row an import batch writes may start at any open step
#   (not won or lost) — only when the row names the batch (`import_batch_id`), the
#   transaction names the same batch (baton.import_batch, set by the import job) and
#   that batch is running; its history row says reason `import`.
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
    importing text := nullif(current_setting('baton.import_batch', true), '');
    step_initial boolean;
    step_category text;
    imported boolean := false;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT s.is_initial, st.category INTO step_initial, step_category
        FROM workflow_steps s
        LEFT JOIN statuses st ON st.tenant_id = s.tenant_id AND st.id = s.status_id
        WHERE s.tenant_id = NEW.tenant_id AND s.workflow_id = NEW.workflow_id
          AND s.id = NEW.step_id;
        IF NOT step_initial AND NOT migrating AND importing IS NOT NULL THEN
            -- Not every governed table has the column: read it from the row's image.
            imported := to_jsonb(NEW) ->> 'import_batch_id' = importing
                AND coalesce(step_category, '') NOT IN ('won', 'lost')
                AND EXISTS (
                    SELECT 1 FROM import_batches b
                    WHERE b.tenant_id = NEW.tenant_id AND b.id = importing::uuid
                      AND b.status = 'running');
        END IF;
        IF step_initial IS NULL OR NOT (step_initial OR migrating OR imported) THEN
            RAISE EXCEPTION 'a new record starts at the initial step of its workflow'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'workflow_initial_step';
        END IF;
        NEW.entered_step_at := now();
        INSERT INTO workflow_history (tenant_id, id, entity_type, record_id, workflow_id,
            from_step_id, to_step_id, actor_id, reason, notes, fields, at,
            seconds_in_previous_step, backwards)
        VALUES (NEW.tenant_id, baton_uuid7(), TG_ARGV[0], NEW.id, NEW.workflow_id,
            NULL, NEW.step_id, actor, CASE WHEN imported THEN 'import' END, NULL,
            CASE WHEN imported THEN jsonb_build_object('import_batch_id', importing)
                 ELSE '{}'::jsonb END, now(), NULL, false);
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

# A record as it was at a past moment, rebuilt from its audit trail (DESIGN §3.3):
# the row image the last change at or before `p_at` left, NULL if the record did not
# exist then (or had been deleted). The app role may not read `audit_log`, so this
# runs as the owner, confined to the tenant of the transaction and to the tables
# whose history the API shows.
RECORD_AS_OF_FUNCTION = """
CREATE FUNCTION baton_record_as_of(p_table text, p_row uuid, p_at timestamptz) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT CASE WHEN a.action = 'delete' THEN NULL ELSE a.after END
    FROM audit_log a
    WHERE a.tenant_id = nullif(current_setting('baton.tenant_id', true), '')::uuid
      AND p_table IN ('accounts', 'deals')
      AND a.table_name = p_table AND a.row_id = p_row AND a.at <= p_at
    ORDER BY a.at DESC, a.id DESC
    LIMIT 1
$$
"""

# A lead's queue (`view`) follows from its step, never from the caller: by step key
# for the default lead workflow, else by the step's status category for steps an
# admin added. `qualified` never rests (qualifying hands over in the same
# transaction), so it counts as the pool.
LEAD_VIEW_FUNCTION = """
CREATE FUNCTION baton_lead_view() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    step_key text;
    step_category text;
BEGIN
    SELECT s.key, st.category INTO step_key, step_category
    FROM workflow_steps s JOIN statuses st ON st.tenant_id = s.tenant_id AND st.id = s.status_id
    WHERE s.tenant_id = NEW.tenant_id AND s.id = NEW.step_id;
    NEW.view := CASE
        WHEN step_key IN ('new', 'in_review') THEN 'inbox'
        WHEN step_key IN ('qualified', 'handed_over') THEN 'pool'
        WHEN step_key = 'claimed' THEN 'mine'
        WHEN step_key = 'nurture' THEN 'nurture'
        WHEN step_key = 'disqualified' THEN 'disqualified'
        WHEN step_key = 'converted' THEN 'converted'
        WHEN step_category = 'won' THEN 'converted'
        WHEN step_category = 'lost' THEN 'disqualified'
        WHEN step_category = 'parked' THEN 'nurture'
        ELSE 'inbox'
    END;
    RETURN NEW;
END
$$
"""
ATTACH_LEAD_VIEW = (
    "CREATE TRIGGER lead_view BEFORE INSERT OR UPDATE OF step_id ON leads "
    "FOR EACH ROW EXECUTE FUNCTION baton_lead_view()"
)

# No lead can vanish (seed 002): at every commit a live lead is in `lead_pool`
# exactly when its view is `pool`. Checked at commit (deferred), so a hand-over or a
# claim may move the lead and the pool row in either order inside its transaction.
# Every role that writes leads can see pooled leads, so a lead this check cannot see
# is not a pooled one.
LEAD_POOL_FUNCTION = """
CREATE FUNCTION baton_lead_pool_consistent() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    checked_tenant uuid;
    checked_lead uuid;
    in_pool_view boolean;
    pooled boolean;
BEGIN
    IF TG_TABLE_NAME = 'leads' THEN
        checked_tenant := NEW.tenant_id;
        checked_lead := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        checked_tenant := OLD.tenant_id;
        checked_lead := OLD.lead_id;
    ELSE
        checked_tenant := NEW.tenant_id;
        checked_lead := NEW.lead_id;
    END IF;
    SELECT l.view = 'pool' AND l.deleted_at IS NULL INTO in_pool_view
    FROM leads l WHERE l.tenant_id = checked_tenant AND l.id = checked_lead;
    pooled := EXISTS (
        SELECT 1 FROM lead_pool p WHERE p.tenant_id = checked_tenant AND p.lead_id = checked_lead
    );
    IF coalesce(in_pool_view, false) IS DISTINCT FROM pooled THEN
        RAISE EXCEPTION 'a lead is in the sales pool exactly when it is handed over'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'lead_pool_consistent';
    END IF;
    RETURN NULL;
END
$$
"""
ATTACH_LEAD_POOL = (
    "CREATE CONSTRAINT TRIGGER lead_pool_consistent AFTER INSERT OR UPDATE OF step_id, deleted_at"
    " ON leads DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
    " EXECUTE FUNCTION baton_lead_pool_consistent()",
    "CREATE CONSTRAINT TRIGGER lead_pool_consistent AFTER INSERT OR DELETE ON lead_pool"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION baton_lead_pool_consistent()",
)

_ROLE = "current_setting('baton.role', true)"

# Who sees which leads (DESIGN §5), on top of tenant isolation (restrictive: both
# must hold). Marketing works the inbox, nurture and disqualified lists and sees its
# leads reach the pool, never a claimed lead; sales sees the pool, its own leads and
# the leads it sent back to marketing (`rejected_by`), never the rest of the inbox;
# admins, managers and viewers see all. PostgreSQL checks the new row of an UPDATE
# that reads the table against this policy too, so every lead a role may move stays
# visible to it afterwards: that is why a rejection records its author. Viewers
# write nothing.
LEAD_POLICIES = (
    "CREATE POLICY lead_visibility ON leads AS RESTRICTIVE FOR ALL USING ("
    f"{_ROLE} IN ('admin', 'manager', 'viewer')"
    f" OR ({_ROLE} = 'marketing' AND view IN ('inbox', 'pool', 'nurture', 'disqualified'))"
    f" OR ({_ROLE} = 'sales' AND (view = 'pool' OR sales_owner_id = {CURRENT_USER_ID}"
    f" OR rejected_by = {CURRENT_USER_ID}))"
    ") WITH CHECK (true)",
    f"CREATE POLICY lead_no_viewer_insert ON leads AS RESTRICTIVE FOR INSERT"
    f" WITH CHECK ({_ROLE} IS DISTINCT FROM 'viewer')",
    f"CREATE POLICY lead_no_viewer_update ON leads AS RESTRICTIVE FOR UPDATE"
    f" USING ({_ROLE} IS DISTINCT FROM 'viewer')",
    f"CREATE POLICY lead_no_viewer_delete ON leads AS RESTRICTIVE FOR DELETE"
    f" USING ({_ROLE} IS DISTINCT FROM 'viewer')",
)


# The board's per-column counts and sums (`pipeline_column_totals`), kept exact on
# every write to deals, from the service or from hand-written SQL. A live deal counts
# in the row of its (workflow, step, currency) and of a shard taken from its id's
# last byte (random in a UUIDv7 or v4), so concurrent moves in one column mostly
# update different rows. Per statement, not per row: the transition tables give the
# old and new images of every deal the statement wrote, and one upsert adds the net
# change per row of totals. Per row, a bulk statement (an account delete, a workflow
# migration, a generated data set) would update the same few rows once per deal in
# one transaction, and each update walks the chain of versions the earlier ones left
# (quadratic: 100 000 deals took minutes). Rows are upserted in key order, so two
# statements crossing between the same columns lock them in the same order (no
# deadlock). The net change may be negative: hence no CHECK on the figures (the
# tests compare them with the deals). SECURITY INVOKER: RLS on the totals applies to
# the writer like any other insert.
PIPELINE_TOTALS_SHARDS = 8


def _totals_rows(image: str, sign: str) -> str:
    return (
        f"SELECT tenant_id, workflow_id, step_id, currency,"
        f" get_byte(uuid_send(id), 15) % {PIPELINE_TOTALS_SHARDS} AS shard,"
        f" {sign}1 AS n, {sign}(amount IS NOT NULL)::integer AS priced,"
        f" {sign}coalesce(amount, 0) AS total"
        f" FROM {image} WHERE deleted_at IS NULL"
    )


def _totals_function(name: str, changes: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pipeline_column_totals AS t (tenant_id, workflow_id, step_id, currency, shard,
        deal_count, amount_count, amount_total)
    SELECT tenant_id, workflow_id, step_id, currency, shard, sum(n), sum(priced), sum(total)
    FROM ({changes}) AS change
    GROUP BY tenant_id, workflow_id, step_id, currency, shard
    HAVING sum(n) <> 0 OR sum(priced) <> 0 OR sum(total) <> 0
    ORDER BY tenant_id, workflow_id, step_id, currency, shard
    ON CONFLICT (tenant_id, workflow_id, step_id, currency, shard) DO UPDATE
    SET deal_count = t.deal_count + excluded.deal_count,
        amount_count = t.amount_count + excluded.amount_count,
        amount_total = t.amount_total + excluded.amount_total;
    RETURN NULL;
END
$$
"""


# One function per event: a trigger with transition tables serves a single event, and
# a function may only name the transition tables its trigger declares.
PIPELINE_TOTALS_FUNCTIONS = (
    _totals_function("baton_pipeline_totals_insert", _totals_rows("new_deals", "")),
    _totals_function(
        "baton_pipeline_totals_update",
        f"{_totals_rows('old_deals', '-')} UNION ALL {_totals_rows('new_deals', '')}",
    ),
    _totals_function("baton_pipeline_totals_delete", _totals_rows("old_deals", "-")),
)
PIPELINE_TOTALS_TRIGGERS = (
    "CREATE TRIGGER pipeline_totals_insert AFTER INSERT ON deals"
    " REFERENCING NEW TABLE AS new_deals"
    " FOR EACH STATEMENT EXECUTE FUNCTION baton_pipeline_totals_insert()",
    "CREATE TRIGGER pipeline_totals_update AFTER UPDATE ON deals"
    " REFERENCING OLD TABLE AS old_deals NEW TABLE AS new_deals"
    " FOR EACH STATEMENT EXECUTE FUNCTION baton_pipeline_totals_update()",
    "CREATE TRIGGER pipeline_totals_delete AFTER DELETE ON deals"
    " REFERENCING OLD TABLE AS old_deals"
    " FOR EACH STATEMENT EXECUTE FUNCTION baton_pipeline_totals_delete()",
)
_EVENTS = ("insert", "update", "delete")
DROP_PIPELINE_TOTALS = (
    *(f"DROP TRIGGER IF EXISTS pipeline_totals_{event} ON deals" for event in _EVENTS),
    *(f"DROP FUNCTION IF EXISTS baton_pipeline_totals_{event}()" for event in _EVENTS),
)

# The totals of the deals already there when the table is created (one pass).
PIPELINE_TOTALS_BACKFILL = f"""
INSERT INTO pipeline_column_totals (tenant_id, workflow_id, step_id, currency, shard,
    deal_count, amount_count, amount_total)
SELECT tenant_id, workflow_id, step_id, currency,
    get_byte(uuid_send(id), 15) % {PIPELINE_TOTALS_SHARDS},
    count(*), count(amount), coalesce(sum(amount), 0)
FROM deals
WHERE deleted_at IS NULL
GROUP BY 1, 2, 3, 4, 5
"""


# The reports' rollup of open deals (`open_deal_totals`), kept exact like the board's
# totals: per (workflow, step, owner, currency, probability override, month of the
# expected close) the number of open, live deals and their amounts summed, so the
# pipeline and the forecast read a few hundred rows however many deals there are.
# A NULL probability is "the step's" (weighed at read time: a workflow edit changes
# no row); a NULL month is "no expected close". Per statement with transition tables,
# upserts in key order (see the board's totals above for why). Rows whose count fell
# to 0 stay until a rebuild; the reports skip them.
OPEN_DEAL_TOTALS_KEY = (
    "tenant_id, workflow_id, step_id, owner_id, currency, probability, close_month"
)


def _net_change_functions(
    prefix: str,
    rollup: str,
    key: str,
    measures: dict[str, str],
    rows: Callable[[str, str], str],
    table: str,
) -> tuple[str, str, str]:
    """The insert, update and delete statement-trigger functions of an exact rollup:
    the rows `rows(transition table, sign)` makes of the changed `table` rows (old
    ones negated), summed per `key` and added to `rollup` in key order (so two
    writers lock its rows in one order), each `measures` column from its change
    column."""
    columns = ", ".join(measures)
    sums = ", ".join(f"sum({change})" for change in measures.values())
    moved = " OR ".join(f"sum({change}) <> 0" for change in measures.values())
    added = ", ".join(f"{column} = t.{column} + excluded.{column}" for column in measures)
    new, old = f"new_{table}", f"old_{table}"

    def function(event: str, changes: str) -> str:
        return f"""
CREATE FUNCTION {prefix}_{event}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {rollup} AS t ({key}, {columns})
    SELECT {key}, {sums}
    FROM ({changes}) AS change
    GROUP BY {key}
    HAVING {moved}
    ORDER BY {key}
    ON CONFLICT ({key}) DO UPDATE
    SET {added};
    RETURN NULL;
END
$$
"""

    return (
        function("insert", rows(new, "")),
        function("update", f"{rows(old, '-')} UNION ALL {rows(new, '')}"),
        function("delete", rows(old, "-")),
    )


def _open_totals_rows(image: str, sign: str) -> str:
    return (
        f"SELECT tenant_id, workflow_id, step_id, owner_id, currency, probability,"
        f" date_trunc('month', expected_close_date)::date AS close_month,"
        f" {sign}1 AS n, {sign}coalesce(amount, 0) AS total"
        f" FROM {image} WHERE outcome IS NULL AND deleted_at IS NULL"
    )


OPEN_DEAL_TOTALS_FUNCTIONS = _net_change_functions(
    "baton_open_deal_totals",
    "open_deal_totals",
    OPEN_DEAL_TOTALS_KEY,
    {"deal_count": "n", "amount_total": "total"},
    _open_totals_rows,
    "deals",
)
OPEN_DEAL_TOTALS_TRIGGERS = (
    "CREATE TRIGGER open_deal_totals_insert AFTER INSERT ON deals"
    " REFERENCING NEW TABLE AS new_deals"
    " FOR EACH STATEMENT EXECUTE FUNCTION baton_open_deal_totals_insert()",
    "CREATE TRIGGER open_deal_totals_update AFTER UPDATE ON deals"
    " REFERENCING OLD TABLE AS old_deals NEW TABLE AS new_deals"
    " FOR EACH STATEMENT EXECUTE FUNCTION baton_open_deal_totals_update()",
    "CREATE TRIGGER open_deal_totals_delete AFTER DELETE ON deals"
    " REFERENCING OLD TABLE AS old_deals"
    " FOR EACH STATEMENT EXECUTE FUNCTION baton_open_deal_totals_delete()",
)
DROP_OPEN_DEAL_TOTALS = (
    *(f"DROP TRIGGER IF EXISTS open_deal_totals_{event} ON deals" for event in _EVENTS),
    *(f"DROP FUNCTION IF EXISTS baton_open_deal_totals_{event}()" for event in _EVENTS),
)

# The rollup recomputed from the deals: what the backfill inserts, what the doctor
# compares the stored rows with, and what a rebuild writes back.
OPEN_DEAL_TOTALS_RECOMPUTED = f"""
SELECT {OPEN_DEAL_TOTALS_KEY}, count(*) AS deal_count, coalesce(sum(amount), 0) AS amount_total
FROM (SELECT tenant_id, workflow_id, step_id, owner_id, currency, probability,
             date_trunc('month', expected_close_date)::date AS close_month, amount
      FROM deals WHERE outcome IS NULL AND deleted_at IS NULL) AS open_deal
GROUP BY {OPEN_DEAL_TOTALS_KEY}
"""
OPEN_DEAL_TOTALS_BACKFILL = (
    f"INSERT INTO open_deal_totals ({OPEN_DEAL_TOTALS_KEY}, deal_count, amount_total)"
    f" {OPEN_DEAL_TOTALS_RECOMPUTED}"
)
# One organization's rows written back from its deals (after deleting them).
OPEN_DEAL_TOTALS_REBUILD = (
    f"INSERT INTO open_deal_totals ({OPEN_DEAL_TOTALS_KEY}, deal_count, amount_total)"
    f" SELECT * FROM ({OPEN_DEAL_TOTALS_RECOMPUTED}) AS r WHERE tenant_id = :tenant"
)


# The ledger's rollups for the stage-conversion report (`workflow_move_days`,
# `step_duration_days`; baton/reports/models.py), kept like `open_deal_totals`: per
# statement on workflow_history, upserts in key order, rows at zero left until a
# rebuild. Days are UTC days of the move.
#
# Durations are bucketed at the precision the pages show them (`charts.duration`:
# whole seconds below a minute, minutes below an hour, tenths of an hour below a day,
# tenths of a day beyond, truncated), so a percentile read from cumulative bucket
# counts is the ledger's exact percentile at that precision. No upper bucket: past a
# day every tenth of a day is its own bucket (capped at ~31 million years so the
# bigint holds). A negative duration (a clock step back) counts as 0.
DURATION_FUNCTIONS = (
    """
CREATE FUNCTION baton_duration_bucket(seconds double precision) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN seconds < 60 THEN floor(greatest(seconds, 0))
                 WHEN seconds < 3600 THEN floor(seconds / 60) * 60
                 WHEN seconds < 86400 THEN floor(seconds / 360) * 360
                 ELSE floor(least(seconds, 1e15) / 8640) * 8640 END)::bigint
$$
""",
    """
CREATE FUNCTION baton_duration_coarse(bucket bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN bucket < 60 THEN 0
                WHEN bucket < 3600 THEN 60
                WHEN bucket < 86400 THEN bucket / 3600 * 3600
                ELSE bucket / 86400 * 86400 END
$$
""",
)
DROP_DURATION_FUNCTIONS = (
    "DROP FUNCTION IF EXISTS baton_duration_coarse(bigint)",
    "DROP FUNCTION IF EXISTS baton_duration_bucket(double precision)",
)

WORKFLOW_MOVE_DAYS_KEY = "tenant_id, workflow_id, day, from_step_id, to_step_id"
# Bucket before day: a percentile reads a few buckets of one step over the period.
STEP_DURATION_DAYS_KEY = "tenant_id, workflow_id, step_id, span, bucket, day"


def _move_rows(image: str, sign: str) -> str:
    return (
        f"SELECT tenant_id, workflow_id, (at AT TIME ZONE 'UTC')::date AS day, from_step_id,"
        f" to_step_id, {sign}1 AS n, {sign}backwards::integer AS back FROM {image}"
    )


def _duration_rows(image: str, sign: str) -> str:
    return (
        f"SELECT h.tenant_id, h.workflow_id, h.from_step_id AS step_id, b.span,"
        f" (h.at AT TIME ZONE 'UTC')::date AS day, b.bucket, {sign}1 AS n FROM {image} h"
        f" CROSS JOIN LATERAL (SELECT baton_duration_bucket(h.seconds_in_previous_step) AS fine) f"
        f" CROSS JOIN LATERAL (VALUES (0::smallint, f.fine),"
        f" (1::smallint, baton_duration_coarse(f.fine))) AS b(span, bucket)"
        f" WHERE h.from_step_id IS NOT NULL AND h.seconds_in_previous_step IS NOT NULL"
    )


def _moves_function(name: str, moves: str, durations: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO workflow_move_days AS t ({WORKFLOW_MOVE_DAYS_KEY}, moves, backwards)
    SELECT {WORKFLOW_MOVE_DAYS_KEY}, sum(n), sum(back)
    FROM ({moves}) AS change
    GROUP BY {WORKFLOW_MOVE_DAYS_KEY}
    HAVING sum(n) <> 0 OR sum(back) <> 0
    ORDER BY {WORKFLOW_MOVE_DAYS_KEY}
    ON CONFLICT ({WORKFLOW_MOVE_DAYS_KEY}) DO UPDATE
    SET moves = t.moves + excluded.moves, backwards = t.backwards + excluded.backwards;
    INSERT INTO step_duration_days AS t ({STEP_DURATION_DAYS_KEY}, moves)
    SELECT {STEP_DURATION_DAYS_KEY}, sum(n)
    FROM ({durations}) AS change
    GROUP BY {STEP_DURATION_DAYS_KEY}
    HAVING sum(n) <> 0
    ORDER BY {STEP_DURATION_DAYS_KEY}
    ON CONFLICT ({STEP_DURATION_DAYS_KEY}) DO UPDATE SET moves = t.moves + excluded.moves;
    RETURN NULL;
END
$$
"""


WORKFLOW_MOVES_FUNCTIONS = (
    _moves_function(
        "baton_workflow_moves_insert",
        _move_rows("new_history", ""),
        _duration_rows("new_history", ""),
    ),
    _moves_function(
        "baton_workflow_moves_update",
        f"{_move_rows('old_history', '-')} UNION ALL {_move_rows('new_history', '')}",
        f"{_duration_rows('old_history', '-')} UNION ALL {_duration_rows('new_history', '')}",
    ),
    _moves_function(
        "baton_workflow_moves_delete",
        _move_rows("old_history", "-"),
        _duration_rows("old_history", "-"),
    ),
)
WORKFLOW_MOVES_TRIGGERS = (
    "CREATE TRIGGER workflow_moves_insert AFTER INSERT ON workflow_history"
    " REFERENCING NEW TABLE AS new_history"
    " FOR EACH STATEMENT EXECUTE FUNCTION baton_workflow_moves_insert()",
    "CREATE TRIGGER workflow_moves_update AFTER UPDATE ON workflow_history"
    " REFERENCING OLD TABLE AS old_history NEW TABLE AS new_history"
    " FOR EACH STATEMENT EXECUTE FUNCTION baton_workflow_moves_update()",
    "CREATE TRIGGER workflow_moves_delete AFTER DELETE ON workflow_history"
    " REFERENCING OLD TABLE AS old_history"
    " FOR EACH STATEMENT EXECUTE FUNCTION baton_workflow_moves_delete()",
)
DROP_WORKFLOW_MOVES = (
    *(f"DROP TRIGGER IF EXISTS workflow_moves_{event} ON workflow_history" for event in _EVENTS),
    *(f"DROP FUNCTION IF EXISTS baton_workflow_moves_{event}()" for event in _EVENTS),
)

# The ledger's rollups recomputed from workflow_history: the backfill, the doctor's
# comparison and the rebuild.
WORKFLOW_MOVE_DAYS_RECOMPUTED = f"""
SELECT {WORKFLOW_MOVE_DAYS_KEY}, count(*) AS moves, count(*) FILTER (WHERE backwards) AS backwards
FROM (SELECT tenant_id, workflow_id, (at AT TIME ZONE 'UTC')::date AS day, from_step_id,
             to_step_id, backwards FROM workflow_history) AS move
GROUP BY {WORKFLOW_MOVE_DAYS_KEY}
"""
STEP_DURATION_DAYS_RECOMPUTED = f"""
SELECT {STEP_DURATION_DAYS_KEY}, count(*) AS moves
FROM ({_duration_rows("workflow_history", "")}) AS move
GROUP BY {STEP_DURATION_DAYS_KEY}
"""
WORKFLOW_MOVES_BACKFILL = (
    f"INSERT INTO workflow_move_days ({WORKFLOW_MOVE_DAYS_KEY}, moves, backwards)"
    f" {WORKFLOW_MOVE_DAYS_RECOMPUTED}",
    f"INSERT INTO step_duration_days ({STEP_DURATION_DAYS_KEY}, moves)"
    f" {STEP_DURATION_DAYS_RECOMPUTED}",
)
# One organization's rows written back from its ledger (after deleting them).
WORKFLOW_MOVES_REBUILD = (
    f"INSERT INTO workflow_move_days ({WORKFLOW_MOVE_DAYS_KEY}, moves, backwards)"
    f" SELECT * FROM ({WORKFLOW_MOVE_DAYS_RECOMPUTED}) AS r WHERE tenant_id = :tenant",
    f"INSERT INTO step_duration_days ({STEP_DURATION_DAYS_KEY}, moves)"
    f" SELECT * FROM ({STEP_DURATION_DAYS_RECOMPUTED}) AS r WHERE tenant_id = :tenant",
)


# The activity report's rollup (`activity_days`; baton/reports/models.py), kept like
# the others: per statement on activities, net change upserted in key order.
ACTIVITY_DAYS_KEY = "tenant_id, day, owner_id"


def _activity_rows(image: str, sign: str) -> str:
    return (
        f"SELECT tenant_id, (completed_at AT TIME ZONE 'UTC')::date AS day, owner_id,"
        f" {sign}1 AS done, 0 AS planned FROM {image}"
        f" WHERE status = 'done' AND deleted_at IS NULL AND type <> 'system'"
        f" AND completed_at IS NOT NULL"
        f" UNION ALL"
        f" SELECT tenant_id, (due_at AT TIME ZONE 'UTC')::date, owner_id, 0, {sign}1 FROM {image}"
        f" WHERE status = 'planned' AND deleted_at IS NULL AND due_at IS NOT NULL"
    )


ACTIVITY_DAYS_FUNCTIONS = _net_change_functions(
    "baton_activity_days",
    "activity_days",
    ACTIVITY_DAYS_KEY,
    {"done": "done", "planned": "planned"},
    _activity_rows,
    "activities",
)
ACTIVITY_DAYS_TRIGGERS = (
    "CREATE TRIGGER activity_days_insert AFTER INSERT ON activities"
    " REFERENCING NEW TABLE AS new_activities"
    " FOR EACH STATEMENT EXECUTE FUNCTION baton_activity_days_insert()",
    "CREATE TRIGGER activity_days_update AFTER UPDATE ON activities"
    " REFERENCING OLD TABLE AS old_activities NEW TABLE AS new_activities"
    " FOR EACH STATEMENT EXECUTE FUNCTION baton_activity_days_update()",
    "CREATE TRIGGER activity_days_delete AFTER DELETE ON activities"
    " REFERENCING OLD TABLE AS old_activities"
    " FOR EACH STATEMENT EXECUTE FUNCTION baton_activity_days_delete()",
)
DROP_ACTIVITY_DAYS = (
    *(f"DROP TRIGGER IF EXISTS activity_days_{event} ON activities" for event in _EVENTS),
    *(f"DROP FUNCTION IF EXISTS baton_activity_days_{event}()" for event in _EVENTS),
)
ACTIVITY_DAYS_RECOMPUTED = f"""
SELECT {ACTIVITY_DAYS_KEY}, sum(done) AS done, sum(planned) AS planned
FROM ({_activity_rows("activities", "")}) AS activity
GROUP BY {ACTIVITY_DAYS_KEY}
"""
ACTIVITY_DAYS_BACKFILL = (
    f"INSERT INTO activity_days ({ACTIVITY_DAYS_KEY}, done, planned) {ACTIVITY_DAYS_RECOMPUTED}"
)
ACTIVITY_DAYS_REBUILD = (
    f"INSERT INTO activity_days ({ACTIVITY_DAYS_KEY}, done, planned)"
    f" SELECT * FROM ({ACTIVITY_DAYS_RECOMPUTED}) AS r WHERE tenant_id = :tenant"
)
