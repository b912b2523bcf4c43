"""The request's unit of work: the one place that commits.

For every API call and web page this middleware
1. bounds and buffers the request body (413 past `BATON_MAX_BODY_BYTES`),
2. opens one transaction and authenticates the caller inside it (bearer token or
   API key under /api, the session cookie elsewhere), which scopes the transaction
   to the caller's tenant for RLS and audit,
3. checks the per-credential API budget and, for cookie-authenticated unsafe
   requests, the CSRF token,
4. answers a repeated `Idempotency-Key` from the stored response,
5. runs the endpoint with its response buffered, and
6. commits before a single byte of a successful answer is sent; any error status
   or exception rolls everything back.
Side effects that must only happen after commit are therefore safe to send once
this returns.

One exception to step 5: a `StreamedResponse` (a download of a whole list, `baton.
exports`) only reads, inside the request's transaction, and its bytes go straight to
the client as they are made, so memory stays flat however long the file; the
transaction ends (it wrote nothing to commit) once the last byte is out.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

import asyncpg
import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baton.audit.models import SecurityEvent
from baton.audit.service import record_security_event
from baton.core import idempotency, rate_limit
from baton.core.context import Ctx
from baton.core.driver_transaction import NeedsSessionTransaction
from baton.core.errors import (
    Conflict,
    DatabaseUnavailable,
    DomainError,
    InternalError,
    Overloaded,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)
from baton.core.problems import (
    PROBLEM_JSON,
    database_unreachable,
    from_database_error,
    problem_body,
    problem_headers,
)
from baton.core.replica import READ_METHODS
from baton.core.runtime import Runtime
from baton.db.engine import set_transaction_context
from baton.identity import credentials, enrolment, queries
from baton.identity.credentials import CredentialPrefix

log = structlog.get_logger("baton.request")

SESSION_COOKIE = "baton_session"
ANONYMOUS_COOKIE = "baton_anon"
CSRF_HEADER = b"x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNTRANSACTED_PREFIXES = ("/static/", "/healthz", "/readyz", "/metrics")
_IDEMPOTENCY_HEADER = idempotency.HEADER.lower().encode()
# As long as SQLAlchemy's pool waits for a connection (its `pool_timeout`).
DRIVER_ACQUIRE_SECONDS = 30


# Set in the request's state by a `StreamedResponse` as it starts: its bytes pass
# through instead of being buffered.
STREAMED = "baton_streamed"


class StreamedResponse(StreamingResponse):
    """A read-only answer sent as it is made (`RequestTransaction` passes it through
    unbuffered, the request's transaction open until its last byte). Only for GETs
    that write nothing: there is no commit before the first byte."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})[STREAMED] = True
        try:
            await super().__call__(scope, receive, send)
        finally:
            # A client that left stops the stream at its `yield`: closing the body now
            # ends what it reads on the request's connection before the transaction
            # ends (garbage collection would close it later, too late).
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                await close()


@dataclass
class BufferedResponse:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    # A streamed answer already went out (or started to): nothing is left to send.
    streamed: bool = False

    async def send(self, send: Send) -> None:
        if self.streamed:
            return
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": bytes(self.body)})

    def header(self, name: bytes) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value.decode("latin-1")
        return None


def headers_of(scope: Scope) -> dict[bytes, bytes]:
    return {key.lower(): value for key, value in scope["headers"]}


def cookies_of(headers: dict[bytes, bytes]) -> dict[str, str]:
    raw = headers.get(b"cookie")
    if not raw:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except CookieError:
        return {}  # a mangled Cookie header means no usable cookies, not a 500
    return {name: morsel.value for name, morsel in jar.items()}


# A GraphQL operation that answered errors sets this in the request state: the unit
# of work rolls back as for an error status (`baton.graphql.api`).
ROLLBACK_FLAG = "rollback"


def is_api(scope: Scope) -> bool:
    """The API's paths: bearer credentials, no cookies, problem+json (GraphQL too)."""
    path = scope["path"]
    return bool(path.startswith("/api/") or path == "/graphql")


class RequestTransaction:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNTRANSACTED_PREFIXES):
            await self.app(scope, receive, send)
            return
        runtime: Runtime = scope["app"].state.runtime
        state = scope.setdefault("state", {})
        headers = headers_of(scope)
        try:
            body = await _read_body(receive, headers, _body_limit(scope, runtime))
        except PayloadTooLarge as error:
            await _error_response(error, scope).send(send)
            return
        response = None
        attempted = _runs_on_driver(scope, runtime, headers, body)
        if attempted:
            response = await self._handle_on_driver(scope, runtime, state, headers, body)
        if response is None:
            # The transactional way; after a declined driver-transaction attempt (it wrote
            # nothing), without counting the call against the budget again.
            response = await self._handle(
                scope, runtime, state, headers, body, attempted, receive, send
            )
        if state.get(STREAMED):
            # A stream that failed after its first byte: the client sees a cut-off
            # body (no error can follow the bytes already sent).
            response.streamed = True
        ctx = state.get("ctx")
        if isinstance(ctx, Ctx):
            # The request's connection is back in the pool: refusals' audit rows and
            # failure counts are written now, on their own.
            await ctx.run_durable()
        await response.send(send)

    async def _handle(
        self,
        scope: Scope,
        runtime: Runtime,
        state: dict[str, object],
        headers: dict[bytes, bytes],
        body: bytes,
        counted: bool,
        receive: Receive,
        send: Send,
    ) -> BufferedResponse:
        cookies = cookies_of(headers)
        session = await _session_for(scope, runtime)
        try:
            ctx = _new_ctx(scope, runtime, state, headers, session)
            try:
                parsed = _presented_credential(scope, headers, cookies)
                if is_api(scope) and parsed is not None and not counted:
                    await _authenticate_within_budget(ctx, runtime, scope, parsed)
                else:
                    await _authenticate(ctx, scope, parsed)
                if scope["method"] in UNSAFE_METHODS and not is_api(scope):
                    session_credential = parsed if ctx.principal is not None else None
                    _check_csrf(runtime, session_credential, cookies, headers, body)
                if ctx.principal is not None and not is_api(scope) and b"hx-request" not in headers:
                    await _load_page_context(runtime, ctx, state)
                key = _idempotency_key(scope, headers, ctx)
                fingerprint = b""
                if key is not None:
                    fingerprint = idempotency.request_fingerprint(
                        scope["method"], scope["path"], scope.get("query_string", b""), body
                    )
                    stored = await idempotency.claim(ctx, key, fingerprint)
                    if stored is not None:
                        await session.rollback()
                        return _replay(stored)
                response = await self._run(scope, body, receive, send)
                if response.streamed:
                    # Read only, by contract: nothing to commit. A client gone
                    # mid-stream cancelled the reads, so the transaction may be
                    # unusable: it ends here either way.
                    await session.rollback()
                    return response
                if response.status >= 400 or state.get(ROLLBACK_FLAG):
                    await session.rollback()
                    return response
                if key is not None and response.status < 300:
                    await idempotency.store(
                        ctx,
                        key,
                        fingerprint,
                        _storable(response),
                        runtime.settings.idempotency_ttl_hours,
                    )
                await session.commit()
                return response
            except Exception as error:
                await _rollback_after(session, error)
                return await _failed(ctx, scope, error)
            except BaseException:
                await session.rollback()
                raise
        finally:
            # A commit or rollback has returned the connection to the pool already;
            # closing then would only cost another greenlet hop (a fresh frame stack).
            if session.in_transaction():
                await session.close()

    async def _handle_on_driver(
        self,
        scope: Scope,
        runtime: Runtime,
        state: dict[str, object],
        headers: dict[bytes, bytes],
        body: bytes,
    ) -> BufferedResponse | None:
        """The request in a transaction on a connection of the driver's pool, without
        SQLAlchemy's session (`baton.core.driver_transaction`); None when the endpoint declined
        before writing anything, for the session's way to run it again."""
        try:
            pool = await runtime.db.driver_transaction_pool()
            connection = await pool.acquire(timeout=DRIVER_ACQUIRE_SECONDS)
        except Exception:
            # The transactional way answers as it does when the database is away.
            log.warning("no driver-transaction connection", path=scope["path"], exc_info=True)
            return None
        transaction = connection.transaction()
        try:
            ctx = _new_ctx(scope, runtime, state, headers, runtime.db.refusing_sessions())
            ctx.driver_connection = connection
            try:
                parsed = _presented_credential(scope, headers, {})
                if parsed is not None:
                    await _authenticate_within_budget(
                        ctx, runtime, scope, parsed, begin=transaction.start
                    )
                else:
                    await transaction.start()
                response = await self._run(scope, body)
                if response.status >= 400 or state.get(ROLLBACK_FLAG):
                    await transaction.rollback()
                else:
                    await transaction.commit()
                return response
            except NeedsSessionTransaction:
                await _end(transaction)
                return None
            except (asyncpg.InterfaceError, asyncpg.InternalClientError) as error:
                await _end(transaction)
                if isinstance(error, asyncpg.DataError):  # a bad argument: our bug, a 500
                    return await _failed(ctx, scope, error)
                return _lost_connection(connection, scope, error)
            except Exception as error:
                await _end(transaction)
                return await _failed(ctx, scope, error)
            except BaseException:
                await _end(transaction)
                raise
        finally:
            await pool.release(connection)

    async def _run(
        self,
        scope: Scope,
        body: bytes,
        receive: Receive | None = None,
        send: Send | None = None,
    ) -> BufferedResponse:
        """The endpoint's answer, buffered; a `StreamedResponse` goes out through
        `send` as it is made (when given: the transactional way only)."""
        response = BufferedResponse()
        delivered = False
        state = scope.setdefault("state", {})

        async def replay_receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            if state.get(STREAMED) and receive is not None:
                # A stream listens for the client going away: the real disconnect.
                return await receive()
            return {"type": "http.disconnect"}

        async def capture(message: Message) -> None:
            if response.streamed and send is not None:
                await send(message)
            elif message["type"] == "http.response.start":
                response.status = message["status"]
                response.headers = list(message.get("headers", []))
                if state.get(STREAMED) and send is not None:
                    response.streamed = True
                    await send(message)
            elif message["type"] == "http.response.body":
                response.body.extend(message.get("body", b""))

        await self.app(scope, replay_receive, capture)
        return response


