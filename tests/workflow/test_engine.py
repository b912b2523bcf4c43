"""The workflow engine on in-memory rows: no database."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.core.errors import TransitionRejected
from baton.workflow.engine import (
    CompiledWorkflow,
    Move,
    WorkflowCache,
    compile_workflow,
)
from baton.workflow.models import (
    EntityType,
    StatusCategory,
    Workflow,
    WorkflowStep,
    WorkflowTransition,
)

TENANT = uuid.uuid4()
WIN_REASONS = ["price", "product_fit", "relationship", "timing", "other"]
LOSS_REASONS = ["price", "competitor", "no_budget", "no_decision", "timing", "product_gap", "other"]


# ---------------------------------------------------------------- building rows


@dataclass
class Rows:
    workflow: Workflow
    steps: list[WorkflowStep] = field(default_factory=list)
    transitions: list[WorkflowTransition] = field(default_factory=list)
    categories: dict[uuid.UUID, str] = field(default_factory=dict)

    def step(
        self,
        key: str,
        name: str,
        position: int,
        category: StatusCategory = StatusCategory.OPEN,
        *,
        initial: bool = False,
        final: bool = False,
        required: Sequence[str] = (),
    ) -> WorkflowStep:
        status_id = uuid.uuid4()
        self.categories[status_id] = category.value
        metadata: dict[str, Any] = {"sla_days": 7}
        if required:
            metadata["required_fields"] = list(required)
        row = WorkflowStep(
            tenant_id=TENANT,
            id=uuid.uuid4(),
            workflow_id=self.workflow.id,
            status_id=status_id,
            key=key,
            name=name,
            position=position,
            is_initial=initial,
            is_final=final,
            probability=None,
            metadata_=metadata,
        )
        self.steps.append(row)
        return row

    def move(
        self,
        source: WorkflowStep,
        target: WorkflowStep,
        *,
        label: str | None = None,
        required: Sequence[str] = (),
        reasons: Sequence[str] = (),
        roles: Sequence[str] = (),
        effects: list[dict[str, Any]] | None = None,
    ) -> WorkflowTransition:
        conditions: dict[str, Any] = {}
        if required:
            conditions["required_fields"] = list(required)
        if reasons:
            conditions["reasons"] = list(reasons)
        if roles:
            conditions["roles"] = list(roles)
        row = WorkflowTransition(
            tenant_id=TENANT,
            id=uuid.uuid4(),
            workflow_id=self.workflow.id,
            from_step_id=source.id,
            to_step_id=target.id,
            label=label or f"{source.name} → {target.name}",
            conditions=conditions,
            effects=effects or [],
        )
        self.transitions.append(row)
        return row

    def compile(self) -> CompiledWorkflow:
        return compile_workflow(self.workflow, self.steps, self.transitions, self.categories)


def new_rows(name: str = "Sales pipeline") -> Rows:
    workflow = Workflow(
        tenant_id=TENANT,
        id=uuid.uuid4(),
        family_id=uuid.uuid4(),
        revision=1,
        name=name,
        entity_type=EntityType.DEAL.value,
        published=True,
        version=1,
    )
    return Rows(workflow)


def sales_pipeline() -> Rows:
    """DESIGN §4's default sales pipeline, plus a manager-only reopen Lost → Negotiation."""
    rows = new_rows()
    prospecting = rows.step("prospecting", "Prospecting", 0, initial=True)
    discovery = rows.step("discovery", "Discovery", 1)
    proposal = rows.step("proposal", "Proposal", 2, required=["amount", "expected_close_date"])
    negotiation = rows.step("negotiation", "Negotiation", 3)
    won = rows.step("won", "Won", 4, StatusCategory.WON, final=True)
    lost = rows.step("lost", "Lost", 5, StatusCategory.LOST, final=True)
    chain = [prospecting, discovery, proposal, negotiation]
    for before, after in itertools.pairwise(chain):
        rows.move(before, after)
        rows.move(after, before)
    for step in chain:
        rows.move(step, lost, label="Mark lost", reasons=LOSS_REASONS)
    rows.move(
        negotiation,
        won,
        label="Mark won",
        reasons=WIN_REASONS,
        effects=[{"name": "log_activity", "config": {"kind": "note"}}],
    )
    rows.move(lost, negotiation, label="Reopen", roles=["admin", "manager"])
    return rows


