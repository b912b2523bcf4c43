"""Deal pages: the pipeline board (`/pipeline`) and one deal (`/deals/{id}`).

Writers drag cards between columns and within one (baton.js posts the move with the
card's new neighbours, so only that card's rank changes); viewers read. A refused
move answers 422 with the reason, or with a small form asking for exactly what the
move lacks; a card dropped on a won or lost column answers 422 with the close form
(nothing has moved yet), so the card snaps back until the form is sent. Handlers
parse the form, call one service function and render.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Row
from starlette.datastructures import FormData

from baton.activities import queries as activity_queries
from baton.activities import service as activity_service
from baton.activities.schemas import NewActivityType
from baton.activities.web import default_due, logged_activity, planned_first
from baton.audit.trail import TrailEntity
from baton.audit.web import changes_context
from baton.cadences import queries as cadence_queries
from baton.core.auth import CtxDep
from baton.core.context import Ctx, Principal
from baton.core.errors import DomainError, FieldError, RuleViolation, TransitionRejected
from baton.core.pagination import sorted_page_of
from baton.core.schemas import parse_input
from baton.deals import queries, service
from baton.deals.models import Deal, DealOutcome
from baton.deals.schemas import (
    AMOUNT_FILTERS,
    CloseIn,
    DealIn,
    DealListFilters,
    DealMoveIn,
    DealPatch,
    DealView,
)
from baton.identity.access import WRITERS
from baton.identity.queries import default_currency, member_names, members_with_roles
from baton.saved_views.models import ListKind
from baton.saved_views.web import view_tabs
from baton.web.formatting import (
    amount_example,
    amount_text,
    month_label,
    plain_amount,
    typed_amount,
)
from baton.web.rendering import render, viewer_locale, viewer_zone
from baton.workflow import charts, engine
from baton.workflow import queries as workflow_queries
from baton.workflow.models import EntityType, StatusCategory
from baton.workflow.web import checked, form_error, is_htmx, optional, redirect, text, version_of

router = APIRouter(include_in_schema=False)

# Cards shown per column; the column header still counts every deal.
CARDS_PER_COLUMN = 50
# Accounts offered by the "Add deal" picker.
ACCOUNT_CHOICES = 500
FIELD_PREFIX = "field."
# The board's filters, as the page names them.
BOARD_VIEWS: dict[str, DealView | None] = {
    "all": None,
    "mine": DealView.MINE,
    "overdue": DealView.OVERDUE,
}
CLOSING = (StatusCategory.WON, StatusCategory.LOST)
# How a field a step requires is asked for (anything else: a text input).
FIELD_INPUTS: dict[str, dict[str, str]] = {
    # Text, not a number input: an amount is typed as the organization's locale writes
    # it (`1.250,50` in de-DE; `typed_amount` reads it back).
    "amount": {"type": "text", "inputmode": "decimal", "maxlength": "20"},
    "probability": {"type": "number", "min": "0", "max": "100", "step": "1"},
    "expected_close_date": {"type": "date"},
    "next_step_due_date": {"type": "date"},
    "currency": {"type": "text", "pattern": "[A-Z]{3}", "maxlength": "3"},
    "next_step": {"type": "text", "maxlength": "200"},
}


def _can_write(principal: Principal) -> bool:
    return principal.role in WRITERS


def _helpers() -> dict[str, Any]:
    return {
        "field_inputs": FIELD_INPUTS,
        "duration": charts.duration,
    }


# ------------------------------------------------------------------ the board


@dataclass(frozen=True)
class Column:
    step: engine.StepNode
    count: int
    totals: list[tuple[str, Decimal]]
    # `queries.board_cards` rows: what a card shows.
    cards: list[Row[Any]]


@dataclass(frozen=True)
class Board:
    flow: engine.CompiledWorkflow
    columns: list[Column]
    owners: dict[uuid.UUID, str]
    accounts: dict[uuid.UUID, str]
    can_write: bool
    view: str
    # `?workflow_id=…` when the page shows a workflow other than the default one.
    query: str

    def link(self, view: str) -> str:
        params = dict(self.query_params)
        if view != "all":
            params["view"] = view
        return "/pipeline" + (f"?{urlencode(params)}" if params else "")

    @property
    def query_params(self) -> dict[str, str]:
        return {"workflow_id": self.query} if self.query else {}


def _view_name(raw: str | None) -> str:
    return raw if raw in BOARD_VIEWS else "all"


async def _board(
    ctx: Ctx, workflow_id: uuid.UUID | None, view: str, explicit: bool = True
) -> Board:
    principal = ctx.require_principal()
    found = await service.pipeline(ctx, workflow_id, CARDS_PER_COLUMN, view=BOARD_VIEWS[view])
    columns = []
    for step in found.flow.ordered_steps():
        totals = found.totals.get(step.id)
        columns.append(
            Column(
                step,
                totals.count if totals else 0,
                sorted(totals.amounts.items()) if totals else [],
                found.cards.get(step.id, []),
            )
        )
    cards = [card for column in columns for card in column.cards]
    owners = await member_names(ctx.session, (card.owner_id for card in cards))
    accounts = {card.account_id: card.account_name for card in cards}
    return Board(
        found.flow,
        columns,
        owners,
        accounts,
        _can_write(principal),
        view,
        str(workflow_id) if workflow_id and explicit else "",
    )


async def _render_board(
    request: Request,
    ctx: Ctx,
    workflow_id: uuid.UUID | None,
    view: str,
    notice: str | None,
    *,
    explicit: bool = True,
) -> Response:
    board = await _board(ctx, workflow_id, view, explicit)
    return render(request, "deals/_board.html", board=board, notice=notice, **_helpers())


@router.get("/pipeline")
async def pipeline_page(
    request: Request,
    ctx: CtxDep,
    workflow_id: uuid.UUID | None = None,
    view: str | None = None,
) -> Response:
    ctx.require_principal()
    view_name = _view_name(view)
    if is_htmx(request) and request.headers.get("hx-target") == "board":
        return await _render_board(request, ctx, workflow_id, view_name, None)
    board = await _board(ctx, workflow_id, view_name)
    accounts, cadences = (
        (
            await queries.account_choices(ctx.session, ACCOUNT_CHOICES),
            await cadence_queries.cadence_choices(ctx.session),
        )
        if board.can_write
        else ([], [])
    )
    return render(
        request,
        "deals/pipeline.html",
        board=board,
        notice=None,
        accounts=accounts,
        cadences=cadences,
        default_currency=await default_currency(ctx.session) if board.can_write else "",
        **_helpers(),
    )


# ------------------------------------------------------------------ the list

LIST_PAGE_SIZE = 50
# The list's columns in order: (sort key, heading); None: not sortable.
LIST_COLUMNS: tuple[tuple[str | None, str], ...] = (
    ("name", "Deal"),
    ("account", "Account"),
    ("stage", "Stage"),
    ("amount", "Amount"),
    ("weighted", "Weighted"),
    ("owner", "Owner"),
    ("expected_close", "Expected close"),
    ("next_step_due", "Next step due"),
    ("days_in_stage", "Days in stage"),
)
LIST_VIEWS = {"": "All deals", "pipeline": "Open", "closed": "Closed"}
# The search box's text, as the API's `q` takes it (longer text is cut, not refused).
MAX_QUERY = 200
# The "Closes in" choices: this many months before and after the viewer's current one.
CLOSE_MONTHS_BACK = 12
CLOSE_MONTHS_AHEAD = 24


def close_month_choices(today: date, chosen: str | None, locale: str) -> list[tuple[str, str]]:
    """The months the list's "Closes in" offers, oldest first, as (`YYYY-MM`, "March
    2027" in the locale): a choice, not a month input, which browsers draw as dashes
    or take as bare text. A month the link asks for outside the range is offered too."""
    start = today.year * 12 + today.month - 1 - CLOSE_MONTHS_BACK
    months = [
        date(index // 12, index % 12 + 1, 1)
        for index in range(start, start + CLOSE_MONTHS_BACK + CLOSE_MONTHS_AHEAD + 1)
    ]
    if chosen:
        extra = date(int(chosen[:4]), int(chosen[5:7]), 1)
        if extra not in months:
            months = sorted([*months, extra])
    return [(f"{month:%Y-%m}", month_label(month, locale)) for month in months]


@dataclass(frozen=True)
class DealList:
    """The deals list page: its filters (as the URL writes them) and the links built
    from them."""

    params: dict[str, str]
    sort: str | None
    # Amount bounds the list left out, as the URL carried them: links keep them, so
    # the address bar (and a reload) still has what the user typed, and its message.
    refused_amounts: dict[str, str] = field(default_factory=dict)

    def link(self, **changes: str | None) -> str:
        params = {**self.params, **self.refused_amounts, **changes}
        kept = {key: value for key, value in params.items() if value}
        return "/deals" + (f"?{urlencode(sorted(kept.items()))}" if kept else "")

    @property
    def export_params(self) -> dict[str, str]:
        """The filters as the export takes them (the owner is its `owner`)."""
        params = {key: value for key, value in self.params.items() if key != "owner_id"}
        if "owner_id" in self.params:
            params["owner"] = self.params["owner_id"]
        return params

    def sort_link(self, key: str) -> str:
        """The heading's link: ascending first, then descending, keeping the filters."""
        return self.link(sort=f"-{key}" if self.sort == key else key)

    def sorted_as(self, key: str) -> str | None:
        """`aria-sort` of the heading."""
        if self.sort == key:
            return "ascending"
        if self.sort == f"-{key}":
            return "descending"
        return None


