"""SQL of the change trail's reading function, per revision.

`baton_audit_trail` (first in revision c4e7a9d2b816, which keeps its own copy) answers
one record's trail, or an admin the whole organization's. Since the invitation links
revision the whole organization's leaves out the rows of the tables whose every
change a security event already tells — credentials (`access_tokens`: a sign-in is
`login.ok` or `session.created`, a sign-out `logout`; `api_keys`: created, revoked)
and `invitations` (invited, resent, revoked, accepted): each is listed once, as its
event, not also as "Created access tokens". The rows stay in `audit_log`.
"""

from __future__ import annotations

# Told by their security events (above).
TOLD_BY_EVENTS = ("access_tokens", "api_keys", "invitations")

_TRAIL = """
CREATE OR REPLACE FUNCTION baton_audit_trail(
    p_table text, p_row uuid, p_actor uuid, p_from timestamptz, p_to timestamptz,
    p_before bigint, p_limit integer)
RETURNS SETOF audit_log
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT a.* FROM audit_log a
    WHERE a.tenant_id = nullif(current_setting('baton.tenant_id', true), '')::uuid
      AND ((p_table IS NOT NULL AND p_row IS NOT NULL)
           OR coalesce(current_setting('baton.role', true), '') = 'admin')
      AND (p_table IS NULL OR a.table_name = p_table)
      AND (p_row IS NULL OR a.row_id = p_row){extra}
      AND (p_actor IS NULL OR a.actor_user_id = p_actor)
      AND (p_from IS NULL OR a.at >= p_from)
      AND (p_to IS NULL OR a.at < p_to)
      AND {before}
    ORDER BY a.id DESC
    LIMIT least(greatest(coalesce(p_limit, 50), 1), 200)
$$
"""

_BEFORE_V1 = "(p_before IS NULL OR a.id < p_before)"
# Since revision 9fc1c45304ad: a bound the (tenant_id, id) index reads from. The
# function's plan is generic (its parameters unknown when planned), and with the
# OR it scanned from the newest entry down past every newer one: the page after
# 100 000 entries took 0.37 s, the whole trail in pages of 200 (an export) a minute.
_BEFORE = "a.id < coalesce(p_before, 9223372036854775807)"
TRAIL_FUNCTION_V1 = _TRAIL.format(extra="", before=_BEFORE_V1)
_TOLD = ", ".join(f"'{table}'" for table in TOLD_BY_EVENTS)
_UNTOLD_TABLES = f"a.table_name IS NULL OR a.table_name NOT IN ({_TOLD})"
_EXTRA = f"\n      AND (p_table IS NOT NULL OR {_UNTOLD_TABLES})"
TRAIL_FUNCTION_V2 = _TRAIL.format(extra=_EXTRA, before=_BEFORE_V1)
TRAIL_FUNCTION = _TRAIL.format(extra=_EXTRA, before=_BEFORE)
