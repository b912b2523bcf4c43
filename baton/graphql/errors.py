"""Domain errors as GraphQL errors: the problem+json a REST twin would answer, as
`extensions` (`code`, `status`, `fieldErrors`)."""

from __future__ import annotations

from typing import Any

import pydantic
import structlog
from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError

from baton.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    InternalError,
    NotFound,
    PermissionDenied,
    RateLimited,
    RuleViolation,
    StaleVersion,
    TransitionRejected,
    Unauthenticated,
    ValidationFailed,
)
from baton.core.problems import from_database_error

log = structlog.get_logger("baton.graphql")

# Most specific first: StaleVersion is a Conflict, TransitionRejected a RuleViolation.
CODES: tuple[tuple[type[DomainError], str], ...] = (
    (NotFound, "NOT_FOUND"),
    (StaleVersion, "STALE_VERSION"),
    (Conflict, "CONFLICT"),
    (TransitionRejected, "TRANSITION_REJECTED"),
    (ValidationFailed, "VALIDATION"),
    (RuleViolation, "VALIDATION"),
    (PermissionDenied, "FORBIDDEN"),
    (Unauthenticated, "UNAUTHENTICATED"),
    (RateLimited, "RATE_LIMITED"),
    (InternalError, "INTERNAL"),
)


def domain_error(error: BaseException | None) -> DomainError | None:
    """The domain error a resolver's exception means, or None for a GraphQL one
    (a bad argument, a depth or cost refusal)."""
    if isinstance(error, DomainError):
        return error
    if isinstance(error, pydantic.ValidationError):
        return ValidationFailed(errors=field_errors(error))
    if isinstance(error, DBAPIError):
        translated = from_database_error(error)
        if translated is None:
            log.error("database error in a resolver", exc_info=error)
            return InternalError()
        return translated
    if error is not None:
        log.error("unhandled error in a resolver", exc_info=error)
        return InternalError()
    return None


def field_errors(error: pydantic.ValidationError) -> list[FieldError]:
    return [
        FieldError(".".join(str(part) for part in problem["loc"]) or "input", problem["msg"])
        for problem in error.errors(include_url=False)
    ]


def code_of(error: DomainError) -> str:
    for kind, code in CODES:
        if isinstance(error, kind):
            return code
    return "BAD_REQUEST"


def formatted(error: GraphQLError) -> dict[str, Any]:
    """One error of the answer; a domain error's message is its problem's `detail`."""
    shown: dict[str, Any] = dict(error.formatted)
    domain = domain_error(error.original_error)
    if domain is None:
        extensions = dict(shown.get("extensions") or {})
        if "exceeds maximum operation depth" in error.message:
            extensions.setdefault("code", "DEPTH_LIMIT")
        extensions.setdefault("code", "GRAPHQL_VALIDATION" if not error.path else "BAD_REQUEST")
        shown["extensions"] = extensions
        return shown
    extensions = {"code": code_of(domain), "status": domain.status}
    if domain.errors:
        extensions["fieldErrors"] = [
            {"field": e.field, "message": e.message} for e in domain.errors
        ]
    if isinstance(domain, RateLimited):
        extensions["retryAfter"] = domain.retry_after
    shown["message"] = domain.detail
    shown["extensions"] = extensions
    return shown