@pytest.fixture
def pipeline() -> CompiledWorkflow:
    return sales_pipeline().compile()


def ids(wf: CompiledWorkflow, *keys: str) -> list[uuid.UUID]:
    return [wf.step_by_key(k).id for k in keys]


def rejection(wf: CompiledWorkflow, source: str, target: str, **kwargs: Any) -> dict[str, str]:
    kwargs.setdefault("role", "sales")
    with pytest.raises(TransitionRejected) as caught:
        wf.check(*ids(wf, source, target), **kwargs)
    assert caught.value.status == 422
    assert caught.value.errors
    return {e.field: e.message for e in caught.value.errors}


# ---------------------------------------------------------------- compile


def test_compile_builds_the_graph(pipeline: CompiledWorkflow) -> None:
    assert pipeline.initial_step.key == "prospecting"
    assert pipeline.revision == 1
    assert pipeline.entity_type == "deal"
    assert len(pipeline.steps) == 6
    assert len(pipeline.edges) == 6 + 4 + 1 + 1
    proposal = pipeline.step_by_key("proposal")
    assert proposal.required_fields == ("amount", "expected_close_date")
    assert proposal.sla_days == 7
    assert pipeline.step(proposal.id) is proposal
    assert [s.key for s in pipeline.steps_in_category(StatusCategory.OPEN)] == [
        "prospecting",
        "discovery",
        "proposal",
        "negotiation",
    ]
    assert [s.key for s in pipeline.steps_in_category("won")] == ["won"]
    # Outgoing edges are sorted by the target's position.
    out = pipeline.outgoing[proposal.id]
    targets = [pipeline.steps[e.to_step_id].key for e in out]
    assert targets == ["discovery", "negotiation", "lost"]
    won_edge = pipeline.edges[
        (pipeline.step_by_key("negotiation").id, pipeline.step_by_key("won").id)
    ]
    assert won_edge.effects[0].name == "log_activity"
    assert won_edge.effects[0].config == {"kind": "note"}
    with pytest.raises(KeyError):
        pipeline.step_by_key("nope")


