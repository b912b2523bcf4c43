"""argon2id password hashing, off the event loop."""

from __future__ import annotations

from functools import lru_cache

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from baton.config import get_settings

# Verified when the email is unknown, so a miss costs the same time as a hit.
_DUMMY_PASSWORD = "baton-dummy-password-for-constant-time"


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def _current() -> PasswordHasher:
    settings = get_settings()
    return _hasher(settings.argon2_time_cost, settings.argon2_memory_kib)


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_kib: int) -> str:
    return _hasher(time_cost, memory_kib).hash(_DUMMY_PASSWORD)


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_current().hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-time check; with no hash (unknown user) a dummy hash is verified."""
    settings = get_settings()
    hasher = _current()
    target = password_hash or _dummy_hash(settings.argon2_time_cost, settings.argon2_memory_kib)

    def _verify() -> bool:
        try:
            return hasher.verify(target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    ok = await anyio.to_thread.run_sync(_verify)
    return ok and password_hash is not None
