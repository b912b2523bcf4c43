"""Queries: the same records as REST, Relay connections, other tenants' ids are null
with NOT_FOUND, credentials as the API's."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from baton.app import create_app
from baton.config import Environment, Settings
from baton.db.engine import Database
from baton.graphql import schema as graphql_schema
from tests.conftest import make_settings
from tests.deals.conftest import Org
from tests.factories import register_tenant
from tests.graphql.support import codes, gql


def instant(written: str) -> datetime:
    return datetime.fromisoformat(written.replace("Z", "+00:00"))


BOARD = """
query Board($first: Int!, $after: String) {
  deals(first: $first, after: $after, view: PIPELINE) {
    edges { cursor node { id name amount version step { id key name }
      account { id name } owner { id fullName } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_me_and_the_workflows(client: httpx.AsyncClient, org: Org) -> None:
    body = await gql(
        client,
        org.sales,
        "{ me { id email role tenant { id } } workflows { id name entityType steps { key } } }",
    )
    assert "errors" not in body, body
    me = body["data"]["me"]
    assert (me["id"], me["role"], me["tenant"]["id"]) == (
        str(org.sales.user_id),
        "sales",
        str(org.sales.tenant_id),
    )
    pipeline = next(w for w in body["data"]["workflows"] if w["name"] == "Sales pipeline")
    assert [s["key"] for s in pipeline["steps"]][:3] == ["prospecting", "discovery", "proposal"]


async def test_a_workflow_with_its_allowed_transitions(client: httpx.AsyncClient, org: Org) -> None:
    listed = await gql(client, org.sales, "{ workflows { id name } }")
    flow = next(w for w in listed["data"]["workflows"] if w["name"] == "Sales pipeline")
    body = await gql(
        client,
        org.sales,
        """query($id: UUID!, $from: UUID!) { workflow(id: $id) { id steps { id key name }
           transitions { fromStepId toStepId label }
           allowedTransitions(fromStepId: $from) { toStepKey requiredFields } } }""",
        {"id": flow["id"], "from": str(org.steps["discovery"])},
    )
    assert "errors" not in body, body
    allowed = {o["toStepKey"]: o for o in body["data"]["workflow"]["allowedTransitions"]}
    assert {"proposal", "prospecting", "lost"} <= set(allowed)
    assert set(allowed["proposal"]["requiredFields"]) >= {"amount", "expected_close_date"}
    rest = await client.get(f"/api/v1/workflow/workflows/{flow['id']}", headers=org.sales.headers)
    assert [s["id"] for s in body["data"]["workflow"]["steps"]] == [
        s["id"] for s in rest.json()["steps"]
    ]


async def test_deals_page_like_rest(client: httpx.AsyncClient, org: Org) -> None:
    made = [await org.create(client, amount="12.50") for _ in range(3)]
    first = await gql(client, org.sales, BOARD, {"first": 2})
    assert "errors" not in first, first
    page = first["data"]["deals"]
    assert [e["node"]["id"] for e in page["edges"]] == [d["id"] for d in made[:2]]
    assert page["pageInfo"]["hasNextPage"] is True
    node = page["edges"][0]["node"]
    assert node["amount"] == "12.50"
    assert node["step"]["key"] == "prospecting"
    assert node["account"]["id"] == str(org.account_id)
    assert node["owner"] == {"id": str(org.sales.user_id), "fullName": "Sales Person"}
    rest = await client.get(
        "/api/v1/deals", headers=org.sales.headers, params={"view": "pipeline", "limit": 2}
    )
    assert page["pageInfo"]["endCursor"] == rest.json()["next_cursor"]
    second = await gql(
        client, org.sales, BOARD, {"first": 2, "after": page["pageInfo"]["endCursor"]}
    )
    rest_page = second["data"]["deals"]
    assert [e["node"]["id"] for e in rest_page["edges"]] == [made[2]["id"]]
    assert rest_page["pageInfo"] == {"hasNextPage": False, "endCursor": None}


async def test_a_cards_account_is_the_rest_account(client: httpx.AsyncClient, org: Org) -> None:
    """The accounts loader (plain rows on the driver) answers what REST answers."""
    url = f"/api/v1/accounts/{org.account_id}"
    before = (await client.get(url, headers=org.admin.headers)).json()
    tagged = await client.patch(
        url,
        headers=org.admin.headers,
        json={"tags": ["vip", "north"], "domain": "acme.example", "version": before["version"]},
    )
    assert tagged.status_code == 200, tagged.text
    await org.create(client)
    body = await gql(
        client,
        org.sales,
        """{ deals(first: 1) { edges { node { account { id name domain taxId address
             industry ownerId tags createdAt updatedAt version status } } } } }""",
    )
    assert "errors" not in body, body
    account = body["data"]["deals"]["edges"][0]["node"]["account"]
    account["createdAt"] = instant(account["createdAt"])
    account["updatedAt"] = instant(account["updatedAt"])
    rest = (
        await client.get(f"/api/v1/accounts/{org.account_id}", headers=org.sales.headers)
    ).json()
    assert account == {
        "id": rest["id"],
        "name": rest["name"],
        "domain": "acme.example",
        "taxId": rest["tax_id"],
        "address": rest["address"],
        "industry": rest["industry"],
        "ownerId": rest["owner_id"],
        "tags": ["vip", "north"],
        # GraphQL's DateTime writes the offset as +00:00 where REST writes Z.
        "createdAt": instant(rest["created_at"]),
        "updatedAt": instant(rest["updated_at"]),
        "version": rest["version"],
        "status": rest["status"],
    }


async def test_another_tenants_ids_are_null_and_not_found(
    client: httpx.AsyncClient, org: Org
) -> None:
    deal = await org.create(client)
    stranger = await register_tenant(client)
    body = await gql(
        client,
        stranger,
        "query($id: UUID!) { deal(id: $id) { id name } account(id: $a) { id } }".replace(
            "$id: UUID!", "$id: UUID!, $a: UUID!"
        ),
        {"id": deal["id"], "a": str(org.account_id)},
    )
    assert body["data"] == {"deal": None, "account": None}
    assert codes(body) == ["NOT_FOUND", "NOT_FOUND"]
    assert "name" not in str(body["errors"])


async def test_leads_accounts_and_the_rest_answer(client: httpx.AsyncClient, org: Org) -> None:
    await org.create(client)
    body = await gql(
        client,
        org.admin,
        """{ leads(view: INBOX) { edges { node { id companyName } } }
             accounts(q: "acme") { edges { node { id name owner { fullName } } } }
             contacts { edges { node { id } } } activities(view: PLANNER) { edges { node { id } } }
             workItems { edges { node { id } } } statuses { id name category }
             projectTypes { id name defaultWorkflowId } }""",
    )
    assert "errors" not in body, body
    assert body["data"]["accounts"]["edges"][0]["node"]["id"] == str(org.account_id)
    assert {s["category"] for s in body["data"]["statuses"]} >= {"open", "won", "lost"}


async def test_a_role_is_refused_a_queue_as_in_rest(client: httpx.AsyncClient, org: Org) -> None:
    body = await gql(client, org.sales, "{ leads(view: INBOX) { edges { node { id } } } }")
    rest = await client.get("/api/v1/leads", headers=org.sales.headers, params={"view": "inbox"})
    assert rest.status_code == 403
    assert body["data"] is None
    assert codes(body) == ["FORBIDDEN"]


async def test_credentials_are_the_apis(client: httpx.AsyncClient, org: Org) -> None:
    missing = await client.post("/graphql", json={"query": "{ me { id } }"})
    assert missing.status_code == 401
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": "Bearer nope"}
    )
    assert bad.status_code == 401
    key = await client.post("/api/v1/api-keys", headers=org.admin.headers, json={"name": "gql"})
    assert key.status_code == 201, key.text
    secret = key.json()["key"]
    body = await client.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert body.json()["data"]["me"]["id"] == str(org.admin.user_id)


async def test_depth_and_cost_are_limited(
    client: httpx.AsyncClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = "{ deals { edges { node { contact { account { owner { id } } } } } } }"
    assert "errors" not in await gql(client, org.sales, deep)
    # The schema has no cycle: its deepest query is 6 levels below the root (introspection, which is
    # deeper, is not counted). A lower limit shows the refusal a cycle would meet.
    monkeypatch.setattr(graphql_schema, "DOCUMENT_RULES", graphql_schema.document_rules(5))
    # (another text than `deep`: a document is validated once, then cached)
    refused = await gql(client, org.sales, deep.replace("{ deals", "{ board: deals"), status=400)
    assert codes(refused) == ["DEPTH_LIMIT"]
    assert "exceeds maximum operation depth of 5" in refused["errors"][0]["message"]
    monkeypatch.undo()
    assert graphql_schema.MAX_DEPTH == 10
    costly = (
        "{ "
        + " ".join(
            f"d{n}: deals(first: 200) {{ edges {{ node {{ id name amount version }} }} }}"
            for n in range(10)
        )
        + " }"
    )
    refused = await gql(client, org.sales, costly, status=400)
    assert codes(refused) == ["COST_LIMIT"]
    assert "over the limit of 10000" in refused["errors"][0]["message"]
    assert "data" not in refused
    board = BOARD.replace("$first: Int!", "$first: Int! = 200")
    assert "errors" not in await gql(client, org.sales, board)


async def test_graphiql_outside_production(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql")
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert "unpkg.com" in page.headers["content-security-policy"]


async def test_no_graphiql_in_production(settings: Settings, database: Database) -> None:
    production = create_app(make_settings(settings, env=Environment.PROD), database)
    transport = httpx.ASGITransport(app=production)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        page = await http.get("/graphql")
        assert page.status_code == 404
        assert "graphiql" not in page.text.lower()
        assert "unsafe-inline" not in page.headers["content-security-policy"]


async def test_deals_take_the_rest_lists_filters_and_sorts(
    client: httpx.AsyncClient, org: Org
) -> None:
    for amount in ("300.00", "100.00", "200.00", "5.00"):
        await org.create(client, amount=amount)
    query = """query($filter: DealFilter, $after: String) {
      deals(first: 2, after: $after, filter: $filter) {
        edges { cursor node { id amount } } pageInfo { hasNextPage endCursor } } }"""
    wanted = {"amountMin": "50", "sort": "-amount"}
    shown: list[str] = []
    after = None
    while True:
        body = await gql(client, org.sales, query, {"filter": wanted, "after": after})
        assert "errors" not in body, body
        page = body["data"]["deals"]
        shown += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        after = page["pageInfo"]["endCursor"]
    rest = await client.get(
        "/api/v1/deals",
        headers=org.sales.headers,
        params={"amount_min": "50", "sort": "-amount", "limit": 200},
    )
    assert shown == [deal["id"] for deal in rest.json()["items"]]
    assert len(shown) == 3
    refused = await gql(
        client, org.sales, query, {"filter": {"amountMin": "50", "amountMax": "10"}}
    )
    assert codes(refused) == ["VALIDATION"]
    assert refused["errors"][0]["extensions"]["fieldErrors"][0]["field"] == "amount_max"
    unknown = await gql(client, org.sales, query, {"filter": {"sort": "colour"}})
    assert codes(unknown) == ["VALIDATION"]
