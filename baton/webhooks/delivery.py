"""Fan-out and delivery: what the worker does with the outbox (`pump`).

For each organization with work (`baton_webhook_tenants()`), in that organization's
own transactions (RLS, role admin, as the sweeps):

1. **Dispatch**: events not fanned out yet are locked (`SKIP LOCKED`: two pumps never
   take the same one), their `data` read when the emitter left it out
   (`presenters`), and one `webhook_deliveries` row written per enabled endpoint
   subscribed to the type; the event is marked dispatched. An event no endpoint
   wants is only marked.
2. **Claim**: due deliveries are leased — locked `SKIP LOCKED`, their attempt counted
   and `next_attempt_at` moved the lease (`lease_seconds`) ahead — and committed, so
   no other worker takes the same attempt while it runs; a worker killed
   mid-delivery leaves the lease to expire and the delivery is taken again
   (attempt + 1), with the same `webhook-id` (the event's id). An attempt is only
   started while its lease leaves the timeout and `RECORD_MARGIN_SECONDS`; one
   leased too long ago is released unsent, its attempt not counted.
3. **Send**: each POST (Standard Webhooks headers, `signing`) to the checked address
   (`egress`), each endpoint's over up to 16 kept-alive connections (`Lanes`), no
   redirects, the whole exchange within `BATON_WEBHOOK_TIMEOUT_SECONDS`.
4. **Record**: status, latency and a response excerpt in one statement, guarded by the
   attempt number (a lease that expired under a slow attempt cannot overwrite the
   newer one). A 2xx is delivered; anything else waits `RETRY_DELAYS` and is tried
   again, failed after the last. An endpoint failing for `DISABLE_AFTER` is disabled,
   its pending deliveries failed, and the organization's admins notified.

The steps overlap (`take_turn`): while one batch is sent, the next is fanned out and
claimed and the previous one recorded, so a backlog costs about 7 statements per 200
deliveries and the receivers are never left waiting on the database. An
organization's turn is at most `TURN_BATCHES` batches, then the next organization's.
"""

from __future__ import annotations

import asyncio
import functools
import json
import socket
import ssl
import time
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpcore
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
# Batches an organization sends in one turn before the next organization's (`pump`).
TURN_BATCHES = 10
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
# The due rows are locked first (`due`, materialized) and updated by primary key;
# the endpoint and event are joined to the updated rows only. Joined in one UPDATE …
# FROM, a table fresh from a burst (no statistics yet) made the planner walk every
# delivery of the endpoint for each due row: 0.23 s for a batch of 200 out of 2 000.
_CLAIM = text(
    "WITH due AS MATERIALIZED ("
    " SELECT ctid FROM webhook_deliveries"
    " WHERE status IN ('pending', 'delivering') AND next_attempt_at <= now()"
    " ORDER BY next_attempt_at LIMIT :batch FOR UPDATE SKIP LOCKED),"
    " leased AS ("
    " UPDATE webhook_deliveries w SET status = 'delivering', attempts = w.attempts + 1,"
    " next_attempt_at = now() + make_interval(secs => :lease), last_attempt_at = now(),"
    " updated_at = now()"
    " WHERE w.ctid = ANY(ARRAY(SELECT ctid FROM due))"
    " RETURNING w.tenant_id, w.id, w.attempts, w.endpoint_id, w.event_id)"
    " SELECT l.id, l.attempts AS attempt, l.endpoint_id, p.url, p.secret, p.enabled,"
    " e.id AS event_id, e.type, e.created_at, e.data"
    " FROM leased l"
    " JOIN webhook_endpoints p ON p.tenant_id = l.tenant_id AND p.id = l.endpoint_id"
    " JOIN outbox_events e ON e.tenant_id = l.tenant_id AND e.id = l.event_id"
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
# Leased but not sent (too little of the lease left to send it safely): due again
# at once, its attempt not counted. Guarded like `_RECORD`.
_RELEASE = text(
    "UPDATE webhook_deliveries w SET status = 'pending', attempts = w.attempts - 1,"
    " next_attempt_at = now(), updated_at = now()"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[])) AS r(id, attempt)"
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
    # Not sent: the lease was too close to its end (`send_batch`); due again at once.
    released: bool = False


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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # One for the process: building one (reading the CA bundle) costs ~30 ms, and every
    # lane would otherwise build its own, each pump.
    return httpx.create_ssl_context()