@dataclass(frozen=True)
class AmountRefusal:
    """An amount bound the list could not use: what was typed, and why in words."""

    label: str
    typed: str
    message: str
    # The value as the URL carries it: what was typed when it is no amount, else the
    # plain decimal it was read as.
    sent: str


# Why an amount bound was refused, by the schema's error type (`DealListFilters`).
_AMOUNT_PROBLEMS = {
    "greater_than_equal": "an amount is 0 or more",
    "less_than_equal": "that is more than any amount",
    "decimal_max_places": "an amount has at most 2 decimals",
    "value_error": "it is below Amount from",
}


def _list_filters(
    request: Request, locale: str
) -> tuple[DealListFilters, dict[str, str], set[str], dict[str, AmountRefusal]]:
    """The filters of the page's URL; values the list cannot read are left out (and
    said so on the page) rather than refusing the page. Amounts are read as the
    organization's locale types them (`1.250,50` in de-DE; a link's plain `1250.5`
    too) and carried on as plain decimals; one that is no amount is named. Answers
    the filters, the URL's readable params, the names of those left out, and why each
    left-out amount was."""
    params = {
        # No NUL (PostgreSQL text cannot hold one), as the accounts' search box reads it.
        key: value.replace("\x00", "").strip()
        for key, value in request.query_params.items()
        if key in DealListFilters.model_fields and value.replace("\x00", "").strip()
    }
    if "q" in params:
        params["q"] = params["q"][:MAX_QUERY]
    example = amount_example(locale)
    amounts: dict[str, AmountRefusal] = {}
    for key, label in AMOUNT_FILTERS.items():
        if key not in params:
            continue
        plain = plain_amount(params[key][:40], locale)
        if plain is None:
            typed = params.pop(key)[:40]
            amounts[key] = AmountRefusal(
                label, typed, f"type an amount such as {example}", sent=typed
            )
        else:
            params[key] = plain
    try:
        return DealListFilters.model_validate(params), params, set(amounts), amounts
    except ValidationError as exc:
        refused = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            if key in AMOUNT_FILTERS and key not in amounts:
                problem = _AMOUNT_PROBLEMS.get(err["type"], f"type an amount such as {example}")
                typed = amount_text(params[key], locale)
                amounts[key] = AmountRefusal(AMOUNT_FILTERS[key], typed, problem, params[key])
        kept = {key: value for key, value in params.items() if key not in refused}
        try:
            return DealListFilters.model_validate(kept), kept, refused | set(amounts), amounts
        except ValidationError:
            return DealListFilters(), {}, set(params) | set(amounts), amounts


