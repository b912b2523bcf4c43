"""Writing deals: every rule of DESIGN §3 to §5 for them, backed by the database.

A deal is a record governed by the sales pipeline (the Deal project type's default
workflow). It moves through `move_deal` (open steps, and reorders within a column)
and ends through `close_deal` (the won or lost step, with its reason); each is one
transaction: the step change, its history row (trigger), its "Stage changed"
timeline entry, its audit rows (trigger) and the transition's effects.

Board order lives in `rank` (see `baton.deals.ranks`): placing a card writes that
card's rank only, except when its gap is exhausted and the column is rebalanced.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

import asyncpg
from sqlalchemy import (
    Boolean,
    Date,
    Numeric,
    Row,
    Select,
    SmallInteger,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)

from baton.accounts.models import Account
from baton.accounts.restoring import lock_account_of, refuse_while_account_deleted

# A module import, not its names: activities' service imports this module in turn.
from baton.activities.deletion import delete_planned_activities, restore_activities
from baton.activities.models import Activity, ActivityStatus
from baton.activities.timeline import stage_change_entry, stage_change_subject
from baton.cadences import service as cadence_service
from baton.cadences.deletion import delete_live_enrollments, restore_enrollments
from baton.cadences.models import LIVE_STATUSES
from baton.contacts.models import Contact
from baton.core.context import Ctx
from baton.core.driver_transaction import NeedsSessionTransaction
from baton.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    RuleViolation,
    StaleVersion,
    TransitionRejected,
    ValidationFailed,
)
from baton.core.ids import uuid7
from baton.core.pagination import SortedPageRequest
from baton.core.versioning import check_sent_version, check_version
from baton.core.zones import zone_named
from baton.db import search
from baton.db.base import restore_deleted
from baton.db.driver import DriverStatement
from baton.deals import queries, ranks
from baton.deals.models import Deal, DealOutcome
from baton.deals.schemas import (
    CloseIn,
    DealIn,
    DealListFilters,
    DealMoveIn,
    DealPatch,
    DealView,
    MoveFields,
)
from baton.identity.access import WRITERS, require_role
from baton.identity.models import Membership, TenantSettings
from baton.identity.queries import may_own_records, member_zone, on_behalf, writer_name
from baton.notifications.models import NotificationKind
from baton.notifications.service import notify
from baton.webhooks.events import emit, outbox_cte
from baton.workflow import effects, engine
from baton.workflow import service as workflow_service
from baton.workflow.models import (
    EntityType,
    ProjectType,
    StatusCategory,
    Workflow,
    WorkflowHistory,
    WorkflowStep,
)

DEALS: Table = Deal.__table__  # type: ignore[assignment]
# Every column but the search document (`baton.db.search`): rows never carry it.
DEAL_COLUMNS = search.answered_columns(DEALS)
ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]
ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
WORKFLOWS: Table = Workflow.__table__  # type: ignore[assignment]
PROJECT_TYPES: Table = ProjectType.__table__  # type: ignore[assignment]
STEPS: Table = WorkflowStep.__table__  # type: ignore[assignment]
MEMBERSHIPS: Table = Membership.__table__  # type: ignore[assignment]
TENANT_SETTINGS: Table = TenantSettings.__table__  # type: ignore[assignment]

# Another live card of the same column as the deal being placed (the `deals` row of
# the enclosing query); `_CARD` and `_NEXT` are two names for it, so one can be
# compared with the other.
_CARD = DEALS.alias("card")
_NEXT = DEALS.alias("next_card")


def _in_column(card: Any, step_id: Any) -> list[Any]:
    return [
        card.c.workflow_id == DEALS.c.workflow_id,
        card.c.step_id == step_id,
        card.c.deleted_at.is_(None),
        card.c.id != DEALS.c.id,
    ]


@dataclass(frozen=True)
class Neighbours:
    """What a placement needs to know about the target column, read with the deal."""

    after_rank: str | None
    before_rank: str | None
    next_after: str | None
    prev_before: str | None
    last_rank: str | None


def _neighbours_of(row: asyncpg.Record) -> Neighbours:
    return Neighbours(
        row["after_rank"],
        row["before_rank"],
        row["next_after"],
        row["prev_before"],
        row["last_rank"],
    )


def _board_key(workflow_id: Any, step_id: Any) -> Any:
    """The advisory lock of one board column (lock protocol: `move_deal`)."""
    return func.hashtextextended(func.concat("baton.board:", workflow_id, ":", step_id), 0)


def _wait_for_board(workflow_id: uuid.UUID, step_id: uuid.UUID, *, shared: bool) -> Any:
    """The statement that waits for a column's lock and holds it to commit."""
    key = _board_key(literal(workflow_id, Uuid), literal(step_id, Uuid))
    lock = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
    return select(lock(key))


def _neighbour_columns(step_id: Any) -> list[Any]:
    after = (
        select(_CARD.c.rank)
        .where(*_in_column(_CARD, step_id), _CARD.c.id == bindparam("after_id"))
        .scalar_subquery()
    )
    before = (
        select(_CARD.c.rank)
        .where(*_in_column(_CARD, step_id), _CARD.c.id == bindparam("before_id"))
        .scalar_subquery()
    )
    # Nested one level deeper: correlated explicitly to the outer deal row.
    after_of_next = (
        select(_CARD.c.rank)
        .where(*_in_column(_CARD, step_id), _CARD.c.id == bindparam("after_id"))
        .correlate(DEALS)
        .scalar_subquery()
    )
    before_of_prev = (
        select(_CARD.c.rank)
        .where(*_in_column(_CARD, step_id), _CARD.c.id == bindparam("before_id"))
        .correlate(DEALS)
        .scalar_subquery()
    )
    return [
        after.label("after_rank"),
        before.label("before_rank"),
        select(func.min(_NEXT.c.rank))
        .where(*_in_column(_NEXT, step_id), _NEXT.c.rank > after_of_next)
        .scalar_subquery()
        .label("next_after"),
        select(func.max(_NEXT.c.rank))
        .where(*_in_column(_NEXT, step_id), _NEXT.c.rank < before_of_prev)
        .scalar_subquery()
        .label("prev_before"),
        select(func.max(_NEXT.c.rank))
        .where(*_in_column(_NEXT, step_id))
        .scalar_subquery()
        .label("last_rank"),
    ]


def _settings_columns() -> list[Any]:
    # Reason, notes and fields reach the history trigger through transaction-local
    # settings; every move and close sets all three, so nothing leaks into a later
    # move in the same transaction, and nothing outlives the transaction.
    return [
        func.set_config("baton.transition_reason", bindparam("reason"), True),
        func.set_config("baton.transition_notes", bindparam("notes"), True),
        func.set_config("baton.transition_fields", bindparam("fields_text"), True),
    ]


# The move is the hot path (DESIGN §7), written like `workitems.service.move_work_item`:
# one statement loads the deal, its workflow's row version (the compiled graph is a
# cache hit without another query), the target column's neighbour ranks, and sets
# the trigger's settings; the next one updates the deal and writes the timeline
# entry. A rebalance (rare) adds three statements; a reorder placed again (rare) three.
_LOAD_FOR_MOVE = (
    select(
        # Not the search document: the move never reads it, and its text would cross
        # the wire and be decoded on every move.
        *DEAL_COLUMNS,
        WORKFLOWS.c.version.label("workflow_version"),
        *_settings_columns(),
        *_neighbour_columns(bindparam("to_step_id")),
    )
    .join(WORKFLOWS, WORKFLOWS.c.id == DEALS.c.workflow_id)
    .where(DEALS.c.id == bindparam("record_id"), DEALS.c.deleted_at.is_(None))
)

