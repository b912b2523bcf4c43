"""Deals: governed by the sales-pipeline workflow; closing one needs its reason.

The database backs every rule the service states: an open deal has an owner, a next
step and its due date; a won deal its win reason, a lost one its loss reason
(`other` with notes); the outcome matches the category of the step the deal is on
(the `deal_outcome_matches_step` trigger); cards of one column have distinct ranks.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    FetchedValue,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from baton.accounts.models import CURRENCY_CHECK
from baton.db import ddl, search
from baton.db.base import (
    Base,
    TenantKeyed,
    Timestamped,
    Versioned,
    enum_check,
    import_batch_refs,
)

# Board order: a base-36 string compared byte by byte (COLLATE "C"), so a card moved
# between two others gets a rank between theirs and no other row changes.
RANK_PATTERN = "^[0-9a-z]{1,64}$"


# What the win-rate and forecast reports read of a closed deal (`ix_deals_closed`).
CLOSED_INCLUDED = [
    "workflow_id",
    "outcome",
    "owner_id",
    "currency",
    "amount",
    "win_reason",
    "loss_reason",
    "created_at",
]


class DealOutcome(StrEnum):
    WON = "won"
    LOST = "lost"


class Deal(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "deals"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.id"]),
        ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"]),
        ForeignKeyConstraint(["tenant_id", "workflow_id"], ["workflows.tenant_id", "workflows.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "workflow_id", "step_id"],
            ["workflow_steps.tenant_id", "workflow_steps.workflow_id", "workflow_steps.id"],
        ),
        CheckConstraint("length(btrim(name)) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint("amount IS NULL OR amount BETWEEN 0 AND 1e12", name="amount_range"),
        CheckConstraint(f"currency {CURRENCY_CHECK}", name="currency_code"),
        CheckConstraint(
            "probability IS NULL OR probability BETWEEN 0 AND 100", name="probability_range"
        ),
        CheckConstraint(
            "next_step IS NULL OR length(btrim(next_step)) BETWEEN 1 AND 200",
            name="next_step_length",
        ),
        # An open deal always says what happens next, and when (DESIGN §5).
        CheckConstraint(
            "outcome IS NOT NULL OR (next_step IS NOT NULL AND next_step_due_date IS NOT NULL)",
            name="open_has_next_step",
        ),
        CheckConstraint(enum_check("outcome", DealOutcome), name="outcome_valid"),
        CheckConstraint("(outcome IS NULL) = (closed_at IS NULL)", name="closed_when_outcome"),
        CheckConstraint(
            "outcome IS DISTINCT FROM 'won' OR win_reason IS NOT NULL", name="won_has_reason"
        ),
        CheckConstraint(
            "outcome IS DISTINCT FROM 'lost' OR loss_reason IS NOT NULL", name="lost_has_reason"
        ),
        CheckConstraint(
            "(win_reason IS NULL OR outcome = 'won') AND (loss_reason IS NULL OR outcome = 'lost')",
            name="reason_matches_outcome",
        ),
        CheckConstraint(
            "'other' NOT IN (coalesce(win_reason, ''), coalesce(loss_reason, ''))"
            " OR length(btrim(coalesce(close_notes, ''))) > 0",
            name="other_reason_has_notes",
        ),
        CheckConstraint(
            "close_notes IS NULL OR length(close_notes) <= 10000", name="close_notes_length"
        ),
        # What the deal came from: a lead's source, stated need and notes (or a
        # target's notes), carried over when a claim or conversion opens it.
        CheckConstraint("source IS NULL OR length(source) <= 100", name="source_length"),
        CheckConstraint("need IS NULL OR length(need) <= 2000", name="need_length"),
        CheckConstraint("notes IS NULL OR length(notes) <= 10000", name="notes_length"),
        CheckConstraint(f"rank ~ '{RANK_PATTERN}'", name="rank_format"),
        CheckConstraint("(deleted_at IS NULL) = (deletion_id IS NULL)", name="deletion_complete"),
        # One position per card in a column: the board is a total order.
        Index(
            "uq_deals_board_rank",
            "tenant_id",
            "workflow_id",
            "step_id",
            "rank",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_deals_account",
            "tenant_id",
            "account_id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_deals_open_owner",
            "tenant_id",
            "owner_id",
            "next_step_due_date",
            postgresql_where=text("outcome IS NULL AND deleted_at IS NULL"),
        ),
        Index(
            "ix_deals_open_due",
            "tenant_id",
            "next_step_due_date",
            postgresql_where=text("outcome IS NULL AND deleted_at IS NULL"),
        ),
        # The reports' pipeline and forecast (baton/reports): open deals per column,
        # with what they sum and group by, read from the index alone.
        Index(
            "ix_deals_open_pipeline",
            "tenant_id",
            "workflow_id",
            "step_id",
            postgresql_include=[
                "currency",
                "probability",
                "amount",
                "owner_id",
                "expected_close_date",
            ],
            postgresql_where=text("outcome IS NULL AND deleted_at IS NULL"),
        ),
        # Closed deals by when (win rate, the forecast's won months), with what those
        # group and sum: read from the index alone. Open deals have no entry, so a
        # move of one writes nothing here.
        Index(
            "ix_deals_closed",
            "tenant_id",
            "closed_at",
            postgresql_include=CLOSED_INCLUDED,
            postgresql_where=text("outcome IS NOT NULL AND deleted_at IS NULL"),
        ),
        # The deals list's sorts on the deal's own columns (queries.SORT_KEYS), ties by
        # id, nulls last both ways: amount descending has its own order.
        *(
            Index(
                f"ix_deals_list_{name}",
                "tenant_id",
                *columns,
                postgresql_where=text("deleted_at IS NULL"),
            )
            for name, columns in (
                ("name", ("name", "id")),
                ("amount", ("amount", "id")),
                ("expected_close", ("expected_close_date", "id")),
                ("next_step_due", ("next_step_due_date", "id")),
                ("entered_step", ("entered_step_at", "id")),
            )
        ),
        Index(
            "ix_deals_list_amount_desc",
            "tenant_id",
            text("amount DESC NULLS LAST"),
            text("id DESC"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # Some of those orders (and creation order) within one step: the deals list
        # filtered by stage pages each step on its own (queries._stage_keys). Only
        # the orders a stage is most read in: each index costs every move an insert.
        *(
            Index(
                f"ix_deals_step_{name}",
                "tenant_id",
                "step_id",
                *columns,
                postgresql_where=text("deleted_at IS NULL"),
            )
            for name, columns in (
                ("id", ("id",)),
                ("expected_close", ("expected_close_date", "id")),
                ("entered_step", ("entered_step_at", "id")),
            )
        ),
        Index(
            "ix_deals_step_amount_desc",
            "tenant_id",
            "step_id",
            text("amount DESC NULLS LAST"),
            text("id DESC"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # A restore finds what one deletion took.
        Index(
            "ix_deals_deletion",
            "tenant_id",
            "deletion_id",
            postgresql_where=text("deletion_id IS NOT NULL"),
        ),
        *import_batch_refs("deals"),
        # Words anywhere in the name: the one-box search (`baton.db.search`).
        *search.indexes("deals", phone=False),
        {"info": {"tenancy": "tenant", "governed": "deal"}},
    )

    name: Mapped[str] = mapped_column(String(200))
    search_doc: Mapped[str] = search.document_column(search.DEALS)
    account_id: Mapped[uuid.UUID]
    contact_id: Mapped[uuid.UUID | None]
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    # An override of the step's probability; null: the step's.
    probability: Mapped[int | None] = mapped_column(SmallInteger)
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    next_step: Mapped[str | None] = mapped_column(String(200))
    next_step_due_date: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(8))
    win_reason: Mapped[str | None] = mapped_column(String(32))
    loss_reason: Mapped[str | None] = mapped_column(String(32))
    close_notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(100))
    need: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    # No server defaults: the service sets workflow and step from the default pipeline.
    workflow_id: Mapped[uuid.UUID]
    step_id: Mapped[uuid.UUID]
    entered_step_at: Mapped[datetime] = mapped_column(server_onupdate=FetchedValue())
    rank: Mapped[str] = mapped_column(String(64, collation="C"))
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    deletion_id: Mapped[uuid.UUID | None]
    # The import batch that created or last updated the row (baton.imports).
    import_batch_id: Mapped[uuid.UUID | None]


class PipelineColumnTotal(Base):
    """Per column, currency and shard: how many live deals, and their amounts summed.

    Bookkeeping kept exact by the `pipeline_totals_*` triggers on deals (whoever writes
    them), so the board reads its counts and sums in O(steps) instead of aggregating
    every deal of the pipeline. Rows whose count fell to 0 stay (a handful per column).
    """

    __tablename__ = "pipeline_column_totals"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "workflow_id"], ["workflows.tenant_id", "workflows.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "workflow_id", "step_id"],
            ["workflow_steps.tenant_id", "workflow_steps.workflow_id", "workflow_steps.id"],
        ),
        CheckConstraint(f"currency {CURRENCY_CHECK}", name="currency_code"),
        # Shards spread concurrent moves in one column over several rows; the trigger
        # picks one from the deal id, so a deal always leaves the shard it entered.
        CheckConstraint(
            f"shard BETWEEN 0 AND {ddl.PIPELINE_TOTALS_SHARDS - 1}", name="shard_range"
        ),
        # Written only by the trigger, as the app role: no DELETE.
        {
            "info": {
                "tenancy": "tenant",
                "audited": False,
                "app_privileges": ("SELECT", "INSERT", "UPDATE"),
            }
        },
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    workflow_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    step_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    deal_count: Mapped[int] = mapped_column(BigInteger)
    # Deals with an amount: a currency whose deals all lack one has no total (NULL),
    # as SUM over the deals would say, rather than 0.
    amount_count: Mapped[int] = mapped_column(BigInteger)
    # Wider than a deal's numeric(14,2): a column may hold many deals at the maximum.
    amount_total: Mapped[Decimal] = mapped_column(Numeric(20, 2))


class NextStepDigest(TenantKeyed, Timestamped, Base):
    """The day an owner got their overdue next-step digest: one row per owner and day.

    The next-step sweep inserts it and notifies only the owners its insert wrote
    (`ON CONFLICT DO NOTHING RETURNING`): a second sweep that day, or one running at
    the same time, finds the row and sends nothing.
    """

    __tablename__ = "next_step_digests"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "day"),
        CheckConstraint("deal_count >= 1", name="deal_count_positive"),
        {"info": {"tenancy": "tenant"}},
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # The organization's calendar day (its time zone) the digest was for.
    day: Mapped[date] = mapped_column(Date)
    deal_count: Mapped[int] = mapped_column(Integer)
