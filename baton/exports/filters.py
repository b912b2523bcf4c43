"""What a list export is asked for: the list, and its filters as its endpoint takes them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from baton.accounts.models import ActivityLevel, Tenure
from baton.activities.schemas import ActivityView
from baton.audit.trail import TrailEntity
from baton.deals.schemas import DealView
from baton.leads.schemas import LeadList


class ExportEntity(StrEnum):
    ACCOUNTS = "accounts"
    CONTACTS = "contacts"
    DEALS = "deals"
    LEADS = "leads"
    TARGETS = "targets"
    ACTIVITIES = "activities"
    AUDIT = "audit"


@dataclass(frozen=True)
class ExportFilters:
    """Every list's filters, under the names its endpoint takes them; each entity
    reads its own (`docs/api.md` lists which)."""

    q: str | None = None
    owner_me: bool = False
    owner_id: uuid.UUID | None = None
    tenure: Tenure | None = None
    activity: ActivityLevel | None = None
    account_id: uuid.UUID | None = None
    deal_view: DealView | None = None
    # The deals list's own filters and sort (`DealListFilters`, validated there).
    stage: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    close_month: str | None = None
    overdue: bool | None = None
    sort: str | None = None
    lead_view: LeadList | None = None
    status: str | None = None
    activity_view: ActivityView = ActivityView.PLANNER
    entity_type: TrailEntity | None = None
    entity_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
