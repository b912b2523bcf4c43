"""The OpenAPI document tells what the server answers (issue 20 points 4 to 6): one
`Problem` schema for every error, security on every operation, the headers and
parameters the server reads; and the answers themselves match it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.factories import register_tenant

PUBLIC = {
    ("/healthz", "get"),
    ("/readyz", "get"),
    ("/metrics", "get"),
    ("/api/v1/auth/register", "post"),
    ("/api/v1/auth/login", "post"),
    ("/api/v1/invitations/accept", "post"),
}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, spec)
        for path, item in document["paths"].items()
        for method, spec in item.items()
    ]


def _problem(spec: dict[str, Any], status: int) -> dict[str, Any]:
    answer: dict[str, Any] = spec["responses"][str(status)]
    assert answer["content"] == {"application/problem+json": {"schema": PROBLEM}}
    return answer


async def test_errors_are_one_problem_schema_and_never_fastapis_default(
    client: httpx.AsyncClient,
) -> None:
    document = await _document(client)
    text = str(document)
    assert "HTTPValidationError" not in text
    assert "#/components/schemas/ValidationError" not in text
    schemas = document["components"]["schemas"]
    problem = schemas["Problem"]
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "instance", "errors"}
    assert problem["properties"]["errors"]["items"] == {
        "$ref": "#/components/schemas/ProblemFieldError"
    }
    assert set(schemas["ProblemFieldError"]["properties"]) == {"field", "message"}
    for path, method, spec in _operations(document):
        for status, answer in spec["responses"].items():
            if int(status) >= 400:
                assert answer["content"] == {"application/problem+json": {"schema": PROBLEM}}, (
                    path,
                    method,
                    status,
                )


async def test_every_operation_documents_the_errors_it_can_give(
    client: httpx.AsyncClient,
) -> None:
    document = await _document(client)
    operations = _operations(document)
    assert len(operations) > 100
    for path, method, spec in operations:
        where = (path, method)
        statuses = set(spec["responses"])
        has_input = bool(spec.get("parameters")) or "requestBody" in spec
        if where not in PUBLIC:
            assert {"401", "403"} <= statuses, where
            assert "WWW-Authenticate" in _problem(spec, 401)["headers"], where
        if "{" in path:
            assert "404" in statuses, where
        if has_input:
            assert "422" in statuses, where
        if "requestBody" in spec:
            assert "413" in statuses, where
        if method in ("post", "put", "patch", "delete") and path.startswith("/api/"):
            assert "409" in statuses, where
        if path.startswith("/api/"):
            assert _problem(spec, 429)["headers"]["Retry-After"]["schema"]["type"] == "integer"
        else:
            assert "429" not in statuses, where
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert {"401", "422", "429"} <= set(login["responses"])


async def test_every_operation_says_how_it_is_authenticated(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    schemes = document["components"]["securitySchemes"]
    assert schemes["accessToken"] == {**schemes["accessToken"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "http", "scheme": "bearer"}
    public = set()
    for path, method, spec in _operations(document):
        assert "security" in spec, (path, method)
        if spec["security"] == []:
            public.add((path, method))
        else:
            assert spec["security"] == [{"accessToken": []}, {"apiKey": []}], (path, method)
    assert public == PUBLIC


async def test_the_public_operations_really_are_public_and_the_others_not(
    client: httpx.AsyncClient,
) -> None:
    """The document's `security` is read from the routes: spot-check it against answers."""
    for path in ("/healthz", "/metrics"):
        assert (await client.get(path)).status_code == 200
    for path in ("/api/v1/me", "/api/v1/deals", "/api/v1/audit", "/api/v1/cadences"):
        response = await client.get(path)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


async def test_versions_cursors_and_idempotency_keys_are_described(
    client: httpx.AsyncClient,
) -> None:
    document = await _document(client)
    paths = document["paths"]
    patch = paths["/api/v1/deals/{deal_id}"]["patch"]
    headers = {p["name"].lower(): p for p in patch["parameters"] if p["in"] == "header"}
    assert "wins" in headers["if-match"]["description"]
    assert headers["idempotency-key"]["schema"]["maxLength"] == 255
    deal_patch = document["components"]["schemas"]["DealPatch"]["properties"]
    assert "If-Match" in deal_patch["version"]["description"]
    assert deal_patch["version"]["anyOf"][0]["maximum"] == 2_147_483_647
    move = document["components"]["schemas"]["DealMoveIn"]["properties"]["version"]
    assert "stale-version" in move["description"]
    delete = paths["/api/v1/deals/{deal_id}"]["delete"]
    query = {p["name"]: p for p in delete["parameters"] if p["in"] == "query"}
    assert "If-Match" in query["version"]["description"]
    listing = {p["name"]: p for p in paths["/api/v1/deals"]["get"]["parameters"]}
    assert listing["limit"]["schema"]["maximum"] == 200
    assert listing["limit"]["schema"]["minimum"] == 1
    assert "next_cursor" in listing["cursor"]["description"]
    # Reads take no Idempotency-Key; nor do the anonymous writes.
    assert "parameters" not in paths["/api/v1/me"]["get"]
    register = paths["/api/v1/auth/register"]["post"]
    assert "Idempotency-Key" not in str(register.get("parameters", []))


async def test_the_documented_problem_is_what_a_refusal_answers(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    refused = await client.patch(
        f"/api/v1/deals/{uuid.uuid4()}",
        json={"amount": "1_000"},
        headers={**admin.headers, "If-Match": '"1"'},
    )
    assert refused.status_code == 422
    problem = refused.json()
    document = await _document(client)
    schema = document["components"]["schemas"]["Problem"]
    assert set(problem) <= set(schema["properties"])
    assert set(schema["required"]) <= set(problem)
    for error in problem["errors"]:
        assert set(error) == {"field", "message"}


async def test_money_is_documented_as_the_server_reads_it(client: httpx.AsyncClient) -> None:
    schemas = (await _document(client))["components"]["schemas"]
    for schema, optional in (("DealPatch", True), ("DealIn", True), ("TransactionIn", False)):
        amount = schemas[schema]["properties"]["amount"]
        money = amount["anyOf"][0] if optional else amount
        branches = {branch["type"]: branch for branch in money["anyOf"]}
        assert branches["string"]["pattern"] == r"^-?[0-9]+(\.[0-9]{1,2})?$", schema
        assert "maximum" in branches["number"], schema
        assert "2 decimals" in money["description"], schema
