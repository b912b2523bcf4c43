"""Targets: prospecting-list entries on the target-prospecting workflow (seed 002)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    FetchedValue,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from baton.db import search
from baton.db.base import (
    Base,
    TenantKeyed,
    Timestamped,
    Versioned,
    import_batch_refs,
)
from baton.leads.models import EMAIL_CHECK


class Target(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "targets"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "workflow_id"], ["workflows.tenant_id", "workflows.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "workflow_id", "step_id"],
            ["workflow_steps.tenant_id", "workflow_steps.workflow_id", "workflow_steps.id"],
        ),
        ForeignKeyConstraint(
            ["tenant_id", "converted_account_id"], ["accounts.tenant_id", "accounts.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "converted_deal_id"], ["deals.tenant_id", "deals.id"]),
        CheckConstraint(
            "length(btrim(company_name)) BETWEEN 1 AND 200", name="company_name_length"
        ),
        CheckConstraint(
            "contact_name IS NULL OR length(btrim(contact_name)) BETWEEN 1 AND 200",
            name="contact_name_length",
        ),
        CheckConstraint(
            f"email IS NULL OR ({EMAIL_CHECK} AND length(email) <= 254)", name="email_normalised"
        ),
        CheckConstraint(
            "phone IS NULL OR length(btrim(phone)) BETWEEN 3 AND 40", name="phone_length"
        ),
        CheckConstraint("notes IS NULL OR length(notes) <= 10000", name="notes_length"),
        CheckConstraint("length(dedupe_key) BETWEEN 1 AND 300", name="dedupe_key_length"),
        CheckConstraint("(dropped_at IS NULL) = (drop_reason IS NULL)", name="dropped_with_reason"),
        CheckConstraint(
            "drop_notes IS NULL OR length(drop_notes) <= 10000", name="drop_notes_length"
        ),
        # A converted target names the account and deal it became, and when.
        CheckConstraint(
            "num_nonnulls(converted_at, converted_account_id, converted_deal_id) IN (0, 3)",
            name="converted_complete",
        ),
        CheckConstraint("(deleted_at IS NULL) = (deletion_id IS NULL)", name="deletion_complete"),
        # One live target per company/contact: imports and manual entry dedupe on it.
        Index(
            "uq_targets_dedupe_key",
            "tenant_id",
            "dedupe_key",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_targets_step",
            "tenant_id",
            "step_id",
            "created_at",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # Words anywhere in company, contact, email and phone; the phone's end.
        *search.indexes("targets", phone=True),
        *import_batch_refs("targets"),
        {"info": {"tenancy": "tenant", "governed": "target"}},
    )

    company_name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    search_doc: Mapped[str] = search.document_column(search.TARGETS)
    phone_tail: Mapped[str | None] = search.phone_tail_column()
    notes: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    dedupe_key: Mapped[str] = mapped_column(String(300))
    # No server defaults: the service sets workflow and step from the target workflow.
    workflow_id: Mapped[uuid.UUID]
    step_id: Mapped[uuid.UUID]
    entered_step_at: Mapped[datetime] = mapped_column(server_onupdate=FetchedValue())
    converted_account_id: Mapped[uuid.UUID | None]
    converted_deal_id: Mapped[uuid.UUID | None]
    converted_at: Mapped[datetime | None]
    dropped_at: Mapped[datetime | None]
    drop_reason: Mapped[str | None] = mapped_column(String(32))
    drop_notes: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    deletion_id: Mapped[uuid.UUID | None]
    # The import batch that created or last updated the row (baton.imports).
    import_batch_id: Mapped[uuid.UUID | None]
