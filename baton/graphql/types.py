"""The GraphQL object types: the REST answers' shapes (`*Out` in each domain's
`schemas.py`), built from them by `build`, plus the links a client follows (a deal's
account and owner …), resolved through the request's data loaders."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types.base import get_object_definition

from baton.accounts.queries import STATUS_COLUMNS
from baton.accounts.schemas import AccountStatusOut
from baton.core.pagination import encode_cursor
from baton.graphql.context import GraphContext
from baton.graphql.links import LINK, Link

T = TypeVar("T")
Info = strawberry.Info[GraphContext, None]


_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _names(cls: type[Any]) -> tuple[str, ...]:
    """The type's plain fields (not those with resolvers of their own)."""
    names = _NAMES.get(cls)
    if names is None:
        definition = get_object_definition(cls, strict=True)
        names = tuple(f.python_name for f in definition.fields if f.base_resolver is None)
        _NAMES[cls] = names
    return names


def build(cls: type[T], source: Any, **given: Any) -> T:
    """An object type from a REST answer (or any object) with the same attribute names;
    `given` supplies the nested objects."""
    values = {name: getattr(source, name) for name in _names(cls) if name not in given}
    return cls(**values, **given)


def selected(info: Any, path: tuple[str, ...]) -> set[str]:
    """The names of the fields asked for under `path` of the current field (through
    fragments too), e.g. ("edges", "node") of a connection: its nodes' fields."""
    level: list[Any] = list(info.selected_fields)
    for name in (*path, None):
        found: list[Any] = []
        names: set[str] = set()
        pending = [child for field in level for child in field.selections]
        while pending:
            item = pending.pop()
            if hasattr(item, "name") and not hasattr(item, "type_condition"):
                names.add(item.name)
                if item.name == name:
                    found.append(item)
            else:
                pending.extend(item.selections)
        if name is None:
            return names
        level = found
    return set()


def link(loader: str, key: str, of: Any) -> Any:
    """A field answering the record of type `of` whose id is the source's `key`,
    through the request's loader `loader` (`baton.graphql.links`)."""
    declared = Link(loader, key)

    def resolve(root: Any, info: Info) -> Any:
        return declared.resolve(root, info.context)

    return strawberry.field(resolver=resolve, graphql_type=of, metadata={LINK: declared})


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def connection(nodes: list[Any], keys: Sequence[uuid.UUID | str], next_cursor: str | None) -> Any:
    """A Relay connection of one page: each edge's cursor is its id's (or the cursor
    given for it); `endCursor` is the page's `next_cursor` as REST answers it (a
    search's cursor carries its rank, a sorted list's its sort value)."""
    edges = [
        Edge(node=node, cursor=key if isinstance(key, str) else encode_cursor(key))
        for node, key in zip(nodes, keys, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=next_cursor is not None, end_cursor=next_cursor),
    )


@strawberry.type
class FieldProblem:
    """One field's error, as problem+json's `errors` entries."""

    field: str
    message: str


@strawberry.type
class Tenant:
    id: uuid.UUID
    slug: str
    name: str


@strawberry.type
class Me:
    id: uuid.UUID
    email: str
    full_name: str
    role: str
    timezone: str
    tenant: Tenant


@strawberry.type
class Member:
    id: uuid.UUID
    full_name: str


@strawberry.type
class StepRef:
    id: uuid.UUID
    key: str
    name: str
    category: str
    order: int


def step_ref(source: Any) -> StepRef:
    return build(StepRef, source)


@strawberry.type
class Status:
    id: uuid.UUID
    name: str
    colour: str
    category: str
    archived: bool
    version: int


@strawberry.type
class Step:
    id: uuid.UUID
    key: str
    name: str
    status_id: uuid.UUID
    order: int
    is_initial: bool
    is_final: bool
    category: str
    probability: float | None
    metadata: JSON
    version: int


@strawberry.type
class Transition:
    id: uuid.UUID
    from_step_id: uuid.UUID
    to_step_id: uuid.UUID
    label: str
    conditions: JSON
    effects: JSON
    version: int


@strawberry.type
class TransitionOption:
    """What a record on a step may do next, for the caller's role."""

    transition_id: uuid.UUID
    to_step_id: uuid.UUID
    to_step_key: str
    label: str
    required_fields: list[str]
    reasons: list[str]
    reason_required: bool
    notes_required_for: list[str]
    backwards: bool


@strawberry.type
class Workflow:
    id: uuid.UUID
    name: str
    entity_type: str
    version: int
    published: bool

    @strawberry.field
    async def row_version(self, info: Info) -> int:
        detail = await info.context.loaders.workflows.load(self.id)
        return int(detail.row_version) if detail else 0

    @strawberry.field
    async def steps(self, info: Info) -> list[Step]:
        detail = await info.context.loaders.workflows.load(self.id)
        return [build(Step, step) for step in detail.steps] if detail else []

    @strawberry.field
    async def transitions(self, info: Info) -> list[Transition]:
        detail = await info.context.loaders.workflows.load(self.id)
        return [build(Transition, edge) for edge in detail.transitions] if detail else []

    @strawberry.field
    async def allowed_transitions(
        self, info: Info, from_step_id: uuid.UUID
    ) -> list[TransitionOption]:
        """What a record on `fromStepId` may do next, for the caller's role."""
        from baton.workflow.service import allowed_moves

        graph = info.context
        options = await graph.run(allowed_moves, graph.ctx, self.id, from_step_id)
        return [
            TransitionOption(
                transition_id=option.edge.id,
                to_step_id=option.to_step.id,
                to_step_key=option.to_step.key,
                label=option.label,
                required_fields=list(option.required_fields),
                reasons=list(option.reasons),
                reason_required=option.reason_required,
                notes_required_for=list(option.notes_required_for),
                backwards=option.backwards,
            )
            for option in options
        ]


