"""Transition validation in process: `CompiledWorkflow.check` and `options`.

Budget (DESIGN §7): validating a transition in process ≤ 20 µs.

A 12-step workflow (10 open steps in a line, Won, Lost; forward one, back one, any
open step to Lost, Negotiation-like last step to Won, a manager-only reopen; required
fields on some steps and transitions, win/loss reasons) is built from in-memory rows
and compiled once. Each case is then called in batches of 1 000, each batch timed
with `time.perf_counter_ns`; per round the median per-call time over its batches is
taken, and the figure reported is the median over rounds (loop overhead included).
No database, no I/O: this is the CPU cost the service pays before it writes.

    .venv/bin/python -m bench.workflow_validation [--rounds 5] [-n 40000] [--json FILE]
"""

from __future__ import annotations

import argparse
import itertools
import time
import uuid
from collections.abc import Callable
from typing import Any

from baton.core.errors import TransitionRejected
from baton.workflow.engine import CompiledWorkflow, Move, WorkflowCache, compile_workflow
from baton.workflow.models import (
    EntityType,
    StatusCategory,
    Workflow,
    WorkflowStep,
    WorkflowTransition,
)
from bench.harness import CpuWatch, Result, median, print_machine, print_table, write_json

BENCH = "workflow_validation"
BUDGET_US = 20.0
BATCH = 1000

OPEN_STEPS = [
    ("prospecting", "Prospecting", ()),
    ("qualification", "Qualification", ("email",)),
    ("discovery", "Discovery", ()),
    ("demo", "Demo", ()),
    ("proposal", "Proposal", ("amount", "expected_close_date")),
    ("review", "Review", ()),
    ("negotiation", "Negotiation", ("decision_maker",)),
    ("legal", "Legal", ()),
    ("contract", "Contract", ("signer", "contract_value")),
    ("commit", "Commit", ()),
]
WIN_REASONS = ["price", "product_fit", "relationship", "timing", "other"]
LOSS_REASONS = ["price", "competitor", "no_budget", "no_decision", "timing", "product_gap", "other"]
# What the record has: more than any step asks for, as a service would pass it.
PRESENT = frozenset(
    {
        "name",
        "owner",
        "email",
        "phone",
        "amount",
        "currency",
        "expected_close_date",
        "decision_maker",
        "signer",
        "contract_value",
        "po_number",
        "signed_date",
    }
)


def build() -> tuple[Workflow, list[WorkflowStep], list[WorkflowTransition], dict[uuid.UUID, str]]:
    tenant = uuid.uuid4()
    workflow = Workflow(
        tenant_id=tenant,
        id=uuid.uuid4(),
        family_id=uuid.uuid4(),
        revision=1,
        name="Enterprise pipeline",
        entity_type=EntityType.DEAL.value,
        published=True,
        version=1,
    )
    categories: dict[uuid.UUID, str] = {}
    steps: list[WorkflowStep] = []

    def step(key: str, name: str, category: StatusCategory, required: tuple[str, ...]) -> None:
        status_id = uuid.uuid4()
        categories[status_id] = category.value
        metadata: dict[str, Any] = {"sla_days": 14, "required_fields": list(required)}
        steps.append(
            WorkflowStep(
                tenant_id=tenant,
                id=uuid.uuid4(),
                workflow_id=workflow.id,
                status_id=status_id,
                key=key,
                name=name,
                position=len(steps),
                is_initial=not steps,
                is_final=category is not StatusCategory.OPEN,
                probability=None,
                metadata_=metadata,
            )
        )

    for key, name, required in OPEN_STEPS:
        step(key, name, StatusCategory.OPEN, required)
    step("won", "Won", StatusCategory.WON, ("signed_date",))
    step("lost", "Lost", StatusCategory.LOST, ())
    transitions: list[WorkflowTransition] = []

    def move(a: WorkflowStep, b: WorkflowStep, conditions: dict[str, Any]) -> None:
        transitions.append(
            WorkflowTransition(
                tenant_id=tenant,
                id=uuid.uuid4(),
                workflow_id=workflow.id,
                from_step_id=a.id,
                to_step_id=b.id,
                label=f"{a.name} → {b.name}",
                conditions=conditions,
                effects=[{"name": "log_activity", "config": {}}],
            )
        )

    opened, won, lost = steps[:-2], steps[-2], steps[-1]
    for a, b in itertools.pairwise(opened):
        move(a, b, {"required_fields": ["owner"]} if b.key == "legal" else {})
        move(b, a, {})
    for a in opened:
        move(a, lost, {"reasons": LOSS_REASONS})
    move(opened[-1], won, {"reasons": WIN_REASONS, "roles": ["admin", "manager", "sales"]})
    move(lost, opened[0], {"roles": ["admin", "manager"]})
    return workflow, steps, transitions, categories


