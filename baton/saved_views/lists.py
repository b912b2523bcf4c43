"""The lists a view can be saved for: each one's filters (the model its own page and
endpoint read) and the page a view of it opens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ValidationError

from baton.accounts.schemas import AccountListFilters
from baton.contacts.schemas import ContactListFilters
from baton.core.errors import FieldError, ValidationFailed
from baton.deals.schemas import DealListFilters
from baton.leads.schemas import LeadQueueFilters
from baton.saved_views.models import ListKind
from baton.targets.schemas import TargetListFilters


@dataclass(frozen=True)
class SavableList:
    filters: type[BaseModel]
    # The page showing the list; a view's link is this with its query string.
    path: str

    def link(self, query: dict[str, str]) -> str:
        return self.path + (f"?{urlencode(sorted(query.items()))}" if query else "")


LISTS: dict[ListKind, SavableList] = {
    ListKind.DEALS: SavableList(DealListFilters, "/deals"),
    ListKind.ACCOUNTS: SavableList(AccountListFilters, "/accounts"),
    ListKind.TARGETS: SavableList(TargetListFilters, "/targets"),
    ListKind.CONTACTS: SavableList(ContactListFilters, "/contacts"),
    ListKind.LEADS_INBOX: SavableList(LeadQueueFilters, "/leads/inbox"),
    ListKind.LEADS_POOL: SavableList(LeadQueueFilters, "/leads/pool"),
    ListKind.LEADS_MINE: SavableList(LeadQueueFilters, "/leads/mine"),
    ListKind.LEADS_NURTURE: SavableList(LeadQueueFilters, "/leads/nurture"),
    ListKind.LEADS_DISQUALIFIED: SavableList(LeadQueueFilters, "/leads/disqualified"),
    ListKind.LEADS_CONVERTED: SavableList(LeadQueueFilters, "/leads/converted"),
    ListKind.LEADS_TEAM: SavableList(LeadQueueFilters, "/leads/team"),
}


def checked_query(kind: ListKind, query: dict[str, Any]) -> dict[str, str]:
    """`query` as the list takes it: only the list's own parameters, each a value the
    list accepts (else 422 naming `query.<parameter>`); empty values dropped."""
    savable = LISTS[kind]
    allowed = savable.filters.model_fields
    errors = [
        FieldError(f"query.{name}", f"is not a filter of the {kind.value} list")
        for name in query
        if name not in allowed
    ]
    errors += [
        FieldError(f"query.{name}", "must be text")
        for name, value in query.items()
        if name in allowed and not isinstance(value, str)
    ]
    if errors:
        raise ValidationFailed(errors=errors)
    kept = {name: value for name, value in query.items() if value != ""}
    try:
        savable.filters.model_validate(kept)
    except ValidationError as exc:
        raise ValidationFailed(
            errors=[
                FieldError("query." + ".".join(str(p) for p in err["loc"]), str(err["msg"]))
                for err in exc.errors()
            ]
        ) from exc
    return kept
