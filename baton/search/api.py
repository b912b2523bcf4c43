"""/api/v1/search: one query over accounts, contacts, deals, leads, targets and work
items (docs/api.md, "Search"). The rules are the service's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from baton.core.auth import CtxDep, get_principal
from baton.core.errors import FieldError, ValidationFailed
from baton.core.routing import JsonRoute
from baton.search import service
from baton.search.schemas import SearchResults, SearchType

router = APIRouter(
    prefix="/api/v1/search",
    tags=["search"],
    dependencies=[Depends(get_principal)],
    route_class=JsonRoute,
)

TYPES_PATTERN = r"^[a-z_]+(,[a-z_]+)*$"


def search_types(raw: str | None) -> list[SearchType] | None:
    """`types=account,deal` as types; an unknown name is 422 (naming the known ones)."""
    if raw is None:
        return None
    known = {kind.value: kind for kind in SearchType}
    unknown = [name for name in raw.split(",") if name not in known]
    if unknown:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "types",
                    f"has unknown types ({', '.join(unknown)}); known: {', '.join(known)}",
                )
            ]
        )
    return [known[name] for name in raw.split(",")]


@router.get("")
async def search(
    ctx: CtxDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=service.MAX_QUERY,
            pattern=r"^[^\x00]+$",
            description="Words to find, 1 to 200 characters: each the start of a word"
            " anywhere in a name, domain, email or phone (case, accents and punctuation"
            " ignored), all of them; a query without letters or digits finds nothing",
        ),
    ],
    types: Annotated[
        str | None,
        Query(
            max_length=80,
            pattern=TYPES_PATTERN,
            description="Comma-separated: account, contact, deal, lead, target, work_item."
            " Default: all of them",
        ),
    ] = None,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=service.MAX_PER_TYPE,
            description="At most this many of each type, 1 to 50 (default 5)",
        ),
    ] = service.DEFAULT_PER_TYPE,
) -> SearchResults:
    """Records of every type the caller may read whose words hold the query's, best
    first, at most `limit` of each type. Rows of another organization never appear;
    leads only as the caller's role sees them (marketing its queues, sales the pool,
    its own and those it sent back); a type the role may not read is left out."""
    return await service.search(ctx, q, search_types(types), limit)
