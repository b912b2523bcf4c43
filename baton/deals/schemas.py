"""Shapes for deals, their moves and closes, and the pipeline board (DESIGN §6)."""

from __future__ import annotations

import calendar
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from baton.core.schemas import PLAIN_NUMBER, Day, MoneyText, Name, Schema, ShortText
from baton.deals.models import DealOutcome
from baton.workflow.schemas import StepRef
from baton.workitems.schemas import PlannedEffectOut

Notes = Annotated[str, StringConstraints(max_length=10_000)]
Version = Annotated[int, Field(ge=1, le=2_147_483_647)]
# numeric(14, 2) and the `amount_range` CHECK.
Amount = Annotated[
    Decimal, Field(ge=0, le=Decimal("999999999999.99"), decimal_places=2), MoneyText()
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Probability = Annotated[int, Field(ge=0, le=100)]
NextStep = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Where the deal came from and what the customer needs (a lead's source and need).
Source = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Need = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class DealView(StrEnum):
    """The lists of DESIGN §5: open deals (all, mine, next step overdue) and closed ones."""

    PIPELINE = "pipeline"
    MINE = "mine"
    OVERDUE = "overdue"
    CLOSED = "closed"


# The deals list's sortable columns; `-name` sorts descending. `days_in_stage` counts
# from the day the deal entered its step (ascending: the freshest first).
DEAL_SORT_KEYS = (
    "name",
    "account",
    "stage",
    "amount",
    "weighted",
    "owner",
    "expected_close",
    "next_step_due",
    "days_in_stage",
)
DEAL_SORT_PATTERN = "^-?(" + "|".join(DEAL_SORT_KEYS) + ")$"
StageKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]
# A list's search text, as `baton.core.pagination.SearchQuery` takes it (no NUL:
# PostgreSQL text cannot hold one).
SearchText = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


def _plain_decimal_text(value: Any) -> Any:
    """A filter's amount as text (a query string's, or a JSON body's money text) is a
    plain decimal, as the document's pattern says: `1e3` or ` 12` is refused here
    too, not read as a number."""
    if isinstance(value, str) and not PLAIN_NUMBER.fullmatch(value):
        raise PydanticCustomError("number_format", "Input should be a plain decimal number")
    return value


# An amount bound of the deals list: money, in a query string or a JSON body.
FilterAmount = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("999999999999.99"), decimal_places=2),
    BeforeValidator(_plain_decimal_text),
    MoneyText(),
]

# The list's amount bounds, by filter name, as the deals list's form labels them and
# its messages name them (the list page and the bulk bar read both from here).
AMOUNT_FILTERS = {"amount_min": "Amount from", "amount_max": "Amount to"}


