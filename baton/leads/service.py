"""The lead journey (DESIGN §5, seed 002): triage, hand-over, the pool, claims.

Its one promise: every lead is always in exactly one work queue (`view`, derived by
the database from the step) and every hand-over is one atomic, idempotent action.
Each public function here is one unit of work inside the request's transaction:
either everything it describes happens, or (on any error) nothing does.

How the database keeps it honest:
- the `govern_step` trigger refuses a step change that is not a transition of the
  lead's workflow and writes the history row; the reason and notes reach it through
  transaction-local settings, set by the statement that loads the lead;
- the deferred `lead_pool_consistent` trigger refuses a commit that leaves a lead
  pooled without a pool row, or a pool row for a lead that is not pooled;
- row-level security shows each role only its queues. A write that moves a lead out
  of the writer's sight (sales rejecting a pooled lead back to marketing) is an
  UPDATE without RETURNING: PostgreSQL checks a returned row against the read policy.

Locking: a claim (and a rejection) takes the lead's pool row with `FOR UPDATE SKIP
LOCKED` and deletes it, so of many concurrent claimers exactly one gets the row and
the others learn at once that the lead is taken (409) instead of queueing. Account
find-or-create is serialised per company by transaction-scoped advisory locks.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Interval,
    Select,
    String,
    Table,
    Uuid,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    true,
    union_all,
    update,
)

from baton.accounts import queries as account_queries
from baton.accounts.matching import account_locks, company_domain, company_key, name_key_of
from baton.accounts.models import Account, ActivityLevel, Tenure
from baton.accounts.queries import ACCOUNT_STATUSES, STATUS_COLUMNS
from baton.activities.models import Activity, ActivityStatus, ActivityType
from baton.activities.timeline import stage_change_entry, stage_change_subject
from baton.cadences import service as cadence_service
from baton.contacts.matching import contact_ctes, person_of, person_params
from baton.core.context import Ctx, Principal
from baton.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    RuleViolation,
    StaleVersion,
    TransitionRejected,
    ValidationFailed,
)
from baton.core.ids import uuid7
from baton.core.pagination import PageRequest
from baton.core.versioning import check_version
from baton.core.zones import zone_named
from baton.db import search

# Module imports, not names: the deals service imports activities, which import it.
from baton.deals import service as deal_service
from baton.deals.models import Deal, DealOutcome
from baton.deals.schemas import CloseIn
from baton.identity.access import WRITERS, require_role
from baton.identity.models import Membership, Role, TenantSettings
from baton.identity.queries import member_zone
from baton.leads import queries
from baton.leads.models import Lead, LeadView, PoolEntry
from baton.leads.queries import LeadRecord
from baton.leads.schemas import LeadIn, LeadPatch, RejectIn, TriageIn, TriageStatus
from baton.notifications.models import NotificationKind
from baton.notifications.service import notify
from baton.webhooks.events import emit, emit_each
from baton.workflow import effects, engine
from baton.workflow import service as workflow_service
from baton.workflow.defaults import LOSS_REASONS
from baton.workflow.models import (
    EntityType,
    ProjectType,
    Workflow,
    WorkflowHistory,
    WorkflowStep,
)

LEADS: Table = Lead.__table__  # type: ignore[assignment]
POOL: Table = PoolEntry.__table__  # type: ignore[assignment]
ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]
ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
DEALS: Table = Deal.__table__  # type: ignore[assignment]
WORKFLOWS: Table = Workflow.__table__  # type: ignore[assignment]
PROJECT_TYPES: Table = ProjectType.__table__  # type: ignore[assignment]
HISTORY: Table = WorkflowHistory.__table__  # type: ignore[assignment]
STEPS: Table = WorkflowStep.__table__  # type: ignore[assignment]
SETTINGS: Table = TenantSettings.__table__  # type: ignore[assignment]
_ONE_HOUR = literal_column("interval '1 hour'", Interval)

# Who works which side of the hand-over (DESIGN §5).
MARKETING_SIDE = (Role.ADMIN, Role.MANAGER, Role.MARKETING)
SALES_SIDE = (Role.ADMIN, Role.MANAGER, Role.SALES)
SUPERVISORS = (Role.ADMIN, Role.MANAGER)
TEAM_READERS = (Role.ADMIN, Role.MANAGER, Role.VIEWER)
_ALL_VIEWS = frozenset(LeadView)
VIEWS_BY_ROLE: dict[str, frozenset[LeadView]] = {
    Role.MARKETING: frozenset(
        {LeadView.INBOX, LeadView.POOL, LeadView.NURTURE, LeadView.DISQUALIFIED}
    ),
    Role.SALES: frozenset({LeadView.POOL, LeadView.MINE}),
    Role.ADMIN: _ALL_VIEWS,
    Role.MANAGER: _ALL_VIEWS,
    Role.VIEWER: _ALL_VIEWS,
}
# Steps marketing triages from; a claimed lead is triaged (closed) by sales.
_MARKETING_STEPS = frozenset({"new", "in_review", "nurture"})

HANDED_OVER_SUBJECT = "Handed over to sales"


@dataclass(frozen=True)
class ClaimResult:
    """What a claim, an assignment or a conversion leaves: the lead and its new work."""

    lead: LeadRecord
    deal: Deal
    deal_flow: engine.CompiledWorkflow
    account: account_queries.AccountRow
    activities: list[Activity]


# ---------------------------------------------------------------- normalising


def dedupe_key(email: str | None, phone: str | None, company_name: str) -> str:
    """What finds a lead's duplicates: the normalised email, else the phone's digits,
    else the normalised company name (its plain lower case if nothing is left)."""
    if email:
        return email.lower()
    digits = re.sub(r"\D", "", phone or "")
    if digits:
        return digits
    return company_key(company_name) or company_name.strip().lower()


def _missing_for_sales(email: str | None, phone: str | None, need: str | None) -> list[FieldError]:
    """What a lead lacks before sales can work it: a way to reach them and a need."""
    errors = []
    if not email and not phone:
        errors.append(FieldError("email", "an email or a phone is required to qualify"))
    if not (need and need.strip()):
        errors.append(FieldError("need", "a stated need is required to qualify"))
    return errors


# ---------------------------------------------------------------- shared statements

# The load every action starts with: the lead, its workflow's row version (the
# compiled graph is then a cache hit) and the history trigger's settings. Every
# action sets all three, so nothing leaks into a later move of the same transaction.
_LOAD = (
    select(
        LEADS,
        WORKFLOWS.c.version.label("workflow_version"),
        func.set_config("baton.transition_reason", bindparam("reason"), True),
        func.set_config("baton.transition_notes", bindparam("notes"), True),
        func.set_config("baton.transition_fields", literal(""), True),
    )
    .join(WORKFLOWS, WORKFLOWS.c.id == LEADS.c.workflow_id)
    .where(LEADS.c.id == bindparam("lead_id"), LEADS.c.deleted_at.is_(None))
)

# Take a lead's pool entry: whoever deletes the row owns the hand-over. A row another
# transaction holds is skipped, not waited for.
_TAKE_FROM_POOL = (
    delete(POOL)
    .where(
        POOL.c.id
        == select(POOL.c.id)
        .where(POOL.c.lead_id == bindparam("lead_id"))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    .returning(POOL.c.id)
)

# The company name's `name_key`, computed by the very expression the column uses.


@dataclass(frozen=True)
class _Loaded:
    lead: Lead
    flow: engine.CompiledWorkflow
    step: engine.StepNode


async def _load(
    ctx: Ctx,
    lead_id: uuid.UUID,
    *,
    reason: str | None = None,
    notes: str | None = None,
    lock: bool = False,
) -> _Loaded:
    """The live lead the caller may see (404 otherwise, and for another tenant's id)."""
    connection = await ctx.session.connection()
    query = _LOAD.with_for_update(of=LEADS) if lock else _LOAD
    row = (
        await connection.execute(
            query, {"lead_id": lead_id, "reason": reason or "", "notes": notes or ""}
        )
    ).first()
    if row is None:
        raise NotFound("No such lead")
    lead = queries.lead_of(row)
    flow = await workflow_service.require_compiled(ctx, row.workflow_id, row.workflow_version)
    return _Loaded(lead, flow, flow.step(lead.step_id))


def _step(flow: engine.CompiledWorkflow, key: str) -> engine.StepNode:
    try:
        return flow.step_by_key(key)
    except KeyError:
        raise RuleViolation(
            f"The workflow {flow.name} has no '{key}' step; an admin must restore it"
        ) from None


async def _move(
    ctx: Ctx, lead: Lead, to_step: engine.StepNode, expected_version: int, **values: Any
) -> None:
    """One guarded step change (the trigger checks and records it). No RETURNING: the
    lead may leave the caller's sight. 409 when the lead changed meanwhile."""
    result = await ctx.session.execute(
        update(LEADS)
        .where(
            LEADS.c.id == lead.id,
            LEADS.c.version == expected_version,
            LEADS.c.deleted_at.is_(None),
        )
        .values(step_id=to_step.id, version=LEADS.c.version + 1, updated_at=func.now(), **values)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise StaleVersion("The lead changed while you worked on it")


async def _log(
    ctx: Ctx, lead_id: uuid.UUID, *subjects: str, description: str | None = None
) -> None:
    """System entries on the lead's timeline (done as written)."""
    principal = ctx.require_principal()
    await ctx.session.execute(
        insert(ACTIVITIES),
        [
            {
                "tenant_id": principal.tenant_id,
                "id": uuid7(),
                "type": ActivityType.SYSTEM.value,
                "status": ActivityStatus.DONE.value,
                "subject": subject[:200],
                "description": description,
                "completed_at": datetime.now(UTC),
                "owner_id": principal.user_id,
                "created_by": principal.user_id,
                "lead_id": lead_id,
            }
            for subject in subjects
        ],
    )


async def _run_effects(ctx: Ctx, lead: Lead, move: engine.Move) -> None:
    """The transition's effects (an admin may add some), in the move's transaction."""
    if move.edge.effects:
        owner = lead.sales_owner_id or lead.marketing_owner_id
        record = effects.MovedRecord(EntityType.LEAD, lead.id, lead.company_name, owner)
        await effects.run_effects(ctx, record, move)


async def enter_pool(ctx: Ctx, lead_id: uuid.UUID, subject: str) -> None:
    """Put a lead (now on its handed-over step) into the sales pool, its claim due
    after the organization's claim SLA (`tenant_settings.claim_sla_hours`, read by
    the INSERT), and say so on its timeline. The due time is fixed on entry: a later
    change of the SLA applies to leads pooled afterwards, not to this entry. The pool
    row and the step change must meet at commit (the deferred `lead_pool_consistent`
    trigger)."""
    principal = ctx.require_principal()
    entered_at = literal(datetime.now(UTC), DateTime(timezone=True))
    # The organization's SLA, read by the INSERT itself: no extra round trip.
    sla_hours = (
        select(TenantSettings.claim_sla_hours)
        .where(TenantSettings.tenant_id == principal.tenant_id)
        .scalar_subquery()
    )
    await ctx.session.execute(
        insert(POOL).values(
            tenant_id=principal.tenant_id,
            id=uuid7(),
            lead_id=lead_id,
            entered_at=entered_at,
            claim_due_at=entered_at + sla_hours * _ONE_HOUR,
            handed_over_by=principal.user_id,
        )
    )
    await _log(ctx, lead_id, subject)


async def _reread(ctx: Ctx, lead_id: uuid.UUID) -> LeadRecord:
    record = await queries.live_lead(ctx.session, lead_id)
    if record is None:
        raise NotFound("No such lead")
    return record


# ---------------------------------------------------------------- create, read, edit


async def lead_workflow(ctx: Ctx) -> tuple[uuid.UUID, int]:
    """The Lead project type's default workflow and its row version (404 if none)."""
    row = (
        await ctx.session.execute(
            select(WORKFLOWS.c.id, WORKFLOWS.c.version)
            .join(PROJECT_TYPES, PROJECT_TYPES.c.default_workflow_id == WORKFLOWS.c.id)
            .where(PROJECT_TYPES.c.entity_type == EntityType.LEAD.value)
            .order_by(PROJECT_TYPES.c.created_at, PROJECT_TYPES.c.id)
            .limit(1)
        )
    ).first()
    if row is None:
        raise NotFound("This organization has no Lead project type")
    return row.id, row.version


async def create_lead(ctx: Ctx, data: LeadIn) -> LeadRecord:
    """Marketing (and admins, managers) add a lead; it starts at New of the Lead project
    type's default workflow, owned on the marketing side by the caller, with its
    dedupe key (normalised email, else phone digits, else normalised company)."""
    principal = require_role(ctx, *MARKETING_SIDE)
    workflow_id, version = await lead_workflow(ctx)
    flow = await workflow_service.require_compiled(ctx, workflow_id, version)
    lead_id = uuid7()
    await ctx.session.execute(
        insert(LEADS).values(
            tenant_id=principal.tenant_id,
            id=lead_id,
            company_name=data.company_name,
            contact_name=data.contact_name,
            email=data.email,
            phone=data.phone,
            source=data.source,
            need=data.need,
            notes=data.notes,
            marketing_owner_id=principal.user_id,
            workflow_id=workflow_id,
            step_id=flow.initial_step.id,
            # The trigger sets the real time of entry; this only satisfies NOT NULL.
            entered_step_at=datetime.now(UTC),
            dedupe_key=dedupe_key(data.email, data.phone, data.company_name),
        )
    )
    await emit(ctx, "lead.created", lead_id)
    return await _reread(ctx, lead_id)


async def get_lead(ctx: Ctx, lead_id: uuid.UUID) -> LeadRecord:
    """Any member reads a live lead their role sees (RLS); others are 404."""
    ctx.require_principal()
    return await _reread(ctx, lead_id)


async def list_leads(ctx: Ctx, view: LeadView, page: PageRequest) -> list[LeadRecord]:
    """One queue, in creation order. A role asks only for the queues it works (403):
    marketing inbox, pool, nurture, disqualified; sales pool and mine; admins,
    managers and viewers all. `mine` is the caller's claimed, unconverted leads."""
    principal = ctx.require_principal()
    if view not in VIEWS_BY_ROLE.get(principal.role, frozenset()):
        raise PermissionDenied(f"Role '{principal.role}' does not work the {view.value} list")
    owner = principal.user_id if view is LeadView.MINE else None
    return await queries.list_leads(ctx.session, page, view=view, owner_id=owner)


async def search_leads(
    ctx: Ctx, view: LeadView | None, page: PageRequest, q: str
) -> list[queries.FoundLead]:
    """One queue searched (`queries.search_leads`: best matches first), with the same
    role rules as the queue: `view` None is the team's list (`list_team_leads`), each
    row with its owner's name."""
    if view is None:
        require_role(ctx, *TEAM_READERS)
        return await queries.search_leads(
            ctx.session, page, q, view=LeadView.MINE, owner_id=None, owner_names=True
        )
    principal = ctx.require_principal()
    if view not in VIEWS_BY_ROLE.get(principal.role, frozenset()):
        raise PermissionDenied(f"Role '{principal.role}' does not work the {view.value} list")
    owner = principal.user_id if view is LeadView.MINE else None
    return await queries.search_leads(ctx.session, page, q, view=view, owner_id=owner)


async def list_team_leads(
    ctx: Ctx, limit: int, after: queries.TeamCursor | None = None
) -> list[queries.TeamLead]:
    """The team's claimed, unconverted leads, every owner's, by owner name: admins,
    managers and viewers (who read every list); sales and marketing 403."""
    require_role(ctx, *TEAM_READERS)
    return await queries.team_leads(ctx.session, limit, after)


def whole_list_statement(ctx: Ctx, view: LeadView | None, q: str | None) -> Select[Any]:
    """One queue whole, as its list pages it (`view` None: the team's list), with the
    same role rules (`list_leads`, `search_leads`, `list_team_leads`): every lead the
    caller may read of it (RLS decides, as for the list), in its order (an export
    reads it)."""
    if view is None:
        require_role(ctx, *TEAM_READERS)
        if q is None:
            return queries.team_statement(None)
        return queries.search_statement(
            None, q, view=LeadView.MINE, owner_id=None, owner_names=True
        )
    principal = ctx.require_principal()
    if view not in VIEWS_BY_ROLE.get(principal.role, frozenset()):
        raise PermissionDenied(f"Role '{principal.role}' does not work the {view.value} list")
    owner = principal.user_id if view is LeadView.MINE else None
    if q is None:
        return queries.list_statement(None, view=view, owner_id=owner)
    return queries.search_statement(None, q, view=view, owner_id=owner)


async def update_lead(
    ctx: Ctx, lead_id: uuid.UUID, data: LeadPatch, expected_version: int | None
) -> LeadRecord:
    """Writers who see a lead edit its details at its current version (409 stale, 422
    none); the step changes only through the journey's actions. A lead with sales (or
    on its way there) keeps a way to reach it and its stated need (422); the dedupe
    key follows the new details."""
    require_role(ctx, *WRITERS)
    loaded = await _load(ctx, lead_id)
    lead = loaded.lead
    check_version(lead.version, expected_version, "lead")
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if "company_name" in changes and changes["company_name"] is None:
        raise ValidationFailed(errors=[FieldError("company_name", "cannot be removed")])
    if not changes:
        return await _reread(ctx, lead_id)
    merged = {
        name: changes.get(name, getattr(lead, name))
        for name in ("company_name", "email", "phone", "need")
    }
    if lead.view in (LeadView.POOL, LeadView.MINE, LeadView.CONVERTED):
        missing = _missing_for_sales(merged["email"], merged["phone"], merged["need"])
        if missing:
            raise ValidationFailed(
                "A lead with sales keeps a way to reach it and its stated need", errors=missing
            )
    result = await ctx.session.execute(
        update(LEADS)
        .where(LEADS.c.id == lead_id, LEADS.c.version == lead.version)
        .values(
            **changes,
            dedupe_key=dedupe_key(merged["email"], merged["phone"], merged["company_name"]),
            version=LEADS.c.version + 1,
            updated_at=func.now(),
        )
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise StaleVersion("The lead changed while you edited it")
    return await _reread(ctx, lead_id)


# ---------------------------------------------------------------- triage


def _require_triager(principal: Principal, lead: Lead, from_key: str, status: TriageStatus) -> None:
    """Marketing's queues are triaged by marketing (and admins, managers); a claimed
    lead is closed by its sales owner (or an admin, a manager)."""
    if from_key not in _MARKETING_STEPS and not (
        from_key == "claimed" and status is TriageStatus.DISQUALIFIED
    ):
        raise TransitionRejected(
            "Triage moves leads of the inbox and nurture, and closes claimed ones as "
            "disqualified; a pooled lead is claimed, rejected or assigned instead",
            errors=[FieldError("status", f"cannot triage a lead that is {from_key}")],
        )
    if from_key in _MARKETING_STEPS:
        if principal.role not in MARKETING_SIDE:
            raise PermissionDenied("Triage of marketing's leads is marketing's")
    elif principal.role not in SUPERVISORS and lead.sales_owner_id != principal.user_id:
        raise PermissionDenied("Only the lead's salesperson may close it")


async def triage_lead(ctx: Ctx, lead_id: uuid.UUID, data: TriageIn) -> LeadRecord:
    """Move a lead through triage: New → In Review → Qualified | Nurture | Disqualified;
    Nurture → In Review; and the sales closure Claimed → Disqualified.

    Disqualifying needs a reason from the transition's list (`other` with notes).
    Qualifying needs an email or a phone and a stated need (422 naming what is
    missing, suggesting Nurture instead) and hands the lead over in the same
    transaction: Qualified, then Handed Over (two history rows), the pool entry with
    its claim SLA, `qualified_at`/`handed_over_at` and a "Handed over to sales" entry —
    no qualified lead ever rests outside the pool. A salesperson disqualifying their
    claimed lead also closes its deal as lost with that reason (a lead reason that is
    no deal loss reason becomes `other`, the lead reason in the notes).
    """
    principal = require_role(ctx, *WRITERS)
    loaded = await _load(ctx, lead_id, reason=data.reason, notes=data.notes, lock=True)
    lead, flow = loaded.lead, loaded.flow
    check_version(lead.version, data.version, "lead")
    _require_triager(principal, lead, loaded.step.key, data.status)
    target = _step(flow, data.status.value)
    if data.status is TriageStatus.QUALIFIED:
        missing = _missing_for_sales(lead.email, lead.phone, lead.need)
        if missing:
            raise RuleViolation(
                "This lead cannot be qualified yet: add "
                + " and ".join(
                    "an email or a phone" if e.field == "email" else "the stated need"
                    for e in missing
                )
                + ", or move it to Nurture instead",
                errors=missing,
            )
    present = {name for name in ("email", "phone", "need") if getattr(lead, name)}
    move = flow.check(
        lead.step_id,
        target.id,
        role=principal.role,
        reason=data.reason,
        notes=data.notes,
        present_fields=present,
    )
    values: dict[str, Any] = {}
    if data.status is TriageStatus.DISQUALIFIED:
        if data.reason is None:
            raise ValidationFailed(errors=[FieldError("reason", "is required to disqualify")])
        values = {
            "disqualified_at": func.now(),
            "disqualify_reason": data.reason,
            "disqualify_notes": data.notes,
        }
    elif data.status is TriageStatus.QUALIFIED:
        values = {"qualified_at": func.now()}
    await _move(ctx, lead, target, lead.version, **values)
    await _log(ctx, lead_id, stage_change_subject(move))
    await _run_effects(ctx, lead, move)
    if data.status is TriageStatus.QUALIFIED:
        await _hand_over(ctx, loaded, move.to_step, lead.version + 1, principal)
        await emit(ctx, "lead.qualified", lead_id)
    if data.status is TriageStatus.DISQUALIFIED and lead.deal_id is not None:
        await _close_deal_lost(ctx, lead.deal_id, data.reason or "other", data.notes)
    return await _reread(ctx, lead_id)


async def _hand_over(
    ctx: Ctx,
    loaded: _Loaded,
    qualified: engine.StepNode,
    version: int,
    principal: Principal,
) -> None:
    """Qualified → Handed Over, in the qualifying transaction. The transition's
    `hand_over` effect puts the lead in the pool; an admin cannot configure the
    hand-over away: without the effect the service does the same itself."""
    # Reason and notes were the qualification's: the hand-over has none of its own.
    await ctx.session.execute(
        select(
            func.set_config("baton.transition_reason", "", True),
            func.set_config("baton.transition_notes", "", True),
        )
    )
    handed_over = _step(loaded.flow, "handed_over")
    move = loaded.flow.check(qualified.id, handed_over.id, role=principal.role)
    await _move(ctx, loaded.lead, handed_over, version, handed_over_at=func.now())
    await _log(ctx, loaded.lead.id, stage_change_subject(move))
    await _run_effects(ctx, loaded.lead, move)
    if not any(spec.name == "hand_over" for spec in move.edge.effects):
        await enter_pool(ctx, loaded.lead.id, HANDED_OVER_SUBJECT)


async def _close_deal_lost(ctx: Ctx, deal_id: uuid.UUID, reason: str, notes: str | None) -> None:
    """Close the lead's open deal as lost (the sales closure); a closed or deleted deal
    stays as it is."""
    deal = (
        await ctx.session.execute(
            select(DEALS.c.version, DEALS.c.outcome).where(
                DEALS.c.id == deal_id, DEALS.c.deleted_at.is_(None)
            )
        )
    ).first()
    if deal is None or deal.outcome is not None:
        return
    if reason in LOSS_REASONS and reason != "other":
        close = CloseIn(outcome=DealOutcome.LOST, reason=reason, notes=notes, version=deal.version)
    else:
        text_notes = f"Lead disqualified: {reason}" + (f" — {notes}" if notes else "")
        close = CloseIn(
            outcome=DealOutcome.LOST,
            reason="other",
            notes=text_notes[:10_000],
            version=deal.version,
        )
    await deal_service.close_deal(ctx, deal_id, close)


# ---------------------------------------------------------------- pool: reject, release


async def reject_lead(ctx: Ctx, lead_id: uuid.UUID, data: RejectIn) -> LeadRecord:
    """Sales (and admins, managers) hand a pooled lead back to marketing: it leaves the
    pool and returns to In Review with the reason (and notes) on it, for the inbox to
    show. A lead someone is claiming or has claimed is 409 "already claimed".

    The answer is the lead as the rejection left it, built from what was written.
    The salesperson who rejected it can still read it (`rejected_by`), no one else on
    the sales side can: it is marketing's again.
    """
    principal = require_role(ctx, *SALES_SIDE)
    try:
        loaded = await _load(ctx, lead_id, reason=data.reason, notes=data.notes)
    except NotFound:
        await _raise_if_taken(ctx, lead_id)
        raise
    lead, flow = loaded.lead, loaded.flow
    if lead.view != LeadView.POOL.value:
        raise Conflict("This lead is not in the pool: already claimed")
    in_review = _step(flow, "in_review")
    move = flow.check(
        lead.step_id, in_review.id, role=principal.role, reason=data.reason, notes=data.notes
    )
    connection = await ctx.session.connection()
    if (await connection.scalar(_TAKE_FROM_POOL, {"lead_id": lead_id})) is None:
        raise Conflict("This lead was already claimed by someone else")
    now = datetime.now(UTC)
    # `rejected_by` keeps the lead readable to the salesperson who sent it back (the
    # read policy checks the new row of this UPDATE too); the rest of the inbox is not.
    await _move(
        ctx,
        lead,
        in_review,
        lead.version,
        rejected_at=now,
        rejected_by=principal.user_id,
        reject_reason=data.reason,
        reject_notes=data.notes,
    )
    await _run_effects(ctx, lead, move)
    await _log(
        ctx,
        lead_id,
        stage_change_subject(move),
        f"Rejected by sales: {data.reason}",
        description=data.notes,
    )
    await emit(ctx, "lead.rejected", lead_id)
    lead.step_id = in_review.id
    lead.view = LeadView.INBOX.value
    lead.rejected_at = now
    lead.rejected_by = principal.user_id
    lead.reject_reason = data.reason
    lead.reject_notes = data.notes
    lead.entered_step_at = now
    lead.updated_at = now
    lead.version += 1
    step = queries.StepInfo(
        in_review.id, in_review.key, in_review.name, in_review.category.value, in_review.position
    )
    return LeadRecord(lead=lead, step=step, claim_due_at=None)


async def release_lead(ctx: Ctx, lead_id: uuid.UUID) -> LeadRecord:
    """The claimer (or an admin, a manager) gives a claimed lead back to the pool while
    no activity of its deal has been done: Claimed → Handed Over, a fresh pool entry
    with a new claim SLA, the sales owner cleared.

    The deal the claim opened is soft-deleted with its planned activities (not closed
    as lost): nothing was lost, the lead was never worked, and a fake loss would skew
    the loss reports; its cadence enrolment is stopped. History and audit keep it; the
    next claim opens a new deal on the same account (find-or-create finds it again).
    """
    principal = require_role(ctx, *SALES_SIDE)
    loaded = await _load(ctx, lead_id, lock=True)
    lead, flow = loaded.lead, loaded.flow
    if lead.view != LeadView.MINE.value:
        raise Conflict("Only a claimed lead can be released")
    if principal.role not in SUPERVISORS and lead.sales_owner_id != principal.user_id:
        raise PermissionDenied("Only the lead's salesperson may release it")
    handed_over = _step(flow, "handed_over")
    move = flow.check(lead.step_id, handed_over.id, role=principal.role)
    if lead.deal_id is not None:
        # The deal first (the lock order of completing an activity), then its work.
        deal_version = await ctx.session.scalar(
            select(DEALS.c.version)
            .where(DEALS.c.id == lead.deal_id, DEALS.c.deleted_at.is_(None))
            .with_for_update()
        )
        if deal_version is not None:
            worked = await ctx.session.scalar(
                select(func.count())
                .select_from(ACTIVITIES)
                .where(
                    ACTIVITIES.c.deal_id == lead.deal_id,
                    ACTIVITIES.c.type != ActivityType.SYSTEM.value,
                    ACTIVITIES.c.status == ActivityStatus.DONE.value,
                    ACTIVITIES.c.deleted_at.is_(None),
                )
            )
            if worked:
                raise Conflict(
                    "Work on this lead's deal has been done: it cannot go back to the pool"
                )
            await deal_service.delete_deal(ctx, lead.deal_id, deal_version)
            # The claim enrolled the deal in the default cadence: the enrolment ends
            # with it (its planned activities went with the deal).
            await cadence_service.stop_enrollments_for(ctx, deal_id=lead.deal_id)
    await _move(
        ctx,
        lead,
        handed_over,
        lead.version,
        sales_owner_id=None,
        claimed_at=None,
        deal_id=None,
        handed_over_at=func.now(),
    )
    await _log(ctx, lead_id, stage_change_subject(move))
    await _run_effects(ctx, lead, move)
    await enter_pool(ctx, lead_id, "Released back to the pool")
    return await _reread(ctx, lead_id)


# ---------------------------------------------------------------- claim, assign, convert

# The claim is the journey's hot path (DESIGN §7: 32 claimers, at least 40 % of the
# same SQL sent raw). After authentication it sends four statements, each doing all
# it can in one round trip:
#   1. `_LOAD_AND_TAKE`: the lead, the history trigger's settings, and the lead's pool
#      entry taken (SKIP LOCKED);
#   2. `_PREPARE[n]`: the account's advisory locks, with what the deal needs read
#      along: the Deal workflow and its version, its first column's last rank, the
#      organization's currency, its default cadence and steps;
#   3. `_ACCOUNT[by_key]`: the account found or created, with its status;
#   4. `_OPEN_FOR_CLAIM`: the deal, the lead's move, the cadence enrolment and its
#      planned activities (or the first contact), the timeline entry — answering all
#      of it, so nothing is read back.
# A conversion of a lead without a deal sends the last three (`_OPEN_FOR_CONVERT`).
# The account needs a statement of its own after the locks: a statement sees what
# was committed before it began, and another find-or-create of the same company may
# commit while this one waits for its lock.

_taken = _TAKE_FROM_POOL.cte("taken")
# `taken_id` is the deleted pool row, null when the entry was gone or someone else
# holds it; the lead is read either way (a repeated claim answers from it).
_LOAD_AND_TAKE = _LOAD.add_columns(select(_taken.c.id).scalar_subquery().label("taken_id"))

_DEAL_FLOW = deal_service.DEAL_WORKFLOW.subquery("deal_flow")
# The last card of that workflow's initial column: the new deal goes after it.
_LAST_RANK = (
    select(func.max(DEALS.c.rank))
    .where(
        DEALS.c.workflow_id == _DEAL_FLOW.c.id,
        DEALS.c.step_id
        == select(STEPS.c.id)
        .where(STEPS.c.workflow_id == _DEAL_FLOW.c.id, STEPS.c.is_initial)
        # Two levels down from `deal_flow`: correlated to it explicitly.
        .correlate(_DEAL_FLOW)
        .scalar_subquery(),
        DEALS.c.deleted_at.is_(None),
    )
    .scalar_subquery()
)


def _prepare(locks: int) -> Select[Any]:
    return select(
        *(
            func.pg_advisory_xact_lock(
                func.hashtextextended(bindparam(f"lock_{n}", type_=String), 0)
            ).label(f"lock_{n}")
            for n in range(locks)
        ),
        _DEAL_FLOW.c.id.label("deal_workflow_id"),
        _DEAL_FLOW.c.version.label("deal_workflow_version"),
        _LAST_RANK.label("last_rank"),
        select(SETTINGS.c.default_currency).scalar_subquery().label("currency"),
        cadence_service.default_cadence_column().label("cadence"),
        # When the owner's first work is due: the end of their working day.
        member_zone(bindparam("owner", type_=Uuid)).label("owner_zone"),
    ).select_from(_DEAL_FLOW)


# One lock for the company name, a second for a company domain.
_PREPARE = {locks: _prepare(locks) for locks in (1, 2)}


def _account_statement(by_key: bool) -> Select[Any]:
    """`find_or_create_account`'s match and insert as one statement (run after the
    locks): the live account with the email's domain first, else the oldest whose
    `name_key` is the company's (a name of punctuation alone has an empty key and is
    compared whole, lower-cased); none: a new one (company name, domain, owner). The
    row comes with its status; a new account's is known without reading: a prospect
    with no transaction. With it, the lead's person found or added as a contact of
    that account (`person_*`: none when the lead names no one)."""
    company = bindparam("company_name", type_=String)
    domain = bindparam("company_domain", type_=String)
    by_domain = ACCOUNTS.c.domain == domain
    by_name = (
        ACCOUNTS.c.name_key == name_key_of(company)
        if by_key
        else func.lower(ACCOUNTS.c.name) == bindparam("company_lowered", type_=String)
    )
    found = (
        select(ACCOUNTS)
        .where(ACCOUNTS.c.deleted_at.is_(None), by_domain | by_name)
        .order_by(by_domain.desc().nulls_last(), ACCOUNTS.c.created_at, ACCOUNTS.c.id)
        .limit(1)
        .cte("found")
    )
    created = (
        insert(ACCOUNTS)
        .from_select(
            ["tenant_id", "id", "name", "domain", "owner_id"],
            select(
                bindparam("tenant", type_=Uuid),
                bindparam("new_account", type_=Uuid),
                company,
                domain,
                bindparam("owner", type_=Uuid),
            ).where(~exists(select(found.c.id))),
        )
        .returning(*ACCOUNTS.c)
        .cte("created")
    )
    statuses = ACCOUNT_STATUSES
    new_status = {
        "tenure": literal(Tenure.PROSPECT.value),
        "activity": literal(ActivityLevel.NO_TRANSACTION.value),
    }
    account = union_all(
        select(found, *(statuses.c[name] for name in STATUS_COLUMNS)).join(
            statuses,
            (statuses.c.tenant_id == found.c.tenant_id) & (statuses.c.account_id == found.c.id),
        ),
        select(
            created,
            *(
                new_status[name].label(name)
                if name in new_status
                else null().cast(Date).label(name)
                for name in STATUS_COLUMNS
            ),
        ),
    ).cte("account")
    # The lead's person on that account, found or added (`contacts.matching`).
    person, filled = contact_ctes(select(account.c.id).scalar_subquery())
    return (
        select(
            account,
            person.c.id.label("person_id"),
            person.c.first_name.label("person_first_name"),
            person.c.last_name.label("person_last_name"),
        )
        .outerjoin(person, true())
        .add_cte(filled)
    )


_ACCOUNT = {by_key: _account_statement(by_key) for by_key in (True, False)}
_ACCOUNT_KEYS = tuple(column.key for column in ACCOUNTS.c)


def _open_statement(lead_values: dict[str, Any]) -> Select[Any]:
    """The deal, the lead moved (`lead_values` besides step, version, account and
    deal), the enrolment and activities (`cadences.service.NEW_DEAL_*`) and the
    "Stage changed" entry, in one statement answering the lead, the deal and the
    planned activities (a row per activity). No lead row back means the lead changed
    since it was read: the caller refuses the whole claim."""
    deal = (
        insert(DEALS)
        .values(
            tenant_id=bindparam("tenant"),
            id=bindparam("deal"),
            name=bindparam("deal_name"),
            account_id=bindparam("account"),
            contact_id=bindparam("deal_contact", type_=Uuid),
            owner_id=bindparam("owner"),
            source=bindparam("deal_source", type_=String),
            need=bindparam("deal_need", type_=String),
            notes=bindparam("deal_notes", type_=String),
            currency=bindparam("deal_currency"),
            next_step=bindparam("deal_next_step"),
            next_step_due_date=bindparam("deal_next_step_due"),
            workflow_id=bindparam("deal_workflow"),
            step_id=bindparam("deal_step"),
            # The trigger sets the real time of entry; this only satisfies NOT NULL.
            entered_step_at=func.now(),
            rank=bindparam("deal_rank"),
        )
        .returning(*search.answered_columns(DEALS))
        .cte("deal")
    )
    moved = (
        update(LEADS)
        .where(
            LEADS.c.id == bindparam("lead"),
            LEADS.c.version == bindparam("lead_version"),
            LEADS.c.deleted_at.is_(None),
        )
        .values(
            step_id=bindparam("to_step"),
            version=LEADS.c.version + 1,
            updated_at=func.now(),
            account_id=bindparam("account"),
            deal_id=bindparam("deal"),
            **lead_values,
        )
        .returning(*search.answered_columns(LEADS))
        .cte("moved")
    )
    logged = stage_change_entry(
        moved,
        {"lead_id": moved.c.id},
        activity_id=bindparam("entry", type_=Uuid),
        subject=bindparam("entry_subject", type_=String),
        actor=bindparam("actor", type_=Uuid),
    )
    planned = cadence_service.NEW_DEAL_ACTIVITIES.cte("planned")
    return (
        select(
            *(column.label(f"l__{column.key}") for column in moved.c),
            *(column.label(f"d__{column.key}") for column in deal.c),
            *(column.label(f"a__{column.key}") for column in planned.c),
        )
        .select_from(moved)
        .join(deal, true())
        .outerjoin(planned, true())
        .add_cte(cadence_service.NEW_DEAL_ENROLLMENT.cte("enrolled"), logged.cte("logged"))
    )


_OPEN_FOR_CLAIM = _open_statement({"sales_owner_id": bindparam("owner"), "claimed_at": func.now()})
_OPEN_FOR_CONVERT = _open_statement({"converted_at": func.now()})
_LEAD_KEYS = tuple(column.key for column in search.answered_columns(LEADS))
_DEAL_KEYS = tuple(column.key for column in search.answered_columns(DEALS))
_ACTIVITY_KEYS = tuple(column.key for column in ACTIVITIES.c)


async def _open_deal(
    ctx: Ctx, lead: Lead, move: engine.Move, owner_id: uuid.UUID, statement: Select[Any]
) -> ClaimResult:
    """Give a lead taking `move` (Handed Over → Claimed, or a deal-less Claimed →
    Converted) its account and deal, in three statements after the lead's load:

    - the account: found by the lead's email domain (free mail ignored), else by its
      normalised company name, else created (owner: `owner_id`) — the rules and
      advisory locks of `accounts.service.find_or_create_account` — and, in the same
      statement, the lead's person found on it or added as a contact
      (`contacts.matching`: by email, then phone);
    - the deal on the Deal project type's default workflow, at its first step after
      the column's last card, named after the company, with that contact, the lead's
      source, need and notes, owned by `owner_id`, in the organization's currency —
      what `deals.service.create_deal` would write, without its checks: the account
      was just found live, and `owner_id` sells (a claimer, or a salesperson an
      assignment checked);
    - its work (DESIGN §5): enrolled in the organization's active default cadence,
      each step's activity planned for `owner_id` as `cadences.service.enroll_record`
      plans it (subject filled from the account, the deal, the contact; due by the
      end of the owner's working day the step delays on, in their time zone —
      `cadences.service.due_by_end_of_workday`), also linked to the lead; the deal's
      next step and its due date are its earliest planned activity ("Intro call with
      {company}" today, in the seeded cadence). Without an active default cadence: one
      "First contact" call due by the end of the owner's working day, described by the
      lead's need, and that is the next step;
    - the lead moved (the trigger checks the transition and writes history), with
      its account and deal, and the "Stage changed" entry on its timeline.

    Then the transition's effects. The answer is built from what the statements
    returned: nothing is read back.
    """
    principal = ctx.require_principal()
    connection = await ctx.session.connection()
    locks = account_locks(principal.tenant_id, lead.company_name, lead.email)
    prepared = (
        await connection.execute(
            _PREPARE[len(locks)],
            {"owner": owner_id, **{f"lock_{n}": name for n, name in enumerate(locks)}},
        )
    ).first()
    if prepared is None:
        raise NotFound("This organization has no Deal project type")
    deal_flow = await workflow_service.require_compiled(
        ctx, prepared.deal_workflow_id, prepared.deal_workflow_version
    )
    key = company_key(lead.company_name)
    person = person_of(lead.contact_name, lead.email, lead.phone, lead.company_name)
    account_row = (
        await connection.execute(
            _ACCOUNT[bool(key)],
            {
                "tenant": principal.tenant_id,
                "new_account": uuid7(),
                "company_name": lead.company_name,
                "company_lowered": lead.company_name.strip().lower(),
                "company_domain": company_domain(lead.email),
                "owner": owner_id,
                **person_params(person),
            },
        )
    ).one()
    account = Account.detached({key: account_row._mapping[key] for key in _ACCOUNT_KEYS})
    status = {name: account_row._mapping[name] for name in STATUS_COLUMNS}
    contact_id = account_row.person_id
    contact_name = (
        " ".join(filter(None, (account_row.person_first_name, account_row.person_last_name)))
        or None
    )

    deal_id = uuid7()
    first_step = deal_flow.initial_step
    # The deals service's own placement: after the last card, or a rebalance when
    # that column has run out of room (which reads and writes the column).
    rank = await deal_service.rank_in(
        ctx, deal_flow.workflow_id, first_step.id, deal_id, prepared.last_rank, None
    )
    cadence = cadence_service.cadence_of(prepared.cadence)
    start = datetime.now(UTC)
    zone = zone_named(prepared.owner_zone)
    planned = cadence_service.new_deal_plan(
        cadence,
        cadence_service.Placeholders(
            company=account.name, contact=contact_name, title=lead.company_name
        ),
        start,
        lead.need,
        zone,
    )
    next_step, next_step_due = cadence_service.next_step_of(planned, zone)
    params = cadence_service.new_deal_params(
        cadence,
        planned,
        tenant_id=principal.tenant_id,
        deal_id=deal_id,
        owner_id=owner_id,
        actor_id=principal.user_id,
        account_id=account.id,
        start=start,
        contact_id=contact_id,
        lead_id=lead.id,
    )
    # Named apart from every column the statement writes (see `new_deal_params`).
    params.update(
        deal_name=lead.company_name,
        deal_contact=contact_id,
        deal_source=lead.source,
        deal_need=lead.need,
        deal_notes=lead.notes,
        deal_currency=prepared.currency,
        deal_next_step=next_step,
        deal_next_step_due=next_step_due,
        deal_workflow=deal_flow.workflow_id,
        deal_step=first_step.id,
        deal_rank=rank,
        lead_version=lead.version,
        to_step=move.to_step.id,
        entry=uuid7(),
        entry_subject=stage_change_subject(move),
    )
    rows = (await connection.execute(statement, params)).all()
    if not rows:
        raise StaleVersion("The lead changed while you worked on it")
    first = rows[0]._mapping
    # Detached instances (no constructor events: the answer is built on the hot path).
    moved = Lead.detached({key: first[f"l__{key}"] for key in _LEAD_KEYS})
    deal = Deal.detached({key: first[f"d__{key}"] for key in _DEAL_KEYS})
    activities = sorted(
        (
            Activity.detached({key: row._mapping[f"a__{key}"] for key in _ACTIVITY_KEYS})
            for row in rows
            if row._mapping["a__id"] is not None
        ),
        # The planner's order: due first, then creation (step) order.
        key=lambda activity: (activity.due_at, activity.id),
    )
    await _run_effects(ctx, moved, move)
    to_step = move.to_step
    step = queries.StepInfo(
        to_step.id, to_step.key, to_step.name, to_step.category.value, to_step.position
    )
    return ClaimResult(
        LeadRecord(lead=moved, step=step, claim_due_at=None),
        deal,
        deal_flow,
        account_queries.AccountRow(account, status),
        activities,
    )


async def _result(ctx: Ctx, lead_id: uuid.UUID) -> ClaimResult:
    """A claimed (or converted) lead's claim answer, read back: the lead, its deal and
    account, and the deal's still-planned activities in planner order (what a repeated
    claim or conversion answers)."""
    record = await _reread(ctx, lead_id)
    lead = record.lead
    if lead.deal_id is None or lead.account_id is None:
        raise RuleViolation("This lead has no deal yet")
    deal, deal_flow = await deal_service.get_deal(ctx, lead.deal_id)
    account = await account_queries.live_account(ctx.session, lead.account_id)
    if account is None:
        raise NotFound("The lead's account was deleted")
    activities = list(
        (
            await ctx.session.scalars(
                select(Activity)
                .where(
                    Activity.deal_id == deal.id,
                    Activity.status == ActivityStatus.PLANNED.value,
                    Activity.deleted_at.is_(None),
                )
                .order_by(Activity.due_at, Activity.id)
            )
        ).all()
    )
    return ClaimResult(record, deal, deal_flow, account, activities)


async def _raise_if_taken(ctx: Ctx, lead_id: uuid.UUID) -> None:
    """409 for a lead of this organization the caller cannot see: to a salesperson, a
    lead someone else claimed is invisible (RLS), yet "not found" would mislead them.
    Its workflow history (tenant-scoped, not role-scoped) proves it exists; another
    organization's id has none and stays 404."""
    exists_ = await ctx.session.scalar(
        select(literal(True))
        .select_from(HISTORY)
        .where(HISTORY.c.entity_type == EntityType.LEAD.value, HISTORY.c.record_id == lead_id)
        .limit(1)
    )
    if exists_:
        raise Conflict("This lead is no longer in the pool: already claimed")


async def _claim(ctx: Ctx, lead_id: uuid.UUID, owner_id: uuid.UUID) -> ClaimResult:
    """Take a pooled lead for `owner_id`: one transaction, all or nothing.

    The pool row is taken in the statement that loads the lead (`SKIP LOCKED`):
    exactly one of any number of concurrent claimers gets it. The one it already
    went to gets the same answer again, and nothing is written twice — no second
    deal, no second enrolment (idempotent); anyone else 409 "already claimed". Then
    (`_open_deal`): the account found or created, the deal (owner `owner_id`),
    enrolled in the default cadence with its activities planned for the owner (or
    one "First contact" call without one), the lead Claimed with its sales owner,
    account and deal, the timeline entry. Any failure on the way rolls back the
    whole transaction — the pool row included, so the lead is still pooled,
    untouched, and no account, deal, enrolment or activity stays.
    """
    principal = ctx.require_principal()
    connection = await ctx.session.connection()
    row = (
        await connection.execute(_LOAD_AND_TAKE, {"lead_id": lead_id, "reason": "", "notes": ""})
    ).first()
    if row is None:
        await _raise_if_taken(ctx, lead_id)
        raise NotFound("No such lead")
    lead = queries.lead_of(row)
    flow = await workflow_service.require_compiled(ctx, row.workflow_id, row.workflow_version)
    if row.taken_id is None:
        if (
            lead.sales_owner_id == owner_id
            and lead.deal_id is not None
            and lead.view in (LeadView.MINE.value, LeadView.CONVERTED.value)
        ):
            return await _result(ctx, lead_id)
        if lead.view in (LeadView.POOL.value, LeadView.MINE.value, LeadView.CONVERTED.value):
            raise Conflict("This lead was already claimed by someone else")
        raise Conflict("This lead is not in the pool")
    claimed = _step(flow, "claimed")
    move = flow.check(lead.step_id, claimed.id, role=principal.role)
    result = await _open_deal(ctx, lead, move, owner_id, _OPEN_FOR_CLAIM)
    await emit_each(ctx, [("lead.claimed", lead_id), ("deal.created", result.deal.id)])
    return result


async def claim_lead(ctx: Ctx, lead_id: uuid.UUID) -> ClaimResult:
    """Sales (and admins, managers) claim a pooled lead for themselves (see `_claim`)."""
    principal = require_role(ctx, *SALES_SIDE)
    return await _claim(ctx, lead_id, principal.user_id)


async def assign_lead(ctx: Ctx, lead_id: uuid.UUID, user_id: uuid.UUID) -> ClaimResult:
    """Admins and managers give a pooled lead to a named salesperson: a claim on their
    behalf (their deal, their cadence activities). The member must sell: sales,
    manager or admin (422 otherwise, also for someone outside the organization).
    The salesperson is told (an assignment notification, emailed unless they muted
    it) — once: assigning again answers the same result and tells no one."""
    principal = require_role(ctx, *SUPERVISORS)
    # The lead first: another organization's lead is 404 whoever is named.
    before = await _reread(ctx, lead_id)
    role = await ctx.session.scalar(select(Membership.role).where(Membership.user_id == user_id))
    if role not in SALES_SIDE:
        raise ValidationFailed(
            errors=[FieldError("user_id", "is not a salesperson of this organization")]
        )
    result = await _claim(ctx, lead_id, user_id)
    if before.lead.view == LeadView.POOL.value and user_id != principal.user_id:
        name = before.lead.company_name
        await notify(
            ctx,
            user_id,
            f"{principal.full_name} assigned you the lead {name}; its deal is yours",
            effects.MovedRecord(EntityType.LEAD, lead_id, name, user_id),
            NotificationKind.ASSIGNMENT,
        )
    return result


async def convert_lead(ctx: Ctx, lead_id: uuid.UUID) -> ClaimResult:
    """The salesperson who owns a lead (or an admin, a manager) converts it: Claimed →
    Converted. Its account and deal are the claim's (the deal keeps its enrolment and
    planned work: the deal carries on); a lead that has none gets them as a claim
    does (`_open_deal`: account, deal, default-cadence enrolment). Converting again
    answers the same result (idempotent)."""
    principal = require_role(ctx, *SALES_SIDE)
    loaded = await _load(ctx, lead_id, lock=True)
    lead, flow = loaded.lead, loaded.flow
    if lead.view not in (LeadView.MINE.value, LeadView.CONVERTED.value) or (
        lead.sales_owner_id is None
    ):
        raise Conflict("Only a claimed lead can be converted")
    if principal.role not in SUPERVISORS and lead.sales_owner_id != principal.user_id:
        raise PermissionDenied("Only the lead's salesperson may convert it")
    if lead.view == LeadView.CONVERTED.value:
        return await _result(ctx, lead_id)
    converted = _step(flow, "converted")
    move = flow.check(lead.step_id, converted.id, role=principal.role)
    await emit(ctx, "lead.converted", lead_id)
    if lead.deal_id is None:
        result = await _open_deal(ctx, lead, move, lead.sales_owner_id, _OPEN_FOR_CONVERT)
        await emit(ctx, "deal.created", result.deal.id)
        return result
    await _move(ctx, lead, converted, lead.version, converted_at=func.now())
    await _log(ctx, lead_id, stage_change_subject(move))
    await _run_effects(ctx, lead, move)
    return await _result(ctx, lead_id)