_LOAD_FOR_CLOSE = (
    select(*DEAL_COLUMNS, WORKFLOWS.c.version.label("workflow_version"), *_settings_columns())
    .join(WORKFLOWS, WORKFLOWS.c.id == DEALS.c.workflow_id)
    .where(DEALS.c.id == bindparam("record_id"), DEALS.c.deleted_at.is_(None))
)

_LAST_RANK = select(func.max(DEALS.c.rank)).where(
    DEALS.c.workflow_id == bindparam("workflow_id"),
    DEALS.c.step_id == bindparam("step_id"),
    DEALS.c.deleted_at.is_(None),
)


def _stage_change_entry(moved: Any) -> Any:
    """The system activity a step change writes, on the deal and its account."""
    return stage_change_entry(
        moved,
        {"deal_id": moved.c.id, "account_id": moved.c.account_id},
        activity_id=bindparam("activity_id"),
        subject=bindparam("entry_subject"),
        actor=bindparam("actor_id"),
        description=bindparam("entry_description", type_=String),
        only_if=bindparam("log_stage_change", type_=Boolean),
    )


# A move may fill in the deal columns its target step requires; null = not sent.
_MOVE_FIELD_TYPES: dict[str, Any] = {
    "amount": Numeric(14, 2),
    "currency": String(3),
    "probability": SmallInteger,
    "expected_close_date": Date,
    "next_step": String(200),
    "next_step_due_date": Date,
}

# The check that a reorder's rank is still good when it is written (see `move_deal`):
# the column is not being rebalanced (its advisory lock, taken shared until commit,
# so no rebalance starts before this move commits) and the neighbours read by the load
# still hold the ranks it was computed from. The neighbours are locked `FOR KEY SHARE`
# because a locking read sees a row's latest version, not the statement's snapshot: a
# rebalance that commits while this statement runs is seen too. A null
# `board_workflow_id` skips the check (an append, or a rank the rebalance itself gave).
_BOARD_WORKFLOW = bindparam("board_workflow_id", None, type_=Uuid)


def _still_ranked(name: str) -> Any:
    rank = bindparam(name, None, type_=String)
    card = DEALS.alias(name)
    return or_(
        rank.is_(None),
        exists(
            select(card.c.id)
            .where(
                card.c.workflow_id == _BOARD_WORKFLOW,
                card.c.step_id == bindparam("to_step_id", type_=Uuid),
                card.c.rank == rank,
                card.c.deleted_at.is_(None),
            )
            .with_for_update(read=True, key_share=True)
        ),
    )


_placed = select(
    case(
        (_BOARD_WORKFLOW.is_(None), true()),
        (
            func.pg_try_advisory_xact_lock_shared(
                _board_key(_BOARD_WORKFLOW, bindparam("to_step_id", type_=Uuid))
            ),
            and_(_still_ranked("guard_lo"), _still_ranked("guard_hi")),
        ),
        else_=false(),
    ).label("placed")
).cte("placed")

_moved = (
    update(DEALS)
    .where(
        DEALS.c.id == bindparam("record_id"),
        DEALS.c.version == bindparam("expected_version"),
        DEALS.c.deleted_at.is_(None),
        select(_placed.c.placed).scalar_subquery().is_(True),
    )
    .values(
        step_id=bindparam("to_step_id"),
        rank=bindparam("new_rank"),
        version=DEALS.c.version + 1,
        updated_at=func.now(),
        **{
            name: func.coalesce(bindparam(f"set_{name}", type_=kind), DEALS.c[name])
            for name, kind in _MOVE_FIELD_TYPES.items()
        },
    )
    .returning(*DEAL_COLUMNS)
    .cte("moved")
)
# The moved deal; no row when the deal is gone or at another version; `placed` false
# (and no deal) when the reorder's check failed: nothing was written, place it again.


def move_statement(*, emit: bool = True) -> Any:
    """The move statement; `emit` adds its `deal.moved` event to the outbox when the
    step changes (`log_stage_change`), in the same statement (parameter `event_id`).
    Without it: only for the outbox's A/B bench (`bench/webhooks.py`)."""
    statement = (
        select(_placed.c.placed, _moved)
        .select_from(_placed.outerjoin(_moved, true()))
        .where(or_(_moved.c.id.is_not(None), _placed.c.placed.is_not(True)))
        .add_cte(_stage_change_entry(_moved).cte("logged"))
    )
    if emit:
        only_if = bindparam("log_stage_change", type_=Boolean)
        statement = statement.add_cte(outbox_cte(_moved, "deal.moved", only_if=only_if))
    return statement


_MOVE = move_statement()

# The close: the step change, outcome and reason, the timeline entry and the
# cancellation of the deal's still-planned work, in one statement. The activities
# are reached through the updated deal, so the deal row is locked first — the order
# the activities service also follows (deal, then its activities).
_closed = (
    update(DEALS)
    .where(
        DEALS.c.id == bindparam("record_id"),
        DEALS.c.version == bindparam("expected_version"),
        DEALS.c.outcome.is_(None),
        DEALS.c.deleted_at.is_(None),
    )
    .values(
        step_id=bindparam("to_step_id"),
        rank=bindparam("new_rank"),
        outcome=bindparam("new_outcome"),
        win_reason=bindparam("new_win_reason", type_=String),
        loss_reason=bindparam("new_loss_reason", type_=String),
        close_notes=bindparam("new_close_notes", type_=String),
        closed_at=func.now(),
        version=DEALS.c.version + 1,
        updated_at=func.now(),
    )
    .returning(*DEAL_COLUMNS)
    .cte("closed")
)
_cancelled = (
    update(ACTIVITIES)
    .where(
        ACTIVITIES.c.tenant_id == _closed.c.tenant_id,
        ACTIVITIES.c.deal_id == _closed.c.id,
        ACTIVITIES.c.status == ActivityStatus.PLANNED.value,
        ACTIVITIES.c.deleted_at.is_(None),
    )
    .values(
        status=ActivityStatus.CANCELLED.value,
        version=ACTIVITIES.c.version + 1,
        updated_at=func.now(),
    )
    .returning(ACTIVITIES.c.id)
    .cte("cancelled")
)
_CLOSE = (
    select(
        _closed,
        select(func.count()).select_from(_cancelled).scalar_subquery().label("cancelled_count"),
    )
    .add_cte(_stage_change_entry(_closed).cte("logged"))
    .add_cte(outbox_cte(_closed, "deal.closed"))
)

_DEAL_KEYS = tuple(column.key for column in DEAL_COLUMNS)
# The move and the close are hot paths: straight to the driver (baton.db.driver).
_LOAD_FOR_MOVE_ON_DRIVER = DriverStatement.of(_LOAD_FOR_MOVE)
_MOVE_ON_DRIVER = DriverStatement.of(_MOVE)
_LOAD_FOR_CLOSE_ON_DRIVER = DriverStatement.of(_LOAD_FOR_CLOSE)
_CLOSE_ON_DRIVER = DriverStatement.of(_CLOSE)


def deal_of(row: Row[Any] | asyncpg.Record) -> Deal:
    """A detached Deal for the answer, from a row holding the `deals` columns."""
    values = row._mapping if isinstance(row, Row) else row
    return Deal.detached({key: values[key] for key in _DEAL_KEYS})


# Deal columns a transition's `required_fields` may name.
REQUIRABLE_COLUMNS = (
    "name",
    "contact_id",
    "owner_id",
    "amount",
    "currency",
    "probability",
    "expected_close_date",
    "next_step",
    "next_step_due_date",
)


def present_fields(deal: Deal, supplied: MoveFields | None = None) -> set[str]:
    """The names a transition's `required_fields` are checked against: the deal's
    columns (overlaid by what the move fills in), each counted when it holds
    something other than null or an empty string."""
    overlay = supplied.model_dump(exclude_none=True) if supplied else {}
    present = set(overlay)
    for column in REQUIRABLE_COLUMNS:
        if getattr(deal, column) not in (None, ""):
            present.add(column)
    return present


