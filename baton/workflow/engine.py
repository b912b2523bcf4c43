"""The workflow engine: one workflow version compiled into an in-memory graph.

Pure Python, no database access. The service layer loads a workflow's rows, calls
`compile_workflow` on a `WorkflowCache` miss, and then asks the `CompiledWorkflow`:

- `options(step_id, role)`: what a record in that step can do next, and what each
  option requires (fields, a reason, notes);
- `check(from, to, role=, reason=, notes=, present_fields=)`: is this move allowed?
  Returns a `Move` or raises `TransitionRejected` with one `FieldError` per problem.

Publishing asks one more question of the graph, `check_publishable(flow)`: can every
step be reached from the initial one, and can a record on any step still end?

`check` is the hot path (budget: 20 µs, DESIGN §7): everything it needs is
precomputed per transition at compile time (frozensets, combined required-field
tuples, the `Move` it returns, the messages), and error lists are built only when a
move is refused. The database still has the last word (a step change that is not a
transition is rejected by its trigger); this engine gives the precise answer first.
"""

from __future__ import annotations

import copy
import uuid
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, TypeAlias

from baton.core.errors import FieldError, RuleViolation, TransitionRejected
from baton.workflow.models import StatusCategory, Workflow, WorkflowStep, WorkflowTransition

# A reason code that always requires notes (DESIGN §4: "`other` always requires notes").
NOTES_REQUIRED_REASONS: Final[frozenset[str]] = frozenset({"other"})

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