async def _load_page_context(runtime: Runtime, ctx: Ctx, state: dict[str, object]) -> None:
    """What the layout of a whole page shows besides the page (`Runtime.page_loaders`),
    for `render` to find in the request's state."""
    page_context: dict[str, object] = {}
    for load in runtime.page_loaders:
        page_context.update(await load(ctx))
    state["page_context"] = page_context


def _runs_on_driver(
    scope: Scope, runtime: Runtime, headers: dict[bytes, bytes], body: bytes
) -> bool:
    """An API write to a route marked `@driver_transaction_route`, with a body it
    takes there, without an Idempotency-Key."""
    return (
        scope["method"] in UNSAFE_METHODS
        and is_api(scope)
        and _IDEMPOTENCY_HEADER not in headers
        and any(
            path.match(scope["path"]) and accepts(body)
            for path, accepts in runtime.driver_transaction_paths
        )
    )


async def _session_for(scope: Scope, runtime: Runtime) -> AsyncSession:
    """The request's unit of work: on the replica for a read that tolerates lag while
    the replica gives connections, else on the primary."""
    db = runtime.db
    if (
        db.replica_sessions is not None
        and db.replica_available()
        and _reads_from_replica(scope, runtime)
    ):
        replica = db.replica_sessions()
        try:
            # Connect now, so a replica that is down costs this request nothing but
            # the attempt: the primary serves it.
            await replica.connection()
            return replica
        except Exception:
            await replica.close()
            db.replica_failed()
            log.warning("replica unreachable: reading from the primary", exc_info=True)
    return db.sessions()


