"""Random workflows and random moves, end to end: admin API, HTTP, database trigger.

`test_engine.test_random_workflows_and_moves` checks the compiled graph in memory:
no database, no HTTP. This property runs the same kind of random walk against the
whole stack. Each example registers a fresh organization, builds a random workflow
through the admin API (statuses, a draft workflow, steps, transitions with reason
lists, admin-only roles and required fields, a random step order, publish, a project
type), creates a work item and sends it 1-15 moves over
`POST /api/v1/work-items/{id}/move` as the admin or a sales member. What this adds
over the engine-only test:

- the admin API stores exactly the graph that was asked for, and the compiled
  workflow the move endpoint uses is that stored graph (cache and compile included);
- the answer to each move (200, 409 for a stale version, 422 naming exactly the
  problem fields) agrees with a model written straight from the graph, for the
  role of the real signed-in member;
- fields sent with accepted moves are merged into the item and satisfy later
  requirements; a rejected move or a dry run changes nothing (step, version, fields);
- `allowed-transitions` offers each role exactly the edges it may take;
- the history the database trigger writes: one creation row plus one row per
  accepted move, replaying from the initial step along edges to the current step,
  with actor, reason, notes, fields and the `backwards` flag (target position <
  source position, after reordering), and the raw `workflow_history` table agrees;
- one "Stage changed" timeline entry per accepted move, by its actor.

Every example gets its own organization and its own HTTP client (registration is
limited per client address), built like the `client` fixture on the session's app.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from baton.workflow.models import StatusCategory
from tests.factories import Member, add_member, register_tenant

REASONS = ("price", "timing", "other")
FIELDS = ("budget", "sponsor")
ACTORS = ("admin", "sales")
# Values for a field: only a non-empty one makes it present; a move may not send null.
FIELD_VALUES: tuple[str | None, ...] = ("yes", "yes", "", None)


# ---------------------------------------------------------------- the graph


@dataclass(frozen=True)
class EdgeSpec:
    source: int
    target: int
    reasons: tuple[str, ...]
    roles: tuple[str, ...]
    required: tuple[str, ...]

    def conditions(self) -> dict[str, list[str]]:
        """As the admin API stores them: empty lists are left out."""
        stored = {
            "reasons": list(self.reasons),
            "roles": list(self.roles),
            "required_fields": list(self.required),
        }
        return {key: value for key, value in stored.items() if value}


@dataclass(frozen=True)
class GraphSpec:
    size: int
    initial: int
    # positions[i]: the order of step i once the steps are reordered.
    positions: tuple[int, ...]
    categories: tuple[StatusCategory, ...]
    finals: tuple[bool, ...]
    # Fields a record needs to enter step i.
    step_required: tuple[tuple[str, ...], ...]
    edges: tuple[EdgeSpec, ...]

    def edge(self, source: int, target: int) -> EdgeSpec | None:
        return next((e for e in self.edges if (e.source, e.target) == (source, target)), None)

    def out(self, source: int) -> list[EdgeSpec]:
        return [e for e in self.edges if e.source == source]


def _some(values: tuple[str, ...], most: int) -> st.SearchStrategy[tuple[str, ...]]:
    """Nothing half the time (so that moves get through), else a few of `values`."""
    chosen = st.lists(st.sampled_from(values), unique=True, min_size=1, max_size=most)
    return st.one_of(st.just(()), chosen.map(tuple))


@st.composite
def graphs(draw: st.DrawFn) -> GraphSpec:
    """3-8 steps in a random order, one initial, random edges and conditions — a
    graph that publishes: every step reachable from the initial one, and a final
    step reachable from every step."""
    size = draw(st.integers(3, 8))
    initial = draw(st.integers(0, size - 1))
    positions = tuple(draw(st.permutations(range(size))))
    categories = tuple(
        draw(st.lists(st.sampled_from(StatusCategory), min_size=size, max_size=size))
    )
    end = draw(st.integers(0, size - 1))
    finals = tuple(
        flag or i == end
        for i, flag in enumerate(draw(st.lists(st.booleans(), min_size=size, max_size=size)))
    )
    step_required = tuple(
        draw(st.lists(st.one_of(st.just(()), _some(FIELDS, 1)), min_size=size, max_size=size))
    )
    # A successor for every step, so that walks do not get stuck; then extra edges.
    successors = draw(st.lists(st.integers(0, size - 2), min_size=size, max_size=size))
    pairs = {(i, j + (j >= i)) for i, j in enumerate(successors)}
    extra = st.tuples(st.integers(0, size - 1), st.integers(0, size - 1))
    pairs |= {(i, j) for i, j in draw(st.lists(extra, max_size=size)) if i != j}
    # Publishing refuses a graph that strands records, so add a tree out of the
    # initial step (each step entered from one listed before it) and a tree into
    # `end` (each step leaving to one listed before it).
    out_of = [initial, *draw(st.permutations([i for i in range(size) if i != initial]))]
    into = [end, *draw(st.permutations([i for i in range(size) if i != end]))]
    for k in range(1, size):
        pairs.add((out_of[draw(st.integers(0, k - 1))], out_of[k]))
        pairs.add((into[k], into[draw(st.integers(0, k - 1))]))
    edges = tuple(
        EdgeSpec(
            source=a,
            target=b,
            reasons=draw(_some(REASONS, 3)),
            roles=draw(st.sampled_from([(), (), ("admin",)])),
            required=draw(st.one_of(st.just(()), st.just(()), _some(FIELDS, 2))),
        )
        for a, b in sorted(pairs)
    )
    return GraphSpec(size, initial, positions, categories, finals, step_required, edges)


# ---------------------------------------------------------------- the moves


@dataclass(frozen=True)
class Attempt:
    actor: str
    # A step index, or None for an id that is no step of the workflow.
    target: int | None
    reason: str | None
    notes: str | None
    fields: Mapping[str, str | None]
    dry_run: bool
    stale: bool


@st.composite
def attempts(draw: st.DrawFn, graph: GraphSpec, current: int) -> Attempt:
    """Mostly along an edge out of `current`; sometimes anywhere; rarely nowhere.

    Choices that make a move fail are drawn less often, and are not what Hypothesis
    shrinks towards (the first element of a `sampled_from`).
    """
    out = graph.out(current)
    kind = draw(st.sampled_from(("edge",) * 15 + ("anywhere",) * 4 + ("nowhere",)))
    target: int | None
    if kind == "nowhere":
        target = None
    elif kind == "anywhere" or not out:
        target = draw(st.integers(0, graph.size - 1))
    else:
        target = draw(st.sampled_from([e.target for e in out]))
    edge = graph.edge(current, target) if target is not None else None
    any_reason = st.sampled_from([None, None, *REASONS, "bogus", ""])
    reason = draw(
        st.one_of(*[st.sampled_from(edge.reasons)] * 3, any_reason)
        if edge and edge.reasons
        else any_reason
    )
    needed = (edge.required if edge else ()) + (
        graph.step_required[target] if target is not None else ()
    )
    fields = draw(
        st.one_of(
            st.just({name: "yes" for name in needed}),
            st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(FIELD_VALUES), max_size=2),
        )
    )
    return Attempt(
        actor=draw(st.sampled_from(ACTORS)),
        target=target,
        reason=reason,
        notes=draw(st.sampled_from([None, "", "  ", "why", "why"])),
        fields=fields,
        dry_run=draw(st.sampled_from((False,) * 9 + (True,))),
        stale=draw(st.sampled_from((False,) * 14 + (True,))),
    )


def present(metadata: Mapping[str, Any], sent: Mapping[str, Any]) -> set[str]:
    return {name for name, value in {**metadata, **sent}.items() if value not in (None, "")}


def expected(
    graph: GraphSpec, current: int, metadata: Mapping[str, Any], attempt: Attempt
) -> tuple[int, set[str]]:
    """The status and the error fields, written again straight from the graph."""
    # The request's shape comes first: a reason is never blank, a field value never null.
    shape = {"reason"} if attempt.reason == "" else set()
    shape |= {"fields"} if None in attempt.fields.values() else set()
    if shape:
        return 422, shape
    if attempt.stale:
        return 409, set()
    edge = graph.edge(current, attempt.target) if attempt.target is not None else None
    if edge is None:
        return 422, {"to_step_id"}
    if edge.roles and attempt.actor not in edge.roles:
        return 422, {"role"}
    errors: set[str] = set()
    reason = attempt.reason
    if reason is None:
        if edge.reasons:
            errors.add("reason")
    elif edge.reasons and reason not in edge.reasons:
        errors.add("reason")
    elif reason == "other" and not (attempt.notes and attempt.notes.strip()):
        errors.add("notes")
    have = present(metadata, attempt.fields)
    needed = edge.required + graph.step_required[edge.target]
    errors |= {f"fields.{name}" for name in needed if name not in have}
    return (422, errors) if errors else (200, set())


# ---------------------------------------------------------------- through the API


@dataclass(frozen=True)
class Built:
    workflow_id: str
    project_type_id: str
    # step_ids[i]: the id of step i.
    step_ids: list[str]


async def _send(
    client: httpx.AsyncClient, member: Member, method: str, path: str, body: Any = None
) -> Any:
    response = await client.request(method, f"/api/v1{path}", headers=member.headers, json=body)
    assert response.status_code in (200, 201), (method, path, response.text)
    return response.json()


async def build(client: httpx.AsyncClient, admin: Member, graph: GraphSpec) -> Built:
    """The graph, through the admin API, published and behind a new project type."""
    statuses = [
        await _send(
            client,
            admin,
            "POST",
            "/workflow/statuses",
            {"name": f"Random status {i}", "category": graph.categories[i].value},
        )
        for i in range(graph.size)
    ]
    flow = await _send(
        client,
        admin,
        "POST",
        "/workflow/workflows",
        {"name": "Random flow", "entity_type": "work_item"},
    )
    workflow_id = flow["id"]
    for i in range(graph.size):
        flow = await _send(
            client,
            admin,
            "POST",
            f"/workflow/workflows/{workflow_id}/steps",
            {
                "key": f"s{i}",
                "name": f"Step {i}",
                "status_id": statuses[i]["id"],
                "is_initial": i == graph.initial,
                "is_final": graph.finals[i],
                "required_fields": list(graph.step_required[i]),
            },
        )
        assert flow["id"] == workflow_id  # a draft is edited in place
    by_key = {s["key"]: s["id"] for s in flow["steps"]}
    step_ids = [by_key[f"s{i}"] for i in range(graph.size)]
    for edge in graph.edges:
        await _send(
            client,
            admin,
            "POST",
            f"/workflow/workflows/{workflow_id}/transitions",
            {
                "from_step_id": step_ids[edge.source],
                "to_step_id": step_ids[edge.target],
                "label": f"s{edge.source} to s{edge.target}",
                "conditions": edge.conditions(),
            },
        )
    if graph.positions != tuple(range(graph.size)):
        order = sorted(range(graph.size), key=lambda i: graph.positions[i])
        await _send(
            client,
            admin,
            "PUT",
            f"/workflow/workflows/{workflow_id}/step-order",
            {"step_ids": [step_ids[i] for i in order]},
        )
    published = await _send(client, admin, "POST", f"/workflow/workflows/{workflow_id}/publish")
    assert published["id"] == workflow_id
    assert published["published"] is True
    # What is stored is exactly the graph asked for.
    index = {step_id: i for i, step_id in enumerate(step_ids)}
    stored_steps = {index[s["id"]]: s for s in published["steps"]}
    assert set(stored_steps) == set(range(graph.size))
    for i, step in stored_steps.items():
        assert step["order"] == graph.positions[i]
        assert step["is_initial"] == (i == graph.initial)
        assert step["category"] == graph.categories[i].value
        assert step["metadata"].get("required_fields", []) == list(graph.step_required[i])
    stored_edges = {
        (index[t["from_step_id"]], index[t["to_step_id"]]): t["conditions"]
        for t in published["transitions"]
    }
    assert stored_edges == {(e.source, e.target): e.conditions() for e in graph.edges}
    kind = await _send(
        client,
        admin,
        "POST",
        "/workflow/project-types",
        {"name": "Random kind", "default_workflow_id": workflow_id},
    )
    assert kind["entity_type"] == "work_item"
    return Built(workflow_id, kind["id"], step_ids)


@asynccontextmanager
async def fresh_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client like the `client` fixture's, from an address of its own.

    One per example: registration is limited per address (10 a minute) and every
    example registers an organization. Not `conftest.random_address`: Hypothesis
    seeds the `random` module the same way for every example, so it would hand out
    one address again and again.
    """
    a, b, c = uuid.uuid4().bytes[:3]
    address = f"127.{a}.{b}.{c % 254 + 1}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@dataclass(frozen=True)
