"""Cadences and enrolments: the rules of DESIGN §5 "Cadences".

- Admins and managers write cadences (name, description, active, ordered steps);
  every member reads them. A tenant has at most one default cadence (the one
  claim and convert enrol new deals in); it stays active.
- Writers enrol a live deal, account or contact in an active cadence: one
  transaction creates the enrolment and every step's planned activity — due at the
  start plus the step's cumulative delay, owned by the record's owner (a contact's:
  its account's owner), subject filled from the template, linked to the record and
  to the enrolment. One live (active or paused) enrolment per record and cadence.
- A new deal (a lead's claim, a conversion) is enrolled in the organization's
  active default cadence by its own statement (`new_deal_plan`,
  `NEW_DEAL_ENROLLMENT`, `NEW_DEAL_ACTIVITIES`): the same rows `enroll_record`
  writes, without reading back a deal written in the same transaction.
- Pause cancels the enrolment's still-planned activities and remembers how many
  steps were left; resume plans those steps again from now, keeping the gaps
  between them; stop cancels what is still planned and ends the enrolment. An
  active enrolment with nothing left planned is complete: it is marked so when the
  record is enrolled again.
- Deleting a deal, account or contact soft-deletes its live enrolments with it,
  status kept (`baton.cadences.deletion`); a restore brings them back as they were.
  A deleted enrolment is 404 here (read, pause, resume, stop), and a deleted record
  cannot be enrolled (422).

Lock order, shared with the activity planner and the deal close: an open deal,
then its enrolments, then their activities.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol

from sqlalchemy import (
    ARRAY,
    JSON,
    DateTime,
    Insert,
    Row,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from baton.accounts.models import Account
from baton.activities.models import Activity, ActivityStatus, ActivityType
from baton.cadences import queries
from baton.cadences.models import (
    LIVE_STATUSES,
    Cadence,
    CadenceEnrollment,
    CadenceStep,
    CadenceStepType,
    EnrollmentStatus,
)
from baton.cadences.schemas import CadenceIn, CadencePatch, CadenceStepIn, EnrollIn
from baton.contacts.models import Contact
from baton.core.context import Ctx
from baton.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    RuleViolation,
    StaleVersion,
    ValidationFailed,
)
from baton.core.ids import uuid7
from baton.core.versioning import check_version
from baton.core.zones import zone_named
from baton.deals.models import Deal
from baton.identity.access import WRITERS, require_role
from baton.identity.models import Role
from baton.identity.queries import member_zone

ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]
ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
DEALS: Table = Deal.__table__  # type: ignore[assignment]
ENROLLMENTS: Table = CadenceEnrollment.__table__  # type: ignore[assignment]
CADENCES: Table = Cadence.__table__  # type: ignore[assignment]
STEPS: Table = CadenceStep.__table__  # type: ignore[assignment]

# Cadences are shared sales process: the people who run the team edit them.
CADENCE_WRITERS = (Role.ADMIN, Role.MANAGER)

DEFAULT_CADENCE_NAME = "Lead follow-up"
DEFAULT_CADENCE_STEPS: tuple[tuple[CadenceStepType, str, int], ...] = (
    (CadenceStepType.CALL, "Intro call with {company}", 0),
    (CadenceStepType.EMAIL, "Follow-up email to {company}", 2),
    (CadenceStepType.CALL, "Second call with {company}", 3),
    (CadenceStepType.EMAIL, "Check-in email to {company}", 4),
    (CadenceStepType.MEETING, "Meeting with {company}", 5),
)

# What a new deal gets when the organization has no active default cadence: one
# call, due by the end of the day it was opened (UTC).
FIRST_CONTACT = "First contact"

_PLACEHOLDER = re.compile(r"\{(company|contact|title)\}")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class CadenceView:
    cadence: Cadence
    steps: list[CadenceStep]


@dataclass(frozen=True)
class EnrollmentView:
    enrollment: CadenceEnrollment
    # The activities this action planned or cancelled, in step order.
    activities: list[Row[Any]]


class SubjectValues(Protocol):
    """What fills a subject template's placeholders."""

    @property
    def company(self) -> str: ...

    @property
    def contact(self) -> str | None: ...

    @property
    def title(self) -> str: ...


@dataclass(frozen=True)
class Placeholders:
    """The placeholder values of a record about to be written (a new deal)."""

    company: str
    contact: str | None
    title: str


@dataclass(frozen=True)
class StepTemplate:
    """A cadence step as enrolment uses it."""

    type: str
    subject_template: str
    delay_days: int


@dataclass(frozen=True)
class CadenceSteps:
    """A cadence a new deal is enrolled in (the default one, or one chosen on
    creation) and its steps, in order."""

    id: uuid.UUID
    steps: tuple[StepTemplate, ...]


@dataclass(frozen=True)
class Planned:
    """One activity an enrolment (or the first-contact fallback) will plan."""

    type: str
    subject: str
    due_at: datetime
    description: str | None = None


