"""The schema: queries and mutations over the same functions the REST routes call.

Each resolver calls the REST twin's service function — through the route function
itself where that is all the route does (parse, call one service function, shape the
answer) — so roles, tenancy, versions and workflow rules are checked once, in the
services. The request's unit of work (`baton.core.request_transaction`) authenticated
the caller, scoped the transaction to its tenant (RLS) and commits or rolls back
around the whole operation (`baton.graphql.api`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from baton.accounts import api as accounts_api
from baton.activities import api as activities_api
from baton.activities.queries import view_page
from baton.contacts import api as contacts_api
from baton.contacts.schemas import ContactOut
from baton.core.errors import FieldError, TransitionRejected, ValidationFailed
from baton.core.pagination import MAX_PAGE_SIZE, page_of, sorted_page_of
from baton.deals import api as deals_api
from baton.deals import queries as deals_queries
from baton.deals import service as deals_service
from baton.deals.schemas import CloseIn, DealListFilters, DealMoveIn
from baton.graphql import inputs
from baton.graphql.cost import MAX_COST, CostLimit
from baton.graphql.executor import BatonExecutor, Written
from baton.graphql.types import (
    Account,
    Activity,
    Connection,
    Contact,
    Deal,
    FieldProblem,
    Info,
    Lead,
    Me,
    Member,
    PlannedEffect,
    ProjectType,
    Status,
    StepRef,
    Tenant,
    Workflow,
    WorkItem,
    account_node,
    build,
    connection,
    deal_node,
    lead_node,
    listed_deal,
    selected,
    step_ref,
    work_item_node,
)
from baton.graphql.written import deal_json
from baton.leads import api as leads_api
from baton.leads.schemas import TriageIn
from baton.workflow import api as workflow_api
from baton.workflow.schemas import (
    ProjectTypeIn,
    ProjectTypePatch,
    StatusIn,
    StatusPatch,
    StepIn,
    StepOrderIn,
    StepPatch,
    TransitionIn,
    TransitionPatch,
    WorkflowIn,
    WorkflowPatch,
)
from baton.workitems import api as workitems_api
from baton.workitems.schemas import MoveIn, WorkItemIn

MAX_DEPTH = 10
DEFAULT_PAGE = 50
# As REST's `SortedCursor`: a sorted list's cursor carries its sort and last value.
MAX_SORTED_CURSOR = 400
First = Annotated[
    int, strawberry.argument(description=f"Items per page, 1 to {MAX_PAGE_SIZE} (as REST's limit)")
]


def _page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise ValidationFailed(errors=[FieldError("first", f"must be 1 to {MAX_PAGE_SIZE}")])
    return first


def _cursor(after: str | None) -> str | None:
    if after is not None and len(after) > 64:
        raise ValidationFailed(errors=[FieldError("after", "is not a valid cursor")])
    return after


# ------------------------------------------------------------------ queries


@strawberry.type
class Query:
    @strawberry.field
    def me(self, info: Info) -> Me:
        p = info.context.principal
        return Me(
            id=p.user_id,
            email=p.email,
            full_name=p.full_name,
            role=p.role,
            timezone=p.timezone,
            tenant=Tenant(id=p.tenant_id, slug=p.tenant_slug, name=p.tenant_name),
        )

    @strawberry.field
    async def statuses(self, info: Info) -> list[Status]:
        found = await info.context.run(workflow_api.list_statuses, info.context.ctx)
        return [build(Status, s) for s in found]

    @strawberry.field
    async def workflows(self, info: Info) -> list[Workflow]:
        found = await info.context.run(workflow_api.list_workflows, info.context.ctx)
        return [build(Workflow, w) for w in found]

    @strawberry.field
    async def workflow(self, info: Info, id: uuid.UUID) -> Workflow | None:
        detail = await info.context.run(workflow_api.get_workflow, id, info.context.ctx)
        info.context.loaders.workflows.prime(id, detail)
        return build(Workflow, detail)

    @strawberry.field
    async def project_types(self, info: Info) -> list[ProjectType]:
        found = await info.context.run(workflow_api.list_project_types, info.context.ctx)
        return [build(ProjectType, p) for p in found]

    @strawberry.field
    async def work_items(
        self,
        info: Info,
        first: First = DEFAULT_PAGE,
        after: str | None = None,
        project_type_id: uuid.UUID | None = None,
        step_id: uuid.UUID | None = None,
    ) -> Connection[WorkItem]:
        page = page_of(_page_size(first), _cursor(after))
        found = await info.context.run(
            workitems_api.list_work_items, info.context.ctx, project_type_id, step_id, page
        )
        nodes = [work_item_node(item) for item in found.items]
        return connection(nodes, [n.id for n in nodes], found.next_cursor)  # type: ignore[no-any-return]

    @strawberry.field
    async def work_item(self, info: Info, id: uuid.UUID) -> WorkItem | None:
        found = await info.context.run(workitems_api.get_work_item, id, info.context.ctx)
        return work_item_node(found)

    @strawberry.field
    async def deals(
        self,
        info: Info,
        first: First = DEFAULT_PAGE,
        after: str | None = None,
        view: inputs.DealView | None = None,  # type: ignore[valid-type]
        account_id: uuid.UUID | None = None,
        filter: inputs.DealFilter | None = None,
    ) -> Connection[Deal]:
        """Live deals, filtered, in creation order or by `filter.sort` (as
        `GET /api/v1/deals`); `view` and `accountId`, when given, set those filters. A
        page continues with the previous page's `endCursor` and the same filter."""
        graph = info.context
        if after is not None and len(after) > MAX_SORTED_CURSOR:
            raise ValidationFailed(errors=[FieldError("after", "is not a valid cursor")])
        filters = filter.to_pydantic() if filter is not None else DealListFilters()  # type: ignore[attr-defined]
        given = {"view": view, "account_id": account_id}
        filters = filters.model_copy(update={k: v for k, v in given.items() if v is not None})
        page = sorted_page_of(_page_size(first), after, filters.sort)
        # The nodes as JSON the list's statement writes, when it can write every
        # field they select (`baton.graphql.written`).
        asked = (
            graph.executor.shape_under(
                info._raw_info.field_nodes, info._raw_info.return_type, ("edges", "node")
            )
            if graph.splices_json and graph.executor is not None
            else None
        )
        shown_as = deal_json(asked[1]) if asked is not None else None
        if asked is not None and shown_as is not None:
            shape = asked[1]
            listed = await graph.run(
                deals_service.list_deals_shown, graph.ctx, page, filters, shown_as, shape
            )
            written = [Written(orjson.Fragment(row.shown), shape) for row in listed[: page.limit]]
            following = deals_queries.next_list_cursor(listed, page)
            cursors = [deals_queries.list_cursor(row, page.sort) for row in listed[: page.limit]]
            return connection(written, cursors, following)  # type: ignore[no-any-return]
        rows = await graph.run(deals_service.list_deals, graph.ctx, page, filters)
        shown = rows[: page.limit]
        nodes = [listed_deal(row) for row in shown]
        # The page's links in one batch each, before the fields are resolved: each card
        # then finds its account and owner loaded (no awaitable per card).
        wanted = selected(info, ("edges", "node"))
        if "account" in wanted:
            await graph.loaders.accounts.load_many([n.account_id for n in nodes])
        if "owner" in wanted:
            # The list's statement joined each owner's name in: the whole `Member`.
            for row in shown:
                graph.loaders.members.prime(
                    row.owner_id, Member(id=row.owner_id, full_name=row.owner_name)
                )
        following = deals_queries.next_list_cursor(rows, page)
        # Each edge's cursor continues after it in the same order (a sorted one
        # carries its sort value, as REST's `next_cursor`).
        cursors = [deals_queries.list_cursor(row, page.sort) for row in shown]
        return connection(nodes, cursors, following)  # type: ignore[no-any-return]

    @strawberry.field
    async def deal(self, info: Info, id: uuid.UUID) -> Deal | None:
        found = await info.context.run(deals_api.get_deal, id, info.context.ctx)
        return deal_node(found)

    @strawberry.field
    async def leads(
        self,
        info: Info,
        view: inputs.LeadList,  # type: ignore[valid-type]
        first: First = DEFAULT_PAGE,
        after: str | None = None,
        q: str | None = None,
    ) -> Connection[Lead]:
        """One queue (as `GET /api/v1/leads?view=`): each role only the queues it works."""
        found = await info.context.run(
            leads_api.list_leads, view, info.context.ctx, _page_size(first), _cursor(after), q
        )
        nodes = [lead_node(lead) for lead in found.items]
        return connection(nodes, [n.id for n in nodes], found.next_cursor)  # type: ignore[no-any-return]

    @strawberry.field
    async def lead(self, info: Info, id: uuid.UUID) -> Lead | None:
        return lead_node(await info.context.run(leads_api.get_lead, id, info.context.ctx))

    @strawberry.field
    async def accounts(
        self,
        info: Info,
        q: str | None = None,
        first: First = DEFAULT_PAGE,
        after: str | None = None,
    ) -> Connection[Account]:
        page = page_of(_page_size(first), _cursor(after))
        found = await info.context.run(
            accounts_api.list_accounts, info.context.ctx, q, None, None, None, page
        )
        nodes = [account_node(account) for account in found.items]
        return connection(nodes, [n.id for n in nodes], found.next_cursor)  # type: ignore[no-any-return]

    @strawberry.field
    async def account(self, info: Info, id: uuid.UUID) -> Account | None:
        found = await info.context.run(accounts_api.get_account, id, info.context.ctx)
        return account_node(found)

    @strawberry.field
    async def contacts(
        self,
        info: Info,
        account_id: uuid.UUID | None = None,
        q: str | None = None,
        first: First = DEFAULT_PAGE,
        after: str | None = None,
    ) -> Connection[Contact]:
        page = page_of(_page_size(first), _cursor(after))
        found = await info.context.run(
            contacts_api.list_contacts, info.context.ctx, account_id, q, page
        )
        nodes = [build(Contact, contact) for contact in found.items]
        return connection(nodes, [n.id for n in nodes], found.next_cursor)  # type: ignore[no-any-return]

    @strawberry.field
    async def contact(self, info: Info, id: uuid.UUID) -> Contact | None:
        found: ContactOut = await info.context.run(contacts_api.get_contact, id, info.context.ctx)
        return build(Contact, found)

    @strawberry.field
    async def activities(
        self,
        info: Info,
        view: inputs.ActivityView = inputs.ActivityView.PLANNER,  # type: ignore[valid-type]
        mine: bool = False,
        first: First = DEFAULT_PAGE,
        after: str | None = None,
    ) -> Connection[Activity]:
        """A view of the activities (as `GET /api/v1/activities`): `PLANNER`, `TODAY`,
        `OVERDUE`, `DONE`; `mine`: the caller's only."""
        page = view_page(_page_size(first), _cursor(after))
        found = await info.context.run(
            activities_api.list_activities,
            info.context.ctx,
            view,
            "me" if mine else None,
            page,
        )
        nodes = [build(Activity, item) for item in found.items]
        return connection(nodes, [n.id for n in nodes], found.next_cursor)  # type: ignore[no-any-return]


