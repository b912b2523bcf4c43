"""Mutations: the REST twin's rules, one `input`, a payload; domain errors with
`extensions.code`; an operation with an error writes nothing; Idempotency-Key."""

from __future__ import annotations

from typing import Any

import httpx

from tests.deals.conftest import NEXT_WEEK, Org
from tests.factories import add_member, register_tenant
from tests.graphql.support import codes, gql

MOVE = """
mutation Move($input: MoveDealInput!) {
  moveDeal(input: $input) { deal { id version step { key } amount } fromStep { key }
    toStep { key } dryRun }
}
"""


def move_input(org: Org, deal: dict[str, Any], to: str, **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "id": deal["id"],
            "toStepId": str(org.steps[to]),
            "version": deal["version"],
            **extra,
        }
    }


async def test_move_a_deal(client: httpx.AsyncClient, org: Org) -> None:
    deal = await org.create(client)
    body = await gql(client, org.sales, MOVE, move_input(org, deal, "discovery"))
    assert "errors" not in body, body
    moved = body["data"]["moveDeal"]
    assert (moved["fromStep"]["key"], moved["toStep"]["key"]) == ("prospecting", "discovery")
    assert moved["deal"]["version"] == deal["version"] + 1
    assert (await org.get(client, deal))["step"]["key"] == "discovery"


async def test_a_dry_run_and_validate_transition_change_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    deal = await org.create(client)
    dry = await gql(client, org.sales, MOVE, move_input(org, deal, "discovery", dryRun=True))
    assert dry["data"]["moveDeal"]["dryRun"] is True
    check = """mutation($input: ValidateTransitionInput!) { validateTransition(input: $input) {
        valid message fieldErrors { field message } } }"""
    jump = move_input(org, deal, "negotiation")
    jump["input"]["record"] = "DEAL"
    refused = await gql(client, org.sales, check, jump)
    assert refused["data"]["validateTransition"]["valid"] is False
    fine = move_input(org, deal, "discovery")
    fine["input"]["record"] = "DEAL"
    ok = await gql(client, org.sales, check, fine)
    assert ok["data"]["validateTransition"] == {"valid": True, "message": None, "fieldErrors": []}
    assert (await org.get(client, deal))["step"]["key"] == "prospecting"


async def test_domain_errors_carry_their_code(client: httpx.AsyncClient, org: Org) -> None:
    deal = await org.walk(client, await org.create(client), "discovery")
    needs = await gql(client, org.sales, MOVE, move_input(org, deal, "proposal"))
    assert needs["data"] == {"moveDeal": None}
    assert codes(needs) == ["TRANSITION_REJECTED"]
    fields = {e["field"] for e in needs["errors"][0]["extensions"]["fieldErrors"]}
    assert {"fields.amount", "fields.expected_close_date"} <= fields
    stale = await gql(
        client, org.sales, MOVE, move_input(org, {**deal, "version": 1}, "prospecting")
    )
    assert codes(stale) == ["STALE_VERSION"]
    bad = await gql(
        client, org.sales, MOVE, move_input(org, deal, "prospecting", reason="x" * 5000)
    )
    assert codes(bad) == ["VALIDATION"]
    viewer = await add_member(client, org.admin, "viewer")
    refused = await gql(client, viewer, MOVE, move_input(org, deal, "prospecting"))
    assert codes(refused) == ["FORBIDDEN"]
    stranger = await register_tenant(client)
    hidden = await gql(client, stranger, MOVE, move_input(org, deal, "prospecting"))
    assert (hidden["data"], codes(hidden)) == ({"moveDeal": None}, ["NOT_FOUND"])
    with_fields = move_input(
        org, deal, "proposal", fields={"amount": "900.00", "expected_close_date": NEXT_WEEK}
    )
    done = await gql(client, org.sales, MOVE, with_fields)
    assert done["data"]["moveDeal"]["deal"]["amount"] == "900.00", done


async def test_an_operation_with_an_error_writes_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    first, second = await org.create(client), await org.create(client)
    both = """mutation($a: MoveDealInput!, $b: MoveDealInput!) {
        a: moveDeal(input: $a) { deal { id } } b: moveDeal(input: $b) { deal { id } } }"""
    body = await gql(
        client,
        org.sales,
        both,
        {
            "a": move_input(org, first, "discovery")["input"],
            "b": move_input(org, second, "negotiation")["input"],
        },
    )
    assert body["data"]["a"] is not None
    assert body["data"]["b"] is None
    assert codes(body) == ["TRANSITION_REJECTED"]
    # The first move was answered, but the operation failed as a whole: rolled back.
    assert (await org.get(client, first))["step"]["key"] == "prospecting"


async def test_close_a_deal(client: httpx.AsyncClient, org: Org) -> None:
    deal = await org.create(client)
    close = """mutation($input: CloseDealInput!) { closeDeal(input: $input) {
        deal { outcome lossReason } toStep { key } } }"""
    body = await gql(
        client,
        org.sales,
        close,
        {
            "input": {
                "id": deal["id"],
                "outcome": "LOST",
                "reason": "price",
                "version": deal["version"],
            }
        },
    )
    assert "errors" not in body, body
    assert body["data"]["closeDeal"]["deal"] == {"outcome": "lost", "lossReason": "price"}