def per_call_us(call: Callable[[], object], calls: int, batch: int = BATCH) -> float:
    """Median over batches of one round, in µs per call."""
    batches = []
    for _ in range(max(1, calls // batch)):
        started = time.perf_counter_ns()
        for _ in range(batch):
            call()
        batches.append((time.perf_counter_ns() - started) / batch / 1000)
    return median(batches)


def cases(wf: CompiledWorkflow) -> list[tuple[str, Callable[[], object], bool]]:
    """(metric, call, under the budget?)"""
    key = wf.step_by_key
    discovery, demo, review, proposal = (
        key(k).id for k in ("discovery", "demo", "review", "proposal")
    )
    commit, won, lost = (key(k).id for k in ("commit", "won", "lost"))
    check = wf.check

    def plain() -> object:
        return check(discovery, demo, role="sales")

    def fields() -> object:
        return check(demo, proposal, role="sales", present_fields=PRESENT)

    def reason() -> object:
        return check(
            commit, won, role="sales", reason="other", notes="Budget freed", present_fields=PRESENT
        )

    def refused() -> object:
        try:
            return check(demo, proposal, role="sales", reason="x", present_fields=("name",))
        except TransitionRejected as rejected:
            return rejected

    def options() -> object:
        return wf.options(review, "sales")

    def options_restricted() -> object:
        return wf.options(lost, "sales")

    return [
        ("check: valid move, no conditions", plain, True),
        ("check: valid move, 2 required fields", fields, True),
        ("check: valid move, role + reason other + notes + field", reason, True),
        ("check: refused, 2 missing fields (raise + catch)", refused, True),
        ("options(step, role)", options, False),
        ("options(step, role), role-filtered", options_restricted, False),
    ]


def run(rounds: int = 5, calls: int = 40_000) -> list[Result]:
    rows = build()
    print(f"\n[in process] 12-step workflow, {rounds} rounds x {calls} calls per case")
    compile_us = median(
        [per_call_us(lambda: compile_workflow(*rows), 500, batch=50) for _ in range(rounds)]
    )
    wf = compile_workflow(*rows)
    cache = WorkflowCache()
    cache_key = (uuid.uuid4(), wf.workflow_id, 1)
    cache.put(cache_key, wf)
    timed = [*cases(wf), ("WorkflowCache.get (hit)", lambda: cache.get(cache_key), False)]

    # Each case does what its name says (a refusal is returned, not raised, by the case).
    for metric, call, _ in timed[:3]:
        assert isinstance(call(), Move), metric
    assert isinstance(timed[3][1](), TransitionRejected)
    for _, call, _ in timed:  # warm up
        per_call_us(call, BATCH * 5)
    watch = CpuWatch(lambda: [])
    watch.start()
    figures: dict[str, list[float]] = {metric: [] for metric, _, _ in timed}
    for number in range(rounds):
        for metric, call, _ in timed:
            figures[metric].append(per_call_us(call, calls))
        summary = ", ".join(f"{figures[m][-1]:.3f}" for m, _, _ in timed)
        print(f"  round {number + 1}: µs/call {summary}")
    note = f"other load: {watch.stop():.0%} of all CPUs"

    results = [Result(BENCH, "compile_workflow (cache miss, CPU only)", round(compile_us, 3), "µs")]
    for metric, _, budgeted in timed:
        value = round(median(figures[metric]), 3)
        if budgeted:
            results.append(
                Result(BENCH, metric, value, "µs", f"≤ {BUDGET_US:g} µs", value <= BUDGET_US, note)
            )
        else:
            results.append(Result(BENCH, metric, value, "µs"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (median)")
    parser.add_argument("-n", "--calls", type=int, default=40_000, help="calls per case per round")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    print_machine()
    results = run(args.rounds, args.calls)
    print_table(results, "Workflow validation (in process)")
    write_json(args.json, results, {})


if __name__ == "__main__":
    main()
