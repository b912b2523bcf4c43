"""FastAPI dependencies: the request's `Ctx`, the caller, `If-Match` versions."""

from __future__ import annotations

import re
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


# A version of 1 to 9 ASCII digits, optionally quoted and weak (`W/"3"`).
IF_MATCH_PATTERN = r'^ *(?:W/)?"?([1-9][0-9]{0,8})"? *$'
_IF_MATCH = re.compile(IF_MATCH_PATTERN.replace("^", "").replace("$", ""), re.ASCII)


async def if_match_version(
    if_match: Annotated[
        str | None,
        Header(
            max_length=32,
            pattern=IF_MATCH_PATTERN,
            description='The record version: `"3"`, `W/"3"` or `3`',
        ),
    ] = None,
) -> int | None:
    """`If-Match: "3"` (or W/"3", or 3) → 3."""
    if if_match is None:
        return None
    # ASCII digits only: str.isdigit() also takes superscripts and other scripts'
    # digits, which int() refuses (a 500).
    found = _IF_MATCH.fullmatch(if_match)
    if found is None:
        raise ValidationFailed(errors=[FieldError("If-Match", "must be a record version")])
    return int(found.group(1))


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