@dataclass(frozen=True)
class EnrolledRecord:
    """A live record as enrolment sees it: where its activities go and what fills
    the subject placeholders."""

    column: str
    id: uuid.UUID
    title: str
    owner_id: uuid.UUID
    account_id: uuid.UUID
    company: str
    contact_id: uuid.UUID | None
    contact: str | None
    deal_id: uuid.UUID | None
    # The owner's time zone (theirs, else the organization's): when their work is due.
    zone: str

    def links(self) -> dict[str, uuid.UUID | None]:
        """The activity columns linking to the record: a deal's activities also carry
        its account, a contact's its account, an account's only itself."""
        return {
            "deal_id": self.deal_id,
            "account_id": self.account_id,
            "contact_id": self.contact_id if self.column == "contact_id" else None,
        }


# ---------------------------------------------------------------- cadences


def _step_rows(steps: Sequence[CadenceStepIn]) -> list[tuple[int, CadenceStepIn]]:
    """Steps with their positions: as given, or else the list's order (1, 2, …)."""
    if steps and steps[0].position is not None:
        return sorted(((step.position or 0, step) for step in steps), key=lambda pair: pair[0])
    return [(index, step) for index, step in enumerate(steps, start=1)]


async def _insert_steps(
    ctx: Ctx, cadence: Cadence, steps: Sequence[CadenceStepIn]
) -> list[CadenceStep]:
    rows = [
        CadenceStep(
            tenant_id=cadence.tenant_id,
            cadence_id=cadence.id,
            position=position,
            type=step.type.value,
            subject_template=step.subject_template,
            delay_days=step.delay_days,
        )
        for position, step in _step_rows(steps)
    ]
    ctx.session.add_all(rows)
    await ctx.session.flush()
    return rows


async def _steps(ctx: Ctx, cadence_id: uuid.UUID) -> list[CadenceStep]:
    return list(
        (
            await ctx.session.scalars(
                select(CadenceStep)
                .where(CadenceStep.cadence_id == cadence_id)
                .order_by(CadenceStep.position)
            )
        ).all()
    )


async def create_cadence(ctx: Ctx, data: CadenceIn) -> CadenceView:
    """Admins and managers create a cadence with its ordered steps (1 to 50). It is
    not the default: PATCH `is_default` makes it so."""
    principal = require_role(ctx, *CADENCE_WRITERS)
    cadence = Cadence(
        tenant_id=principal.tenant_id,
        name=data.name,
        description=data.description,
        active=data.active,
        is_default=False,
        created_by=principal.user_id,
    )
    ctx.session.add(cadence)
    await ctx.session.flush()
    return CadenceView(cadence, await _insert_steps(ctx, cadence, data.steps))


async def seed_default_cadence(ctx: Ctx, created_by: uuid.UUID) -> Cadence:
    """Give a new organization its default cadence, "Lead follow-up" (DESIGN §5).

    Runs inside registration's transaction, scoped to the new tenant.
    """
    tenant_id = ctx.current_tenant_id
    assert tenant_id is not None
    cadence = Cadence(
        tenant_id=tenant_id,
        name=DEFAULT_CADENCE_NAME,
        description="Five touches over two weeks for a new deal.",
        active=True,
        is_default=True,
        created_by=created_by,
    )
    ctx.session.add(cadence)
    await ctx.session.flush()
    await _insert_steps(
        ctx,
        cadence,
        [
            CadenceStepIn(type=type, subject_template=subject, delay_days=delay)
            for type, subject, delay in DEFAULT_CADENCE_STEPS
        ],
    )
    return cadence


async def get_cadence(ctx: Ctx, cadence_id: uuid.UUID) -> CadenceView:
    """Any member reads a cadence of the organization; another tenant's is 404."""
    ctx.require_principal()
    cadence = await ctx.session.get(Cadence, (ctx.current_tenant_id, cadence_id))
    if cadence is None:
        raise NotFound("No such cadence")
    return CadenceView(cadence, await _steps(ctx, cadence_id))


async def update_cadence(
    ctx: Ctx, cadence_id: uuid.UUID, data: CadencePatch, expected_version: int | None
) -> CadenceView:
    """Admins and managers rename, describe, (de)activate a cadence, make it the
    default, or replace its steps whole; the version must be current (409 stale,
    422 missing).

    The default cadence stays active (claim enrols new deals in it): deactivating it
    is 422 until another is the default; `is_default: false` is 422 for the same
    reason, and an inactive cadence cannot become the default. New steps apply to
    enrolments made (or resumed) afterwards; activities already planned stay.
    """
    require_role(ctx, *CADENCE_WRITERS)
    cadence = await ctx.session.scalar(
        select(Cadence).where(Cadence.id == cadence_id).with_for_update()
    )
    if cadence is None:
        raise NotFound("No such cadence")
    check_version(cadence.version, expected_version, "cadence")
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    removed = [
        FieldError(field, "cannot be removed")
        for field in ("name", "active", "is_default", "steps")
        if field in changes and changes[field] is None
    ]
    if removed:
        raise ValidationFailed(errors=removed)
    active = cadence.active if data.active is None else data.active
    errors = []
    if data.is_default is False and cadence.is_default:
        errors.append(FieldError("is_default", "make another cadence the default instead"))
    if (cadence.is_default or data.is_default) and not active:
        errors.append(FieldError("active", "the default cadence must stay active"))
    if errors:
        raise ValidationFailed("The default cadence enrols new deals", errors=errors)
    # Statements first, attributes after: each statement autoflushes pending changes,
    # and the cadence must be written (and its version bumped) exactly once.
    steps = None
    if data.steps is not None:
        await ctx.session.execute(delete(CadenceStep).where(CadenceStep.cadence_id == cadence.id))
        steps = await _insert_steps(ctx, cadence, data.steps)
    if data.is_default and not cadence.is_default:
        # One default per tenant (a partial unique index): clear the old one first.
        await ctx.session.execute(
            update(Cadence)
            .where(Cadence.is_default, Cadence.id != cadence.id)
            .values(is_default=False, version=Cadence.version + 1, updated_at=func.now())
            .execution_options(synchronize_session=False)
        )
        cadence.is_default = True
    if data.name is not None:
        cadence.name = data.name
    if "description" in changes:
        cadence.description = data.description
    cadence.active = active
    # A step-only edit changes no column of the cadence: bump its version anyway.
    cadence.updated_at = datetime.now(UTC)
    try:
        await ctx.session.flush()
    except StaleDataError as exc:
        raise StaleVersion("The cadence changed while you edited it") from exc
    return CadenceView(cadence, steps if steps is not None else await _steps(ctx, cadence.id))


