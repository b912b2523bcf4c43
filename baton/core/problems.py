"""Rendering errors as RFC 9457 problem+json, and database refusals as domain errors."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError

from baton.core.errors import Conflict, DomainError, FieldError, RuleViolation

PROBLEM_JSON = "application/problem+json"

# sqlstate → the domain error a database refusal means.
_SQLSTATE_ERRORS: dict[str, type[DomainError]] = {
    "23505": Conflict,  # unique_violation
    "23503": RuleViolation,  # foreign_key_violation
    "23514": RuleViolation,  # check_violation
    "23502": RuleViolation,  # not_null_violation
    "23P01": Conflict,  # exclusion_violation
    "22001": RuleViolation,  # string_data_right_truncation
    "22003": RuleViolation,  # numeric_value_out_of_range
    "40001": Conflict,  # serialization_failure
    "40P01": Conflict,  # deadlock_detected
    "55P03": Conflict,  # lock_not_available
}


def problem_body(error: DomainError, instance: str | None = None) -> bytes:
    return json.dumps(error.problem(instance), separators=(",", ":")).encode()


def problem_headers(error: DomainError) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", PROBLEM_JSON.encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    return headers


# sqlstates that say the server is gone or not accepting work, not that the request is
# wrong: connection exceptions (class 08), admin/crash shutdown, starting up.
_UNREACHABLE_SQLSTATES = ("57P01", "57P02", "57P03")


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc`, or an exception it was raised from, says the database could not
    be reached: a refused or cut connection, or a server shutting down or starting up.

    The SQLAlchemy path raises these wrapped (`DBAPIError`, `connection_invalidated`
    when a pooled connection died), a new connection's refusal raw (`OSError`), and
    the driver paths raw asyncpg errors; all of them become one 503.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, OSError) and _raised_in_driver(seen):
            return True  # refused, reset, or the server's socket file gone
        if isinstance(seen, asyncpg.InterfaceError) and "connection is closed" in str(seen):
            return True  # the driver's word for a connection the server cut while idle
        sqlstate = str(getattr(seen, "sqlstate", "") or "")
        if sqlstate.startswith("08") or sqlstate in _UNREACHABLE_SQLSTATES:
            return True
        seen = seen.__cause__ or getattr(seen, "orig", None)
    return False


def _raised_in_driver(exc: BaseException) -> bool:
    """An OS error of the database driver's own (connecting, reading its socket), not
    of some other I/O in the request."""
    frame = exc.__traceback__
    while frame is not None:
        if str(frame.tb_frame.f_globals.get("__name__", "")).startswith("asyncpg"):
            return True
        frame = frame.tb_next
    return False


def from_database_error(exc: DBAPIError) -> DomainError | None:
    """The domain error for a constraint the database enforced, or None if unknown.

    Services check rules first and give friendly messages; this is the backstop
    that keeps a race or a missed check from becoming a 500.
    """
    cause: Any = getattr(exc.orig, "__cause__", None) or exc.orig
    sqlstate = str(getattr(cause, "sqlstate", ""))
    error_type = _SQLSTATE_ERRORS.get(sqlstate)
    if error_type is None:
        return None
    constraint = getattr(cause, "constraint_name", None)
    column = getattr(cause, "column_name", None)
    detail = _message(sqlstate, constraint, cause)
    return error_type(detail, errors=[FieldError(column, detail)] if column else None)


def _message(sqlstate: str, constraint: str | None, cause: Any) -> str:
    if constraint == "memberships_admin_required":
        return "An organization needs at least one admin"
    if sqlstate == "23505":
        return f"A record with these values already exists ({constraint})"
    if sqlstate in ("40001", "40P01", "55P03"):
        return "The record is busy; retry the request"
    return str(getattr(cause, "message", None) or f"Violates {constraint or 'a constraint'}")