def _no_mapping() -> Mapping[str, Any]:
    return _EMPTY


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only deep copy: later edits of the ORM row cannot leak into the graph."""
    return MappingProxyType(copy.deepcopy(dict(value))) if value else _EMPTY


# ---------------------------------------------------------------- graph nodes


@dataclass(frozen=True, slots=True)
class StepNode:
    id: uuid.UUID
    key: str
    name: str
    status_id: uuid.UUID
    category: StatusCategory
    position: int
    is_initial: bool
    is_final: bool
    probability: float | None
    # Fields a record needs to *enter* this step (metadata "required_fields").
    required_fields: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(
        default_factory=_no_mapping, compare=False, hash=False, repr=False
    )

    @property
    def sla_days(self) -> int | None:
        value = self.metadata.get("sla_days")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def outcome(self) -> str | None:
        value = self.metadata.get("outcome")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class EffectSpec:
    """One effect a transition runs after the move (`{"name": …, "config": {…}}`)."""

    name: str
    config: Mapping[str, Any] = field(default_factory=_no_mapping, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class TransitionEdge:
    id: uuid.UUID
    from_step_id: uuid.UUID
    to_step_id: uuid.UUID
    label: str
    # The transition's own required fields (the target step's are on its StepNode).
    required_fields: tuple[str, ...] = ()
    # Allowed reason codes; empty = no reason needed.
    reasons: tuple[str, ...] = ()
    # What people read for a reason code, where the workflow names it (else the code
    # is shown humanized): {"product_fit": "Good product fit"}.
    reason_labels: Mapping[str, str] = field(default_factory=_no_mapping, compare=False, hash=False)
    # Roles that may take it; empty = every role.
    roles: tuple[str, ...] = ()
    effects: tuple[EffectSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Move:
    """An accepted move: the edge taken and its two ends."""

    edge: TransitionEdge
    from_step: StepNode
    to_step: StepNode
    backwards: bool


@dataclass(frozen=True, slots=True)
class MoveOption:
    """One thing a record can do next, and what it requires."""

    edge: TransitionEdge
    to_step: StepNode
    label: str
    # The transition's required fields, then the target step's (no duplicates).
    required_fields: tuple[str, ...]
    reasons: tuple[str, ...]
    # Each reason code offered here with its configured label ("" when it has none).
    reason_labels: Mapping[str, str]
    reason_required: bool
    # Reason codes offered here that, when chosen, require notes (e.g. ("other",)).
    notes_required_for: tuple[str, ...]
    backwards: bool

    @property
    def notes_required(self) -> bool:
        """Whether notes can be required here (they are when a reason above is chosen)."""
        return bool(self.notes_required_for)


# ---------------------------------------------------------------- precomputed rules


@dataclass(frozen=True, slots=True)
class _Rule:
    """Everything `check` needs about one edge, ready to use."""

    move: Move
    roles: frozenset[str]
    reasons: frozenset[str]
    required: tuple[str, ...]
    # A reason or fields are needed: the fast path does not apply.
    conditional: bool
    # "move from Proposal to Won", and the refusal's detail "Cannot move from …".
    route: str
    detail: str
    reason_missing: str
    reason_invalid: str
    field_message: str


@dataclass(frozen=True, slots=True)
class _StepOptions:
    every: tuple[MoveOption, ...]
    # Whether any option is limited to some roles (else `every` is the answer).
    restricted: bool
    with_roles: tuple[tuple[MoveOption, frozenset[str]], ...]


# ---------------------------------------------------------------- compiled workflow


@dataclass(frozen=True, slots=True, eq=False)
class CompiledWorkflow:
    """One workflow version as an immutable graph. Build it with `compile_workflow`."""

    workflow_id: uuid.UUID
    family_id: uuid.UUID
    revision: int
    name: str
    entity_type: str
    published: bool
    steps: Mapping[uuid.UUID, StepNode]
    steps_by_key: Mapping[str, StepNode]
    initial_step: StepNode
    edges: Mapping[tuple[uuid.UUID, uuid.UUID], TransitionEdge]
    # Outgoing edges per step, sorted by the target's position.
    outgoing: Mapping[uuid.UUID, tuple[TransitionEdge, ...]]
    _rules: dict[tuple[uuid.UUID, uuid.UUID], _Rule] = field(repr=False)
    _options: dict[uuid.UUID, _StepOptions] = field(repr=False)

    # --- lookups

    def step(self, step_id: uuid.UUID) -> StepNode:
        """The step with this id; KeyError if it is not a step of this workflow."""
        return self.steps[step_id]

    def step_by_key(self, key: str) -> StepNode:
        """The step with this key; KeyError if there is none."""
        return self.steps_by_key[key]

    def steps_in_category(self, category: StatusCategory | str) -> tuple[StepNode, ...]:
        """Steps whose status is in `category`, in position order."""
        wanted = StatusCategory(category)
        return tuple(s for s in sorted(self.steps.values(), key=_position) if s.category is wanted)

    def ordered_steps(self) -> tuple[StepNode, ...]:
        return tuple(sorted(self.steps.values(), key=_position))

    def reason_label(self, code: str) -> str:
        """The label this workflow gives a reason code, or "" when it gives none."""
        for edge in self.edges.values():
            label = edge.reason_labels.get(code)
            if label:
                return label
        return ""

    # --- what can happen next

    def options(self, from_step_id: uuid.UUID, role: str) -> tuple[MoveOption, ...]:
        """The moves `role` may take from this step, by the target's position.

        KeyError if `from_step_id` is not a step of this workflow.
        """
        entry = self._options[from_step_id]
        if not entry.restricted:
            return entry.every
        return tuple(o for o, roles in entry.with_roles if not roles or role in roles)

    def check(
        self,
        from_step_id: uuid.UUID,
        to_step_id: uuid.UUID,
        *,
        role: str,
        reason: str | None = None,
        notes: str | None = None,
        present_fields: Collection[str] = (),
    ) -> Move:
        """The move from one step to another, or `TransitionRejected` saying why not.

        `present_fields` names the fields the record has (after this request's
        changes). A missing transition, an unknown step or a refused role is
        reported alone; otherwise every missing reason, note and field is listed.
        A reason given where the transition asks none is accepted as is, except that
        `other` still requires notes.
        """
        rule = self._rules.get((from_step_id, to_step_id))
        if rule is None:
            raise self._no_transition(from_step_id, to_step_id)
        if rule.roles and role not in rule.roles:
            raise TransitionRejected(
                rule.detail,
                errors=[FieldError("role", f"{role} may not {rule.route}")],
            )
        if reason is None and not rule.conditional:
            return rule.move

        errors: list[FieldError] = []
        if not reason:
            if rule.reasons:
                errors.append(FieldError("reason", rule.reason_missing))
        elif rule.reasons and reason not in rule.reasons:
            errors.append(FieldError("reason", rule.reason_invalid))
        elif reason in NOTES_REQUIRED_REASONS and not (notes and notes.strip()):
            errors.append(FieldError("notes", f"are required when the reason is {reason}"))
        for name in rule.required:
            if name not in present_fields:
                errors.append(FieldError(f"fields.{name}", rule.field_message))
        if errors:
            raise TransitionRejected(rule.detail, errors=errors)
        return rule.move

    def _no_transition(self, from_step_id: uuid.UUID, to_step_id: uuid.UUID) -> TransitionRejected:
        source = self.steps.get(from_step_id)
        target = self.steps.get(to_step_id)
        if source is None:
            return TransitionRejected(
                "Unknown step",
                errors=[FieldError("from_step_id", "is not a step of this workflow")],
            )
        if target is None:
            return TransitionRejected(
                "Unknown step",
                errors=[FieldError("to_step_id", "is not a step of this workflow")],
            )
        message = f"no transition from {source.name} to {target.name}"
        return TransitionRejected(f"There is {message}", errors=[FieldError("to_step_id", message)])


def _position(step: StepNode) -> tuple[int, str]:
    return (step.position, step.key)


# ---------------------------------------------------------------- compilation


def _str_list(value: Any, what: str) -> tuple[str, ...]:
    """A JSON list of strings as a tuple without duplicates (absent/null = empty)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{what} must be a list of non-empty strings, got {value!r}")
    return tuple(dict.fromkeys(value))