@dataclass(frozen=True)
class DealMove:
    deal: Deal
    move: engine.Move | None
    from_step: engine.StepNode
    to_step: engine.StepNode
    flow: engine.CompiledWorkflow
    dry_run: bool
    effects: list[effects.PlannedEffect]


@dataclass(frozen=True)
class DealClose:
    deal: Deal
    move: engine.Move
    flow: engine.CompiledWorkflow
    cancelled_activities: int
    effects: list[effects.PlannedEffect]


# ---------------------------------------------------------------- create, edit, delete


# The Deal project type's default workflow (the first Deal type's, if several).
DEAL_WORKFLOW = (
    select(WORKFLOWS.c.id, WORKFLOWS.c.version)
    .join(PROJECT_TYPES, PROJECT_TYPES.c.default_workflow_id == WORKFLOWS.c.id)
    .where(PROJECT_TYPES.c.entity_type == EntityType.DEAL.value)
    .order_by(PROJECT_TYPES.c.created_at, PROJECT_TYPES.c.id)
    .limit(1)
)


_DEAL_WORKFLOW_ON_DRIVER = DriverStatement.of(DEAL_WORKFLOW)


async def deal_workflow(ctx: Ctx) -> tuple[uuid.UUID, int]:
    """The Deal project type's default workflow and its row version (404 if none)."""
    row = await _DEAL_WORKFLOW_ON_DRIVER.fetchrow(ctx.session, {})
    if row is None:
        raise NotFound("This organization has no Deal project type")
    return row["id"], row["version"]


def _references(account_id: Any, contact_id: Any) -> tuple[Any, ...]:
    """Whether the account is live, the contact's account and whether it is live
    (null when unknown: another organization's ids are unknown here, RLS)."""
    return (
        select(ACCOUNTS.c.deleted_at.is_(None))
        .where(ACCOUNTS.c.id == account_id)
        .scalar_subquery()
        .label("account_live"),
        select(CONTACTS.c.account_id)
        .where(CONTACTS.c.id == contact_id)
        .scalar_subquery()
        .label("contact_account"),
        select(CONTACTS.c.deleted_at.is_(None))
        .where(CONTACTS.c.id == contact_id)
        .scalar_subquery()
        .label("contact_live"),
    )


def _refuse_references(row: Any, account_id: uuid.UUID, contact_id: uuid.UUID | None) -> None:
    """The account exists and is live; the contact, when given, is a live person of it.

    Another organization's ids are unknown here (RLS): 404, like every other tenant's id.
    """
    if row["account_live"] is None:
        raise NotFound("No such account")
    if not row["account_live"]:
        raise ValidationFailed(errors=[FieldError("account_id", "is a deleted account")])
    if contact_id is None:
        return
    if row["contact_account"] is None:
        raise NotFound("No such contact")
    if row["contact_account"] != account_id:
        raise ValidationFailed(errors=[FieldError("contact_id", "belongs to another account")])
    if not row["contact_live"]:
        raise ValidationFailed(errors=[FieldError("contact_id", "is a deleted contact")])


async def _check_references(ctx: Ctx, account_id: uuid.UUID, contact_id: uuid.UUID | None) -> None:
    """See `_refuse_references` (one query)."""
    row = (await ctx.session.execute(select(*_references(account_id, contact_id)))).one()
    _refuse_references(row._mapping, account_id, contact_id)


async def _check_owner(ctx: Ctx, owner_id: uuid.UUID) -> None:
    principal = ctx.require_principal()
    if owner_id == principal.user_id:
        return
    if not await writer_name(ctx.session, principal.tenant_id, owner_id):
        raise ValidationFailed(
            errors=[FieldError("owner_id", "is not a member who can own records")]
        )


async def rank_in(
    ctx: Ctx,
    workflow_id: uuid.UUID,
    step_id: uuid.UUID,
    deal_id: uuid.UUID,
    lo: str | None,
    hi: str | None,
) -> str:
    """A rank for `deal_id` between `lo` and `hi` in one column; rebalances the column
    when that gap has no room left (the only time other cards' ranks change)."""
    position = ranks.position_between(lo, hi)
    if position is not None:
        return ranks.rank_of(position, deal_id)
    return await _rebalance(ctx, workflow_id, step_id, deal_id, lo)


async def _rebalance(
    ctx: Ctx, workflow_id: uuid.UUID, step_id: uuid.UUID, deal_id: uuid.UUID, after: str | None
) -> str:
    """Rewrite one column's ranks evenly, atomically: the column's advisory lock is
    taken exclusively first (so two rebalances of a column queue up, and reorders into
    it wait or see it: the protocol is `move_deal`'s), then its live cards are locked in
    rank order (a concurrent move of one of them waits) and rewritten in one
    executemany. Versions stay as they are: a card's place on the board is not an edit
    of the deal, and must not fail its editors.

    The lock comes in a statement of its own: the cards are read after it is granted,
    so a reorder that committed meanwhile is among them. The moving card is locked with
    the others (when it is in the column), in rank order, as before the advisory lock
    made two rebalances queue on it instead (each taking every card but its own had
    deadlocked: tests/deals/test_races.py). One that waited for another sees the ranks
    that one wrote: it orders the cards by them and finds the card it drops after by
    its id (every rank ends with it), not by the rank it read before."""
    connection = await ctx.session.connection()
    await connection.execute(_wait_for_board(workflow_id, step_id, shared=False))
    locked = (
        await connection.execute(
            select(DEALS.c.id, DEALS.c.rank)
            .where(
                DEALS.c.workflow_id == workflow_id,
                DEALS.c.step_id == step_id,
                DEALS.c.deleted_at.is_(None),
            )
            .order_by(DEALS.c.rank)
            .with_for_update()
        )
    ).all()
    cards = sorted(((c.id, c.rank) for c in locked if c.id != deal_id), key=lambda c: c[1])
    if after is not None:
        suffix = after[-ranks.ID_DIGITS :]
        after = next((rank for _, rank in cards if rank.endswith(suffix)), after)
    others, own = ranks.rebalanced(cards, deal_id, after)
    if others:
        # New ranks end with each card's own id, so none can equal another card's old
        # rank: the unique index holds row by row inside this one statement.
        await connection.execute(
            update(DEALS)
            .where(DEALS.c.id == bindparam("card_id"))
            .values(rank=bindparam("new_rank")),
            [{"card_id": card_id, "new_rank": rank} for card_id, rank in others.items()],
        )
    return own


