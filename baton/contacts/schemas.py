"""Shapes for contacts: the people at an account."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from baton.core.schemas import Email, Schema, SearchText

PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Phone = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=40, pattern=r"^[0-9+()./\- ]+(?:x\d+)?$"
    ),
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Version = Annotated[int, Field(ge=1, le=2_147_483_647)]


class ContactListFilters(BaseModel):
    """The contacts list's query parameters (`GET /api/v1/contacts`, the contacts
    page): what a saved view of that list may hold. Text in, as a URL carries it."""

    model_config = ConfigDict(extra="ignore")

    account_id: uuid.UUID | None = None
    q: SearchText | None = None


class ContactIn(Schema):
    account_id: uuid.UUID
    first_name: PersonName
    last_name: PersonName | None = None
    # Stored lower-cased; unique among the account's live contacts.
    email: Email | None = None
    phone: Phone | None = None
    title: Title | None = None


class ContactPatch(Schema):
    """Only the fields sent change; null clears an optional field. A new `account_id`
    moves the contact to another live account."""

    account_id: uuid.UUID | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    email: Email | None = None
    phone: Phone | None = None
    title: Title | None = None
    version: Version | None = None


class ContactOut(Schema):
    id: uuid.UUID
    account_id: uuid.UUID
    first_name: str
    last_name: str | None
    email: str | None
    phone: str | None
    title: str | None
    created_at: datetime
    updated_at: datetime
    version: int
