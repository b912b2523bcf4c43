"""SQL the webhook migrations emit.

The worker's pump belongs to no tenant, so RLS shows it nothing; it asks
`baton_webhook_tenants()` which organizations have work (an event not fanned out, a
delivery due) and then does each one's work in that organization's own transaction,
under RLS like a request. The function answers tenant ids only.
"""

from __future__ import annotations

WEBHOOK_TENANTS_FUNCTION = """
CREATE FUNCTION baton_webhook_tenants() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT DISTINCT tenant_id FROM outbox_events WHERE dispatched_at IS NULL
    UNION
    SELECT DISTINCT tenant_id FROM webhook_deliveries
     WHERE status IN ('pending', 'delivering') AND next_attempt_at <= now()
$$
"""

DROP_WEBHOOK_TENANTS_FUNCTION = "DROP FUNCTION IF EXISTS baton_webhook_tenants()"