# Everything a create checks and needs before its INSERT, in one round trip: the Deal
# workflow (no row: no Deal project type), the end of its initial column, the
# references, whether the named owner may own records, the default currency.
_deal_workflow = DEAL_WORKFLOW.cte("deal_workflow")
_BEFORE_CREATE = DriverStatement.of(
    select(
        _deal_workflow.c.id.label("workflow_id"),
        _deal_workflow.c.version.label("workflow_version"),
        select(func.max(DEALS.c.rank))
        .where(
            DEALS.c.workflow_id == _deal_workflow.c.id,
            DEALS.c.step_id == STEPS.c.id,
            DEALS.c.deleted_at.is_(None),
        )
        .scalar_subquery()
        .label("last_rank"),
        *_references(bindparam("account_id"), bindparam("contact_id")),
        exists()
        .where(
            MEMBERSHIPS.c.user_id == bindparam("owner_id"),
            may_own_records(MEMBERSHIPS.c.role),
        )
        .label("owner_writes"),
        select(TENANT_SETTINGS.c.default_currency).scalar_subquery().label("default_currency"),
        # What a cadence's subject templates read: {company}, {contact}.
        select(ACCOUNTS.c.name)
        .where(ACCOUNTS.c.id == bindparam("account_id"))
        .scalar_subquery()
        .label("company"),
        select(func.concat_ws(" ", CONTACTS.c.first_name, CONTACTS.c.last_name))
        .where(CONTACTS.c.id == bindparam("contact_id"))
        .scalar_subquery()
        .label("contact_name"),
        cadence_service.chosen_cadence_column(bindparam("cadence_id", type_=Uuid)).label("cadence"),
        # When the owner's cadence work is due: the end of their working day.
        member_zone(bindparam("owner_id")).label("owner_zone"),
    )
    .select_from(_deal_workflow)
    .join(STEPS, (STEPS.c.workflow_id == _deal_workflow.c.id) & STEPS.c.is_initial)
)
_CREATED = (
    "tenant_id",
    "id",
    "name",
    "account_id",
    "contact_id",
    "owner_id",
    "amount",
    "currency",
    "probability",
    "expected_close_date",
    "next_step",
    "next_step_due_date",
    "source",
    "need",
    "notes",
    "workflow_id",
    "step_id",
    "entered_step_at",
    "rank",
)
_INSERT_DEAL = (
    insert(DEALS).values({key: bindparam(key) for key in _CREATED}).returning(*DEAL_COLUMNS)
)
_CREATE = DriverStatement.of(_INSERT_DEAL)
# The deal, its enrolment and the cadence's activities in one statement (the activities'
# references to the deal are checked at its end). Parameters: `_CREATED` and
# `cadence_service.new_deal_params`.
_created = _INSERT_DEAL.cte("created")
_CREATE_ENROLLED = DriverStatement.of(
    select(_created)
    .add_cte(cadence_service.NEW_DEAL_ENROLLMENT.cte("enrolled"))
    .add_cte(cadence_service.NEW_DEAL_ACTIVITIES.cte("planned"))
)


async def create_deal(ctx: Ctx, data: DealIn) -> tuple[Deal, engine.CompiledWorkflow]:
    """A writer opens a deal on the Deal project type's default workflow, at its initial
    step and at the end of that column.

    The account must exist (404) and be live (422); the contact, when given, must be a
    live contact of that account (422); the owner is the caller unless another member
    who can write is named (422 otherwise). An open deal has its next step and due date:
    both are required unless a cadence is started, whose earliest activity is then the
    next step. A cadence must be one of the organization's (404), active and with steps
    (422); the deal's enrolment and its activities (owned by the deal's owner) are
    written with the deal, in one statement. A deal without a currency takes the
    organization's. A deal made for someone else tells them (an assignment).
    """
    principal = require_role(ctx, *WRITERS)
    _refuse_missing_next_step(data)
    owner_id = data.owner_id or principal.user_id
    found = await _BEFORE_CREATE.fetchrow(
        ctx.session,
        {
            "account_id": data.account_id,
            "contact_id": data.contact_id,
            "owner_id": owner_id,
            "cadence_id": data.cadence_id,
        },
    )
    if found is None:
        raise NotFound("This organization has no Deal project type")
    flow = await workflow_service.require_compiled(
        ctx, found["workflow_id"], found["workflow_version"]
    )
    _refuse_references(found, data.account_id, data.contact_id)
    if not found["owner_writes"]:
        raise ValidationFailed(
            errors=[FieldError("owner_id", "is not a member who can own records")]
        )
    deal_id = uuid7()
    step = flow.initial_step
    rank = await rank_in(ctx, flow.workflow_id, step.id, deal_id, found["last_rank"], None)
    now = datetime.now(UTC)
    values = {
        "tenant_id": principal.tenant_id,
        "id": deal_id,
        "name": data.name,
        "account_id": data.account_id,
        "contact_id": data.contact_id,
        "owner_id": owner_id,
        "amount": data.amount,
        "currency": data.currency or found["default_currency"],
        "probability": data.probability,
        "expected_close_date": data.expected_close_date,
        "next_step": data.next_step,
        "next_step_due_date": data.next_step_due_date,
        "source": data.source,
        "need": data.need or None,
        "notes": data.notes or None,
        "workflow_id": flow.workflow_id,
        "step_id": step.id,
        # The trigger sets the real time of entry; this only satisfies NOT NULL.
        "entered_step_at": now,
        "rank": rank,
    }
    if data.cadence_id is None:
        row = await _CREATE.fetchrow(ctx.session, values)
    else:
        cadence = _cadence_to_start(found["cadence"])
        zone = zone_named(found["owner_zone"])
        planned = cadence_service.schedule(
            cadence.steps,
            cadence_service.Placeholders(
                company=found["company"], contact=found["contact_name"], title=data.name
            ),
            now,
            zone,
        )
        if data.next_step is None:
            values["next_step"], values["next_step_due_date"] = cadence_service.next_step_of(
                planned, zone
            )
        enrolment = cadence_service.new_deal_params(
            cadence,
            planned,
            tenant_id=principal.tenant_id,
            deal_id=deal_id,
            owner_id=owner_id,
            actor_id=principal.user_id,
            account_id=data.account_id,
            contact_id=data.contact_id,
            start=now,
        )
        row = await _CREATE_ENROLLED.fetchrow(ctx.session, {**values, **enrolment})
    assert row is not None
    await emit(ctx, "deal.created", deal_id)
    await _tell_new_owner(ctx, deal_id, data.name, owner_id)
    return deal_of(row), flow


def _refuse_missing_next_step(data: DealIn) -> None:
    """Both next-step fields, or (with a cadence, which plans the next step) neither."""
    given = {"next_step": data.next_step, "next_step_due_date": data.next_step_due_date}
    missing = [name for name, value in given.items() if value is None]
    if data.cadence_id is not None and len(missing) == len(given):
        return
    if missing:
        raise ValidationFailed(
            errors=[FieldError(name, "is required while the deal is open") for name in missing]
        )


def _cadence_to_start(value: Any) -> cadence_service.CadenceSteps:
    """The chosen cadence, read along by `_BEFORE_CREATE`: the organization's (404),
    active and with steps (422)."""
    if value is None:
        raise NotFound("No such cadence")
    cadence = cadence_service.cadence_of(value)
    if not value[2] or cadence is None:
        reason = "is not active" if not value[2] else "has no steps"
        raise ValidationFailed(errors=[FieldError("cadence_id", reason)])
    return cadence


_LOAD = (
    select(*DEAL_COLUMNS, WORKFLOWS.c.version.label("workflow_version"))
    .join(WORKFLOWS, WORKFLOWS.c.id == DEALS.c.workflow_id)
    .where(DEALS.c.id == bindparam("record_id"), DEALS.c.deleted_at.is_(None))
)


async def _load(ctx: Ctx, deal_id: uuid.UUID) -> tuple[Deal, engine.CompiledWorkflow]:
    connection = await ctx.session.connection()
    row = (await connection.execute(_LOAD, {"record_id": deal_id})).first()
    if row is None:
        raise NotFound("No such deal")
    flow = await workflow_service.require_compiled(ctx, row.workflow_id, row.workflow_version)
    return deal_of(row), flow


async def get_deal(ctx: Ctx, deal_id: uuid.UUID) -> tuple[Deal, engine.CompiledWorkflow]:
    """Any member reads a live deal of the organization; deleted ones are 404."""
    ctx.require_principal()
    return await _load(ctx, deal_id)


# The row image the audit trail holds for the deal at a moment, typed by PostgreSQL
# itself (`jsonb_populate_record` against the table's row type).
_AS_OF = text(
    "SELECT "  # noqa: S608 - the table's own column names
    + ", ".join(f"r.{column.name}" for column in DEAL_COLUMNS)
    + " FROM jsonb_populate_record(NULL::deals,"
    " baton_record_as_of('deals', :record_id, :at)) AS r"
).columns(*DEAL_COLUMNS)