class _CoalescedStream(httpcore.AsyncNetworkStream):
    """A connection that holds what is written until the next read: a request's head
    and body (which httpcore writes one after the other) leave in one send, one
    segment and one wake-up of the receiver instead of two."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._pending: list[bytes] = []

    async def _flush(self, timeout: float | None) -> None:  # noqa: ASYNC109 - httpcore's interface
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            await self._stream.write(data, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109 - httpcore's interface
        self._pending.append(buffer)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 - httpcore's interface
        await self._flush(timeout)
        return await self._stream.read(max_bytes, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
    ) -> httpcore.AsyncNetworkStream:
        await self._flush(timeout)
        return _CoalescedStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _CoalescingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _CoalescedStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def new_connection() -> httpcore.AsyncConnectionPool:
    """One kept-alive connection (dropped after 5 s idle, as httpx's default), TLS
    verified, TCP_NODELAY (a request leaves at once, not after the receiver's delayed
    ACK), HTTP/1.1, no proxy, no redirects (httpcore follows none)."""
    return httpcore.AsyncConnectionPool(
        ssl_context=_tls_context(),
        max_connections=1,
        max_keepalive_connections=1,
        keepalive_expiry=5.0,
        network_backend=_CoalescingBackend(),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )


class Lanes:
    """The pump's connections: per endpoint up to `LANES_PER_ENDPOINT` lanes, each one
    kept-alive connection sending one request after the other, taking the endpoint's
    next claimed delivery as it is free. httpcore's pool costs grow with the requests
    waiting in it (its assignment loop walks them all at every step): many
    one-connection pools send several times as many webhooks a second as one big one.
    The lanes live as long as the pump: a batch reuses the previous one's connections."""

    def __init__(self) -> None:
        self.connections: dict[tuple[uuid.UUID, int], httpcore.AsyncConnectionPool] = {}
        # The checked address of each URL (`egress.resolve`), for the pump's duration.
        self.resolved: dict[str, tuple[egress.Target, httpcore.URL]] = {}

    def connection(self, endpoint_id: uuid.UUID, lane: int) -> httpcore.AsyncConnectionPool:
        key = (endpoint_id, lane)
        if key not in self.connections:
            self.connections[key] = new_connection()
        return self.connections[key]

    async def aclose(self) -> None:
        for connection in self.connections.values():
            await connection.aclose()
        self.connections.clear()


# What failing to reach a receiver raises (httpcore's exceptions, and what the TLS and
# socket layers may raise under them).
_SEND_ERRORS = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
    ssl.SSLError,
    OSError,
)