@router.get("/deals")
async def deals_list_page(
    request: Request, ctx: CtxDep, cursor: str | None = None, part: str | None = None
) -> Response:
    principal = ctx.require_principal()
    locale = viewer_locale(ctx)
    filters, params, refused, amount_refusals = _list_filters(request, locale)
    page = sorted_page_of(LIST_PAGE_SIZE, cursor[:400] if cursor else None, filters.sort)
    rows = await service.list_deals(ctx, page, filters)
    shown = rows[:LIST_PAGE_SIZE]
    following = queries.next_list_cursor(rows, page)
    listing = DealList(
        params,
        filters.sort,
        {key: refusal.sent for key, refusal in amount_refusals.items()},
    )
    more_url = None
    if following is not None:
        more_url = listing.link(cursor=following, part="rows")
    zone = viewer_zone(ctx)
    context: dict[str, Any] = {
        "rows": shown,
        "listing": listing,
        "more_url": more_url,
        "now": datetime.now(UTC),
        "zone": zone,
        "today": datetime.now(zone).date(),
        "can_write": _can_write(principal),
    }
    htmx = is_htmx(request) and "hx-history-restore-request" not in request.headers
    if htmx and part == "rows":
        return render(request, "deals/_list_rows.html", **context)
    context.update(
        columns=LIST_COLUMNS,
        # Named below the filters; any other unreadable filter of the link in one line.
        refused=bool(refused - set(amount_refusals)),
        amount_refusals=amount_refusals,
        tabs=await view_tabs(ctx, ListKind.DEALS, params),
    )
    if htmx:
        # The filters changed: the results (tabs, rows) redrawn under the form, and the
        # address bar shows the filters as a link writes them (no empty ones).
        response = render(request, "deals/_list_results.html", **context)
        response.headers["HX-Push-Url"] = listing.link()
        return response
    stages = await service.deal_stages(ctx)
    members = await members_with_roles(ctx.session, WRITERS)
    if context["can_write"]:
        context.update(
            bulk_owners=members,
            bulk_cadences=await cadence_queries.cadence_choices(ctx.session),
            # A move to Won or Lost is a close, one deal at a time.
            bulk_stages=[(step.id, step.name) for step in stages if step.category not in CLOSING],
        )
    return render(
        request,
        "deals/list.html",
        **context,
        list_views=LIST_VIEWS,
        stages=stages,
        members=members,
        amount_filters=AMOUNT_FILTERS,
        close_months=close_month_choices(context["today"], params.get("close_month"), locale),
    )