# ------------------------------------------------------------------ payloads


@strawberry.type
class MoveDealPayload:
    deal: Deal
    from_step: StepRef
    to_step: StepRef
    backwards: bool
    dry_run: bool
    effects: list[PlannedEffect]


@strawberry.type
class CloseDealPayload:
    deal: Deal
    from_step: StepRef
    to_step: StepRef
    cancelled_activities: int
    effects: list[PlannedEffect]


@strawberry.type
class MoveWorkItemPayload:
    work_item: WorkItem
    from_step: StepRef
    to_step: StepRef
    backwards: bool
    dry_run: bool
    effects: list[PlannedEffect]


@strawberry.type
class ValidateTransitionPayload:
    """`valid`, or why not: the errors the move would answer (nothing was changed)."""

    valid: bool
    message: str | None
    field_errors: list[FieldProblem]
    effects: list[PlannedEffect]


@strawberry.type
class LeadPayload:
    lead: Lead


@strawberry.type
class ClaimLeadPayload:
    lead: Lead
    deal: Deal
    account: Account
    activities: list[Activity]


@strawberry.type
class StatusPayload:
    status: Status


@strawberry.type
class DeletePayload:
    deleted_id: uuid.UUID


@strawberry.type
class WorkflowPayload:
    workflow: Workflow