def test_compiled_graph_is_detached_from_the_rows() -> None:
    rows = sales_pipeline()
    wf = rows.compile()
    rows.steps[2].metadata_["required_fields"].append("owner")
    assert wf.step_by_key("proposal").required_fields == ("amount", "expected_close_date")
    with pytest.raises(TypeError):
        wf.step_by_key("proposal").metadata["x"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        wf.revision = 2  # type: ignore[misc]


def test_compile_refuses_two_initial_steps() -> None:
    rows = new_rows()
    rows.step("a", "A", 0, initial=True)
    rows.step("b", "B", 1, initial=True)
    with pytest.raises(ValueError, match="exactly one initial step"):
        rows.compile()


def test_compile_refuses_no_initial_step() -> None:
    rows = new_rows()
    rows.step("a", "A", 0)
    with pytest.raises(ValueError, match="exactly one initial step"):
        rows.compile()


def test_compile_refuses_a_transition_to_a_foreign_step() -> None:
    rows = new_rows()
    a = rows.step("a", "A", 0, initial=True)
    other = new_rows("Other")
    foreign = other.step("x", "X", 0, initial=True)
    rows.move(a, foreign)
    with pytest.raises(ValueError, match="another workflow"):
        rows.compile()


def test_compile_refuses_malformed_rows() -> None:
    rows = new_rows()
    a = rows.step("a", "A", 0, initial=True)
    b = rows.step("b", "B", 1)
    rows.move(a, b).conditions = {"reasons": "price"}
    with pytest.raises(ValueError, match="list of non-empty strings"):
        rows.compile()

    rows = new_rows()
    a = rows.step("a", "A", 0, initial=True)
    rows.move(a, a)
    with pytest.raises(ValueError, match="to itself"):
        rows.compile()

    rows = new_rows()
    rows.step("a", "A", 0, initial=True)
    rows.categories.clear()
    with pytest.raises(ValueError, match="no category"):
        rows.compile()


# ---------------------------------------------------------------- check


def test_allowed_move(pipeline: CompiledWorkflow) -> None:
    source, target = ids(pipeline, "prospecting", "discovery")
    move = pipeline.check(source, target, role="sales")
    assert isinstance(move, Move)
    assert move.from_step.key == "prospecting"
    assert move.to_step.key == "discovery"
    assert move.edge.from_step_id == source
    assert move.edge.to_step_id == target
    assert move.backwards is False


def test_backwards_flag(pipeline: CompiledWorkflow) -> None:
    move = pipeline.check(
        *ids(pipeline, "negotiation", "proposal"),
        role="sales",
        present_fields={"amount", "expected_close_date"},
    )
    assert move.backwards is True
    move = pipeline.check(*ids(pipeline, "lost", "negotiation"), role="manager")
    assert move.backwards is True
    move = pipeline.check(*ids(pipeline, "negotiation", "lost"), role="sales", reason="price")
    assert move.backwards is False


def test_no_such_transition(pipeline: CompiledWorkflow) -> None:
    errors = rejection(pipeline, "prospecting", "won", reason="price")
    assert errors == {"to_step_id": "no transition from Prospecting to Won"}
    errors = rejection(pipeline, "discovery", "discovery")
    assert errors == {"to_step_id": "no transition from Discovery to Discovery"}


def test_unknown_steps(pipeline: CompiledWorkflow) -> None:
    known = pipeline.initial_step.id
    with pytest.raises(TransitionRejected) as caught:
        pipeline.check(known, uuid.uuid4(), role="sales")
    assert caught.value.errors[0].field == "to_step_id"
    with pytest.raises(TransitionRejected) as caught:
        pipeline.check(uuid.uuid4(), known, role="sales")
    assert caught.value.errors[0].field == "from_step_id"


def test_missing_required_fields_are_listed(pipeline: CompiledWorkflow) -> None:
    errors = rejection(pipeline, "discovery", "proposal")
    assert errors == {
        "fields.amount": "is required to enter Proposal",
        "fields.expected_close_date": "is required to enter Proposal",
    }
    errors = rejection(pipeline, "discovery", "proposal", present_fields=["amount"])
    assert errors == {"fields.expected_close_date": "is required to enter Proposal"}
    move = pipeline.check(
        *ids(pipeline, "discovery", "proposal"),
        role="sales",
        present_fields={"amount", "expected_close_date", "name"},
    )
    assert move.to_step.key == "proposal"


def test_transition_and_step_fields_combine() -> None:
    rows = new_rows()
    a = rows.step("a", "A", 0, initial=True)
    b = rows.step("b", "B", 1, required=["amount", "owner"])
    rows.move(a, b, required=["phone", "amount"])
    wf = rows.compile()
    errors = rejection(wf, "a", "b")
    assert list(errors) == ["fields.phone", "fields.amount", "fields.owner"]
    (option,) = wf.options(a.id, "sales")
    assert option.required_fields == ("phone", "amount", "owner")


def test_reason_required(pipeline: CompiledWorkflow) -> None:
    errors = rejection(pipeline, "negotiation", "won")
    assert errors == {"reason": "is required; one of: " + ", ".join(WIN_REASONS)}
    errors = rejection(pipeline, "negotiation", "won", reason="")
    assert "reason" in errors
    errors = rejection(pipeline, "discovery", "lost")
    assert errors == {"reason": "is required; one of: " + ", ".join(LOSS_REASONS)}
    move = pipeline.check(*ids(pipeline, "negotiation", "won"), role="sales", reason="timing")
    assert move.to_step.category is StatusCategory.WON


def test_wrong_reason(pipeline: CompiledWorkflow) -> None:
    errors = rejection(pipeline, "negotiation", "won", reason="competitor")
    assert errors == {"reason": "must be one of: " + ", ".join(WIN_REASONS)}


def test_other_needs_notes(pipeline: CompiledWorkflow) -> None:
    message = {"notes": "are required when the reason is other"}
    assert rejection(pipeline, "negotiation", "won", reason="other") == message
    assert rejection(pipeline, "negotiation", "won", reason="other", notes="  ") == message
    move = pipeline.check(
        *ids(pipeline, "negotiation", "won"), role="sales", reason="other", notes="Board said yes"
    )
    assert move.to_step.key == "won"


def test_every_problem_is_listed_at_once() -> None:
    rows = new_rows()
    a = rows.step("a", "A", 0, initial=True)
    b = rows.step("b", "B", 1, required=["amount"])
    rows.move(a, b, reasons=["price", "other"])
    errors = rejection(rows.compile(), "a", "b", reason="other")
    assert errors == {
        "notes": "are required when the reason is other",
        "fields.amount": "is required to enter B",
    }


def test_reason_where_none_is_asked(pipeline: CompiledWorkflow) -> None:
    move = pipeline.check(*ids(pipeline, "prospecting", "discovery"), role="sales", reason="x")
    assert move.to_step.key == "discovery"


def test_role_restricted_transition(pipeline: CompiledWorkflow) -> None:
    errors = rejection(pipeline, "lost", "negotiation", role="sales")
    assert errors == {"role": "sales may not move from Lost to Negotiation"}
    assert pipeline.check(*ids(pipeline, "lost", "negotiation"), role="admin").to_step.key == (
        "negotiation"
    )


# ---------------------------------------------------------------- options


def test_options(pipeline: CompiledWorkflow) -> None:
    proposal, negotiation = ids(pipeline, "proposal", "negotiation")
    options = pipeline.options(negotiation, "sales")
    assert [o.to_step.key for o in options] == ["proposal", "won", "lost"]
    back, won, to_lost = options
    assert back.backwards is True
    assert back.required_fields == ("amount", "expected_close_date")
    assert back.reason_required is False
    assert back.notes_required is False
    assert won.label == "Mark won"
    assert won.reasons == tuple(WIN_REASONS)
    assert won.reason_required is True
    assert won.notes_required_for == ("other",)
    assert won.notes_required is True
    assert won.edge.effects[0].name == "log_activity"
    assert to_lost.reasons == tuple(LOSS_REASONS)
    assert pipeline.options(proposal, "viewer")[0].to_step.key == "discovery"


def test_options_per_role(pipeline: CompiledWorkflow) -> None:
    lost = pipeline.step_by_key("lost").id
    assert pipeline.options(lost, "sales") == ()
    assert [o.to_step.key for o in pipeline.options(lost, "manager")] == ["negotiation"]
    assert [o.label for o in pipeline.options(lost, "admin")] == ["Reopen"]
    assert pipeline.options(pipeline.step_by_key("won").id, "admin") == ()
    with pytest.raises(KeyError):
        pipeline.options(uuid.uuid4(), "admin")


def test_options_match_check(pipeline: CompiledWorkflow) -> None:
    """Taking an option with what it says it requires is always accepted."""
    for step in pipeline.steps.values():
        for role in ("admin", "sales"):
            for option in pipeline.options(step.id, role):
                move = pipeline.check(
                    step.id,
                    option.to_step.id,
                    role=role,
                    reason=option.reasons[0] if option.reason_required else None,
                    present_fields=option.required_fields,
                )
                assert move.edge is option.edge


# ---------------------------------------------------------------- cache


def test_cache_lru_and_versions() -> None:
    cache = WorkflowCache(max_entries=2)
    first, second, third = (sales_pipeline().compile() for _ in range(3))
    key1 = (TENANT, first.workflow_id, 1)
    cache.put(key1, first)
    assert cache.get(key1) is first
    assert key1 in cache
    # Another version of the same workflow is a miss, and replaces the old one on put.
    assert cache.get((TENANT, first.workflow_id, 2)) is None
    cache.put((TENANT, first.workflow_id, 2), first)
    assert cache.get(key1) is None
    assert len(cache) == 1
    # Another tenant is another entry.
    assert cache.get((uuid.uuid4(), first.workflow_id, 2)) is None
    # LRU: touching `first` makes `second` the one evicted by `third`.
    cache.put((TENANT, second.workflow_id, 1), second)
    assert cache.get((TENANT, first.workflow_id, 2)) is first
    cache.put((TENANT, third.workflow_id, 1), third)
    assert len(cache) == 2
    assert cache.get((TENANT, second.workflow_id, 1)) is None
    assert cache.get((TENANT, third.workflow_id, 1)) is third
    cache.invalidate(TENANT, third.workflow_id)
    assert cache.get((TENANT, third.workflow_id, 1)) is None
    assert cache.hits == 3
    with pytest.raises(ValueError, match="does not match"):
        cache.put((TENANT, uuid.uuid4(), 1), first)
    cache.clear()
    assert len(cache) == 0


# ---------------------------------------------------------------- property


FIELDS = ["amount", "close_date", "email", "phone"]
REASONS = ["price", "timing", "other"]
ROLES = ["admin", "manager", "sales"]


@dataclass(frozen=True)
class Attempt:
    target: int
    role: str
    reason: str | None
    notes: str | None
    present: frozenset[str]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[Rows, list[WorkflowStep]]:
    """A random workflow: 2-12 steps, random edges, random conditions on both."""
    n = draw(st.integers(2, 12))
    rows = new_rows()
    initial = draw(st.integers(0, n - 1))
    positions = draw(st.permutations(range(n)))
    steps = [
        rows.step(
            f"s{i}",
            f"Step {i}",
            positions[i],
            draw(st.sampled_from(StatusCategory)),
            initial=i == initial,
            final=draw(st.booleans()),
            required=draw(
                st.one_of(st.just([]), st.lists(st.sampled_from(FIELDS), unique=True, max_size=2))
            ),
        )
        for i in range(n)
    ]
    # A successor for most steps, so that walks go somewhere; then random extra edges.
    successors = draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n))
    extra = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
    pairs = {(i, j) for i, j in enumerate(successors) if i != j}
    pairs |= {(i, j) for i, j in draw(st.sets(extra, max_size=2 * n)) if i != j}

    def some(values: list[str], most: int) -> list[str]:
        # Unconditioned half the time, so that moves do get through.
        chosen: list[str] = draw(
            st.one_of(st.just([]), st.lists(st.sampled_from(values), unique=True, max_size=most))
        )
        return chosen

    for a, b in sorted(pairs):
        rows.move(
            steps[a],
            steps[b],
            required=some(FIELDS, 2),
            reasons=some(REASONS, 3),
            roles=some(ROLES, 2),
        )
    return rows, steps


