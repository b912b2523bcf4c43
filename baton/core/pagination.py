"""Cursor pagination over UUIDv7 ids (time-ordered, so `id > cursor` is a stable key)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Query

from baton.core.errors import FieldError, ValidationFailed

T = TypeVar("T")
MAX_PAGE_SIZE = 200

# A list's search text. No NUL: PostgreSQL text cannot hold one, so the query would
# fail instead of matching nothing.
SearchQuery = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: uuid.UUID | None


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(errors=[FieldError("cursor", "is not a valid cursor")]) from exc


def page_request(
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page, 1 to 200")
    ] = 50,
    cursor: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The `next_cursor` of the previous page, passed back unchanged "
            "(opaque); absent for the first page. A malformed cursor is 422",
        ),
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


def next_cursor(rows: Sequence[T], page: PageRequest, key: uuid.UUID | None) -> str | None:
    """Queries fetch `limit + 1` rows; a surplus row means there is a next page."""
    if len(rows) <= page.limit or key is None:
        return None
    return encode_cursor(key)