def _reads_from_replica(scope: Scope, runtime: Runtime) -> bool:
    """A read of a route that tolerates lag (`baton.core.replica`)."""
    return scope["method"] in READ_METHODS and any(
        path.match(scope["path"]) for path in runtime.replica_paths
    )


def _new_ctx(
    scope: Scope,
    runtime: Runtime,
    state: dict[str, object],
    headers: dict[bytes, bytes],
    session: AsyncSession,
) -> Ctx:
    client = scope.get("client")
    ctx = Ctx(
        session=session,
        db=runtime.db,
        settings=runtime.settings,
        request_id=str(state["request_id"]),
        client_address=client[0] if client else None,
        user_agent=headers.get(b"user-agent", b"").decode("latin-1")[:400] or None,
    )
    state["ctx"] = ctx
    return ctx


async def _rollback_after(session: AsyncSession, error: Exception) -> None:
    """Roll back after `error`. When the database went away, so did the transaction:
    a rollback that fails then changes nothing, and the answer is about `error`."""
    try:
        await session.rollback()
    except Exception as failed:
        if not (database_unreachable(error) or database_unreachable(failed)):
            raise


async def _failed(ctx: Ctx, scope: Scope, error: Exception) -> BufferedResponse:
    """The answer to a request that failed, once whatever it wrote is rolled back."""
    if isinstance(error, DomainError):
        if isinstance(error, enrolment.EnrolmentRequired) and _is_page(scope):
            # A page an admin may not see before enrolling: the enrolment page instead.
            return BufferedResponse(303, [(b"location", enrolment.ENROLMENT_PAGE.encode())])
        if isinstance(error, PermissionDenied):
            await record_security_event(
                ctx,
                SecurityEvent.PERMISSION_DENIED,
                details={"path": scope["path"], "reason": error.detail},
                survive_rollback=True,
            )
        return _error_response(error, scope)
    if isinstance(error, PoolTimeout):
        log.warning("database pool exhausted", path=scope["path"])
        return _error_response(Overloaded(), scope)
    if database_unreachable(error):
        # Restarting, failing over or cut connections: worth a retry, not a bug.
        log.warning("database unreachable", path=scope["path"], error=repr(error))
        return _error_response(DatabaseUnavailable(), scope)
    if isinstance(error, DBAPIError):
        # A constraint enforced at commit (deferred triggers) or a race.
        translated = from_database_error(error)
        if translated is None:
            log.exception("database error", path=scope["path"])
            translated = InternalError()
        return _error_response(translated, scope)
    # Answered here, inside the envelope, so even a 500 carries the request id and
    # security headers; nothing was committed.
    log.exception("unhandled error", path=scope["path"])
    return _error_response(InternalError(), scope)