# ---------------------------------------------------------------- records


async def _deal(ctx: Ctx, deal_id: uuid.UUID) -> EnrolledRecord | None:
    row = (
        await ctx.session.execute(
            select(
                DEALS.c.id,
                DEALS.c.name,
                DEALS.c.owner_id,
                DEALS.c.account_id,
                DEALS.c.outcome,
                ACCOUNTS.c.name.label("company"),
                CONTACTS.c.id.label("contact_id"),
                CONTACTS.c.first_name,
                CONTACTS.c.last_name,
                member_zone(DEALS.c.owner_id).label("zone"),
            )
            .join(
                ACCOUNTS,
                (ACCOUNTS.c.tenant_id == DEALS.c.tenant_id) & (ACCOUNTS.c.id == DEALS.c.account_id),
            )
            .outerjoin(
                CONTACTS,
                (CONTACTS.c.tenant_id == DEALS.c.tenant_id)
                & (CONTACTS.c.id == DEALS.c.contact_id)
                & CONTACTS.c.deleted_at.is_(None),
            )
            .where(DEALS.c.id == deal_id, DEALS.c.deleted_at.is_(None))
            # A concurrent delete or close of the deal waits for this enrolment.
            .with_for_update(read=True, of=DEALS)
        )
    ).first()
    if row is None:
        return None
    if row.outcome is not None:
        raise RuleViolation(
            "The deal is closed; closed deals are not enrolled",
            errors=[FieldError("deal_id", f"is {row.outcome}")],
        )
    return EnrolledRecord(
        column="deal_id",
        id=row.id,
        title=row.name,
        owner_id=row.owner_id,
        account_id=row.account_id,
        company=row.company,
        contact_id=row.contact_id,
        contact=_full_name(row.first_name, row.last_name) if row.contact_id else None,
        deal_id=row.id,
        zone=row.zone,
    )


async def _account(ctx: Ctx, account_id: uuid.UUID) -> EnrolledRecord | None:
    row = (
        await ctx.session.execute(
            select(
                ACCOUNTS.c.id,
                ACCOUNTS.c.name,
                ACCOUNTS.c.owner_id,
                member_zone(ACCOUNTS.c.owner_id).label("zone"),
            )
            .where(ACCOUNTS.c.id == account_id, ACCOUNTS.c.deleted_at.is_(None))
            .with_for_update(read=True)
        )
    ).first()
    if row is None:
        return None
    return EnrolledRecord(
        column="account_id",
        id=row.id,
        title=row.name,
        owner_id=row.owner_id,
        account_id=row.id,
        company=row.name,
        contact_id=None,
        contact=None,
        deal_id=None,
        zone=row.zone,
    )


async def _contact(ctx: Ctx, contact_id: uuid.UUID) -> EnrolledRecord | None:
    row = (
        await ctx.session.execute(
            select(
                CONTACTS.c.id,
                CONTACTS.c.first_name,
                CONTACTS.c.last_name,
                CONTACTS.c.account_id,
                ACCOUNTS.c.name.label("company"),
                ACCOUNTS.c.owner_id,
                member_zone(ACCOUNTS.c.owner_id).label("zone"),
            )
            .join(
                ACCOUNTS,
                (ACCOUNTS.c.tenant_id == CONTACTS.c.tenant_id)
                & (ACCOUNTS.c.id == CONTACTS.c.account_id),
            )
            .where(
                CONTACTS.c.id == contact_id,
                CONTACTS.c.deleted_at.is_(None),
                ACCOUNTS.c.deleted_at.is_(None),
            )
            .with_for_update(read=True, of=CONTACTS)
        )
    ).first()
    if row is None:
        return None
    name = _full_name(row.first_name, row.last_name)
    return EnrolledRecord(
        column="contact_id",
        id=row.id,
        title=name,
        owner_id=row.owner_id,
        account_id=row.account_id,
        company=row.company,
        contact_id=row.id,
        contact=name,
        deal_id=None,
        zone=row.zone,
    )


def _full_name(first: str, last: str | None) -> str:
    return f"{first} {last}" if last else first


