"""Contacts: people at an account. Deleting the account soft-deletes them with it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from baton.db import search
from baton.db.base import (
    Base,
    TenantKeyed,
    Timestamped,
    Versioned,
    import_batch_refs,
)


class Contact(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.id"]),
        CheckConstraint("length(btrim(first_name)) BETWEEN 1 AND 100", name="first_name_length"),
        CheckConstraint(
            "last_name IS NULL OR length(btrim(last_name)) BETWEEN 1 AND 100",
            name="last_name_length",
        ),
        CheckConstraint(
            "email IS NULL OR (email = lower(email) AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'"
            " AND length(email) <= 254)",
            name="email_normalised",
        ),
        CheckConstraint(
            "phone IS NULL OR length(btrim(phone)) BETWEEN 3 AND 40", name="phone_length"
        ),
        CheckConstraint("title IS NULL OR length(title) <= 200", name="title_length"),
        CheckConstraint("(deleted_at IS NULL) = (deletion_id IS NULL)", name="deletion_complete"),
        Index(
            "uq_contacts_email",
            "tenant_id",
            "account_id",
            "email",
            unique=True,
            postgresql_where=text("email IS NOT NULL AND deleted_at IS NULL"),
        ),
        Index("ix_contacts_account", "tenant_id", "account_id"),
        # A restore finds what one deletion took.
        Index(
            "ix_contacts_deletion",
            "tenant_id",
            "deletion_id",
            postgresql_where=text("deletion_id IS NOT NULL"),
        ),
        # Words anywhere in name, email, title and phone; the phone's end.
        *search.indexes("contacts", phone=True),
        *import_batch_refs("contacts"),
        {"info": {"tenancy": "tenant"}},
    )

    account_id: Mapped[uuid.UUID]
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    search_doc: Mapped[str] = search.document_column(search.CONTACTS)
    phone_tail: Mapped[str | None] = search.phone_tail_column()
    title: Mapped[str | None] = mapped_column(String(200))
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    deletion_id: Mapped[uuid.UUID | None]
    # The import batch that created or last updated the row (baton.imports).
    import_batch_id: Mapped[uuid.UUID | None]