def _lost_connection(
    connection: asyncpg.Connection, scope: Scope, error: Exception
) -> BufferedResponse:
    """The answer when the driver's connection broke under the request: 503, as for any
    database that cannot be reached, and the connection closed so its pool makes a new one.

    asyncpg does not say "the server cut this connection" in one way: the pool detaches
    a connection that closed mid-request ("released back to the pool"), and one that
    still reads the server's farewell — a restart's or `pg_terminate_backend`'s FATAL,
    arriving while it sat idle in the pool — refuses the next statement ("another
    operation is in progress"). The soak saw both (docs/benchmarks.md); they were 500s.
    Logged with the traceback: these errors can also mean a misused connection.
    """
    log.warning("driver connection lost", path=scope["path"], exc_info=error)
    with contextlib.suppress(Exception):
        connection.terminate()
    return _error_response(DatabaseUnavailable(), scope)


async def _end(transaction: asyncpg.transaction.Transaction) -> None:
    """Roll the driver's transaction back unless it has ended already (a failed
    commit ends it) or never started; a connection left inside one is reset by its
    pool (`baton.db.engine`)."""
    with contextlib.suppress(Exception):
        await transaction.rollback()


# Uploads of import files may be as large as `BATON_IMPORT_MAX_BYTES` (plus the
# multipart envelope); the service answers 413 for a file past it in words.
UPLOAD_PATHS = frozenset({"/api/v1/imports", "/imports"})
MULTIPART_OVERHEAD = 64 * 1024