@router.post("/deals")
async def deal_create(request: Request, ctx: CtxDep) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            DealIn,
            {
                "account_id": text(form, "account_id"),
                "name": text(form, "name"),
                "amount": typed_amount(text(form, "amount"), viewer_locale(ctx)),
                "currency": text(form, "currency").upper() or None,
                "expected_close_date": optional(text(form, "expected_close_date")),
                "next_step": optional(text(form, "next_step")),
                "next_step_due_date": optional(text(form, "next_step_due_date")),
                "cadence_id": optional(text(form, "cadence_id")),
            },
        )
        deal, _ = await service.create_deal(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    if not is_htmx(request):
        return RedirectResponse(f"/deals/{deal.id}", 303)
    # The new card is at the end of the first column: show every deal so it is seen.
    return await _render_board(
        request, ctx, deal.workflow_id, "all", f"{deal.name} added", explicit=False
    )


# ------------------------------------------------------------------ moving


def _needs_details(error: TransitionRejected) -> bool:
    """The transition exists and the role may take it; only reason, notes or fields lack."""
    return bool(error.errors) and all(
        e.field in ("reason", "notes") or e.field.startswith("fields.") for e in error.errors
    )


def _move_fields(form: FormData, locale: str) -> dict[str, str]:
    """The fields a move's form asked for; an amount as typed in the locale, made plain."""
    fields = {
        name.removeprefix(FIELD_PREFIX): value.strip()
        for name, value in form.multi_items()
        if name.startswith(FIELD_PREFIX) and isinstance(value, str) and value.strip()
    }
    if "amount" in fields:
        fields["amount"] = typed_amount(fields["amount"], locale) or fields["amount"]
    return fields


def _board_redrawn(response: Response) -> Response:
    # Whatever element asked (a card, a details or close form), the whole board is redrawn.
    response.headers["HX-Retarget"] = "#board"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


@router.post("/deals/{deal_id}/move")
async def deal_move(request: Request, ctx: CtxDep, deal_id: uuid.UUID) -> Response:
    form = await request.form()
    on_board = text(form, "context") == "board"
    view = _view_name(text(form, "view"))
    try:
        data = parse_input(
            DealMoveIn,
            {
                "to_step_id": text(form, "to_step_id"),
                "version": text(form, "version"),
                "reason": optional(text(form, "reason")),
                "notes": optional(text(form, "notes")),
                "fields": _move_fields(form, viewer_locale(ctx)),
                "after_id": optional(text(form, "after_id")),
                "before_id": optional(text(form, "before_id")),
            },
        )
        result = await service.move_deal(ctx, deal_id, data)
    except TransitionRejected as error:
        if is_htmx(request):
            return await _refused_move(request, ctx, deal_id, data, error, on_board, view)
        return form_error(request, error)
    except DomainError as error:
        return form_error(request, error)
    if on_board and is_htmx(request):
        what = f"moved to {result.to_step.name}" if result.move is not None else "reordered"
        response = await _render_board(
            request, ctx, result.deal.workflow_id, view, f"{result.deal.name} {what}"
        )
        return _board_redrawn(response)
    return redirect(request, f"/deals/{deal_id}")


async def _refused_move(
    request: Request,
    ctx: Ctx,
    deal_id: uuid.UUID,
    data: DealMoveIn,
    error: TransitionRejected,
    on_board: bool,
    view: str,
) -> Response:
    """What a refused move answers (422: nothing moved): the close form for a won or
    lost column, a form for exactly what the move lacks, or else the reason."""
    principal = ctx.require_principal()
    deal, flow = await service.get_deal(ctx, deal_id)
    target = flow.steps.get(data.to_step_id)
    context = "board" if on_board else "detail"
    if target is not None and target.category in CLOSING and target.id != deal.step_id:
        outcome = DealOutcome(target.category.value)
        choices = _close_choices(deal, flow, principal.role, outcome)
        if not choices:
            try:  # the engine's words for why there is no way there
                flow.check(deal.step_id, target.id, role=principal.role)
            except TransitionRejected as refusal:
                return form_error(request, refusal)
            return form_error(request, error)
        return await _close_form(request, deal, choices, context, view, status_code=error.status)
    option = next(
        (o for o in flow.options(deal.step_id, principal.role) if o.to_step.id == data.to_step_id),
        None,
    )
    if option is None or not _needs_details(error):
        return form_error(request, error)
    return render(
        request,
        "deals/_move_form.html",
        status_code=error.status,
        deal=deal,
        option=option,
        error=error,
        data=data,
        missing=_missing_fields(deal, option),
        sent_fields=data.fields.model_dump(exclude_none=True, mode="json"),
        context=context,
        view=view,
        **_helpers(),
    )


def _missing_fields(deal: Deal, option: engine.MoveOption) -> list[str]:
    present = service.present_fields(deal)
    return [name for name in option.required_fields if name not in present]


# ------------------------------------------------------------------ closing


@dataclass(frozen=True)
class CloseChoice:
    outcome: DealOutcome
    option: engine.MoveOption


def _close_choices(
    deal: Deal, flow: engine.CompiledWorkflow, role: str, outcome: DealOutcome | None = None
) -> list[CloseChoice]:
    """The won/lost steps the caller may close this open deal into, one per outcome."""
    if deal.outcome is not None:
        return []
    choices: dict[DealOutcome, CloseChoice] = {}
    for option in flow.options(deal.step_id, role):
        if option.to_step.category not in CLOSING:
            continue
        kind = DealOutcome(option.to_step.category.value)
        if (outcome is None or kind is outcome) and kind not in choices:
            choices[kind] = CloseChoice(kind, option)
    return [choices[kind] for kind in DealOutcome if kind in choices]


async def _close_form(
    request: Request,
    deal: Deal,
    choices: list[CloseChoice],
    context: str,
    view: str,
    *,
    status_code: int = 200,
    error: DomainError | None = None,
    data: dict[str, str] | None = None,
) -> Response:
    ctx: Ctx = request.state.ctx
    return render(
        request,
        "deals/_close_form.html",
        status_code=status_code,
        deal=deal,
        choices=choices,
        context=context,
        view=view,
        error=error,
        errors={e.field: e.message for e in error.errors} if error else {},
        data=data or {},
        names=await member_names(ctx.session, [deal.owner_id]),
    )


def _colleague_unconfirmed(ctx: Ctx, deal: Deal, form: FormData) -> RuleViolation | None:
    """Closing someone else's deal from a page is confirmed first: the form says whose
    it is and asks for a tick (the close then names both people on the timeline)."""
    if deal.owner_id == ctx.require_principal().user_id or checked(form, "for_owner"):
        return None
    return RuleViolation(
        "This deal belongs to a colleague",
        errors=[FieldError("for_owner", "tick the box to close it for them")],
    )


@router.post("/deals/{deal_id}/close")
async def deal_close(request: Request, ctx: CtxDep, deal_id: uuid.UUID) -> Response:
    form = await request.form()
    on_board = text(form, "context") == "board"
    view = _view_name(text(form, "view"))
    sent = {name: text(form, name) for name in ("outcome", "reason", "notes")}
    try:
        data = parse_input(
            CloseIn,
            {
                "outcome": sent["outcome"],
                "reason": optional(sent["reason"]),
                "notes": optional(sent["notes"]),
                "version": text(form, "version"),
            },
        )
        deal, _ = await service.get_deal(ctx, deal_id)
        unconfirmed = _colleague_unconfirmed(ctx, deal, form)
        if unconfirmed is not None:
            raise unconfirmed
        result = await service.close_deal(ctx, deal_id, data)
    except RuleViolation as error:
        if not is_htmx(request):
            return form_error(request, error)
        # The form again, each problem next to its field (nothing was closed).
        principal = ctx.require_principal()
        deal, flow = await service.get_deal(ctx, deal_id)
        known = sent["outcome"] in {kind.value for kind in DealOutcome}
        outcome = DealOutcome(sent["outcome"]) if on_board and known else None
        choices = _close_choices(deal, flow, principal.role, outcome)
        if not choices:
            return form_error(request, error)
        return await _close_form(
            request,
            deal,
            choices,
            "board" if on_board else "detail",
            view,
            status_code=error.status,
            error=error,
            data=sent,
        )
    except DomainError as error:
        return form_error(request, error)
    if on_board and is_htmx(request):
        response = await _render_board(
            request,
            ctx,
            result.deal.workflow_id,
            view,
            f"{result.deal.name} closed as {data.outcome.value}",
        )
        return _board_redrawn(response)
    return redirect(request, f"/deals/{deal_id}")


# ------------------------------------------------------------------ one deal


@router.post("/deals/{deal_id}/activities")
async def activity_log(request: Request, ctx: CtxDep, deal_id: uuid.UUID) -> Response:
    """Log a note or plan a call on the deal: it joins the deal's (and account's) timeline."""
    form = await request.form()
    try:
        deal, _ = await service.get_deal(ctx, deal_id)
        data = logged_activity(ctx, form, deal.account_id, deal.id, deal.contact_id)
        await activity_service.create_activity(ctx, data)
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, f"/deals/{deal_id}")


