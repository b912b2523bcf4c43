"""Shared pydantic building blocks: bounded strings, the one datetime input type, pages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from baton.core.errors import FieldError, ValidationFailed

T = TypeVar("T")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Password = Annotated[str, StringConstraints(min_length=10, max_length=128)]
# Login accepts any length up to the bound: policy applies when a password is set.
PresentedPassword = Annotated[str, StringConstraints(min_length=1, max_length=128)]


def _lower(value: str) -> str:
    return value.lower()


Email = Annotated[EmailStr, Field(max_length=254), AfterValidator(_lower)]

# The range every datetime a client sends must fall in, compared in UTC.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)
MOMENT_FORMAT = "an ISO 8601 date and time with a UTC offset, e.g. 2026-12-01T09:00:00Z"
# What pydantic would read as a date and time; a bare number (which it would read as
# seconds since 1970) is not one.
_ISO_DATETIME = re.compile(r"\s*[+-]?\d{4,}-\d{2}-\d{2}[Tt ]")


def _iso_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        return value
    raise PydanticCustomError("moment_format", f"must be {MOMENT_FORMAT}")


def _in_range(value: datetime) -> datetime:
    # Compared before any conversion: a moment outside the range may not even have a
    # UTC form Python can hold (9999-12-31T23:59:59-14:00 is in the year 10000).
    if not EARLIEST <= value <= LATEST:
        raise PydanticCustomError(
            "moment_range", "must be between 1900-01-01T00:00:00Z and 9999-12-31T00:00:00Z"
        )
    return value.astimezone(UTC)


# Every datetime a client sends — query parameter, body or form field — is a Moment:
# ISO 8601 text with a UTC offset (`2026-12-01T09:00:00Z`, `…+02:00`), between
# 1900-01-01 and 9999-12-31 in UTC, handed to the service in UTC. Numbers, dates
# without a time, times without an offset and moments outside the range are 422,
# naming the parameter. The range keeps every later step — a UTC conversion, a day's
# arithmetic, asyncpg's encoding, PostgreSQL's date functions — inside what Python
# and PostgreSQL represent, so no extreme input reaches them as a 500.
Moment = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_range)]
# A calendar day a client sends (`2026-12-01`), inside the same range.
Day = Annotated[date, Field(ge=EARLIEST.date(), le=LATEST.date())]


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: Any) -> bool:
    """PostgreSQL text and JSONB hold neither NUL nor lone UTF-16 surrogates."""
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is None
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_storable(v) for v in value)
    return True


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    @field_validator("*", mode="after")
    @classmethod
    def _only_storable_text(cls, value: Any) -> Any:
        if not _storable(value):
            raise ValueError("contains characters that cannot be stored (NUL or a lone surrogate)")
        return value


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None


S = TypeVar("S", bound=BaseModel)


def parse_input(schema: type[S], data: Mapping[str, Any]) -> S:
    """Validate form or other untyped input, raising the same 422 the API gives, each
    field's message in words a person acts on (`describe`)."""
    try:
        return schema.model_validate(dict(data))
    except ValidationError as exc:
        raise ValidationFailed(
            errors=[
                FieldError(".".join(str(p) for p in err["loc"]) or "input", describe(err))
                for err in exc.errors()
            ]
        ) from exc


def describe(err: Mapping[str, Any]) -> str:
    """pydantic's refusal of one field in words for the people who fill in forms
    ("can't be empty", "must be a number"); a message of Baton's own (a validator's
    `ValueError`) unchanged. The API keeps pydantic's text: clients match on it."""
    context: Mapping[str, Any] = err.get("ctx") or {}
    kind = str(err["type"])
    if kind == "missing":
        return "is required"
    if kind == "string_too_short":
        least = context.get("min_length", 1)
        return "can't be empty" if least == 1 else f"needs at least {least} characters"
    if kind == "string_too_long":
        return f"can't be longer than {context.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return "isn't in the expected form"
    if kind in ("int_parsing", "float_parsing", "decimal_parsing", "int_from_float"):
        return "must be a number"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be at least {context.get('ge', context.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be at most {context.get('le', context.get('lt'))}"
    if kind.startswith("decimal_max") or kind == "decimal_whole_digits":
        return "has too many digits"
    if kind in ("uuid_parsing", "uuid_type"):
        return "isn't one of the choices offered"
    if kind in ("date_from_datetime_inexact", "date_parsing", "date_type"):
        return "must be a date (YYYY-MM-DD)"
    if kind.startswith(("datetime", "timezone")):
        return "must be a date and time"
    if kind == "enum":
        return f"must be one of {context.get('expected', 'the choices offered')}"
    if kind == "value_error" and "email address" in str(err["msg"]):
        return "isn't an email address (name@company.com)"
    return str(err["msg"]).removeprefix("Value error, ")
