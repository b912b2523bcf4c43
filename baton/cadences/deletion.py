"""Cadence enrolments in a record's soft delete and restore (DESIGN §3.2, §5).

Deleting a deal, an account or a contact takes the record's live (active or paused)
enrolments with it, under the record's deletion id, in the same transaction. Their
status is left alone: stopping them would end the cadence for good, and a restore
would then bring back the planned activities of an enrolment that no longer runs.
The restore of that deletion id brings them back exactly as they were — active with
their planned activities (restored with the same id), or paused with their remaining
steps. Ended enrolments (stopped, completed) are history and stay, as done
activities do.

While deleted, an enrolment is gone for the cadences API (404) and for the doctor's
`live_enrollment_of_deleted_record`; it keeps its place in the one-live-enrolment
index (see `CadenceEnrollment`).

Only statement builders live here, so the accounts, contacts and deals services can
use them without importing the cadences service.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table, Update, update

from baton.cadences.models import LIVE_STATUSES, CadenceEnrollment
from baton.db.base import restore_deleted

ENROLLMENTS: Table = CadenceEnrollment.__table__  # type: ignore[assignment]


def delete_live_enrollments(records: ColumnElement[bool], marks: Mapping[str, Any]) -> Update:
    """The UPDATE soft-deleting the live, not yet deleted enrolments that `records` (a
    condition on `ENROLLMENTS`) selects, with the record deletion's `marks`
    (`deleted_at`, `deleted_by`, `deletion_id`, `updated_at`), bumping their versions.

    Run it after the records' own UPDATE and before their activities': the lock order
    of an open deal, then its enrolments, then their activities.
    """
    return (
        update(ENROLLMENTS)
        .where(
            records,
            ENROLLMENTS.c.status.in_(LIVE_STATUSES),
            ENROLLMENTS.c.deleted_at.is_(None),
        )
        .values(version=ENROLLMENTS.c.version + 1, **marks)
    )


def restore_enrollments(deletion_id: uuid.UUID) -> Update:
    """The UPDATE bringing back the enrolments one deletion took, in the status they
    had; enrolments deleted under any other id stay deleted."""
    return restore_deleted(ENROLLMENTS, deletion_id)
