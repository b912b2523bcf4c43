"""Domain events and signed webhooks: the transactional outbox, endpoints, delivery.

`events.emit` writes an event into `outbox_events` in the caller's transaction (the
deal move and close write theirs from their own statement, `events.outbox_cte`); the
worker's `delivery.pump` fans each event out to the organization's matching enabled
endpoints as `webhook_deliveries` rows and POSTs them, signed the Standard Webhooks
way (`signing`), to public addresses only (`egress`). `service`, `api` and `web`
let admins register endpoints, read the delivery log, redeliver and ping.
"""
