"""Optimistic locking as the API sees it: the caller says which version it edited."""

from __future__ import annotations

from baton.core.errors import FieldError, StaleVersion, ValidationFailed


def expected_version(if_match: int | None, sent: int | None) -> int | None:
    """The version the caller says it edited: the `If-Match` header's when one was sent
    (it wins over the other), else `sent` — the body's `version` field, or `?version=`
    where a DELETE has no body. None when neither came: `check_version` makes that 422.
    """
    return if_match if if_match is not None else sent


def check_version(current: int, expected: int | None, what: str) -> None:
    """409 unless the caller edited the current version; 422 when it sent none."""
    if expected is None:
        raise ValidationFailed(
            f"Send the {what}'s version (If-Match header or `version` field)",
            errors=[FieldError("version", "is required")],
        )
    if current != expected:
        raise StaleVersion(f"The {what} is at version {current}, not {expected}")


def check_sent_version(current: int, expected: int | None, what: str) -> None:
    """409 when the caller sent a version (optional here, as for a restore) that is not
    the current one."""
    if expected is not None:
        check_version(current, expected, what)