async def send(
    connection: httpcore.AsyncConnectionPool,
    settings: Settings,
    *,
    url: str,
    secret: str,
    message_id: str,
    body: bytes,
    resolved: dict[str, tuple[egress.Target, httpcore.URL]],
) -> Outcome:
    """POST one message; never raises for the receiver's sake (the outcome says).

    On httpcore, the HTTP engine under httpx: httpx's client and transport layers
    (cookies, auth, redirects, request and exception wrapping) cost more than half a
    delivery's CPU and do nothing for a webhook (a redirect is an answer like any
    other). The whole exchange, connecting included, is bounded by the timeout
    (httpcore's bounds each read, not their sum)."""
    started = time.perf_counter()
    timeout = settings.webhook_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            if url not in resolved:
                target = await egress.resolve(url, allow_private=settings.webhook_allow_private)
                resolved[url] = (target, httpcore.URL(target.request_url))
            target, request_url = resolved[url]
            headers = signing.headers(secret, message_id, int(time.time()), body)
            headers["host"] = target.host_header
            headers["content-length"] = str(len(body))
            extensions: dict[str, Any] = {
                "timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
            }
            if target.server_name:
                extensions["sni_hostname"] = target.server_name
            request = httpcore.Request(
                "POST",
                request_url,
                headers=list(headers.items()),
                content=body,
                extensions=extensions,
            )
            response = await connection.handle_async_request(request)
            try:
                excerpt = b""
                async for chunk in response.aiter_stream():
                    excerpt += chunk
                    if len(excerpt) >= MAX_EXCERPT:
                        break
            finally:
                await response.aclose()
        latency = round((time.perf_counter() - started) * 1000)
        text_excerpt = excerpt[:MAX_EXCERPT].decode(errors="replace")[:MAX_EXCERPT]
        ok = 200 <= response.status < 300
        return Outcome(
            delivered=ok,
            status=response.status,
            latency_ms=latency,
            excerpt=text_excerpt,
            error=None if ok else f"HTTP {response.status}",
        )
    except egress.Refused as refused:
        return Outcome(delivered=False, error=f"Refused: {refused}"[:500])
    except (httpcore.TimeoutException, TimeoutError):
        latency = round((time.perf_counter() - started) * 1000)
        return Outcome(delivered=False, latency_ms=latency, error="Timed out")
    except _SEND_ERRORS as error:
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


# An attempt is only started while this much of its lease is left beyond the POST's
# timeout, so it is recorded before the lease runs out: no other worker can take the
# same attempt while this one may still send it.
RECORD_MARGIN_SECONDS = 10.0


@dataclass(frozen=True)
class Batch:
    """Deliveries leased by one claim, and (on this process's clock) when the lease
    runs out: the claim's start plus the lease, never later than the database's."""

    items: list[Claimed]
    lease_ends: float


async def claim(db: Database, settings: Settings, tenant_id: uuid.UUID) -> Batch:
    lease = lease_seconds(settings)
    started = time.monotonic()
    async with db.session_scope(
        tenant_id=tenant_id, role=_DISPATCH_ROLE, request_id="webhooks"
    ) as session:
        rows = (await session.execute(_CLAIM, {"lease": lease, "batch": BATCH})).all()
    return Batch([Claimed(**row._mapping) for row in rows], started + lease)


async def send_batch(
    settings: Settings, lanes: Lanes, tenant_id: uuid.UUID, batch: Batch
) -> list[Outcome]:
    """POST the batch's deliveries, each endpoint's over its lanes; answers their
    outcomes in the batch's order. One too close to its lease's end is not sent."""
    outcomes: dict[uuid.UUID, Outcome] = {}
    queues: dict[uuid.UUID, deque[Claimed]] = {}
    for item in batch.items:
        if item.enabled:
            queues.setdefault(item.endpoint_id, deque()).append(item)
        else:
            outcomes[item.id] = Outcome(
                delivered=False, error="The endpoint is disabled", final=True
            )
    latest_start = batch.lease_ends - settings.webhook_timeout_seconds - RECORD_MARGIN_SECONDS

    async def lane(connection: httpcore.AsyncConnectionPool, queue: deque[Claimed]) -> None:
        while queue:
            item = queue.popleft()
            if time.monotonic() > latest_start:
                outcomes[item.id] = Outcome(delivered=False, released=True)
                continue
            body = body_of(tenant_id, item.event_id, item.type, item.created_at, item.data)
            outcomes[item.id] = await send(
                connection,
                settings,
                url=item.url,
                secret=item.secret,
                message_id=str(item.event_id),
                body=body,
                resolved=lanes.resolved,
            )

    await asyncio.gather(
        *(
            lane(lanes.connection(endpoint_id, index), queue)
            for endpoint_id, queue in queues.items()
            for index in range(min(LANES_PER_ENDPOINT, len(queue)))
        )
    )
    return [outcomes[item.id] for item in batch.items]


