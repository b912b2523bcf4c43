"""Planned activities in a record's soft delete (DESIGN §3.2).

Deleting a deal, an account, a contact or a target soft-deletes the work still
planned on it under the record's deletion id, in the same transaction; done and
cancelled activities are history and stay. The restore of that deletion id brings
back exactly the activities carrying it, planned as they were; those deleted under
any other id stay deleted. Only the statement builders live here, so every deleting
and restoring service can use them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table, Update, update

from baton.activities.models import Activity, ActivityStatus
from baton.db.base import restore_deleted

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


def restore_activities(deletion_id: uuid.UUID) -> Update:
    """The UPDATE bringing back the activities one deletion took, bumping their
    versions; activities deleted under any other id stay deleted.

    Run it last in a restore, after the records' and their enrolments' own UPDATEs:
    the lock order of a record, its enrolments, their activities.
    """
    return restore_deleted(ACTIVITIES, deletion_id)
