"""The one-box search's answer (`GET /api/v1/search`)."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import Field

from baton.core.schemas import Schema


class SearchType(StrEnum):
    """The kinds of record the box finds."""

    ACCOUNT = "account"
    CONTACT = "contact"
    DEAL = "deal"
    LEAD = "lead"
    TARGET = "target"
    WORK_ITEM = "work_item"


class SearchItem(Schema):
    type: SearchType
    id: uuid.UUID
    title: str = Field(description="The record's name (a contact's full name)")
    subtitle: str = Field(
        description="What tells two like-named records apart: an account's domain and"
        " industry, a contact's account and email, a deal's account and stage, a lead's"
        " contact and list, a target's contact and status, a work item's project type"
        " and step; empty when the record has none of them"
    )
    url: str = Field(description="The record's page in the web UI, relative to the server")


class SearchResults(Schema):
    items: list[SearchItem] = Field(
        description="Best first: the name starts with the query, then every word in the"
        " name, then found elsewhere (a domain, an email, a phone); within a rank by type"
        " (accounts, contacts, deals, leads, targets, work items), then oldest first"
    )
    partial_types: list[SearchType] = Field(
        description="Types with 200 matches or more: only the first 200 the index found"
        " (roughly the oldest) were ranked, so a better match may be missing — more words"
        " narrow the search. Empty when every type's matches were all ranked"
    )