async def take_turn(
    db: Database,
    settings: Settings,
    lanes: Lanes,
    tenant_id: uuid.UUID,
    report: PumpReport,
    *,
    stop: float,
) -> bool:
    """One organization's turn: up to `TURN_BATCHES` rounds of fan-out (`dispatch`),
    claim, send and record, fewer when nothing is left or `stop` (monotonic) passed;
    answers whether there was anything to do. The turn ends so that one organization's
    backlog does not hold up the others' webhooks.

    Pipelined: the next batch is fanned out and claimed while one is sent, and a batch
    is recorded while the next one is sent, so the receivers are kept busy. Each claim
    is its own committed lease (`SKIP LOCKED`), each record its own transaction."""

    async def next_batch() -> Batch:
        report.dispatched += await dispatch(db, settings, tenant_id)
        return await claim(db, settings, tenant_id)

    dispatched_before = report.dispatched
    batch = await next_batch()
    claimed = 0
    following: asyncio.Task[Batch] | None = None
    recording: asyncio.Task[None] | None = None
    try:
        for turn_batch in range(TURN_BATCHES):
            if not batch.items:
                break
            claimed += len(batch.items)
            if turn_batch + 1 < TURN_BATCHES and time.monotonic() < stop:
                following = asyncio.create_task(next_batch())
            outcomes = await send_batch(settings, lanes, tenant_id, batch)
            if recording is not None:
                await recording
            recording = asyncio.create_task(
                record(db, settings, tenant_id, batch.items, outcomes, report)
            )
            if following is None:
                break
            batch, following = await following, None
    finally:
        # After a failure, what is still leased waits for its lease to run out.
        for task in (following, recording):
            if task is not None:
                await asyncio.gather(task, return_exceptions=task is following)
    return bool(claimed or report.dispatched > dispatched_before)


async def record(
    db: Database,
    settings: Settings,
    tenant_id: uuid.UUID,
    claimed: Sequence[Claimed],
    outcomes: Sequence[Outcome],
    report: PumpReport,
) -> None:
    now = datetime.now(UTC)
    pairs = [(i, o) for i, o in zip(claimed, outcomes, strict=True) if not o.released]
    released = [i for i, o in zip(claimed, outcomes, strict=True) if o.released]
    statuses: list[str] = []
    next_at: list[datetime] = []
    for item, outcome in pairs:
        if outcome.delivered:
            statuses.append(DeliveryStatus.DELIVERED.value)
            next_at.append(now)
            report.delivered += 1
            continue
        report.failed_attempts += 1
        again = None if outcome.final else retry_at(item.attempt, now)
        statuses.append(DeliveryStatus.PENDING.value if again else DeliveryStatus.FAILED.value)
        next_at.append(again or now)
    healthy = sorted({i.endpoint_id for i, o in pairs if o.delivered})
    failing = sorted(
        {i.endpoint_id for i, o in pairs if not o.delivered and i.enabled} - set(healthy)
    )
    async with db.session_scope(
        tenant_id=tenant_id, role=_DISPATCH_ROLE, request_id="webhooks"
    ) as session:
        if pairs:
            await session.execute(
                _RECORD,
                {
                    "ids": [i.id for i, _ in pairs],
                    "attempts": [i.attempt for i, _ in pairs],
                    "statuses": statuses,
                    "next": next_at,
                    "codes": [o.status for _, o in pairs],
                    "latencies": [o.latency_ms for _, o in pairs],
                    "excerpts": [o.excerpt for _, o in pairs],
                    "errors": [o.error for _, o in pairs],
                },
            )
        if released:
            await session.execute(
                _RELEASE,
                {"ids": [i.id for i in released], "attempts": [i.attempt for i in released]},
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
    lanes = Lanes()
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
                worked = await take_turn(db, settings, lanes, tenant_id, report, stop=stop)
                progressed = progressed or worked
            if not progressed:
                # Locked by another pump, or not due yet after all.
                break
    finally:
        await lanes.aclose()
    return report
