"""The schema is a contract: its SDL is checked in (docs/graphql.schema.graphql), so a
change to it is deliberate. Regenerate with:

    .venv/bin/python -c "from baton.graphql.schema import schema; \
open('docs/graphql.schema.graphql', 'w').write(schema.as_str().rstrip() + '\\n')"
"""

from __future__ import annotations

from pathlib import Path

from baton.graphql.schema import schema

SDL = Path(__file__).parents[2] / "docs" / "graphql.schema.graphql"


def test_the_checked_in_sdl_is_the_schema() -> None:
    assert SDL.read_text() == schema.as_str().rstrip() + "\n"


def test_the_names_clients_rely_on() -> None:
    sdl = schema.as_str()
    for name in (
        "me: Me!",
        "workflows: [Workflow!]!",
        "workflow(id: UUID!): Workflow",
        "allowedTransitions(fromStepId: UUID!): [TransitionOption!]!",
        "deals(",
        "view: DealView = null",
        "deal(id: UUID!): Deal",
        "leads(\n    view: LeadView!",
        "accounts(\n    q: String = null",
        "workItems(",
        "moveDeal(input: MoveDealInput!): MoveDealPayload",
        "closeDeal(input: CloseDealInput!)",
        "moveWorkItem(input: MoveWorkItemInput!)",
        "validateTransition(input: ValidateTransitionInput!)",
        "triageLead(input: TriageLeadInput!)",
        "claimLead(input: ClaimLeadInput!)",
        "hasNextPage: Boolean!",
        "endCursor: String",
    ):
        assert name in sdl, name
