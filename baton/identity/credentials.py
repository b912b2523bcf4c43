"""Opaque credentials: `<kind>_<tenant hex>_<secret>`; only their SHA-256 is stored.

The tenant id in the clear lets a request scope its transaction (RLS) before it
looks the credential up; the secret part carries 256 bits of randomness.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum


class CredentialPrefix(StrEnum):
    BEARER = "bat"
    SESSION = "bas"
    API_KEY = "bak"


@dataclass(frozen=True)
class IssuedCredential:
    raw: str
    digest: bytes
    visible_prefix: str


@dataclass(frozen=True)
class ParsedCredential:
    prefix: CredentialPrefix
    tenant_id: uuid.UUID
    digest: bytes


def issue(prefix: CredentialPrefix, tenant_id: uuid.UUID) -> IssuedCredential:
    secret = secrets.token_urlsafe(32)
    raw = f"{prefix.value}_{tenant_id.hex}_{secret}"
    # Enough to recognise a key in a list; far too little to guess the rest.
    return IssuedCredential(
        raw=raw, digest=digest(raw), visible_prefix=f"{prefix.value}_{secret[:8]}"
    )


def digest(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def parse(raw: str) -> ParsedCredential | None:
    """Split a presented credential; None for anything malformed."""
    if len(raw) > 200:
        return None
    parts = raw.split("_", 2)
    if len(parts) != 3:
        return None
    prefix, tenant_hex, secret = parts
    try:
        kind = CredentialPrefix(prefix)
        tenant_id = uuid.UUID(hex=tenant_hex)
    except ValueError:
        return None
    if len(tenant_hex) != 32 or len(secret) < 32:
        return None
    return ParsedCredential(prefix=kind, tenant_id=tenant_id, digest=digest(raw))


# An invitation link's token: `bai_<tenant hex>_<secret>` like the credentials above,
# but it authenticates nothing (`parse` refuses its prefix); it is only accepted.
INVITATION_PREFIX = "bai"


def invitation_token(
    secret_key: str, tenant_id: uuid.UUID, invitation_id: uuid.UUID, serial: int
) -> str:
    """The link of one invitation's `serial`-th issue. Derived from the app's secret
    rather than stored: the database holds only its digest, yet the worker that sends
    the email can write the link again (a resend's new serial voids the old link)."""
    message = b"invitation:" + invitation_id.bytes + serial.to_bytes(4, "big")
    mac = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    secret = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return f"{INVITATION_PREFIX}_{tenant_id.hex}_{secret}"


def invitation_url(base_url: str, token: str) -> str:
    """The public page an invitee opens: `/invitations/<token>`."""
    return f"{base_url}/invitations/{token}"


def parse_invitation_token(raw: str) -> tuple[uuid.UUID, bytes] | None:
    """The tenant and digest of a presented invitation token; None if malformed."""
    parts = raw.split("_", 2) if len(raw) <= 200 else []
    if len(parts) != 3 or parts[0] != INVITATION_PREFIX:
        return None
    _, tenant_hex, secret = parts
    if len(tenant_hex) != 32 or len(secret) < 32:
        return None
    try:
        tenant_id = uuid.UUID(hex=tenant_hex)
    except ValueError:
        return None
    return tenant_id, digest(raw)


def csrf_token(secret_key: str, binding: bytes) -> str:
    """A CSRF token bound to one session (or one anonymous browser)."""
    return hmac.new(secret_key.encode(), b"csrf:" + binding, hashlib.sha256).hexdigest()


def csrf_matches(secret_key: str, binding: bytes, presented: str) -> bool:
    return hmac.compare_digest(csrf_token(secret_key, binding), presented)
