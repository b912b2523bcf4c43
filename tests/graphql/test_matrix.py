"""Every mutation, read from the schema, as each role and as another organization.

Inputs are built from each mutation's input type: ids of records that do not exist
(as each role) or that belong to another organization. Nothing may fail on our side
(no INTERNAL), nothing may be answered with data, and another organization's id is
NOT_FOUND (or a refusal of the input), never its data — the REST twins' rules.
"""

from __future__ import annotations

import uuid
from typing import Any

import graphql
import httpx

from baton.graphql.schema import schema
from tests.deals.conftest import Org
from tests.factories import add_member, register_tenant
from tests.graphql.support import codes, gql

ROLES = ("admin", "manager", "marketing", "sales", "viewer")
# Creations that name no existing record: they act in the caller's own organization.
CREATIONS = frozenset({"createStatus", "createWorkflow"})


def _value(kind: graphql.GraphQLInputType, record: uuid.UUID) -> Any:
    kind = graphql.get_nullable_type(kind)
    if isinstance(kind, graphql.GraphQLList):
        return [_value(kind.of_type, record)]
    if isinstance(kind, graphql.GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, graphql.GraphQLInputObjectType):
        return _input(kind, record)
    return {
        "UUID": str(record),
        "String": "matrix",
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "JSON": {},
    }[kind.name]


def _input(kind: graphql.GraphQLInputObjectType, record: uuid.UUID) -> dict[str, Any]:
    return {
        name: _value(field.type, record)
        for name, field in kind.fields.items()
        if graphql.is_non_null_type(field.type)
    }


def _calls(records: dict[str, uuid.UUID]) -> list[tuple[str, str, dict[str, Any]]]:
    mutation = schema._schema.mutation_type
    assert mutation is not None
    found = []
    for name, field in mutation.fields.items():
        kind = graphql.get_named_type(field.args["input"].type)
        assert isinstance(kind, graphql.GraphQLInputObjectType)
        record = records.get(name, records["default"])
        query = f"mutation($input: {kind.name}!) {{ {name}(input: $input) {{ __typename }} }}"
        found.append((name, query, {"input": _input(kind, record)}))
    return found


async def test_every_mutation_as_every_role_with_unknown_ids(
    client: httpx.AsyncClient, org: Org
) -> None:
    members = {"admin": org.admin, "sales": org.sales}
    for role in ("manager", "marketing", "viewer"):
        members[role] = await add_member(client, org.admin, role)
    calls = _calls({"default": uuid.uuid4()})
    assert len(calls) >= 20
    for role in ROLES:
        for name, query, variables in calls:
            body = await gql(client, members[role], query, variables)
            found = codes(body)
            if name in CREATIONS and not found:
                assert role == "admin", (role, name, body)
                continue
            assert body["data"] == {name: None}, (role, name, body)
            assert found, (role, name, body)
            assert "INTERNAL" not in found, (role, name, body)
            if role == "viewer":
                assert found == ["FORBIDDEN"] or found == ["NOT_FOUND"], (name, body)


async def test_every_mutation_on_another_organizations_records(
    client: httpx.AsyncClient, org: Org
) -> None:
    deal = await org.create(client)
    lead = await client.post(
        "/api/v1/leads", headers=org.admin.headers, json={"company_name": "Matrix GmbH"}
    )
    assert lead.status_code == 201, lead.text
    read = await gql(
        client,
        org.admin,
        "{ statuses { id } workflows { id name transitions { id } } projectTypes { id } }",
    )
    pipeline = next(w for w in read["data"]["workflows"] if w["name"] == "Sales pipeline")
    workflow = uuid.UUID(pipeline["id"])
    records = {
        "default": uuid.UUID(deal["id"]),
        "triageLead": uuid.UUID(lead.json()["id"]),
        "claimLead": uuid.UUID(lead.json()["id"]),
        "updateStatus": uuid.UUID(read["data"]["statuses"][0]["id"]),
        "deleteStatus": uuid.UUID(read["data"]["statuses"][0]["id"]),
        "updateWorkflow": workflow,
        "publishWorkflow": workflow,
        "deleteWorkflow": workflow,
        "createStep": workflow,
        "createTransition": workflow,
        "updateStepOrder": workflow,
        "createProjectType": workflow,
        "updateStep": org.steps["discovery"],
        "deleteStep": org.steps["discovery"],
        "updateTransition": uuid.UUID(pipeline["transitions"][0]["id"]),
        "deleteTransition": uuid.UUID(pipeline["transitions"][0]["id"]),
        "createWorkItem": uuid.UUID(read["data"]["projectTypes"][0]["id"]),
        "updateProjectType": uuid.UUID(read["data"]["projectTypes"][0]["id"]),
        "deleteProjectType": uuid.UUID(read["data"]["projectTypes"][0]["id"]),
    }
    stranger = await register_tenant(client)
    for name, query, variables in _calls(records):
        if name in CREATIONS:
            continue
        body = await gql(client, stranger, query, variables)
        assert body["data"] == {name: None}, (name, body)
        assert codes(body) in (["NOT_FOUND"], ["VALIDATION"]), (name, body)
    # Nothing of the organization changed.
    after = await org.get(client, deal)
    assert after["version"] == deal["version"]
