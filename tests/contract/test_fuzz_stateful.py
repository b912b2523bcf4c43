"""Stateful fuzzing (issue 20 #10): Schemathesis chains operations along the links it
reads from the document and infers from it (a create's `id` into the paths and bodies
that name that record), so create → read → update → move → delete sequences run with
real records, every check on every answer, as an admin and as a salesperson of one
organization. Random seed per run, printed with a failure (`BATON_FUZZ_SEED` replays).
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from tests.contract.conftest import DEFERRED, SEED, Callers
from tests.contract.test_fuzz import DOCUMENT, ENDS_SESSION, POSITIVE_STATUSES

STEPS = 12
SEQUENCES = 6

stateful = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=SchemathesisConfig.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}}}
    ),
)
stateful.app = DEFERRED
# The operations that would end the caller's session (see test_fuzz's docstring).
stateful = stateful.exclude(
    func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in ENDS_SESSION
)


@pytest.mark.parametrize("role", ["admin", "sales"])
def test_chains_of_linked_operations(role: str, callers: Callers, contract_app: Any) -> None:
    headers = callers.of(role)
    machine = stateful.as_state_machine()

    class AsCaller(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

    try:
        # The seed on the machine: Hypothesis reads it from the class it runs.
        hypothesis.seed(SEED)(AsCaller).run(
            settings=hypothesis.settings(
                max_examples=SEQUENCES,
                stateful_step_count=STEPS,
                deadline=None,
                database=None,
                suppress_health_check=list(hypothesis.HealthCheck),
            )
        )
    except BaseException as failure:
        failure.add_note(f"as {role}; replay with BATON_FUZZ_SEED={SEED}")
        raise
