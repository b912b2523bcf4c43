"""SQL for `tenants` and `users` under RLS, and the narrow doors around it.

`tenants` and `users` are global (one login may belong to several organizations),
so they cannot carry the inline `tenant_id` policy of tenant tables. Their policies
say instead what a member may see:

- `tenants`: the organization the transaction is scoped to (`baton.tenant_id`), and
  — while signing in, before a tenant is chosen — the organizations the login itself
  belongs to (through `memberships`' `membership_self` policy);
- `users`: the login itself (`baton.user_id`), and the members of the scoped
  organization (a membership visible under RLS). Every read of a colleague's name
  already joins `memberships`, so nothing the app shows changes.

RLS is ENABLEd but not FORCEd on both: the table owner — migrations, `baton doctor`,
backups, and the SECURITY DEFINER functions below — still sees every row, while the
app role sees only the above. What the app must do before a tenant is known goes
through those functions, each answering as little as its caller needs, owned by the
owner, with a fixed `search_path`, EXECUTE granted to the app role only
(`baton.db.migrate.grant_app_role`):

- `baton_login_lookup(email)`: the login's id, password hash and whether it is
  active — sign-in, before any tenant exists for the request;
- `baton_user_id_for_email(email)`: whether an email already has a login (and its
  id) — registration's "sign in instead", and an admin adding an existing login;
- `baton_create_login(email, full_name, password_hash)`: a new login, only for an
  admin scoped to an organization (the caller then adds the membership);
- `baton_taken_slugs(base)`: the organization slugs `base` would collide with;
- `baton_tenant_for_slug(slug)`: an organization's id by slug (the CLI, the demo);
- `baton_tenant_ids()`: every organization's id (a periodic sweep's fan-out).
"""

from __future__ import annotations

from baton.db.ddl import CURRENT_TENANT, CURRENT_USER_ID

POLICIES = (
    "ALTER TABLE tenants ENABLE ROW LEVEL SECURITY",
    f"CREATE POLICY tenant_isolation ON tenants USING (id = {CURRENT_TENANT})"
    f" WITH CHECK (id = {CURRENT_TENANT})",
    f"CREATE POLICY tenant_self ON tenants FOR SELECT USING ({CURRENT_TENANT} IS NULL"
    " AND EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = tenants.id))",
    "ALTER TABLE users ENABLE ROW LEVEL SECURITY",
    f"CREATE POLICY user_self ON users USING (id = {CURRENT_USER_ID})"
    f" WITH CHECK (id = {CURRENT_USER_ID})",
    "CREATE POLICY user_member ON users FOR SELECT"
    " USING (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id))",
)

DROP_POLICIES = (
    "DROP POLICY IF EXISTS tenant_isolation ON tenants",
    "DROP POLICY IF EXISTS tenant_self ON tenants",
    "ALTER TABLE tenants DISABLE ROW LEVEL SECURITY",
    "DROP POLICY IF EXISTS user_self ON users",
    "DROP POLICY IF EXISTS user_member ON users",
    "ALTER TABLE users DISABLE ROW LEVEL SECURITY",
)

_DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, public"

FUNCTIONS = (
    f"""
CREATE FUNCTION baton_login_lookup(p_email text)
RETURNS TABLE (user_id uuid, password_hash text, is_active boolean)
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT u.id, u.password_hash::text, u.is_active FROM users u WHERE u.email = p_email
$$
""",
    f"""
CREATE FUNCTION baton_user_id_for_email(p_email text) RETURNS uuid
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT u.id FROM users u WHERE u.email = p_email
$$
""",
    f"""
CREATE FUNCTION baton_create_login(p_email text, p_full_name text, p_password_hash text)
RETURNS uuid
LANGUAGE plpgsql {_DEFINER} AS $$
DECLARE
    created uuid := baton_uuid7();
BEGIN
    IF {CURRENT_TENANT} IS NULL
       OR current_setting('baton.role', true) IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only an organization''s admin adds a login'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO users (id, email, full_name, password_hash)
    VALUES (created, p_email, p_full_name, p_password_hash);
    RETURN created;
END
$$
""",
    f"""
CREATE FUNCTION baton_taken_slugs(p_base text) RETURNS SETOF text
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT t.slug::text FROM tenants t
    WHERE t.slug = p_base OR left(t.slug, length(p_base) + 1) = p_base || '-'
$$
""",
    f"""
CREATE FUNCTION baton_tenant_for_slug(p_slug text) RETURNS uuid
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT t.id FROM tenants t WHERE t.slug = p_slug
$$
""",
    f"""
CREATE FUNCTION baton_tenant_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT t.id FROM tenants t ORDER BY t.id
$$
""",
)

# Their signatures, for GRANT/REVOKE and DROP.
SIGNATURES = (
    "baton_login_lookup(text)",
    "baton_user_id_for_email(text)",
    "baton_create_login(text, text, text)",
    "baton_taken_slugs(text)",
    "baton_tenant_for_slug(text)",
    "baton_tenant_ids()",
)
