"""Activity pages: the planner (grouped by day, overdue first) and one-click complete.

Handlers parse the form, call one service function and render. Completing or
cancelling answers with the activity's row, redrawn as done or cancelled, so the
same buttons work in the planner and on an account's page. Completing a deal's
last planned activity is refused by the service (422 asking for `next`, an open
deal never lacks a next step); to an htmx request that refusal is answered with a
small form for the follow-up, shown inside the row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from baton.activities import queries, service
from baton.activities.models import Activity, ActivityStatus
from baton.activities.queries import RelatedNames, RelatedRef, ViewPage
from baton.activities.schemas import (
    ActivityIn,
    ActivityView,
    CompleteIn,
    NewActivityType,
    PlannedType,
)
from baton.core.auth import CtxDep
from baton.core.context import Ctx, Principal
from baton.core.errors import DomainError, ValidationFailed
from baton.core.schemas import parse_input
from baton.identity.access import WRITERS
from baton.identity.queries import member_names
from baton.web.formatting import typed_time
from baton.web.rendering import render, viewer_zone
from baton.workflow.web import form_error, is_htmx, optional, text, version_of

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# The planner shows this many overdue activities above the days; the Overdue tab has all.
OVERDUE_SHOWN = 50
VIEW_LABELS = {
    ActivityView.PLANNER: "Planner",
    ActivityView.TODAY: "Today",
    ActivityView.OVERDUE: "Overdue",
    ActivityView.DONE: "Done",
}
PLANNED_TYPES = [planned.value for planned in PlannedType]


def can_write(principal: Principal) -> bool:
    return principal.role in WRITERS


def planned_first(timeline: Iterable[Activity]) -> list[Activity]:
    """A record's timeline as its page lists it: what is planned first, soonest due on
    top (not the furthest-future meeting), then what happened, newest first (the
    order `queries.for_record` gives)."""
    entries = list(timeline)
    planned = sorted(
        (a for a in entries if a.status == ActivityStatus.PLANNED.value),
        key=lambda a: (a.due_at is None, a.due_at, a.id),
    )
    return planned + [a for a in entries if a.status != ActivityStatus.PLANNED.value]


def safe_path(target: str, default: str) -> str:
    """Only same-site paths: a form's `return_to` must never leave Baton."""
    if target.startswith("/") and not target.startswith("//"):
        return target
    return default


def default_due(zone: tzinfo, now: datetime | None = None) -> str:
    """The value a due-time input starts with: tomorrow 09:00 in the viewer's zone."""
    tomorrow = (now or datetime.now(UTC)).astimezone(zone).date() + timedelta(days=1)
    return f"{tomorrow.isoformat()}T09:00"


def logged_activity(
    ctx: Ctx,
    form: FormData,
    account_id: uuid.UUID,
    deal_id: uuid.UUID | str | None,
    contact_id: uuid.UUID | str | None,
) -> ActivityIn:
    """The "Log activity" form of an account or deal page, read in the viewer's zone.

    A note is logged as done: the due time the form starts with is not its.
    """
    kind = text(form, "type")
    return parse_input(
        ActivityIn,
        {
            "type": kind,
            "subject": text(form, "subject"),
            "description": optional(text(form, "description")),
            "due_at": None
            if kind == NewActivityType.NOTE.value
            else typed_time(text(form, "due_at"), viewer_zone(ctx)),
            "account_id": account_id,
            "contact_id": contact_id,
            "deal_id": deal_id,
        },
    )


# ------------------------------------------------------------------ rows


@dataclass(frozen=True)
class ActivityRow:
    """One activity as a list shows it, with its related records named."""

    id: uuid.UUID
    type: str
    subject: str
    status: str
    due_at: datetime | None
    completed_at: datetime | None
    outcome: str | None
    version: int
    owner: str | None
    account: RelatedRef | None
    contact: RelatedRef | None
    deal: RelatedRef | None
    work_item_id: uuid.UUID | None
    overdue: bool

    @property
    def planned(self) -> bool:
        return self.status == ActivityStatus.PLANNED.value


