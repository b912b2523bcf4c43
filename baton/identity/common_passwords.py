"""The password rule: at least 12 characters and not one of the 10 000 most common.

The list ships with the package (`data/common-passwords.txt.gz`, its source and
licence beside it in `data/COMMON-PASSWORDS.md`): no lookup leaves the machine. It is
read once, on the first check, into a set (about 1 MB).
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt.gz"
TOO_COMMON = "is one of the most common passwords; choose one that is harder to guess"


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def is_common(password: str) -> bool:
    """Whether `password`, lowercased and trimmed, is on the shipped list."""
    return password.strip().lower() in _common()


def refuse_common(password: str) -> str:
    """A schema validator: the password unchanged, or a refusal a person acts on."""
    if is_common(password):
        raise ValueError(TOO_COMMON)
    return password