class DealListFilters(BaseModel):
    """Which deals the list shows and in what order: the query parameters of
    `GET /api/v1/deals` and of the deals list page, and what a saved view of that list
    may hold. Text in, as a URL carries it (no `Schema` strictness: every value of a
    query string is text)."""

    model_config = ConfigDict(extra="ignore")

    q: SearchText | None = Field(
        None,
        description="Words found anywhere in the deal's name (each the start of a word; "
        "case, accents and punctuation ignored), combined with the other filters. Without "
        "`sort`, best matches first (the name starting with `q`, then every word in the "
        "name) and a page continues only with a cursor of the same search; with `sort`, "
        "in that order. A `q` without letters or digits matches nothing",
    )
    view: DealView | None = Field(
        None,
        description="`pipeline` (open), `mine` (open, yours), "
        "`overdue` (open, next step due before today), `closed` (won or lost)",
    )
    account_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = Field(None, description="Deals this member owns")
    stage: StageKey | None = Field(
        None, description="Deals on the step with this key (`proposal`), in any version"
    )
    amount_min: FilterAmount | None = Field(None, description="Amount at least this")
    amount_max: FilterAmount | None = Field(
        None, description="Amount at most this (not below `amount_min`)"
    )
    close_month: Month | None = Field(
        None, description="Expected to close in this month, `YYYY-MM`"
    )
    overdue: bool | None = Field(
        None, description="true: open deals whose next step was due before today"
    )
    sort: Annotated[str, StringConstraints(pattern=DEAL_SORT_PATTERN)] | None = Field(
        None,
        description="Order by one column, `-` first for descending: "
        + ", ".join(DEAL_SORT_KEYS)
        + ". Rows without a value come last either way; ties in creation order (newest "
        "first when descending). "
        "Absent: creation order",
    )

    @field_validator("amount_max")
    @classmethod
    def _not_below_min(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        low = info.data.get("amount_min")
        if value is not None and low is not None and value < low:
            raise ValueError("must not be below amount_min")
        return value

    @field_validator("close_month")
    @classmethod
    def _a_calendar_month(cls, value: str | None) -> str | None:
        if value is not None and value.startswith("0000"):
            raise ValueError("must be a month of the years 0001 to 9999")
        return value

    def month_range(self) -> tuple[date, date] | None:
        """The first and the last day of `close_month`."""
        if self.close_month is None:
            return None
        year, month = (int(part) for part in self.close_month.split("-"))
        last = calendar.monthrange(year, month)[1]
        return date(year, month, 1), date(year, month, last)

    def as_params(self) -> dict[str, str]:
        """The filters set, as a URL writes them (what a saved view stores)."""
        found = self.model_dump(exclude_none=True, mode="json")
        return {
            key: str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in found.items()
        }


class DealIn(Schema):
    name: Name
    account_id: uuid.UUID
    contact_id: uuid.UUID | None = None
    # The caller when absent; otherwise a member who can write.
    owner_id: uuid.UUID | None = None
    amount: Amount | None = None
    # None: the organization's default currency.
    currency: Currency | None = None
    # An override of the step's probability.
    probability: Probability | None = None
    expected_close_date: Day | None = None
    # Both required, unless a cadence is started: its earliest activity is then the
    # next step when none is given.
    next_step: NextStep | None = None
    next_step_due_date: Day | None = None
    source: Source | None = None
    need: Need | None = None
    notes: Notes | None = None
    # Enrol the new deal in this cadence of the organization, in the same transaction:
    # its activities are planned for the deal's owner.
    cadence_id: uuid.UUID | None = None


class DealPatch(Schema):
    """Only the fields sent change. The step changes by a move or a close; an open deal
    keeps a next step and its due date (sending null for either is 422)."""

    name: Name | None = None
    contact_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    probability: Probability | None = None
    expected_close_date: Day | None = None
    next_step: NextStep | None = None
    next_step_due_date: Day | None = None
    source: Source | None = None
    need: Need | None = None
    notes: Notes | None = None
    # With a new owner: the previous owner's planned activities on the deal, and its
    # live cadence enrolments, go to the new owner too (false: they stay).
    planned_work_follows: bool = True
    version: Version | None = None


class MoveFields(Schema):
    """Deal columns a move may fill in on the way (a step may require them)."""

    amount: Amount | None = None
    currency: Currency | None = None
    probability: Probability | None = None
    expected_close_date: Day | None = None
    next_step: NextStep | None = None
    next_step_due_date: Day | None = None


class DealMoveIn(Schema):
    """A step change along a transition, or a reorder within the column (same step).

    `after_id` / `before_id` name cards of the target column to land between (one of
    them is enough); without either the card goes to the end of the column.
    """

    to_step_id: uuid.UUID
    version: Version
    reason: ShortText | None = None
    notes: Notes | None = None
    fields: MoveFields = Field(default_factory=MoveFields)
    after_id: uuid.UUID | None = None
    before_id: uuid.UUID | None = None
    dry_run: bool = False


class CloseIn(Schema):
    outcome: DealOutcome
    reason: ShortText | None = None
    notes: Notes | None = None
    version: Version

    @model_validator(mode="after")
    def _notes_not_blank(self) -> CloseIn:
        # Whitespace is no note: the database's `other` rule trims before it counts.
        if self.notes is not None and not self.notes.strip():
            self.notes = None
        return self


class DealOut(Schema):
    id: uuid.UUID
    name: str
    account_id: uuid.UUID
    contact_id: uuid.UUID | None
    owner_id: uuid.UUID
    amount: Decimal | None
    currency: str
    # The override when set, else the step's.
    probability: float | None
    probability_override: int | None
    expected_close_date: date | None
    next_step: str | None
    next_step_due_date: date | None
    outcome: DealOutcome | None
    win_reason: str | None
    loss_reason: str | None
    close_notes: str | None
    closed_at: datetime | None
    source: str | None
    need: str | None
    notes: str | None
    workflow_id: uuid.UUID
    step: StepRef
    entered_step_at: datetime
    rank: str
    created_at: datetime
    updated_at: datetime
    version: int


class DealMoveOut(Schema):
    deal: DealOut
    from_step: StepRef
    to_step: StepRef
    backwards: bool
    dry_run: bool
    # What the transition's effects do (or, on a dry run, would do).
    effects: list[PlannedEffectOut]


class CloseOut(Schema):
    deal: DealOut
    from_step: StepRef
    to_step: StepRef
    # Planned activities of the deal cancelled by the close.
    cancelled_activities: int
    effects: list[PlannedEffectOut]


class DealHistoryEntryOut(Schema):
    id: uuid.UUID
    from_step: StepRef | None
    to_step: StepRef
    actor_id: uuid.UUID | None
    reason: str | None
    notes: str | None
    fields: dict[str, Any]
    at: datetime
    seconds_in_previous_step: float | None
    # How long the deal stayed in `to_step`: until the next entry, or until now.
    seconds_in_step: float
    current: bool
    backwards: bool


class AmountTotal(Schema):
    currency: str
    amount: Decimal


class PipelineColumnOut(Schema):
    step: StepRef
    count: int
    # Sum of the column's amounts, per currency (deals without an amount add nothing).
    totals: list[AmountTotal]
    items: list[DealOut]


class PipelineOut(Schema):
    workflow_id: uuid.UUID
    columns: list[PipelineColumnOut]
