"""FastAPI dependencies: the request's `Ctx`, the caller, `If-Match` versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from baton.core.context import Ctx, Principal
from baton.core.errors import FieldError, ValidationFailed


# async: a plain `def` dependency would be run in a worker thread on every request.
async def get_ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


async def get_principal(request: Request) -> Principal:
    ctx: Ctx = request.state.ctx
    return ctx.require_principal()


async def if_match_version(
    if_match: Annotated[
        str | None, Header(max_length=32, description='The record version: `"3"`, `W/"3"` or `3`')
    ] = None,
) -> int | None:
    """`If-Match: "3"` (or W/"3", or 3) → 3."""
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 9:
        raise ValidationFailed(errors=[FieldError("If-Match", "must be a record version")])
    return int(value)


CtxDep = Annotated[Ctx, Depends(get_ctx)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
IfMatchDep = Annotated[int | None, Depends(if_match_version)]
# `?version=` where a DELETE has no body to carry it (If-Match is the other way).
VersionQuery = Annotated[
    int | None,
    Query(
        ge=1,
        le=2_147_483_647,
        description="The record version the change is based on (or `If-Match`, which "
        "wins); 409 `stale-version` if it is no longer current",
    ),
]
