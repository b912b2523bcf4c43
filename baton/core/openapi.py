"""The OpenAPI document as the server really answers (issue 20 points 4 to 6).

FastAPI writes a document from the routes; one step here completes it, for every
operation at once rather than per endpoint:

- **errors**: one `Problem` schema (RFC 9457, `application/problem+json`, the shape
  `DomainError.problem` writes) replaces FastAPI's `HTTPValidationError`, for each
  error an operation can give (`error_statuses`): 401 and 403 where a caller is
  required, 404 where the path names a record, 409 on writes (stale version,
  duplicate, `Idempotency-Key` in flight), 413 where a body is sent, 422 where there
  is any input, 400 where the body is a form, 429 with `Retry-After` under `/api`;
- **security**: two bearer schemes, access tokens (`bat_…`) and API keys (`bak_…`),
  both sent as `Authorization: Bearer …`; every operation says which it takes, the
  public ones `security: []`;
- **headers the middleware reads**: `Idempotency-Key` on authenticated writes, and the
  rule of `If-Match` (it wins over a body's `version`) where a route declares it; a
  body's `version` field says the same.

Whether an operation needs a caller is read from its route (the `get_principal`
dependency, as `JsonRoute` does), so the document and the server cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from baton.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from baton.core.problems import PROBLEM_JSON
from baton.core.routing import RouteIndex, requires_principal

_PREFIX = "#/components/schemas/"
PROBLEM_REF = f"{_PREFIX}Problem"
SECURITY: list[dict[str, list[str]]] = [{"accessToken": []}, {"apiKey": []}]
_WRITES = {"post", "put", "patch", "delete"}
_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")

_DESCRIPTIONS = {
    400: "The request could not be read (a malformed form or multipart body)",
    401: "No credential, or one that is malformed, unknown, expired or revoked "
    "(`WWW-Authenticate: Bearer`); checked before any parameter or body is read",
    403: "The caller's role may not do this",
    404: "No such record, or another organization's (never 403 across organizations): "
    "the one the path names, or one a parameter or body field refers to",
    409: "The record changed since it was read (`stale-version`), a duplicate, or a "
    "request with the same `Idempotency-Key` still in progress",
    413: "The body is larger than the server accepts (1 MiB by default)",
    422: "A parameter, header or body field is invalid (`errors` names each one, "
    "query parameters and headers by name), or a business rule refused the request",
    429: "Too many requests: the credential's budget per minute, or sign-in or "
    "registration attempts; retry after `Retry-After` seconds",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem: every error answer, as `application/problem+json`.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri",
            "description": "`https://baton.dev/problems/<slug>`; the slug names the kind "
            "(`validation-failed`, `stale-version`, `rate-limited`, …)",
        },
        "title": {"type": "string", "description": "The kind in words; fixed per `type`"},
        "status": {"type": "integer", "description": "The HTTP status code"},
        "detail": {"type": "string", "description": "This occurrence in words"},
        "instance": {"type": "string", "description": "The path the request was sent to"},
        "errors": {
            "type": "array",
            "description": "Present when specific fields are at fault",
            "items": {"$ref": "#/components/schemas/ProblemFieldError"},
        },
    },
}

FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ProblemFieldError",
    "type": "object",
    "required": ["field", "message"],
    "properties": {
        "field": {
            "type": "string",
            "description": "A dotted path into the body (`steps.0.delay_days`), a query "
            "parameter or header by name (`as_of`, `idempotency-key`), or `body`",
        },
        "message": {"type": "string"},
    },
}

RETRY_AFTER: dict[str, Any] = {
    "description": "Seconds to wait before retrying",
    "schema": {"type": "integer", "minimum": 1},
}

SECURITY_SCHEMES: dict[str, Any] = {
    "accessToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "bat_<tenant hex>_<secret>",
        "description": "An access token from `POST /api/v1/auth/register` or "
        "`POST /api/v1/auth/login` (12 h), as `Authorization: Bearer <token>`",
    },
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "bak_<tenant hex>_<secret>",
        "description": "An API key from `POST /api/v1/api-keys` (shown once, valid until "
        "revoked), sent the same way: `Authorization: Bearer <key>`",
    },
}

IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "1 to 255 printable ASCII characters, per user. A repeat of the same "
    "request within 24 h answers the stored answer (`Idempotent-Replayed: true`); the "
    "same key with another request is 422; while the first is running, 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}

IF_MATCH_DESCRIPTION = (
    'The record version the change is based on: `"3"`, `W/"3"` or `3`. It wins over a '
    "`version` sent in the body or as `?version=`. A change that requires a version "
    "(an update, a delete) is 422 without either; a version that is not the record's "
    "current one is 409 `stale-version`."
)
VERSION_FIELD_DESCRIPTION = (
    "The record's version this change is based on (409 `stale-version` if it is no "
    "longer current). Required here or as the `If-Match` header, which wins."
)
REQUIRED_VERSION_DESCRIPTION = (
    "The record's version this action is based on (409 `stale-version` if it is no longer current)."
)


@dataclass(frozen=True)
class Operation:
    """What the document needs to know about one route's operation."""

    path: str
    method: str
    authenticated: bool
    path_ids: bool
    inputs: bool

    @property
    def writes(self) -> bool:
        return self.method in _WRITES