def _body_limit(scope: Scope, runtime: Runtime) -> int:
    settings = runtime.settings
    if scope["method"] == "POST" and scope["path"] in UPLOAD_PATHS:
        return max(settings.max_body_bytes, settings.import_max_bytes + MULTIPART_OVERHEAD)
    return settings.max_body_bytes


async def _read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body exceeds {limit} bytes")
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.extend(message.get("body", b""))
        if len(chunks) > limit:
            raise PayloadTooLarge(f"The request body exceeds {limit} bytes")
        if not message.get("more_body", False):
            break
    return bytes(chunks)


def _idempotency_key(scope: Scope, headers: dict[bytes, bytes], ctx: Ctx) -> str | None:
    """The validated key of an authenticated unsafe request, if it carries one."""
    raw = headers.get(idempotency.HEADER.encode())
    if raw is None or scope["method"] not in UNSAFE_METHODS or ctx.principal is None:
        return None
    return idempotency.validate_key(raw.decode("latin-1"))


def _presented_credential(
    scope: Scope, headers: dict[bytes, bytes], cookies: dict[str, str]
) -> credentials.ParsedCredential | None:
    if is_api(scope):
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value:
            return None
        parsed = credentials.parse(value.strip())
        if parsed is None or parsed.prefix is CredentialPrefix.SESSION:
            raise Unauthenticated("The access token is malformed")
        return parsed
    raw = cookies.get(SESSION_COOKIE)
    parsed = credentials.parse(raw) if raw else None
    if parsed is None or parsed.prefix is not CredentialPrefix.SESSION:
        return None
    return parsed


