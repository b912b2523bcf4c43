"""The engine's graph check for publishing, on in-memory rows: no database.

`check_publishable` refuses a graph with a step the initial step cannot lead to, or
a step from which no final step (won, lost, or flagged final) can be reached.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.workflow.defaults import DEFAULT_WORKFLOWS, WorkflowSpec
from baton.workflow.engine import (
    UnsoundWorkflow,
    check_publishable,
    ends_journey,
    steps_without_end,
    unreachable_steps,
)
from baton.workflow.models import StatusCategory, WorkflowStep
from tests.workflow.test_engine import Rows, new_rows, sales_pipeline


def test_the_default_pipeline_is_sound() -> None:
    flow = sales_pipeline().compile()
    assert unreachable_steps(flow) == ()
    assert steps_without_end(flow) == ()
    check_publishable(flow)


@pytest.mark.parametrize("spec", DEFAULT_WORKFLOWS, ids=lambda spec: spec.name)
def test_every_default_workflow_is_sound(spec: WorkflowSpec) -> None:
    """The seeded workflows, built as registration builds them (final = not open)."""
    rows = new_rows(spec.name)
    steps = {
        step.key: rows.step(
            step.key,
            step.name,
            position,
            step.category,
            initial=position == 0,
            final=step.category is not StatusCategory.OPEN,
        )
        for position, step in enumerate(spec.steps)
    }
    for transition in spec.transitions:
        rows.move(steps[transition.source], steps[transition.target], label=transition.label)
    check_publishable(rows.compile())


def _prospecting_discovery_won() -> tuple[Rows, WorkflowStep, WorkflowStep, WorkflowStep]:
    rows = new_rows()
    prospecting = rows.step("prospecting", "Prospecting", 0, initial=True)
    discovery = rows.step("discovery", "Discovery", 1)
    won = rows.step("won", "Won", 2, StatusCategory.WON)
    return rows, prospecting, discovery, won


def test_unreachable_and_dead_end_steps_are_named() -> None:
    rows, prospecting, discovery, _ = _prospecting_discovery_won()
    rows.move(prospecting, discovery)
    flow = rows.compile()
    assert [s.key for s in unreachable_steps(flow)] == ["won"]
    assert [s.key for s in steps_without_end(flow)] == ["prospecting", "discovery"]
    with pytest.raises(UnsoundWorkflow) as caught:
        check_publishable(flow)
    assert caught.value.status == 422
    assert caught.value.detail == (
        "These steps cannot be reached from Prospecting: Won. "
        "From these steps no final step can be reached: Prospecting, Discovery. "
        "Add a transition that leads on to a won, lost or final step."
    )
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("steps.won", "cannot be reached from Prospecting"),
        ("steps.prospecting", "cannot reach a final step"),
        ("steps.discovery", "cannot reach a final step"),
    ]


def test_a_cycle_with_a_way_out_is_sound_and_one_without_is_not() -> None:
    rows, prospecting, discovery, won = _prospecting_discovery_won()
    rows.move(prospecting, discovery)
    rows.move(discovery, prospecting)
    with pytest.raises(UnsoundWorkflow):
        check_publishable(rows.compile())
    rows.move(discovery, won)
    check_publishable(rows.compile())


def test_what_counts_as_final() -> None:
    rows = new_rows()
    rows.step("open", "Open", 0, initial=True)
    rows.step("lost", "Lost", 1, StatusCategory.LOST)
    rows.step("closed", "Closed", 2, StatusCategory.PARKED, final=True)
    rows.step("nurture", "Nurture", 3, StatusCategory.PARKED)
    flow = rows.compile()
    assert [s.key for s in flow.ordered_steps() if ends_journey(s)] == ["lost", "closed"]


def test_no_final_step_at_all_says_so_once() -> None:
    rows = new_rows()
    todo = rows.step("todo", "To do", 0, initial=True)
    doing = rows.step("doing", "Doing", 1)
    rows.move(todo, doing)
    with pytest.raises(UnsoundWorkflow) as caught:
        check_publishable(rows.compile())
    assert caught.value.detail == (
        "No step ends this workflow: give a step a won or lost status, or mark it final."
    )
    assert [e.field for e in caught.value.errors] == ["steps.todo", "steps.doing"]


@given(
    size=st.integers(1, 7),
    pairs=st.sets(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=20),
    kinds=st.lists(st.sampled_from(["open", "won", "lost", "parked", "final"]), min_size=7),
)
def test_the_check_agrees_with_a_transitive_closure(
    size: int, pairs: set[tuple[int, int]], kinds: list[str]
) -> None:
    """Reachability written again as Floyd-Warshall over a boolean matrix."""
    rows = new_rows()
    steps = [
        rows.step(
            f"s{i}",
            f"Step {i}",
            i,
            StatusCategory.OPEN if kinds[i] == "final" else StatusCategory(kinds[i]),
            initial=i == 0,
            final=kinds[i] == "final",
        )
        for i in range(size)
    ]
    edges = {(a, b) for a, b in pairs if a < size and b < size and a != b}
    for a, b in sorted(edges):
        rows.move(steps[a], steps[b])
    reach = [[i == j or (i, j) in edges for j in range(size)] for i in range(size)]
    for k, i, j in itertools.product(range(size), repeat=3):
        reach[i][j] = reach[i][j] or (reach[i][k] and reach[k][j])
    finals = {i for i in range(size) if kinds[i] != "open" and kinds[i] != "parked"}
    flow = rows.compile()
    assert [s.key for s in unreachable_steps(flow)] == [
        f"s{i}" for i in range(size) if not reach[0][i]
    ]
    assert [s.key for s in steps_without_end(flow)] == [
        f"s{i}" for i in range(size) if not any(reach[i][f] for f in finals)
    ]
