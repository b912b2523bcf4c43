"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP) and recovery codes.

The mechanics only; who may enable, confirm, disable and use them is in
`identity.service`. SHA-1, 6 digits, 30-second steps — what every authenticator app
reads from an `otpauth://` URI — and one step of clock drift either way. A code's
step is returned on success so the caller can refuse it a second time (replay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from baton.identity.sealing import SealingKeys

DIGITS = 6
PERIOD_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
ISSUER = "Baton"
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# The stored form of a keyed recovery-code digest.
_KEYED = "h1"


def new_secret() -> str:
    """160 random bits, base32 without padding (what the apps take)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def code_at(secret: str, step: int) -> str:
    """HOTP (RFC 4226 §5.3): HMAC-SHA1 of the step, dynamically truncated."""
    digest = hmac.new(_key(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // PERIOD_SECONDS)


def verify(
    secret: str, code: str, *, after_step: int | None, now: float | None = None
) -> int | None:
    """The step `code` belongs to (within the drift, later than `after_step`), or None."""
    presented = code.replace(" ", "")
    if len(presented) != DIGITS or not presented.isdigit():
        return None
    step = current_step(now)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if after_step is not None and candidate <= after_step:
            continue
        if hmac.compare_digest(code_at(secret, candidate), presented):
            return candidate
    return None


def provisioning_uri(secret: str, account: str) -> str:
    """The `otpauth://totp/…` URI an authenticator app scans or is pasted."""
    label = quote(f"{ISSUER}:{account}")
    query = urlencode(
        {"secret": secret, "issuer": ISSUER, "digits": DIGITS, "period": PERIOD_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"


def new_recovery_codes() -> list[str]:
    """Ten one-time codes, `xxxxx-xxxxx`, about 49 bits each."""
    return [
        "-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(RECOVERY_CODES)
    ]


def _normal(code: str) -> bytes:
    return code.strip().lower().replace(" ", "").encode()


def recovery_digest(keys: SealingKeys, code: str) -> str:
    """What is stored of a recovery code: `h1.<key id>.<HMAC-SHA256 of its normalised
    form under the current recovery key>` (`identity.sealing`)."""
    return f"{_KEYED}.{keys.current_id}.{_mac(keys.current, _normal(code))}"


def _mac(key: bytes, normal: bytes) -> str:
    # 128 bits of the HMAC: far beyond a 49-bit code's guessing, and the stored form
    # fits the column (64 characters).
    return hmac.new(key, normal, hashlib.sha256).hexdigest()[:32]


def matching_recovery_digest(keys: SealingKeys, stored: Sequence[str], code: str) -> str | None:
    """The stored digest `code` matches, if any: under the key its digest names (a
    previous secret's too), or a plain SHA-256 from before keyed digests."""
    normal = _normal(code)
    for digest in stored:
        if digest.startswith(f"{_KEYED}."):
            _format, key_id, mac = digest.split(".", 2)
            key = keys.by_id.get(key_id)
            expected = None if key is None else _mac(key, normal)
        else:
            mac, expected = digest, hashlib.sha256(normal).hexdigest()
        if expected is not None and hmac.compare_digest(mac, expected):
            return digest
    return None


def looks_like_recovery_code(code: str) -> bool:
    return "-" in code.strip()