@strawberry.type
class ProjectType:
    id: uuid.UUID
    name: str
    entity_type: str
    default_workflow_id: uuid.UUID
    icon: str
    version: int


@strawberry.type
class Account:
    id: uuid.UUID
    name: str
    domain: str | None
    tax_id: str | None
    address: str | None
    industry: str | None
    owner_id: uuid.UUID
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    version: int
    status: JSON

    owner = link("members", "owner_id", Member | None)


def account_node(out: Any) -> Account:
    return build(Account, out, status=out.status.model_dump(mode="json"))


def account_of_row(row: Any) -> Account:
    """An account from a row of `accounts.queries.shown_accounts_by_ids`: its status
    written as REST writes it (`AccountStatusOut`)."""
    status = AccountStatusOut.model_validate({name: row[name] for name in STATUS_COLUMNS})
    # The `JSON` scalar's value: a plain dict, as `account_node` gives it.
    written: Any = status.model_dump(mode="json")
    return Account(
        id=uuid.UUID(bytes=row["id"].bytes),
        name=row["name"],
        domain=row["domain"],
        tax_id=row["tax_id"],
        address=row["address"],
        industry=row["industry"],
        owner_id=uuid.UUID(bytes=row["owner_id"].bytes),
        tags=list(row["tags"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        status=written,
    )


@strawberry.type
class Contact:
    id: uuid.UUID
    account_id: uuid.UUID
    first_name: str
    last_name: str | None
    email: str | None
    phone: str | None
    title: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    account = link("accounts", "account_id", Account | None)


@strawberry.type
class Deal:
    id: uuid.UUID
    name: str
    account_id: uuid.UUID
    contact_id: uuid.UUID | None
    owner_id: uuid.UUID
    amount: Decimal | None
    currency: str
    probability: float | None
    expected_close_date: date | None
    next_step: str | None
    next_step_due_date: date | None
    outcome: str | None
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
    created_at: datetime
    updated_at: datetime
    version: int

    account = link("accounts", "account_id", Account | None)

    owner = link("members", "owner_id", Member | None)

    contact = link("contacts", "contact_id", Contact | None)


def deal_node(out: Any) -> Deal:
    return build(Deal, out, step=step_ref(out.step))


def listed_deal(row: Any) -> Deal:
    """A row of `deals.queries.list_deals` (the deal with its step joined in), as REST's
    list shows it, without building REST's answer first (a board builds 200)."""
    values = row._mapping
    step = StepRef(
        id=values["step_id"],
        key=values["step_key"],
        name=values["step_name"],
        category=values["step_category"],
        order=values["step_position"],
    )
    probability = values["probability"]
    if probability is None:
        probability = values["step_probability"]
    given = {"step": step, "probability": probability}
    plain = {name: values[name] for name in _names(Deal) if name not in given}
    return Deal(**plain, **given)


@strawberry.type
class Lead:
    id: uuid.UUID
    company_name: str
    contact_name: str | None
    email: str | None
    phone: str | None
    source: str | None
    need: str | None
    notes: str | None
    view: str
    marketing_owner_id: uuid.UUID
    sales_owner_id: uuid.UUID | None
    account_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    workflow_id: uuid.UUID
    step: StepRef
    entered_step_at: datetime
    claim_due_at: datetime | None
    claim_overdue: bool
    disqualify_reason: str | None
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    sales_owner = link("members", "sales_owner_id", Member | None)
    marketing_owner = link("members", "marketing_owner_id", Member | None)


def lead_node(out: Any) -> Lead:
    return build(Lead, out, step=step_ref(out.step))


@strawberry.type
class Activity:
    id: uuid.UUID
    type: str
    subject: str
    description: str | None
    due_at: datetime | None
    status: str
    outcome: str | None
    owner_id: uuid.UUID | None
    completed_at: datetime | None
    work_item_id: uuid.UUID | None
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int

    owner = link("members", "owner_id", Member | None)


@strawberry.type
class WorkItem:
    id: uuid.UUID
    project_type_id: uuid.UUID
    name: str
    description: str | None
    owner_id: uuid.UUID | None
    workflow_id: uuid.UUID
    step: StepRef
    entered_step_at: datetime
    fields: JSON
    created_at: datetime
    updated_at: datetime
    version: int


def work_item_node(out: Any) -> WorkItem:
    return build(WorkItem, out, step=step_ref(out.step))


@strawberry.type
class PlannedEffect:
    name: str
    description: str