def operations(routes: Iterable[object]) -> dict[tuple[str, str], Operation]:
    """Each documented (path, lower-case method) of the routes."""
    found: dict[tuple[str, str], Operation] = {}
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        dependant = route.dependant
        flat = [dependant, *_all_dependencies(dependant)]
        inputs = any(
            d.path_params or d.query_params or d.header_params or d.cookie_params or d.body_params
            for d in flat
        )
        for method in route.methods or ():
            found[(route.path_format, method.lower())] = Operation(
                path=route.path_format,
                method=method.lower(),
                authenticated=requires_principal(dependant),
                path_ids=bool(dependant.path_params),
                inputs=inputs,
            )
    return found


def _all_dependencies(dependant: Any) -> list[Any]:
    result: list[Any] = []
    for sub in dependant.dependencies:
        result += [sub, *_all_dependencies(sub)]
    return result


def error_statuses(
    operation: Operation, spec: dict[str, Any], document: dict[str, Any] | None = None
) -> list[int]:
    """The error statuses the operation can answer (see the module), and any other the
    route declares (a download that is not ready yet: 409)."""
    return sorted(set(_inferred_statuses(operation, spec, document)) | _declared_errors(spec))


def _inferred_statuses(
    operation: Operation, spec: dict[str, Any], document: dict[str, Any] | None
) -> list[int]:
    content = spec.get("requestBody", {}).get("content", {})
    statuses: list[int] = []
    if any(media in content for media in _FORMS):
        statuses.append(400)
    if operation.authenticated:
        statuses += [401, 403]
    elif operation.path.endswith("/auth/login"):
        statuses.append(401)
    if operation.path_ids or (
        operation.authenticated and _names_records(spec, document or {"components": {}})
    ):
        statuses.append(404)
    if operation.writes and operation.path.startswith("/api/"):
        statuses.append(409)
    if content:
        statuses.append(413)
    if operation.inputs or (operation.writes and operation.authenticated):
        statuses.append(422)
    if operation.path.startswith("/api/"):
        statuses.append(429)
    return statuses


def _declared_errors(spec: dict[str, Any]) -> set[int]:
    return {int(status) for status in spec.get("responses", {}) if status[:1] == "4"}


