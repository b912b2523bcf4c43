"""`Idempotency-Key` on POST/PATCH/PUT/DELETE (DESIGN §3.4).

The stored answer is written in the same transaction as the work it answers, so a
key is "used" exactly when the work committed. While the first request runs it holds
a transaction-scoped advisory lock on the key: a concurrent duplicate cannot take it
and gets 409 at once instead of waiting. Only successful (2xx) answers are stored;
a refused request changed nothing, so retrying it with the same key runs it again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from baton.core.context import Ctx
from baton.core.errors import Conflict, FieldError, ValidationFailed
from baton.db.driver import DriverStatement

HEADER = "idempotency-key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Headers worth replaying; the rest (request id, timing) describe the new request.
REPLAYED_HEADERS = ("content-type", "location")

# Plain SQL on this path, sent straight to the driver (baton.db.driver): building ORM
# statements per request cost ~1 ms here, and SQLAlchemy's execution path ~0.3 ms a
# statement. The lock and the lookup stay two statements: the lookup's snapshot must be
# taken after the lock is granted, to see an answer committed by the holder it waited out.
_TRY_LOCK = DriverStatement.of(text("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))"))
_FIND = DriverStatement.of(
    text(
        "SELECT request_hash, response_status, response_headers, response_body"
        " FROM idempotency_keys WHERE tenant_id = :tenant_id AND user_id = :user_id"
        " AND key = :key AND expires_at > now()"
    )
)
_STORE = DriverStatement.of(
    text(
        """
    INSERT INTO idempotency_keys (tenant_id, user_id, key, request_hash, response_status,
        response_headers, response_body, created_at, expires_at)
    VALUES (:tenant_id, :user_id, :key, :request_hash, :response_status,
        CAST(:response_headers AS jsonb), :response_body, :created_at, :expires_at)
    ON CONFLICT (tenant_id, user_id, key) DO UPDATE SET
        request_hash = excluded.request_hash, response_status = excluded.response_status,
        response_headers = excluded.response_headers, response_body = excluded.response_body,
        created_at = excluded.created_at, expires_at = excluded.expires_at
    """
    )
)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def request_fingerprint(method: str, path: str, query: bytes, body: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


def validate_key(key: str) -> str:
    if not _VALID_KEY.match(key):
        raise ValidationFailed(
            errors=[FieldError(HEADER, "must be 1 to 255 printable ASCII characters")]
        )
    return key


async def claim(ctx: Ctx, key: str, fingerprint: bytes) -> StoredResponse | None:
    """Lock the key for this transaction; return the stored answer if it was used.

    409 if another request holds the key now; 422 if the key was used for a
    different request.
    """
    principal = ctx.require_principal()
    name = f"idem:{principal.tenant_id}:{principal.user_id}:{key}"
    locked = await _TRY_LOCK.fetchrow(ctx.session, {"name": name})
    if locked is None or not locked[0]:
        raise Conflict("A request with this Idempotency-Key is still in progress")
    record = await _FIND.fetchrow(
        ctx.session,
        {"tenant_id": principal.tenant_id, "user_id": principal.user_id, "key": key},
    )
    if record is None:
        return None
    if record["request_hash"] != fingerprint:
        raise ValidationFailed(
            "This Idempotency-Key was used for a different request",
            errors=[FieldError(HEADER, "was already used with another method, path or body")],
        )
    return StoredResponse(
        record["response_status"], dict(record["response_headers"]), record["response_body"]
    )


async def store(
    ctx: Ctx, key: str, fingerprint: bytes, response: StoredResponse, ttl_hours: int
) -> None:
    """Keep the answer for `ttl_hours`; replaces an expired record of the same key."""
    principal = ctx.require_principal()
    if ctx.tenant_id != principal.tenant_id:
        # The request moved its transaction to another organization (registering
        # one while signed in): the key is the caller's, kept in the caller's tenant.
        await ctx.enter_tenant(principal.tenant_id, principal.user_id, principal.role)
    now = datetime.now(UTC)
    await _STORE.fetchrow(
        ctx.session,
        {
            "tenant_id": principal.tenant_id,
            "user_id": principal.user_id,
            "key": key,
            "request_hash": fingerprint,
            "response_status": response.status,
            "response_headers": json.dumps(response.headers),
            "response_body": response.body,
            "created_at": now,
            "expires_at": now + timedelta(hours=ttl_hours),
        },
    )
