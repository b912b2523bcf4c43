"""Saved views: a list's filters and sort under a name, its owner's or the organization's.

`query` holds the list's URL parameters exactly as the list takes them (validated
against that list's filters when saved), so a view is also a link: the page's URL
carries the filters, and the link keeps filtering after the view is deleted.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from baton.db.base import Base, TenantKeyed, Timestamped, Versioned, enum_check


class ListKind(StrEnum):
    """The lists a view can be saved for."""

    DEALS = "deals"
    ACCOUNTS = "accounts"
    TARGETS = "targets"
    CONTACTS = "contacts"
    # Each lead queue is its own list (its own page and rows).
    LEADS_INBOX = "leads_inbox"
    LEADS_POOL = "leads_pool"
    LEADS_MINE = "leads_mine"
    LEADS_NURTURE = "leads_nurture"
    LEADS_DISQUALIFIED = "leads_disqualified"
    LEADS_CONVERTED = "leads_converted"
    LEADS_TEAM = "leads_team"


class SavedView(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "saved_views"
    __table_args__ = (
        # A member names each of their views of one list once.
        UniqueConstraint("tenant_id", "owner_id", "list_kind", "name"),
        CheckConstraint(enum_check("list_kind", ListKind), name="list_kind_valid"),
        CheckConstraint("length(btrim(name)) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint("jsonb_typeof(query) = 'object'", name="query_is_object"),
        CheckConstraint("octet_length(query::text) <= 4000", name="query_size"),
        {"info": {"tenancy": "tenant"}},
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    list_kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    # The list's URL parameters, text to text.
    query: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # False: only the owner sees it; true: every member of the organization.
    shared: Mapped[bool] = mapped_column(Boolean)
