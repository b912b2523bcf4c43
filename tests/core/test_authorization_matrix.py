"""The authorization matrix, generated from the routes: every operation of the OpenAPI
document and every GraphQL mutation, sent with a syntactically valid request as each
role of one organization, as nobody, and as an admin of another organization naming
the first one's records.

`RULES` says who may call each operation (docs/api.md's role tables); a test compares
it with the document and the schema, so a new route or mutation fails here until its
rule is written down. Then, for every operation:

- nobody → 401 (the public ones excepted);
- another organization's admin sending the first one's ids → 404, and no answer of
  theirs ever holds one of those ids;
- a role outside the rule → 403;
- a role inside it → neither 401 nor 403 (a rule about the record may still refuse
  with 404, 409 or 422);
- never a 5xx.

Bodies are built from the document's schemas (the first choice of each enum, the
bounds' least value, an id of the organization's own records where one is known), so
each request passes validation and reaches the rule it is about.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)

from baton.app import openapi_document
from baton.graphql.schema import schema as graphql_schema
from tests.conftest import random_address
from tests.factories import Member, add_member, register_tenant, unique

DOCUMENT = openapi_document()
METHODS = ("get", "post", "put", "patch", "delete")
OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in METHODS
)
MUTATIONS = sorted(graphql_schema._schema.mutation_type.fields)  # type: ignore[union-attr]

ADMIN, MANAGER, MARKETING, SALES, VIEWER = "admin", "manager", "marketing", "sales", "viewer"
ROLES = (ADMIN, MANAGER, MARKETING, SALES, VIEWER)
ANY = frozenset(ROLES)
WRITERS = frozenset({ADMIN, MANAGER, MARKETING, SALES})
ADMINS = frozenset({ADMIN})
LEADERS = frozenset({ADMIN, MANAGER})
PUBLIC = None  # no credential needed
# Answers to no member credential at all (a token of its own, another helper's work):
# only "never a 5xx" is checked.
OPERATIONAL = frozenset()

Rule = frozenset[str] | None

RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): OPERATIONAL,
    ("POST", "/api/v1/auth/register"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/invitations/accept"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): ANY,
    ("POST", "/api/v1/auth/password"): ANY,
    ("GET", "/api/v1/me"): ANY,
    ("PATCH", "/api/v1/me"): ANY,
    ("POST", "/api/v1/me/totp"): ANY,
    ("POST", "/api/v1/me/totp/confirm"): ANY,
    ("POST", "/api/v1/me/totp/disable"): ANY,
    ("GET", "/api/v1/me/notifications"): ANY,
    ("GET", "/api/v1/me/notifications/unread-count"): ANY,
    ("POST", "/api/v1/me/notifications/read-all"): ANY,
    ("POST", "/api/v1/me/notifications/{notification_id}/read"): ANY,
    ("GET", "/api/v1/users"): ADMINS,
    ("POST", "/api/v1/users"): ADMINS,
    ("GET", "/api/v1/users/{user_id}"): ADMINS,
    ("PATCH", "/api/v1/users/{user_id}"): ADMINS,
    ("DELETE", "/api/v1/users/{user_id}"): ADMINS,
    ("GET", "/api/v1/invitations"): ADMINS,
    ("POST", "/api/v1/invitations"): ADMINS,
    ("POST", "/api/v1/invitations/{invitation_id}/resend"): ADMINS,
    ("DELETE", "/api/v1/invitations/{invitation_id}"): ADMINS,
    ("GET", "/api/v1/settings"): ANY,
    ("PATCH", "/api/v1/settings"): ADMINS,
    ("GET", "/api/v1/api-keys"): ANY,
    ("POST", "/api/v1/api-keys"): WRITERS,
    ("DELETE", "/api/v1/api-keys/{api_key_id}"): WRITERS,
    ("GET", "/api/v1/audit"): ADMINS,
    ("GET", "/api/v1/jobs"): ADMINS,
    ("POST", "/api/v1/jobs/{job_id}/retry"): ADMINS,
    ("POST", "/api/v1/exports/tenant"): ADMINS,
    ("GET", "/api/v1/exports/{export_id}"): ADMINS,
    ("GET", "/api/v1/exports/{export_id}/download"): ADMINS,
    ("GET", "/api/v1/exports/{entity}"): ANY,
    # Workflow configuration: everyone reads, admins change.
    ("GET", "/api/v1/workflow/statuses"): ANY,
    ("POST", "/api/v1/workflow/statuses"): ADMINS,
    ("PATCH", "/api/v1/workflow/statuses/{status_id}"): ADMINS,
    ("DELETE", "/api/v1/workflow/statuses/{status_id}"): ADMINS,
    ("GET", "/api/v1/workflow/workflows"): ANY,
    ("POST", "/api/v1/workflow/workflows"): ADMINS,
    ("GET", "/api/v1/workflow/workflows/{workflow_id}"): ANY,
    ("PATCH", "/api/v1/workflow/workflows/{workflow_id}"): ADMINS,
    ("DELETE", "/api/v1/workflow/workflows/{workflow_id}"): ADMINS,
    ("GET", "/api/v1/workflow/workflows/{workflow_id}/allowed-transitions"): ANY,
    ("GET", "/api/v1/workflow/workflows/{workflow_id}/analytics"): ANY,
    ("POST", "/api/v1/workflow/workflows/{workflow_id}/steps"): ADMINS,
    ("POST", "/api/v1/workflow/workflows/{workflow_id}/transitions"): ADMINS,
    ("POST", "/api/v1/workflow/workflows/{workflow_id}/publish"): ADMINS,
    ("POST", "/api/v1/workflow/workflows/{workflow_id}/migrate"): ADMINS,
    ("PUT", "/api/v1/workflow/workflows/{workflow_id}/step-order"): ADMINS,
    ("PATCH", "/api/v1/workflow/steps/{step_id}"): ADMINS,
    ("DELETE", "/api/v1/workflow/steps/{step_id}"): ADMINS,
    ("PATCH", "/api/v1/workflow/transitions/{transition_id}"): ADMINS,
    ("DELETE", "/api/v1/workflow/transitions/{transition_id}"): ADMINS,
    ("GET", "/api/v1/workflow/project-types"): ANY,
    ("POST", "/api/v1/workflow/project-types"): ADMINS,
    ("PATCH", "/api/v1/workflow/project-types/{project_type_id}"): ADMINS,
    ("DELETE", "/api/v1/workflow/project-types/{project_type_id}"): ADMINS,
    ("GET", "/api/v1/workflow/effects"): ANY,
    # Records: every member reads, writers write (viewers 403).
    ("GET", "/api/v1/work-items"): ANY,
    ("POST", "/api/v1/work-items"): WRITERS,
    ("GET", "/api/v1/work-items/board"): ANY,
    ("GET", "/api/v1/work-items/{item_id}"): ANY,
    ("PATCH", "/api/v1/work-items/{item_id}"): WRITERS,
    ("DELETE", "/api/v1/work-items/{item_id}"): WRITERS,
    ("GET", "/api/v1/work-items/{item_id}/activities"): ANY,
    ("POST", "/api/v1/work-items/{item_id}/move"): WRITERS,
    ("GET", "/api/v1/work-items/{item_id}/history"): ANY,
    ("GET", "/api/v1/pipeline"): ANY,
    ("GET", "/api/v1/deals"): ANY,
    ("POST", "/api/v1/deals"): WRITERS,
    ("GET", "/api/v1/deals/{deal_id}"): ANY,
    ("PATCH", "/api/v1/deals/{deal_id}"): WRITERS,
    ("DELETE", "/api/v1/deals/{deal_id}"): WRITERS,
    ("POST", "/api/v1/deals/{deal_id}/restore"): WRITERS,
    # One box for everything: every member searches what they may read.
    ("GET", "/api/v1/search"): ANY,
    # Saved views: every member keeps their own (viewers too); shared ones are read.
    ("GET", "/api/v1/views"): ANY,
    ("POST", "/api/v1/views"): ANY,
    ("PATCH", "/api/v1/views/{view_id}"): ANY,
    ("DELETE", "/api/v1/views/{view_id}"): ANY,
    # Bulk actions: writers (each row then walks its single change's own rules); a run
    # is the requester's, admins' and managers' (anyone else: 404, not 403).
    ("POST", "/api/v1/deals/bulk"): WRITERS,
    ("POST", "/api/v1/leads/bulk"): WRITERS,
    ("POST", "/api/v1/targets/bulk"): WRITERS,
    ("POST", "/api/v1/accounts/bulk"): WRITERS,
    ("POST", "/api/v1/contacts/bulk"): WRITERS,
    ("GET", "/api/v1/bulk-runs/{run_id}"): ANY,
    ("POST", "/api/v1/targets/{target_id}/restore"): WRITERS,
    ("POST", "/api/v1/deals/{deal_id}/move"): WRITERS,
    ("POST", "/api/v1/deals/{deal_id}/close"): WRITERS,
    ("GET", "/api/v1/deals/{deal_id}/history"): ANY,
    ("GET", "/api/v1/accounts"): ANY,
    ("POST", "/api/v1/accounts"): WRITERS,
    ("GET", "/api/v1/accounts/{account_id}"): ANY,
    ("PATCH", "/api/v1/accounts/{account_id}"): WRITERS,
    ("DELETE", "/api/v1/accounts/{account_id}"): WRITERS,
    ("POST", "/api/v1/accounts/{account_id}/restore"): WRITERS,
    ("GET", "/api/v1/accounts/{account_id}/overview"): ANY,
    ("GET", "/api/v1/accounts/{account_id}/transactions"): ANY,
    ("POST", "/api/v1/accounts/{account_id}/transactions"): WRITERS,
    ("GET", "/api/v1/contacts"): ANY,
    ("POST", "/api/v1/contacts"): WRITERS,
    ("GET", "/api/v1/contacts/{contact_id}"): ANY,
    ("PATCH", "/api/v1/contacts/{contact_id}"): WRITERS,
    ("DELETE", "/api/v1/contacts/{contact_id}"): WRITERS,
    ("POST", "/api/v1/contacts/{contact_id}/restore"): WRITERS,
    ("GET", "/api/v1/activities"): ANY,
    ("POST", "/api/v1/activities"): WRITERS,
    ("GET", "/api/v1/activities/{activity_id}"): ANY,
    ("PATCH", "/api/v1/activities/{activity_id}"): WRITERS,
    ("POST", "/api/v1/activities/{activity_id}/complete"): WRITERS,
    ("POST", "/api/v1/activities/{activity_id}/cancel"): WRITERS,
    # Cadences: everyone reads; managers and admins define; writers enrol.
    ("GET", "/api/v1/cadences"): ANY,
    ("POST", "/api/v1/cadences"): LEADERS,
    ("GET", "/api/v1/cadences/{cadence_id}"): ANY,
    ("PATCH", "/api/v1/cadences/{cadence_id}"): LEADERS,
    ("POST", "/api/v1/cadences/{cadence_id}/enroll"): WRITERS,
    ("GET", "/api/v1/enrollments/{enrollment_id}"): ANY,
    ("POST", "/api/v1/enrollments/{enrollment_id}/pause"): WRITERS,
    ("POST", "/api/v1/enrollments/{enrollment_id}/resume"): WRITERS,
    ("POST", "/api/v1/enrollments/{enrollment_id}/stop"): WRITERS,
    # Leads (docs/api.md "Leads"): the views of each role; without `view`, the inbox,
    # which is not the sales role's (its rows are hidden from sales: 404).
    ("POST", "/api/v1/leads"): frozenset({ADMIN, MANAGER, MARKETING}),
    ("GET", "/api/v1/leads"): frozenset({ADMIN, MANAGER, MARKETING, VIEWER}),
    ("GET", "/api/v1/leads/{lead_id}"): ANY,
    ("PATCH", "/api/v1/leads/{lead_id}"): WRITERS,
    ("POST", "/api/v1/leads/{lead_id}/triage"): WRITERS,
    ("POST", "/api/v1/leads/{lead_id}/claim"): frozenset({ADMIN, MANAGER, SALES}),
    ("POST", "/api/v1/leads/{lead_id}/assign"): LEADERS,
    ("POST", "/api/v1/leads/{lead_id}/reject"): frozenset({ADMIN, MANAGER, SALES}),
    ("POST", "/api/v1/leads/{lead_id}/release"): frozenset({ADMIN, MANAGER, SALES}),
    ("POST", "/api/v1/leads/{lead_id}/convert"): frozenset({ADMIN, MANAGER, SALES}),
    ("GET", "/api/v1/targets"): ANY,
    ("POST", "/api/v1/targets"): WRITERS,
    ("GET", "/api/v1/targets/summary"): ANY,
    ("GET", "/api/v1/targets/{target_id}"): ANY,
    ("PATCH", "/api/v1/targets/{target_id}"): WRITERS,
    ("DELETE", "/api/v1/targets/{target_id}"): WRITERS,
    ("POST", "/api/v1/targets/{target_id}/status"): WRITERS,
    ("POST", "/api/v1/targets/{target_id}/convert"): WRITERS,
    ("GET", "/api/v1/targets/{target_id}/activities"): ANY,
    ("GET", "/api/v1/imports"): WRITERS,
    ("POST", "/api/v1/imports"): WRITERS,
    ("GET", "/api/v1/imports/{import_id}"): WRITERS,
    ("PATCH", "/api/v1/imports/{import_id}"): WRITERS,
    ("POST", "/api/v1/imports/{import_id}/commit"): WRITERS,
    ("POST", "/api/v1/imports/{import_id}/undo"): WRITERS,
    ("GET", "/api/v1/imports/{import_id}/errors.csv"): WRITERS,
    ("GET", "/api/v1/webhooks/event-types"): ANY,
    ("GET", "/api/v1/webhooks"): ADMINS,
    ("POST", "/api/v1/webhooks"): ADMINS,
    ("GET", "/api/v1/webhooks/{endpoint_id}"): ADMINS,
    ("PATCH", "/api/v1/webhooks/{endpoint_id}"): ADMINS,
    ("DELETE", "/api/v1/webhooks/{endpoint_id}"): ADMINS,
    ("GET", "/api/v1/webhooks/{endpoint_id}/deliveries"): ADMINS,
    ("POST", "/api/v1/webhooks/{endpoint_id}/ping"): ADMINS,
    ("POST", "/api/v1/webhook-deliveries/{delivery_id}/redeliver"): ADMINS,
    ("GET", "/api/v1/reports/pipeline"): ANY,
    ("GET", "/api/v1/reports/forecast"): ANY,
    ("GET", "/api/v1/reports/win-rate"): ANY,
    ("GET", "/api/v1/reports/stage-conversion"): ANY,
    ("GET", "/api/v1/reports/lead-funnel"): ANY,
    ("GET", "/api/v1/reports/activity"): ANY,
    ("GET", "/api/v1/reports/cadence-adherence"): ANY,
    ("GET", "/api/v1/reports/sources"): ANY,
}

# GraphQL mutations: the same rules as the REST routes they mirror.
MUTATION_RULES: dict[str, frozenset[str]] = {
    "moveDeal": WRITERS,
    "closeDeal": WRITERS,
    "moveWorkItem": WRITERS,
    "validateTransition": WRITERS,
    "triageLead": WRITERS,
    "claimLead": frozenset({ADMIN, MANAGER, SALES}),
    "createStatus": ADMINS,
    "updateStatus": ADMINS,
    "deleteStatus": ADMINS,
    "deleteWorkflow": ADMINS,
    "createWorkflow": ADMINS,
    "updateWorkflow": ADMINS,
    "publishWorkflow": ADMINS,
    "createStep": ADMINS,
    "updateStep": ADMINS,
    "deleteStep": ADMINS,
    "createTransition": ADMINS,
    "updateTransition": ADMINS,
    "deleteTransition": ADMINS,
    "updateStepOrder": ADMINS,
    "createProjectType": ADMINS,
    "updateProjectType": ADMINS,
    "deleteProjectType": ADMINS,
    "createWorkItem": WRITERS,
}


@dataclass
class World:
    members: dict[str, Member]
    intruder: Member
    ids: dict[str, str]

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "anonymous":
            return {}
        if caller == "intruder":
            return self.intruder.headers
        return self.members[caller].headers


NEXT_WEEK = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
TODAY = datetime.now(UTC).date().isoformat()


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _build(http: httpx.AsyncClient) -> World:
    admin = await register_tenant(http)
    members = {ADMIN: admin}
    for role in (MANAGER, MARKETING, SALES, VIEWER):
        members[role] = await add_member(http, admin, role)
    h = admin.headers
    account = await _created(
        await http.post("/api/v1/accounts", headers=h, json={"name": unique("Acme")})
    )
    contact = await _created(
        await http.post(
            "/api/v1/contacts", headers=h, json={"account_id": account["id"], "first_name": "Grace"}
        )
    )
    deal = await _created(
        await http.post(
            "/api/v1/deals",
            headers=h,
            json={
                "name": unique("Deal"),
                "account_id": account["id"],
                "next_step": "Call",
                "next_step_due_date": NEXT_WEEK,
            },
        )
    )
    activity = await _created(
        await http.post(
            "/api/v1/activities",
            headers=h,
            json={
                "type": "call",
                "subject": "Call",
                "deal_id": deal["id"],
                "due_at": NEXT_WEEK + "T09:00:00Z",
            },
        )
    )
    lead = await _created(
        await http.post(
            "/api/v1/leads",
            headers=h,
            json={"company_name": unique("Lead"), "contact_name": "Lee", "source": "web"},
        )
    )
    api_key = await _created(
        await http.post("/api/v1/api-keys", headers=h, json={"name": "matrix"})
    )
    invitation = await _created(
        await http.post(
            "/api/v1/invitations",
            headers=h,
            json={"email": f"{unique('matrix')}@example.com", "full_name": "M", "role": "sales"},
        )
    )
    batch = await http.post(
        "/api/v1/imports",
        headers=h,
        data={"kind": "targets"},
        files={"file": ("targets.csv", TARGETS_CSV, "text/csv")},
    )
    assert batch.status_code in (201, 202), batch.text
    workflow = (
        await http.get(f"/api/v1/workflow/workflows/{deal['workflow_id']}", headers=h)
    ).json()
    statuses = (await http.get("/api/v1/workflow/statuses", headers=h)).json()
    cadences = (await http.get("/api/v1/cadences", headers=h)).json()
    project_types = (await http.get("/api/v1/workflow/project-types", headers=h)).json()
    ids = {
        "account_id": account["id"],
        "contact_id": contact["id"],
        "deal_id": deal["id"],
        "activity_id": activity["id"],
        "lead_id": lead["id"],
        "api_key_id": api_key["id"],
        "invitation_id": invitation["id"],
        "workflow_id": workflow["id"],
        "step_id": workflow["steps"][0]["id"],
        "transition_id": workflow["transitions"][0]["id"],
        "status_id": (statuses["items"] if isinstance(statuses, dict) else statuses)[0]["id"],
        "cadence_id": cadences["items"][0]["id"],
        "project_type_id": project_types[0]["id"],
        "import_id": batch.json()["id"],
    }
    # Removed by `DELETE /users/{user_id}`: a member nobody else here signs in as.
    spare = await add_member(http, admin, SALES)
    ids["user_id"] = str(spare.user_id)
    # A job of this organization (its export, queued): what `/jobs/{job_id}` names.
    exported = await http.post("/api/v1/exports/tenant", headers=h)
    assert exported.status_code == 202, exported.text
    ids["export_id"] = exported.json()["id"]
    ids["job_id"] = str((await http.get("/api/v1/jobs", headers=h)).json()["items"][0]["id"])
    intruder = await register_tenant(http)
    return World(members=members, intruder=intruder, ids=ids)


@pytest.fixture
async def world(app: Any) -> AsyncIterator[World]:
    transport = httpx.ASGITransport(
        app=app, client=(random_address(), 40000), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield await _build(http)


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(
        app=app, client=(random_address(), 40000), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


# --- requests built from the document --------------------------------------------

# Parameters and fields naming a record of a kind under another name.
ALIASES = {
    "from_step_id": "step_id",
    "to_step_id": "step_id",
    "default_workflow_id": "workflow_id",
    "owner_id": "user_id",
    "sales_owner_id": "user_id",
}
TARGETS_CSV = b"company_name,contact_name\nAcme,Ada\n"
# Rules the document states only in words ("exactly one of deal_id, account_id,
# contact_id"): the body that satisfies them.
BODIES: dict[tuple[str, str], Callable[[dict[str, str]], dict[str, Any]]] = {
    ("POST", "/api/v1/cadences/{cadence_id}/enroll"): lambda ids: {"deal_id": ids["deal_id"]},
}
PATTERN_CANDIDATES = ("EUR", "abc", "a", "sales", "deal", "1", "a-b")


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = DOCUMENT["components"]["schemas"][name]
    return schema


def _string(schema: dict[str, Any], name: str, ids: dict[str, str]) -> str:
    if "enum" in schema:
        return str(schema["enum"][0])
    fmt = schema.get("format")
    if fmt == "uuid":
        return ids.get(ALIASES.get(name, name), str(uuid.uuid4()))
    if fmt == "email":
        return f"{unique('m')}@example.com"
    if fmt == "date":
        return TODAY
    if fmt == "date-time":
        return NEXT_WEEK + "T09:00:00Z"
    if fmt == "uri":
        return "https://hooks.example.com/baton"
    if fmt == "decimal" or name in ("amount", "value"):
        return "10"
    pattern = schema.get("pattern")
    if pattern:
        for candidate in PATTERN_CANDIDATES:
            if re.search(pattern, candidate):
                return candidate
    least = max(int(schema.get("minLength", 1)), 1)
    if name == "timezone":
        return "Europe/Paris"
    if "password" in name:
        return "matrix-password-" + "x" * max(0, least - 16)
    return "x" * max(least, 3)


def sample(schema: dict[str, Any], name: str, ids: dict[str, str]) -> Any:
    """A value the schema accepts: the least of every bound, the first of every choice."""
    schema = _resolve(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o).get("type") != "null"]
            return sample(options[0], name, ids)
    if "allOf" in schema:
        return sample(schema["allOf"][0], name, ids)
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            key: sample(properties[key], key, ids)
            for key in schema.get("required", [])
            if key in properties
        }
    if kind == "array":
        least = int(schema.get("minItems", 0))
        return [sample(schema.get("items", {}), name, ids) for _ in range(max(least, 0))]
    if kind == "integer":
        if name in ids:
            return int(ids[name])
        return int(max(min(1, schema.get("maximum", 1)), schema.get("minimum", 1)))
    if kind == "number":
        return max(min(1, schema.get("maximum", 1)), schema.get("minimum", 1))
    if kind == "boolean":
        return True
    return _string(schema, name, ids)


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    params: dict[str, Any]
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, Any] | None = None


def build(method: str, path: str, ids: dict[str, str]) -> Request:
    operation = DOCUMENT["paths"][path][method.lower()]
    url = path
    params: dict[str, Any] = {}
    for parameter in operation.get("parameters", []):
        value = sample(parameter.get("schema", {}), parameter["name"], ids)
        if parameter["in"] == "path":
            url = url.replace("{" + parameter["name"] + "}", str(value))
        elif parameter["in"] == "query" and parameter.get("required"):
            params[parameter["name"]] = value
    content = operation.get("requestBody", {}).get("content", {})
    if (method, path) in BODIES:
        return Request(method, url, params, json=BODIES[(method, path)](ids))
    if "application/json" in content:
        body = sample(content["application/json"]["schema"], "", ids)
        return Request(method, url, params, json=body)
    if "multipart/form-data" in content:
        return Request(
            method,
            url,
            params,
            data={"kind": "targets"},
            files={"file": ("targets.csv", TARGETS_CSV, "text/csv")},
        )
    return Request(method, url, params)


async def send(
    http: httpx.AsyncClient, request: Request, headers: dict[str, str]
) -> httpx.Response:
    return await http.request(
        request.method,
        request.url,
        params=request.params,
        json=request.json,
        data=request.data,
        files=request.files,
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )


# --- the matrix --------------------------------------------------------------------

ENDS_SESSION = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/password")}


def test_every_route_and_mutation_has_a_rule() -> None:
    """A route or mutation added without a rule here fails: none is forgotten."""
    assert sorted(RULES) == OPERATIONS
    assert sorted(MUTATION_RULES) == MUTATIONS


def _leaks(answer: httpx.Response, world: World) -> list[str]:
    # Refusals echo the path (the problem's `instance`): only answers given count.
    if answer.status_code >= 300:
        return []
    # The uuids only: a job's small integer id appears in any answer.
    return [name for name, value in world.ids.items() if len(value) == 36 and value in answer.text]


def _names_a_record(method: str, path: str) -> bool:
    """Whether the path carries a record's id (not a choice such as `{entity}`)."""
    parameters = DOCUMENT["paths"][path][method.lower()].get("parameters", [])
    return any(
        p["in"] == "path" and _resolve(p.get("schema", {})).get("enum") is None for p in parameters
    )


