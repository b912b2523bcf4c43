"""Domain errors that carry their HTTP meaning, rendered as RFC 9457 problem+json.

Services raise these; one handler renders them for the API (problem+json) and the
web layer renders the same error as an inline message or toast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    @property
    def label(self) -> str:
        """The field as a page names it: `next.due_at` → "Next due at"."""
        return self.field.replace(".", " ").replace("_", " ").strip().capitalize()


class DomainError(Exception):
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    slug: ClassVar[str] = "bad-request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}
        super().__init__(self.detail)

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://baton.dev/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return body


class Unauthenticated(DomainError):
    status = 401
    title = "Authentication required"
    slug = "unauthenticated"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class PermissionDenied(DomainError):
    status = 403
    title = "Your role may not do this"
    slug = "permission-denied"


class NotFound(DomainError):
    """Also the answer for another tenant's id: never 403 across tenants."""

    status = 404
    title = "Not found"
    slug = "not-found"


class MethodNotAllowed(DomainError):
    """The path exists, but not for this method; `Allow` lists every method it has."""

    status = 405
    title = "Method not allowed"
    slug = "method-not-allowed"

    def __init__(self, method: str, allowed: list[str]) -> None:
        listed = ", ".join(allowed)
        super().__init__(
            f"{method} is not allowed here; this address takes {listed}",
            headers={"Allow": listed},
        )


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class StaleVersion(Conflict):
    title = "The record changed since you loaded it"
    slug = "stale-version"


class PayloadTooLarge(DomainError):
    status = 413
    title = "Request body too large"
    slug = "payload-too-large"


class RuleViolation(DomainError):
    """A business rule refused the request (422)."""

    status = 422
    title = "The request breaks a rule"
    slug = "rule-violation"


class ValidationFailed(RuleViolation):
    title = "Validation failed"
    slug = "validation-failed"


class RateLimited(DomainError):
    status = 429
    title = "Too many requests"
    slug = "rate-limited"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(detail, headers={"Retry-After": str(self.retry_after)})


class InternalError(DomainError):
    """Anything unexpected: nothing was changed (the transaction rolled back)."""

    status = 500
    title = "Internal error"
    slug = "internal-error"

    def __init__(self) -> None:
        super().__init__("Something went wrong on our side; nothing was changed")


class DatabaseUnavailable(DomainError):
    """The database could not be reached (restarting, failing over, connections cut):
    nothing was changed, and the same request may be sent again in a moment."""

    status = 503
    title = "Service unavailable"
    slug = "database-unavailable"

    def __init__(self) -> None:
        super().__init__(
            "Baton cannot reach its database right now; nothing was changed. Try again in a moment",
            headers={"Retry-After": "2"},
        )


class Overloaded(DomainError):
    """Every database connection of this process stayed busy for the pool's whole
    wait: nothing was changed, and the request may be sent again in a moment."""

    status = 503
    title = "Service unavailable"
    slug = "overloaded"

    def __init__(self) -> None:
        super().__init__(
            "Baton is too busy to answer right now; nothing was changed. Try again in a moment",
            headers={"Retry-After": "5"},
        )


class TransitionRejected(RuleViolation):
    """A workflow move that is not allowed, or lacks what its transition requires."""

    title = "Transition rejected"
    slug = "transition-rejected"