@strawberry.type
class ProjectTypePayload:
    project_type: ProjectType


@strawberry.type
class WorkItemPayload:
    work_item: WorkItem


def _effects(found: list[Any]) -> list[PlannedEffect]:
    return [PlannedEffect(name=e.name, description=e.description) for e in found]


def _workflow(info: Info, detail: Any) -> WorkflowPayload:
    info.context.loaders.workflows.prime(detail.id, detail, force=True)
    return WorkflowPayload(workflow=build(Workflow, detail))


# ------------------------------------------------------------------ mutations


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def move_deal(self, info: Info, input: inputs.MoveDealInput) -> MoveDealPayload | None:
        """Move along a transition (or reorder within the column); won/lost is closeDeal.
        As `POST /api/v1/deals/{id}/move`."""
        data = inputs.parse(DealMoveIn, input)
        moved = await info.context.run(deals_api.move_deal, input.id, data, info.context.ctx)
        return MoveDealPayload(
            deal=deal_node(moved.deal),
            from_step=step_ref(moved.from_step),
            to_step=step_ref(moved.to_step),
            backwards=moved.backwards,
            dry_run=moved.dry_run,
            effects=_effects(moved.effects),
        )

    @strawberry.mutation
    async def close_deal(self, info: Info, input: inputs.CloseDealInput) -> CloseDealPayload | None:
        """Close as won or lost with the reason (as `POST /api/v1/deals/{id}/close`)."""
        data = inputs.parse(CloseIn, input)
        closed = await info.context.run(deals_api.close_deal, input.id, data, info.context.ctx)
        return CloseDealPayload(
            deal=deal_node(closed.deal),
            from_step=step_ref(closed.from_step),
            to_step=step_ref(closed.to_step),
            cancelled_activities=closed.cancelled_activities,
            effects=_effects(closed.effects),
        )

    @strawberry.mutation
    async def move_work_item(
        self, info: Info, input: inputs.MoveWorkItemInput
    ) -> MoveWorkItemPayload | None:
        data = inputs.parse(MoveIn, input)
        moved = await info.context.run(
            workitems_api.move_work_item, input.id, data, info.context.ctx
        )
        return MoveWorkItemPayload(
            work_item=work_item_node(moved.item),
            from_step=step_ref(moved.from_step),
            to_step=step_ref(moved.to_step),
            backwards=moved.backwards,
            dry_run=moved.dry_run,
            effects=_effects(moved.effects),
        )

    @strawberry.mutation
    async def validate_transition(
        self, info: Info, input: inputs.ValidateTransitionInput
    ) -> ValidateTransitionPayload | None:
        """Would this move be accepted? The move run as a dry run: the same checks,
        nothing written. A refused transition answers `valid: false` with the reasons;
        an unknown record, a stale version or a role that may not move it are errors."""
        ctx = info.context.ctx
        try:
            if input.record is inputs.GovernedRecord.DEAL:
                deal_move = inputs.parse(DealMoveIn, input, skip=("id", "record"))
                deal_move = deal_move.model_copy(update={"dry_run": True})
                answer: Any = await info.context.run(deals_api.move_deal, input.id, deal_move, ctx)
            else:
                item_move = inputs.parse(MoveIn, input, skip=("id", "record"))
                item_move = item_move.model_copy(update={"dry_run": True})
                answer = await info.context.run(
                    workitems_api.move_work_item, input.id, item_move, ctx
                )
        except TransitionRejected as refused:
            return ValidateTransitionPayload(
                valid=False,
                message=refused.detail,
                field_errors=[
                    FieldProblem(field=e.field, message=e.message) for e in refused.errors
                ],
                effects=[],
            )
        return ValidateTransitionPayload(
            valid=True, message=None, field_errors=[], effects=_effects(answer.effects)
        )

    @strawberry.mutation
    async def triage_lead(self, info: Info, input: inputs.TriageLeadInput) -> LeadPayload | None:
        data = inputs.parse(TriageIn, input)
        lead = await info.context.run(leads_api.triage_lead, input.id, data, info.context.ctx)
        return LeadPayload(lead=lead_node(lead))

    @strawberry.mutation
    async def claim_lead(self, info: Info, input: inputs.ClaimLeadInput) -> ClaimLeadPayload | None:
        claimed = await info.context.run(leads_api.claim_lead, input.id, info.context.ctx)
        return ClaimLeadPayload(
            lead=lead_node(claimed.lead),
            deal=deal_node(claimed.deal),
            account=account_node(claimed.account),
            activities=[build(Activity, a) for a in claimed.activities],
        )

    @strawberry.mutation
    async def create_status(
        self, info: Info, input: inputs.CreateStatusInput
    ) -> StatusPayload | None:
        data = inputs.parse(StatusIn, input)
        made = await info.context.run(workflow_api.create_status, data, info.context.ctx)
        return StatusPayload(status=build(Status, made))

    @strawberry.mutation
    async def update_status(
        self, info: Info, input: inputs.UpdateStatusInput
    ) -> StatusPayload | None:
        data = inputs.parse(StatusPatch, input)
        made = await info.context.run(
            workflow_api.update_status, input.id, data, info.context.ctx, None
        )
        return StatusPayload(status=build(Status, made))

    @strawberry.mutation
    async def delete_status(self, info: Info, input: inputs.DeleteInput) -> DeletePayload | None:
        """409 while a step uses the status (archive it instead)."""
        version = input.version if input.version is not inputs.UNSET else None
        await info.context.run(workflow_api.delete_status, input.id, info.context.ctx, version)
        return DeletePayload(deleted_id=input.id)

    @strawberry.mutation
    async def create_workflow(
        self, info: Info, input: inputs.CreateWorkflowInput
    ) -> WorkflowPayload | None:
        data = inputs.parse(WorkflowIn, input)
        return _workflow(
            info, await info.context.run(workflow_api.create_workflow, data, info.context.ctx)
        )

    @strawberry.mutation
    async def update_workflow(
        self, info: Info, input: inputs.UpdateWorkflowInput
    ) -> WorkflowPayload | None:
        data = inputs.parse(WorkflowPatch, input)
        detail = await info.context.run(
            workflow_api.update_workflow, input.id, data, info.context.ctx, None
        )
        return _workflow(info, detail)

    @strawberry.mutation
    async def delete_workflow(self, info: Info, input: inputs.DeleteInput) -> DeletePayload | None:
        """Discard a draft with its steps and transitions; CONFLICT for a published or
        retired version (as `DELETE /api/v1/workflow/workflows/{id}`)."""
        version = input.version if input.version is not inputs.UNSET else None
        await info.context.run(workflow_api.delete_workflow, input.id, info.context.ctx, version)
        return DeletePayload(deleted_id=input.id)

    @strawberry.mutation
    async def publish_workflow(
        self, info: Info, input: inputs.PublishWorkflowInput
    ) -> WorkflowPayload | None:
        detail = await info.context.run(workflow_api.publish, input.id, info.context.ctx)
        return _workflow(info, detail)

    @strawberry.mutation
    async def create_step(
        self, info: Info, input: inputs.CreateStepInput
    ) -> WorkflowPayload | None:
        """Answers the edited draft: a new version when the workflow was published."""
        data = inputs.parse(StepIn, input, skip=("workflow_id",))
        detail = await info.context.run(
            workflow_api.add_step, input.workflow_id, data, info.context.ctx
        )
        return _workflow(info, detail)

    @strawberry.mutation
    async def update_step(
        self, info: Info, input: inputs.UpdateStepInput
    ) -> WorkflowPayload | None:
        data = inputs.parse(StepPatch, input)
        detail = await info.context.run(
            workflow_api.update_step, input.id, data, info.context.ctx, None
        )
        return _workflow(info, detail)

    @strawberry.mutation
    async def delete_step(self, info: Info, input: inputs.DeleteInput) -> WorkflowPayload | None:
        """409 while records sit on the step."""
        version = input.version if input.version is not inputs.UNSET else None
        detail = await info.context.run(
            workflow_api.delete_step, input.id, info.context.ctx, version
        )
        return _workflow(info, detail)

    @strawberry.mutation
    async def create_transition(
        self, info: Info, input: inputs.CreateTransitionInput
    ) -> WorkflowPayload | None:
        data = inputs.parse(TransitionIn, input, skip=("workflow_id",))
        detail = await info.context.run(
            workflow_api.add_transition, input.workflow_id, data, info.context.ctx
        )
        return _workflow(info, detail)

    @strawberry.mutation
    async def update_transition(
        self, info: Info, input: inputs.UpdateTransitionInput
    ) -> WorkflowPayload | None:
        data = inputs.parse(TransitionPatch, input)
        detail = await info.context.run(
            workflow_api.update_transition, input.id, data, info.context.ctx, None
        )
        return _workflow(info, detail)

    @strawberry.mutation
    async def delete_transition(
        self, info: Info, input: inputs.DeleteInput
    ) -> WorkflowPayload | None:
        version = input.version if input.version is not inputs.UNSET else None
        detail = await info.context.run(
            workflow_api.delete_transition, input.id, info.context.ctx, version
        )
        return _workflow(info, detail)

    @strawberry.mutation
    async def update_step_order(
        self, info: Info, input: inputs.UpdateStepOrderInput
    ) -> WorkflowPayload | None:
        data = inputs.parse(StepOrderIn, input, skip=("workflow_id",))
        detail = await info.context.run(
            workflow_api.reorder_steps, input.workflow_id, data, info.context.ctx
        )
        return _workflow(info, detail)

    @strawberry.mutation
    async def create_project_type(
        self, info: Info, input: inputs.CreateProjectTypeInput
    ) -> ProjectTypePayload | None:
        data = inputs.parse(ProjectTypeIn, input)
        made = await info.context.run(workflow_api.create_project_type, data, info.context.ctx)
        return ProjectTypePayload(project_type=build(ProjectType, made))

    @strawberry.mutation
    async def update_project_type(
        self, info: Info, input: inputs.UpdateProjectTypeInput
    ) -> ProjectTypePayload | None:
        """Name, icon or the published workflow new records of the type start on (as
        `PATCH /api/v1/workflow/project-types/{id}`); STALE_VERSION when `version` is
        not current."""
        data = inputs.parse(ProjectTypePatch, input)
        updated = await info.context.run(
            workflow_api.update_project_type, input.id, data, info.context.ctx, None
        )
        return ProjectTypePayload(project_type=build(ProjectType, updated))

    @strawberry.mutation
    async def delete_project_type(
        self, info: Info, input: inputs.DeleteInput
    ) -> DeletePayload | None:
        """CONFLICT while work items of the type exist, or for the only project type of
        lead, deal or target records (as `DELETE /api/v1/workflow/project-types/{id}`)."""
        version = input.version if input.version is not inputs.UNSET else None
        await info.context.run(
            workflow_api.delete_project_type, input.id, info.context.ctx, version
        )
        return DeletePayload(deleted_id=input.id)

    @strawberry.mutation
    async def create_work_item(
        self, info: Info, input: inputs.CreateWorkItemInput
    ) -> WorkItemPayload | None:
        data = inputs.parse(WorkItemIn, input)
        made = await info.context.run(workitems_api.create_work_item, data, info.context.ctx)
        return WorkItemPayload(work_item=work_item_node(made))


class BatonSchema(strawberry.Schema):
    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        """Nothing here: `baton.graphql.errors.formatted` logs what was unexpected; a
        domain error (not found, refused) is an answer, not a fault."""


def document_rules(max_depth: int = MAX_DEPTH) -> list[Any]:
    """The depth, alias and cost limits: rules of the document alone."""
    return [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=30).validation_rules,
        CostLimit,
    ]


# Built once: the validation cache is keyed by the document and its rules' classes,
# and each limiter makes a new class per instance (made per request, the cache never
# hit: validation was a fifth of the board's time).
DOCUMENT_RULES = document_rules()

schema = BatonSchema(
    query=Query,
    mutation=Mutation,
    execution_context_class=BatonExecutor,
    extensions=[
        lambda: AddValidationRules(DOCUMENT_RULES),
        # A client sends the same few documents again and again: each is parsed and
        # validated once (the rules above depend on the document alone).
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ],
)

__all__ = ["MAX_COST", "MAX_DEPTH", "schema"]