async def _check(
    http: httpx.AsyncClient, world: World, method: str, path: str, caller: str
) -> str | None:
    """What is wrong with this caller's answer for this operation, or None."""
    answer = await send(http, build(method, path, world.ids), world.headers(caller))
    problem = _judge(answer, world, method, path, caller)
    return f"{problem}: {answer.text[:300]}" if problem else None


def _judge(answer: httpx.Response, world: World, method: str, path: str, caller: str) -> str | None:
    rule = RULES[(method, path)]
    status = answer.status_code
    if status >= 500:
        return f"{status} (a server error)"
    if rule is PUBLIC or rule is OPERATIONAL:
        return None
    if caller == "anonymous":
        return None if status == 401 else f"{status}, not 401"
    if caller == "intruder":
        if _names_a_record(method, path) and status != 404:
            return f"{status}, not 404 for the other organization's ids"
        leaked = _leaks(answer, world)
        return f"answers the other organization's {leaked}" if leaked else None
    if caller not in rule:
        return None if status == 403 else f"{status}, not 403 for a role outside the rule"
    if status in (401, 403):
        return f"{status} for a role the rule admits"
    return None


def _order() -> Iterator[tuple[str, str, str]]:
    """Every operation for every caller; the refused ones first (they change nothing),
    then the admitted ones, deletions and session ends last, the admin last of all."""
    later = []
    for method, path in OPERATIONS:
        rule = RULES[(method, path)] or frozenset()
        for caller in ("anonymous", "intruder", *ROLES):
            ends_session = (method, path) in ENDS_SESSION and caller != "anonymous"
            if ends_session or (caller in ROLES and caller in rule):
                later.append((method, path, caller))
            else:
                yield method, path, caller
    yield from sorted(
        later,
        key=lambda c: (
            (c[0], c[1]) == ("POST", "/api/v1/auth/logout"),
            c[0] == "DELETE",
            c[2] in (ADMIN, "intruder"),
        ),
    )


