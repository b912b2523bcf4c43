"""updateProjectType and deleteProjectType: the REST twins' rules, as GraphQL errors."""

from __future__ import annotations

from typing import Any

import httpx

from tests.deals.conftest import Org
from tests.factories import register_tenant, unique
from tests.graphql.support import codes, gql

UPDATE = """
mutation($input: UpdateProjectTypeInput!) {
  updateProjectType(input: $input) {
    projectType { id name icon entityType defaultWorkflowId version }
  }
}
"""
DELETE = """
mutation($input: DeleteInput!) { deleteProjectType(input: $input) { deletedId } }
"""
TYPES = "{ projectTypes { id name icon defaultWorkflowId version } }"


async def _types(client: httpx.AsyncClient, org: Org) -> dict[str, dict[str, Any]]:
    body = await gql(client, org.admin, TYPES)
    return {t["name"]: t for t in body["data"]["projectTypes"]}


async def _new_type(client: httpx.AsyncClient, org: Org) -> dict[str, Any]:
    ticket = (await _types(client, org))["Support Ticket"]
    body = await gql(
        client,
        org.admin,
        """mutation($input: CreateProjectTypeInput!) { createProjectType(input: $input) {
            projectType { id name icon defaultWorkflowId version } } }""",
        {"input": {"name": unique("Bug"), "defaultWorkflowId": ticket["defaultWorkflowId"]}},
    )
    assert "errors" not in body, body
    made: dict[str, Any] = body["data"]["createProjectType"]["projectType"]
    return made


async def test_update_and_delete_a_project_type(client: httpx.AsyncClient, org: Org) -> None:
    bug = await _new_type(client, org)
    updated = await gql(
        client,
        org.admin,
        UPDATE,
        {"input": {"id": bug["id"], "version": bug["version"], "name": "Defect", "icon": "bug"}},
    )
    assert "errors" not in updated, updated
    answer = updated["data"]["updateProjectType"]["projectType"]
    assert (answer["name"], answer["icon"], answer["entityType"]) == ("Defect", "bug", "work_item")
    assert answer["version"] == bug["version"] + 1
    rest = await client.get("/api/v1/workflow/project-types", headers=org.admin.headers)
    assert {"Defect"} <= {t["name"] for t in rest.json()}
    deleted = await gql(
        client, org.admin, DELETE, {"input": {"id": bug["id"], "version": answer["version"]}}
    )
    assert deleted["data"]["deleteProjectType"] == {"deletedId": bug["id"]}
    assert "Defect" not in await _types(client, org)


async def test_a_stale_version_is_stale_version_and_changes_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    bug = await _new_type(client, org)
    first = {"id": bug["id"], "version": bug["version"], "name": "Defect"}
    assert "errors" not in await gql(client, org.admin, UPDATE, {"input": first})
    stale = await gql(client, org.admin, UPDATE, {"input": {**first, "name": "Issue"}})
    assert stale["data"] == {"updateProjectType": None}
    assert codes(stale) == ["STALE_VERSION"]
    stale_delete = await gql(
        client, org.admin, DELETE, {"input": {"id": bug["id"], "version": bug["version"]}}
    )
    assert codes(stale_delete) == ["STALE_VERSION"]
    assert (await _types(client, org))["Defect"]["version"] == bug["version"] + 1


async def test_a_type_in_use_is_not_deleted(client: httpx.AsyncClient, org: Org) -> None:
    bug = await _new_type(client, org)
    made = await client.post(
        "/api/v1/work-items",
        headers=org.admin.headers,
        json={"project_type_id": bug["id"], "name": "Crash"},
    )
    assert made.status_code == 201, made.text
    refused = await gql(client, org.admin, DELETE, {"input": {"id": bug["id"]}})
    assert refused["data"] == {"deleteProjectType": None}
    assert codes(refused) == ["CONFLICT"]
    assert "1 work item(s)" in refused["errors"][0]["message"]
    assert bug["name"] in await _types(client, org)


async def test_a_role_outside_admins_is_forbidden(client: httpx.AsyncClient, org: Org) -> None:
    bug = await _new_type(client, org)
    update = {"input": {"id": bug["id"], "version": bug["version"], "name": "Mine"}}
    refused = await gql(client, org.sales, UPDATE, update)
    assert (refused["data"], codes(refused)) == ({"updateProjectType": None}, ["FORBIDDEN"])
    refused = await gql(client, org.sales, DELETE, {"input": {"id": bug["id"]}})
    assert (refused["data"], codes(refused)) == ({"deleteProjectType": None}, ["FORBIDDEN"])
    assert (await _types(client, org))[bug["name"]] == bug


async def test_another_organizations_type_is_not_found(client: httpx.AsyncClient, org: Org) -> None:
    bug = await _new_type(client, org)
    stranger = await register_tenant(client)
    update = {"input": {"id": bug["id"], "version": bug["version"], "name": "Mine"}}
    answer = await gql(client, stranger, UPDATE, update)
    assert (answer["data"], codes(answer)) == ({"updateProjectType": None}, ["NOT_FOUND"])
    answer = await gql(client, stranger, DELETE, {"input": {"id": bug["id"]}})
    assert (answer["data"], codes(answer)) == ({"deleteProjectType": None}, ["NOT_FOUND"])
    assert (await _types(client, org))[bug["name"]] == bug