_LOADERS = {"deal_id": _deal, "account_id": _account, "contact_id": _contact}
_KINDS = {"deal_id": "deal", "account_id": "account", "contact_id": "contact"}


async def _record(ctx: Ctx, column: str, record_id: uuid.UUID) -> EnrolledRecord:
    """The live record of this organization (share-locked), or 422 naming the field."""
    record = await _LOADERS[column](ctx, record_id)
    if record is None:
        kind = _KINDS[column]
        raise ValidationFailed(
            f"No such {kind}", errors=[FieldError(column, f"is not a {kind} of this organization")]
        )
    return record


def fill_subject(template: str, record: SubjectValues, fallback: str) -> str:
    """`{company}`, `{contact}` and `{title}` filled in one pass (a name that itself
    contains a placeholder stays as written). A record without a contact fills
    `{contact}` with nothing; spaces are tidied and an empty result becomes
    `fallback`; the result fits the activity's 200 characters."""
    values = {"company": record.company, "contact": record.contact or "", "title": record.title}
    filled = _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
    tidy = _SPACES.sub(" ", filled).strip()
    return (tidy or fallback)[:200]


# ---------------------------------------------------------------- enrolments


# A planned step is due by the end of its day's work in the owner's time zone.
WORKDAY_ENDS = time(18, 0)


def due_by_end_of_workday(start: datetime, days: int, zone: tzinfo) -> datetime:
    """When work planned at `start` for `days` days later is due: the end of the
    owner's working day (`WORKDAY_ENDS` in their `zone`) that many days on. Planned
    once that hour has passed, day 0 is the next day — a step is never overdue the
    moment it is planned, nor overnight. Weekends count as days."""
    local = start.astimezone(zone)
    first = local.date() + timedelta(days=1 if local.time() >= WORKDAY_ENDS else 0)
    return datetime.combine(first + timedelta(days=days), WORKDAY_ENDS, tzinfo=zone)


def schedule(
    steps: Sequence[StepTemplate | CadenceStep],
    values: SubjectValues,
    start: datetime,
    zone: tzinfo,
    *,
    resuming: bool = False,
) -> list[Planned]:
    """One planned activity per step, due by the end of the owner's working day
    (`due_by_end_of_workday`, in their `zone`) the cumulative delay after `start`,
    its subject filled from the step's template (the step's type when that leaves
    nothing).

    On resume the first remaining step is due on the day of `start` itself: its
    delay after the step before it was spent before the pause.
    """
    planned = []
    offset = 0
    for index, step in enumerate(steps):
        offset += 0 if resuming and index == 0 else step.delay_days
        subject = fill_subject(step.subject_template, values, step.type.title())
        due = due_by_end_of_workday(start, offset, zone)
        planned.append(Planned(step.type, subject, due))
    return planned


def _activity_rows(
    enrollment: CadenceEnrollment,
    record: EnrolledRecord,
    steps: Sequence[CadenceStep],
    start: datetime,
    actor: uuid.UUID | None,
    *,
    resuming: bool,
) -> list[dict[str, Any]]:
    """The rows of `schedule`'s activities: owned by the enrolment's owner, linked to
    the record and to the enrolment."""
    return [
        {
            "tenant_id": enrollment.tenant_id,
            "id": uuid7(),
            "type": planned.type,
            "status": ActivityStatus.PLANNED.value,
            "subject": planned.subject,
            "due_at": planned.due_at,
            "owner_id": enrollment.owner_id,
            "created_by": actor,
            "enrollment_id": enrollment.id,
            **record.links(),
        }
        for planned in schedule(steps, record, start, zone_named(record.zone), resuming=resuming)
    ]


_ACTIVITY_COLUMNS = tuple(
    ACTIVITIES.c[column.key] for column in queries.ENROLLMENT_ACTIVITY_COLUMNS
)


async def _plan(
    ctx: Ctx,
    enrollment: CadenceEnrollment,
    record: EnrolledRecord,
    steps: Sequence[CadenceStep],
    start: datetime,
    *,
    resuming: bool = False,
) -> list[Row[Any]]:
    if not steps:
        return []
    rows = _activity_rows(enrollment, record, steps, start, ctx.actor_id, resuming=resuming)
    result = await ctx.session.execute(
        insert(ACTIVITIES).returning(*_ACTIVITY_COLUMNS, sort_by_parameter_order=True), rows
    )
    return list(result.all())


async def _cancel_planned(ctx: Ctx, enrollment_id: uuid.UUID) -> list[Row[Any]]:
    """Cancel the enrolment's still-planned activities; answers them in step order."""
    result = await ctx.session.execute(
        update(ACTIVITIES)
        .where(
            ACTIVITIES.c.enrollment_id == enrollment_id,
            ACTIVITIES.c.status == ActivityStatus.PLANNED.value,
            ACTIVITIES.c.deleted_at.is_(None),
        )
        .values(
            status=ActivityStatus.CANCELLED.value,
            version=ACTIVITIES.c.version + 1,
            updated_at=func.now(),
        )
        .returning(*_ACTIVITY_COLUMNS)
    )
    # uuid7 ids were created in step order.
    return sorted(result.all(), key=lambda row: row.id)


