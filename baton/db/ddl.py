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