@router.post("/deals/{deal_id}/edit")
async def deal_edit(request: Request, ctx: CtxDep, deal_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        data = parse_input(
            DealPatch,
            {
                "name": text(form, "name"),
                "amount": typed_amount(text(form, "amount"), viewer_locale(ctx)),
                "currency": optional(text(form, "currency").upper()),
                "probability": optional(text(form, "probability")),
                "expected_close_date": optional(text(form, "expected_close_date")),
                "next_step": optional(text(form, "next_step")),
                "next_step_due_date": optional(text(form, "next_step_due_date")),
                "source": optional(text(form, "source")),
                "need": optional(text(form, "need")),
                "notes": optional(text(form, "notes")),
                **(
                    {
                        "owner_id": text(form, "owner_id"),
                        "planned_work_follows": checked(form, "planned_work_follows"),
                    }
                    if text(form, "owner_id")
                    else {}
                ),
            },
        )
        await service.update_deal(ctx, deal_id, data, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, f"/deals/{deal_id}")


@router.post("/deals/{deal_id}/delete")
async def deal_delete(request: Request, ctx: CtxDep, deal_id: uuid.UUID) -> Response:
    form = await request.form()
    try:
        await service.delete_deal(ctx, deal_id, version_of(form))
    except DomainError as error:
        return form_error(request, error)
    return redirect(request, "/pipeline")


@dataclass(frozen=True)
class HistoryRow:
    from_name: str | None
    to_name: str
    at: datetime
    actor_id: uuid.UUID | None
    reason: str | None
    notes: str | None
    backwards: bool
    seconds_in_step: float
    current: bool


async def _history(ctx: Ctx, deal_id: uuid.UUID) -> list[HistoryRow]:
    entries = await service.deal_history(ctx, deal_id)
    steps = await workflow_queries.steps_by_id(
        ctx.session,
        {e.to_step_id for e in entries} | {e.from_step_id for e in entries if e.from_step_id},
    )

    def name(step_id: uuid.UUID | None) -> str | None:
        if step_id is None:
            return None
        return steps[step_id][0].name if step_id in steps else "?"

    now = datetime.now(UTC)
    ends = [entry.at for entry in entries[1:]] + [now]
    return [
        HistoryRow(
            from_name=name(entry.from_step_id),
            to_name=name(entry.to_step_id) or "?",
            at=entry.at,
            actor_id=entry.actor_id,
            reason=entry.reason,
            notes=entry.notes,
            backwards=entry.backwards,
            seconds_in_step=max(0.0, (end - entry.at).total_seconds()),
            current=index == len(entries) - 1,
        )
        for index, (entry, end) in enumerate(zip(entries, ends, strict=True))
    ]


@router.get("/deals/{deal_id}")
async def deal_page(request: Request, ctx: CtxDep, deal_id: uuid.UUID) -> Response:
    principal = ctx.require_principal()
    deal, flow = await service.get_deal(ctx, deal_id)
    can_write = _can_write(principal)
    options = (
        [
            (option, _missing_fields(deal, option))
            for option in flow.options(deal.step_id, principal.role)
            if option.to_step.category not in CLOSING
        ]
        if can_write and deal.outcome is None
        else []
    )
    history = await _history(ctx, deal_id)
    activities = planned_first(
        await activity_queries.for_record(ctx.session, EntityType.DEAL, deal_id)
    )
    refs = await queries.references(ctx.session, deal.id, deal.account_id, deal.contact_id)
    names = await member_names(
        ctx.session,
        [
            deal.owner_id,
            *(row.actor_id for row in history),
            *(a.owner_id for a in activities),
            *(a.created_by for a in activities),
        ],
    )
    return render(
        request,
        "deals/detail.html",
        deal=deal,
        step=flow.step(deal.step_id),
        flow=flow,
        refs=refs,
        options=options,
        choices=_close_choices(deal, flow, principal.role) if can_write else [],
        history=history,
        activities=activities,
        names=names,
        can_write=can_write,
        # Who the deal can be handed to: members who may own records.
        owners=await members_with_roles(ctx.session, WRITERS) if can_write else [],
        probability=deal.probability
        if deal.probability is not None
        else flow.step(deal.step_id).probability,
        context="detail",
        view="all",
        activity_types=[t.value for t in NewActivityType],
        due=default_due(viewer_zone(ctx)),
        **await changes_context(ctx, TrailEntity.DEAL, deal_id),
        error=None,
        errors={},
        data={},
        **_helpers(),
    )