async def test_every_route_as_every_caller(world: World, http: httpx.AsyncClient) -> None:
    problems = []
    for method, path, caller in _order():
        problem = await _check(http, world, method, path, caller)
        if problem:
            problems.append(f"{method} {path} as {caller}: {problem}")
    assert not problems, "\n".join(problems)


# --- GraphQL mutations ---------------------------------------------------------------

# The record each mutation's `id` names.
MUTATION_IDS = {
    "moveDeal": "deal_id",
    "closeDeal": "deal_id",
    "validateTransition": "deal_id",
    "triageLead": "lead_id",
    "claimLead": "lead_id",
    "updateStatus": "status_id",
    "deleteStatus": "status_id",
    "updateWorkflow": "workflow_id",
    "publishWorkflow": "workflow_id",
    "deleteWorkflow": "workflow_id",
    "updateStep": "step_id",
    "deleteStep": "step_id",
    "updateTransition": "transition_id",
    "deleteTransition": "transition_id",
    "updateProjectType": "project_type_id",
    "deleteProjectType": "project_type_id",
}
GRAPHQL_FIELD_IDS = {
    "toStepId": "step_id",
    "fromStepId": "step_id",
    "workflowId": "workflow_id",
    "defaultWorkflowId": "workflow_id",
    "statusId": "status_id",
}


