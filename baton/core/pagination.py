"""Cursor pagination over UUIDv7 ids (time-ordered, so `id > cursor` is a stable key)."""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

import orjson
from fastapi import Query

from baton.core.errors import FieldError, ValidationFailed

T = TypeVar("T")
MAX_PAGE_SIZE = 200

# A list's search text. No NUL: PostgreSQL text cannot hold one, so the query would
# fail instead of matching nothing.
SearchQuery = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]


@dataclass(frozen=True)
class PageRequest:
    """`after`: the last id of the previous page. `after_rank`: its search rank, when
    the cursor is a search's (`baton.db.search`: lists ordered by (rank, id))."""

    limit: int
    after: uuid.UUID | None
    after_rank: int | None = None


# What `encode_cursor` writes: 16 or 17 bytes, base64url without padding. Any text of
# this form decodes to an id (and a rank), so the document's form is the server's.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{22,23}$"


def encode_cursor(last_id: uuid.UUID, rank: int | None = None) -> str:
    """The id's 16 bytes, base64url; a search's cursor starts with one byte of rank."""
    raw = last_id.bytes if rank is None else bytes([rank]) + last_id.bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int | None, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if len(raw) == 17:
            return raw[0], uuid.UUID(bytes=raw[1:])
        return None, uuid.UUID(bytes=raw)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(errors=[FieldError("cursor", "is not a valid cursor")]) from exc


def decode_cursor(cursor: str) -> uuid.UUID:
    """The id a cursor names (a search's cursor: its id, the rank dropped)."""
    return _decode(cursor)[1]


def page_of(limit: int, cursor: str | None) -> PageRequest:
    """The page a cursor continues (plain or search cursor)."""
    if not cursor:
        return PageRequest(limit=limit, after=None)
    rank, after = _decode(cursor)
    return PageRequest(limit=limit, after=after, after_rank=rank)


PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page, 1 to 200")]


def page_request(
    limit: PageLimit = 50,
    cursor: Annotated[
        str | None,
        Query(
            max_length=23,
            pattern=CURSOR_PATTERN,
            description="The `next_cursor` of the previous page, passed back unchanged "
            "(opaque); absent for the first page. A malformed cursor is 422",
        ),
    ] = None,
) -> PageRequest:
    return page_of(limit, cursor)


def next_page(keys: Iterable[tuple[uuid.UUID, int | None]], page: PageRequest) -> str | None:
    """The next page's cursor from the (id, search rank) of a query's `limit + 1` rows:
    the last shown row's, with its rank when the list was searched."""
    fetched = list(itertools.islice(keys, page.limit + 1))
    if len(fetched) <= page.limit:
        return None
    last_id, rank = fetched[page.limit - 1]
    return encode_cursor(last_id, rank)


def next_cursor(rows: Sequence[T], page: PageRequest, key: uuid.UUID | None) -> str | None:
    """Queries fetch `limit + 1` rows; a surplus row means there is a next page."""
    if len(rows) <= page.limit or key is None:
        return None
    return encode_cursor(key)


# A sorted list's cursor (`encode_sorted_cursor`): the sort, the last row's sort value
# and its id, as JSON in base64url. Longer than an id cursor, which it also accepts.
SORTED_CURSOR_PATTERN = r"^[A-Za-z0-9_-]{22,400}$"


@dataclass(frozen=True)
class SortedPageRequest:
    """A page of a list ordered by a column (`sort`), then id: `after_value` and
    `after` are the last shown row's (`after_value` None: that row had no value)."""

    limit: int
    sort: str | None
    after: uuid.UUID | None
    after_value: str | None = None
    # Unsorted, a search's cursor carries the last row's rank (`PageRequest`).
    after_rank: int | None = None


def encode_sorted_cursor(sort: str, value: str | None, last_id: uuid.UUID) -> str:
    """The sort it continues, the last row's sort value (as text) and its id."""
    raw = orjson.dumps([sort, value, last_id.hex])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sorted_page_of(limit: int, cursor: str | None, sort: str | None) -> SortedPageRequest:
    """The page a cursor continues under `sort` (None: creation order, an id cursor).
    A cursor of another sort than the one asked for is 422: its value means nothing
    in this order."""
    if not cursor:
        return SortedPageRequest(limit=limit, sort=sort, after=None)
    if sort is None:
        unsorted = page_of(limit, cursor)
        return SortedPageRequest(
            limit=limit, sort=None, after=unsorted.after, after_rank=unsorted.after_rank
        )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, last_hex = orjson.loads(raw)
        last_id = uuid.UUID(hex=last_hex)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise ValidationFailed(errors=[FieldError("cursor", "is not a valid cursor")]) from exc
    if cursor_sort != sort or not (value is None or isinstance(value, str)):
        raise ValidationFailed(errors=[FieldError("cursor", "belongs to another sort")])
    return SortedPageRequest(limit=limit, sort=sort, after=last_id, after_value=value)


SortedCursor = Annotated[
    str | None,
    Query(
        max_length=400,
        pattern=SORTED_CURSOR_PATTERN,
        description="The `next_cursor` of the previous page, passed back unchanged with "
        "the same `sort` (opaque); absent for the first page. A malformed cursor, or one "
        "of another sort, is 422",
    ),
]
