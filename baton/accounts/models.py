"""Accounts and their transaction ledger.

An account's status (tenure and activity, DESIGN §5) is never stored: the
`account_statuses` view computes it from the ledger and won deals on every read.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
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

# How a company name is compared (search prefix, find-or-create): lower case,
# punctuation dropped, runs of spaces collapsed. SQL, so the index serves it.
NAME_KEY_SQL = (
    "btrim(regexp_replace(regexp_replace(lower(name), '[^[:alnum:][:space:]]', '', 'g'),"
    " '[[:space:]]+', ' ', 'g'))"
)
CURRENCY_CHECK = "~ '^[A-Z]{3}$'"
MAX_TAGS = 20


class Tenure(StrEnum):
    PROSPECT = "prospect"
    NEW_CUSTOMER = "new_customer"
    ACTIVE_CUSTOMER = "active_customer"
    WINBACK_TARGET = "winback_target"


class ActivityLevel(StrEnum):
    ACTIVE = "active"
    PASSIVE = "passive"
    INACTIVE = "inactive"
    NO_TRANSACTION = "no_transaction"


class Account(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("length(btrim(name)) BETWEEN 1 AND 200", name="name_length"),
        # Stored normalised by the service: "https://www.Acme.com/" → "acme.com".
        CheckConstraint(
            "domain IS NULL OR (domain = lower(domain) AND domain ~ '^[a-z0-9-]+(\\.[a-z0-9-]+)+$'"
            " AND length(domain) <= 253)",
            name="domain_normalised",
        ),
        CheckConstraint(
            "tax_id IS NULL OR length(btrim(tax_id)) BETWEEN 1 AND 64", name="tax_id_length"
        ),
        CheckConstraint("address IS NULL OR length(address) <= 1000", name="address_length"),
        CheckConstraint("industry IS NULL OR length(industry) <= 100", name="industry_length"),
        CheckConstraint(f"cardinality(tags) <= {MAX_TAGS}", name="tags_count"),
        CheckConstraint("(deleted_at IS NULL) = (deletion_id IS NULL)", name="deletion_complete"),
        # Unique among live accounts; a restore that would collide is refused (409).
        Index(
            "uq_accounts_domain",
            "tenant_id",
            "domain",
            unique=True,
            postgresql_where=text("domain IS NOT NULL AND deleted_at IS NULL"),
        ),
        Index(
            "uq_accounts_tax_id",
            "tenant_id",
            "tax_id",
            unique=True,
            postgresql_where=text("tax_id IS NOT NULL AND deleted_at IS NULL"),
        ),
        # Find-or-create by normalised name and by domain.
        Index(
            "ix_accounts_name_key",
            "tenant_id",
            "name_key",
            postgresql_ops={"name_key": "text_pattern_ops"},
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_accounts_domain_prefix",
            "tenant_id",
            "domain",
            postgresql_ops={"domain": "text_pattern_ops"},
            postgresql_where=text("domain IS NOT NULL AND deleted_at IS NULL"),
        ),
        Index(
            "ix_accounts_owner",
            "tenant_id",
            "owner_id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # Words anywhere in the name, domain and tax id (`baton.db.search`).
        *search.indexes("accounts", phone=False),
        *import_batch_refs("accounts"),
        {"info": {"tenancy": "tenant"}},
    )

    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(Text, Computed(NAME_KEY_SQL, persisted=True))
    search_doc: Mapped[str] = search.document_column(search.ACCOUNTS)
    domain: Mapped[str | None] = mapped_column(String(253))
    tax_id: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    industry: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default="{}")
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # Everything one deletion soft-deleted (contacts, deals, activities) shares this id,
    # so a restore brings back exactly that set.
    deletion_id: Mapped[uuid.UUID | None]
    # The import batch that created or last updated the row (baton.imports).
    import_batch_id: Mapped[uuid.UUID | None]


class AccountTransaction(TenantKeyed, Timestamped, Versioned, Base):
    """One ledger line (an invoice, an order): what the activity status is computed from."""

    __tablename__ = "account_transactions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.id"]),
        CheckConstraint(f"currency {CURRENCY_CHECK}", name="currency_code"),
        CheckConstraint(
            "reference IS NULL OR length(btrim(reference)) BETWEEN 1 AND 200",
            name="reference_length",
        ),
        CheckConstraint("amount BETWEEN -1e12 AND 1e12", name="amount_range"),
        # A reference names one line: importing the same file twice adds nothing.
        Index(
            "uq_account_transactions_reference",
            "tenant_id",
            "account_id",
            "reference",
            unique=True,
            postgresql_where=text("reference IS NOT NULL"),
        ),
        Index("ix_account_transactions_account", "tenant_id", "account_id", "occurred_on"),
        *import_batch_refs("account_transactions"),
        {"info": {"tenancy": "tenant"}},
    )

    account_id: Mapped[uuid.UUID]
    occurred_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # The import batch that created or last updated the row (baton.imports).
    import_batch_id: Mapped[uuid.UUID | None]


class AccountWinback(TenantKeyed, Timestamped, Base):
    """An account that went quiet, seen by the account-status sweep: one row per lapse.

    A lapse is the account's computed status turning `inactive` (activity) or
    `winback_target` (tenure) since its last ledger transaction, so it is keyed by
    that date (`last_transaction_on`): the sweep announces it
    (`account.status_changed`), notes it on the timeline and enrols the account in the
    organization's winback cadence once per lapse, and a new transaction followed by a
    new lapse is a new row. The unique key makes two sweeps at once act once: the
    second's insert waits for the first's and finds it. `cadence_id` is the cadence it
    went to (null: the organization had none; the first sweep that finds one sets it
    and enrols), `enrollment_id` the enrolment the sweep made (null: none, or the
    account was already enrolled in that cadence).
    """

    __tablename__ = "account_winbacks"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.id"]),
        ForeignKeyConstraint(["tenant_id", "cadence_id"], ["cadences.tenant_id", "cadences.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "enrollment_id"],
            ["cadence_enrollments.tenant_id", "cadence_enrollments.id"],
        ),
        UniqueConstraint("tenant_id", "account_id", "last_transaction_on"),
        CheckConstraint(enum_check("tenure", Tenure), name="tenure_valid"),
        CheckConstraint(enum_check("activity", ActivityLevel), name="activity_valid"),
        {"info": {"tenancy": "tenant"}},
    )

    account_id: Mapped[uuid.UUID]
    last_transaction_on: Mapped[date] = mapped_column(Date)
    # The status the sweep saw.
    tenure: Mapped[str] = mapped_column(String(16))
    activity: Mapped[str] = mapped_column(String(16))
    cadence_id: Mapped[uuid.UUID | None]
    enrollment_id: Mapped[uuid.UUID | None]
