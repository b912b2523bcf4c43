"""Shared pydantic building blocks: bounded strings, the one datetime input type, pages."""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from baton.core.errors import FieldError, ValidationFailed

T = TypeVar("T")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# A list's search words as its URL carries them (`q`); no NUL, which PostgreSQL text
# cannot hold.
SearchText = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
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


# A number sent as text (web forms send nothing else): ASCII digits, an optional
# leading minus and an optional decimal point with digits after it. No spaces, no
# `_` separators, no exponent, no other script's digits (`١٢٣`).
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


# Money sent as text: a plain decimal with at most the currency's 2 decimals.
MONEY_TEXT = r"^-?[0-9]+(\.[0-9]{1,2})?$"


class MoneyText:
    """Marks a `Decimal` as money in the OpenAPI document: its text form carries the
    pattern the server holds it to (`MONEY_TEXT`; the `Schema` rule and the field's 2
    decimal places enforce it), and the field says it. Put it last in the `Annotated`."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        for branch in schema.get("anyOf", []):
            if branch.get("type") == "string":
                branch["pattern"] = MONEY_TEXT
        schema.setdefault(
            "description",
            "Money: a JSON number or a plain decimal string, at most 2 decimals "
            '(`1200.50`, `"1200.50"`)',
        )
        return schema


class InputKinds:
    """What a field's annotation takes, as far as strict input cares."""

    __slots__ = ("boolean", "money", "number", "other")

    def __init__(self, annotation: Any, metadata: Iterable[Any] = ()) -> None:
        self.boolean = self.money = self.number = self.other = False
        # A field declared `amount: Amount` keeps Amount's markers here, not in its
        # annotation (pydantic unwraps a top-level Annotated).
        self.money = any(isinstance(marker, MoneyText) for marker in metadata)
        self._collect(annotation)

    def _collect(self, annotation: Any) -> None:
        origin = get_origin(annotation)
        if origin is Annotated:
            args = get_args(annotation)
            if any(isinstance(marker, MoneyText) for marker in args[1:]):
                self.money = True
            self._collect(args[0])
        elif origin is Union or origin is types.UnionType:
            for arg in get_args(annotation):
                self._collect(arg)
        elif origin is Literal:
            for value in get_args(annotation):
                self._collect(type(value))
        elif annotation is type(None):
            return
        elif isinstance(annotation, type) and issubclass(annotation, bool):
            self.boolean = True
        elif (
            isinstance(annotation, type)
            and issubclass(annotation, int | float | Decimal)
            and not issubclass(annotation, Enum)
        ):
            self.number = True
        else:
            # Text, ids, dates, enums, models, lists, mappings, Any: their own rules.
            self.other = True


class Schema(BaseModel):
    """Every body a client sends, and every answer.

    Input is strict where pydantic would coerce (issue 20 point 9), on every field of
    every schema whatever its constraints:

    - a field of numbers (int, float, Decimal — counts, days, probabilities, money,
      versions) takes JSON numbers; never `true` or `false`. Text is a number only
      where the document says so: money (`MoneyText`, a plain decimal string such as
      `"1200.50"`) in any body, and every number field of a web form (`parse_input`,
      where a browser sends nothing but text) — then only a plain decimal
      (`PLAIN_NUMBER`: `12`, `-3`, `1200.50`), never text with spaces, `_`
      separators, an exponent or digits of another script (`" 12 "`, `"1_000"`,
      `"1e3"`, `"١٢٣"`). A JSON body's `"12"` for a count, a day or a version is
      refused: the document says `integer`. The field's own bounds and decimal places
      apply after that (money: at most 2 decimals); NaN, Infinity and numbers too
      large for the field stay refused;
    - a field of booleans takes `true` or `false` only (not `1`, `"yes"`, `"on"`).
    """

    model_config = ConfigDict(extra="forbid", from_attributes=True)
    _kinds: ClassVar[dict[str, InputKinds]]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        fields = cls.model_fields.items()
        cls._kinds = {name: InputKinds(field.annotation, field.metadata) for name, field in fields}

    @field_validator("*", mode="before")
    @classmethod
    def _strict_numbers_and_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or info.field_name is None:
            return value
        kinds = cls._kinds.get(info.field_name)
        if kinds is None or kinds.other:
            return value
        if isinstance(value, bool):
            if not kinds.boolean:
                raise PydanticCustomError("number_type", "Input should be a number, not a boolean")
        elif kinds.number and isinstance(value, str):
            if not (kinds.money or _from_form(info)):
                raise PydanticCustomError("number_type", "Input should be a number, not text")
            if not PLAIN_NUMBER.fullmatch(value):
                raise PydanticCustomError(
                    "number_format",
                    "Input should be a plain decimal number (digits, an optional '-' and "
                    "decimal point; no spaces, separators or exponent)",
                )
        elif kinds.boolean and not kinds.number:
            raise PydanticCustomError("bool_type", "Input should be true or false")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _only_storable_text(cls, value: Any) -> Any:
        if not _storable(value):
            raise ValueError("contains characters that cannot be stored (NUL or a lone surrogate)")
        return value


FORM_CONTEXT: dict[str, Any] = {"form": True}


def _from_form(info: ValidationInfo) -> bool:
    """Whether the input came from a web form (`parse_input`), where numbers are text."""
    context = info.context
    return isinstance(context, Mapping) and bool(context.get("form"))


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None


S = TypeVar("S", bound=BaseModel)


def parse_input(schema: type[S], data: Mapping[str, Any]) -> S:
    """Validate form or other untyped input, raising the same 422 the API gives, each
    field's message in words a person acts on (`describe`)."""
    try:
        return schema.model_validate(dict(data), context=FORM_CONTEXT)
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
    if kind in (
        "int_parsing",
        "float_parsing",
        "decimal_parsing",
        "int_from_float",
        "number_type",
        "number_format",
    ):
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