def _is_overdue(activity: Activity, now: datetime) -> bool:
    return (
        activity.status == ActivityStatus.PLANNED.value
        and activity.due_at is not None
        and activity.due_at < now
    )


def activity_row(
    activity: Activity,
    owners: dict[uuid.UUID, str],
    now: datetime,
    *,
    account: RelatedRef | None,
    contact: RelatedRef | None,
    deal: RelatedRef | None,
) -> ActivityRow:
    return ActivityRow(
        id=activity.id,
        type=activity.type,
        subject=activity.subject,
        status=activity.status,
        due_at=activity.due_at,
        completed_at=activity.completed_at,
        outcome=activity.outcome,
        version=activity.version,
        owner=owners.get(activity.owner_id) if activity.owner_id else None,
        account=account,
        contact=contact,
        deal=deal,
        work_item_id=activity.work_item_id,
        overdue=_is_overdue(activity, now),
    )


def rows_of(
    activities: Iterable[Activity],
    names: RelatedNames,
    owners: dict[uuid.UUID, str],
    now: datetime,
) -> list[ActivityRow]:
    return [
        activity_row(
            activity,
            owners,
            now,
            account=names.accounts.get(activity.account_id) if activity.account_id else None,
            contact=names.contacts.get(activity.contact_id) if activity.contact_id else None,
            deal=names.deals.get(activity.deal_id) if activity.deal_id else None,
        )
        for activity in activities
    ]


@dataclass(frozen=True)
class DayGroup:
    day: date | None
    label: str
    rows: list[ActivityRow]
    # The first group of a "Load more" page that goes on with the previous page's day.
    continued: bool = False


def day_label(day: date | None, today: date) -> str:
    if day is None:
        return "No due date"
    names = {today: "Today", today + timedelta(days=1): "Tomorrow"}
    names[today - timedelta(days=1)] = "Yesterday"
    long = f"{day.strftime('%a')} {day.day} {day.strftime('%b %Y')}"
    return f"{names[day]} · {long}" if day in names else long


def group_by_day(
    view: ActivityView,
    rows: Sequence[ActivityRow],
    today: date,
    previous_day: date | None,
    zone: tzinfo,
) -> list[DayGroup]:
    """The rows under the viewer's days (`zone`), as the planner shows them."""
    groups: list[DayGroup] = []
    for row in rows:
        moment_ = row.completed_at if view is ActivityView.DONE else row.due_at
        day = moment_.astimezone(zone).date() if moment_ is not None else None
        if groups and groups[-1].day == day:
            groups[-1].rows.append(row)
            continue
        continued = not groups and previous_day is not None and day == previous_day
        groups.append(DayGroup(day, day_label(day, today), [row], continued))
    return groups


# ------------------------------------------------------------------ the planner