def attempts(
    rows: Rows, steps: list[WorkflowStep], current: uuid.UUID
) -> st.SearchStrategy[Attempt]:
    """A move from `current`: mostly along one of its edges, often satisfiable."""
    out = [t for t in rows.transitions if t.from_step_id == current]
    index = {s.id: i for i, s in enumerate(steps)}
    anywhere = st.integers(0, len(steps) - 1)
    along = st.sampled_from([index[t.to_step_id] for t in out]) if out else anywhere
    targets = st.integers(0, 3).flatmap(lambda k: anywhere if k == 0 else along)
    reasons = [r for t in out for r in t.conditions.get("reasons", [])]
    any_reason = st.sampled_from([None, *REASONS, "bogus"])
    return st.builds(
        Attempt,
        target=targets,
        role=st.sampled_from(ROLES),
        reason=st.one_of(st.sampled_from(reasons), any_reason) if reasons else any_reason,
        notes=st.sampled_from([None, "", "why", "why"]),
        present=st.one_of(st.just(frozenset(FIELDS)), st.frozensets(st.sampled_from(FIELDS))),
    )


def expected_ok(rows: Rows, source: WorkflowStep, target: WorkflowStep, attempt: Attempt) -> bool:
    """The rules, written again straight from the rows."""
    edge = next(
        (t for t in rows.transitions if t.from_step_id == source.id and t.to_step_id == target.id),
        None,
    )
    if edge is None:
        return False
    roles = edge.conditions.get("roles", [])
    reasons = edge.conditions.get("reasons", [])
    if roles and attempt.role not in roles:
        return False
    if reasons and attempt.reason not in reasons:
        return False
    if attempt.reason == "other" and not attempt.notes:
        return False
    required = edge.conditions.get("required_fields", []) + target.metadata_.get(
        "required_fields", []
    )
    return all(f in attempt.present for f in required)