async def deal_as_of(
    ctx: Ctx, deal_id: uuid.UUID, at: datetime
) -> tuple[Deal, engine.CompiledWorkflow]:
    """The deal as it was at `at`, rebuilt from the audit log (DESIGN §3.3).

    404 when it did not exist then, or was deleted then; `at` needs a UTC offset.
    """
    ctx.require_principal()
    if at.tzinfo is None:
        raise ValidationFailed(errors=[FieldError("as_of", "needs a UTC offset, e.g. Z")])
    connection = await ctx.session.connection()
    row = (await connection.execute(_AS_OF, {"record_id": deal_id, "at": at})).first()
    if row is None or row.id is None or row.deleted_at is not None:
        raise NotFound("No such deal at that time")
    return deal_of(row), await workflow_service.require_compiled(ctx, row.workflow_id)


async def update_deal(
    ctx: Ctx, deal_id: uuid.UUID, data: DealPatch, expected_version: int | None
) -> tuple[Deal, engine.CompiledWorkflow]:
    """Writers edit a deal's details; the step changes only by a move or a close.

    The caller's version must be current (409). A contact must be a live contact of
    the deal's account, an owner a member who can write (422). An open deal keeps its
    next step and due date: removing either is 422 (the database says so too).
    A new owner takes over, in the same transaction, the previous owner's planned
    activities on the deal and its live cadence enrolments (unless
    `planned_work_follows` is false); work others own stays theirs.
    """
    require_role(ctx, *WRITERS)
    deal, flow = await _load(ctx, deal_id)
    check_version(deal.version, expected_version, "deal")
    changes = data.model_dump(exclude_unset=True, exclude={"version", "planned_work_follows"})
    errors = [
        FieldError(name, "cannot be removed")
        for name in ("name", "owner_id", "currency")
        if name in changes and changes[name] is None
    ]
    if deal.outcome is None:
        errors += [
            FieldError(name, "is required while the deal is open")
            for name in ("next_step", "next_step_due_date")
            if name in changes and changes[name] is None
        ]
    if errors:
        raise ValidationFailed(errors=errors)
    if changes.get("contact_id") is not None:
        await _check_references(ctx, deal.account_id, changes["contact_id"])
    if changes.get("owner_id") is not None:
        await _check_owner(ctx, changes["owner_id"])
    if not changes:
        return deal, flow
    connection = await ctx.session.connection()
    row = (
        await connection.execute(
            update(DEALS)
            .where(
                DEALS.c.id == deal_id,
                DEALS.c.version == deal.version,
                DEALS.c.deleted_at.is_(None),
            )
            .values(**changes, version=DEALS.c.version + 1, updated_at=func.now())
            .returning(*DEAL_COLUMNS)
        )
    ).first()
    if row is None:
        raise StaleVersion("The deal changed while you edited it")
    new_owner = changes.get("owner_id")
    if new_owner is not None and new_owner != deal.owner_id and data.planned_work_follows:
        await _hand_over_planned_work(ctx, deal_id, deal.owner_id, new_owner)
    if new_owner is not None and new_owner != deal.owner_id:
        await _tell_new_owner(ctx, row.id, row.name, new_owner)
    return deal_of(row), flow


async def _tell_new_owner(ctx: Ctx, deal_id: uuid.UUID, name: str, owner: uuid.UUID) -> None:
    """A deal handed to someone else tells them (an assignment: emailed, unless they
    muted it); taking a deal for oneself tells no one."""
    principal = ctx.require_principal()
    if owner == principal.user_id:
        return
    await notify(
        ctx,
        owner,
        f"{principal.full_name} gave you the deal {name}",
        effects.MovedRecord(EntityType.DEAL, deal_id, name, owner),
        NotificationKind.ASSIGNMENT,
    )


async def _hand_over_planned_work(
    ctx: Ctx, deal_id: uuid.UUID, previous: uuid.UUID, owner: uuid.UUID
) -> None:
    """The previous owner's planned activities on the deal and its live enrolments
    become the new owner's (one statement; the deal is already locked by its update)."""
    enrollments = cadence_service.ENROLLMENTS
    moved_enrollments = (
        update(enrollments)
        .where(
            enrollments.c.deal_id == deal_id,
            enrollments.c.owner_id == previous,
            enrollments.c.status.in_(LIVE_STATUSES),
            enrollments.c.deleted_at.is_(None),
        )
        .values(owner_id=owner, version=enrollments.c.version + 1, updated_at=func.now())
        .returning(enrollments.c.id)
        .cte("moved_enrollments")
    )
    moved_activities = (
        update(ACTIVITIES)
        .where(
            ACTIVITIES.c.deal_id == deal_id,
            ACTIVITIES.c.owner_id == previous,
            ACTIVITIES.c.status == ActivityStatus.PLANNED.value,
            ACTIVITIES.c.deleted_at.is_(None),
        )
        .values(owner_id=owner, version=ACTIVITIES.c.version + 1, updated_at=func.now())
        .returning(ACTIVITIES.c.id)
        .cte("moved_activities")
    )
    connection = await ctx.session.connection()
    await connection.execute(
        select(func.count()).select_from(moved_activities).add_cte(moved_enrollments)
    )


async def delete_deal(ctx: Ctx, deal_id: uuid.UUID, expected_version: int | None) -> None:
    """Writers delete a deal softly, with its still-planned activities and its live
    (active or paused) cadence enrolments, under one new deletion id, in one statement
    (so a restore can bring back exactly that set, the enrolments in the status they
    had). History, the timeline and the audit trail stay; the deal leaves lists and
    the board and answers 404, and so do its deleted enrolments."""
    principal = require_role(ctx, *WRITERS)
    connection = await ctx.session.connection()
    # The deal locked first, in a statement of its own: the delete below, snapshotted
    # after the lock is granted, then sees every enrolment and activity that a
    # transaction holding the deal (an enrolment holds it FOR SHARE) committed meanwhile.
    version = await connection.scalar(
        select(DEALS.c.version)
        .where(DEALS.c.id == deal_id, DEALS.c.deleted_at.is_(None))
        .with_for_update()
    )
    if version is None:
        raise NotFound("No such deal")
    check_version(version, expected_version, "deal")
    marks = {
        "deleted_at": func.now(),
        "deleted_by": principal.user_id,
        "deletion_id": uuid7(),
        "updated_at": func.now(),
    }
    deleted = (
        update(DEALS)
        .where(
            DEALS.c.id == deal_id,
            DEALS.c.version == version,
            DEALS.c.deleted_at.is_(None),
        )
        .values(version=DEALS.c.version + 1, **marks)
        .returning(DEALS.c.tenant_id, DEALS.c.id)
        .cte("deleted")
    )
    # Reached through the updated deal: nothing is taken unless the deal was, and the
    # deal is locked before its enrolments and their activities.
    enrollments = cadence_service.ENROLLMENTS
    enrolled = delete_live_enrollments(
        (enrollments.c.tenant_id == deleted.c.tenant_id) & (enrollments.c.deal_id == deleted.c.id),
        marks,
    ).cte("enrolled")
    planned = delete_planned_activities(
        (ACTIVITIES.c.tenant_id == deleted.c.tenant_id) & (ACTIVITIES.c.deal_id == deleted.c.id),
        marks,
    ).cte("planned")
    row = (await connection.execute(select(deleted.c.id).add_cte(enrolled, planned))).first()
    if row is None:
        raise StaleVersion("The deal changed while you deleted it")