def _names_records(spec: dict[str, Any], document: dict[str, Any]) -> bool:
    """Whether a parameter or body field of the operation is a record's id (a uuid): a
    record the caller cannot see is 404 (`?entity_id=` of the audit trail, a contact's
    `account_id`), as in a path."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    pending: list[Any] = [spec.get("parameters", []), spec.get("requestBody", {})]
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if node.get("format") == "uuid":
                return True
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_PREFIX) and ref not in seen:
                seen.add(ref)
                pending.append(schemas.get(ref[len(_PREFIX) :]))
            pending += list(node.values())
        elif isinstance(node, list):
            pending += node
    return False


def complete(document: dict[str, Any], routes: Iterable[object]) -> dict[str, Any]:
    """The document with problems, security and headers on every operation (in place)."""
    known = operations(routes)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ProblemFieldError"] = FIELD_ERROR_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, item in document.get("paths", {}).items():
        for method, spec in item.items():
            operation = known.get((path, method))
            if operation is None:
                continue
            _describe(operation, spec, document)
    _describe_versions(document)
    _short_operation_ids(document, routes)
    _domain_schema_names(document)
    return document


def _short_operation_ids(document: dict[str, Any], routes: Iterable[object]) -> None:
    """Each operation's id is its handler's name (`create_deal`) where that name is one
    operation's only: a generated client's method names. FastAPI's default
    (`create_deal_api_v1_deals_post`) stays where two handlers share a name."""
    names: dict[tuple[str, str], str] = {}
    counts: dict[str, int] = {}
    for route in routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                names[(route.path_format, method.lower())] = route.name
                counts[route.name] = counts.get(route.name, 0) + 1
    for path, item in document.get("paths", {}).items():
        for method, spec in item.items():
            name = names.get((path, method))
            if name is not None and counts[name] == 1:
                spec["operationId"] = name


def _domain_schema_names(document: dict[str, Any]) -> None:
    """Two domains' schemas of one name (`StatusIn` of workflow and of targets) are
    documented by FastAPI under their module path (`baton__workflow__schemas__StatusIn`)
    with one title; clients name models by title and collide. Both become
    `<Domain><Name>` (`WorkflowStatusIn`), key and title, with every reference."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    renamed: dict[str, str] = {}
    for key in list(schemas):
        parts = key.split("__")
        if len(parts) < 3:
            continue
        domain = "".join(word.title() for word in parts[1].split("_"))
        name = domain + parts[-1]
        renamed[f"{_PREFIX}{key}"] = f"{_PREFIX}{name}"
        schema = schemas.pop(key)
        schema["title"] = name
        schemas[name] = schema
    if renamed:
        _rewrite_refs(document, renamed)


def _rewrite_refs(node: Any, renamed: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in renamed:
            node["$ref"] = renamed[ref]
        for value in node.values():
            _rewrite_refs(value, renamed)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renamed)


def _describe(operation: Operation, spec: dict[str, Any], document: dict[str, Any]) -> None:
    spec["security"] = SECURITY if operation.authenticated else []
    responses: dict[str, Any] = spec.setdefault("responses", {})
    # A status only the route declares keeps the route's words for it.
    inferred = set(_inferred_statuses(operation, spec, document))
    own = {
        status: responses[str(status)].get("description") or _DESCRIPTIONS[status]
        for status in _declared_errors(spec) - inferred
    }
    for status in error_statuses(operation, spec, document):
        answer: dict[str, Any] = {
            "description": own[status] if status in own else _DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        if status == 429:
            answer["headers"] = {"Retry-After": RETRY_AFTER}
        if status == 401:
            answer["headers"] = {
                "WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}
            }
        responses[str(status)] = answer
    parameters: list[dict[str, Any]] = spec.setdefault("parameters", [])
    for parameter in parameters:
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match":
            parameter["description"] = IF_MATCH_DESCRIPTION
    if operation.authenticated and operation.writes:
        names = {p.get("name", "").lower() for p in parameters if p.get("in") == "header"}
        if IDEMPOTENCY_HEADER not in names:
            parameters.append(IDEMPOTENCY_PARAMETER)
    if not parameters:
        del spec["parameters"]


def _describe_versions(document: dict[str, Any]) -> None:
    """A request body's `version` field states the rule of versions: optional where
    `If-Match` may carry it instead, required on the actions that take it only in the
    body (a move, a close)."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    for name in _request_schemas(document):
        schema = schemas[name]
        version = schema.get("properties", {}).get("version")
        if version is None or "description" in version:
            continue
        required = "version" in schema.get("required", [])
        version["description"] = (
            REQUIRED_VERSION_DESCRIPTION if required else VERSION_FIELD_DESCRIPTION
        )


def _request_schemas(document: dict[str, Any]) -> set[str]:
    """The component schemas a request body refers to, directly or nested."""
    prefix = "#/components/schemas/"
    found: set[str] = set()
    pending: list[Any] = [
        spec.get("requestBody", {})
        for item in document.get("paths", {}).values()
        for spec in item.values()
    ]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] not in found:
                found.add(ref[len(prefix) :])
                pending.append(document["components"]["schemas"].get(ref[len(prefix) :]))
            pending += list(node.values())
        elif isinstance(node, list):
            pending += node
    return found


def install(app: FastAPI) -> None:
    """Serve the completed document at the app's `openapi_url` (built once)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            index = next(r for r in app.router.routes if isinstance(r, RouteIndex))
            app.openapi_schema = complete(generate(), index.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
