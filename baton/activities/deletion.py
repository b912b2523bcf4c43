"""Planned activities in a record's soft delete (DESIGN §3.2).

Deleting a deal, an account, a contact or a target soft-deletes the work still
planned on it under the record's deletion id, in the same transaction; done and
cancelled activities are history and stay. A restore clears that deletion id.
Only the statement builder lives here, so every deleting service can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table, Update, update

from baton.activities.models import Activity, ActivityStatus

ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]


def delete_planned_activities(records: ColumnElement[bool], marks: Mapping[str, Any]) -> Update:
    """The UPDATE soft-deleting the planned, not yet deleted activities that `records`
    (a condition on `ACTIVITIES`) selects, with the deletion's `marks` (`deleted_at`,
    `deleted_by`, `deletion_id`, `updated_at`), bumping their versions."""
    return (
        update(ACTIVITIES)
        .where(
            records,
            ACTIVITIES.c.status == ActivityStatus.PLANNED.value,
            ACTIVITIES.c.deleted_at.is_(None),
        )
        .values(version=ACTIVITIES.c.version + 1, **marks)
    )