async def restore_deal(
    ctx: Ctx, deal_id: uuid.UUID, expected_version: int | None
) -> tuple[Deal, engine.CompiledWorkflow]:
    """Writers bring back a deal deleted on its own, and exactly the rows its deletion
    took (same deletion id): its planned activities and its cadence enrolments, in the
    status they had. Anything deleted before or after under another id stays deleted.

    404 for an unknown deal or another organization's. 409 if the deal is not deleted,
    if its account is deleted (a deal deleted with its account comes back with the
    account's restore; one deleted before it, after that restore), or if the version
    given (optional) is stale. The deal returns to its board position, or to the end of
    its column when a live card took that position meanwhile (`restore_deals`).

    Locks: the deal's account first (`accounts.restoring`), then the deal, its
    enrolments, their activities.
    """
    require_role(ctx, *WRITERS)
    account = await lock_account_of(
        ctx, select(DEALS.c.account_id).where(DEALS.c.id == deal_id).scalar_subquery()
    )
    if account is None:
        raise NotFound("No such deal")
    connection = await ctx.session.connection()
    deal = (
        await connection.execute(
            select(DEALS.c.version, DEALS.c.deletion_id)
            .where(DEALS.c.id == deal_id)
            .with_for_update()
        )
    ).first()
    if deal is None:
        raise NotFound("No such deal")
    if deal.deletion_id is None:
        raise Conflict("The deal is not deleted")
    refuse_while_account_deleted("deal", account, deal.deletion_id)
    check_sent_version(deal.version, expected_version, "deal")
    await restore_deals(ctx, deal.deletion_id)
    await connection.execute(restore_enrollments(deal.deletion_id))
    await connection.execute(restore_activities(deal.deletion_id))
    return await _load(ctx, deal_id)


async def restore_deals(ctx: Ctx, deletion_id: uuid.UUID) -> None:
    """Bring back the deals one deletion took (an account's open deals, or one deal
    deleted on its own), bumping their versions; call it before restoring the
    deletion's enrolments and activities (the lock order of a deal, its enrolments,
    their activities).

    Deals come back where they were on the board, unless a live card took their rank
    meanwhile (ranks are unique per column among live deals): those go after the last
    card of their column, in their old order."""
    live_deal = DEALS.alias("live_deal")
    taken = exists().where(
        live_deal.c.tenant_id == DEALS.c.tenant_id,
        live_deal.c.workflow_id == DEALS.c.workflow_id,
        live_deal.c.step_id == DEALS.c.step_id,
        live_deal.c.rank == DEALS.c.rank,
        live_deal.c.deleted_at.is_(None),
    )
    displaced = (
        select(
            DEALS.c.id,
            func.row_number()
            .over(partition_by=(DEALS.c.workflow_id, DEALS.c.step_id), order_by=DEALS.c.rank)
            .label("n"),
        )
        .where(DEALS.c.deletion_id == deletion_id, taken)
        .subquery()
    )
    last_rank = (
        select(func.max(live_deal.c.rank))
        .where(
            live_deal.c.tenant_id == DEALS.c.tenant_id,
            live_deal.c.workflow_id == DEALS.c.workflow_id,
            live_deal.c.step_id == DEALS.c.step_id,
            live_deal.c.deleted_at.is_(None),
        )
        .scalar_subquery()
    )
    # Every string extending the column's greatest rank sorts after it (byte order), and
    # the row number keeps the displaced cards distinct from each other.
    await ctx.session.execute(
        update(DEALS)
        .where(DEALS.c.id == displaced.c.id)
        .values(rank=last_rank.concat("i").concat(func.to_char(displaced.c.n, "FM999999")))
    )
    await ctx.session.execute(restore_deleted(DEALS, deletion_id))


async def set_next_step(ctx: Ctx, deal_id: uuid.UUID, next_step: str, due_at: datetime) -> date:
    """Point an open deal at its next step (called when its planned activities change).

    The step is due on the calendar day `due_at` falls on for the deal's owner (in
    their time zone: a call at 08:00 in Tokyo is due that Tokyo day, though UTC still
    says the day before), the same day the planner and cards call overdue against.
    An open deal never lacks a next step (a CHECK says so); this replaces it, bumping
    the version so a stale editor of the deal gets 409. A closed or deleted deal has
    no next step to set: 404. Answers the due day.
    """
    local_day = cast(func.timezone(member_zone(DEALS.c.owner_id), due_at), Date)
    due: date | None = await ctx.session.scalar(
        update(DEALS)
        .where(DEALS.c.id == deal_id, DEALS.c.outcome.is_(None), DEALS.c.deleted_at.is_(None))
        .values(
            next_step=next_step[:200],
            next_step_due_date=local_day,
            version=DEALS.c.version + 1,
            updated_at=func.now(),
        )
        .returning(DEALS.c.next_step_due_date)
    )
    if due is None:
        raise NotFound("No such open deal")
    return due


# ---------------------------------------------------------------- move and close


def _closing_step(step: engine.StepNode) -> bool:
    return step.category in (StatusCategory.WON, StatusCategory.LOST)


def _placement(data: DealMoveIn, neighbours: Neighbours) -> tuple[str | None, str | None]:
    """The ranks to land between, from the cards the caller named (422 for a card that
    is not in the target column, or a pair out of order)."""
    errors = []
    if data.after_id is not None and neighbours.after_rank is None:
        errors.append(FieldError("after_id", "is not another card of the target column"))
    if data.before_id is not None and neighbours.before_rank is None:
        errors.append(FieldError("before_id", "is not another card of the target column"))
    if errors:
        raise ValidationFailed(errors=errors)
    if data.after_id is not None and data.before_id is not None:
        lo, hi = neighbours.after_rank, neighbours.before_rank
        assert lo is not None
        assert hi is not None
        if lo >= hi:
            raise ValidationFailed(
                errors=[FieldError("before_id", "must come after the card named by after_id")]
            )
        return lo, hi
    if data.after_id is not None:
        return neighbours.after_rank, neighbours.next_after
    if data.before_id is not None:
        return neighbours.prev_before, neighbours.before_rank
    return neighbours.last_rank, None