async def _has_planned(ctx: Ctx, enrollment_id: uuid.UUID) -> bool:
    found = await ctx.session.scalar(
        select(ACTIVITIES.c.id)
        .where(
            ACTIVITIES.c.enrollment_id == enrollment_id,
            ACTIVITIES.c.status == ActivityStatus.PLANNED.value,
            ACTIVITIES.c.deleted_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


async def _repoint_deal(ctx: Ctx, deal_id: uuid.UUID | None) -> None:
    """An open deal's next step follows its earliest remaining planned activity, as
    when the planner cancels one; with none left the deal keeps the next step it has
    (its CHECK needs one) until someone plans the next."""
    if deal_id is None:
        return
    row = (
        await ctx.session.execute(
            select(ACTIVITIES.c.subject, ACTIVITIES.c.due_at)
            .join(DEALS, (DEALS.c.tenant_id == ACTIVITIES.c.tenant_id) & (DEALS.c.id == deal_id))
            .where(
                ACTIVITIES.c.deal_id == deal_id,
                ACTIVITIES.c.status == ActivityStatus.PLANNED.value,
                ACTIVITIES.c.deleted_at.is_(None),
                ACTIVITIES.c.due_at.is_not(None),
                DEALS.c.outcome.is_(None),
                DEALS.c.deleted_at.is_(None),
            )
            .order_by(ACTIVITIES.c.due_at, ACTIVITIES.c.id)
            .limit(1)
        )
    ).first()
    if row is not None:
        # Imported here: deals.service builds its create statement from this module's
        # enrolment statements at import time, so this module cannot import it first.
        from baton.deals import service as deal_service

        await deal_service.set_next_step(ctx, deal_id, row.subject, row.due_at)


async def _live_enrollment(
    ctx: Ctx, cadence: Cadence, record: EnrolledRecord
) -> CadenceEnrollment | None:
    """The record's live enrolment in the cadence, locked: the one the unique index
    allows, deleted or not (see `CadenceEnrollment`)."""
    column = getattr(CadenceEnrollment, record.column)
    enrollment: CadenceEnrollment | None = await ctx.session.scalar(
        select(CadenceEnrollment)
        .where(
            column == record.id,
            CadenceEnrollment.cadence_id == cadence.id,
            CadenceEnrollment.status.in_(LIVE_STATUSES),
        )
        .with_for_update()
    )
    if enrollment is not None and enrollment.deleted_at is not None:
        # A live record with a deleted enrolment: only a partial restore leaves that
        # (the doctor reports it). Its place is taken until it is restored.
        kind = _KINDS[record.column]
        raise Conflict(
            f"The {kind}'s enrolment in '{cadence.name}' was deleted and not restored "
            "with it; ask an admin to run `baton doctor`",
            errors=[FieldError(record.column, "has a deleted enrolment in this cadence")],
        )
    return enrollment


async def enroll_record(
    ctx: Ctx, cadence: Cadence, column: str, record_id: uuid.UUID
) -> EnrollmentView | None:
    """Enrol a live record in an active cadence and plan every step's activity; None
    when the record already has a live enrolment in it. No role check: callers
    (the API, the `start_cadence` effect, claim) decide who may.

    A live enrolment whose activities are all done or cancelled is complete: it is
    marked so and the record starts afresh.
    """
    if not cadence.active:
        raise RuleViolation(
            f"The cadence '{cadence.name}' is inactive; activate it to enrol records",
            errors=[FieldError("cadence_id", "is inactive")],
        )
    record = await _record(ctx, column, record_id)
    existing = await _live_enrollment(ctx, cadence, record)
    now = datetime.now(UTC)
    if existing is not None:
        if existing.status != EnrollmentStatus.ACTIVE.value or await _has_planned(ctx, existing.id):
            return None
        existing.status = EnrollmentStatus.COMPLETED.value
        existing.stopped_at = now
        await ctx.session.flush()
    enrollment = CadenceEnrollment(
        tenant_id=cadence.tenant_id,
        cadence_id=cadence.id,
        status=EnrollmentStatus.ACTIVE.value,
        owner_id=record.owner_id,
        created_by=ctx.actor_id,
        started_at=now,
        **{record.column: record.id},
    )
    ctx.session.add(enrollment)
    try:
        await ctx.session.flush()
    except IntegrityError as exc:
        # A concurrent enrolment of the same record won the unique index.
        raise Conflict(f"The {_KINDS[column]} was enrolled in this cadence just now") from exc
    steps = await _steps(ctx, cadence.id)
    return EnrollmentView(enrollment, await _plan(ctx, enrollment, record, steps, now))


async def enroll(ctx: Ctx, cadence_id: uuid.UUID, data: EnrollIn) -> EnrollmentView:
    """Writers enrol one live deal, account or contact of the organization (422
    naming the field otherwise; a closed deal is 422 too) in an active cadence (an
    inactive one is 422, another tenant's 404). A record already enrolled live in
    this cadence is 409."""
    require_role(ctx, *WRITERS)
    cadence = await ctx.session.get(Cadence, (ctx.current_tenant_id, cadence_id))
    if cadence is None:
        raise NotFound("No such cadence")
    column = next(c for c in ("deal_id", "account_id", "contact_id") if getattr(data, c))
    record_id: uuid.UUID = getattr(data, column)
    view = await enroll_record(ctx, cadence, column, record_id)
    if view is None:
        raise Conflict(
            f"The {_KINDS[column]} is already enrolled in '{cadence.name}'; "
            "stop that enrolment first",
            errors=[FieldError(column, "is already enrolled in this cadence")],
        )
    return view


async def get_enrollment(ctx: Ctx, enrollment_id: uuid.UUID) -> CadenceEnrollment:
    """Any member reads an enrolment of the organization; another tenant's, or one
    deleted with its record, is 404."""
    ctx.require_principal()
    enrollment = await ctx.session.get(CadenceEnrollment, (ctx.current_tenant_id, enrollment_id))
    if enrollment is None or enrollment.deleted_at is not None:
        raise NotFound("No such enrolment")
    return enrollment


async def _lock_enrollment(ctx: Ctx, enrollment_id: uuid.UUID) -> CadenceEnrollment:
    """The enrolment, locked after its deal (if it has one and it is open); 404 when
    it is another tenant's or was deleted with its record (read after the deal's lock,
    so a delete that committed meanwhile counts)."""
    require_role(ctx, *WRITERS)
    deal_id = await ctx.session.scalar(
        select(ENROLLMENTS.c.deal_id).where(ENROLLMENTS.c.id == enrollment_id)
    )
    if deal_id is not None:
        await ctx.session.execute(select(DEALS.c.id).where(DEALS.c.id == deal_id).with_for_update())
    enrollment: CadenceEnrollment | None = await ctx.session.scalar(
        select(CadenceEnrollment)
        .where(CadenceEnrollment.id == enrollment_id, CadenceEnrollment.deleted_at.is_(None))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if enrollment is None:
        raise NotFound("No such enrolment")
    return enrollment


def _require_status(enrollment: CadenceEnrollment, action: str, *allowed: EnrollmentStatus) -> None:
    if enrollment.status not in {status.value for status in allowed}:
        raise Conflict(f"The enrolment is {enrollment.status}; it cannot be {action}")


async def pause_enrollment(ctx: Ctx, enrollment_id: uuid.UUID) -> EnrollmentView:
    """Writers pause an active enrolment: its still-planned activities are cancelled
    and their number remembered for resume. Not active: 409; nothing left planned
    (the cadence has run its course): 409 too."""
    enrollment = await _lock_enrollment(ctx, enrollment_id)
    _require_status(enrollment, "paused", EnrollmentStatus.ACTIVE)
    cancelled = await _cancel_planned(ctx, enrollment.id)
    if not cancelled:
        raise Conflict("Every step of this enrolment is done or cancelled; nothing to pause")
    enrollment.status = EnrollmentStatus.PAUSED.value
    enrollment.paused_at = datetime.now(UTC)
    enrollment.remaining_steps = len(cancelled)
    await ctx.session.flush()
    await _repoint_deal(ctx, enrollment.deal_id)
    return EnrollmentView(enrollment, cancelled)


async def resume_enrollment(ctx: Ctx, enrollment_id: uuid.UUID) -> EnrollmentView:
    """Writers resume a paused enrolment: its remaining steps — the cadence's last
    `remaining_steps` steps as they are now — are planned again, the first due now
    and the rest keeping their delays, for the enrolment's owner. Not paused: 409;
    the cadence inactive or the record no longer live (deleted, a closed deal): 422;
    the enrolment deleted with its record: 404."""
    enrollment = await _lock_enrollment(ctx, enrollment_id)
    _require_status(enrollment, "resumed", EnrollmentStatus.PAUSED)
    cadence = await ctx.session.get(Cadence, (enrollment.tenant_id, enrollment.cadence_id))
    assert cadence is not None
    if not cadence.active:
        raise RuleViolation(
            f"The cadence '{cadence.name}' is inactive; activate it to resume",
            errors=[FieldError("cadence_id", "is inactive")],
        )
    column = next(c for c in ("deal_id", "account_id", "contact_id") if getattr(enrollment, c))
    record = await _record(ctx, column, getattr(enrollment, column))
    steps = await _steps(ctx, cadence.id)
    remaining = enrollment.remaining_steps or 0
    now = datetime.now(UTC)
    planned = await _plan(
        ctx, enrollment, record, steps[-remaining:] if remaining else [], now, resuming=True
    )
    enrollment.status = EnrollmentStatus.ACTIVE.value
    enrollment.paused_at = None
    enrollment.remaining_steps = None
    enrollment.updated_at = now
    await ctx.session.flush()
    await _repoint_deal(ctx, enrollment.deal_id)
    return EnrollmentView(enrollment, planned)


async def _stop(ctx: Ctx, enrollment: CadenceEnrollment) -> list[Row[Any]]:
    cancelled = await _cancel_planned(ctx, enrollment.id)
    enrollment.status = EnrollmentStatus.STOPPED.value
    enrollment.stopped_at = datetime.now(UTC)
    enrollment.paused_at = None
    enrollment.remaining_steps = None
    await ctx.session.flush()
    return cancelled


async def stop_enrollment(ctx: Ctx, enrollment_id: uuid.UUID) -> EnrollmentView:
    """Writers stop an active or paused enrolment: what is still planned is
    cancelled and the enrolment ends (the record may be enrolled again). Already
    stopped or completed: 409."""
    enrollment = await _lock_enrollment(ctx, enrollment_id)
    _require_status(enrollment, "stopped", EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)
    cancelled = await _stop(ctx, enrollment)
    await _repoint_deal(ctx, enrollment.deal_id)
    return EnrollmentView(enrollment, cancelled)


async def stop_enrollments_for(ctx: Ctx, *, deal_id: uuid.UUID) -> int:
    """Stop every live enrolment of a deal and cancel their still-planned activities
    (DESIGN §5: closing a deal stops its enrolments). No role check: the caller (the
    deal close) has decided; call it with the deal already locked. Returns how many
    enrolments were stopped.

    Enrolments deleted with the deal are stopped too (they stay deleted): releasing a
    lead deletes the deal its claim opened for good and ends its enrolment.
    """
    enrollments = (
        await ctx.session.scalars(
            select(CadenceEnrollment)
            .where(
                CadenceEnrollment.deal_id == deal_id,
                CadenceEnrollment.status.in_(LIVE_STATUSES),
            )
            .order_by(CadenceEnrollment.id)
            .with_for_update()
        )
    ).all()
    for enrollment in enrollments:
        await _stop(ctx, enrollment)
    return len(enrollments)


# ---------------------------------------------------------------- the start_cadence effect


async def cadence_to_start(ctx: Ctx, cadence_id: uuid.UUID | None) -> Cadence | None:
    """The named cadence of this organization, or its default one when None."""
    if cadence_id is None:
        found: Cadence | None = await ctx.session.scalar(select(Cadence).where(Cadence.is_default))
        return found
    return await ctx.session.get(Cadence, (ctx.current_tenant_id, cadence_id))


# ---------------------------------------------------------------- new deals: claim, conversion


def default_cadence_column() -> Any:
    """The organization's active default cadence as one JSON value, for the statement
    that needs it to read along (null when there is none): `[id, [[type,
    subject_template, delay_days], …]]`, the steps in order."""
    return (
        select(func.json_build_array(CADENCES.c.id, _steps_json(), type_=JSON))
        .where(CADENCES.c.is_default, CADENCES.c.active)
        .scalar_subquery()
    )


def chosen_cadence_column(cadence_id: Any) -> Any:
    """The cadence `cadence_id` of the organization as one JSON value, `[id, [steps as
    in default_cadence_column], active]`; null when the organization has no such
    cadence (another organization's ids are unknown here, RLS)."""
    return (
        select(func.json_build_array(CADENCES.c.id, _steps_json(), CADENCES.c.active, type_=JSON))
        .where(CADENCES.c.id == cadence_id)
        .scalar_subquery()
    )


def _steps_json() -> Any:
    return (
        select(
            func.json_agg(
                aggregate_order_by(
                    func.json_build_array(
                        STEPS.c.type, STEPS.c.subject_template, STEPS.c.delay_days
                    ),
                    STEPS.c.position,
                )
            )
        )
        .where(STEPS.c.tenant_id == CADENCES.c.tenant_id, STEPS.c.cadence_id == CADENCES.c.id)
        .scalar_subquery()
    )


def cadence_of(value: Any) -> CadenceSteps | None:
    """A `default_cadence_column` (or `chosen_cadence_column`) value read; None when
    there is no such cadence, or it has no steps (enrolling in it would plan nothing)."""
    if value is None:
        return None
    cadence_id, steps = value[:2]
    if not steps:
        return None
    return CadenceSteps(
        uuid.UUID(cadence_id),
        tuple(StepTemplate(type, template, delay) for type, template, delay in steps),
    )


async def default_cadence(ctx: Ctx) -> CadenceSteps | None:
    """The organization's active default cadence with its steps (one statement)."""
    return cadence_of(await ctx.session.scalar(select(default_cadence_column())))


def new_deal_plan(
    cadence: CadenceSteps | None,
    values: SubjectValues,
    start: datetime,
    first_contact_note: str | None,
    zone: tzinfo,
) -> list[Planned]:
    """The work a deal opened by a claim or a conversion starts with (DESIGN §5): the
    default cadence's activities (`schedule`, from `start`, in the owner's `zone`), or,
    when the organization has no active default cadence, one "First contact" call due
    by the end of the owner's working day, described by `first_contact_note`."""
    if cadence is None:
        due = due_by_end_of_workday(start, 0, zone)
        return [Planned(ActivityType.CALL.value, FIRST_CONTACT, due, first_contact_note)]
    return schedule(cadence.steps, values, start, zone)


def next_step_of(planned: Sequence[Planned], zone: tzinfo) -> tuple[str, date]:
    """An open deal's next step and its due date (the owner's day, in `zone`): its
    earliest planned activity, the first step among equally due ones."""
    first = min(planned, key=lambda item: item.due_at)
    return first.subject, first.due_at.astimezone(zone).date()


# The new deal's enrolment (when the `enrollment` parameter is not null) and its planned
# activities, as statements a caller runs alone (`start_new_deal`) or inside its own
# statement (the claim). Parameters: `new_deal_params`. The activities come as
# arrays, so the statement is the same whatever the number of steps.
NEW_DEAL_ENROLLMENT: Insert = insert(ENROLLMENTS).from_select(
    ["tenant_id", "id", "cadence_id", "deal_id", "status", "owner_id", "created_by", "started_at"],
    select(
        bindparam("tenant", type_=Uuid),
        bindparam("enrollment", type_=Uuid),
        bindparam("cadence", type_=Uuid),
        bindparam("deal", type_=Uuid),
        literal(EnrollmentStatus.ACTIVE.value),
        bindparam("owner", type_=Uuid),
        bindparam("actor", type_=Uuid),
        bindparam("started", type_=DateTime(timezone=True)),
    ).where(bindparam("enrollment", type_=Uuid).is_not(None)),
)
_NEW_ROWS = (
    func.unnest(
        bindparam("activity_ids", type_=ARRAY(Uuid)),
        bindparam("activity_types", type_=ARRAY(String)),
        bindparam("activity_subjects", type_=ARRAY(String)),
        bindparam("activity_descriptions", type_=ARRAY(Text)),
        bindparam("activity_due_ats", type_=ARRAY(DateTime(timezone=True))),
    )
    .table_valued(
        column("id", Uuid),
        column("type", String),
        column("subject", String),
        column("description", Text),
        column("due_at", DateTime(timezone=True)),
    )
    .render_derived(name="planned_rows")
)
NEW_DEAL_ACTIVITIES: Insert = (
    insert(ACTIVITIES)
    .from_select(
        [
            "tenant_id",
            "id",
            "type",
            "status",
            "subject",
            "description",
            "due_at",
            "owner_id",
            "created_by",
            "account_id",
            "contact_id",
            "deal_id",
            "lead_id",
            "target_id",
            "enrollment_id",
        ],
        select(
            bindparam("tenant", type_=Uuid),
            _NEW_ROWS.c.id,
            _NEW_ROWS.c.type,
            literal(ActivityStatus.PLANNED.value),
            _NEW_ROWS.c.subject,
            _NEW_ROWS.c.description,
            _NEW_ROWS.c.due_at,
            bindparam("owner", type_=Uuid),
            bindparam("actor", type_=Uuid),
            bindparam("account", type_=Uuid),
            bindparam("contact", type_=Uuid),
            bindparam("deal", type_=Uuid),
            bindparam("lead", type_=Uuid),
            bindparam("target", type_=Uuid),
            bindparam("enrollment", type_=Uuid),
        ).select_from(_NEW_ROWS),
    )
    .returning(*ACTIVITIES.c)
)

_planned_cte = NEW_DEAL_ACTIVITIES.cte("planned")
_START_NEW_DEAL = select(_planned_cte).add_cte(NEW_DEAL_ENROLLMENT.cte("enrolled"))


def new_deal_params(
    cadence: CadenceSteps | None,
    planned: Sequence[Planned],
    *,
    tenant_id: uuid.UUID,
    deal_id: uuid.UUID,
    owner_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    account_id: uuid.UUID,
    start: datetime,
    contact_id: uuid.UUID | None = None,
    lead_id: uuid.UUID | None = None,
    target_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The parameters of `NEW_DEAL_ENROLLMENT` and `NEW_DEAL_ACTIVITIES`: the deal's
    enrolment in `cadence` (none without one), started at `start` by `actor_id`, and
    `planned` as activities owned by the deal's owner (the enrolment's owner, as
    `enroll_record` has it), linked to the deal, its account and contact, the lead or
    target it came from and the enrolment."""
    # Named apart from every column: SQLAlchemy would take a parameter named like a
    # column of a table the statement writes as a value for that column.
    return {
        "tenant": tenant_id,
        "enrollment": uuid7() if cadence is not None else None,
        "cadence": cadence.id if cadence is not None else None,
        "deal": deal_id,
        "owner": owner_id,
        "actor": actor_id,
        "started": start,
        "account": account_id,
        "contact": contact_id,
        "lead": lead_id,
        "target": target_id,
        "activity_ids": [uuid7() for _ in planned],
        "activity_types": [item.type for item in planned],
        "activity_subjects": [item.subject for item in planned],
        "activity_descriptions": [item.description for item in planned],
        "activity_due_ats": [item.due_at for item in planned],
    }


_ACTIVITY_KEYS = tuple(column.key for column in ACTIVITIES.c)


def activities_of(rows: Sequence[Row[Any]], prefix: str = "") -> list[Activity]:
    """Detached Activities from rows holding the `activities` columns (each named
    `prefix` + its key), in planner order: due first, then creation order."""
    activities = [
        Activity.detached({key: row._mapping[prefix + key] for key in _ACTIVITY_KEYS})
        for row in rows
    ]
    return sorted(activities, key=lambda activity: (activity.due_at, activity.id))


async def start_new_deal(ctx: Ctx, params: dict[str, Any]) -> list[Activity]:
    """Write a new deal's enrolment and planned activities (`new_deal_params`) in one
    statement; answers the activities. No role check: the caller opening the deal
    (a conversion) has decided; the deal is new, so it has no enrolment yet (the
    unique index on live enrolments is the backstop)."""
    connection = await ctx.session.connection()
    return activities_of((await connection.execute(_START_NEW_DEAL, params)).all())
