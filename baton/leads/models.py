"""Leads and the sales pool (DESIGN §5, seed 002).

Every lead is in exactly one work queue, its `view`. The database keeps that true:
the `lead_view` trigger derives `view` from the step the lead is on (never set by
hand), and the deferred `lead_pool_consistent` constraint trigger holds the pool and
the leads together — a lead is in `lead_pool` exactly when its view is `pool`, at
every commit. Role visibility is a restrictive RLS policy on `view` (see the
migration), backed by the same rules in the service.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    FetchedValue,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from baton.db import search
from baton.db.base import (
    Base,
    TenantKeyed,
    Timestamped,
    Versioned,
    enum_check,
    import_batch_refs,
)

EMAIL_CHECK = "email = lower(email) AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'"


# What the `lead_visibility` policy reads of a lead (and the marketing owner filter).
_VISIBILITY = ["view", "sales_owner_id", "rejected_by", "marketing_owner_id"]


class LeadView(StrEnum):
    """The one queue a lead is in; derived from its step by the database."""

    INBOX = "inbox"
    POOL = "pool"
    MINE = "mine"
    NURTURE = "nurture"
    DISQUALIFIED = "disqualified"
    CONVERTED = "converted"


class Lead(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "leads"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "workflow_id"], ["workflows.tenant_id", "workflows.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "workflow_id", "step_id"],
            ["workflow_steps.tenant_id", "workflow_steps.workflow_id", "workflow_steps.id"],
        ),
        ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.id"]),
        ForeignKeyConstraint(["tenant_id", "deal_id"], ["deals.tenant_id", "deals.id"]),
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
        CheckConstraint("source IS NULL OR length(source) <= 100", name="source_length"),
        CheckConstraint("need IS NULL OR length(need) <= 2000", name="need_length"),
        CheckConstraint("notes IS NULL OR length(notes) <= 10000", name="notes_length"),
        CheckConstraint(enum_check("view", LeadView), name="view_valid"),
        CheckConstraint("length(dedupe_key) BETWEEN 1 AND 300", name="dedupe_key_length"),
        CheckConstraint(
            "(disqualified_at IS NULL) = (disqualify_reason IS NULL)",
            name="disqualified_with_reason",
        ),
        CheckConstraint(
            "(rejected_at IS NULL) = (reject_reason IS NULL)", name="rejected_with_reason"
        ),
        CheckConstraint(
            "reject_notes IS NULL OR length(reject_notes) <= 10000", name="reject_notes_length"
        ),
        CheckConstraint(
            "disqualify_notes IS NULL OR length(disqualify_notes) <= 10000",
            name="disqualify_notes_length",
        ),
        # A lead on its way to sales or with sales has what sales needs to call it.
        CheckConstraint(
            "view NOT IN ('pool', 'mine', 'converted') OR "
            "(coalesce(email, phone) IS NOT NULL AND length(btrim(coalesce(need, ''))) > 0)",
            name="handed_over_contactable",
        ),
        CheckConstraint("view <> 'mine' OR sales_owner_id IS NOT NULL", name="mine_has_owner"),
        CheckConstraint("view <> 'converted' OR deal_id IS NOT NULL", name="converted_has_deal"),
        CheckConstraint("(deleted_at IS NULL) = (deletion_id IS NULL)", name="deletion_complete"),
        # The indexes the reports read include the columns `lead_visibility` tests
        # (view, owners, rejected_by): without them every row found is a heap visit to
        # check the policy, with them a count is an index-only scan.
        Index(
            # Lists page by id (UUIDv7) within a view; the nurture backlog counts one.
            "ix_leads_view",
            "tenant_id",
            "view",
            "id",
            postgresql_include=["sales_owner_id", "rejected_by", "marketing_owner_id"],
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            # Home's "waiting for first contact": a member's claimed leads, oldest
            # claim first (its first five are the index's first entries).
            "ix_leads_sales_owner",
            "tenant_id",
            "sales_owner_id",
            "view",
            "claimed_at",
            "id",
            postgresql_include=["deal_id", "rejected_by"],
            postgresql_where=text("deleted_at IS NULL AND sales_owner_id IS NOT NULL"),
        ),
        Index("ix_leads_dedupe_key", "tenant_id", "dedupe_key"),
        # The reports' lead funnel and sources (baton/reports): leads created in a
        # period, with everything those two read.
        Index(
            "ix_leads_created",
            "tenant_id",
            "created_at",
            postgresql_include=[
                *_VISIBILITY,
                "source",
                "qualified_at",
                "handed_over_at",
                "claimed_at",
                "converted_at",
                "disqualified_at",
            ],
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # The reports' rejected reasons: leads sales sent back, by when (few rows).
        Index(
            "ix_leads_rejected",
            "tenant_id",
            "rejected_at",
            postgresql_include=["reject_reason", *_VISIBILITY],
            postgresql_where=text("deleted_at IS NULL AND reject_reason IS NOT NULL"),
        ),
        Index(
            "ix_leads_deal", "tenant_id", "deal_id", postgresql_where=text("deal_id IS NOT NULL")
        ),
        # Words anywhere in company, contact, email and phone; the phone's end.
        *search.indexes("leads", phone=True),
        *import_batch_refs("leads"),
        {"info": {"tenancy": "tenant", "governed": "lead"}},
    )

    company_name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    search_doc: Mapped[str] = search.document_column(search.LEADS)
    phone_tail: Mapped[str | None] = search.phone_tail_column()
    source: Mapped[str | None] = mapped_column(String(100))
    # The stated need (service, volume); qualifying requires it.
    need: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    marketing_owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    sales_owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # No server defaults: the service sets workflow and step from the lead workflow.
    workflow_id: Mapped[uuid.UUID]
    step_id: Mapped[uuid.UUID]
    entered_step_at: Mapped[datetime] = mapped_column(server_onupdate=FetchedValue())
    # Set by the `lead_view` trigger from the step; read back with RETURNING.
    view: Mapped[str] = mapped_column(
        String(16), server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    qualified_at: Mapped[datetime | None]
    handed_over_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    converted_at: Mapped[datetime | None]
    disqualified_at: Mapped[datetime | None]
    disqualify_reason: Mapped[str | None] = mapped_column(String(32))
    disqualify_notes: Mapped[str | None] = mapped_column(Text)
    # Sales handed it back to marketing (it returns to In Review with the reason).
    rejected_at: Mapped[datetime | None]
    # Who sent it back: row-level security lets that salesperson still read it.
    rejected_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reject_reason: Mapped[str | None] = mapped_column(String(32))
    reject_notes: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[uuid.UUID | None]
    deal_id: Mapped[uuid.UUID | None]
    # Normalised email, else phone digits, else company name: finds duplicates.
    dedupe_key: Mapped[str] = mapped_column(String(300))
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    deletion_id: Mapped[uuid.UUID | None]
    # The import batch that created or last updated the row (baton.imports).
    import_batch_id: Mapped[uuid.UUID | None]


class PoolEntry(TenantKeyed, Timestamped, Base):
    """A handed-over lead waiting for a salesperson: one row per pooled lead.

    Claiming deletes the row (`FOR UPDATE SKIP LOCKED` picks it), so the pool is
    exactly the unclaimed leads and concurrent claimers never wait on each other.
    """

    __tablename__ = "lead_pool"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "lead_id"], ["leads.tenant_id", "leads.id"]),
        UniqueConstraint("tenant_id", "lead_id"),
        Index("ix_lead_pool_claim_due", "tenant_id", "claim_due_at"),
        {"info": {"tenancy": "tenant"}},
    )

    lead_id: Mapped[uuid.UUID]
    entered_at: Mapped[datetime]
    # The claim SLA: after this the Sales Inbox flags the lead as overdue.
    claim_due_at: Mapped[datetime]
    handed_over_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class LeadEscalation(TenantKeyed, Timestamped, Base):
    """A pooled lead whose claim is overdue, escalated to the managers and admins.

    One row per pool entry (`pool_entry_id`, no FK: the claim deletes the pool row
    and must never wait on, or be skipped because of, a sweep): the first escalation
    inserts it, each repeat after the organization's `claim_escalation_hours` bumps
    `escalation_count`. The unique key makes two sweeps at once escalate an entry
    once: the second's insert waits for the first's and then finds it too recent. A
    lead that goes back to the pool is a new entry and is escalated afresh.
    """

    __tablename__ = "lead_escalations"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "lead_id"], ["leads.tenant_id", "leads.id"]),
        UniqueConstraint("tenant_id", "pool_entry_id"),
        CheckConstraint("escalation_count >= 1", name="escalation_count_positive"),
        Index("ix_lead_escalations_tenant_id_lead_id", "tenant_id", "lead_id"),
        {"info": {"tenancy": "tenant"}},
    )

    pool_entry_id: Mapped[uuid.UUID]
    lead_id: Mapped[uuid.UUID]
    escalated_at: Mapped[datetime]
    escalation_count: Mapped[int] = mapped_column(Integer)