def _view(raw: str) -> ActivityView:
    try:
        return ActivityView(raw)
    except ValueError:
        return ActivityView.PLANNER


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@router.get("/activities")
async def planner_page(
    request: Request,
    ctx: CtxDep,
    view: str = "planner",
    owner: str | None = None,
    cursor: str | None = None,
    after_day: str | None = None,
    part: str | None = None,
) -> Response:
    principal = ctx.require_principal()
    chosen = _view(view)
    writer = can_write(principal)
    # Writers start with their own work; viewers own none, so they start with everyone's.
    mine = owner == "me" if owner in ("me", "all") else writer
    owner_id = principal.user_id if mine else None
    after = queries.decode_view_cursor(cursor[:64]) if cursor else None
    page = ViewPage(PAGE_SIZE, after)
    now = datetime.now(UTC)
    zone = viewer_zone(ctx)
    found = await queries.list_view(ctx.session, chosen, page, owner_id, now, zone)
    shown = found[:PAGE_SIZE]
    overdue: list[Activity] = []
    overdue_more = False
    if chosen is ActivityView.PLANNER and after is None:
        late = await queries.list_view(
            ctx.session, ActivityView.OVERDUE, ViewPage(OVERDUE_SHOWN, None), owner_id, now, zone
        )
        overdue, overdue_more = late[:OVERDUE_SHOWN], len(late) > OVERDUE_SHOWN
        # What fell due earlier today is listed once, with the overdue work.
        late_ids = {activity.id for activity in overdue}
        shown = [activity for activity in shown if activity.id not in late_ids]
    names = await queries.related_names(ctx.session, [*overdue, *shown])
    owners = await member_names(ctx.session, (a.owner_id for a in [*overdue, *shown]))
    rows = rows_of(shown, names, owners, now)
    today = now.astimezone(zone).date()
    groups = group_by_day(chosen, rows, today, _day(after_day), zone)
    next_cursor = queries.view_next_cursor(chosen, found, page)
    more_url = None
    if next_cursor is not None:
        last_day = groups[-1].day if groups else None
        more_url = "/activities?" + urlencode(
            {
                "view": chosen.value,
                "owner": "me" if mine else "all",
                "cursor": next_cursor,
                "after_day": last_day.isoformat() if last_day else "",
                "part": "more",
            }
        )
    context: dict[str, Any] = {
        "view": chosen,
        "views": VIEW_LABELS,
        "mine": mine,
        "groups": groups,
        "overdue": rows_of(overdue, names, owners, now),
        "overdue_more": overdue_more,
        "more_url": more_url,
        "can_write": writer,
        "return_to": f"/activities?view={chosen.value}&owner={'me' if mine else 'all'}",
    }
    if part == "more" and is_htmx(request):
        return render(request, "activities/_more.html", **context)
    return render(request, "activities/planner.html", **context)


# ------------------------------------------------------------------ complete, cancel


def _follow_up(form: FormData, zone: tzinfo) -> dict[str, Any] | None:
    """The follow-up the form plans, if it plans one (`with_next`, or any field filled);
    its due time typed in the viewer's `zone`."""
    wanted = text(form, "with_next") == "1" or any(
        text(form, name) for name in ("next_subject", "next_due")
    )
    if not wanted:
        return None
    return {
        "type": text(form, "next_type") or PlannedType.CALL.value,
        "subject": text(form, "next_subject"),
        "due_at": typed_time(text(form, "next_due"), zone),
        "description": optional(text(form, "next_description")),
    }


def _asks_for_next(error: ValidationFailed) -> bool:
    return any(problem.field == "next" for problem in error.errors)


def _after_change(request: Request, form: FormData, change: service.ActivityChange) -> Response:
    if not is_htmx(request):
        return RedirectResponse(safe_path(text(form, "return_to"), "/activities"), 303)
    return render(request, "activities/_changed_row.html", change=change)


@router.post("/activities/{activity_id}/complete")
async def activity_complete(request: Request, ctx: CtxDep, activity_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            CompleteIn,
            {
                "outcome": optional(text(form, "outcome")),
                "next": _follow_up(form, viewer_zone(ctx)),
            },
        )
        change = await service.complete_activity(ctx, activity_id, data, version_of(form))
    except ValidationFailed as error:
        if is_htmx(request) and _asks_for_next(error):
            return await _follow_up_form(request, ctx, activity_id, form, error)
        return form_error(request, error)
    except DomainError as error:
        return form_error(request, error)
    return _after_change(request, form, change)


async def _follow_up_form(
    request: Request, ctx: CtxDep, activity_id: uuid.UUID, form: FormData, error: DomainError
) -> Response:
    """The form asking for the deal's next step (422: nothing was completed)."""
    activity = await service.get_activity(ctx, activity_id)
    return render(
        request,
        "activities/_follow_up_form.html",
        status_code=error.status,
        activity=activity,
        error=error,
        outcome=text(form, "outcome"),
        return_to=safe_path(text(form, "return_to"), "/activities"),
        types=PLANNED_TYPES,
        due=default_due(viewer_zone(ctx)),
    )


@router.post("/activities/{activity_id}/cancel")
async def activity_cancel(request: Request, ctx: CtxDep, activity_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        change = await service.cancel_activity(ctx, activity_id, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return _after_change(request, form, change)