class HistoryRow:
    """One expected row of the item's history, as the API shows it."""

    from_step: str | None
    to_step: str
    actor_id: str
    reason: str | None
    notes: str | None
    fields: dict[str, Any]
    backwards: bool


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    graph=graphs(),
    count=st.integers(1, 15),
    initial_fields=st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(FIELD_VALUES)),
    creator=st.sampled_from(ACTORS),
    data=st.data(),
)
async def test_random_moves_over_http_match_the_graph(
    app: Any,
    owner_conn: asyncpg.Connection,
    graph: GraphSpec,
    count: int,
    initial_fields: dict[str, str | None],
    creator: str,
    data: st.DataObject,
) -> None:
    async with fresh_client(app) as client:
        await walk(client, owner_conn, graph, count, initial_fields, creator, data)


async def walk(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    graph: GraphSpec,
    count: int,
    initial_fields: dict[str, str | None],
    creator: str,
    data: st.DataObject,
) -> None:
    """One example: a fresh organization, the graph built, one item walked `count` moves."""
    admin = await register_tenant(client)
    members = {"admin": admin, "sales": await add_member(client, admin, "sales")}
    built = await build(client, admin, graph)
    step_ids = built.step_ids
    index = {step_id: i for i, step_id in enumerate(step_ids)}

    item = await _send(
        client,
        members[creator],
        "POST",
        "/work-items",
        {"project_type_id": built.project_type_id, "name": "Walker", "fields": initial_fields},
    )
    assert item["workflow_id"] == built.workflow_id
    assert item["step"]["id"] == step_ids[graph.initial]
    assert item["version"] == 1
    item_path = f"/work-items/{item['id']}"

    # The model: where the item is, its version and fields, the history it should have.
    current = graph.initial
    version = 1
    metadata: dict[str, Any] = dict(initial_fields)
    history = [
        HistoryRow(
            None, step_ids[graph.initial], str(members[creator].user_id), None, None, {}, False
        )
    ]

    for _ in range(count):
        attempt = data.draw(attempts(graph, current))
        actor = members[attempt.actor]

        # The options offered to this role from here are the edges it may take.
        offered = await _send(
            client,
            actor,
            "GET",
            f"/workflow/workflows/{built.workflow_id}/allowed-transitions"
            f"?from_step_id={step_ids[current]}",
        )
        assert {index[o["to_step_id"]] for o in offered} == {
            e.target for e in graph.out(current) if not e.roles or attempt.actor in e.roles
        }

        status, error_fields = expected(graph, current, metadata, attempt)
        to_step_id = step_ids[attempt.target] if attempt.target is not None else str(uuid.uuid4())
        body: dict[str, Any] = {
            "to_step_id": to_step_id,
            "version": version + 1 if attempt.stale else version,
            "fields": dict(attempt.fields),
            "dry_run": attempt.dry_run,
        }
        if attempt.reason is not None:
            body["reason"] = attempt.reason
        if attempt.notes is not None:
            body["notes"] = attempt.notes
        response = await client.post(f"/api/v1{item_path}/move", headers=actor.headers, json=body)
        assert response.status_code == status, (attempt, response.text)
        event(f"move answered {status}" + (" (dry run)" if attempt.dry_run else ""))

        if status == 200:
            # Accepted: an edge of the graph whose conditions hold for this actor.
            assert attempt.target is not None
            assert graph.edge(current, attempt.target) is not None
            moved = response.json()
            backwards = graph.positions[attempt.target] < graph.positions[current]
            assert moved["from_step"]["id"] == step_ids[current]
            assert moved["to_step"]["id"] == step_ids[attempt.target]
            assert moved["backwards"] is backwards
            assert moved["dry_run"] is attempt.dry_run
            assert moved["effects"] == []
            if not attempt.dry_run:
                history.append(
                    HistoryRow(
                        step_ids[current],
                        step_ids[attempt.target],
                        str(actor.user_id),
                        attempt.reason,
                        attempt.notes or None,
                        dict(attempt.fields),
                        backwards,
                    )
                )
                current = attempt.target
                version += 1
                metadata.update(attempt.fields)
            assert moved["item"]["step"]["id"] == step_ids[current]
            assert moved["item"]["version"] == version
            assert moved["item"]["fields"] == metadata
        elif status == 422:
            errors = response.json()["errors"]
            assert {e["field"] for e in errors} == error_fields, (attempt, errors)

        # Whatever the answer, the stored item is where the model says, unchanged if refused.
        stored = await _send(client, actor, "GET", item_path)
        assert stored["step"]["id"] == step_ids[current]
        assert stored["version"] == version
        assert stored["fields"] == metadata

    rows = await _send(client, admin, "GET", f"{item_path}/history")
    # Replaying the history: from the initial step, each row leaving where the last
    # one arrived, along an edge, ending on the current step.
    assert rows[0]["from_step"] is None
    assert rows[0]["to_step"]["id"] == step_ids[graph.initial]
    for before, after in itertools.pairwise(rows):
        assert after["from_step"]["id"] == before["to_step"]["id"]
        source, target = index[after["from_step"]["id"]], index[after["to_step"]["id"]]
        assert graph.edge(source, target) is not None
        assert after["backwards"] is (graph.positions[target] < graph.positions[source])
        assert after["seconds_in_previous_step"] is not None
    assert rows[-1]["to_step"]["id"] == step_ids[current]
    shown = [
        HistoryRow(
            row["from_step"]["id"] if row["from_step"] else None,
            row["to_step"]["id"],
            row["actor_id"],
            row["reason"],
            row["notes"],
            row["fields"],
            row["backwards"],
        )
        for row in rows
    ]
    assert shown == history

    # Each accepted move also left a "Stage changed" entry on the timeline (newest first).
    timeline = await _send(client, admin, "GET", f"{item_path}/activities")
    names = {step_id: f"Step {i}" for i, step_id in enumerate(step_ids)}
    assert [(a["type"], a["subject"], a["owner_id"]) for a in reversed(timeline)] == [
        ("system", f"Stage changed: {names[row.from_step]} → {names[row.to_step]}", row.actor_id)
        for row in history[1:]
        if row.from_step is not None
    ]

    stored_rows = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE record_id = $1 AND tenant_id = $2",
        uuid.UUID(item["id"]),
        admin.tenant_id,
    )
    assert stored_rows == len(history)