@settings(max_examples=100, deadline=None)
@given(graphs(), st.integers(1, 40), st.data())
def test_random_workflows_and_moves(
    graph: tuple[Rows, list[WorkflowStep]], count: int, data: st.DataObject
) -> None:
    rows, steps = graph
    wf = rows.compile()
    edge_pairs = {(t.from_step_id, t.to_step_id) for t in rows.transitions}
    assert set(wf.edges) == edge_pairs
    by_id = {s.id: s for s in steps}

    current = wf.initial_step.id
    assert by_id[current].is_initial
    accepted: list[tuple[Move, Attempt]] = []
    for _ in range(count):
        attempt = data.draw(attempts(rows, steps, current))
        target = steps[attempt.target]
        should = expected_ok(rows, by_id[current], target, attempt)
        try:
            move = wf.check(
                current,
                target.id,
                role=attempt.role,
                reason=attempt.reason,
                notes=attempt.notes,
                present_fields=attempt.present,
            )
        except TransitionRejected as rejected:
            errors = rejected.errors
            assert not should, errors
            assert errors
            continue
        assert should
        assert (move.from_step.id, move.to_step.id) == (current, target.id)
        assert (current, target.id) in edge_pairs
        assert move.backwards == (target.position < by_id[current].position)
        # What options() offers this role from here includes the move just taken.
        assert move.edge in [o.edge for o in wf.options(current, attempt.role)]
        accepted.append((move, attempt))
        current = target.id

    # Replaying the accepted moves from the initial step ends where the record is.
    replayed = wf.initial_step.id
    for move, attempt in accepted:
        assert move.from_step.id == replayed
        replayed = wf.check(
            replayed,
            move.to_step.id,
            role=attempt.role,
            reason=attempt.reason,
            notes=attempt.notes,
            present_fields=attempt.present,
        ).to_step.id
    assert replayed == current

    # options(): only edges out of the step that the role may take, by target position.
    for step in steps:
        for role in ROLES:
            options = wf.options(step.id, role)
            assert all((step.id, o.to_step.id) in edge_pairs for o in options)
            assert all(not o.edge.roles or role in o.edge.roles for o in options)
            positions = [o.to_step.position for o in options]
            assert positions == sorted(positions)
            allowed = {
                t.to_step_id
                for t in rows.transitions
                if t.from_step_id == step.id
                and (not t.conditions.get("roles") or role in t.conditions["roles"])
            }
            assert {o.to_step.id for o in options} == allowed
