"""One search box for everything: accounts, contacts, deals, leads, targets and work
items found by the words of one query, best first (issue 17, part 4).

Who calls it: the API (`api.py`) and the header's box and results page (`web.py`).
The rules it enforces:

- **What a role finds is what its lists show.** Each type is searched only for the
  roles that may read its list (`READERS`; today every member reads every one of
  these lists), and rows are read under the caller's row-level security: another
  organization's rows never appear, and leads only as the role's queues show them
  (`lead_visibility`: marketing never a claimed lead, sales the pool, its own and those
  it sent back). A type the caller asks for but may not read is left out, not refused.
- **A query is its words** (`baton.db.search.parse`: folded, at most 8 of at most 64
  letters, each the start of a word, all of them in any field; a phone number also
  by its last digits). A query of punctuation only has no words and finds nothing —
  an empty answer, not an error (the API bounds its length: 1 to 200 characters).
- **At most `per_type` of each type**, the best of each (1 to 50) — among the first
  `queries.CAP` (200) matches of the type the index finds; a type with more is named
  in `partial_types`, so the answer never claims to be the best of all when it is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from baton.core.context import Ctx
from baton.db.search import parse
from baton.identity.models import Role
from baton.leads.models import LeadView
from baton.search import queries
from baton.search.schemas import SearchItem, SearchResults, SearchType

MAX_QUERY = 200
DEFAULT_PER_TYPE = 5
MAX_PER_TYPE = 50

_EVERY_ROLE = frozenset(Role)
# Who may read each type's list (the sidebar's Accounts, Pipeline, Targets, Work items
# and lead queues, and the records' own pages). Leads: every role reads some queue's
# leads (viewers all of them), and RLS keeps each role to its own.
READERS: dict[SearchType, frozenset[Role]] = {kind: _EVERY_ROLE for kind in SearchType}

# A lead's list, as the sidebar names it.
LEAD_LISTS = {
    LeadView.INBOX: "Lead Inbox",
    LeadView.POOL: "Sales Inbox",
    LeadView.MINE: "Claimed",
    LeadView.NURTURE: "Nurture",
    LeadView.DISQUALIFIED: "Disqualified",
    LeadView.CONVERTED: "Converted",
}


def readable_types(role: str, wanted: Iterable[SearchType] | None = None) -> list[SearchType]:
    """The types of `wanted` (None: all) that `role` may read, in `queries.ORDER`."""
    chosen = set(SearchType) if wanted is None else set(wanted)
    return [kind for kind in queries.ORDER if kind in chosen and role in READERS[kind]]


def _url(hit: queries.Hit) -> str:
    if hit.type is SearchType.TARGET:
        # Targets have no page of their own: their list, filtered to the target's
        # status and name, scrolled to its row.
        kept = {"status": hit.key or "", "q": hit.title}
        return "/targets?" + urlencode({k: v for k, v in kept.items() if v}) + f"#target-{hit.id}"
    path = {
        SearchType.ACCOUNT: "accounts",
        SearchType.CONTACT: "contacts",
        SearchType.DEAL: "deals",
        SearchType.LEAD: "leads",
        SearchType.WORK_ITEM: "work-items",
    }[hit.type]
    return f"/{path}/{hit.id}"


def _subtitle(hit: queries.Hit) -> str:
    more = hit.more
    if hit.type is SearchType.LEAD and hit.key is not None:
        more = LEAD_LISTS.get(LeadView(hit.key), hit.key)
    return " · ".join(part for part in (hit.detail, more) if part)


async def search(
    ctx: Ctx,
    q: str,
    types: Iterable[SearchType] | None = None,
    per_type: int = DEFAULT_PER_TYPE,
) -> SearchResults:
    """The records of `types` (None: every type) whose words hold the query's, that the
    caller may read — at most `per_type` of each, best first, one statement (see the
    module for the rules). Any member may search; nothing is written."""
    principal = ctx.require_principal()
    kinds = readable_types(principal.role, types)
    hits = await queries.search_records(ctx.session, parse(q), kinds, per_type)
    partial = {hit.type for hit in hits if hit.matched >= queries.CAP}
    return SearchResults(
        items=[
            SearchItem(
                type=hit.type, id=hit.id, title=hit.title, subtitle=_subtitle(hit), url=_url(hit)
            )
            for hit in hits
        ],
        partial_types=[kind for kind in queries.ORDER if kind in partial],
    )
