"""Shapes for accounts, their computed status, their ledger and their overview.

Amounts are decimals: accepted as a JSON number or string with at most two decimal
places, always answered as a string with exactly two ("1250.00"), so no client
ever meets a binary float rounding a sum of money.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from baton.accounts.models import MAX_TAGS, ActivityLevel, Tenure
from baton.core.schemas import Day, MoneyText, Name, Schema

MAX_VERSION = 2_147_483_647
# What a user may paste as a domain: a whole URL is fine, it is cut down to the host.
MAX_DOMAIN_INPUT = 2048

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def normalise_domain(value: str) -> str:
    """A company's web domain as stored: "https://www.Acme.com/about" → "acme.com".

    Lower case; scheme, user info, port, path, query and fragment dropped; a leading
    `www.` and a trailing dot dropped; international names in their ASCII (IDNA)
    form. Raises ValueError when what is left is not a host name with at least two
    labels — the same rule the `domain_normalised` CHECK holds the table to.
    """
    host = value.strip().lower()
    host = _SCHEME.sub("", host)
    host = re.split(r"[/?#\\]", host, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1]
    host = re.sub(r":\d*$", "", host)
    host = host.rstrip(".").removeprefix("www.")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError("is not a valid domain (e.g. acme.com)") from exc
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        # A top-level domain is never all digits: "10.0.0.1" is an address, not a domain.
        or labels[-1].isdigit()
    ):
        raise ValueError("is not a valid domain (e.g. acme.com)")
    return host


def normalise_tax_id(value: str) -> str:
    """Tax ids compare without case or spaces: "de 123 456 789" is "DE123456789"."""
    compact = re.sub(r"\s+", "", value).upper()
    if not 1 <= len(compact) <= 64:
        raise ValueError("must be 1 to 64 characters, spaces aside")
    return compact


def _unique_tags(tags: list[str]) -> list[str]:
    # Order kept (the user's), duplicates dropped: a tag is a set member.
    return list(dict.fromkeys(tags))


Domain = Annotated[
    str,
    StringConstraints(max_length=MAX_DOMAIN_INPUT),
    AfterValidator(normalise_domain),
    Field(
        description="The company's web domain, or any URL on it: stored as its host name"
        " in lower case, without `www.` (`https://www.Acme.com/about` is `acme.com`);"
        " at least two labels, international names in their ASCII form.",
        examples=["acme.com"],
    ),
]
TaxId = Annotated[
    str,
    StringConstraints(max_length=200),
    AfterValidator(normalise_tax_id),
    Field(
        description="A tax or VAT id: 1 to 64 characters once spaces are dropped; stored"
        " in upper case without spaces (`de 123 456 789` is `DE123456789`), unique among"
        " the organization's live accounts.",
        examples=["DE123456789"],
    ),
]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Industry = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique_tags)]
Version = Annotated[int, Field(ge=1, le=MAX_VERSION)]


def _currency_code(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError("must be a three-letter ISO 4217 code (e.g. EUR)")
    return code


Currency = Annotated[str, StringConstraints(max_length=10), AfterValidator(_currency_code)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


# A ledger line may be negative (a credit note, a refund); the bound is the column's.
Amount = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=2, ge=Decimal("-1e12"), le=Decimal("1e12")),
    AfterValidator(_cents),
    MoneyText(),
]


class AccountListFilters(BaseModel):
    """The accounts list's query parameters (`GET /api/v1/accounts`, the accounts
    page): what a saved view of that list may hold. Text in, as a URL carries it."""

    model_config = ConfigDict(extra="ignore")

    q: (
        Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
        | None
    ) = None
    owner: Literal["me"] | None = None
    tenure: Tenure | None = None
    activity: ActivityLevel | None = None


class AccountIn(Schema):
    name: Name
    domain: Domain | None = None
    tax_id: TaxId | None = None
    address: Address | None = None
    industry: Industry | None = None
    # Default: the caller.
    owner_id: uuid.UUID | None = None
    tags: Tags = Field(default_factory=list)


class AccountPatch(Schema):
    """Only the fields sent change; null clears an optional field."""

    name: Name | None = None
    domain: Domain | None = None
    tax_id: TaxId | None = None
    address: Address | None = None
    industry: Industry | None = None
    owner_id: uuid.UUID | None = None
    tags: Tags | None = None
    version: Version | None = None


class AccountStatusOut(Schema):
    """Computed on every read by the `account_statuses` view (DESIGN §5); never stored."""

    tenure: Tenure
    activity: ActivityLevel
    # The first won deal or ledger line, whichever came first.
    customer_since: date | None
    first_transaction_on: date | None
    last_transaction_on: date | None
    first_won_on: date | None


class AccountOut(Schema):
    id: uuid.UUID
    name: str
    domain: str | None
    tax_id: str | None
    address: str | None
    industry: str | None
    owner_id: uuid.UUID
    tags: list[str]
    status: AccountStatusOut
    created_at: datetime
    updated_at: datetime
    version: int


class TransactionIn(Schema):
    occurred_on: Day
    amount: Amount
    # Default: the organization's default currency.
    currency: Currency | None = None
    reference: Reference | None = None


class TransactionOut(Schema):
    id: uuid.UUID
    account_id: uuid.UUID
    occurred_on: date
    amount: Decimal
    currency: str
    reference: str | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class RecordRef(Schema):
    """A related record as a read shows it: a deleted one is named "Deleted contact" (or
    deal), never an error."""

    id: uuid.UUID
    name: str
    deleted: bool


class ContactSummary(Schema):
    id: uuid.UUID
    first_name: str
    last_name: str | None
    email: str | None
    phone: str | None
    title: str | None
    version: int


class DealStepOut(Schema):
    id: uuid.UUID
    key: str
    name: str
    category: str


class DealSummary(Schema):
    id: uuid.UUID
    name: str
    amount: Decimal | None
    currency: str
    owner_id: uuid.UUID
    step: DealStepOut
    contact: RecordRef | None
    expected_close_date: date | None
    next_step: str | None
    next_step_due_date: date | None
    outcome: str | None
    win_reason: str | None
    loss_reason: str | None
    closed_at: datetime | None
    version: int


class ActivitySummary(Schema):
    id: uuid.UUID
    type: str
    subject: str
    status: str
    due_at: datetime | None
    completed_at: datetime | None
    outcome: str | None
    owner_id: uuid.UUID | None
    contact: RecordRef | None
    deal: RecordRef | None


class AccountOverviewOut(Schema):
    account: AccountOut
    contacts: list[ContactSummary]
    open_deals: list[DealSummary]
    # Done activities of the account, its contacts and its deals, newest first.
    recent_activities: list[ActivitySummary]
    # Planned ones, soonest due first (undated last).
    upcoming_activities: list[ActivitySummary]
    # Won and lost deals, most recently closed first.
    closed_deals: list[DealSummary]