async def _authenticate_within_budget(
    ctx: Ctx,
    runtime: Runtime,
    scope: Scope,
    parsed: credentials.ParsedCredential,
    *,
    begin: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Authenticate an API call and count it against the credential's budget.

    The count runs on its own autocommit connection while the request's transaction
    authenticates, so the two round trips overlap instead of adding up. Over budget
    wins over a refused credential (429 before 401), as if counted first.

    Behind a transaction pooler (`Database.pooled`) the count comes first instead: a
    transaction holds its server connection, and one waiting for a second (the
    count's) while every server connection is held that way would wait forever.
    `begin` starts the request's transaction (on the driver), after the count then.
    """
    bucket = f"api:{parsed.digest.hex()[:32]}"
    counted = asyncio.create_task(
        rate_limit.hit(runtime.db, bucket, runtime.settings.api_rate_per_minute)
    )
    if runtime.db.pooled:
        await asyncio.wait([counted])
    try:
        if begin is not None:
            await begin()
        await _authenticate(ctx, scope, parsed)
    except DomainError:
        await _refuse_over_budget(ctx, parsed, await counted)
        raise
    except BaseException:
        counted.cancel()
        with contextlib.suppress(BaseException):
            await counted
        raise
    await _refuse_over_budget(ctx, parsed, await counted)


async def _refuse_over_budget(
    ctx: Ctx, parsed: credentials.ParsedCredential, wait: int | None
) -> None:
    if wait is None:
        return
    # The event goes to the tenant the credential proved, or to no tenant's log when
    # it proved nothing (the tenant in it is then only a claim, recorded as such).
    await record_security_event(
        ctx,
        SecurityEvent.RATE_LIMITED,
        details={"scope": "api", "claimed_tenant": str(parsed.tenant_id), "retry_after": wait},
        survive_rollback=True,
    )
    raise RateLimited(wait, "API request budget exhausted for this credential")


def _is_page(scope: Scope) -> bool:
    """A whole web page asked for (not the API, not an htmx fragment)."""
    return scope["method"] == "GET" and not is_api(scope) and b"hx-request" not in headers_of(scope)


async def _authenticate(
    ctx: Ctx, scope: Scope, parsed: credentials.ParsedCredential | None
) -> None:
    if parsed is None:
        return
    ctx.principal = await queries.principal_for(ctx, parsed)
    ctx.tenant_id = ctx.principal.tenant_id if ctx.principal else None
    if ctx.principal is None:
        if is_api(scope):
            raise Unauthenticated("The access token is unknown, expired or revoked")
        # A stale web session is just an anonymous visitor (sent to the login page).
        await set_transaction_context(ctx.session, tenant_id=None, request_id=ctx.request_id)
    elif enrolment.refuses(ctx.principal, scope["method"], scope["path"]):
        raise enrolment.EnrolmentRequired()


def _check_csrf(
    runtime: Runtime,
    parsed: credentials.ParsedCredential | None,
    cookies: dict[str, str],
    headers: dict[bytes, bytes],
    body: bytes,
) -> None:
    """Every unsafe web request carries the token bound to its session or browser."""
    if parsed is not None:
        binding = parsed.digest
    elif cookies.get(ANONYMOUS_COOKIE):
        binding = cookies[ANONYMOUS_COOKIE].encode()
    else:
        raise PermissionDenied("The form has expired; reload the page and try again")
    presented = headers.get(CSRF_HEADER, b"").decode("latin-1")
    if not presented and headers.get(b"content-type", b"").startswith(
        b"application/x-www-form-urlencoded"
    ):
        presented = (parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD) or [""])[0]
    if not presented or not credentials.csrf_matches(runtime.secret_key, binding, presented):
        raise PermissionDenied("The form has expired; reload the page and try again")


def _storable(response: BufferedResponse) -> idempotency.StoredResponse:
    if "no-store" in (response.header(b"cache-control") or ""):
        # The answer holds a secret shown once (a new API key): keep the key used,
        # but never the secret; a replay says so instead of creating another.
        error = Conflict(
            "This request already succeeded; its answer held a secret that is shown only once"
        )
        return idempotency.StoredResponse(
            error.status, {"content-type": PROBLEM_JSON}, problem_body(error)
        )
    kept = {
        name: value
        for name in idempotency.REPLAYED_HEADERS
        if (value := response.header(name.encode())) is not None
    }
    return idempotency.StoredResponse(response.status, kept, bytes(response.body))


def _replay(stored: idempotency.StoredResponse) -> BufferedResponse:
    headers = [(k.encode(), v.encode()) for k, v in stored.headers.items()]
    headers.append((b"idempotent-replayed", b"true"))
    return BufferedResponse(stored.status, headers, bytearray(stored.body))


def _error_response(error: DomainError, scope: Scope) -> BufferedResponse:
    """problem+json for the API; for pages, what the app renders for any page error
    (`Runtime.render_error`: a page in the layout) once the request has its `Ctx`,
    else a small HTML message (htmx shows it as a toast)."""
    if is_api(scope):
        headers = problem_headers(error)
        return BufferedResponse(
            error.status, headers, bytearray(problem_body(error, scope["path"]))
        )
    runtime: Runtime = scope["app"].state.runtime
    if runtime.render_error is not None and isinstance(scope.get("state", {}).get("ctx"), Ctx):
        page = runtime.render_error(scope, error)
        return BufferedResponse(page.status_code, list(page.raw_headers), bytearray(page.body))
    return BufferedResponse(
        error.status,
        [(b"content-type", b"text/html; charset=utf-8")],
        bytearray(error_fragment(error).encode()),
    )


def error_fragment(error: DomainError) -> str:
    """The message, and each field at fault (labelled as a page names it) with what is
    wrong with it. A refusal with no words of its own beyond its title ("Validation
    failed") leads into the fields instead."""
    # Spaced, so the toast (which shows the text alone) reads as sentences too.
    fields = " ".join(
        f"<li><strong>{html.escape(e.label)}</strong> {html.escape(e.message)}</li>"
        for e in error.errors
    )
    message = error.detail
    if fields and message == error.title:
        message = "Please check:"
    listed = f'<ul class="field-errors">{fields}</ul>' if fields else ""
    return f'<p class="error" role="alert">{html.escape(message)}</p> {listed}'.strip()
