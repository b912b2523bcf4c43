"""Fan-out and delivery: what the worker does with the outbox (`pump`).

For each organization with work (`baton_webhook_tenants()`), in that organization's
own transactions (RLS, role admin, as the sweeps):

1. **Dispatch**: events not fanned out yet are locked (`SKIP LOCKED`: two pumps never
   take the same one), their `data` read when the emitter left it out
   (`presenters`), and one `webhook_deliveries` row written per enabled endpoint
   subscribed to the type; the event is marked dispatched. An event no endpoint
   wants is only marked.
2. **Claim**: due deliveries are leased — locked `SKIP LOCKED`, their attempt counted
   and `next_attempt_at` moved `LEASE` ahead — and committed, so no other worker
   takes the same attempt while it runs; a worker killed mid-delivery leaves the
   lease to expire and the delivery is taken again (attempt + 1), with the same
   `webhook-id` (the event's id).
3. **Send**: each POST (Standard Webhooks headers, `signing`) to the checked address
   (`egress`), each endpoint's over up to 16 kept-alive connections (`Lanes`), no
   redirects, `BATON_WEBHOOK_TIMEOUT_SECONDS`.
4. **Record**: status, latency and a response excerpt in one statement, guarded by the
   attempt number (a lease that expired under a slow attempt cannot overwrite the
   newer one). A 2xx is delivered; anything else waits `RETRY_DELAYS` and is tried
   again, failed after the last. An endpoint failing for `DISABLE_AFTER` is disabled,
   its pending deliveries failed, and the organization's admins notified.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import select, text

from baton.config import Settings
from baton.core.context import Ctx
from baton.core.ids import uuid7
from baton.db.engine import Database
from baton.identity.models import Membership, Role
from baton.notifications.service import Notice, notify_each
from baton.webhooks import egress, signing
from baton.webhooks.models import MAX_EXCERPT, DeliveryStatus
from baton.webhooks.presenters import dispatcher_principal, present

log = structlog.get_logger("baton.webhooks")

# Waits after failed attempts 1, 2 … 7 (Standard Webhooks' usual schedule); the 8th
# failure is final: 27.6 hours of retries in all.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# An endpoint that has failed (without a success since) for this long is disabled.
DISABLE_AFTER = timedelta(days=3)
# Events fanned out, and deliveries leased, per transaction.
BATCH = 200
# POSTs in flight at once per endpoint and pump (its lanes: `Lanes`).
LANES_PER_ENDPOINT = 16

_DISPATCH_ROLE = Role.ADMIN.value

_PENDING_EVENTS = text(
    "SELECT id, type, subject_id, data, created_at FROM outbox_events"
    " WHERE dispatched_at IS NULL ORDER BY id LIMIT :batch FOR UPDATE SKIP LOCKED"
)
_ENDPOINTS = text("SELECT id, events FROM webhook_endpoints WHERE enabled")
_MARK_DISPATCHED = text(
    "UPDATE outbox_events e SET dispatched_at = now(), data = coalesce(e.data, d.data)"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:data AS jsonb[])) AS d(id, data)"
    " WHERE e.id = d.id"
)
_FAN_OUT = text(
    "INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id)"
    " SELECT CAST(:tenant_id AS uuid), d.id, d.endpoint_id, d.event_id"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:endpoints AS uuid[]), CAST(:events AS uuid[]))"
    " AS d(id, endpoint_id, event_id)"
)
_CLAIM = text(
    "UPDATE webhook_deliveries w SET status = 'delivering', attempts = w.attempts + 1,"
    " next_attempt_at = now() + make_interval(secs => :lease), last_attempt_at = now(),"
    " updated_at = now()"
    " FROM (SELECT id FROM webhook_deliveries"
    "        WHERE status IN ('pending', 'delivering') AND next_attempt_at <= now()"
    "        ORDER BY next_attempt_at LIMIT :batch FOR UPDATE SKIP LOCKED) due,"
    " webhook_endpoints p, outbox_events e"
    " WHERE w.id = due.id AND p.tenant_id = w.tenant_id AND p.id = w.endpoint_id"
    " AND e.tenant_id = w.tenant_id AND e.id = w.event_id"
    " RETURNING w.id, w.attempts AS attempt, w.endpoint_id, p.url, p.secret, p.enabled,"
    " e.id AS event_id, e.type, e.created_at, e.data"
)
_RECORD = text(
    "UPDATE webhook_deliveries w SET status = r.status, next_attempt_at = r.next_attempt_at,"
    " response_status = r.response_status, latency_ms = r.latency_ms,"
    " response_excerpt = r.excerpt, error = r.error,"
    " delivered_at = CASE WHEN r.status = 'delivered' THEN now() END, updated_at = now()"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[]), CAST(:statuses AS text[]),"
    " CAST(:next AS timestamptz[]), CAST(:codes AS integer[]), CAST(:latencies AS integer[]),"
    " CAST(:excerpts AS text[]), CAST(:errors AS text[]))"
    " AS r(id, attempt, status, next_attempt_at, response_status, latency_ms, excerpt, error)"
    " WHERE w.id = r.id AND w.attempts = r.attempt AND w.status = 'delivering'"
)
_HEALTHY = text(
    "UPDATE webhook_endpoints SET failing_since = NULL"
    " WHERE id = ANY(CAST(:ids AS uuid[])) AND failing_since IS NOT NULL"
)
_FAILING = text(
    "UPDATE webhook_endpoints SET failing_since = now()"
    " WHERE id = ANY(CAST(:ids AS uuid[])) AND failing_since IS NULL"
)
_DISABLE = text(
    "UPDATE webhook_endpoints SET enabled = false, version = version + 1, updated_at = now(),"
    " disabled_reason = 'Failing since ' || to_char(failing_since AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD HH24:MI') || ' UTC: disabled after 3 days of failures'"
    " WHERE id = ANY(CAST(:ids AS uuid[])) AND enabled"
    " AND failing_since <= now() - make_interval(secs => :after)"
    " RETURNING id, url"
)
_FAIL_PENDING = text(
    "UPDATE webhook_deliveries SET status = 'failed', error = :error, updated_at = now()"
    " WHERE endpoint_id = ANY(CAST(:ids AS uuid[])) AND status = 'pending'"
)


@dataclass
class PumpReport:
    dispatched: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    disabled: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    attempt: int
    endpoint_id: uuid.UUID
    url: str
    secret: str
    enabled: bool
    event_id: uuid.UUID
    type: str
    created_at: datetime
    data: Any


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status: int | None = None
    latency_ms: int | None = None
    excerpt: str | None = None
    error: str | None = None
    # No retry whatever the attempt (the endpoint is disabled).
    final: bool = False


def body_of(
    tenant_id: uuid.UUID, event_id: uuid.UUID, type: str, created_at: datetime, data: Any
) -> bytes:
    """The delivered body: the same bytes for every attempt of an event."""
    return json.dumps(
        {
            "id": str(event_id),
            "type": type,
            "created_at": created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "tenant_id": str(tenant_id),
            "data": data if data is not None else {},
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def new_client(settings: Settings, *, connections: int = 1) -> httpx.AsyncClient:
    """A client of `connections` kept-alive connections, TCP_NODELAY (a request's
    headers and body leave at once, not after the receiver's delayed ACK)."""
    transport = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        timeout=httpx.Timeout(settings.webhook_timeout_seconds),
        trust_env=False,
    )


