"""Shared pydantic building blocks: bounded strings, pages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

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
    """Validate form or other untyped input, raising the same 422 the API gives."""
    try:
        return schema.model_validate(dict(data))
    except ValidationError as exc:
        raise ValidationFailed(
            errors=[
                FieldError(".".join(str(p) for p in err["loc"]) or "input", err["msg"])
                for err in exc.errors()
            ]
        ) from exc