async def move_deal(ctx: Ctx, deal_id: uuid.UUID, data: DealMoveIn) -> DealMove:
    """Move a deal along a transition of its workflow, or reorder it in its column —
    validated, recorded, all or nothing.

    The caller's `version` must be current (409; also when a concurrent move won).
    A won or lost step is reached only through `close_deal` (422). A step change must
    be a transition the caller's role may take, with its reason, notes and required
    fields (deal columns, possibly filled in by `fields`) — 422 naming each problem.
    It writes the history row (trigger), a "Stage changed" system activity on the
    deal and its account, and runs the transition's effects, in one transaction.
    The card lands between `after_id` and `before_id` (or at the column's end); only
    its own rank changes unless that gap is full and the column is rebalanced.
    A move to the deal's own step only reorders it: no history, no timeline entry.
    `dry_run` checks everything, reports the planned effects and writes nothing.
    On the driver (`ctx.driver_connection`, `baton.core.driver_transaction`) the write is one
    statement; effects, a rebalance, a failed reorder check or an uncompiled workflow
    raise `NeedsSessionTransaction` first, with nothing written.
    """
    principal = require_role(ctx, *WRITERS)
    supplied = data.fields.model_dump(exclude_none=True, mode="json")
    load = {
        "record_id": deal_id,
        "to_step_id": data.to_step_id,
        "after_id": data.after_id,
        "before_id": data.before_id,
        "reason": data.reason or "",
        "notes": data.notes or "",
        "fields_text": json.dumps(supplied) if supplied else "",
    }
    row = await ctx.fetchrow(_LOAD_FOR_MOVE_ON_DRIVER, load)
    if row is None:
        raise NotFound("No such deal")
    if row["version"] != data.version:
        raise StaleVersion(f"The deal is at version {row['version']}, not {data.version}")
    flow = await _workflow_of(ctx, row)
    current = deal_of(row)
    from_step = flow.step(current.step_id)
    target = flow.steps.get(data.to_step_id)
    if target is not None and _closing_step(target) and target.id != from_step.id:
        raise TransitionRejected(
            f"A deal is closed through POST /api/v1/deals/{deal_id}/close, with its reason",
            errors=[
                FieldError("to_step_id", f"{target.name} is reached by closing the deal (/close)")
            ],
        )
    move: engine.Move | None = None
    if data.to_step_id != current.step_id:
        move = flow.check(
            current.step_id,
            data.to_step_id,
            role=principal.role,
            reason=data.reason,
            notes=data.notes,
            present_fields=present_fields(current, data.fields),
        )
    to_step = move.to_step if move else from_step
    planned = effects.planned_effects(EntityType.DEAL, move) if move else []
    lo, hi = _placement(data, _neighbours_of(row))
    if data.dry_run:
        return DealMove(current, move, from_step, to_step, flow, True, planned)
    # Board lock protocol, per column (its advisory lock, `_board_key`): a rebalance
    # holds it exclusively, in a statement before it reads the cards; a reorder takes
    # it shared, without waiting, in its UPDATE, which also checks that the neighbours
    # it read still hold their ranks (`_placed`). Either the check passes, and no
    # rebalance can have slipped between the read and the write nor start before the
    # commit, or nothing is written and the card is placed again, once, after waiting
    # for the lock shared. A rebalance takes the lock before any row and waits for it
    # holding none; a reorder holding it shared waits for no rebalance (none holds rows
    # meanwhile): they cannot deadlock. A plain move to another column (an append, the
    # hot path) skips the check: an append read before a rebalance still sorts after
    # the rebalanced cards, which fill the range's first half, unless the column's last
    # card sat in that half.
    reorder = move is None or data.after_id is not None or data.before_id is not None
    position = ranks.position_between(lo, hi)
    if ctx.driver_connection is not None and (position is None or (move and move.edge.effects)):
        raise NeedsSessionTransaction  # a rebalance, or the transition's effects: more writes
    guard: dict[str, Any] = {}
    if position is None:
        # The rebalance holds the column's lock exclusively: its rank needs no check.
        rank = await _rebalance(ctx, current.workflow_id, to_step.id, deal_id, lo)
    else:
        rank = ranks.rank_of(position, deal_id)
        if reorder:
            guard = {"board_workflow_id": current.workflow_id, "guard_lo": lo, "guard_hi": hi}
    params = {
        "record_id": deal_id,
        "expected_version": data.version,
        "to_step_id": to_step.id,
        "new_rank": rank,
        **{f"set_{name}": getattr(data.fields, name) for name in _MOVE_FIELD_TYPES},
        "activity_id": uuid7(),
        "entry_subject": stage_change_subject(move) if move else "",
        "entry_description": None,
        "actor_id": principal.user_id,
        "log_stage_change": move is not None,
        "event_id": uuid7(),
        **guard,
    }
    moved = await ctx.fetchrow(_MOVE_ON_DRIVER, params)
    if moved is not None and not moved["placed"]:
        if ctx.driver_connection is not None:
            raise NeedsSessionTransaction  # nothing written: placed again after the column's lock
        moved = await _place_again(ctx, current.workflow_id, data, load, params)
    if moved is None:
        raise StaleVersion("The deal changed while you moved it")
    deal = deal_of(moved)
    if move is not None and move.edge.effects:
        await _run_effects(ctx, deal, move)
        deal, _ = await _load(ctx, deal_id)
    return DealMove(deal, move, from_step, to_step, flow, False, planned)


async def _workflow_of(ctx: Ctx, row: asyncpg.Record) -> engine.CompiledWorkflow:
    """The deal's compiled workflow; a move on the driver's transaction takes it from the cache only
    (compiling it would read through the session, which it has not)."""
    if ctx.driver_connection is None:
        return await workflow_service.require_compiled(
            ctx, row["workflow_id"], row["workflow_version"]
        )
    flow = workflow_service.cached_compiled(ctx, row["workflow_id"], row["workflow_version"])
    if flow is None:
        raise NeedsSessionTransaction
    return flow


async def _place_again(
    ctx: Ctx,
    workflow_id: uuid.UUID,
    data: DealMoveIn,
    load: dict[str, Any],
    params: dict[str, Any],
) -> asyncpg.Record | None:
    """The second and last placement of a reorder whose check failed (a rebalance of
    its column committed or runs since the load, or a neighbour moved): wait for the
    column's lock, shared, read the deal and its neighbours again — in a statement of
    their own, so they are read after any rebalance that came first, and none can come
    after — and write the rank without a check. None when the deal changed meanwhile.

    Only a full gap here (a neighbour moved into a spot filled hundreds of times over)
    makes this move rebalance while it holds the lock shared: two such at once in one
    column deadlock, and PostgreSQL fails one (409)."""
    deal_id = params["record_id"]
    step_id = params["to_step_id"]
    await ctx.session.execute(_wait_for_board(workflow_id, step_id, shared=True))
    row = await _LOAD_FOR_MOVE_ON_DRIVER.fetchrow(ctx.session, load)
    if row is None or row["version"] != data.version:
        return None
    lo, hi = _placement(data, _neighbours_of(row))
    rank = await rank_in(ctx, workflow_id, step_id, deal_id, lo, hi)
    unchecked = {"board_workflow_id": None, "guard_lo": None, "guard_hi": None}
    return await _MOVE_ON_DRIVER.fetchrow(ctx.session, {**params, "new_rank": rank, **unchecked})


async def _run_effects(ctx: Ctx, deal: Deal, move: engine.Move) -> None:
    record = effects.MovedRecord(EntityType.DEAL, deal.id, deal.name, deal.owner_id)
    await effects.run_effects(ctx, record, move)


def _close_target(
    flow: engine.CompiledWorkflow, from_step: engine.StepNode, outcome: DealOutcome
) -> engine.StepNode:
    """The workflow's won (or lost) step the deal can reach from where it is; the first
    such step when none can be reached, so the engine names the missing transition."""
    candidates = flow.steps_in_category(StatusCategory(outcome.value))
    if not candidates:
        raise RuleViolation(
            f"The workflow {flow.name} has no {outcome.value} step",
            errors=[FieldError("outcome", f"no {outcome.value} step in this workflow")],
        )
    for step in candidates:
        if (from_step.id, step.id) in flow.edges:
            return step
    return candidates[0]


def _close_description(data: CloseIn, for_owner: str | None, flow: engine.CompiledWorkflow) -> str:
    # The timeline is read by people: the reason by its workflow's label, else in words
    # (`no_budget` → "no budget"); the deal keeps the code.
    text = f"Closed {data.outcome.value}"
    if data.reason:
        text = f"{text}: {flow.reason_label(data.reason) or data.reason.replace('_', ' ')}"
    if for_owner is not None:
        text = f"{text} (closed {for_owner})"
    # The notes are kept whole on the deal; the timeline entry has the CHECK's bound.
    return (f"{text} — {data.notes}" if data.notes else text)[:10_000]


