"""Shapes of `POST /api/v1/{deals|leads|targets|accounts|contacts}/bulk`.

A request names its rows by `ids` or by `filter` (the list API's own filters), one
`action`, and that action's parameters; the answer holds one result per row.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from baton.accounts.schemas import AccountListFilters, Tag
from baton.bulk.models import BulkRunStatus
from baton.core.schemas import Schema, ShortText
from baton.deals.schemas import DealListFilters
from baton.leads.models import LeadView
from baton.leads.schemas import TriageStatus
from baton.targets.schemas import StepKey

# Rows one request may name (by ids, or matched by a filter).
MAX_ROWS = 1000
# Rows acted on inside the request; more run as a background job (202).
SYNC_ROWS = 200

Notes = Annotated[str, StringConstraints(max_length=10_000)]
Query = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
RowIds = Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_ROWS)]


class BulkAction(StrEnum):
    CHANGE_OWNER = "change_owner"
    ADD_TAG = "add_tag"
    ENROL = "enrol"
    MOVE = "move"
    DELETE = "delete"
    RESTORE = "restore"


class RowStatus(StrEnum):
    """What became of one row."""

    MOVED = "moved"
    UPDATED = "updated"
    ENROLLED = "enrolled"
    DELETED = "deleted"
    RESTORED = "restored"
    # Nothing to do: the row already was as asked (same stage, tag already there).
    UNCHANGED = "unchanged"
    # The single change would have been refused; the reason is the one it gives.
    REFUSED = "refused"
    # No such record in the organization (or one the caller cannot see), or deleted.
    NOT_FOUND = "not_found"


class BulkRequest(Schema):
    """Exactly one of `ids` and `filter`. Parameters by action: `change_owner` needs
    `owner_id`, `add_tag` a `tag`, `enrol` a `cadence_id`, `move` the target stage
    (`to_step_id` for deals, `status` — a step key — for leads and targets) with the
    transition's `reason` and `notes` when it asks for them."""

    # Where a move names its target stage.
    STAGE_FIELD: ClassVar[str] = "status"

    ids: RowIds | None = None
    filter: Schema | None = None
    action: str
    owner_id: uuid.UUID | None = None
    tag: Tag | None = None
    cadence_id: uuid.UUID | None = None
    reason: ShortText | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _rows_and_parameters(self) -> BulkRequest:
        if (self.ids is None) == (self.filter is None):
            raise ValueError("send exactly one of ids and filter")
        needed = {
            BulkAction.CHANGE_OWNER: "owner_id",
            BulkAction.ADD_TAG: "tag",
            BulkAction.ENROL: "cadence_id",
            BulkAction.MOVE: self.STAGE_FIELD,
        }.get(BulkAction(self.action))
        if needed is not None and getattr(self, needed, None) is None:
            raise ValueError(f"{needed} is required for {self.action}")
        if self.notes is not None and not self.notes.strip():
            self.notes = None
        return self


class DealFilter(DealListFilters, Schema):
    """The deals list's filters (`DealListFilters`: the same fields, rules and sort,
    declared once) as a JSON body carries them: strict like every body, so amounts are
    numbers and `overdue` is true or false, and an unknown filter is refused rather
    than ignored. "All matching" is then exactly the rows the list shows."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class DealBulkIn(BulkRequest):
    action: Literal["change_owner", "enrol", "move", "delete", "restore"]
    filter: DealFilter | None = None
    to_step_id: uuid.UUID | None = None

    STAGE_FIELD: ClassVar[str] = "to_step_id"


class LeadFilter(Schema):
    """`GET /api/v1/leads`'s filters: one queue (not `team`), and words."""

    view: LeadView
    q: Query | None = None


class LeadBulkIn(BulkRequest):
    """`change_owner` assigns pooled leads to a salesperson (admins, managers); `move`
    triages (`status`: in_review, qualified, nurture, disqualified)."""

    action: Literal["change_owner", "move"]
    filter: LeadFilter | None = None
    status: TriageStatus | None = None


class TargetFilter(Schema):
    """`GET /api/v1/targets`'s filters."""

    status: StepKey | None = None
    q: Query | None = None


class TargetBulkIn(BulkRequest):
    action: Literal["change_owner", "move", "delete", "restore"]
    filter: TargetFilter | None = None
    status: StepKey | None = None


class AccountFilter(AccountListFilters, Schema):
    """The accounts list's filters (`AccountListFilters`, declared once) as a strict
    JSON body: an unknown filter is refused rather than ignored."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class AccountBulkIn(BulkRequest):
    action: Literal["change_owner", "add_tag", "enrol", "delete", "restore"]
    filter: AccountFilter | None = None


class ContactFilter(Schema):
    """`GET /api/v1/contacts`'s filters."""

    account_id: uuid.UUID | None = None
    q: Query | None = None


class ContactBulkIn(BulkRequest):
    action: Literal["enrol", "delete", "restore"]
    filter: ContactFilter | None = None


class RowProblemField(Schema):
    field: str
    message: str


class RowProblem(Schema):
    """Why a row was refused or not found: the single change's Problem, in short."""

    title: str
    detail: str
    errors: list[RowProblemField] = Field(default_factory=list)


class BulkRowOut(Schema):
    id: uuid.UUID
    status: RowStatus
    error: RowProblem | None = None


class BulkOut(Schema):
    """The answer: at once (200, `completed`, `run_id` null) up to `SYNC_ROWS` rows;
    above, 202 `running` with the `run_id` to poll (`GET /api/v1/bulk-runs/{id}`),
    whose answer has the same shape, its results growing as the job goes."""

    run_id: uuid.UUID | None = None
    status: BulkRunStatus
    action: BulkAction
    # Rows named (duplicates answered once) or matched by the filter.
    total: int
    # Rows done so far (all of them once `completed`).
    done: int
    # How many rows ended in each status (only the statuses that occurred).
    counts: dict[RowStatus, int]
    # One per row done, in row order.
    results: list[BulkRowOut]