class Lanes:
    """The pump's HTTP clients: per endpoint up to `LANES_PER_ENDPOINT` lanes, each a
    client of one kept-alive connection that sends its share of the batch one request
    after the other. httpcore's pool costs grow with the requests waiting in it (its
    assignment loop walks them all at every step): many small pools send several
    times as many webhooks a second as one big one (bench/webhooks.py)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clients: dict[tuple[uuid.UUID, int], httpx.AsyncClient] = {}

    def client(self, endpoint_id: uuid.UUID, lane: int) -> httpx.AsyncClient:
        key = (endpoint_id, lane)
        if key not in self.clients:
            self.clients[key] = new_client(self.settings)
        return self.clients[key]

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        self.clients.clear()


async def send(
    client: httpx.AsyncClient,
    settings: Settings,
    *,
    url: str,
    secret: str,
    message_id: str,
    body: bytes,
    resolved: dict[str, egress.Target] | None = None,
) -> Outcome:
    """POST one message; never raises for the receiver's sake (the outcome says)."""
    started = time.perf_counter()
    try:
        target = (resolved or {}).get(url)
        if target is None:
            target = await egress.resolve(url, allow_private=settings.webhook_allow_private)
            if resolved is not None:
                resolved[url] = target
        headers = signing.headers(secret, message_id, int(time.time()), body)
        headers["host"] = target.host_header
        extensions = {"sni_hostname": target.server_name} if target.server_name else None
        async with client.stream(
            "POST", target.request_url, content=body, headers=headers, extensions=extensions
        ) as response:
            excerpt = b""
            async for chunk in response.aiter_raw():
                excerpt += chunk
                if len(excerpt) >= MAX_EXCERPT:
                    break
        latency = round((time.perf_counter() - started) * 1000)
        text_excerpt = excerpt[:MAX_EXCERPT].decode(errors="replace")[:MAX_EXCERPT]
        ok = 200 <= response.status_code < 300
        return Outcome(
            delivered=ok,
            status=response.status_code,
            latency_ms=latency,
            excerpt=text_excerpt,
            error=None if ok else f"HTTP {response.status_code}",
        )
    except egress.Refused as refused:
        return Outcome(delivered=False, error=f"Refused: {refused}"[:500])
    except httpx.TimeoutException:
        latency = round((time.perf_counter() - started) * 1000)
        return Outcome(delivered=False, latency_ms=latency, error="Timed out")
    except httpx.HTTPError as error:
        latency = round((time.perf_counter() - started) * 1000)
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return Outcome(delivered=False, latency_ms=latency, error=message[:500])


