"""Opaque credentials: `<kind>_<tenant hex>_<secret>`; only their SHA-256 is stored.

The tenant id in the clear lets a request scope its transaction (RLS) before it
looks the credential up; the secret part carries 256 bits of randomness.
"""

from __future__ import annotations

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


def csrf_token(secret_key: str, binding: bytes) -> str:
    """A CSRF token bound to one session (or one anonymous browser)."""
    return hmac.new(secret_key.encode(), b"csrf:" + binding, hashlib.sha256).hexdigest()


def csrf_matches(secret_key: str, binding: bytes, presented: str) -> bool:
    return hmac.compare_digest(csrf_token(secret_key, binding), presented)