def graphql_value(kind: GraphQLInputType, name: str, ids: dict[str, str]) -> Any:
    """A value of an input type: required fields only, first enum values."""
    if isinstance(kind, GraphQLNonNull):
        return graphql_value(kind.of_type, name, ids)
    if isinstance(kind, GraphQLList):
        return [graphql_value(kind.of_type, name, ids)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {
            field_name: graphql_value(field.type, field_name, ids)
            for field_name, field in kind.fields.items()
            if isinstance(field.type, GraphQLNonNull)
        }
    assert isinstance(kind, GraphQLScalarType)
    if kind.name == "UUID":
        return ids.get(GRAPHQL_FIELD_IDS.get(name, name), str(uuid.uuid4()))
    if kind.name == "Int":
        return 1
    if kind.name == "Float":
        return 1.0
    if kind.name == "Boolean":
        return True
    return "xxx"


def mutation_request(name: str, ids: dict[str, str]) -> dict[str, Any]:
    field = graphql_schema._schema.mutation_type.fields[name]  # type: ignore[union-attr]
    argument = field.args["input"]
    value = graphql_value(argument.type, "input", ids)
    if name in MUTATION_IDS:
        value["id"] = ids[MUTATION_IDS[name]]
    return {
        "query": f"mutation M($input: {argument.type}) {{ {name}(input: $input) {{ __typename }} }}",
        "variables": {"input": value},
    }


def _graphql_problem(answer: httpx.Response, world: World, name: str, caller: str) -> str | None:
    if answer.status_code >= 500:
        return f"{answer.status_code} (a server error)"
    if caller == "anonymous":
        return None if answer.status_code == 401 else f"{answer.status_code}, not 401"
    body = answer.json()
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
    if "INTERNAL" in codes or "INTERNAL_SERVER_ERROR" in codes:
        return f"an internal error {codes}"
    if caller == "intruder":
        if name in MUTATION_IDS and codes != {"NOT_FOUND"}:
            return f"{codes or 'success'}, not NOT_FOUND for the other organization's id"
        leaked = _leaks(answer, world)
        return f"answers the other organization's {leaked}" if leaked else None
    if caller not in MUTATION_RULES[name]:
        return None if codes == {"FORBIDDEN"} else f"{codes or 'success'}, not FORBIDDEN"
    if codes & {"FORBIDDEN", "UNAUTHENTICATED"}:
        return f"{codes} for a role the rule admits"
    return None


async def test_every_mutation_as_every_caller(world: World, http: httpx.AsyncClient) -> None:
    problems = []
    calls = [(name, caller) for name in MUTATIONS for caller in ("anonymous", "intruder", *ROLES)]
    # The refused first (they change nothing); deletions by the admin last.
    calls.sort(
        key=lambda c: (c[1] in MUTATION_RULES[c[0]], c[0].startswith("delete"), c[1] == ADMIN)
    )
    for name, caller in calls:
        answer = await http.post(
            "/graphql", json=mutation_request(name, world.ids), headers=world.headers(caller)
        )
        problem = _graphql_problem(answer, world, name, caller)
        if problem:
            problems.append(f"{name} as {caller}: {problem}: {answer.text[:300]}")
    assert not problems, "\n".join(problems)
