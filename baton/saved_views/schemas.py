"""Shapes of saved views (`/api/v1/views`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from baton.core.schemas import Schema
from baton.saved_views.models import ListKind

ViewName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# A list's URL parameters: at most 20, each name and value bounded.
ViewQuery = Annotated[
    dict[
        Annotated[str, StringConstraints(min_length=1, max_length=40)],
        Annotated[str, StringConstraints(max_length=200)],
    ],
    Field(max_length=20),
]
Version = Annotated[int, Field(ge=1, le=2_147_483_647)]


class ViewIn(Schema):
    list: ListKind
    name: ViewName
    # The list's filters and sort, as its URL parameters (`{"stage": "proposal",
    # "sort": "-amount"}`); each must be one the list takes.
    query: ViewQuery
    shared: bool = False


class ViewPatch(Schema):
    """Only the fields sent change; send the version (If-Match or body)."""

    name: ViewName | None = None
    query: ViewQuery | None = None
    shared: bool | None = None
    version: Version | None = None


class ViewOut(Schema):
    id: uuid.UUID
    list: ListKind
    name: str
    query: dict[str, str]
    shared: bool
    owner_id: uuid.UUID
    # The list page filtered by the view: a link that keeps filtering after the view
    # is deleted.
    url: str
    created_at: datetime
    updated_at: datetime
    version: int