def _labels(value: Any, what: str) -> Mapping[str, str]:
    if value is None:
        return _EMPTY
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{what} must map codes to labels")
    return _frozen_mapping(value)


def _effects(value: Any, what: str) -> tuple[EffectSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list, got {value!r}")
    specs = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError(f"{what}: each effect needs a string 'name', got {item!r}")
        config = item.get("config") or {}
        if not isinstance(config, dict):
            raise ValueError(f"{what}: effect config must be an object, got {config!r}")
        specs.append(EffectSpec(item["name"], _frozen_mapping(config)))
    return tuple(specs)


def _node(row: WorkflowStep, categories: Mapping[uuid.UUID, str]) -> StepNode:
    metadata = row.metadata_ or {}
    if not isinstance(metadata, dict):
        raise ValueError(f"step {row.key!r}: metadata must be an object")
    if row.status_id not in categories:
        raise ValueError(f"step {row.key!r}: no category for status {row.status_id}")
    try:
        category = StatusCategory(categories[row.status_id])
    except ValueError:
        raise ValueError(
            f"step {row.key!r}: unknown status category {categories[row.status_id]!r}"
        ) from None
    return StepNode(
        id=row.id,
        key=row.key,
        name=row.name,
        status_id=row.status_id,
        category=category,
        position=row.position,
        is_initial=bool(row.is_initial),
        is_final=bool(row.is_final),
        probability=row.probability,
        required_fields=_str_list(
            metadata.get("required_fields"), f"step {row.key!r} required_fields"
        ),
        metadata=_frozen_mapping(metadata),
    )


def _edge(row: WorkflowTransition) -> TransitionEdge:
    conditions = row.conditions or {}
    if not isinstance(conditions, dict):
        raise ValueError(f"transition {row.id}: conditions must be an object")
    what = f"transition {row.id}"
    return TransitionEdge(
        id=row.id,
        from_step_id=row.from_step_id,
        to_step_id=row.to_step_id,
        label=row.label,
        required_fields=_str_list(conditions.get("required_fields"), f"{what} required_fields"),
        reasons=_str_list(conditions.get("reasons"), f"{what} reasons"),
        reason_labels=_labels(conditions.get("reason_labels"), f"{what} reason_labels"),
        roles=_str_list(conditions.get("roles"), f"{what} roles"),
        effects=_effects(row.effects, f"{what} effects"),
    )


def _rule(edge: TransitionEdge, source: StepNode, target: StepNode) -> _Rule:
    required = tuple(dict.fromkeys((*edge.required_fields, *target.required_fields)))
    reasons = ", ".join(edge.reasons)
    route = f"move from {source.name} to {target.name}"
    return _Rule(
        move=Move(edge, source, target, target.position < source.position),
        roles=frozenset(edge.roles),
        reasons=frozenset(edge.reasons),
        required=required,
        conditional=bool(edge.reasons or required),
        route=route,
        detail=f"Cannot {route}",
        reason_missing=f"is required; one of: {reasons}",
        reason_invalid=f"must be one of: {reasons}",
        field_message=f"is required to enter {target.name}",
    )


def _option(rule: _Rule) -> MoveOption:
    edge = rule.move.edge
    return MoveOption(
        edge=edge,
        to_step=rule.move.to_step,
        label=edge.label,
        required_fields=rule.required,
        reasons=edge.reasons,
        reason_labels=edge.reason_labels,
        reason_required=bool(edge.reasons),
        notes_required_for=tuple(r for r in edge.reasons if r in NOTES_REQUIRED_REASONS),
        backwards=rule.move.backwards,
    )


def compile_workflow(
    workflow: Workflow,
    steps: Sequence[WorkflowStep],
    transitions: Sequence[WorkflowTransition],
    categories: Mapping[uuid.UUID, str],
) -> CompiledWorkflow:
    """Check the rows' structure and build the graph; ValueError if it is not sound.

    `categories` maps each step's `status_id` to its status category. Rules: at least
    one step; unique step ids and keys; exactly one initial step; every transition
    belongs to this workflow, joins two of its steps, is not a loop, and no pair of
    steps has two transitions; conditions and effects have the documented shapes.
    """
    if not steps:
        raise ValueError("a workflow needs at least one step")
    nodes: dict[uuid.UUID, StepNode] = {}
    by_key: dict[str, StepNode] = {}
    for row in steps:
        if row.workflow_id != workflow.id:
            raise ValueError(f"step {row.key!r} belongs to another workflow")
        node = _node(row, categories)
        if node.id in nodes:
            raise ValueError(f"step id {node.id} appears twice")
        if node.key in by_key:
            raise ValueError(f"step key {node.key!r} appears twice")
        nodes[node.id] = node
        by_key[node.key] = node
    initial = [n for n in nodes.values() if n.is_initial]
    if len(initial) != 1:
        names = ", ".join(n.name for n in initial) or "none"
        raise ValueError(f"a workflow needs exactly one initial step (found: {names})")

    edges: dict[tuple[uuid.UUID, uuid.UUID], TransitionEdge] = {}
    for transition in transitions:
        if transition.workflow_id != workflow.id:
            raise ValueError(f"transition {transition.label!r} belongs to another workflow")
        edge = _edge(transition)
        if edge.from_step_id not in nodes or edge.to_step_id not in nodes:
            raise ValueError(f"transition {edge.label!r} joins a step of another workflow")
        if edge.from_step_id == edge.to_step_id:
            raise ValueError(f"transition {edge.label!r} leads from a step to itself")
        pair = (edge.from_step_id, edge.to_step_id)
        if pair in edges:
            raise ValueError(f"two transitions from {nodes[pair[0]].name} to {nodes[pair[1]].name}")
        edges[pair] = edge

    rules = {pair: _rule(e, nodes[pair[0]], nodes[pair[1]]) for pair, e in edges.items()}
    outgoing: dict[uuid.UUID, list[TransitionEdge]] = {step_id: [] for step_id in nodes}
    for edge in edges.values():
        outgoing[edge.from_step_id].append(edge)
    sorted_outgoing = {
        step_id: tuple(sorted(out, key=lambda e: _position(nodes[e.to_step_id])))
        for step_id, out in outgoing.items()
    }
    options = {
        step_id: _step_options(rules[(e.from_step_id, e.to_step_id)] for e in out)
        for step_id, out in sorted_outgoing.items()
    }
    return CompiledWorkflow(
        workflow_id=workflow.id,
        family_id=workflow.family_id,
        revision=workflow.revision,
        name=workflow.name,
        entity_type=workflow.entity_type,
        published=bool(workflow.published),
        steps=MappingProxyType(nodes),
        steps_by_key=MappingProxyType(by_key),
        initial_step=initial[0],
        edges=MappingProxyType(edges),
        outgoing=MappingProxyType(sorted_outgoing),
        _rules=rules,
        _options=options,
    )


def _step_options(rules: Iterable[_Rule]) -> _StepOptions:
    pairs = tuple((_option(rule), rule.roles) for rule in rules)
    return _StepOptions(
        every=tuple(option for option, _ in pairs),
        restricted=any(roles for _, roles in pairs),
        with_roles=pairs,
    )


# ---------------------------------------------------------------- soundness (publishing)

# Categories that end a record's journey whatever the step's own flag says.
ENDING_CATEGORIES: Final[frozenset[StatusCategory]] = frozenset(
    {StatusCategory.WON, StatusCategory.LOST}
)


class UnsoundWorkflow(RuleViolation):
    """A workflow whose graph strands records (422): raised by `check_publishable`.

    `detail` is the sentence an admin reads; `errors` name each step by key, for
    API clients (`steps.<key>`).
    """


def ends_journey(step: StepNode) -> bool:
    """A final step: its status is won or lost, or it is flagged final (a parked
    "Closed" step, say)."""
    return step.is_final or step.category in ENDING_CATEGORIES


def _closure(
    start: Iterable[uuid.UUID], neighbours: Mapping[uuid.UUID, list[uuid.UUID]]
) -> set[uuid.UUID]:
    """Every step reachable from `start` along `neighbours`, `start` included."""
    seen = set(start)
    frontier = list(seen)
    while frontier:
        for nxt in neighbours.get(frontier.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def unreachable_steps(flow: CompiledWorkflow) -> tuple[StepNode, ...]:
    """Steps no sequence of transitions leads to from the initial step, in position
    order: no record can ever be on them."""
    forward: dict[uuid.UUID, list[uuid.UUID]] = {}
    for source, target in flow.edges:
        forward.setdefault(source, []).append(target)
    reached = _closure([flow.initial_step.id], forward)
    return tuple(s for s in flow.ordered_steps() if s.id not in reached)


def steps_without_end(flow: CompiledWorkflow) -> tuple[StepNode, ...]:
    """Steps from which no final step (`ends_journey`) can be reached, in position
    order: a record there could never be won, lost or closed. Final steps themselves
    are never listed. Every non-final step is listed when the workflow has no final
    step at all."""
    backward: dict[uuid.UUID, list[uuid.UUID]] = {}
    for source, target in flow.edges:
        backward.setdefault(target, []).append(source)
    ending = _closure((s.id for s in flow.steps.values() if ends_journey(s)), backward)
    return tuple(s for s in flow.ordered_steps() if s.id not in ending)


def _names(steps: Sequence[StepNode]) -> str:
    return ", ".join(step.name for step in steps)


def check_publishable(flow: CompiledWorkflow) -> None:
    """Refuse (`UnsoundWorkflow`, 422) a graph that would strand records.

    Two rules, both reported at once so one round of edits can fix everything:
    every step can be reached from the initial step, and from every step some final
    step (won, lost, or flagged final) can be reached. The message names the steps
    by their display names; each `errors` entry names one step by its key.
    """
    unreachable = unreachable_steps(flow)
    stuck = steps_without_end(flow)
    if not unreachable and not stuck:
        return
    sentences: list[str] = []
    errors: list[FieldError] = []
    initial = flow.initial_step.name
    if unreachable:
        sentences.append(f"These steps cannot be reached from {initial}: {_names(unreachable)}.")
        errors += [
            FieldError(f"steps.{s.key}", f"cannot be reached from {initial}") for s in unreachable
        ]
    if not any(ends_journey(s) for s in flow.steps.values()):
        # Listing every step would hide the one fix: there is nothing to end on.
        sentences.append(
            "No step ends this workflow: give a step a won or lost status, or mark it final."
        )
    elif stuck:
        sentences.append(
            f"From these steps no final step can be reached: {_names(stuck)}. "
            "Add a transition that leads on to a won, lost or final step."
        )
    errors += [FieldError(f"steps.{s.key}", "cannot reach a final step") for s in stuck]
    raise UnsoundWorkflow(" ".join(sentences), errors=errors)


# ---------------------------------------------------------------- cache

# (tenant_id, workflow_id, Workflow.version — the row's optimistic-lock counter)
CacheKey: TypeAlias = tuple[uuid.UUID, uuid.UUID, int]


class WorkflowCache:
    """In-process LRU of compiled workflows, keyed by tenant, workflow and row version.

    Holds at most one version per workflow: putting a version replaces any other, so
    an edited workflow's stale graph never lingers. A lookup with another version is a
    miss. Not thread-safe (one event loop per process needs no lock).
    """

    def __init__(self, max_entries: int = 512) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[uuid.UUID, uuid.UUID], tuple[int, CompiledWorkflow]]
        self._entries = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: CacheKey) -> CompiledWorkflow | None:
        tenant_id, workflow_id, version = key
        slot = (tenant_id, workflow_id)
        entry = self._entries.get(slot)
        if entry is None or entry[0] != version:
            self.misses += 1
            return None
        self._entries.move_to_end(slot)
        self.hits += 1
        return entry[1]

    def put(self, key: CacheKey, compiled: CompiledWorkflow) -> None:
        tenant_id, workflow_id, version = key
        if compiled.workflow_id != workflow_id:
            raise ValueError("the compiled workflow does not match the cache key")
        slot = (tenant_id, workflow_id)
        self._entries[slot] = (version, compiled)
        self._entries.move_to_end(slot)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, tenant_id: uuid.UUID, workflow_id: uuid.UUID) -> None:
        self._entries.pop((tenant_id, workflow_id), None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 3:
            return False
        entry = self._entries.get((key[0], key[1]))
        return entry is not None and entry[0] == key[2]
