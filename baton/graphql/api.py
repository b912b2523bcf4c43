"""POST /graphql (and GraphiQL on GET, outside production).

The request arrives inside the same unit of work as `/api/v1` (`baton.core.
request_transaction` treats `/graphql` as API): bearer token or API key, the per-
credential budget, `Idempotency-Key`, and one transaction scoped to the caller's
tenant. An operation that answers any error rolls back as a whole (a failed REST call
does the same); one without commits once, before its answer is sent.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from baton.audit.models import SecurityEvent
from baton.audit.service import record_security_event
from baton.config import Environment
from baton.core.context import Ctx
from baton.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from baton.core.request_transaction import ROLLBACK_FLAG
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


@router.post("/graphql")
async def graphql(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    ctx.require_principal()
    query, variables, operation = _request_of(await request.body())
    graph = GraphContext(ctx)
    try:
        result = await schema.execute(
            query, variable_values=variables, context_value=graph, operation_name=operation
        )
    finally:
        await graph.settle()
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
