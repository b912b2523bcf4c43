"""Secrets Baton must read back, sealed at rest: the TOTP seed (`users.totp_secret`);
and the key of the recovery codes' HMAC (`recovery_keys`).

A password or a recovery code is stored as a hash; a TOTP seed cannot be (each sign-in
computes codes from it), so it is encrypted with AES-256-GCM (`cryptography`) under a
key derived from the application secret (`BATON_SECRET_KEY`, HKDF-SHA256 with a label
of its own, so the key is used for nothing else). The row's id is the associated data:
a sealed value copied onto another user does not open.

Stored form: `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>` — `v1` the format,
the key id the first 8 hex digits of the SHA-256 of the derived key. To rotate the
application secret, set the new `BATON_SECRET_KEY` and list the old one in
`BATON_PREVIOUS_SECRET_KEYS`: a value sealed under an old key still opens and is
sealed again under the current one the first time it is read (`read_sealed`).
A value without the prefix is a plaintext seed from before sealing (base32 has no
`.`): it is read as is and sealed at that first read too. A value sealed under a key
the server does not have, or altered, fails closed (`SealedSecretUnreadable`): no
code is checked against it.

A recovery code has about 49 bits: a plain hash of it could be searched exhaustively
from a copy of the database. It is stored as an HMAC under a key derived the same way
with a label of its own (`recovery_keys`), so such a copy without the application
secret tells nothing; the previous secrets' keys still check codes made under them.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from baton.core.errors import DomainError

log = structlog.get_logger("baton.identity.sealing")

FORMAT = "v1"
_LABEL = b"baton/users.totp_secret/v1"
_RECOVERY_LABEL = b"baton/users.totp_recovery_hashes/v1"
_NONCE_BYTES = 12


class SealedSecretUnreadable(DomainError):
    """500: a sealed secret this server cannot open (another key, or altered)."""

    status = 500
    slug = "sealed-secret-unreadable"
    title = "Two-factor secret unreadable"


@dataclass(frozen=True)
class SealingKeys:
    """The current key (sealing) and every key that may open a stored value, by id."""

    current_id: str
    by_id: dict[str, bytes]

    @property
    def current(self) -> bytes:
        return self.by_id[self.current_id]


def _derive(secret_key: str, label: bytes = _LABEL) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(
        secret_key.encode()
    )


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _keys(secret_key: str, previous: Sequence[str], label: bytes) -> SealingKeys:
    current = _derive(secret_key, label)
    by_id = {_key_id(key): key for key in (_derive(old, label) for old in previous)}
    by_id[_key_id(current)] = current
    return SealingKeys(_key_id(current), by_id)


@lru_cache(maxsize=8)
def sealing_keys(secret_key: str, previous: Sequence[str] = ()) -> SealingKeys:
    """The keys derived from the application secret and the previous ones."""
    return _keys(secret_key, previous, _LABEL)


@lru_cache(maxsize=8)
def recovery_keys(secret_key: str, previous: Sequence[str] = ()) -> SealingKeys:
    """The recovery codes' HMAC keys, from the same secrets under their own label."""
    return _keys(secret_key, previous, _RECOVERY_LABEL)


def seal(keys: SealingKeys, plaintext: str, *, row_id: bytes) -> str:
    """`plaintext` encrypted under the current key, bound to its row."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(keys.current).encrypt(nonce, plaintext.encode(), row_id)
    body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"{FORMAT}.{keys.current_id}.{body}"


def is_sealed(stored: str) -> bool:
    return stored.startswith(f"{FORMAT}.")


def unseal(keys: SealingKeys, stored: str, *, row_id: bytes) -> str:
    """The plaintext of a sealed value (a plaintext from before sealing as is);
    `SealedSecretUnreadable` when no key of this server opens it."""
    if not is_sealed(stored):
        return stored
    _format, key_id, body = stored.split(".", 2)
    key = keys.by_id.get(key_id)
    if key is None:
        log.error("sealed with an unknown key", key_id=key_id, current_key_id=keys.current_id)
        raise SealedSecretUnreadable(
            f"Two-factor sign-in is unavailable: the secret was sealed with key {key_id},"
            " which this server does not have (BATON_SECRET_KEY or"
            " BATON_PREVIOUS_SECRET_KEYS must hold the secret it was sealed with)"
        )
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    try:
        opened = AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], row_id)
    except InvalidTag:
        log.error("sealed secret does not open", key_id=key_id)
        raise SealedSecretUnreadable(
            f"Two-factor sign-in is unavailable: the secret sealed with key {key_id}"
            " does not open (altered, or moved from another row)"
        ) from None
    return opened.decode()


def needs_sealing(keys: SealingKeys, stored: str) -> bool:
    """A plaintext, or a value sealed under a previous key: seal it (again) now."""
    return not stored.startswith(f"{FORMAT}.{keys.current_id}.")
