"""The header's search box and the search page.

- `GET /search/suggest?q=` (htmx, from the box as one types, debounced): the best few
  of each type, grouped by type, as a list of options the box's script walks with the
  arrow keys (`baton.js`, "The search box"). Fewer than `MIN_SUGGEST` letters or
  digits: nothing (one letter finds half the organization and helps no one).
- `GET /search?q=`: the full results page — without JavaScript the box's form submits
  here, and "See all results" leads here — more of each type, and for the types whose
  list searches, a link to that list with the same query.

Both ask `service.search`, the API's own function.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from baton.core.auth import CtxDep
from baton.db.search import parse
from baton.search import service
from baton.search.schemas import SearchItem, SearchResults, SearchType
from baton.web.rendering import render

router = APIRouter(include_in_schema=False)

MIN_SUGGEST = 2
SUGGEST_PER_TYPE = 4
PAGE_PER_TYPE = 20

HEADINGS = {
    SearchType.ACCOUNT: "Accounts",
    SearchType.CONTACT: "Contacts",
    SearchType.DEAL: "Deals",
    SearchType.LEAD: "Leads",
    SearchType.TARGET: "Targets",
    SearchType.WORK_ITEM: "Work items",
}
# The lists that search by the same words: "more in the list" on the results page.
LISTS = {SearchType.ACCOUNT: "/accounts", SearchType.TARGET: "/targets"}


@dataclass(frozen=True)
class Group:
    type: SearchType
    heading: str
    items: list[SearchItem]
    list_url: str | None
    # More matched than were ranked (`SearchResults.partial_types`): say so.
    partial: bool


def _cleaned(q: str) -> str:
    # As the API bounds it; no NUL (PostgreSQL text cannot hold one).
    return q.replace("\x00", "").strip()[: service.MAX_QUERY]


def _groups(found: SearchResults, q: str, full: bool) -> list[Group]:
    """Items grouped by type, the group of the best item first (items are best first)."""
    by_type: dict[SearchType, list[SearchItem]] = {}
    for item in found.items:
        by_type.setdefault(item.type, []).append(item)
    return [
        Group(
            kind,
            HEADINGS[kind],
            kept,
            f"{LISTS[kind]}?{urlencode({'q': q})}"
            if full and kind in LISTS and len(kept) >= PAGE_PER_TYPE
            else None,
            kind in found.partial_types,
        )
        for kind, kept in by_type.items()
    ]


@router.get("/search/suggest")
async def search_suggest(request: Request, ctx: CtxDep, q: str = "") -> Response:
    q = _cleaned(q)
    words = parse(q).words
    if sum(len(word) for word in words) < MIN_SUGGEST:
        return render(request, "search/_suggest.html", q=q, groups=[], asked=False)
    found = await service.search(ctx, q, per_type=SUGGEST_PER_TYPE)
    groups = _groups(found, q, full=False)
    return render(request, "search/_suggest.html", q=q, groups=groups, asked=True)


@router.get("/search")
async def search_page(request: Request, ctx: CtxDep, q: str = "") -> Response:
    asked = q
    q = _cleaned(q)
    too_long = len(asked.strip()) > service.MAX_QUERY
    found = await service.search(ctx, q, per_type=PAGE_PER_TYPE) if q else None
    return render(
        request,
        "search/page.html",
        q=q,
        too_long=too_long,
        has_words=bool(parse(q).words),
        groups=_groups(found, q, full=True) if found else [],
        per_type=PAGE_PER_TYPE,
    )
