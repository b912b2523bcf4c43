"""POST /graphql (and GraphiQL on GET, outside production).

The request arrives inside the same unit of work as `/api/v1` (`baton.core.
request_transaction` treats `/graphql` as API): bearer token or API key, the per-
credential budget, `Idempotency-Key`, and one transaction scoped to the caller's
tenant. An operation that answers any error rolls back as a whole (a failed REST call
does the same); one without commits once, before its answer is sent.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse

from baton.audit.models import SecurityEvent
from baton.audit.service import record_security_event
from baton.config import Environment
from baton.core.context import Ctx
from baton.core.driver_transaction import NeedsSessionTransaction, driver_transaction_route_for
from baton.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from baton.core.request_transaction import ROLLBACK_FLAG
from baton.db.engine import SessionRefused
from baton.graphql.context import GraphContext
from baton.graphql.errors import domain_error, formatted
from baton.graphql.schema import schema

router = APIRouter(include_in_schema=False)

GRAPHQL_MEDIA = "application/json"
# GraphiQL loads React and GraphiQL from unpkg and starts with an inline script.
GRAPHIQL_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://unpkg.com; "
    "style-src 'self' 'unsafe-inline' https://unpkg.com; img-src 'self' data:; "
    "font-src https://unpkg.com; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


def _request_of(body: bytes) -> tuple[str, dict[str, Any] | None, str | None]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed("The body is not JSON") from exc
    if not isinstance(payload, dict):
        raise ValidationFailed("The body must be a JSON object with `query`")
    query = payload.get("query")
    variables = payload.get("variables")
    operation = payload.get("operationName")
    problems = []
    if not isinstance(query, str) or not query.strip():
        problems.append(FieldError("query", "must be a GraphQL document"))
    if variables is not None and not isinstance(variables, dict):
        problems.append(FieldError("variables", "must be an object"))
    if operation is not None and not isinstance(operation, str):
        problems.append(FieldError("operationName", "must be a string"))
    if problems:
        raise ValidationFailed(errors=problems)
    return str(query), variables, operation


# The root fields a document may consist of to run on the driver, as their REST twins
# do (`baton.core.driver_transaction`).
DRIVER_FIELDS = frozenset({"moveDeal"})


@lru_cache(maxsize=256)
def _one_driver_field(query: str, operation: str | None) -> bool:
    try:
        document = parse(query)
    except GraphQLError:
        return False
    chosen = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (operation is None or (d.name is not None and d.name.value == operation))
    ]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.MUTATION:
        return False
    fields = chosen[0].selection_set.selections
    return (
        len(fields) == 1
        and isinstance(fields[0], FieldNode)
        and fields[0].name.value in DRIVER_FIELDS
        and not fields[0].directives
    )


def runs_on_driver(body: bytes) -> bool:
    """A document of one `moveDeal` runs on the driver, in one transaction with the
    caller's authentication, as `POST /api/v1/deals/{id}/move` does."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(payload, dict):
        return False
    query, operation = payload.get("query"), payload.get("operationName")
    if not isinstance(query, str) or not (operation is None or isinstance(operation, str)):
        return False
    return _one_driver_field(query, operation)


def _declined(error: GraphQLError) -> bool:
    """On the driver, a resolver that needs the session's transaction after all."""
    return isinstance(error.original_error, NeedsSessionTransaction | SessionRefused)


@router.post("/graphql")
@driver_transaction_route_for(runs_on_driver)
async def graphql(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    ctx.require_principal()
    query, variables, operation = _request_of(await request.body())
    graph = GraphContext(ctx, splices_json=True)
    try:
        result = await schema.execute(
            query, variable_values=variables, context_value=graph, operation_name=operation
        )
    finally:
        await graph.settle()
    if ctx.driver_connection is not None and any(_declined(error) for error in result.errors or ()):
        # The driver's transaction is rolled back whole, and the request runs again in
        # the session's.
        raise NeedsSessionTransaction
    answer: dict[str, Any] = {}
    status = 200
    if result.errors:
        # Whatever the operation wrote goes: the unit of work rolls back.
        request.scope["state"][ROLLBACK_FLAG] = True
        answer["errors"] = [formatted(error) for error in result.errors]
        if result.data is None and not any(error.path for error in result.errors):
            status = 400  # refused before it ran: a bad document, too deep, too costly
        for error in result.errors:
            refused = domain_error(error.original_error)
            if isinstance(refused, PermissionDenied):
                await record_security_event(
                    ctx,
                    SecurityEvent.PERMISSION_DENIED,
                    details={"path": "/graphql", "field": error.path, "reason": refused.detail},
                    survive_rollback=True,
                )
    if result.data is not None or status == 200:
        answer["data"] = result.data
    return Response(orjson.dumps(answer, default=str), status_code=status, media_type=GRAPHQL_MEDIA)


@router.get("/graphql")
async def graphiql(request: Request) -> Response:
    """GraphiQL, in development and tests only; production has no page here."""
    from strawberry.http.ides import get_graphql_ide_html

    ctx: Ctx = request.state.ctx
    if ctx.settings.env is Environment.PROD:
        raise NotFound("No GraphQL IDE in production; POST queries to /graphql")
    return Response(
        get_graphql_ide_html("graphiql"),
        media_type="text/html",
        headers={"content-security-policy": GRAPHIQL_CSP},
    )
