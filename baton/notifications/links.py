"""Where a notification leads: the page of its record (the list page and emails)."""

from __future__ import annotations

import uuid

from baton.notifications.models import NotificationKind
from baton.workflow.models import EntityType

_RECORD_PAGES = {
    EntityType.LEAD.value: "/leads/{id}",
    EntityType.DEAL.value: "/deals/{id}",
    EntityType.WORK_ITEM.value: "/work-items/{id}",
    # Targets have no page of their own: their list.
    EntityType.TARGET.value: "/targets",
}
# Where a notification without a record leads, by kind.
_KIND_PAGES = {
    NotificationKind.DIGEST.value: "/pipeline?view=overdue",
}


def record_path(kind: str, entity_type: str | None, record_id: uuid.UUID | None) -> str | None:
    """The path of the page a notification is about; None when it names none."""
    if entity_type is not None and record_id is not None and entity_type in _RECORD_PAGES:
        return _RECORD_PAGES[entity_type].format(id=record_id)
    return _KIND_PAGES.get(kind)