async def test_idempotency_key_replays_the_first_answer(
    client: httpx.AsyncClient, org: Org
) -> None:
    deal = await org.create(client)
    headers = {"Idempotency-Key": "gql-move-1"}
    first = await client.post(
        "/graphql",
        headers={**org.sales.headers, **headers},
        json={"query": MOVE, "variables": move_input(org, deal, "discovery")},
    )
    again = await client.post(
        "/graphql",
        headers={**org.sales.headers, **headers},
        json={"query": MOVE, "variables": move_input(org, deal, "discovery")},
    )
    assert first.status_code == again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.content == first.content
    assert (await org.get(client, deal))["version"] == deal["version"] + 1
    other = await client.post(
        "/graphql",
        headers={**org.sales.headers, **headers},
        json={"query": MOVE, "variables": move_input(org, deal, "proposal")},
    )
    assert other.status_code == 422


async def test_workflow_admin_and_work_items(client: httpx.AsyncClient, org: Org) -> None:
    admin = org.admin
    status = await gql(
        client,
        admin,
        'mutation { createStatus(input: {name: "Triage", category: OPEN}) { status { id name version } } }',
    )
    status_id = status["data"]["createStatus"]["status"]["id"]
    flow = await gql(
        client,
        admin,
        'mutation { createWorkflow(input: {name: "Support", entityType: WORK_ITEM}) { workflow { id } } }',
    )
    assert "errors" not in flow, flow
    workflow_id = flow["data"]["createWorkflow"]["workflow"]["id"]
    steps = []
    for key, initial in (("open", True), ("done", False)):
        if not initial:
            second = await gql(
                client,
                admin,
                'mutation { createStatus(input: {name: "Solved", category: WON}) { status { id } } }',
            )
            status_id = second["data"]["createStatus"]["status"]["id"]
        made = await gql(
            client,
            admin,
            """mutation($input: CreateStepInput!) { createStep(input: $input) {
                workflow { id steps { id key } } } }""",
            {
                "input": {
                    "workflowId": workflow_id,
                    "key": key,
                    "name": key.title(),
                    "statusId": status_id,
                    "isInitial": initial,
                    "isFinal": not initial,
                }
            },
        )
        assert "errors" not in made, made
        steps = made["data"]["createStep"]["workflow"]["steps"]
    edge = await gql(
        client,
        admin,
        """mutation($input: CreateTransitionInput!) { createTransition(input: $input) {
            workflow { transitions { id label } } } }""",
        {
            "input": {
                "workflowId": workflow_id,
                "fromStepId": steps[0]["id"],
                "toStepId": steps[1]["id"],
                "label": "Close",
            }
        },
    )
    assert "errors" not in edge, edge
    published = await gql(
        client,
        admin,
        "mutation($id: UUID!) { publishWorkflow(input: {id: $id}) { workflow { published } } }",
        {"id": workflow_id},
    )
    assert published["data"]["publishWorkflow"]["workflow"]["published"] is True
    kind = await gql(
        client,
        admin,
        """mutation($id: UUID!) { createProjectType(input: {name: "Ticket", defaultWorkflowId: $id}) {
            projectType { id } } }""",
        {"id": workflow_id},
    )
    assert "errors" not in kind, kind
    item = await gql(
        client,
        admin,
        """mutation($id: UUID!) { createWorkItem(input: {projectTypeId: $id, name: "Printer"}) {
            workItem { id version step { key } } } }""",
        {"id": kind["data"]["createProjectType"]["projectType"]["id"]},
    )
    work_item = item["data"]["createWorkItem"]["workItem"]
    assert work_item["step"]["key"] == "open"
    moved = await gql(
        client,
        admin,
        """mutation($input: MoveWorkItemInput!) { moveWorkItem(input: $input) {
            workItem { step { key } } } }""",
        {
            "input": {
                "id": work_item["id"],
                "toStepId": steps[1]["id"],
                "version": work_item["version"],
            }
        },
    )
    assert moved["data"]["moveWorkItem"]["workItem"]["step"]["key"] == "done", moved
    sales = await gql(
        client,
        org.sales,
        'mutation { createStatus(input: {name: "Nope", category: OPEN}) { status { id } } }',
    )
    rest = await client.post(
        "/api/v1/workflow/statuses",
        headers=org.sales.headers,
        json={"name": "Nope", "category": "open"},
    )
    assert rest.status_code == 403
    assert codes(sales) == ["FORBIDDEN"]


async def test_delete_a_draft_workflow(client: httpx.AsyncClient, org: Org) -> None:
    made = await gql(
        client,
        org.admin,
        'mutation { createWorkflow(input: {name: "Scratch", entityType: WORK_ITEM}) '
        "{ workflow { id rowVersion } } }",
    )
    assert "errors" not in made, made
    draft = made["data"]["createWorkflow"]["workflow"]
    delete = "mutation($input: DeleteInput!) { deleteWorkflow(input: $input) { deletedId } }"
    stale = await gql(
        client,
        org.admin,
        delete,
        {"input": {"id": draft["id"], "version": draft["rowVersion"] + 1}},
    )
    assert codes(stale) == ["STALE_VERSION"]
    pipeline = (await org.create(client))["workflow_id"]
    published = await gql(client, org.admin, delete, {"input": {"id": pipeline}})
    assert (published["data"], codes(published)) == ({"deleteWorkflow": None}, ["CONFLICT"])
    gone = await gql(client, org.admin, delete, {"input": {"id": draft["id"]}})
    assert gone["data"] == {"deleteWorkflow": {"deletedId": draft["id"]}}, gone
    read = await gql(
        client, org.admin, "query($id: UUID!) { workflow(id: $id) { id } }", {"id": draft["id"]}
    )
    assert (read["data"], codes(read)) == ({"workflow": None}, ["NOT_FOUND"])