async def close_deal(ctx: Ctx, deal_id: uuid.UUID, data: CloseIn) -> DealClose:
    """Close an open deal as won or lost — one transaction, or nothing.

    The deal moves to the workflow's won/lost step along a transition from its current
    step (422 when there is none: no jump from Prospecting to Won). A reason is always
    required and must be one of the transition's reasons when it lists some; `other`
    needs notes (422 naming each problem; the database CHECKs back this). The close
    sets the outcome, the win or loss reason, the notes and `closed_at`, cancels the
    deal's still-planned activities and stops its cadence enrolments, writes the
    history row and a "Stage changed" system activity, runs the transition's effects;
    the audit trigger records it all.
    The caller's version must be current (409; also when a concurrent move won).
    """
    principal = require_role(ctx, *WRITERS)
    row = await _LOAD_FOR_CLOSE_ON_DRIVER.fetchrow(
        ctx.session,
        {
            "record_id": deal_id,
            "reason": data.reason or "",
            "notes": data.notes or "",
            "fields_text": "",
        },
    )
    if row is None:
        raise NotFound("No such deal")
    if row["version"] != data.version:
        raise StaleVersion(f"The deal is at version {row['version']}, not {data.version}")
    current = deal_of(row)
    if current.outcome is not None:
        raise RuleViolation(
            f"The deal is already closed ({current.outcome})",
            errors=[FieldError("outcome", "the deal is already closed")],
        )
    flow = await workflow_service.require_compiled(ctx, row["workflow_id"], row["workflow_version"])
    from_step = flow.step(current.step_id)
    target = _close_target(flow, from_step, data.outcome)
    move = flow.check(
        from_step.id,
        target.id,
        role=principal.role,
        reason=data.reason,
        notes=data.notes,
        present_fields=present_fields(current),
    )
    if data.reason is None:
        # The transition may list no reasons; a closed deal still has one (DESIGN §3.2).
        raise TransitionRejected(
            f"Cannot close the deal as {data.outcome.value} without a reason",
            errors=[FieldError("reason", "is required")],
        )
    planned = effects.planned_effects(EntityType.DEAL, move)
    last = await ctx.session.scalar(
        _LAST_RANK, {"workflow_id": current.workflow_id, "step_id": target.id}
    )
    rank = await rank_in(ctx, current.workflow_id, target.id, deal_id, last, None)
    won = data.outcome is DealOutcome.WON
    closed = await _CLOSE_ON_DRIVER.fetchrow(
        ctx.session,
        {
            "record_id": deal_id,
            "expected_version": data.version,
            "to_step_id": target.id,
            "new_rank": rank,
            "new_outcome": data.outcome.value,
            "new_win_reason": data.reason if won else None,
            "new_loss_reason": None if won else data.reason,
            "new_close_notes": data.notes,
            "activity_id": uuid7(),
            "entry_subject": stage_change_subject(move),
            "entry_description": _close_description(
                data, await on_behalf(ctx.session, current.owner_id, principal.user_id), flow
            ),
            "actor_id": principal.user_id,
            "log_stage_change": True,
            "event_id": uuid7(),
        },
    )
    if closed is None:
        raise StaleVersion("The deal changed while you closed it")
    deal = deal_of(closed)
    # Closing a deal ends its cadences (DESIGN §5); the deal row is locked by now.
    await cadence_service.stop_enrollments_for(ctx, deal_id=deal_id)
    if move.edge.effects:
        await _run_effects(ctx, deal, move)
        deal, _ = await _load(ctx, deal_id)
    return DealClose(deal, move, flow, int(closed["cancelled_count"]), planned)


# ---------------------------------------------------------------- reads


async def list_deals(ctx: Ctx, page: SortedPageRequest, filters: DealListFilters) -> list[Row[Any]]:
    """Any member lists the organization's live deals, filtered and sorted
    (`queries.list_deals`); `overdue` compares the next step's due date with the
    caller's today (their time zone)."""
    principal = ctx.require_principal()
    return await queries.list_deals(
        ctx.session,
        page,
        filters,
        user_id=principal.user_id,
        today=datetime.now(zone_named(principal.timezone)).date(),
    )


async def list_deals_shown(
    ctx: Ctx,
    page: SortedPageRequest,
    filters: DealListFilters,
    shown_as: Any,
    shown_key: Hashable,
) -> list[queries.ListedShown]:
    """The deals `list_deals` lists, each row showing `shown_as` (an expression the
    database writes, e.g. GraphQL's nodes as JSON; `shown_key` names it) instead of
    the deal's columns: the same rule, filters and order."""
    principal = ctx.require_principal()
    return await queries.list_shown(
        ctx.session,
        page,
        filters,
        shown_as,
        shown_key,
        user_id=principal.user_id,
        today=datetime.now(zone_named(principal.timezone)).date(),
    )


def whole_list_statement(ctx: Ctx, filters: DealListFilters) -> Select[Any]:
    """The deals list as `list_deals` pages it, whole (an export reads it): any
    member, the same filters, sort and caller's today."""
    principal = ctx.require_principal()
    return queries.whole_list_statement(
        filters,
        user_id=principal.user_id,
        today=datetime.now(zone_named(principal.timezone)).date(),
    )


# What a board holds per column: rows (pages) or a JSON array (API).
Cards = TypeVar("Cards")


@dataclass(frozen=True)
class Pipeline(Generic[Cards]):
    """A board: per step, its totals and first cards — rows for the pages
    (`pipeline`), JSON written by the database for the API (`pipeline_document`)."""

    flow: engine.CompiledWorkflow
    totals: dict[uuid.UUID, queries.ColumnTotals]
    cards: dict[uuid.UUID, Cards]


async def _board_workflow(ctx: Ctx, workflow_id: uuid.UUID | None) -> engine.CompiledWorkflow:
    """Any member reads a deal workflow's board (default: the Deal project type's);
    another kind of workflow is 422, another organization's 404."""
    ctx.require_principal()
    version = None
    if workflow_id is None:
        workflow_id, version = await deal_workflow(ctx)
    flow = await workflow_service.require_compiled(ctx, workflow_id, version)
    if flow.entity_type != EntityType.DEAL.value:
        raise ValidationFailed(errors=[FieldError("workflow_id", "is not a deal workflow")])
    return flow


async def deal_stages(ctx: Ctx) -> list[engine.StepNode]:
    """The steps of the default deal workflow in board order: what the deals list
    filters by (any member)."""
    return list((await _board_workflow(ctx, None)).ordered_steps())


async def pipeline(
    ctx: Ctx, workflow_id: uuid.UUID | None, per_column: int, *, view: DealView | None = None
) -> Pipeline[list[Row[Any]]]:
    """The board of a deal workflow for a page (see `_board_workflow` for who may).

    `view` filters counts, totals and cards alike (the pages' all / mine / overdue):
    `mine` keeps the caller's deals, `overdue` the open deals whose next step was due
    before the caller's today (their time zone); other views, or none, show every live
    deal.
    """
    principal = ctx.require_principal()
    flow = await _board_workflow(ctx, workflow_id)
    today = datetime.now(zone_named(principal.timezone)).date()
    shown = queries.BoardFilter(
        owner_id=principal.user_id if view is DealView.MINE else None,
        due_before=today if view is DealView.OVERDUE else None,
    )
    totals = await queries.board_totals(ctx.session, flow.workflow_id, shown)
    cards = await queries.board_cards(ctx.session, flow.workflow_id, per_column, shown)
    return Pipeline(flow, totals, cards)


async def pipeline_document(
    ctx: Ctx, workflow_id: uuid.UUID | None, per_column: int
) -> Pipeline[str]:
    """The whole board of a deal workflow for the API, its cards written as JSON by
    the database (see `_board_workflow` for who may)."""
    flow = await _board_workflow(ctx, workflow_id)
    totals = await queries.board_totals(ctx.session, flow.workflow_id, queries.BoardFilter())
    cards = await queries.board_cards_json(ctx.session, flow.workflow_id, per_column)
    return Pipeline(flow, totals, cards)


async def deal_history(ctx: Ctx, deal_id: uuid.UUID) -> list[WorkflowHistory]:
    """Any member reads a live deal's step changes, oldest first."""
    await get_deal(ctx, deal_id)
    return await queries.history_of(ctx.session, deal_id)