def retry_at(attempt: int, now: datetime) -> datetime | None:
    """When a delivery whose attempt `attempt` failed is tried again; None: never."""
    if attempt >= MAX_ATTEMPTS:
        return None
    return now + RETRY_DELAYS[attempt - 1]


def _tenant_ctx(db: Database, settings: Settings, session: Any, tenant_id: uuid.UUID) -> Ctx:
    return Ctx(
        session=session,
        db=db,
        settings=settings,
        request_id="webhooks",
        principal=dispatcher_principal(tenant_id),
        tenant_id=tenant_id,
    )


async def dispatch(db: Database, settings: Settings, tenant_id: uuid.UUID) -> int:
    """Fan one batch of the organization's events out; answers how many events."""
    async with db.session_scope(
        tenant_id=tenant_id, role=_DISPATCH_ROLE, request_id="webhooks"
    ) as session:
        events = (await session.execute(_PENDING_EVENTS, {"batch": BATCH})).all()
        if not events:
            return 0
        endpoints = (await session.execute(_ENDPOINTS)).all()
        ctx = _tenant_ctx(db, settings, session, tenant_id)
        data: list[str | None] = []
        ids: list[uuid.UUID] = []
        fan_ids: list[uuid.UUID] = []
        fan_endpoints: list[uuid.UUID] = []
        fan_events: list[uuid.UUID] = []
        for event in events:
            wanting = [e.id for e in endpoints if "*" in e.events or event.type in e.events]
            payload = None
            if wanting and event.data is None:
                payload = json.dumps(await present(ctx, event.type, event.subject_id))
            ids.append(event.id)
            data.append(payload)
            for endpoint_id in wanting:
                fan_ids.append(uuid7())
                fan_endpoints.append(endpoint_id)
                fan_events.append(event.id)
        await session.execute(_MARK_DISPATCHED, {"ids": ids, "data": data})
        if fan_ids:
            await session.execute(
                _FAN_OUT,
                {
                    "tenant_id": tenant_id,
                    "ids": fan_ids,
                    "endpoints": fan_endpoints,
                    "events": fan_events,
                },
            )
        return len(events)


def lease_seconds(settings: Settings) -> float:
    """How long a claimed attempt is left to its worker: the POST's timeout and room
    to record it."""
    return settings.webhook_timeout_seconds + 20


async def claim(db: Database, settings: Settings, tenant_id: uuid.UUID) -> list[Claimed]:
    async with db.session_scope(
        tenant_id=tenant_id, role=_DISPATCH_ROLE, request_id="webhooks"
    ) as session:
        rows = (
            await session.execute(_CLAIM, {"lease": lease_seconds(settings), "batch": BATCH})
        ).all()
    return [Claimed(**row._mapping) for row in rows]


async def deliver_claimed(
    db: Database,
    settings: Settings,
    lanes: Lanes,
    tenant_id: uuid.UUID,
    claimed: Sequence[Claimed],
    report: PumpReport,
) -> None:
    """POST the claimed deliveries (each endpoint's over its lanes) and record them."""
    resolved: dict[str, egress.Target] = {}
    outcomes: dict[uuid.UUID, Outcome] = {}
    by_endpoint: dict[uuid.UUID, list[Claimed]] = {}
    for item in claimed:
        if item.enabled:
            by_endpoint.setdefault(item.endpoint_id, []).append(item)
        else:
            outcomes[item.id] = Outcome(
                delivered=False, error="The endpoint is disabled", final=True
            )

    async def lane(client: httpx.AsyncClient, items: Sequence[Claimed]) -> None:
        for item in items:
            body = body_of(tenant_id, item.event_id, item.type, item.created_at, item.data)
            outcomes[item.id] = await send(
                client,
                settings,
                url=item.url,
                secret=item.secret,
                message_id=str(item.event_id),
                body=body,
                resolved=resolved,
            )

    work = []
    for endpoint_id, items in by_endpoint.items():
        count = min(LANES_PER_ENDPOINT, len(items))
        for index in range(count):
            work.append(lane(lanes.client(endpoint_id, index), items[index::count]))
    await asyncio.gather(*work)
    await record(db, settings, tenant_id, claimed, [outcomes[i.id] for i in claimed], report)


async def record(
    db: Database,
    settings: Settings,
    tenant_id: uuid.UUID,
    claimed: Sequence[Claimed],
    outcomes: Sequence[Outcome],
    report: PumpReport,
) -> None:
    now = datetime.now(UTC)
    statuses: list[str] = []
    next_at: list[datetime] = []
    for item, outcome in zip(claimed, outcomes, strict=True):
        if outcome.delivered:
            statuses.append(DeliveryStatus.DELIVERED.value)
            next_at.append(now)
            report.delivered += 1
            continue
        report.failed_attempts += 1
        again = None if outcome.final else retry_at(item.attempt, now)
        statuses.append(DeliveryStatus.PENDING.value if again else DeliveryStatus.FAILED.value)
        next_at.append(again or now)
    healthy = sorted({i.endpoint_id for i, o in zip(claimed, outcomes, strict=True) if o.delivered})
    failing = sorted(
        {
            i.endpoint_id
            for i, o in zip(claimed, outcomes, strict=True)
            if not o.delivered and i.enabled
        }
        - set(healthy)
    )
    async with db.session_scope(
        tenant_id=tenant_id, role=_DISPATCH_ROLE, request_id="webhooks"
    ) as session:
        await session.execute(
            _RECORD,
            {
                "ids": [i.id for i in claimed],
                "attempts": [i.attempt for i in claimed],
                "statuses": statuses,
                "next": next_at,
                "codes": [o.status for o in outcomes],
                "latencies": [o.latency_ms for o in outcomes],
                "excerpts": [o.excerpt for o in outcomes],
                "errors": [o.error for o in outcomes],
            },
        )
        if healthy:
            await session.execute(_HEALTHY, {"ids": healthy})
        if failing:
            await session.execute(_FAILING, {"ids": failing})
            disabled = (
                await session.execute(
                    _DISABLE, {"ids": failing, "after": DISABLE_AFTER.total_seconds()}
                )
            ).all()
            if disabled:
                await _disable(_tenant_ctx(db, settings, session, tenant_id), disabled)
                report.disabled.extend(row.url for row in disabled)


async def _disable(ctx: Ctx, disabled: Sequence[Any]) -> None:
    """Fail what the disabled endpoints still had pending and tell every admin."""
    await ctx.session.execute(
        _FAIL_PENDING,
        {"ids": [row.id for row in disabled], "error": "The endpoint was disabled"},
    )
    admins = (
        await ctx.session.scalars(
            select(Membership.user_id).where(Membership.role == Role.ADMIN.value)
        )
    ).all()
    notices = [
        Notice(
            admin,
            f"Webhook endpoint {row.url} was disabled: its deliveries failed for 3 days."
            " Fix the receiver, then enable it again on the Webhooks page.",
        )
        for row in disabled
        for admin in admins
    ]
    await notify_each(ctx, notices)
    for row in disabled:
        log.warning("webhook endpoint disabled", endpoint_id=str(row.id), url=row.url)


async def pump(
    db: Database,
    settings: Settings,
    *,
    deadline_seconds: float = 50.0,
) -> PumpReport:
    """Dispatch and deliver everything due, organization by organization, until none
    is left or `deadline_seconds` passed (the next tick goes on)."""
    report = PumpReport()
    lanes = Lanes(settings)
    stop = time.monotonic() + deadline_seconds
    try:
        while time.monotonic() < stop:
            async with db.engine.connect() as conn:
                tenants = list(
                    (await conn.execute(text("SELECT baton_webhook_tenants()"))).scalars()
                )
            if not tenants:
                break
            progressed = False
            for tenant_id in tenants:
                dispatched = await dispatch(db, settings, tenant_id)
                report.dispatched += dispatched
                claimed = await claim(db, settings, tenant_id)
                if claimed:
                    await deliver_claimed(db, settings, lanes, tenant_id, claimed, report)
                progressed = progressed or bool(dispatched or claimed)
            if not progressed:
                # Locked by another pump, or not due yet after all.
                break
    finally:
        await lanes.aclose()
    return report
